"""The journal: durable append, per-sink cursors, replay, compaction, full disk."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.hardening import tiny_fs as mount_tiny_fs
from vibsentry.dashboard.gateway.journal import Journal, NodeState, decode_fields, encode_fields
from vibsentry.dashboard.store import Record
from vibsentry.errors import StoreError


def _recs(n: int, start: int = 0) -> list[Record]:
    return [
        Record("score", 1, 10**18 + i, i, {"score": float(i), "values": (1.0, 2.0)})
        for i in range(start, start + n)
    ]


def test_fields_round_trip_including_bytes_and_tuples():
    f = {"data": b"\x00\xff\x10", "values": (1.5, -2.0), "x": None, "s": "abc"}
    assert decode_fields(encode_fields(f)) == f


def test_undelivered_records_are_replayed_after_reopen_per_sink(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    last = j.append(_recs(100), {1: NodeState(boot=2, boot_epoch_ns=123, last_seq=99, last_time_ns=5)})
    assert last == 100
    batch = j.pending("sqlite", limit=40)
    j.mark_delivered("sqlite", batch[-1][0])
    j.close()
    j = Journal(tmp_path / "j.sqlite")  # restart
    again = j.pending("sqlite", limit=1000)
    assert [r.seq for _, r in again] == list(range(40, 100))
    assert [r.seq for _, r in j.pending("influx", limit=1000)] == list(range(100))
    assert j.backlog("sqlite") == 60 and j.backlog("influx") == 100
    assert j.node_states()[1] == NodeState(boot=2, boot_epoch_ns=123, last_seq=99, last_time_ns=5)
    # Compaction keeps whatever the slowest sink still needs.
    assert j.compact(["sqlite", "influx"]) == 0
    j.mark_delivered("influx", 70)
    assert j.compact(["sqlite", "influx"]) == 40
    assert [r.seq for _, r in j.pending("influx", limit=5)] == [70, 71, 72, 73, 74]


def test_bad_sync_mode_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="'SOMETIMES'"):
        Journal(tmp_path / "j.sqlite", synchronous="SOMETIMES")


@pytest.fixture
def tiny_fs(tmp_path):
    """A 256 KiB tmpfs (root only), unmounted afterwards."""
    with mount_tiny_fs(tmp_path / "tiny", "256k") as mnt:
        yield mnt


def test_full_disk_refuses_the_batch_with_a_clear_error_and_keeps_what_was_journaled(tiny_fs):
    j = Journal(tiny_fs / "j.sqlite")
    ok = 0
    with pytest.raises(StoreError, match="disk full") as err:
        for k in range(1000):
            j.append(_recs(50, k * 50))
            ok += 50
    assert str(tiny_fs / "j.sqlite") in str(err.value)
    assert ok > 0
    got = [r.seq for _, r in j.pending("s", limit=100_000)]
    assert got == list(range(ok))  # every acknowledged append is there, the refused batch is not half there
    # Space comes back (here: the filesystem grows) and the refused batch goes in.
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_fs)], check=True)
    j.append(_recs(50, ok))
    assert len(j.pending("s", limit=100_000)) == ok + 50
