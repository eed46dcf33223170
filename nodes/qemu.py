"""Firmware nodes under QEMU: build and provision the images, boot them, and replay recordings into them.

The node firmware (``firmware_stm32`` on QEMU's ``netduinoplus2``, ``firmware_rv32`` on ``virt``) is the same
``vs_node`` application a board runs; under QEMU it has no accelerometer, so its samples come from the host in
REPLAY_SAMPLES frames over its UART (hardware-in-the-loop style, docs/protocol.md section 5):

    recording --Replayer--> REPLAY_SAMPLES --unix socket--> [QEMU: USART/NS16550A -> vs_node]
                                                                    |
    `vibsentry ingest` <-- pty (PtyPort) <-- every byte the node sends (HELLO, STATUS, SCORE, ALARM, ACK...)

How QEMU is wired. The UART is a chardev ``socket,server=on,wait=on``: QEMU does not start the guest until
this process has connected, so no byte the node sends is lost (a ``-serial pty`` drops what is written before
the host opens it). The monitor is a second unix socket, used for ``system_reset`` (a node reboot that keeps
the reset-surviving RAM, so the boot counter increments) and ``quit``.

Flow control. Every REPLAY_SAMPLES is answered by exactly one ACK or NACK; the replayer keeps at most
``window`` blocks unanswered, so the node's 2 KB UART receive ring never overflows, and paces blocks by the
wall clock when ``speed`` is finite (``speed`` node seconds per wall second).

Provisioning. One image serves every node: the 64-byte ``.vs_ident`` section (node id, machine name, trigger
settings, STATUS period; ``firmware_core/port/baremetal/vs_app.h``) is replaced per node with
``objcopy --update-section``, as a factory tool would write a serial number.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vibsentry import protocol as vp
from vibsentry.errors import UsageError, VibsentryError
from vibsentry.nodes.ports import PtyPort

ROOT = Path(__file__).resolve().parents[1]


class FirmwareError(VibsentryError):
    """A firmware image could not be built, provisioned or booted, or a node stopped answering."""


@dataclass(frozen=True)
class Target:
    """One emulated node type.

    Attributes
    ----------
    name : str
        ``stm32`` or ``rv32``.
    directory : str
        Firmware directory under the repository root (its Makefile builds the image).
    qemu : tuple of str
        QEMU command line without the image, chardev and monitor options.
    toolchain : str
        Binutils prefix (objcopy for provisioning).
    core_hz : float
        Core clock the firmware assumes (for the sleep-fraction estimate).
    """

    name: str
    directory: str
    qemu: tuple[str, ...]
    toolchain: str
    core_hz: float

    @property
    def tools(self) -> tuple[str, ...]:
        return (self.qemu[0], f"{self.toolchain}objcopy", f"{self.toolchain}gcc", "make")


STM32 = Target(
    "stm32",
    "firmware_stm32",
    ("qemu-system-arm", "-M", "netduinoplus2"),
    "arm-none-eabi-",
    168e6,
)
RV32 = Target(
    "rv32",
    "firmware_rv32",
    ("qemu-system-riscv32", "-M", "virt", "-bios", "none"),
    "riscv64-unknown-elf-",
    160e6,  # ESP32-C3 maximum CPU clock, the core this port stands in for
)
TARGETS: dict[str, Target] = {t.name: t for t in (STM32, RV32)}


def missing_tools(target: Target) -> str | None:
    """None when QEMU and the cross toolchain of ``target`` are installed, else the reason to skip."""
    for tool in target.tools:
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (./dev.sh setup installs it)"
    return None


def build_image(
    target: Target,
    *,
    bundle: str | os.PathLike[str] | None = None,
    hw: bool = False,
    quiet: bool = True,
    model_update: bool = True,
) -> Path:
    """Build the firmware (``make -C <directory> [BUNDLE=..] [HW=1] [MODEL_UPDATE=0]``) and return its ELF.

    ``bundle``: the model bundle whose INT8 model, FeatureParams and alarm rule the image carries (it runs
    ``vibsentry export``); None builds the model-less image (plumbing and size checks only).
    ``model_update``: signed model updates into the flash slots (the default; they need keys provisioned).
    """
    args = [f"HW={1 if hw else 0}", f"MODEL_UPDATE={1 if model_update else 0}"]
    if bundle is not None:
        args.append(f"BUNDLE={Path(bundle).resolve()}")
    cwd = ROOT / target.directory
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(cwd), *args, "print-OUT"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise FirmwareError(f"make -C {target.directory}: {out.stderr.strip()[-500:]}")
    elf = Path(out.stdout.strip().splitlines()[-1]) / "vs_node.elf"
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(cwd), *args],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise FirmwareError(
            f"make -C {target.directory} {' '.join(args)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    if not quiet:
        print(proc.stdout, end="")
    return elf


#: struct layout of vs_app_ident_t (firmware_core/port/baremetal/vs_app.h).
_IDENT = struct.Struct("<IHHffII40s")
_IDENT_MAGIC = 0x31444956


@dataclass(frozen=True)
class NodeIdent:
    """The provisioning block of one node (what differs between nodes running the same image).

    Parameters
    ----------
    node_id : int
        Protocol node id, 0..65534.
    machine : str
        Machine name sent in HELLO (printable ASCII, <= 32 characters).
    trigger_rms_g, trigger_peak_g : float
        Analyse a frame when a hop's RMS / peak about its mean exceeds this (g); 0 disables.
    heartbeat_frames : int
        Analyse at least every this many frames (1: every frame, 0: never without a trigger).
    status_period_ms : int
        STATUS period of the node's clock (0: never).
    """

    node_id: int
    machine: str = "node"
    trigger_rms_g: float = 0.0
    trigger_peak_g: float = 0.0
    heartbeat_frames: int = 1
    status_period_ms: int = 10_000

    def __post_init__(self) -> None:
        if not 0 <= self.node_id <= 0xFFFE:
            raise UsageError(f"node id {self.node_id!r}: must be 0..65534")
        if len(self.machine) > 32 or not self.machine.isascii() or not self.machine.isprintable():
            raise UsageError(f"machine name {self.machine!r}: at most 32 printable ASCII characters")

    def pack(self) -> bytes:
        """The 64-byte ``.vs_ident`` section contents."""
        return _IDENT.pack(
            _IDENT_MAGIC,
            self.node_id,
            0,
            self.trigger_rms_g,
            self.trigger_peak_g,
            self.heartbeat_frames,
            self.status_period_ms,
            self.machine.encode("ascii"),
        )


#: struct layout of vs_app_keys_t (firmware_core/port/baremetal/vs_app.h): magic, n_keys, trial_frames, 2 keys.
_KEYS = struct.Struct("<IHH64s")
_KEYS_MAGIC = 0x3159454B
MAX_UPDATE_KEYS = 2


def pack_update_keys(keys: Sequence[bytes], trial_frames: int = 0) -> bytes:
    """The 72-byte ``.vs_keys`` section: Ed25519 public keys (raw 32 bytes each, ``public.key`` of
    ``vibsentry keys new``) a signed model must verify under, and the healthy frames that confirm a TRIAL model
    (0: the firmware's default, 8)."""
    if len(keys) > MAX_UPDATE_KEYS or any(len(k) != 32 for k in keys):
        raise UsageError(f"update keys: at most {MAX_UPDATE_KEYS} raw 32-byte Ed25519 public keys")
    if not 0 <= trial_frames <= 0xFFFF:
        raise UsageError(f"trial frames {trial_frames!r}: must be 0..65535")
    return _KEYS.pack(_KEYS_MAGIC, len(keys), trial_frames, b"".join(keys))


def provision(
    elf: Path,
    dest: Path,
    ident: NodeIdent,
    *,
    target: Target,
    update_keys: Sequence[bytes] = (),
    trial_frames: int = 0,
) -> Path:
    """Copy ``elf`` to ``dest`` with its ``.vs_ident`` section replaced by ``ident`` and, when ``update_keys``
    are given, its ``.vs_keys`` section by those keys (:func:`pack_update_keys`): the node then accepts models
    signed with one of them (without keys it NACKs MODEL_BEGIN as unsupported)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    blobs = {".vs_ident": ident.pack()}
    if update_keys:
        blobs[".vs_keys"] = pack_update_keys(update_keys, trial_frames)
    args = []
    for section, data in blobs.items():
        blob = dest.with_suffix(f"{section}.bin")
        blob.write_bytes(data)
        args.append(f"--update-section={section}={blob}")
    proc = subprocess.run(
        [f"{target.toolchain}objcopy", *args, str(elf), str(dest)], capture_output=True, text=True
    )
    for section in blobs:
        dest.with_suffix(f"{section}.bin").unlink(missing_ok=True)
    if proc.returncode != 0:
        raise FirmwareError(f"provisioning {elf}: {proc.stderr.strip()}")
    return dest


class QemuNode:
    """One firmware node running in QEMU, its UART connected to this process.

    Parameters
    ----------
    elf : path
        A provisioned image (:func:`provision`).
    target : Target
    workdir : path or None
        Where the sockets and the QEMU log go (a temp dir when None).
    on_bytes : callable or None
        Called from the reader thread with every chunk of bytes the node sends (e.g. ``PtyPort.write``).
    icount : bool
        Run QEMU with ``-icount shift=0`` (one instruction = 1 ns of virtual time), so the node's timers follow
        its own instructions rather than the host clock. This alone does not make a replayed run's
        instruction count repeatable: samples still arrive at host speed (see ``benchmarks/bench_firmware.py``,
        which counts timer-only wake-ups and main-loop passes apart).
    extra_args : sequence of str
        Appended to the QEMU command line (e.g. ``-d exec`` tracing in the benchmarks).

    Attributes
    ----------
    frames : list of vibsentry.protocol.Frame
        Every valid frame received, in order (the reader thread appends).
    decoder : vibsentry.protocol.Decoder
        Its counters tell how many received bytes did not decode.
    """

    def __init__(
        self,
        elf: str | os.PathLike[str],
        *,
        target: Target,
        workdir: str | os.PathLike[str] | None = None,
        on_bytes: Callable[[bytes], None] | None = None,
        icount: bool = False,
        extra_args: Sequence[str] = (),
        stderr_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.elf = Path(elf)
        self.target = target
        self._tmp = None if workdir is not None else tempfile.mkdtemp(prefix="vs-qemu-")
        self.workdir = Path(workdir) if workdir is not None else Path(self._tmp or ".")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.on_bytes = on_bytes
        self.icount = icount
        self.extra_args = tuple(extra_args)
        self.stderr_path = Path(stderr_path) if stderr_path else self.workdir / "qemu.log"
        self.frames: list[vp.Frame] = []
        self.decoder = vp.Decoder()
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 30.0) -> QemuNode:
        """Boot the node; returns once the UART is connected (the guest starts then)."""
        uart = self.workdir / "uart.sock"
        mon = self.workdir / "monitor.sock"
        for p in (uart, mon):
            p.unlink(missing_ok=True)
        cmd = [
            *self.target.qemu,
            "-kernel",
            str(self.elf),
            "-nographic",
            "-chardev",
            f"socket,id=uart,path={uart},server=on,wait=on",
            "-serial",
            "chardev:uart",
            "-monitor",
            f"unix:{mon},server=on,wait=off",
        ]
        if self.icount:
            cmd += ["-icount", "shift=0"]
        cmd += list(self.extra_args)
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        finally:
            err.close()
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                sock.connect(str(uart))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    sock.close()
                    raise FirmwareError(
                        f"QEMU did not start ({self.stderr_path}): {self._log_tail()}"
                    ) from None
                time.sleep(0.01)
        self._sock = sock
        self._reader = threading.Thread(target=self._read_loop, name=f"qemu-{self.elf.stem}", daemon=True)
        self._reader.start()
        return self

    def _log_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-800:]
        except OSError:
            return ""

    def _read_loop(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            if self.on_bytes is not None:
                self.on_bytes(data)
            got = self.decoder.feed(data)
            if got:
                with self._cond:
                    self.frames.extend(got)
                    self._cond.notify_all()

    def monitor(self, command: str, timeout: float = 10.0) -> str:
        """Run one QEMU monitor command (``system_reset``, ``info registers``...) and return its output."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.workdir / "monitor.sock"))
            buf = b""
            while not buf.endswith(b"(qemu) "):
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            s.sendall(command.encode() + b"\n")
            out = b""
            while not out.endswith(b"(qemu) "):
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace")

    def reset(self) -> None:
        """Reset the emulated chip (``system_reset``): the node reboots with its boot counter incremented."""
        self.monitor("system_reset")

    def write(self, data: bytes) -> None:
        """Send bytes to the node's UART. Whole frames only: writers in several threads (a :class:`Replayer`
        and :func:`forward_commands`) are serialised, so one frame's bytes are never cut by another's."""
        if self._sock is None:
            raise FirmwareError("node not started")
        with self._write_lock:
            self._sock.sendall(data)

    def wait_for(self, pred: Callable[[list[vp.Frame]], bool], timeout: float) -> bool:
        """Block until ``pred(frames)`` is true (True) or ``timeout`` seconds passed / the node died (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.frames):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return pred(self.frames)
                self._cond.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop QEMU and the reader thread."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._sock is not None:
            self._sock.close()
        if self._reader is not None:
            self._reader.join(timeout)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> QemuNode:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def forward_commands(port: PtyPort, node: QemuNode, stop: threading.Event) -> threading.Thread:
    """Start a thread that passes what the gateway writes to ``port`` (MODEL_*, SET_THRESHOLD, REQUEST_RAW...)
    on to ``node``'s UART, one whole frame at a time (frames end at a 0x00 delimiter, docs/protocol.md
    section 1), so that they interleave with a :class:`Replayer`'s REPLAY_SAMPLES without cutting into them.
    Runs until ``stop`` is set or the node's socket closes."""

    def run() -> None:
        buf = b""
        while not stop.is_set():
            data = port.read(0.2)
            if not data:
                continue
            buf += data
            cut = buf.rfind(b"\x00")
            if cut < 0:
                continue
            frames, buf = buf[: cut + 1], buf[cut + 1 :]
            try:
                node.write(frames)
            except (OSError, FirmwareError):
                return

    t = threading.Thread(target=run, name=f"forward-{node.elf.stem}", daemon=True)
    t.start()
    return t


