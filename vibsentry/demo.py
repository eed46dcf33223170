"""The one-command demo: bundle -> simulated nodes over real ptys -> ``vibsentry ingest`` -> SQLite -> dashboard.

What runs (each a child process in its own process group, so stopping the demo leaves nothing behind):

1. a model bundle: ``--bundle DIR``, else the cached ``<workdir>/bundle``, else one trained once on
   ``sample_data/manifest.csv`` (about a minute or two) and cached there;
2. two ``vibsentry simulate`` processes, each creating a pty: machine ``pump`` (half the nodes, healthy
   ``m1_normal_c.wav``; the second pump gets the ``m1_outer_race_sev050.wav`` bearing fault after
   ``--fault-after`` seconds) and machine ``fan`` (the other half, healthy ``m2_normal_c.wav``). A simulate
   run covers :data:`SEGMENT_S` seconds of node time (the simulator precomputes its signal); the demo starts
   the next segment when one ends, so it runs for as long as you like (the faulty pump stays faulty);
3. ``vibsentry ingest`` reading both ptys into ``<workdir>/run/vibsentry.sqlite`` (a fresh store per run),
   checking every node's feature_hash against the bundle;
4. the dashboard on ``--port`` (8501).

Ctrl-C (SIGINT) or SIGTERM stops every child (SIGTERM to its group, SIGKILL after a few seconds).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibsentry.errors import UsageError, VibsentryError
from vibsentry.fileio import write_atomic
from vibsentry.process import check_port_free, spawn

#: Node seconds one simulate process covers before the demo starts the next segment.
SEGMENT_S = 600.0
ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "sample_data"
HEALTHY = {"pump": "synthetic/m1_normal_c.wav", "fan": "synthetic/m2_normal_c.wav"}
FAULT = "synthetic/m1_outer_race_sev050.wav"
#: Shaft speeds of those recordings (sample_data/manifest.csv); synth draws them with its default bearing, the
#: 6205-2RS. The gateway and the dashboard need them to diagnose a 1 s alarm capture (docs/diagnostics.md).
MACHINE_RPM = {"pump": 1797, "fan": 1480}


class DemoError(VibsentryError):
    """A part of the demo failed to start or died; the message names it and its log file."""


@dataclass(frozen=True)
class DemoOptions:
    """Options of :func:`run_demo`.

    Parameters
    ----------
    port : int
        Dashboard HTTP port.
    address : str
        Dashboard listen address.
    duration_s : float or None
        Stop after this many seconds (None: until Ctrl-C).
    fault_after_s : float
        Node seconds after which the faulty pump gets its bearing fault.
    nodes : int
        Number of simulated nodes (2..16); node 2 is the faulty one.
    workdir : Path
        Cache and run folder (bundle, store, journal, logs).
    bundle : Path or None
        Use this bundle instead of the cached/trained one.
    train : bool
        Train a bundle when none is cached; False runs the nodes on their baseline scorer instead.
    speed : float
        Node seconds per wall second.
    dashboard : bool
        Serve the dashboard (tests and benchmarks may not need it).
    firmware : bool
        Run the node firmware instead of simulated nodes: pump-1 is firmware_stm32 on QEMU netduinoplus2 (it
        gets the fault), fan-2 is firmware_rv32 on QEMU virt, both built with the bundle's model and fed the
        recordings by the replayer (:mod:`vibsentry.nodes.qemu`); ``nodes`` is then ignored (two nodes).
    """

    port: int = 8501
    address: str = "127.0.0.1"
    duration_s: float | None = None
    fault_after_s: float = 60.0
    nodes: int = 4
    workdir: Path = Path(".vibsentry") / "demo"
    bundle: Path | None = None
    train: bool = True
    speed: float = 1.0
    dashboard: bool = True
    firmware: bool = False

    def __post_init__(self) -> None:
        if not 2 <= self.nodes <= 16:
            raise UsageError(f"--nodes {self.nodes!r}: must be 2..16")
        if self.duration_s is not None and not self.duration_s > 0:
            raise UsageError(f"--duration {self.duration_s!r}: must be a positive number of seconds")
        if not self.fault_after_s >= 0:
            raise UsageError(f"--fault-after {self.fault_after_s!r}: must be >= 0 seconds")
        if not 0 < self.speed <= 100:
            raise UsageError(f"--speed {self.speed!r}: must be in (0, 100]")
        if not 0 < self.port < 65536:
            raise UsageError(f"--port {self.port!r}: must be 1..65535")


def _vibsentry(*args: str) -> list[str]:
    return [sys.executable, "-m", "vibsentry", *args]


def ensure_bundle(opts: DemoOptions, say: Callable[[str], None] = print) -> Path | None:
    """The bundle the demo uses: ``opts.bundle``, the cached one, or a freshly trained one (None: baseline)."""
    if opts.bundle is not None:
        if not (opts.bundle / "bundle.json").is_file():
            raise UsageError(f"--bundle {str(opts.bundle)!r}: no bundle.json there")
        return opts.bundle
    cached = opts.workdir / "bundle"
    stale = False
    if (cached / "bundle.json").is_file():
        from vibsentry.dsp import FeatureParams
        from vibsentry.errors import BundleError
        from vibsentry.runtime.bundle import load_bundle

        try:
            cached_hash: str | None = load_bundle(cached).params.feature_hash
            why = "was trained for another feature contract"
        except BundleError as exc:
            cached_hash, why = None, f"is unusable ({exc})"
        if cached_hash == FeatureParams().feature_hash:
            say(f"demo: using the cached bundle {cached}")
            return cached
        # A stale bundle would make every node look mismatched (or fail to load): train a fresh one.
        say(f"demo: cached bundle {cached} {why}: retraining")
        stale = True
    if not opts.train:
        say("demo: no bundle and --no-train: nodes score with a baseline fitted on their first 10 s")
        return None
    manifest = SAMPLE_DATA / "manifest.csv"
    if not manifest.is_file():
        raise DemoError(f"no bundle cached and no {manifest} to train one (run from a vibsentry checkout)")
    try:
        from vibsentry.training.api import train_bundle
    except ImportError as exc:
        # The demo must still run where only the dashboard extra is installed (no TensorFlow).
        say(f"demo: cannot train a bundle ({exc}): nodes score with a baseline fitted on their first 10 s")
        return None
    say(f"demo: training a bundle on {manifest} (once; cached in {cached}) ...")
    t0 = time.monotonic()
    cached.parent.mkdir(parents=True, exist_ok=True)
    train_bundle(manifest, cached, quiet=True, overwrite=stale)
    say(f"demo: bundle trained in {time.monotonic() - t0:.0f} s")
    return cached


class Demo:
    """The running demo: start, supervise, stop. Call stop() in a ``finally`` so children never outlive it."""

    def __init__(self, opts: DemoOptions, say: Callable[[str], None] = print) -> None:
        self.opts = opts
        self.say = say
        self.run_dir = opts.workdir / "run"
        self.logs = opts.workdir / "logs"
        self.store = self.run_dir / "vibsentry.sqlite"
        self.bundle: Path | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._segments: dict[str, int] = {}
        self._seen_alarms: set[tuple[int, int]] = set()
        self._engine = "auto"
        self.t0 = time.monotonic()

    # ------------------------------------------------------------------ lifecycle

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        try:
            proc = spawn(argv, env=env, log=log.fileno())
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def _link(self, machine: str) -> Path:
        return self.run_dir / f"pty-{machine}"

    def _node_ids(self) -> dict[str, list[int]]:
        half = (self.opts.nodes + 1) // 2
        return {"pump": list(range(1, half + 1)), "fan": list(range(half + 1, self.opts.nodes + 1))}

    def _machine_names(self, machine: str) -> list[str]:
        """Names the nodes of ``machine`` announce in HELLO (the gateway looks their rpm and bearing up by it):
        the firmware's is the name as given, the simulator's :func:`~vibsentry.nodes.virtual.node_machine_name`."""
        if self.opts.firmware:
            return [machine]
        from vibsentry.nodes.virtual import node_machine_name

        ids = self._node_ids()[machine]
        return [node_machine_name(machine, len(ids), nid) for nid in ids]

    def _start_sim(self, machine: str) -> None:
        seg = self._segments.get(machine, 0)
        ids = self._node_ids()[machine]
        argv = [
            "simulate",
            "--create-pty",
            str(self._link(machine)),
            "--nodes",
            str(len(ids)),
            "--node-id",
            str(ids[0]),
            "--machine",
            machine,
            "--recording",
            str(SAMPLE_DATA / HEALTHY[machine]),
            "--duration",
            str(SEGMENT_S),
            "--speed",
            repr(self.opts.speed),
            "--status-every",
            "5",
            # A routine 1 s capture every 30 s besides the alarm's (which ends at the raise, so it holds
            # mostly the signal from before a sudden fault): the gateway diagnoses each (docs/diagnostics.md).
            "--raw-every",
            "30",
            "--seed",
            str(seg),
            "--quiet",
        ]
        if machine == "pump":
            # The fault stays after the first segment: a failing bearing does not heal on its own.
            at = self.opts.fault_after_s - seg * SEGMENT_S
            argv += ["--fault-recording", str(SAMPLE_DATA / FAULT), "--fault-nodes", str(ids[-1])]
            argv += ["--inject-fault-at", repr(max(at, 0.0))]
        if self.bundle is not None:
            argv += ["--bundle", str(self.bundle), "--engine", self._engine]
        self._segments[machine] = seg + 1
        self._spawn(f"simulate-{machine}", _vibsentry(*argv))

    def _firmware_nodes(self) -> dict[str, tuple[str, int]]:
        """machine -> (QEMU target, node id) of ``--firmware``."""
        return {"pump": ("stm32", 1), "fan": ("rv32", 2)}

    def _build_firmware(self, bundle: Path) -> None:
        """Build both firmware images with the bundle's model (make; seconds when cached)."""
        from vibsentry.nodes import qemu

        self._images: dict[str, Path] = {}
        for target, _nid in self._firmware_nodes().values():
            t = qemu.TARGETS[target]
            reason = qemu.missing_tools(t)
            if reason:
                raise DemoError(f"--firmware: {reason}")
            t0 = time.monotonic()
            try:
                self._images[target] = qemu.build_image(t, bundle=bundle)
            except VibsentryError as exc:
                raise DemoError(f"--firmware: {exc}") from None
            self.say(f"demo: {t.directory} built with the bundle's model in {time.monotonic() - t0:.0f} s")

    def _start_firmware(self, machine: str) -> None:
        target, nid = self._firmware_nodes()[machine]
        seg = self._segments.get(machine, 0)
        argv = [
            sys.executable, "-m", "vibsentry.nodes.qemu", "--target", target,
            "--image", str(self._images[target]), "--node-id", str(nid), "--machine", machine,
            "--create-pty", str(self._link(machine)), "--recording", str(SAMPLE_DATA / HEALTHY[machine]),
            "--duration", str(SEGMENT_S), "--speed", repr(self.opts.speed), "--status-every", "5",
            "--workdir", str(self.run_dir / f"qemu-{machine}"),
        ]  # fmt: skip
        if machine == "pump":
            at = self.opts.fault_after_s - seg * SEGMENT_S
            argv += ["--fault-recording", str(SAMPLE_DATA / FAULT), "--fault-after", repr(max(at, 0.0))]
        self._segments[machine] = seg + 1
        self._spawn(f"simulate-{machine}", argv)

    def _build_node_core(self, bundle: Path) -> None:
        """Build the firmware's node core (vs_node) for the bundle now: simulate runs it through ctypes, and a
        first build inside the simulators would hold up the first segment. Falls back to the Python node."""
        from vibsentry.nodes.cnode import build_node_library, c_node_available
        from vibsentry.runtime.bundle import load_bundle

        reason = c_node_available()
        if reason is None:
            t0 = time.monotonic()
            try:
                build_node_library(load_bundle(bundle))
                self.say(f"demo: node core (vs_node) ready for the bundle in {time.monotonic() - t0:.0f} s")
                return
            except VibsentryError as exc:
                reason = str(exc)
        self.say(f"demo: nodes run the Python pipeline (the C node core is not available: {reason})")
        self._engine = "python"

    def start(self) -> None:
        """Prepare the bundle and start simulators, gateway and dashboard; raises :class:`DemoError`."""
        opts = self.opts
        if not (SAMPLE_DATA / FAULT).is_file():
            raise DemoError(f"{SAMPLE_DATA / FAULT} is missing (run the demo from a vibsentry checkout)")
        if opts.dashboard:
            check_port_free(opts.port, opts.address)  # before minutes of training, not after
        self.bundle = ensure_bundle(opts, self.say)
        if opts.firmware:
            if self.bundle is None:
                raise DemoError("--firmware needs a model bundle (drop --no-train or pass --bundle)")
            self._build_firmware(self.bundle)
        elif self.bundle is not None:
            self._build_node_core(self.bundle)
        shutil.rmtree(self.run_dir, ignore_errors=True)  # every demo run starts with an empty store
        self.run_dir.mkdir(parents=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        machines = [m for m, ids in self._node_ids().items() if ids]
        if opts.firmware:
            machines = list(self._firmware_nodes())
        for m in machines:
            self._start_firmware(m) if opts.firmware else self._start_sim(m)
        self._wait_for(lambda: all(self._link(m).exists() for m in machines), 120, "simulated nodes' ptys")
        setup = self.run_dir / "machines.toml"
        write_atomic(
            setup,
            "".join(
                f'[dashboard.machines.{name}]\nrpm = {MACHINE_RPM[m]}\nbearing = "6205-2rs"\n'
                for m in machines
                for name in self._machine_names(m)
            ),
        )
        argv = ["ingest", "--store", f"sqlite:{self.store}", "--data-dir", str(self.run_dir)]
        argv += ["--config", str(setup)]
        for m in machines:
            argv += ["--port", str(self._link(m))]
        if self.bundle is not None:
            argv += ["--bundle", str(self.bundle)]
        self._spawn("ingest", _vibsentry(*argv, "--log-level", "WARNING"))
        self._wait_for(self._store_has_nodes, 120, "first scores in the store")
        if opts.dashboard:
            from vibsentry.dashboard import server as dash

            env = dash.dashboard_env(store=f"sqlite:{self.store}", config=str(setup), refresh_s=1.0)
            env["VIBSENTRY_DASHBOARD_OFFLINE_AFTER_S"] = "15"
            # The listen address decides the default role: on the LAN, visitors may look, not write.
            env["VIBSENTRY_DASHBOARD_ADDRESS"] = opts.address
            env["VIBSENTRY_DASHBOARD_EXPORT_DIR"] = str((self.store.parent / "exports").resolve())
            proc = self._spawn("dashboard", dash.streamlit_argv(opts.port, opts.address), env)
            try:
                dash.wait_healthy(opts.port, proc, timeout_s=90)
            except VibsentryError as exc:
                raise DemoError(f"{exc} (log: {self.logs / 'dashboard.log'})") from None
            host = "localhost" if opts.address in ("127.0.0.1", "0.0.0.0") else opts.address
            self.say(f"demo: dashboard at http://{host}:{opts.port}/")
        pump = [1] if opts.firmware else self._node_ids()["pump"]
        what = "firmware nodes (QEMU: pump-1 STM32, fan-2 RV32)" if opts.firmware else f"{opts.nodes} nodes"
        self.say(
            f"demo: {what} streaming over {len(machines)} ptys into {self.store}; "
            f"pump-{pump[-1]} gets an outer-race bearing fault after {opts.fault_after_s:g} s. Ctrl-C stops."
        )

    def _store_has_nodes(self) -> bool:
        import sqlite3

        if not self.store.exists():
            return False
        try:
            conn = sqlite3.connect(f"{self.store.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
            try:
                return bool(conn.execute("SELECT count(*) FROM scores").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error:
            return False

    def _wait_for(self, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check()
            if cond():
                return
            time.sleep(0.2)
        raise DemoError(f"timed out after {timeout_s:g} s waiting for {what} (logs: {self.logs})")

    def check(self) -> None:
        """Restart finished simulator segments; raise :class:`DemoError` when the gateway or dashboard died."""
        for name, proc in list(self.procs.items()):
            rc = proc.poll()
            if rc is None:
                continue
            if name.startswith("simulate-") and rc == 0:
                machine = name.removeprefix("simulate-")
                self._start_firmware(machine) if self.opts.firmware else self._start_sim(machine)
                continue
            raise DemoError(f"{name} exited with status {rc} (log: {self.logs / (name + '.log')})")

    def report_alarms(self) -> list[str]:
        """New alarm raises in the store since the last call, as printable lines."""
        from vibsentry.dashboard.queries import SqliteSource

        if not self.store.exists():
            return []
        src = SqliteSource(self.store)
        try:
            al = src.alarms(0, time.time_ns() + 10**12)
        finally:
            src.close()
        lines = []
        for r in al.iloc[::-1].itertuples():
            key = (int(r.node), int(r.raise_ts_ns))
            if key not in self._seen_alarms:
                self._seen_alarms.add(key)
                lines.append(
                    f"demo: ALARM {r.machine} (node {r.node}) raised at {r.raised:%H:%M:%S} UTC, score {r.score:.2f}"
                )
        return lines

    def supervise(self) -> None:
        """Run until ``duration_s`` has passed (or forever), printing alarms as they are raised."""
        end = None if self.opts.duration_s is None else self.t0 + self.opts.duration_s
        while end is None or time.monotonic() < end:
            self.check()
            for line in self.report_alarms():
                self.say(line)
            time.sleep(0.5 if end is None else max(0.0, min(0.5, end - time.monotonic())))

    def stop(self, timeout_s: float = 8.0) -> None:
        """Stop every child: SIGTERM to each process group, SIGKILL to those still alive after ``timeout_s``."""
        order = ["dashboard", *[n for n in self.procs if n.startswith("simulate-")], "ingest"]
        for name in order:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.procs.clear()


def run_demo(opts: DemoOptions, say: Callable[[str], None] = print) -> int:
    """Run the demo until ``opts.duration_s`` or Ctrl-C/SIGTERM; every child is stopped on the way out."""

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    demo = Demo(opts, say)
    try:
        demo.start()
        demo.supervise()
    except KeyboardInterrupt:
        say("demo: stopping ...")
    finally:
        # From here on the demo is stopping (Ctrl-C, SIGTERM or an error): another Ctrl-C or SIGTERM must not
        # cut stop() short, nor, once it is done, turn the exit into a death by signal (Python puts SIGINT
        # back to SIG_DFL while the interpreter shuts down). stop() is bounded on its own (SIGKILL after a few
        # seconds). run_demo is the body of the `vibsentry demo` process, so the handlers stay ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
    say(f"demo: stopped; the store stays at {demo.store}")
    return 0
