"""60 s chaos run of the real gateway (issue K deliverable 5; the 10-minute run is benchmarks/bench_chaos.py).

The real ``vibsentry ingest`` reads real ptys into SQLite and a real ``influxd`` while the harness SIGKILLs and
restarts it, stops influxd, re-creates ports, fills the journal's disk and injects garbage and absurd frames.
Every good SCORE must be stored exactly once.
"""

from __future__ import annotations

import pytest

from tests.support.chaos import Chaos
from tests.support.influxd import InfluxdServer

pytestmark = [pytest.mark.slow]


def test_chaos_60_s_ends_with_exactly_the_good_frames(tmp_path):
    influx = InfluxdServer(tmp_path / "influxd")
    influx.start()
    chaos = Chaos(tmp_path / "run", seed=20261206, influx=influx)
    try:
        r = chaos.run(60.0)
    finally:
        chaos.close()
        influx.stop()
    print("\n".join(r.lines()))
    assert r.sent > 1000
    assert r.missing == 0 and r.duplicated == 0 and r.stored == r.sent
    assert r.influx_scores == r.sent
    # Every action this machine can do happened at least once (the harness runs them in rounds).
    assert (
        r.events["gateway_sigkill"] >= 1
        and r.events["port_recreated"] >= 1
        and r.events["influxd_outage"] >= 1
    )
    assert sum(r.events.values()) >= 10
