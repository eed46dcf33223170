"""Fill real SQLite stores for dashboard tests, through the gateway's own store writer."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore

SECOND = 1_000_000_000
FEATURE_HASH = "ab" * 32
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def run_view(view: str, timeout: float = 180.0, /, **params: str) -> Any:
    """The dashboard app run once in Streamlit's AppTest at ``?view=<view>&<params>``; asserts no exception.

    ``timeout`` (s, positional so that any query parameter name stays free) bounds each script run (AppTest's
    ``default_timeout``). Returns the ``AppTest``.
    """
    from streamlit.testing.v1 import AppTest  # the dashboard extra: only the tests that draw a page need it

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["view"] = view
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def fill_store(path: Path, **kwargs: Any) -> None:
    """Write :func:`make_records` into a SQLite store at ``path`` with the gateway's own store writer."""
    store = SQLiteStore(path)
    try:
        store.write(make_records(**kwargs))
    finally:
        store.close()


def make_records(
    *,
    t0_ns: int,
    n_nodes: int = 3,
    seconds: int = 120,
    faulty: int | None = 2,
    fault_at_s: int = 60,
    mismatch_node: int | None = None,
) -> list[Record]:
    """HELLO, one score per second, alarms and a FEATURES message per node, as the gateway stores them.

    Node ``faulty`` scores above threshold from ``fault_at_s`` on: the gateway stores an ALARM raise three
    seconds later (k-of-n persistence) and the alarm stays up.
    """
    rng = np.random.default_rng(7)
    recs: list[Record] = []
    for node in range(1, n_nodes + 1):
        machine = f"pump-{node}"
        mismatch = node == mismatch_node
        recs.append(
            Record(
                "hello",
                node,
                t0_ns,
                0,
                {
                    "fw_version": "1.2.3",
                    "feature_hash": "cd" * 32 if mismatch else FEATURE_HASH,
                    "model_hash": "ef" * 32,
                    "uptime_ms": 0,
                    "machine": machine,
                    "counters": {},
                    "hash_mismatch": mismatch,
                    "port": "/dev/pts/9",
                },
                machine=machine,
            )
        )
        state = 0
        for i in range(seconds):
            ts = t0_ns + (i + 1) * SECOND
            bad = node == faulty and i >= fault_at_s
            score = float(2.0 + rng.random()) if bad else float(0.3 + 0.2 * rng.random())
            if bad and i == fault_at_s + 2:
                state = 1
                recs.append(
                    Record(
                        "alarm", node, ts, i, {"event": 1, "score": score, "threshold": 1.0}, machine=machine
                    )
                )
            recs.append(
                Record(
                    "score",
                    node,
                    ts,
                    i + 1,
                    {
                        "score": score,
                        "threshold": 1.0,
                        "alarm_state": state,
                        "cls": None,
                        "rms": 0.1,
                        "peak": 0.4,
                        "velocity_rms": 5.0 if bad else 1.0,
                        "hash_mismatch": mismatch,
                    },
                    machine=machine,
                )
            )
        vals = tuple(float(v) for v in np.linspace(-3, 1, 40))
        recs.append(
            Record(
                "features", node, t0_ns + seconds * SECOND, seconds + 1, {"kind": "logmel", "values": vals}
            )
        )
    return recs


def raw_capture(
    node: int, cid: int, t_ns: int, x: np.ndarray, *, first_seq: int | None = None, **over: object
) -> list[Record]:
    """RAW records of one capture in three chunks, as the gateway stores them.

    ``x`` (n,) samples, stored as float32 with scale 1 at 12 kHz; chunk ``i`` has time ``t_ns + i`` ns and
    sequence number ``first_seq + i`` (default ``900 + 10 * cid``); ``over`` per-chunk fields (a list value gives
    one value per chunk).
    """
    seq0 = 900 + cid * 10 if first_seq is None else first_seq
    chunks = np.array_split(x.astype("<f4"), 3)
    out = []
    for i, c in enumerate(chunks):
        f: dict[str, object] = {
            "capture_id": cid,
            "chunk_index": i,
            "n_chunks": 3,
            "sample_rate": 12000.0,
            "channels": 1,
            "sample_format": "f32",
            "scale": 1.0,
            "data": c.tobytes(),
        }
        f.update({k: (v[i] if isinstance(v, list) else v) for k, v in over.items()})
        out.append(Record("raw", node, t_ns + i, seq0 + i, f))
    return out


