"""The dashboard's query module against a real SQLite store written by the gateway's store writer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.dashboard import SECOND, fill_big_store, fill_store, raw_capture
from vibsentry.dashboard import queries as q
from vibsentry.dashboard import retrain_export
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore
from vibsentry.errors import StoreError, UsageError


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[tuple[q.SqliteSource, int]]:
    now = time.time_ns()
    fill_store(tmp_path / "s.sqlite", t0_ns=now - 125 * SECOND, mismatch_node=3)
    src = q.SqliteSource(tmp_path / "s.sqlite")
    yield src, now
    src.close()


def test_fleet_shows_status_zone_versions_and_mismatch(store: tuple[q.SqliteSource, int]) -> None:
    src, now = store
    df = q.fleet(src, now_ns=now)
    assert list(df.columns) == list(q.FLEET_COLUMNS)
    by = df.set_index("node")
    assert by.loc[2, "status"] == "alarm" and df.iloc[0]["node"] == 2  # the alarm sorts first
    assert by.loc[1, "status"] == "ok"
    assert by.loc[2, "iso_zone"] == "D" and by.loc[1, "iso_zone"] == "A"  # 5.0 / 1.0 mm/s, group 2 rigid
    assert by.loc[2, "last_score"] > by.loc[2, "threshold"] == 1.0
    assert bool(by.loc[3, "hash_mismatch"]) and not bool(by.loc[1, "hash_mismatch"])
    assert by.loc[1, "fw_version"] == "1.2.3" and by.loc[1, "machine"] == "pump-1"
    assert q.fleet_summary(df) == {"ok": 2, "warning": 0, "alarm": 1, "offline": 0}
    # an hour later nobody has reported: every node is offline whatever its last state
    later = q.fleet(src, now_ns=now + 3600 * SECOND)
    assert set(later["status"]) == {"offline"}


def test_per_machine_iso_group_changes_zone_and_status(store: tuple[q.SqliteSource, int]) -> None:
    src, now = store
    cfg = q.DashboardConfig(machine_groups={"pump-1": "tiny"}, iso_groups={"tiny": [0.2, 0.5, 0.9]})
    by = q.fleet(src, cfg, now_ns=now).set_index("node")
    assert by.loc[1, "iso_group"] == "tiny" and by.loc[1, "iso_zone"] == "D"
    assert by.loc[1, "status"] == "warning"  # zone D without a model alarm is a warning
    with pytest.raises(UsageError, match="'nope'"):
        q.DashboardConfig(default_group="nope")
    # TOML `true` is a bool, which Python counts as the int 1: it must not pass as "1 second".
    with pytest.raises(UsageError, match="offline_after_s=True"):
        q.DashboardConfig(offline_after_s=True)


def test_trend_is_downsampled_in_the_database(store: tuple[q.SqliteSource, int]) -> None:
    src, now = store
    start, end = now - 200 * SECOND, now
    full = src.scores(2, start, end)
    assert len(full) == 120
    tr = src.trend(2, start, end, max_points=20)
    assert 0 < len(tr) <= 20
    assert int(tr["n"].sum()) == 120  # every score counted once
    assert tr["score_max"].max() == pytest.approx(full["score"].max())
    assert np.average(tr["score"], weights=tr["n"]) == pytest.approx(full["score"].mean())
    assert tr["alarm"].iloc[-1] == 1 and tr["alarm"].iloc[0] == 0
    assert tr["time"].dt.tz is not None


def test_alarm_episodes_durations_and_acknowledgement(
    tmp_path: Path, store: tuple[q.SqliteSource, int]
) -> None:
    src, now = store
    al = src.alarms(now - 600 * SECOND, now)
    assert len(al) == 1
    ep = al.iloc[0]
    assert ep["node"] == 2 and ep["machine"] == "pump-2" and pd_isnat(ep["cleared"])
    assert ep["duration_s"] > 0 and not ep["acknowledged"]
    # a clear closes the episode with its real duration
    raise_ns = int(ep["raise_ts_ns"])
    w = SQLiteStore(src.path)
    w.write([Record("alarm", 2, raise_ns + 42 * SECOND, 999, {"event": 2, "score": 0.2, "threshold": 1.0})])
    w.close()
    ep = src.alarms(now - 600 * SECOND, now).iloc[0]
    assert ep["duration_s"] == pytest.approx(42.0)
    periods = q.alarm_periods(src.alarms(now - 600 * SECOND, now), now - 600 * SECOND, now)
    assert (periods["end"] - periods["start"]).iloc[0].total_seconds() == pytest.approx(42.0)
    # acknowledgement is stored in the store itself: a fresh connection sees it
    src.acknowledge(2, raise_ns, "  bearing greased, WO-17 ")
    again = q.SqliteSource(src.path)
    ep = again.alarms(now - 600 * SECOND, now).iloc[0]
    again.close()
    assert ep["acknowledged"] and ep["ack_note"] == "bearing greased, WO-17"
    with pytest.raises(StoreError, match="node 2"):
        src.acknowledge(2, raise_ns + 1, "no such alarm")
    # episodes entirely before the window are not shown
    assert src.alarms(now + 10 * SECOND, now + 20 * SECOND).empty
    # a node that reboots in alarm raises again without a clear: the episode before ends at that raise
    w = SQLiteStore(src.path)
    w.write([Record("alarm", 2, raise_ns + 20 * SECOND, 1000, {"event": 1, "score": 3.0, "threshold": 1.0})])
    w.close()
    eps = src.alarms(now - 600 * SECOND, now)
    assert list(eps["duration_s"].round(3)) == [22.0, 20.0]  # newest first


def pd_isnat(v: object) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_latest_features_are_named(store: tuple[q.SqliteSource, int]) -> None:
    src, _ = store
    _ts, kind, vals = src.latest_features(1) or (0, "", np.zeros(0))
    assert kind == "logmel" and vals.dtype == np.float32 and vals.size == 40
    table = q.feature_table(vals)
    assert table["feature"].iloc[0].startswith("logmel") and table["feature"].iloc[-1] == "velocity_rms_mm_s"
    assert src.latest_features(99) is None
    part = q.feature_table(vals[:32], kind="logmel")  # a node sending only its log-mel bands
    assert list(part["feature"][:2]) == ["logmel_00", "logmel_01"] and set(part["group"]) == {"logmel"}


def test_hundred_nodes_one_week_stays_bounded(tmp_path: Path) -> None:
    t0 = time.time_ns() - 7 * 86400 * SECOND
    rows = fill_big_store(tmp_path / "big.sqlite", t0_ns=t0, n_nodes=100, days=7, every_s=120)
    src = q.SqliteSource(tmp_path / "big.sqlite")
    end = t0 + 7 * 86400 * SECOND
    fl = q.fleet(src, now_ns=end)
    assert len(fl) == 100 and set(fl["status"]) == {"ok"}
    week = src.trend(42, t0, end, max_points=q.MAX_POINTS)
    assert len(week) <= q.MAX_POINTS
    assert int(week["n"].sum()) == rows // 100  # the rollup still accounts for every score
    hour = src.trend(42, end - 3600 * SECOND, end, max_points=q.MAX_POINTS)
    assert len(hour) == 30  # one score every 2 minutes
    src.close()


def test_bad_stores_and_windows_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        q.SqliteSource(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.sqlite"):
        q.SqliteSource(junk)
    with pytest.raises(UsageError, match="empty"):
        q.bucket_ns(10, 10, 5)
    assert q.bucket_ns(0, 3600 * SECOND, 600) == 6 * SECOND


def test_retrain_export_writes_wav_and_manifest_the_trainer_reads(
    tmp_path: Path, store: tuple[q.SqliteSource, int]
) -> None:
    from vibsentry.training.manifest import read_manifest

    src, now = store
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000).astype(np.float32)
    w = SQLiteStore(src.path)
    w.write(raw_capture(2, 7, now - 30 * SECOND, x, first_seq=500))
    w.close()
    out = tmp_path / "export"
    res = retrain_export.export(
        src, node=2, start_ns=now - 300 * SECOND, end_ns=now, label="outer_race", out_dir=out
    )
    assert len(res.recordings) == 1 and res.incomplete_captures == 0
    rows = read_manifest(out / "manifest.csv")
    assert [(r.label, Path(r.path).name) for r in rows] == [("outer_race", "node2_cap7_outer_race.wav")]
    from vibsentry.dsp.io import read_recording

    rec = read_recording(res.recordings[0])
    assert rec.sample_rate == 12000 and np.array_equal(rec.data[:, 0], x)
    assert res.scores_csv.read_text().count("\n") == 121  # header + 120 scores
    # exporting again replaces its own line instead of duplicating it
    retrain_export.export(
        src, node=2, start_ns=now - 300 * SECOND, end_ns=now, label="outer_race", out_dir=out
    )
    assert len(read_manifest(out / "manifest.csv")) == 1
    with pytest.raises(UsageError, match="'outer race'"):
        retrain_export.export(
            src, node=2, start_ns=now - 300 * SECOND, end_ns=now, label="outer race", out_dir=out
        )
