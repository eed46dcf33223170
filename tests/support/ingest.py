"""Helpers for gateway tests: frames with known content, the real ``vibsentry ingest`` process, store reads."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.pty import PtyLink
from vibsentry import protocol as vp

FEATURE_HASH = bytes(range(32))


def hello(node: int, seq: int, t_us: int, *, boot: int = 1, feature_hash: bytes = FEATURE_HASH) -> bytes:
    """A HELLO frame."""
    msg = vp.Hello("fw-test", f"m{node}", 12000.0, feature_hash, bytes(32), boot)
    return vp.encode(msg, node_id=node, seq=seq, timestamp_us=t_us)


def score(node: int, seq: int, t_us: int, value: float | None = None) -> bytes:
    """A SCORE frame whose score encodes (node, seq) so a test can tell every message apart."""
    s = float(node * 100000 + seq) / 1000.0 if value is None else value
    msg = vp.Score(s, 1.0, 0, -1, 0.01, 0.05, 1.5, seq)
    return vp.encode(msg, node_id=node, seq=seq, timestamp_us=t_us)


def score_stream(
    node: int, n: int, *, start_seq: int = 1, t0_us: int = 1_000_000, dt_us: int = 85_333
) -> list[bytes]:
    """``n`` consecutive SCORE frames of ``node``."""
    return [score(node, start_seq + i, t0_us + (start_seq + i) * dt_us) for i in range(n)]


def start_gateway(
    ports: list[str], data_dir: Path, *extra: str, log: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``vibsentry ingest`` (the real CLI, its own process) on ``ports`` with ``data_dir``.

    The child gets this environment without any ``VIBSENTRY_*`` variable, plus ``env``.
    """
    args = [sys.executable, "-m", "vibsentry", "ingest", "--data-dir", str(data_dir)]
    for p in ports:
        args += ["--port", p]
    args += list(extra)
    out = open(log or data_dir.parent / "ingest.log", "ab")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    child_env.update(env or {})
    proc = subprocess.Popen(args, stdout=out, stderr=out, env=child_env)
    out.close()
    return proc


def stop_gateway(proc: subprocess.Popen[bytes], timeout: float = 180.0) -> int:
    """SIGTERM (the gateway drains its journal) and wait; returns the exit code.

    The bound is generous: draining on 2 busy cores can take tens of seconds, and a SIGKILL after the bound
    shows up as a failed exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(60)
    return int(proc.returncode)


@contextlib.contextmanager
def gateway_on_pty(
    port: Path, data_dir: Path, *extra: str, log: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[PtyLink, subprocess.Popen[bytes]]]:
    """A node's end of a pty (``PtyLink(port)``) with ``vibsentry ingest`` (``start_gateway``) reading it.

    Yields ``(link, gateway process)``. On the way out the gateway is stopped if it still runs, before the pty
    closes; that exit code is not checked, so a test that cares asserts ``stop_gateway(gw) == 0`` itself.
    """
    with PtyLink(port) as link:
        gw = start_gateway([str(link.link)], data_dir, *extra, log=log, env=env)
        try:
            yield link, gw
        finally:
            stop_gateway(gw)


@contextlib.contextmanager
def simulated_node_and_gateway(
    link: Path, data_dir: Path, simulate: list[str], *, stderr: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """``vibsentry simulate --create-pty link *simulate`` and, once its pty exists, ``vibsentry ingest`` on it.

    The simulator gets this environment without any ``VIBSENTRY_*`` variable; its stdout is discarded, its
    stderr goes to the file ``stderr`` (discarded when None). The gateway is ``start_gateway([link],
    data_dir)``, started once the pty appears (60 s bound). Yields ``(simulator, gateway)``; on the way out a
    simulator still running is killed and the gateway stopped (exit codes not checked).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    sink = open(stderr, "wb") if stderr is not None else contextlib.nullcontext(subprocess.DEVNULL)
    with sink as err:  # the child keeps its own descriptor
        sim = subprocess.Popen(
            [sys.executable, "-m", "vibsentry", "simulate", "--create-pty", str(link), *simulate],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    gw = None
    try:
        wait_for(link.exists, 60, "the simulator's pty")
        gw = start_gateway([str(link)], data_dir)
        yield sim, gw
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait(10)
        if gw is not None:
            stop_gateway(gw)


def simulate_into_ingest(link: Path, simulate: list[str], ingest: list[str]) -> None:
    """Run ``vibsentry simulate --create-pty link *simulate`` to its end while ``vibsentry ingest --port link
    *ingest`` reads the pty, then stop the gateway with SIGTERM so it delivers everything it journaled.

    Both children inherit this environment and this terminal. Asserts that simulate exits 0 within 120 s and
    ingest exits 0 within 60 s of the SIGTERM; whatever still runs on the way out is killed.
    """
    vs = [sys.executable, "-m", "vibsentry"]
    sim = subprocess.Popen([*vs, "simulate", "--create-pty", str(link), *simulate])
    gw = None
    try:
        deadline = time.monotonic() + 60
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        gw = subprocess.Popen([*vs, "ingest", "--port", str(link), *ingest])
        rc = sim.wait(120)
        assert rc == 0, f"vibsentry simulate exited {rc}"
        time.sleep(2.0)  # the last frames cross the pty and reach the journal
        gw.send_signal(signal.SIGTERM)  # delivers everything journaled, then exits
        rc = gw.wait(60)
        assert rc == 0, f"vibsentry ingest exited {rc} after SIGTERM"
    finally:
        for p in (sim, gw):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def wait_for(pred: Callable[[], bool], timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``pred`` every 50 ms until true; AssertionError naming ``what`` after ``timeout`` s.

    ``timeout`` is a bound for a loaded CI machine (2 cores at load 2-4), never a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (sqlite3.OperationalError, OSError, ValueError, KeyError):
            pass  # not there yet (file being created or replaced)
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Run ``sql`` on the SQLite store at ``db`` (empty list while it does not exist yet)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def score_keys(db: Path) -> list[tuple[int, int]]:
    """Every stored SCORE as (node, seq), in time order (duplicates would appear twice)."""
    return [(n, s) for n, s in rows(db, "SELECT node, seq FROM scores ORDER BY node, ts_ns")]
