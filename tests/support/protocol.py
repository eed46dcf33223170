"""Helpers for the protocol tests: seeded random messages, frame surgery, and two C builds.

The C unit test (``firmware_core/tests/test_protocol.c``) is built by the firmware_core Makefile
(``tests.support.cbuild.run_c_test``). The ctypes shim and the libFuzzer target are compiled here directly
from ``firmware_core/src/vs_{protocol,cobs,crc}.c`` (three self-contained files, no CMSIS-DSP), into
``firmware_core/build/protocol/``: the fuzzer needs clang with -fsanitize=fuzzer, and the shim adds a test-only
source the library must not contain.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

from vibsentry import protocol as vp

ROOT = Path(__file__).resolve().parents[2]
FW = ROOT / "firmware_core"
BUILD = FW / "build" / "protocol"
VECTORS = ROOT / "tests" / "vectors" / "protocol"
C_SOURCES = [FW / "src" / "vs_protocol.c", FW / "src" / "vs_cobs.c", FW / "src" / "vs_crc.c"]
SHIM = ROOT / "tests" / "support" / "protocol_shim.c"
WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes"]
SANITIZE = [
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
]


def f32(x: float) -> float:
    """Round ``x`` to the nearest float32 (what the wire carries)."""
    return float(np.float32(x))


def _rand_f32(rng: np.random.Generator) -> float:
    # Finite values over many magnitudes, plus exact corner cases; NaN is left out because CPython may
    # quieten a signalling NaN when converting float32 -> float -> float32, so re-encoding is not bit-exact.
    r = rng.random()
    if r < 0.05:
        return [0.0, -0.0, 1.0, -1.0, 3.4028234663852886e38, 1.401298464324817e-45][int(rng.integers(6))]
    return f32(rng.standard_normal() * 10.0 ** int(rng.integers(-6, 7)))


def _ascii(rng: np.random.Generator, max_len: int = vp.MAX_STRING) -> str:
    n = int(rng.integers(0, max_len + 1))
    return bytes(rng.integers(0x20, 0x7F, size=n, dtype=np.uint8)).decode("ascii")


def _samples(rng: np.random.Generator, fmt: int) -> tuple[float, ...] | tuple[int, ...]:
    if fmt == 0:
        n = int(rng.integers(0, vp.MAX_SAMPLES_I16 + 1))
        return tuple(int(v) for v in rng.integers(-32768, 32768, size=n))
    n = int(rng.integers(0, vp.MAX_SAMPLES_F32 + 1))
    return tuple(_rand_f32(rng) for _ in range(n))


def random_message(rng: np.random.Generator, msg_type: int | None = None) -> vp.Message:
    """A random valid message (every field within its limits), of ``msg_type`` or of a random type."""
    types = sorted(vp.MESSAGE_CLASSES)
    t = int(msg_type if msg_type is not None else types[int(rng.integers(len(types)))])
    u8 = lambda: int(rng.integers(0, 256))  # noqa: E731
    u32 = lambda: int(rng.integers(0, 1 << 32, dtype=np.uint64))  # noqa: E731
    fl = lambda: _rand_f32(rng)  # noqa: E731
    h = lambda: bytes(rng.integers(0, 256, size=32, dtype=np.uint8))  # noqa: E731
    if t == vp.MsgType.HELLO:
        return vp.Hello(
            _ascii(rng), _ascii(rng), fl(), h(), h(), u32(), u8(),
            int(rng.integers(6)), int(rng.integers(3)), int(rng.integers(5)),
        )  # fmt: skip
    if t == vp.MsgType.STATUS:
        return vp.Status(
            u32(), u32(), u32(), u32(), u32(), u32(), int(rng.integers(2)),
            fl() if rng.random() < 0.5 else None, fl() if rng.random() < 0.5 else None,
        )  # fmt: skip
    if t == vp.MsgType.SCORE:
        return vp.Score(
            fl(), fl(), int(rng.integers(2)), int(rng.integers(-32768, 32768)), fl(), fl(), fl(), u32()
        )
    if t == vp.MsgType.ALARM:
        return vp.Alarm(int(rng.integers(1, 3)), fl(), fl(), fl(), u8(), u8(), u32())
    if t == vp.MsgType.FEATURES:
        n = int(rng.integers(0, vp.MAX_FEATURE_VALUES + 1))
        return vp.Features(int(rng.integers(5)), u32(), tuple(fl() for _ in range(n)))
    if t == vp.MsgType.RAW_CHUNK:
        cc = int(rng.integers(1, 1 << 16))
        fmt = int(rng.integers(2))
        return vp.RawChunk(u32(), int(rng.integers(cc)), cc, fl(), fmt, fl(), _samples(rng, fmt))
    if t == vp.MsgType.ACK:
        return vp.Ack(u8(), u32())
    if t == vp.MsgType.NACK:
        return vp.Nack(u8(), u32(), u8())
    if t == vp.MsgType.HEALTH:
        head = [u32() for _ in range(10)]
        nacks = tuple(u32() for _ in range(vp.NACK_SLOTS))
        tail = [u32() for _ in range(7)]
        return vp.Health(*head, nacks, *tail)  # type: ignore[arg-type,call-arg]
    if t == vp.MsgType.MODEL_STATUS:
        return vp.ModelStatus(
            int(rng.integers(3)), int(rng.integers(5)), u32(), h(), u32(), u32(), u32(), u32(), u8()
        )
    if t == vp.MsgType.BASELINE_PROGRESS:
        return vp.BaselineProgress(int(rng.integers(5)), u32(), u32(), fl(), u32())
    if t == vp.MsgType.MODEL_MANIFEST:
        n = int(rng.integers(0, vp.MAX_MANIFEST + 1))
        return vp.ModelManifest(bytes(rng.integers(0, 256, size=64, dtype=np.uint8)),
                                bytes(rng.integers(0, 256, size=n, dtype=np.uint8)))  # fmt: skip
    if t == vp.MsgType.BASELINE_LEARN:
        return vp.BaselineLearn(int(rng.integers(1, 4)), u32(), fl())
    if t == vp.MsgType.SET_THRESHOLD:
        return vp.SetThreshold(fl(), fl(), u8(), u8())
    if t == vp.MsgType.REQUEST_RAW:
        return vp.RequestRaw(u32(), u32(), int(rng.integers(2)))
    if t == vp.MsgType.REPLAY_SAMPLES:
        fmt = int(rng.integers(2))
        return vp.ReplaySamples(u32(), fl(), fmt, fl(), _samples(rng, fmt))
    if t == vp.MsgType.MODEL_BEGIN:
        return vp.ModelBegin(u32(), h(), int(rng.integers(1, vp.MAX_MODEL_CHUNK + 1)))
    if t == vp.MsgType.MODEL_CHUNK:
        n = int(rng.integers(0, vp.MAX_MODEL_CHUNK + 1))
        # Runs of zeros and of non-zeros both occur in model images; both stress COBS differently.
        data = bytes(rng.integers(0, 256, size=n, dtype=np.uint8)) if rng.random() < 0.5 else bytes(
            rng.integers(1, 256, size=n, dtype=np.uint8))  # fmt: skip
        return vp.ModelChunk(u32(), data)
    if t == vp.MsgType.MODEL_COMMIT:
        return vp.ModelCommit(h())
    raise AssertionError(f"no generator for type {t}")


def random_frame(rng: np.random.Generator, msg_type: int | None = None) -> tuple[vp.Message, bytes, dict]:
    """A random message, its encoded frame and the header fields used."""
    msg = random_message(rng, msg_type)
    hdr = {
        "node_id": int(rng.integers(0, 1 << 16)),
        "seq": int(rng.integers(0, 1 << 32, dtype=np.uint64)),
        "timestamp_us": int(rng.integers(0, 1 << 63, dtype=np.uint64)) * 2 + int(rng.integers(2)),
    }
    return msg, vp.encode(msg, **hdr), hdr


def raw_body(frame: bytes) -> bytes:
    """The decoded (pre-COBS) bytes of a frame: header | payload | crc."""
    return vp.cobs_decode(frame.rstrip(b"\0") if frame.endswith(b"\0") else frame)


def reframe(body: bytes, *, fix_crc: bool = True) -> bytes:
    """COBS-frame ``body`` (header | payload | crc), recomputing the CRC first unless ``fix_crc`` is False."""
    if fix_crc:
        body = body[:-4] + struct.pack("<I", vp.crc32(body[:-4]))
    return vp.cobs_encode(body) + b"\0"


# ------------------------------------------------------------------------------------------------------------
# C builds
# ------------------------------------------------------------------------------------------------------------


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc") or shutil.which("clang")


def _build(out: Path, args: list[str], deps: list[Path]) -> Path:
    """Compile when ``out`` is missing or older than a dependency; write via a temp name, then rename."""
    if out.exists() and all(out.stat().st_mtime >= d.stat().st_mtime for d in deps):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    proc = subprocess.run([*args, "-o", str(tmp)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"C build failed: {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    tmp.replace(out)
    return out


def _headers() -> list[Path]:
    # The codec also includes the generated spec header and the generated fixed-layout codec fragment.
    return [*sorted((FW / "include" / "vs").glob("**/vs_*.h")), FW / "src" / "vs_protocol_fixed.inc"]


def build_shim() -> Path:
    """Build the ctypes shared library (codec + ``tests/support/protocol_shim.c``), no sanitizers."""
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler (gcc/cc/clang) on PATH")
    return _build(
        BUILD / "libvsproto_shim.so",
        [cc, *WARN, "-O2", "-g", "-fPIC", "-shared", f"-I{FW / 'include'}", str(SHIM), *map(str, C_SOURCES)],
        [SHIM, *C_SOURCES, *_headers()],
    )


def build_fuzzer() -> Path | None:
    """Build the libFuzzer target with clang (ASan + UBSan); None when no clang with libFuzzer is present."""
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        return None
    src = FW / "fuzz" / "fuzz_protocol.c"
    return _build(
        BUILD / "fuzz_protocol",
        [clang, "-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
         "-fno-sanitize-recover=all", f"-I{FW / 'include'}", str(src), *map(str, C_SOURCES)],
        [src, *C_SOURCES, *_headers()],
    )  # fmt: skip


class Shim:
    """ctypes wrapper of ``protocol_shim.c``: the C codec driven with Python bytes."""

    N_COUNTERS = 9  # frames, bytes, oversize, cobs, length, crc, version, unknown_type, invalid

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        sz = ctypes.c_size_t
        buf = ctypes.c_char_p
        lib.shim_reencode.argtypes = [buf, sz, ctypes.c_void_p, sz, ctypes.POINTER(sz)]
        lib.shim_random.argtypes = [ctypes.c_uint32, ctypes.c_void_p, sz, ctypes.POINTER(sz)]
        lib.shim_stream.argtypes = [buf, sz, sz, ctypes.c_void_p, sz, ctypes.POINTER(sz), ctypes.c_void_p]
        lib.shim_crc32.argtypes = [buf, sz]
        lib.shim_crc32.restype = ctypes.c_uint32
        self.lib = lib

    def reencode(self, frame: bytes) -> tuple[int, bytes]:
        """C decode_frame then encode; returns (status, frame bytes)."""
        out = ctypes.create_string_buffer(vp.MAX_WIRE)
        n = ctypes.c_size_t(0)
        rc = self.lib.shim_reencode(frame, len(frame), out, len(out), ctypes.byref(n))
        return rc, out.raw[: n.value]

    def random(self, seed: int) -> bytes:
        """A frame of a random valid message generated and encoded by C."""
        out = ctypes.create_string_buffer(vp.MAX_WIRE)
        n = ctypes.c_size_t(0)
        rc = self.lib.shim_random(seed, out, len(out), ctypes.byref(n))
        assert rc == 0, f"shim_random({seed}) failed with {rc}"
        return out.raw[: n.value]

    def stream(self, data: bytes, chunk: int) -> tuple[bytes, dict[str, int]]:
        """Feed ``data`` to the C streaming decoder in pieces of ``chunk`` bytes; re-encode every frame."""
        cap = 2 * len(data) + vp.MAX_WIRE
        out = ctypes.create_string_buffer(cap)
        n = ctypes.c_size_t(0)
        counters = (ctypes.c_uint32 * self.N_COUNTERS)()
        rc = self.lib.shim_stream(data, len(data), chunk, out, cap, ctypes.byref(n), counters)
        assert rc >= 0, f"shim_stream failed with {rc}"
        names = ("frames", "bytes", *vp.ERROR_KINDS)
        return out.raw[: n.value], dict(zip(names, counters, strict=True))

    def crc32(self, data: bytes) -> int:
        return int(self.lib.shim_crc32(data, len(data)))
