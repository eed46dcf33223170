"""The firmware's node core (``firmware_core/src/vs_node.c``) run on this machine through ctypes.

``vibsentry simulate`` uses it so that a simulated node behaves exactly like a flashed one (trigger, framing,
features, INT8 model, alarm rule, raw captures, commands): the C library is built once per feature
configuration and the bundle's generated model once per bundle, both cached under ``build/vs_node/``. The
platform services (clock, UART, persistent store) are the host fakes of ``firmware_core/port/host``: the
caller sets the clock before each step and takes the bytes the node wrote, so a run is deterministic.

Requires a source checkout with ``make`` and a C compiler; :func:`c_node_available` says whether they are there.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry import protocol as vp
from vibsentry.errors import ExportError

#: Reset reasons of ``vs_platform_watchdog.h`` (values sent on the wire).
RESET_POWER_ON, RESET_WATCHDOG = 1, 4
#: Boot record of ``vs_node.c`` (magic "VBOT", version 1): preloaded so a node reports a chosen boot counter.
_BOOT_MAGIC, _BOOT_VERSION, _STORE_BOOT = 0x56424F54, 1, 0
#: Host fake banks (``VS_HOST_BANKS``): one persistent store per simulated chip.
N_BANKS = 64
_TX_CHUNK = 65536
#: First sequence number of stream_messages' own commands (routine REQUEST_RAW, BASELINE_LEARN): far above what
#: a host's command client counts from, since vs_node answers a repeated (type, seq) as a retry.
OWN_SEQ = 0xC0000000


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _firmware_dir() -> Path:
    return _repo_root() / "firmware_core"


def c_node_available() -> str | None:
    """None when the C node can be built here, else the reason it cannot (for a skip or a fallback)."""
    if not (_firmware_dir() / "src" / "vs_node.c").is_file():
        return "no firmware_core sources (an installed wheel carries no C)"
    for tool in ("make", os.environ.get("CC") or "cc"):
        if shutil.which(tool) is None:
            return f"{tool!r} not found"
    return None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive file lock: concurrent processes (pytest workers, two simulators) build one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExportError(f"{what} failed ({' '.join(cmd)}): {(proc.stderr or proc.stdout).strip()[-1500:]}")


@dataclass
class NodeLibrary:
    """``libvscore.so`` built for one feature configuration, plus (optionally) one bundle's generated model.

    Attributes
    ----------
    lib : ctypes.PyDLL
        The node library (calls hold the GIL: the host fakes are process-global).
    model_lib : ctypes.CDLL or None
        The generated ``vs_model_data.c`` compiled on its own; its ``vs_model`` and normalisation arrays are
        passed to the node by address.
    model_hash : bytes
        32 bytes reported in HELLO (sha256 of ``model.tflite``), zeros without a model.
    """

    lib: Any
    model_lib: Any = None
    model_hash: bytes = bytes(32)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        lib = self.lib
        u32, u64, sz, vp, f32 = (
            ctypes.c_uint32,
            ctypes.c_uint64,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_float,
        )
        sigs: dict[str, tuple[Any, list[Any]]] = {
            "vs_node_instance_size": (sz, []),
            "vs_host_node_init": (ctypes.c_int, [vp, ctypes.c_uint16, ctypes.c_char_p, ctypes.c_char_p, f32, f32,
                                                  u32, u32, f32, f32, u32, u32, vp, vp, vp, vp, u32, u32, u32, u32]),
            "vs_node_start": (ctypes.c_int, [vp]),
            "vs_node_poll": (ctypes.c_int, [vp]),
            "vs_node_push_samples_f32": (ctypes.c_int, [vp, vp, u32]),
            "vs_node_rx_bytes": (ctypes.c_int, [vp, vp, sz]),
            "vs_node_last_features": (ctypes.POINTER(f32), [vp]),
            "vs_node_last_score": (f32, [vp]),
            "vs_host_node_counter": (u32, [vp, ctypes.c_char_p]),
            "vs_host_node_n_features": (ctypes.c_int, []),
            "vs_host_node_frame_length": (ctypes.c_int, []),
            "vs_host_node_hop_length": (ctypes.c_int, []),
            "vs_host_node_sample_rate": (f32, []),
            "vs_host_node_ring_samples": (u32, []),
            "vs_host_node_raw_capacity": (u32, []),
            "vs_host_node_raw_max": (u32, []),
            "vs_node_has_work": (ctypes.c_int, [vp]),
            "vs_host_reset": (None, []),
            "vs_host_select": (ctypes.c_int, [u32]),
            "vs_host_clock_set_us": (None, [u64]),
            "vs_host_uart_tx_take": (sz, [vp, sz]),
            "vs_host_set_reset_reason": (None, [ctypes.c_uint8]),
            "vs_platform_store_write": (ctypes.c_int, [ctypes.c_uint8, vp, sz]),
            "vs_host_store_corrupt": (None, [ctypes.c_uint8, sz]),
        }  # fmt: skip
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        lib.vs_host_reset()
        self.n_features = int(lib.vs_host_node_n_features())
        self.frame_length = int(lib.vs_host_node_frame_length())
        self.hop_length = int(lib.vs_host_node_hop_length())
        self.sample_rate = float(lib.vs_host_node_sample_rate())
        self.instance_size = int(lib.vs_node_instance_size())
        self.ring_samples = int(lib.vs_host_node_ring_samples())
        self.raw_capacity = int(lib.vs_host_node_raw_capacity())  # pre-trigger ring (int16 samples)
        self.raw_max = int(lib.vs_host_node_raw_max())  # longest capture; longer than the ring streams
        self._next_bank = 0

    def model_pointers(self) -> tuple[int | None, int | None, int | None]:
        """Addresses of ``vs_model``, ``vs_model_norm_mean``, ``vs_model_norm_std`` (None without a model)."""
        if self.model_lib is None:
            return None, None, None
        m = self.model_lib
        mean = std = None
        try:
            mean = ctypes.addressof(ctypes.c_float.in_dll(m, "vs_model_norm_mean"))
            std = ctypes.addressof(ctypes.c_float.in_dll(m, "vs_model_norm_std"))
        except ValueError:  # exported without normalisation
            pass
        return ctypes.addressof(ctypes.c_char.in_dll(m, "vs_model")), mean, std

    def take_bank(self) -> int:
        """A fresh persistent-store bank for a new simulated chip (wraps after N_BANKS)."""
        with self.lock:
            b = self._next_bank % N_BANKS
            self._next_bank += 1
            return b


_LIBS: dict[str, NodeLibrary] = {}
_LIBS_LOCK = threading.Lock()


def build_node_library(bundle: Any = None, *, cache_dir: str | os.PathLike[str] | None = None) -> NodeLibrary:
    """Build (or reuse) the node library for ``bundle`` (a loaded ``vibsentry.runtime.bundle.Bundle``, or None
    for the default FeatureParams without a model).

    The library is built by ``make -C firmware_core lib`` with the bundle's exported ``vs_feature_config.h``
    into ``<cache>/features-<feature_hash[:16]>`` (without a bundle: in ``firmware_core/build``, shared with
    the C tests); the bundle's generated model into ``<cache>/model-<tag>``. ``make`` decides what is stale;
    the process loads a content-named copy of the library, so a later rebuild cannot pull it from under a
    running simulator. Raises :class:`ExportError` when a build step fails.
    """
    reason = c_node_available()
    if reason is not None:
        raise ExportError(f"the C node cannot be built here: {reason}")
    cache = Path(cache_dir) if cache_dir is not None else _repo_root() / "build" / "vs_node"
    key = "default" if bundle is None else str(bundle.meta.get("bundle_sha256") or bundle.path)
    with _LIBS_LOCK:
        if key in _LIBS:
            return _LIBS[key]
        lib = _build(bundle, cache)
        _LIBS[key] = lib
        return lib


def _make_lib(build: Path, *extra: str) -> Any:
    """``make lib`` into ``build`` (one make per directory at a time, the lock file tests/support/cbuild.py
    uses too) and load a private copy of ``libvscore.so`` named by its content: a later rebuild rewrites the
    built file in place, which would crash a process that has it loaded. A copy taken while some other,
    unlocked ``make`` was writing the library does not load; it is dropped and the build retried."""
    build.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        with _locked(build / ".make.lock"):
            _run(["make", "-s", "--no-print-directory", "-C", str(_firmware_dir()), "-j2", "lib",
                  f"BUILD={build}", f"PYTHON={sys.executable}", *extra], "building the C node library")  # fmt: skip
            data = (build / "host" / "libvscore.so").read_bytes()
        copy = build / "host" / f"libvscore-node-{hashlib.sha256(data).hexdigest()[:16]}.so"
        if not copy.is_file():
            tmp = copy.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, copy)
        try:
            return ctypes.PyDLL(str(copy))
        except OSError as exc:
            copy.unlink(missing_ok=True)
            if attempt == 2:
                raise ExportError(f"{copy}: the built node library does not load ({exc})") from None
            time.sleep(2.0)
    raise AssertionError("unreachable")


def _build(bundle: Any, cache: Path) -> NodeLibrary:
    fw = _firmware_dir()
    if bundle is None:
        # The default FeatureParams: the build directory every C test uses (no second build of the same thing).
        return NodeLibrary(lib=_make_lib(fw / "build"))
    from vibsentry.codegen.export import export_c

    tag = hashlib.sha256(str(bundle.meta.get("bundle_sha256", bundle.path)).encode()).hexdigest()[:16]
    gen = cache / f"model-{tag}"
    with _locked(cache / f".model-{tag}.lock"):
        if not (gen / "vs_model_data.c").is_file() or not (gen / "vs_feature_config.h").is_file():
            export_c(bundle.path, gen, force=True)
        model_so = gen / "libvsmodel.so"
        if not model_so.is_file():
            cc = os.environ.get("CC") or "cc"
            tmp = model_so.with_suffix(f".{os.getpid()}.tmp")
            _run([cc, "-std=c99", "-O2", "-fPIC", "-shared", f"-I{fw / 'include'}", f"-I{gen}",
                  str(gen / "vs_model_data.c"), "-o", str(tmp)], "compiling the generated model")  # fmt: skip
            os.replace(tmp, model_so)
    lib = _make_lib(
        cache / f"features-{bundle.feature_hash[:16]}", f"FEATURE_CONFIG_SRC={gen / 'vs_feature_config.h'}"
    )
    return NodeLibrary(
        lib=lib,
        model_lib=ctypes.CDLL(str(model_so)),
        model_hash=bytes.fromhex(bundle.meta["files"]["model.tflite"]),
    )


class CNode:
    """One ``vs_node`` instance in this process (see the module docstring).

    Parameters
    ----------
    lib : NodeLibrary
    node_id : int
    machine, fw_version : str
        HELLO strings (<= 32 printable ASCII).
    rule : AlarmRule-like
        ``threshold``, ``clear_threshold``, ``k``, ``n``.
    trigger_rms_g, trigger_peak_g : float
        Level triggers per hop (g); 0 disables.
    heartbeat_frames, holdoff_frames : int
        ``vs_node_config_t`` fields: 1 / 0 analyse every frame.
    status_period_ms, hello_every_status, features_every, raw_capture_samples : int
        ``vs_node_config_t`` fields.
    boot_counter : int
        The boot counter the node reports at its first start (its store is preloaded with one less).
    reset_reason : int
        ``VS_RESET_*`` the node reads at start.
    use_model : bool
        Score with the library's model (False: mean squared z-score, ``vs_node.h``).
    bank : int, optional
        Host-fake bank (persistent store, reset reason) of an earlier CNode: this one is that chip
        rebooted (its boot record counts on). Default: a fresh bank.
    """

    def __init__(
        self,
        lib: NodeLibrary,
        *,
        node_id: int,
        rule: Any,
        machine: str = "",
        fw_version: str = "vs_node-host",
        trigger_rms_g: float = 0.0,
        trigger_peak_g: float = 0.0,
        heartbeat_frames: int = 1,
        holdoff_frames: int = 0,
        status_period_ms: int = 10_000,
        hello_every_status: int = 10,
        features_every: int = 10,
        raw_capture_samples: int = 0,
        boot_counter: int = 1,
        reset_reason: int = RESET_POWER_ON,
        use_model: bool = True,
        bank: int | None = None,
    ) -> None:
        self.lib = lib
        self.node_id = node_id
        self.bank = lib.take_bank() if bank is None else bank
        self._mem = ctypes.create_string_buffer(lib.instance_size + 16)
        # vs_node_t holds floats and u64s: align the instance to 16 bytes within the buffer.
        addr = ctypes.addressof(self._mem)
        self._ptr = ctypes.c_void_p(addr + (-addr % 16))
        model, mean, std = lib.model_pointers() if use_model else (None, None, None)
        self._hash = ctypes.create_string_buffer(lib.model_hash if use_model else bytes(32), 32)
        with lib.lock:
            self._select(0)
            rc = lib.lib.vs_host_node_init(
                self._ptr, node_id, fw_version.encode("ascii"), machine.encode("ascii"), trigger_rms_g,
                trigger_peak_g, heartbeat_frames, holdoff_frames, float(rule.threshold),
                float(rule.clear_threshold), int(rule.k), int(rule.n), model, mean, std, self._hash,
                status_period_ms, hello_every_status, features_every, raw_capture_samples,
            )  # fmt: skip
            if rc != 0:
                raise ExportError(f"vs_node_init refused the configuration of node {node_id} (status {rc})")
            if boot_counter > 1:
                self._preload_boot_counter(boot_counter - 1)
            lib.lib.vs_host_set_reset_reason(reset_reason)
        self.started = False

    def _select(self, t_us: int) -> None:
        self.lib.lib.vs_host_select(self.bank)
        self.lib.lib.vs_host_clock_set_us(max(0, int(t_us)))

    def _preload_boot_counter(self, value: int) -> None:
        head = np.array([_BOOT_MAGIC, _BOOT_VERSION, value, 0], dtype="<u4").tobytes()
        rec = head + np.array([zlib.crc32(head)], dtype="<u4").tobytes()
        self.lib.lib.vs_platform_store_write(_STORE_BOOT, rec, len(rec))

    def _take(self) -> bytes:
        out = bytearray()
        buf = ctypes.create_string_buffer(_TX_CHUNK)
        while True:
            n = self.lib.lib.vs_host_uart_tx_take(buf, _TX_CHUNK)
            out += buf.raw[:n]
            if n < _TX_CHUNK:
                return bytes(out)

    def start(self, t_us: int = 0) -> bytes:
        """Boot: boot record, HELLO, sampler. Returns the bytes sent."""
        with self.lib.lock:
            self._select(t_us)
            rc = self.lib.lib.vs_node_start(self._ptr)
            if rc != 0:
                raise ExportError(f"vs_node_start failed for node {self.node_id} (status {rc})")
            self.started = True
            return self._take()

    def push(self, samples: npt.ArrayLike, t_us: int) -> bytes:
        """Push samples (g) as the sampling ISR would, in blocks of at most the ring's size, polling after each
        block, with the clock at ``t_us``. Returns the bytes sent."""
        x = np.ascontiguousarray(samples, dtype=np.float32)
        block = self.lib.ring_samples
        with self.lib.lock:
            self._select(t_us)
            for i in range(0, x.size, block):
                part = x[i : i + block]
                rc = self.lib.lib.vs_node_push_samples_f32(self._ptr, part.ctypes.data, part.size)
                if rc != 0:
                    raise ExportError(f"vs_node_push_samples_f32 failed (status {rc})")
                self.lib.lib.vs_node_poll(self._ptr)
            return self._take()

    @property
    def has_work(self) -> bool:
        """vs_node_has_work: samples or received bytes waiting, or a RAW_CHUNK still to send."""
        return bool(self.lib.lib.vs_node_has_work(self._ptr))

    def rx(self, data: bytes, t_us: int) -> bytes:
        """Deliver bytes received on the node's UART and poll; returns the bytes the node sent."""
        with self.lib.lock:
            self._select(t_us)
            self.lib.lib.vs_node_rx_bytes(self._ptr, data, len(data))
            self.lib.lib.vs_node_poll(self._ptr)
            return self._take()

    def poll(self, t_us: int) -> bytes:
        """One main-loop step at node time ``t_us`` (STATUS when due, one pending RAW_CHUNK)."""
        with self.lib.lock:
            self._select(t_us)
            self.lib.lib.vs_node_poll(self._ptr)
            return self._take()

    def corrupt_store(self, record_id: int, byte_index: int) -> None:
        """Flip bits of one byte of this chip's persistent-store record (a torn write or a bit flip)."""
        with self.lib.lock:
            self.lib.lib.vs_host_select(self.bank)
            self.lib.lib.vs_host_store_corrupt(record_id, byte_index)

    def counter(self, name: str) -> int:
        """A ``vs_node_counters_t`` field by name (``nacks.<reason>`` for one NACK reason)."""
        v = int(self.lib.lib.vs_host_node_counter(self._ptr, name.encode("ascii")))
        if v == 0xFFFFFFFF:
            raise KeyError(name)
        return v

    @property
    def last_features(self) -> npt.NDArray[np.float32]:
        """The feature vector of the last analysed frame (a copy), shape (n_features,)."""
        p = self.lib.lib.vs_node_last_features(self._ptr)
        return np.ctypeslib.as_array(p, shape=(self.lib.n_features,)).copy()

    @property
    def last_score(self) -> float:
        return float(self.lib.lib.vs_node_last_score(self._ptr))


