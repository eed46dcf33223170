"""Chaos run of the real gateway for 10 minutes (issue K): prints what happened and what the store ended with.

    .venv/bin/python benchmarks/bench_chaos.py [--minutes 10] [--seed 1] [--no-influx]

A fleet of 6 nodes on 3 real ptys streams SCORE frames into the real ``vibsentry ingest`` (SQLite store plus a
real influxd) while the harness (``tests/support/chaos.py``) SIGKILLs and restarts the gateway, stops influxd,
re-creates ports, fills the journal's disk (root: a tmpfs) and injects garbage and absurd-but-valid frames.
The run passes when every good frame is stored exactly once in both stores (exit code 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-influx", action="store_true", help="SQLite store only")
    args = ap.parse_args(argv)
    from tests.support.chaos import Chaos
    from tests.support.influxd import InfluxdServer

    with tempfile.TemporaryDirectory() as td:
        influx = None
        if not args.no_influx:
            influx = InfluxdServer(Path(td) / "influxd")
            influx.start()
        chaos = Chaos(Path(td) / "run", seed=args.seed, influx=influx)
        t0 = time.monotonic()
        try:
            r = chaos.run(args.minutes * 60.0)
        finally:
            chaos.close()
            if influx is not None:
                influx.stop()
        print(f"chaos run {time.monotonic() - t0:.0f} s, seed {args.seed}")
        print("\n".join(r.lines()))
        ok = r.missing == 0 and r.duplicated == 0 and (r.influx_scores in (None, r.sent))
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