def hellos(frames: Sequence[vp.Frame]) -> list[vp.Hello]:
    """The HELLO messages among ``frames``."""
    return [f.message for f in frames if isinstance(f.message, vp.Hello)]


@dataclass
class ReplayStats:
    """What a :class:`Replayer` run did.

    Attributes
    ----------
    blocks : int
        REPLAY_SAMPLES blocks acknowledged.
    nacks : list of (block_index, reason)
        Blocks the node refused.
    reboots : int
        Node reboots seen during the run (each restarts the replay at the first frame not yet scored).
    samples : int
        Samples acknowledged (counted again when resent after a reboot).
    wall_s : float
        Wall-clock duration.
    """

    blocks: int = 0
    nacks: list[tuple[int, int]] = field(default_factory=list)
    reboots: int = 0
    samples: int = 0
    wall_s: float = 0.0


class Replayer:
    """Feed a node recorded samples as REPLAY_SAMPLES frames, with flow control.

    Parameters
    ----------
    node : QemuNode
        A started node.
    samples : ndarray, shape (n,)
        Acceleration in g. Sent as int16 counts (500 per frame) with a power-of-two scale when every sample is
        an exact multiple of one (:func:`int16_grid`; the node's ``count * scale`` then restores the exact
        float32 value), else as float32 (250 per frame). Either way the node sees exactly these values.
    sample_rate : float
        Hz (sent in every block; the node checks it against its compiled-in rate).
    frame_length, hop_length : int
        The node's framing (the bundle's FeatureParams): after a reboot the replay resumes at the first
        sample of the first frame the node had not scored, so no frame is lost or scored twice.
    speed : float
        Node seconds per wall second; ``inf`` = as fast as the node acknowledges.
    window : int
        Blocks in flight before waiting for an answer (1..3: the node's UART ring holds ~2 max frames).
    ack_timeout : float
        Seconds to wait for an answer before giving up (:class:`FirmwareError`).
    """

    def __init__(
        self,
        node: QemuNode,
        samples: np.ndarray,
        *,
        sample_rate: float,
        frame_length: int,
        hop_length: int,
        speed: float = math.inf,
        window: int = 1,
        ack_timeout: float = 30.0,
    ) -> None:
        if not speed > 0:
            raise UsageError(f"replay speed {speed!r}: must be positive")
        if not 1 <= window <= 3:
            raise UsageError(f"replay window {window!r}: must be 1..3")
        self.node = node
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        self.sample_rate = float(sample_rate)
        self.frame_length = int(frame_length)
        self.hop_length = int(hop_length)
        self.speed = speed
        self.window = window
        self.ack_timeout = ack_timeout
        self.seq = 0
        self.stats = ReplayStats()
        self.scale = int16_grid(self.samples)
        self.block = vp.MAX_SAMPLES_I16 if self.scale is not None else vp.MAX_SAMPLES_F32

    def _answers(self, first_frame: int) -> dict[int, vp.Message]:
        out: dict[int, vp.Message] = {}
        for f in self.node.frames[first_frame:]:
            m = f.message
            if isinstance(m, (vp.Ack, vp.Nack)) and m.acked_type == int(vp.MsgType.REPLAY_SAMPLES):
                out[m.acked_seq] = m
        return out

    def _boots(self) -> int:
        return len(boot_segments(self.node.frames))

    @staticmethod
    def _answered_or_rebooted(seq: int, mark: int, boots: int) -> Callable[[list[vp.Frame]], bool]:
        """Predicate: the REPLAY_SAMPLES with ``seq`` was answered after frame ``mark``, or a new boot began."""

        def pred(frames: list[vp.Frame]) -> bool:
            for f in frames[mark:]:
                m = f.message
                if (
                    isinstance(m, (vp.Ack, vp.Nack))
                    and m.acked_seq == seq
                    and m.acked_type == int(vp.MsgType.REPLAY_SAMPLES)
                ):
                    return True
            return len(boot_segments(frames)) > boots

        return pred

    def send_block(self, block_index: int, chunk: np.ndarray) -> int:
        """Send one REPLAY_SAMPLES frame; returns its sequence number."""
        seq = self.seq
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        if self.scale is not None:
            counts = np.rint(chunk.astype(np.float64) / self.scale).astype(np.int16)
            msg = vp.ReplaySamples(
                block_index=block_index,
                sample_rate_hz=self.sample_rate,
                sample_format=int(vp.SampleFormat.INT16),
                scale_g_per_lsb=self.scale,
                samples=tuple(int(v) for v in counts),
            )
        else:
            msg = vp.ReplaySamples(
                block_index=block_index,
                sample_rate_hz=self.sample_rate,
                sample_format=int(vp.SampleFormat.FLOAT32),
                scale_g_per_lsb=1.0,
                samples=tuple(float(v) for v in chunk),
            )
        self.node.write(
            vp.encode(msg, node_id=vp.BROADCAST_NODE, seq=seq, timestamp_us=time.monotonic_ns() // 1000)
        )
        return seq

    def run(
        self, *, start: int = 0, stop: int | None = None, on_block: Callable[[int], None] | None = None
    ) -> ReplayStats:
        """Replay ``samples[start:stop]``; returns the statistics (also in :attr:`stats`).

        ``on_block(pos)`` is called after each acknowledged block with the next sample position (tests use
        it to reset the node mid-stream).
        """
        n = len(self.samples) if stop is None else min(stop, len(self.samples))
        t0 = time.monotonic()
        pos = start
        stream_start = start
        block_index = 0
        boots = self._boots()
        mark = len(self.node.frames)
        inflight: list[tuple[int, int, int, int]] = []  # (seq, block_index, next pos, count)
        while pos < n or inflight:
            # Reboot: the node lost its partial frame; resume at the first frame it did not score.
            if self._boots() > boots:
                boots = self._boots()
                self.stats.reboots += 1
                done = last_scored_frame(self.node.frames, boots - 2)
                pos = stream_start + (done + 1) * self.hop_length if done is not None else stream_start
                stream_start = pos
                block_index = 0
                inflight.clear()
                mark = len(self.node.frames)
                continue
            if pos < n and len(inflight) < self.window:
                if self.speed != math.inf:
                    due = t0 + (pos - start) / self.sample_rate / self.speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                chunk = self.samples[pos : min(pos + self.block, n)]
                seq = self.send_block(block_index, chunk)
                inflight.append((seq, block_index, pos + len(chunk), len(chunk)))
                block_index += 1
                pos += len(chunk)
                continue
            seq, bi, nxt, count = inflight[0]
            got = self.node.wait_for(self._answered_or_rebooted(seq, mark, boots), self.ack_timeout)
            if not got:
                raise FirmwareError(
                    f"node {self.node.elf.name}: no answer to REPLAY_SAMPLES block {bi} within "
                    f"{self.ack_timeout:g} s (QEMU log: {self.node.stderr_path})"
                )
            ans = self._answers(mark).get(seq)
            if ans is None:
                continue  # a reboot, handled at the top of the loop
            inflight.pop(0)
            if isinstance(ans, vp.Nack):
                self.stats.nacks.append((bi, int(ans.reason)))
            else:
                self.stats.blocks += 1
                self.stats.samples += count
            if on_block is not None:
                on_block(nxt)
        self.stats.wall_s = time.monotonic() - t0
        return self.stats

    def barrier(self, timeout: float | None = None) -> None:
        """Wait until the node has processed everything sent so far (its answer to an empty block)."""
        seq = self.send_block(0x7FFFFFFF, np.zeros(0, dtype=np.float32))
        ok = self.node.wait_for(
            lambda fr: any(
                isinstance(f.message, (vp.Ack, vp.Nack)) and f.message.acked_seq == seq for f in fr
            ),
            self.ack_timeout if timeout is None else timeout,
        )
        if not ok:
            raise FirmwareError(f"node {self.node.elf.name}: no answer to the barrier block")


def int16_grid(x: np.ndarray) -> float | None:
    """The power-of-two scale (g per count) on whose grid every sample of ``x`` lies within int16 range, or
    None. Power-of-two scales make ``count * scale`` exact in float32, so int16 replay loses nothing."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if not np.isfinite(peak):
        return None
    for k in range(24, -1, -1):
        scale = 2.0**-k
        if peak / scale > 32767:
            continue  # too fine for int16; a coarser scale may still hold every sample
        counts = x / scale
        if np.array_equal(counts, np.rint(counts)):
            return scale
    return None


def quantize_int16(x: np.ndarray) -> tuple[np.ndarray, float]:
    """``(x on an int16 grid, scale)``: round ``x`` (g) to the finest power-of-two scale that holds its peak in
    int16 - what an accelerometer's 16-bit counts deliver. The result is float32 and exact on the grid."""
    x = np.asarray(x, dtype=np.float32)
    peak = max(float(np.max(np.abs(x))), 1e-9)
    scale = 2.0 ** math.ceil(math.log2(peak / 32767.0))
    q = np.clip(np.rint(x.astype(np.float64) / scale), -32767, 32767) * scale
    return q.astype(np.float32), scale


def boot_segments(frames: Sequence[vp.Frame]) -> list[tuple[int, int]]:
    """``(first frame index, boot_counter)`` of every boot seen in ``frames`` (a HELLO whose boot counter
    differs from the previous one starts a boot; the periodic HELLOs of a boot do not)."""
    out: list[tuple[int, int]] = []
    for i, f in enumerate(frames):
        m = f.message
        if isinstance(m, vp.Hello) and (not out or m.boot_counter != out[-1][1]):
            out.append((i, m.boot_counter))
    return out


def last_scored_frame(frames: Sequence[vp.Frame], boot: int) -> int | None:
    """Largest SCORE frame_index of the ``boot``-th boot segment (0-based), None when it scored nothing."""
    segs = boot_segments(frames)
    start = segs[boot][0]
    end = segs[boot + 1][0] if boot + 1 < len(segs) else len(frames)
    last = None
    for f in frames[start:end]:
        if isinstance(f.message, vp.Score):
            last = f.message.frame_index if last is None else max(last, f.message.frame_index)
    return last


def demo_signal(
    healthy: str, *, fault: str | None, fault_after_s: float | None, duration_s: float, sample_rate: float
) -> np.ndarray:
    """A node's input for the demo: ``healthy`` looped, then ``fault`` looped after ``fault_after_s``, rounded
    to an int16 grid (an accelerometer's counts), ``duration_s`` long."""
    from vibsentry.nodes.virtual import load_signal

    n = int(duration_s * sample_rate)

    def looped(src: str, count: int) -> np.ndarray:
        x = load_signal(src, sample_rate=sample_rate, duration_s=count / sample_rate)
        return np.resize(x, count).astype(np.float32)

    cut = n if fault is None or fault_after_s is None else min(n, max(0, int(fault_after_s * sample_rate)))
    parts = [looped(healthy, cut)] if cut > 0 else []
    if cut < n and fault is not None:
        parts.append(looped(fault, n - cut))
    q, _scale = quantize_int16(np.concatenate(parts))
    return q


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vibsentry.nodes.qemu``: one emulated node for ``vibsentry demo --firmware``.

    Provisions the image, boots it in QEMU, exposes the node's UART output on a pty (``--create-pty LINK``) for
    ``vibsentry ingest``, and replays the recording into it at ``--speed``; exits 0 when the recording ends.
    """
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m vibsentry.nodes.qemu", description=main.__doc__)
    ap.add_argument("--target", choices=sorted(TARGETS), required=True)
    ap.add_argument("--image", required=True, help="ELF built by build_image (make -C firmware_*)")
    ap.add_argument("--node-id", type=int, required=True)
    ap.add_argument("--machine", default="node")
    ap.add_argument("--create-pty", required=True, help="symlink to the pty ingest reads")
    ap.add_argument("--recording", required=True)
    ap.add_argument("--fault-recording", default=None)
    ap.add_argument("--fault-after", type=float, default=None)
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--sample-rate", type=float, default=12000.0)
    ap.add_argument("--frame-length", type=int, default=1024)
    ap.add_argument("--hop-length", type=int, default=1024)
    ap.add_argument("--status-every", type=float, default=5.0)
    ap.add_argument("--workdir", required=True)
    ap.add_argument(
        "--update-key", action="append", default=[], help="public.key a deployed model must verify under"
    )
    ap.add_argument("--trial-frames", type=int, default=0, help="healthy frames that confirm a new model")
    a = ap.parse_args(argv)
    try:
        target = TARGETS[a.target]
        work = Path(a.workdir)
        elf = provision(
            Path(a.image),
            work / f"node{a.node_id}.elf",
            NodeIdent(a.node_id, a.machine, status_period_ms=int(a.status_every * 1000)),
            target=target,
            update_keys=[Path(k).read_bytes() for k in a.update_key],
            trial_frames=a.trial_frames,
        )
        x = demo_signal(
            a.recording,
            fault=a.fault_recording,
            fault_after_s=a.fault_after,
            duration_s=a.duration,
            sample_rate=a.sample_rate,
        )
        port = PtyPort(a.create_pty)
        try:
            with QemuNode(elf, target=target, workdir=work / f"qemu{a.node_id}", on_bytes=port.write) as node:
                if not node.wait_for(lambda fr: len(fr) > 0, 30):
                    raise FirmwareError(f"node {a.node_id}: no HELLO within 30 s ({node.stderr_path})")
                stop = threading.Event()
                # the gateway's commands (deploy, thresholds, raw requests) reach the node
                forward_commands(port, node, stop)
                Replayer(
                    node,
                    x,
                    sample_rate=a.sample_rate,
                    frame_length=a.frame_length,
                    hop_length=a.hop_length,
                    speed=a.speed,
                ).run()
                port.drain(10)
                stop.set()
        finally:
            port.close()
    except (VibsentryError, OSError) as exc:  # OSError: an --update-key file that cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
