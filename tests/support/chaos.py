"""Chaos run of the real gateway (issue K, deliverable 5): a fleet streams while the harness breaks things.

Used by ``tests/gateway/test_chaos.py`` (60 s) and ``benchmarks/bench_chaos.py`` (10 min). The gateway is the real
``vibsentry ingest`` process reading real ptys into the SQLite store (and a real ``influxd`` when one is
given). At random moments, with a seeded RNG, the harness

- SIGKILLs the gateway and starts it again (after the bytes already written were journaled: a serial link
  has no retransmission, so bytes inside a killed process's read buffer are lost by physics, not by the
  gateway; what the harness asserts is that everything journaled is delivered exactly once);
- stops ``influxd`` for a few seconds;
- unplugs a port and plugs a new one in under the same path;
- fills the journal's disk (a tmpfs, root only) with a ballast file, then frees it;
- injects garbage bytes, truncated frames and absurd-but-CRC-valid frames (node clocks beyond 100 years,
  sent by nodes outside the good fleet: the gateway must quarantine them).

The actions come in rounds: each round runs every action this machine can do (no disk fill without a tmpfs,
no outage without influxd) once, in a seeded shuffled order, so a 60 s run always SIGKILLs the gateway. Drawing
each action independently left a 60 s run without a SIGKILL about one time in thirty (a clean-clone CI run hit
it: 8 outages, 2 port swaps, 0 kills). The fleet thread has its own RNG, so the action order does not depend on
how many rounds the fleet managed to send.

At the end every good node's SCORE frames must be in the store exactly once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.ingest import hello, rows, score, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink
from vibsentry import protocol as vp

#: Absurd node clock (beyond the gateway's 100-year limit): such frames must be quarantined.
ABSURD_US = 1 << 62


@dataclass
class ChaosReport:
    """What happened and what the store ended with."""

    sent: int = 0
    stored: int = 0
    missing: int = 0
    duplicated: int = 0
    garbage_bytes: int = 0
    absurd_frames: int = 0
    events: Counter[str] = field(default_factory=Counter)
    influx_scores: int | None = None
    journal_peak_mb: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"good SCORE frames sent {self.sent}, stored {self.stored}, missing {self.missing}, "
            f"duplicated {self.duplicated}",
            f"garbage bytes {self.garbage_bytes}, absurd frames {self.absurd_frames}",
            "events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())),
            f"journal folder before each disk fill: at most {self.journal_peak_mb:.1f} MB",
        ]
        if self.influx_scores is not None:
            out.append(f"influxd scores {self.influx_scores}")
        return out


class _Node:
    def __init__(self, node_id: int, link: PtyLink) -> None:
        self.id = node_id
        self.link = link
        self.seq = 0
        self.t_us = 1000
        self.sent: list[int] = []

    def next_frames(self, n: int) -> list[bytes]:
        out = []
        for _ in range(n):
            self.seq += 1
            self.t_us += 85_333
            out.append(score(self.id, self.seq, self.t_us))
            self.sent.append(self.seq)
        return out


def _journaled(data: Path) -> int:
    """Messages ever appended to the journal (AUTOINCREMENT's counter survives compaction and restarts)."""
    got = rows(data / "journal.sqlite", "SELECT seq FROM sqlite_sequence WHERE name = 'messages'")
    return int(got[0][0] or 0) if got else 0


class Chaos:
    """One chaos run; see the module docstring.

    Parameters
    ----------
    root : Path
        Scratch folder (ptys, store, logs; the journal lives on a tmpfs under it when root).
    seed : int
    n_nodes, n_ports : int
        Good nodes, spread over ``n_ports`` ptys.
    influx : object with ``url``, ``stop()``, ``start()`` and ``query(...)``, optional
        A running ``influxd`` (tests.support.influxd.InfluxdServer) to deliver to as a second store.
    """

    def __init__(
        self, root: Path, *, seed: int = 1, n_nodes: int = 6, n_ports: int = 3, influx: Any = None
    ) -> None:
        self.root = Path(root)
        self.rng = random.Random(seed)  # the fleet thread's: frame counts, injections
        self.plan_rng = random.Random(seed ^ 0x5EED)  # the main thread's: action order and pauses
        self.influx = influx
        self.db = self.root / "store.sqlite"
        self.data = self.root / "journal"
        self.data.mkdir(parents=True, exist_ok=True)
        self.tmpfs = False
        if os.geteuid() == 0 and shutil.which("mount"):
            r = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(self.data)], capture_output=True
            )
            self.tmpfs = r.returncode == 0
        self.links = [PtyLink(self.root / f"port{i}") for i in range(n_ports)]
        for ln in self.links:
            ln.open()
        self.nodes = [_Node(10 + i, self.links[i % n_ports]) for i in range(n_nodes)]
        self.report = ChaosReport()
        self.gw: subprocess.Popen[bytes] | None = None
        self._log = self.root / "gateway.log"
        self._lock = threading.Lock()  # one writer per pty at a time, and no writes while a port is swapped

    # -- the gateway ----------------------------------------------------------------------------------
    def _start(self) -> None:
        extra = ["--store", f"sqlite:{self.db}", "--flush-ms", "100"]
        if self.influx is not None:
            extra += ["--influx-url", self.influx.url, "--db", "chaos"]
        self.gw = start_gateway([str(ln.link) for ln in self.links], self.data, *extra, log=self._log)

    # -- the fleet ------------------------------------------------------------------------------------
    def _write(self, link: PtyLink, data: bytes) -> None:
        link.write(data, timeout=120)

    def _send_round(self) -> None:
        with self._lock:
            for nd in self.nodes:
                frames = nd.next_frames(self.rng.randint(1, 4))
                self._write(nd.link, b"".join(frames))
                self._good_written += len(frames)
                self.report.sent += len(frames)

    def _inject(self) -> None:
        with self._lock:
            link = self.rng.choice(self.links)
            kind = self.rng.choice(("garbage", "truncated", "absurd"))
            if kind == "garbage":
                junk = bytes(self.rng.randrange(1, 256) for _ in range(self.rng.randrange(1, 200))) + b"\0"
                self.report.garbage_bytes += len(junk)
                self._write(link, junk)
            elif kind == "truncated":
                f = score(99, 1, 1)
                self._write(link, f[: len(f) // 2] + b"\0")
                self.report.garbage_bytes += len(f) // 2 + 1
            else:
                node = self.rng.randrange(900, 910)
                msg = vp.Score(float("nan"), 1.0, 0, -1, 0.0, 0.0, 0.0, 0)
                self._write(
                    link,
                    vp.encode(msg, node_id=node, seq=self.rng.randrange(1 << 32), timestamp_us=ABSURD_US),
                )
                self.report.absurd_frames += 1
            self.report.events[f"inject_{kind}"] += 1

    # -- chaos actions --------------------------------------------------------------------------------
    def _kill_gateway(self) -> None:
        with self._lock:
            self._settle()
            assert self.gw is not None
            self.gw.send_signal(signal.SIGKILL)
            self.gw.wait(10)
        time.sleep(self.plan_rng.uniform(0.2, 1.5))
        self._start()
        self.report.events["gateway_sigkill"] += 1

    def _settle(self) -> None:
        """Everything written so far is journaled (good frames) or quarantined (absurd ones)."""
        good, absurd = self._good_written, self.report.absurd_frames

        def done() -> bool:
            return _journaled(self.data) >= good and self._quarantined() >= absurd

        try:
            wait_for(done, timeout=180, what="all written frames journaled or quarantined")
        except AssertionError as exc:
            tail = self._log.read_text()[-3000:] if self._log.exists() else ""
            raise AssertionError(
                f"{exc}: journaled {_journaled(self.data)}/{good}, quarantined {self._quarantined()}/{absurd}, "
                f"gateway {'running' if self.gw and self.gw.poll() is None else 'dead'}; log tail:\n{tail}"
            ) from None

    def _quarantined(self) -> int:
        got = rows(self.data / "journal.sqlite", "SELECT count(*) FROM quarantine")
        return int(got[0][0]) if got else 0

    def _swap_port(self) -> None:
        with self._lock:
            self._settle()
            self.plan_rng.choice(self.links).recreate()
        self.report.events["port_recreated"] += 1

    def _influx_outage(self) -> None:
        if self.influx is None:
            return
        self.influx.stop()
        time.sleep(self.plan_rng.uniform(1.0, 4.0))
        self.influx.start()
        self.report.events["influxd_outage"] += 1

    def _fill_disk(self) -> None:
        if not self.tmpfs:
            return
        ballast = self.data / "ballast"
        st = os.statvfs(self.data)
        used = shutil.disk_usage(self.data).used
        self.report.journal_peak_mb = max(self.report.journal_peak_mb, used / 1e6)
        try:
            with open(ballast, "wb") as f:
                f.truncate(0)
                free = st.f_bavail * st.f_frsize
                chunk = b"\0" * (1 << 20)
                while free > 0:
                    n = min(free, len(chunk))
                    try:
                        f.write(chunk[:n])
                        f.flush()
                    except OSError:
                        break
                    free -= n
            time.sleep(self.plan_rng.uniform(1.0, 3.0))
        finally:
            ballast.unlink(missing_ok=True)
        self.report.events["journal_disk_full"] += 1

    # -- the run --------------------------------------------------------------------------------------
    def run(self, duration_s: float) -> ChaosReport:
        """Stream and break things for ``duration_s`` seconds, then let the gateway drain; returns the report."""
        self._good_written = 0
        self._start()
        with self._lock:
            for nd in self.nodes:
                self._write(nd.link, hello(nd.id, 0, 1000))
                self._good_written += 1
        stop = threading.Event()
        errors: list[BaseException] = []

        def fleet() -> None:
            try:
                while not stop.is_set():
                    self._send_round()
                    if self.rng.random() < 0.3:
                        self._inject()
                    time.sleep(0.02)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=fleet, daemon=True)
        t.start()
        actions = [self._kill_gateway, self._swap_port]
        if self.influx is not None:
            actions.append(self._influx_outage)
        if self.tmpfs:
            actions.append(self._fill_disk)
        deadline = time.monotonic() + duration_s
        todo: list[Any] = []
        rounds = 0
        try:
            # The first round always completes, even past the deadline on a slow machine: every run does each
            # action at least once.
            while (time.monotonic() < deadline or (rounds == 1 and todo)) and not errors:
                if not todo:
                    todo = list(actions)
                    self.plan_rng.shuffle(todo)
                    rounds += 1
                time.sleep(self.plan_rng.uniform(2.0, 5.0))
                todo.pop()()
        finally:
            stop.set()
            t.join(120)
        if errors:
            raise errors[0]
        return self._finish()

    def _finish(self) -> ChaosReport:
        want = {(nd.id, s) for nd in self.nodes for s in nd.sent}
        good_ids = {nd.id for nd in self.nodes}

        def stored() -> list[tuple[int, int]]:
            got = rows(self.db, "SELECT node, seq FROM scores")
            return [(n, s) for n, s in got if n in good_ids]

        try:
            # A bound, not a timing: after the last influxd outage or SIGKILL the gateway's store backoff and
            # replay take a while on a loaded 2-core machine.
            try:
                wait_for(lambda: len(set(stored())) >= len(want), timeout=300, what="every good frame stored")
            except AssertionError as exc:
                got = set(stored())
                tail = self._log.read_text()[-3000:] if self._log.exists() else ""
                raise AssertionError(
                    f"{exc}: stored {len(got)} of {len(want)}, e.g. missing {sorted(want - got)[:5]}; gateway "
                    f"{'running' if self.gw and self.gw.poll() is None else 'dead'}; log tail:\n{tail}"
                ) from None
            if self.influx is not None:
                from tests.support.influxd import score_count

                wait_for(
                    lambda: score_count(self.influx.url, "chaos") >= len(want),
                    timeout=300,
                    what="every good frame in influxd",
                )
        finally:
            if self.gw is not None:
                stop_gateway(self.gw, timeout=180)
        final = stored()
        c = Counter(final)
        r = self.report
        r.stored = len(set(final))
        r.missing = len(want - set(final))
        r.duplicated = sum(v - 1 for v in c.values() if v > 1)
        if self.influx is not None:
            from tests.support.influxd import score_count

            r.influx_scores = score_count(self.influx.url, "chaos")
        return r

    def close(self) -> None:
        """Stop the gateway, close the ptys, unmount the tmpfs."""
        if self.gw is not None:
            stop_gateway(self.gw)
        for ln in self.links:
            ln.close()
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.data)], check=False)