def split_frames(data: bytes) -> list[bytes]:
    """Wire frames (each with its 0x00) in a byte string the node wrote (it writes whole frames only)."""
    parts = data.split(b"\0")
    return [p + b"\0" for p in parts[:-1]]


def stream_messages(
    lib: NodeLibrary,
    signal: npt.ArrayLike,
    *,
    node_id: int,
    machine: str,
    rule: Any,
    fw_version: str = "vs_node-sim",
    boot_counter: int = 1,
    trigger_rms_g: float = 0.0,
    status_every_s: float = 10.0,
    features_every: int = 10,
    raw_capture_samples: int = 0,
    raw_every_s: float = 0.0,
    t0_us: int = 1000,
    use_model: bool = True,
    learn_baseline: tuple[float, int, float] | None = None,
    commands: deque[bytes] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """``(node_time_us, wire_frame)`` of a C node playing ``signal`` (g) from its boot at ``t0_us``.

    The signal is pushed one hop at a time with the node clock at the time of the hop's last sample; a raw
    capture's remaining chunks go out 1 us apart (one per main-loop step, as on a board). Routine captures
    every ``raw_every_s`` are requested with REQUEST_RAW, as a gateway would; the node's ACKs to these
    requests are not yielded (they answer the simulator, not the gateway). ``learn_baseline`` =
    ``(at_s, n_frames, k)`` sends BASELINE_LEARN START before the first block that ends at or after ``at_s``
    (its ACK is not yielded either). These own commands use sequence numbers from :data:`OWN_SEQ` up, apart
    from a host's, so vs_node never takes a host command for a retry of one of them.

    ``commands``: host -> node wire frames (with their 0x00) a simulator received for this node; before each
    hop the queue is emptied into the node's UART at that hop's time and everything the node answers (its
    one ACK/NACK per command, RAW_CHUNKs, later SCOREs with a new threshold) is yielded.
    """
    x = np.ascontiguousarray(signal, dtype=np.float32)
    fs = lib.sample_rate
    node = CNode(lib, node_id=node_id, rule=rule, machine=machine[:32], fw_version=fw_version,
                 trigger_rms_g=trigger_rms_g, heartbeat_frames=0 if trigger_rms_g > 0 else 1,
                 status_period_ms=round(status_every_s * 1000), hello_every_status=10,
                 features_every=features_every, raw_capture_samples=min(raw_capture_samples, lib.raw_max),
                 boot_counter=boot_counter, use_model=use_model)  # fmt: skip
    for f in split_frames(node.start(t0_us)):
        yield t0_us, f
    first = lib.frame_length % lib.hop_length or lib.hop_length
    bounds = [first, *range(first + lib.hop_length, x.size + 1, lib.hop_length)]
    start, next_raw, capture_id, seq = 0, raw_every_s, 0x10000, OWN_SEQ
    learn_at = learn_baseline[0] * 1e6 if learn_baseline is not None else float("inf")
    for end in bounds:
        t = t0_us + round(end / fs * 1e6)
        while commands:
            for f in split_frames(node.rx(commands.popleft(), t)):
                yield t, f
        if t >= learn_at and learn_baseline is not None:
            learn_at, seq = float("inf"), seq + 1
            cmd = vp.BaselineLearn(int(vp.BaselineAction.START), learn_baseline[1], learn_baseline[2])
            for f in split_frames(node.rx(vp.encode(cmd, node_id=node_id, seq=seq, timestamp_us=t), t)):
                if not isinstance(vp.decode_frame(f).message, vp.Ack | vp.Nack):
                    yield t, f
        for f in split_frames(node.push(x[start:end], t)):
            yield t, f
        start = end
        if raw_every_s > 0 and end / fs >= next_raw:
            while end / fs >= next_raw:
                next_raw += raw_every_s
            capture_id += 1
            seq += 1
            n = min(raw_capture_samples, lib.raw_max)
            req = vp.RequestRaw(capture_id, n, int(vp.SampleFormat.INT16))
            for f in split_frames(node.rx(vp.encode(req, node_id=node_id, seq=seq, timestamp_us=t), t)):
                if not isinstance(vp.decode_frame(f).message, vp.Ack | vp.Nack):
                    yield t, f
        k = 0
        while node.has_work:
            k += 1
            for f in split_frames(node.poll(t + k)):
                yield t + k, f
