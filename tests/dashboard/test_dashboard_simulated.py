"""The query module over data from the real chain: `vibsentry simulate` -> pty -> `vibsentry ingest` writing
both the SQLite store and a real influxd. Both sources must show the same fleet, trend and alarms."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.support.influxd import start_influxd
from tests.support.ingest import simulate_into_ingest
from vibsentry.dashboard import queries as q
from vibsentry.dashboard.influx_read import InfluxSource

ROOT = Path(__file__).resolve().parents[2]
SYN = ROOT / "sample_data" / "synthetic"


def test_simulated_fleet_reads_the_same_from_sqlite_and_influxd(tmp_path: Path) -> None:
    server = start_influxd(tmp_path / "influxd")
    link, store = tmp_path / "pty", tmp_path / "s.sqlite"
    simulate_into_ingest(
        link,
        ["--nodes", "3", "--machine", "press", "--duration", "24", "--speed", "4",
         "--recording", str(SYN / "m1_normal_c.wav"), "--fault-recording", str(SYN / "m1_outer_race_sev050.wav"),
         "--inject-fault-at", "12", "--fault-nodes", "2", "--quiet"],
        ["--store", f"sqlite:{store}", "--influx-url", server.url, "--db", "vibsentry",
         "--data-dir", str(tmp_path / "gw"), "--log-level", "WARNING"],
    )  # fmt: skip
    try:
        sq, ix = q.SqliteSource(store), InfluxSource(server.url, "vibsentry")
        nodes = sq.nodes()
        now = int(nodes["last_seen_ns"].max()) + 1_000_000_000
        a, b = q.fleet(sq, now_ns=now), q.fleet(ix, now_ns=now)
        cols = [
            "node",
            "machine",
            "status",
            "last_score",
            "threshold",
            "velocity_rms",
            "iso_zone",
            "fw_version",
        ]
        pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False, rtol=1e-6)
        assert list(a["machine"]) == ["press-2", "press-1", "press-3"] and a["status"].iloc[0] == "alarm"
        start = now - 120 * 1_000_000_000
        ta, tb = sq.trend(2, start, now, 40), ix.trend(2, start, now, 40)
        assert 0 < len(ta) <= 40 and int(ta["n"].sum()) > 200  # ~11.7 scores per node second
        pd.testing.assert_frame_equal(ta, tb, check_dtype=False, rtol=1e-5)
        al_a, al_b = sq.alarms(start, now), ix.alarms(start, now)
        assert list(al_a["node"]) == [2] and list(al_b["node"]) == [2]
        assert al_a["raise_ts_ns"].tolist() == al_b["raise_ts_ns"].tolist()
    finally:
        server.stop()
