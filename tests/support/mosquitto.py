"""A real MQTT broker (Debian's ``mosquitto`` 2.0) for tests and benchmarks.

``MosquittoBroker(tmp)`` writes a config that keeps everything under ``tmp``: persistence on (so a restart
keeps the persistent sessions and their queued QoS 1 messages), an anonymous listener on a free loopback
port and a second one that requires a password (``password_file``, made with ``mosquitto_passwd``).
``stop()`` / ``start()`` restart it on the same ports and data (outage tests); ``kill()`` SIGKILLs it.
The broker limits that would drop messages a slow or absent collector has not taken yet are lifted
(``max_queued_messages 0``), as ``docs/mqtt.md`` asks of a plant broker.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.influxd import free_port
from tests.support.ingest import stop_gateway

USERNAME = "gateway"
PASSWORD = "s3cret-test-only"


def mosquitto_binary() -> str:
    """Path of ``mosquitto``; installs Debian's package when missing and root, else skips the test."""
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.access(cand, os.X_OK):
            return cand
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            "mosquitto not installed (Debian package 'mosquitto'; ./dev.sh setup as root installs it)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mosquitto", "mosquitto-clients"],
        env=env,
        check=False,
        capture_output=True,
        timeout=600,
    )
    if not os.access("/usr/sbin/mosquitto", os.X_OK):
        pytest.skip("could not install Debian package 'mosquitto'")
    return "/usr/sbin/mosquitto"


class MosquittoBroker:
    """One ``mosquitto`` process with its own config, persistence file and log under ``root``."""

    def __init__(self, root: Path, *, autosave_interval_s: int = 1) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.auth_port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.auth_url = f"mqtt://127.0.0.1:{self.auth_port}"
        self.config = self.root / "mosquitto.conf"
        self.log = self.root / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        pwfile = self.root / "passwd"
        pwfile.write_text(f"{USERNAME}:{PASSWORD}\n", encoding="utf-8")
        passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        if os.access(passwd, os.X_OK):
            subprocess.run([passwd, "-U", str(pwfile)], check=True, capture_output=True, timeout=30)
        else:  # pragma: no cover - mosquitto-clients ships it; dev.sh installs both
            pytest.skip("mosquitto_passwd not installed (Debian package 'mosquitto')")
        os.chmod(pwfile, 0o600)
        self.config.write_text(
            # "user": started as root, mosquitto would switch to user "mosquitto", who cannot read tmp.
            f"""user {pwd.getpwuid(os.geteuid()).pw_name}
per_listener_settings true
persistence true
persistence_location {self.root}/
persistence_file mosquitto.db
autosave_interval {autosave_interval_s}
max_queued_messages 0
max_inflight_messages 0
log_dest file {self.log}
log_type error
log_type warning
log_type notice
listener {self.port} 127.0.0.1
allow_anonymous true
listener {self.auth_port} 127.0.0.1
allow_anonymous false
password_file {pwfile}
""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 20.0) -> None:
        """Start the broker and wait until both listeners accept connections."""
        out = open(self.root / "mosquitto.out", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + timeout
        for port in (self.port, self.auth_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.tail()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"mosquitto did not listen on {port} within {timeout} s") from None
                    time.sleep(0.05)

    def tail(self) -> str:
        """The last lines of the broker's log and output (for failure messages)."""
        text = ""
        for p in (self.log, self.root / "mosquitto.out"):
            if p.exists():
                text += p.read_text(errors="replace")[-1500:]
        return text

    def stop(self) -> None:
        """Stop the broker cleanly (SIGTERM: it saves its persistence file), SIGKILL after 10 s."""
        if self.proc is not None:
            stop_gateway(self.proc, timeout=10.0)  # SIGTERM, wait, SIGKILL: the same for any server
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the broker (no final save: it loses what arrived since the last autosave)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_mosquitto(root: Path) -> MosquittoBroker:
    """Create and start a broker under ``root`` (skips the test when mosquitto cannot be had)."""
    broker = MosquittoBroker(root)
    broker.start()
    return broker


def start_collector(
    broker_url: str,
    db: Path,
    *extra: str,
    client_id: str = "test-collector",
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``vibsentry collect`` (the real CLI, its own process) writing the SQLite store ``db``.

    The child gets this environment without any ``VIBSENTRY_*`` variable, plus ``env``. Its status file
    goes to ``db.parent / (client_id + "-data")``.
    """
    import sys

    args = [
        sys.executable,
        "-m",
        "vibsentry",
        "collect",
        "--mqtt",
        broker_url,
        "--store",
        f"sqlite:{db}",
        "--client-id",
        client_id,
        "--data-dir",
        str(db.parent / f"{client_id}-data"),
        *extra,
    ]
    out = open(log or db.parent / f"{client_id}.log", "ab")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    child_env.update(env or {})
    proc = subprocess.Popen(args, stdout=out, stderr=out, env=child_env)
    out.close()
    return proc


def collector_status(db: Path, client_id: str = "test-collector") -> dict:
    """The status file of the collector started by :func:`start_collector` (KeyError-free: {} when absent)."""
    import json

    p = db.parent / f"{client_id}-data" / "collect-status.json"
    try:
        return dict(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}
