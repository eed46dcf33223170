"""A real InfluxDB 1.x server (Debian's ``influxdb`` package, 1.6.7) for tests.

``start_influxd(tmp)`` installs the package when it is missing and we are root (else skips with a reason),
writes a config file that binds HTTP and RPC to free loopback ports and keeps every directory under ``tmp``,
starts ``influxd`` and waits for ``/ping``. ``InfluxdServer.stop()`` / ``.start()`` stop and restart it on the
same port and data (the outage test); ``close()`` stops it for good.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (outside the ephemeral range: tests.support.ports)."""
    from tests.support.ports import free_port as pick

    return pick()


def influxd_binary() -> str:
    """Path of ``influxd``; installs Debian's ``influxdb`` when missing and root, else skips the test."""
    path = shutil.which("influxd")
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("influxd not installed (Debian package 'influxdb'; ./dev.sh setup as root installs it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "influxdb"],
        env=env,
        check=False,
        capture_output=True,
        timeout=600,
    )
    path = shutil.which("influxd")
    if not path:
        pytest.skip("could not install Debian package 'influxdb'")
    return path


class _PortTaken(RuntimeError):
    """influxd could not bind its port: another process took it after it was drawn."""


class InfluxdServer:
    """One ``influxd`` process with its own config and data directory under ``root``."""

    def __init__(self, root: Path, *, auth: bool = False) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.binary = influxd_binary()
        self.auth = auth
        self.config = self.root / "influxdb.conf"
        self.log = self.root / "influxd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._started_once = False
        self._new_ports()

    def _new_ports(self) -> None:
        """Draw the HTTP and RPC ports and (re)write the config with them."""
        self.port = free_port()
        self.rpc_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        d, auth = self.root, self.auth
        self.config.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{d / "meta"}"
[data]
  dir = "{d / "data"}"
  wal-dir = "{d / "wal"}"
  query-log-enabled = false
  trace-logging-enabled = false
[coordinator]
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {"true" if auth else "false"}
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 180.0) -> None:
        """Start ``influxd`` and wait until ``/ping`` answers (``timeout`` is a bound for a busy machine).

        On the first start only, a port taken between the draw and influxd's bind ("address already in use")
        means new ports and another try; a restart keeps its port (clients know it), so it just fails.
        """
        for attempt in range(3):
            try:
                self._start_once(timeout)
            except _PortTaken:
                if self._started_once or attempt == 2:
                    raise
                self._new_ports()
            else:
                self._started_once = True
                return

    def _start_once(self, timeout: float) -> None:
        log_from = self.log.stat().st_size if self.log.exists() else 0
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "-config", str(self.config)], stdout=logf, stderr=logf)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_bytes()[log_from:].decode("utf-8", "replace")
                kind = _PortTaken if "address already in use" in tail else RuntimeError
                raise kind(f"influxd exited with {self.proc.returncode}: {tail[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1.0) as r:
                    if r.status == 204:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"influxd did not answer /ping at {self.url} within {timeout} s (log: {self.log})")

    def stop(self) -> None:
        """Stop ``influxd`` (SIGTERM, then SIGKILL after 60 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(60)
        self.proc = None

    def query(
        self, q: str, db: str = "vibsentry", *, user: str | None = None, password: str | None = None
    ) -> dict:
        """Run InfluxQL through ``/query`` (POST, so it may change things) and return the decoded JSON."""
        import json
        import urllib.parse

        params = {"db": db, "q": q, "epoch": "ns"}
        if user:
            params.update(u=user, p=password or "")
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=60) as r:
            return json.loads(r.read())


def start_influxd(root: Path) -> InfluxdServer:
    """Create and start a server under ``root`` (skips the test when influxd cannot be had)."""
    server = InfluxdServer(root)
    server.start()
    return server


def score_count(url: str, db: str, **credentials: str) -> int:
    """Number of ``vib_score`` points in ``db`` read through the gateway's own reader (0 while unreachable)."""
    from vibsentry.dashboard.store.influx import InfluxReader
    from vibsentry.errors import StoreError

    try:
        r = InfluxReader(url, db=db, **credentials).query("SELECT count(score) FROM vib_score")
    except StoreError:
        return 0
    return int(r[0]["count"]) if r else 0
