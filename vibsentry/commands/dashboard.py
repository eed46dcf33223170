"""``vibsentry dashboard``: serve the Streamlit dashboard over a SQLite store or an InfluxDB server."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from vibsentry.errors import StoreError, UsageError

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

DEFAULT_STORE = "sqlite:.vibsentry/data/vibsentry.sqlite"
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


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


def app_path() -> Path:
    """The Streamlit script (inside the installed package when not run from a checkout)."""
    if APP.is_file():
        return APP
    import vibsentry.dashboard

    return Path(vibsentry.dashboard.__file__).with_name("app.py")


def dashboard_env(
    *,
    store: str | None,
    influx_url: str | None = None,
    db: str = "vibsentry",
    config: str | None = None,
    refresh_s: float = 1.0,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for the Streamlit process (``VIBSENTRY_DASHBOARD_*``, see ``dashboard/ui.py``).

    Raises :class:`UsageError` for contradictory or invalid options and :class:`StoreError` when the SQLite
    store does not exist.
    """
    if store and influx_url:
        raise UsageError(f"--store {store!r} and --influx-url {influx_url!r}: choose one")
    if not refresh_s > 0:
        raise UsageError(f"--refresh {refresh_s!r}: must be a positive number of seconds")
    env = dict(os.environ if base is None else base)
    if influx_url:
        if not influx_url.startswith(("http://", "https://")):
            raise UsageError(f"--influx-url {influx_url!r}: expected http://HOST:PORT or https://HOST:PORT")
        env["VIBSENTRY_DASHBOARD_STORE"] = "influx"
        env["VIBSENTRY_DASHBOARD_INFLUX_URL"] = influx_url
        env["VIBSENTRY_DASHBOARD_INFLUX_DB"] = db
    else:
        spec = store or DEFAULT_STORE
        path = Path(spec[len("sqlite:") :] if spec.startswith("sqlite:") else spec)
        if not path.is_file():
            raise StoreError(
                f"--store {spec!r}: no SQLite store at {str(path)!r} (start 'vibsentry ingest' first)"
            )
        env["VIBSENTRY_DASHBOARD_STORE"] = f"sqlite:{path.resolve()}"
    if config:
        cfg = Path(config)
        if not cfg.is_file():
            raise UsageError(f"--config {config!r}: no such file")
        env["VIBSENTRY_DASHBOARD_CONFIG"] = str(cfg.resolve())
    env["VIBSENTRY_DASHBOARD_REFRESH_S"] = repr(float(refresh_s))
    return env


def streamlit_argv(port: int, address: str = "127.0.0.1") -> list[str]:
    """Command line that serves the app headless on ``address:port`` (no telemetry, no browser launch)."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port!r}: must be 1..65535")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def check_port_free(port: int, address: str = "127.0.0.1") -> None:
    """Raise :class:`UsageError` when ``address:port`` is taken: a health check would otherwise succeed
    against whatever already listens there (an earlier dashboard or demo)."""
    import socket

    with socket.socket() as s:
        # As the server will: connections of a stopped server in TIME_WAIT must not count as "in use".
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            raise UsageError(
                f"--port {port}: already in use on {address} (another dashboard or demo running? use --port)"
            ) from None


def die_with_parent() -> None:
    """``preexec_fn``: on Linux, SIGTERM this child when its parent dies, even by SIGKILL.

    Children run in their own session (so a terminal's Ctrl-C reaches only the parent, which stops them in
    order); without this, a parent killed outright would leave them running.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass


def start(
    env: Mapping[str, str], port: int, address: str = "127.0.0.1", *, log: int | None = None
) -> subprocess.Popen[bytes]:
    """Start the Streamlit server as a child in its own process group (so it can be stopped as a whole)."""
    return subprocess.Popen(
        streamlit_argv(port, address),
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def wait_healthy(port: int, proc: subprocess.Popen[bytes] | None = None, *, timeout_s: float = 60.0) -> None:
    """Wait until ``/_stcore/health`` answers ``ok``; raises :class:`StoreError` on exit or timeout."""
    url = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreError(
                f"dashboard server exited with status {proc.returncode} before serving port {port}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise StoreError(f"dashboard did not answer on {url} within {timeout_s:g} s")


def stop(proc: subprocess.Popen[bytes], *, timeout_s: float = 10.0) -> None:
    """Stop a server started by :func:`start` (SIGTERM to its group, SIGKILL after ``timeout_s``)."""
    import signal

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


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
