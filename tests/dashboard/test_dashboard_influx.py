"""The dashboard's InfluxDB source against a real influxd 1.x (InfluxQL on /query), written by the gateway's
own InfluxDB store: the same records must give the same fleet, trend, alarms and features as SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.dashboard import SECOND, make_records
from tests.support.influxd import InfluxdServer, start_influxd
from vibsentry.dashboard import queries as q
from vibsentry.dashboard.influx_read import InfluxSource
from vibsentry.dashboard.store.influx import InfluxV1Store
from vibsentry.dashboard.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[q.SqliteSource, InfluxSource, int]]:
    root = tmp_path_factory.mktemp("influx")
    server: InfluxdServer = start_influxd(root / "influxd")
    now = time.time_ns()
    recs = make_records(t0_ns=now - 125 * SECOND, mismatch_node=3)
    sq = SQLiteStore(root / "s.sqlite")
    sq.write(recs)
    sq.close()
    ix = InfluxV1Store(server.url, db="vibsentry")
    ix.write(recs)
    ix.close()
    try:
        yield q.SqliteSource(root / "s.sqlite"), InfluxSource(server.url, "vibsentry"), now
    finally:
        server.stop()


def test_fleet_matches_sqlite(both: tuple[q.SqliteSource, InfluxSource, int]) -> None:
    sqlite_src, influx_src, now = both
    a = q.fleet(sqlite_src, now_ns=now)
    b = q.fleet(influx_src, now_ns=now)
    cols = ["node", "machine", "status", "last_score", "threshold", "iso_zone", "fw_version", "hash_mismatch"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False, atol=1e-6)
    assert list(b["status"]) == ["alarm", "ok", "ok"] and bool(b.set_index("node").loc[3, "hash_mismatch"])


def test_trend_is_downsampled_by_the_server_like_sqlite(
    both: tuple[q.SqliteSource, InfluxSource, int],
) -> None:
    sqlite_src, influx_src, now = both
    start, end = now - 300 * SECOND, now
    a = sqlite_src.trend(2, start, end, max_points=25)
    b = influx_src.trend(2, start, end, max_points=25)
    assert 0 < len(b) <= 25 and int(b["n"].sum()) == 120
    pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=1e-5)


def test_alarms_ack_and_features(both: tuple[q.SqliteSource, InfluxSource, int]) -> None:
    sqlite_src, influx_src, now = both
    a = sqlite_src.alarms(now - 600 * SECOND, now)
    b = influx_src.alarms(now - 600 * SECOND, now)
    cols = ["node", "machine", "raised", "score", "raise_ts_ns", "acknowledged"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False, atol=1e-6)
    influx_src.acknowledge(2, int(b["raise_ts_ns"].iloc[0]), "checked by night shift")
    after = influx_src.alarms(now - 600 * SECOND, now)
    assert bool(after["acknowledged"].iloc[0]) and after["ack_note"].iloc[0] == "checked by night shift"
    ts, kind, vals = influx_src.latest_features(1) or (0, "", np.zeros(0))
    ts2, kind2, vals2 = sqlite_src.latest_features(1) or (0, "", np.zeros(0))
    assert (ts, kind) == (ts2, kind2) and np.array_equal(vals, vals2)
    assert len(influx_src.scores(2, now - 600 * SECOND, now)) == 120


def test_dashboard_env_for_influx_needs_a_url() -> None:
    from vibsentry.dashboard.server import dashboard_env
    from vibsentry.errors import UsageError

    env = dashboard_env(store=None, influx_url="http://127.0.0.1:8086", db="plant", base={})
    assert env["VIBSENTRY_DASHBOARD_STORE"] == "influx" and env["VIBSENTRY_DASHBOARD_INFLUX_DB"] == "plant"
    with pytest.raises(UsageError, match=r"'influx\.local:8086'"):
        dashboard_env(store=None, influx_url="influx.local:8086", base={})
    with pytest.raises(UsageError, match="choose one"):
        dashboard_env(store="sqlite:x", influx_url="http://h:1", base={})


def test_missing_path_env(tmp_path: Path) -> None:
    from vibsentry.dashboard.server import dashboard_env
    from vibsentry.errors import StoreError

    with pytest.raises(StoreError, match="no SQLite store"):
        dashboard_env(store=f"sqlite:{tmp_path / 'none.sqlite'}", base={})
