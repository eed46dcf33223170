"""Serve the Streamlit app as a child process: its environment, command line, health check and stop.

Used by ``vibsentry dashboard``, the demo, the browser tests and the latency benchmark. The app reads its
settings from ``VIBSENTRY_DASHBOARD_*`` variables (see ``dashboard/ui.py``) that :func:`dashboard_env` sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from vibsentry.config import redact_url
from vibsentry.dashboard.store.schema import DEFAULT_STORE
from vibsentry.errors import StoreError, UsageError
from vibsentry.process import spawn, stop_group


def app_path() -> Path:
    """The Streamlit script ``app.py`` next to this module (in a checkout or an installed package)."""
    return Path(__file__).resolve().with_name("app.py")


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
        raise UsageError(f"--store {store!r} and --influx-url {redact_url(influx_url)!r}: choose one")
    if not refresh_s > 0:
        raise UsageError(f"--refresh {refresh_s!r}: must be a positive number of seconds")
    env = dict(os.environ if base is None else base)
    if influx_url:
        if not influx_url.startswith(("http://", "https://")):
            raise UsageError(
                f"--influx-url {redact_url(influx_url)!r}: expected http://HOST:PORT or https://HOST:PORT"
            )
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


def streamlit_argv(port: int, address: str = "127.0.0.1", *, secrets: str | None = None) -> list[str]:
    """Command line that serves the app headless on ``address:port`` (no telemetry, no browser launch);
    ``secrets`` names the Streamlit secrets file holding the OIDC ``[auth]`` table (``st.login``)."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port!r}: must be 1..65535")
    extra = ["--secrets.files", str(Path(secrets).resolve())] if secrets else []
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
        *extra,
    ]


def start(
    env: Mapping[str, str],
    port: int,
    address: str = "127.0.0.1",
    *,
    log: int | None = None,
    secrets: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start the Streamlit server as a child in its own process group (so it can be stopped as a whole)."""
    return spawn(streamlit_argv(port, address, secrets=secrets), env=env, log=log)


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
    stop_group(proc, timeout_s=timeout_s)
