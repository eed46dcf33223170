"""``vibsentry dashboard``: serve the Streamlit dashboard over a SQLite store or an InfluxDB server."""

from __future__ import annotations

import argparse

from vibsentry.dashboard.server import DEFAULT_STORE, dashboard_env, start, stop, wait_healthy
from vibsentry.process import check_port_free

HELP = "serve the live dashboard (fleet, machine detail, alarm log, data for retraining)"
DESCRIPTION = """\
Serve the Streamlit dashboard on http://ADDRESS:PORT/ over the store the gateway ('vibsentry ingest') fills.

Views: fleet overview (status, score vs threshold, velocity RMS with its ISO 10816 zone, versions,
feature_hash mismatches), machine detail (score trend with threshold and alarm periods, velocity and RMS,
latest spectrum, alarm history), alarm log (acknowledge with a note), and data for retraining (export raw
captures as WAV + manifest lines). Live panels refresh every --refresh seconds without reloading the page.

Examples:
  vibsentry dashboard                                   # ./.vibsentry/data/vibsentry.sqlite on :8501
  vibsentry dashboard --store sqlite:/var/lib/vibsentry/plant.sqlite --port 8080 --address 0.0.0.0
  VIBSENTRY_INFLUX_TOKEN=... vibsentry dashboard --influx-url https://influx.plant:8086 --db vibsentry

InfluxDB 1.x, 2.x (bucket with a DBRP mapping) and 3.x are read with InfluxQL. Credentials come only from
the environment: VIBSENTRY_INFLUX_TOKEN, or VIBSENTRY_INFLUX_USERNAME + VIBSENTRY_INFLUX_PASSWORD (each also as
*_FILE naming a file). --config names a TOML file whose [dashboard] table sets offline_after_s,
default_group, [dashboard.machine_groups] (machine -> ISO group) and [dashboard.iso_groups].
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    p.add_argument("--store", default=None, help=f"SQLite store, sqlite:PATH (default {DEFAULT_STORE})")
    p.add_argument("--influx-url", default=None, help="read InfluxDB at this URL instead of SQLite")
    p.add_argument("--db", "--bucket", dest="db", default="vibsentry", help="InfluxDB database/bucket")
    p.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="listen address (0.0.0.0 for the whole LAN)")
    p.add_argument("--config", default=None, help="TOML file with a [dashboard] table")
    p.add_argument(
        "--refresh", type=float, default=1.0, help="live-panel refresh period in seconds (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    env = dashboard_env(
        store=args.store, influx_url=args.influx_url, db=args.db, config=args.config, refresh_s=args.refresh
    )
    check_port_free(args.port, args.address)
    proc = start(env, args.port, args.address)
    try:
        wait_healthy(args.port, proc)
        host = "localhost" if args.address in ("127.0.0.1", "0.0.0.0") else args.address
        print(f"dashboard: http://{host}:{args.port}/  ({env['VIBSENTRY_DASHBOARD_STORE']}); Ctrl-C stops it")
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)
