"""Protocol v2 messages through the real gateway tracker into the real SQLite store: nothing dropped or lost.

HELLO's version-2 tail, HEALTH (sent in the same microsecond as its STATUS), MODEL_STATUS and
BASELINE_PROGRESS become status rows with their counters; a version-1 node still gets through.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.tracker import Tracker
from vibsentry.dashboard.store.sqlite import SQLiteStore

FH = hashlib.sha256(b"features").digest()
MH = hashlib.sha256(b"model").digest()


def _frames(node: int) -> list[bytes]:
    enc = vp.encode
    nacks = (0, 2, 0, 0, 3) + (0,) * (vp.NACK_SLOTS - 5)
    hello = vp.Hello("fw-2", "pump", 12000.0, FH, MH, 7, 2, vp.ResetReason.WATCHDOG, vp.ModelSlot.A, 2)
    return [
        enc(hello, node_id=node, seq=0, timestamp_us=1000),
        enc(vp.Status(10, 90, 10, 120, 4, 1, 0), node_id=node, seq=1, timestamp_us=10_000_000),
        # Same microsecond as the STATUS: its own storage key all the same.
        enc(
            vp.Health(7, 2, 900, 1, 250, 0, 0, 1, 0, 4, nacks, 0, 1, 0, 700, 1024, 1800, 4096),
            node_id=node,
            seq=2,
            timestamp_us=10_000_000,
        ),
        enc(vp.ModelStatus(1, 2, 17, MH, 40, 100, 0, 0, 0), node_id=node, seq=3, timestamp_us=10_000_001),
        enc(vp.BaselineProgress(2, 500, 500, 3.25, 0xDEADBEEF), node_id=node, seq=4, timestamp_us=10_000_002),
    ]


def test_v2_node_messages_are_stored_as_status_rows(tmp_path: Path) -> None:
    tr = Tracker(clock_ns=lambda: 1_800_000_000_000_000_000)
    records = [tr.process(vp.decode_frame(f), "p0") for f in _frames(3)]
    assert all(r is not None for r in records) and tr.ignored == 0
    store = SQLiteStore(tmp_path / "s.db")
    store.write([r for r in records if r is not None])
    store.close()
    con = sqlite3.connect(tmp_path / "s.db")
    rows = {k: json.loads(c) for k, c in con.execute("SELECT kind, counters FROM status WHERE node = 3")}
    con.close()
    assert set(rows) == {"hello", "status", "health", "model", "baseline"}
    assert rows["hello"]["reset_reason"] == vp.ResetReason.WATCHDOG and rows["hello"]["model_state"] == 2
    h = rows["health"]
    assert (h["watchdog_resets"], h["ring_overruns"], h["stack_high_water"]) == (2, 1, 1800)
    assert (h["nacks_bad_value"], h["nacks_out_of_order"], h["nacks_busy"], h["nacks_other"]) == (2, 3, 0, 0)
    assert rows["model"]["model_counter"] == 17 and rows["model"]["trial_frames"] == 40
    assert rows["baseline"]["baseline_threshold_micro"] == 3_250_000
    assert rows["baseline"]["baseline_crc"] == 0xDEADBEEF


def test_version_1_node_is_still_accepted() -> None:
    tr = Tracker(clock_ns=lambda: 1_800_000_000_000_000_000)
    v1 = vp.encode(
        vp.Hello("fw-1", "old", 12000.0, FH, MH, 3, 1), node_id=9, seq=0, timestamp_us=5, version=1
    )
    f = vp.decode_frame(v1)
    assert isinstance(f.message, vp.Hello)
    assert f.header.version == 1 and f.message.reset_reason == vp.ResetReason.UNKNOWN
    rec = tr.process(f, "p0")
    assert rec is not None and rec.fields["counters"]["boot_counter"] == 3
