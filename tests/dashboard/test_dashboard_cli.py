"""`vibsentry dashboard` as a user starts it: serves the app, refuses a busy port, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.browser import free_port
from tests.support.dashboard import SECOND, alive, child_pids, fill_store


def test_serves_the_app_and_ctrl_c_stops_streamlit(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    fill_store(store, t0_ns=time.time_ns() - 125 * SECOND)
    port = free_port()
    servers: list[int] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibsentry", "dashboard", "--store", f"sqlite:{store}", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # Streamlit's own banner comes first; ours once the health check answers
            seen.append(line)
            if line.startswith("dashboard: "):
                break
        assert seen[-1].startswith(f"dashboard: http://localhost:{port}/"), seen
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.read() == b"ok"
        servers += child_pids(proc.pid)
        assert len(servers) == 1
        # a second dashboard on the same port is refused with one line, not a confusing success
        busy = subprocess.run(
            [sys.executable, "-m", "vibsentry", "dashboard", "--store", str(store), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 2 and f"--port {port}: already in use" in busy.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            for pid in servers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)  # its own session: it would outlive a killed parent
    deadline = time.monotonic() + 10
    while any(alive(p) for p in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in servers), "streamlit outlived 'vibsentry dashboard'"
    from vibsentry.process import check_port_free

    check_port_free(port)  # free again: a new dashboard can start at once


def test_missing_store_is_one_line_exit_1(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vibsentry", "dashboard", "--store", f"sqlite:{tmp_path / 'x.sqlite'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "x.sqlite" in r.stderr


def test_streamlit_dies_with_a_killed_dashboard_command(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    fill_store(store, t0_ns=time.time_ns() - 125 * SECOND)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibsentry", "dashboard", "--store", str(store), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    servers: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("dashboard: "):
                break
        servers += child_pids(proc.pid)
        assert len(servers) == 1
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 15
        while any(alive(p) for p in servers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in servers if alive(p)], "streamlit outlived a SIGKILLed 'vibsentry dashboard'"
    finally:
        for pid in servers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
