"""The gateway's diagnosis sink: complete raw captures diagnosed in the background and stored in SQLite."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.support.ingest import simulate_into_ingest
from vibsentry import synth
from vibsentry.dashboard.diagnosis import MachineSetup
from vibsentry.dashboard.gateway import diagnoser as dgw
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore

T0 = 1_700_000_000 * 10**9
SCALE = 16.0 / 32768


def _chunks(
    node: int, cap: int, x: np.ndarray, n: int, *, scale: float = SCALE, machine: str = "pump-2"
) -> list[Record]:
    q16 = np.clip(np.round(x / SCALE), -32768, 32767).astype("<i2")
    return [
        Record("raw", node, T0 + cap * 10**9 + i, 1000 * cap + i,
               {"capture_id": cap, "chunk_index": i, "n_chunks": n, "sample_rate": 12000.0, "channels": 1,
                "sample_format": "i16", "scale": scale, "data": p.tobytes()}, machine=machine)
        for i, p in enumerate(np.array_split(q16, n))
    ]  # fmt: skip


def test_complete_captures_are_diagnosed_once_and_stored(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SQLiteStore(path)  # the gateway's own store created the file; the sink adds its rows
    sink = dgw.DiagnosisSink(
        path, {"pump-2": MachineSetup(rpm=1797.0), "node:3": MachineSetup(rpm_range=(1500.0, 2000.0))}
    )
    outer = _chunks(2, 1, synth.machine_signal(duration_s=1.0, fault="outer", seed=3), 4)
    inner = _chunks(3, 7, synth.machine_signal(duration_s=1.0, fault="inner", seed=4), 4, machine="fan")
    score = Record("score", 2, T0, 1, {"score": 0.5})
    sink.write([score, *outer[:2], *inner[:3]])  # nothing complete yet
    assert sink.diagnosed == 0
    sink.write([*outer[2:], inner[3]])
    sink.write(outer)  # a replay after a restart: stored once
    store.write(outer)
    rows = (
        sqlite3.connect(path)
        .execute(
            "SELECT node, capture_id, machine, fault, confidence, summary, rpm, diagnosis, error FROM diagnoses ORDER BY node"
        )
        .fetchall()
    )
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (2, 1, "pump-2", "outer_race"),
        (3, 7, "fan", "inner_race"),
    ]
    assert rows[0][4] >= 0.5 and rows[0][5].startswith("outer race defect: BPFO") and rows[0][6] == 1797.0
    assert rows[1][6] != 1797.0 and abs(rows[1][6] - 1797.0) < 10  # node 3: speed searched in its range
    doc = json.loads(rows[0][7])
    assert doc["findings"][0]["fault"] == "outer_race" and rows[0][8] is None
    sink.close()
    store.close()


def test_undiagnosable_capture_gets_a_row_with_the_reason(tmp_path: Path) -> None:
    sink = dgw.DiagnosisSink(tmp_path / "s.sqlite")
    short = _chunks(2, 2, synth.machine_signal(duration_s=0.1, seed=1), 2)
    bad_scale = _chunks(2, 3, synth.machine_signal(duration_s=1.0, seed=1), 2, scale=0.0)
    sink.write([*short, *bad_scale])
    rows = (
        sqlite3.connect(tmp_path / "s.sqlite")
        .execute("SELECT capture_id, fault, error FROM diagnoses ORDER BY capture_id")
        .fetchall()
    )
    assert rows[0][0] == 2 and rows[0][1] is None and "recording too short" in rows[0][2]
    assert rows[1][0] == 3 and rows[1][1] is None and "scale 0.0 g/LSB is not usable" in rows[1][2]
    sink.close()


def test_pending_captures_are_bounded(tmp_path: Path) -> None:
    sink = dgw.DiagnosisSink(tmp_path / "s.sqlite")
    x = np.zeros(120)
    for cap in range(dgw.MAX_PENDING + 5):
        sink.write(_chunks(1, cap, x, 2)[:1])
    assert len(sink._pending) == dgw.MAX_PENDING
    assert (1, 0) not in sink._pending and (1, dgw.MAX_PENDING + 4) in sink._pending
    sink.close()


@pytest.mark.slow
def test_real_chain_simulate_ingest_stores_the_alarm_capture_diagnosis(tmp_path: Path) -> None:
    # `vibsentry simulate` (node 2 turns faulty: outer-race recording, it raises an alarm and sends a 1 s raw
    # capture) -> pty -> `vibsentry ingest` with its diagnosis sink -> the diagnoses table.
    syn = Path(__file__).resolve().parents[2] / "sample_data" / "synthetic"
    link, store = tmp_path / "pty", tmp_path / "s.sqlite"
    cfg = tmp_path / "gw.toml"
    cfg.write_text('[dashboard.machines."node:2"]\nrpm = 1797\nbearing = "6205-2rs"\n')
    simulate_into_ingest(
        link,
        ["--nodes", "2", "--machine", "press", "--duration", "24", "--speed", "4",
         "--recording", str(syn / "m1_normal_c.wav"), "--fault-recording", str(syn / "m1_outer_race_sev050.wav"),
         "--inject-fault-at", "8", "--fault-nodes", "2", "--quiet"],
        ["--store", f"sqlite:{store}", "--config", str(cfg), "--data-dir", str(tmp_path / "gw"),
         "--log-level", "WARNING"],
    )  # fmt: skip
    con = sqlite3.connect(store)
    caps = con.execute(
        "SELECT node, capture_id, count(*), max(n_chunks) FROM raw_chunks GROUP BY node, capture_id"
    ).fetchall()
    rows = con.execute(
        "SELECT node, capture_id, fault, confidence, summary, error, diagnosis FROM diagnoses"
    ).fetchall()
    assert caps and any(c[0] == 2 for c in caps), caps
    complete = {(c[0], c[1]) for c in caps if c[2] == c[3]}
    assert {(r[0], r[1]) for r in rows} == complete  # every complete capture diagnosed, once
    node2 = [r for r in rows if r[0] == 2]
    assert node2 and node2[0][5] is None, node2
    # A 1 s capture (1 Hz lines) of the half-severity recording: the outer race is the strongest candidate;
    # whether it is also reported (confidence >= 0.5) is borderline at this length (0.49 measured), so only
    # the ranking is asserted.
    assert json.loads(node2[0][6])["candidates"][0]["fault"] == "outer_race", node2[0][4]


def test_diagnoses_go_to_influxdb_too(tmp_path: Path) -> None:
    import pandas as pd

    from tests.support.influxd import start_influxd
    from vibsentry.dashboard.diagnosis import stored_diagnoses, with_diagnoses
    from vibsentry.dashboard.influx_read import InfluxSource
    from vibsentry.dashboard.store.influx import InfluxReader, open_influx

    srv = start_influxd(tmp_path / "influxd")
    try:
        sink = dgw.DiagnosisSink(
            None, {"pump-2": MachineSetup(rpm=1797.0)}, influx=open_influx(srv.url, db="diag")
        )
        outer = _chunks(2, 1, synth.machine_signal(duration_s=1.0, fault="outer", seed=3), 4)
        short = _chunks(2, 2, synth.machine_signal(duration_s=0.1, seed=1), 2)
        sink.write([*outer, *short])
        sink.write(outer)  # replayed: the same point, nothing doubles
        rows = InfluxReader(srv.url, db="diag").query(
            "SELECT confidence, summary, rpm, error, fault, capture, machine FROM vib_diagnosis WHERE node = '2'"
        )
        assert [(r["capture"], r["fault"], r["machine"]) for r in rows] == [
            ("1", "outer_race", "pump-2"),
            ("2", "error", "pump-2"),
        ]
        assert rows[0]["time"] == outer[0].ts_ns and rows[0]["rpm"] == 1797.0 and rows[0]["confidence"] >= 0.5
        assert (
            rows[0]["summary"].startswith("outer race defect") and "recording too short" in rows[1]["error"]
        )
        # The dashboard reads them back through its InfluxDB source.
        got = stored_diagnoses(InfluxSource(srv.url, "diag"), T0, T0 + 10 * 10**9, node=2)
        assert list(got["capture_id"]) == [1, 2] and got["fault"].iloc[0] == "outer_race"
        assert got["fault"].isna().iloc[1] and "recording too short" in got["error"].iloc[1]
        al = pd.DataFrame({"node": [2, 2], "raise_ts_ns": [T0 + 10**9, T0 + 2 * 10**9]})
        shown = with_diagnoses(al, got, within_ns=10**8)
        assert shown["diagnosis"].iloc[0].startswith("outer race defect")
        assert shown["diagnosis"].iloc[1].startswith("not diagnosed: recording too short")
        sink.close()
    finally:
        srv.stop()
