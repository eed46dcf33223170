"""The SQLite store: schema contract, idempotent writes, the per-minute rollup, read-only access."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from vibsentry.dashboard.store import Record
from vibsentry.dashboard.store import schema as S
from vibsentry.dashboard.store.sqlite import SQLiteStore, connect_readonly
from vibsentry.errors import StoreError

T0 = 1_700_000_000_000_000_000


def _scores(node: int, n: int, *, t0: int = T0, step: int = 85_000_000) -> list[Record]:
    return [
        Record(
            "score",
            node,
            t0 + i * step,
            i,
            {
                "score": 0.1 * i,
                "threshold": 1.0,
                "alarm_state": int(i > 5),
                "rms": 0.02,
                "peak": 0.1,
                "velocity_rms": 1.0 + i,
            },
            machine="pump",
        )
        for i in range(n)
    ]


def test_replayed_batches_store_each_message_once_and_rollup_counts_once(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    recs = _scores(3, 1500)
    store.write(recs)
    store.write(recs[700:])  # a replay after a crash overlaps what was stored
    conn = connect_readonly(tmp_path / "s.sqlite")
    assert conn.execute("SELECT count(*) FROM scores").fetchone()[0] == 1500
    n, ssum, smax = conn.execute("SELECT sum(n), sum(score_sum), max(score_max) FROM scores_1m").fetchone()
    assert n == 1500
    assert ssum == pytest.approx(sum(0.1 * i for i in range(1500)), rel=1e-6)
    assert smax == pytest.approx(149.9, rel=1e-6)
    buckets = [b for (b,) in conn.execute("SELECT bucket_ns FROM scores_1m")]
    assert all(b % S.ROLLUP_NS == 0 for b in buckets)


def test_nodes_table_tracks_latest_score_and_status_whatever_the_arrival_order(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    recs = _scores(1, 10)
    store.write(recs[5:])
    store.write(recs[:5])  # older records arriving late must not roll the node's "last" values back
    store.write(
        [
            Record(
                "hello",
                1,
                T0 + 5,
                0,
                {
                    "fw_version": "2.1",
                    "feature_hash": "ab" * 32,
                    "model_hash": "cd" * 32,
                    "hash_mismatch": True,
                    "boot_epoch_ns": T0 - 10,
                    "machine": "pump",
                },
            ),
        ]
    )
    row = (
        connect_readonly(tmp_path / "s.sqlite")
        .execute(
            "SELECT machine, fw_version, hash_mismatch, first_seen_ns, last_seen_ns, last_score, last_alarm_state "
            "FROM nodes WHERE node = 1"
        )
        .fetchone()
    )
    assert row[0] == "pump" and row[1] == "2.1" and row[2] == 1
    assert row[3] == T0 and row[4] == recs[-1].ts_ns
    assert row[5] == pytest.approx(0.9) and row[6] == 1


def test_every_kind_round_trips_with_documented_encodings(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    vals = tuple(float(v) for v in np.linspace(-3, 3, 32, dtype=np.float32))
    raw = np.arange(-250, 250, dtype="<i2").tobytes()
    store.write(
        [
            Record("alarm", 2, T0, 4, {"event": 1, "score": 5.0, "threshold": 1.0}),
            Record("alarm", 2, T0 + 10**9, 9, {"event": 2, "score": 0.5, "threshold": 1.0}),
            Record("status", 2, T0, 5, {"uptime_ms": 10_000, "counters": {"frames_analysed": 117}}),
            Record("features", 2, T0, 6, {"kind": "logmel", "values": vals}),
            Record(
                "raw",
                2,
                T0,
                7,
                {
                    "capture_id": 9,
                    "chunk_index": 0,
                    "n_chunks": 1,
                    "sample_rate": 12000.0,
                    "sample_format": "i16",
                    "scale": 0.001,
                    "data": raw,
                },
            ),
        ]
    )
    c = connect_readonly(tmp_path / "s.sqlite")
    assert c.execute("SELECT event FROM alarms ORDER BY ts_ns").fetchall() == [(1,), (2,)]
    assert c.execute("SELECT counters FROM status").fetchone()[0] == '{"frames_analysed": 117}'
    n, blob = c.execute("SELECT n, vals FROM features").fetchone()
    assert n == 32 and np.array_equal(np.frombuffer(blob, "<f4"), np.asarray(vals, dtype=np.float32))
    fmt, data = c.execute("SELECT sample_format, data FROM raw_chunks").fetchone()
    assert fmt == "i16" and np.array_equal(np.frombuffer(data, "<i2"), np.arange(-250, 250))


def test_acknowledgement_survives_a_replay_of_the_alarm(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    alarm = Record("alarm", 2, T0, 4, {"event": 1, "score": 5.0, "threshold": 1.0})
    store.write([alarm])
    with sqlite3.connect(tmp_path / "s.sqlite") as rw:  # what the dashboard does
        rw.execute("UPDATE alarms SET ack_ns = 1, ack_note = 'bearing greased' WHERE node = 2")
    store.write([alarm])
    note = connect_readonly(tmp_path / "s.sqlite").execute("SELECT ack_note FROM alarms").fetchone()[0]
    assert note == "bearing greased"


def test_readonly_connection_refuses_writes_and_missing_store_is_named(tmp_path):
    SQLiteStore(tmp_path / "s.sqlite").write(_scores(1, 2))
    conn = connect_readonly(tmp_path / "s.sqlite")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM scores")
    with pytest.raises(StoreError, match=r"nothere\.sqlite"):
        connect_readonly(tmp_path / "nothere.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.sqlite"):
        connect_readonly(tmp_path / "junk.sqlite")


def test_unknown_record_kind_is_refused_without_partial_write(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    with pytest.raises(StoreError, match="'bogus'"):
        store.write([*_scores(1, 3), Record("bogus", 1, T0, 0, {})])
    assert connect_readonly(tmp_path / "s.sqlite").execute("SELECT count(*) FROM scores").fetchone()[0] == 0


def test_schema_version_mismatch_is_refused(tmp_path):
    SQLiteStore(tmp_path / "s.sqlite").close()
    with sqlite3.connect(tmp_path / "s.sqlite") as rw:
        rw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="'99'"):
        SQLiteStore(tmp_path / "s.sqlite")


def test_non_finite_values_are_stored_as_null_and_kept_out_of_the_rollup(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    nan, inf = float("nan"), float("inf")
    store.write(
        [
            Record("score", 1, T0, 1, {"score": nan, "threshold": 1.0, "velocity_rms": inf}),
            Record("score", 1, T0 + 1, 2, {"score": 0.5, "threshold": 1.0, "velocity_rms": 2.0}),
            Record("alarm", 1, T0 + 2, 3, {"event": 1, "score": nan, "threshold": 1.0}),
        ]
    )
    c = connect_readonly(tmp_path / "s.sqlite")
    assert c.execute("SELECT seq, score, velocity_rms FROM scores ORDER BY seq").fetchall() == [
        (1, None, None),
        (2, 0.5, 2.0),
    ]
    assert c.execute("SELECT n, score_sum FROM scores_1m").fetchall() == [(1, 0.5)]
    assert c.execute("SELECT score FROM alarms").fetchall() == [(None,)]


def test_malformed_records_are_rejected_as_such(tmp_path):
    from vibsentry.errors import StoreRejected

    store = SQLiteStore(tmp_path / "s.sqlite")
    with pytest.raises(StoreRejected, match="malformed"):
        store.write([Record("score", 1, T0, 1, {"threshold": 1.0})])  # no score field at all


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (1.5, 1.5), (np.float32(2.0), 2.0), (3, 3.0), ("0.25", 0.25), (float("nan"), None),
     (float("inf"), None), (float("-inf"), None), (np.float32("nan"), None), (np.float64("inf"), None)],
)  # fmt: skip
def test_finite_or_none_is_the_one_rule_for_node_numbers(value: object, expected: float | None) -> None:
    from vibsentry.dashboard.store.records import finite_or_none

    assert finite_or_none(value) == expected


def test_non_finite_numbers_read_back_as_missing_on_the_fleet_view(tmp_path) -> None:
    """The writer stores NaN/inf as NULL and the fleet view shows them as missing: one rule on both sides."""
    from vibsentry.dashboard.queries import SqliteSource, fleet

    db = tmp_path / "s.sqlite"
    st = SQLiteStore(db)
    now = 1_700_000_000_000_000_000
    fields = {
        "score": float("inf"),
        "threshold": float("nan"),
        "alarm_state": 0,
        "velocity_rms": float("-inf"),
    }
    st.write([Record("score", 1, now, 1, fields, machine="m")])
    st.close()
    src = SqliteSource(db)
    try:
        row = fleet(src, now_ns=now).iloc[0]
    finally:
        src.close()
    assert row["last_score"] is None and row["threshold"] is None and row["velocity_rms"] is None


def test_hello_then_status_in_one_batch_keeps_the_firmware_version(tmp_path):
    """A booting node's HELLO and its first STATUS/HEALTH often share a gateway batch; the node's firmware
    version and hashes (only in HELLO) must still reach the nodes table the dashboard tiles read."""
    store = SQLiteStore(tmp_path / "s.sqlite")
    hello = Record(
        "hello",
        7,
        T0,
        0,
        {
            "fw_version": "vs-stm32 1.0",
            "feature_hash": "ab" * 32,
            "model_hash": "cd" * 32,
            "boot_epoch_ns": 5,
        },
    )
    status = Record("status", 7, T0 + 10, 1, {"uptime_ms": 0, "boot_epoch_ns": 5, "counters": {}})
    store.write([hello, status])
    conn = connect_readonly(tmp_path / "s.sqlite")
    row = conn.execute(
        f"SELECT fw_version, feature_hash, model_hash, last_status_ns FROM {S.T_NODES} WHERE node = 7"
    ).fetchone()
    assert row == ("vs-stm32 1.0", "ab" * 32, "cd" * 32, T0 + 10)