def fill_big_store(path: Path, *, t0_ns: int, n_nodes: int = 100, days: int = 7, every_s: int = 120) -> int:
    """A store of ``n_nodes`` x ``days`` of scores, one every ``every_s`` seconds, written in bulk SQL.

    Returns the number of score rows. The rollup trigger of the real schema fills ``scores_1m``.
    """
    SQLiteStore(path).close()  # creates the schema exactly as the gateway does
    n = days * 86400 // every_s
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO nodes (node, machine, first_seen_ns, last_seen_ns, last_score, last_threshold,"
            " last_alarm_state, last_velocity_rms) VALUES (?,?,?,?,?,?,?,?)",
            [(k, f"m{k}", t0_ns, t0_ns + n * every_s * SECOND, 0.5, 1.0, 0, 1.0) for k in range(n_nodes)],
        )
        for k in range(n_nodes):
            ts = t0_ns + np.arange(n, dtype=np.int64) * every_s * SECOND
            conn.executemany(
                "INSERT INTO scores (node, ts_ns, seq, score, threshold, alarm_state, velocity_rms, rms)"
                " VALUES (?,?,?,?,1.0,0,1.0,0.1)",
                ((k, int(t), i, 0.5) for i, t in enumerate(ts)),
            )
    conn.close()
    return n * n_nodes


# ------------------------------------------------------------------------------------------ demo runs

ROOT = Path(__file__).resolve().parents[2]


def demo_bundle_dir() -> Path:
    """A demo bundle trained once by the demo's own code and cached under ``build/`` (keyed by the sources
    that shape it), so the suite trains at most once per change of training code, features or sample data."""
    import fcntl
    import hashlib

    from vibsentry.demo import DemoOptions, ensure_bundle

    h = hashlib.sha256()
    sources = [p for d in ("training", "dsp", "runtime", "codegen") for p in ROOT.glob(f"{d}/*.py")]
    for f in sorted([*sources, ROOT / "sample_data" / "manifest.csv"]):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    workdir = ROOT / "build" / "demo_bundle" / h.hexdigest()[:16]
    workdir.mkdir(parents=True, exist_ok=True)
    # Several test processes (or developers' runs) may want the bundle at once: one trains, the others wait
    # and then find it cached.
    with open(workdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        bundle = ensure_bundle(DemoOptions(workdir=workdir), say=lambda _line: None)
    assert bundle is not None
    return bundle


class DemoProcess:
    """``vibsentry demo`` run as a real child process, its stdout read line by line."""

    def __init__(self, workdir: Path, *args: str) -> None:
        import subprocess
        import sys

        self.workdir = workdir
        self.lines: list[str] = []
        self.children: set[int] = set()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vibsentry", "demo", "--workdir", str(workdir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )

    def wait_for_line(self, needle: str, timeout_s: float) -> str:
        """Read output until a line contains ``needle``; fails with the output so far on exit or timeout."""
        import select

        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.children.update(child_pids(self.proc.pid))
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if line:
                    self.lines.append(line.rstrip("\n"))
                    if needle in line:
                        return line
                    continue
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"demo never printed {needle!r}; output:\n" + "\n".join(self.lines))

    def interrupt(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C (SIGINT) the demo and wait for it; returns its exit status."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout_s)
        assert self.proc.stdout is not None
        self.lines += self.proc.stdout.read().splitlines()
        return rc

    def report(self) -> str:
        """The demo's output and the end of each child's log, for an assertion message."""
        parts = ["demo output:", *self.lines[-60:]]
        for log in sorted((self.workdir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            parts += [f"--- {log.name} (last {len(tail)} lines)", *tail]
        return "\n".join(parts)

    def kill(self) -> None:
        """Cleanup for a failed test: Ctrl-C first (the demo stops its own children), then SIGKILL for the
        demo and every child seen, since they run in their own process groups and would outlive it."""
        import signal
        import subprocess

        self.children.update(child_pids(self.proc.pid))
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.children | set(processes_mentioning(str(self.workdir))):
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _procs() -> Iterator[tuple[int, int, str, str]]:
    """``(pid, ppid, state, command line)`` of every process, from /proc."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        yield int(d.name), int(fields[1]), fields[0], cmd


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    return [pid for pid, _pp, state, cmd in _procs() if text in cmd and state != "Z"]


def child_pids(pid: int) -> list[int]:
    """Pids of the live children of ``pid``."""
    return [p for p, ppid, state, _cmd in _procs() if ppid == pid and state != "Z"]


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
