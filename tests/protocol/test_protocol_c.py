"""The C wire codec (firmware_core vs_protocol/vs_cobs/vs_crc): its sanitizer-built unit test, cppcheck, and
byte-exact parity with the Python codec through ctypes, in both directions and on damaged streams."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.support.cbuild import run_c_test
from tests.support.protocol import C_SOURCES, FW, Shim, build_shim, random_frame, raw_body, reframe
from vibsentry import protocol as vp
from vibsentry._protocol_spec import ERROR_KIND_STATUS
from vibsentry._status_codes import STATUS_CODES

N_RANDOM = 1500


@pytest.fixture(scope="module")
def shim() -> Shim:
    return Shim(build_shim())


def test_c_unit_test_passes_under_asan_and_ubsan() -> None:
    # The firmware_core Makefile's sanitizer build of firmware_core/tests/test_protocol.c (vectors, resync,
    # every error kind, truncations, too-small buffers).
    proc = run_c_test("test_protocol")
    assert "0 failures" in proc.stdout


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="cppcheck not installed (dev.sh installs it)")
def test_c_sources_are_cppcheck_clean() -> None:
    proc = subprocess.run(
        ["cppcheck", "--std=c99", "--enable=warning,style,performance,portability", "--error-exitcode=1",
         "--quiet", "--inline-suppr", "--suppress=missingIncludeSystem", "--suppress=unusedFunction",
         f"-I{FW / 'include'}", *map(str, C_SOURCES)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_crc_matches_zlib(shim: Shim) -> None:
    rng = np.random.default_rng(1)
    for n in (0, 1, 9, 255, 1044):
        data = bytes(rng.integers(0, 256, size=n, dtype=np.uint8))
        assert shim.crc32(data) == vp.crc32(data)


def test_python_frames_decode_and_reencode_identically_in_c(shim: Shim) -> None:
    rng = np.random.default_rng(20261121)
    for _ in range(N_RANDOM):
        msg, frame, _ = random_frame(rng)
        rc, again = shim.reencode(frame)
        assert rc == 0, f"C rejected {msg!r}: {rc}"
        assert again == frame, f"C re-encoded {type(msg).__name__} differently"


def test_c_frames_decode_and_reencode_identically_in_python(shim: Shim) -> None:
    seen = set()
    for seed in range(N_RANDOM):
        frame = shim.random(seed)
        f = vp.decode_frame(frame)
        seen.add(f.header.msg_type)
        h = f.header
        assert (
            vp.encode(f.message, node_id=h.node_id, seq=h.seq, timestamp_us=h.timestamp_us, version=h.version)
            == frame
        )
    assert seen == set(vp.MESSAGE_CLASSES)


def _python_stream(data: bytes, chunk: int) -> tuple[bytes, dict[str, int]]:
    dec = vp.Decoder()
    out = bytearray()
    for i in range(0, len(data), chunk):
        for f in dec.feed(data[i : i + chunk]):
            h = f.header
            out += vp.encode(
                f.message, node_id=h.node_id, seq=h.seq, timestamp_us=h.timestamp_us, version=h.version
            )
    return bytes(out), dec.counters


@pytest.mark.parametrize("seed", range(6))
def test_streaming_decoders_agree_on_damaged_streams(shim: Shim, seed: int) -> None:
    """Garbage, truncations, bit flips, dropped and inserted bytes: same frames and same counters in C and Python."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(150):
        frame = bytearray(random_frame(rng)[1])
        r = rng.random()
        if r < 0.1:
            frame[int(rng.integers(len(frame)))] ^= 1 << int(rng.integers(8))
        elif r < 0.2:
            frame = frame[: int(rng.integers(len(frame)))]
        elif r < 0.25:
            del frame[int(rng.integers(len(frame) - 1))]
        elif r < 0.3:
            parts.append(bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8)))
        elif r < 0.32:
            parts.append(bytes(rng.integers(1, 256, size=int(rng.integers(1100, 3000)), dtype=np.uint8)))
        parts.append(bytes(frame))
    stream = b"".join(parts)
    chunk = int(rng.integers(1, 700))
    c_out, c_counters = shim.stream(stream, chunk)
    py_out, py_counters = _python_stream(stream, chunk)
    assert c_counters == py_counters
    assert c_out == py_out
    assert py_counters["frames"] > 60 and sum(py_counters[k] for k in vp.ERROR_KINDS) > 5


# C status code -> error kind, from the one registry (specs/status_codes.toml, specs/protocol.toml).
_C_KIND = {STATUS_CODES[status]: kind for kind, status in ERROR_KIND_STATUS.items()}


def _python_verdict(frame: bytes) -> tuple[str, bytes]:
    try:
        f = vp.decode_frame(frame)
    except vp.FrameError as exc:
        return exc.kind, b""
    h = f.header
    return "ok", vp.encode(
        f.message, node_id=h.node_id, seq=h.seq, timestamp_us=h.timestamp_us, version=h.version
    )


def test_decoders_agree_on_mutated_frames_with_valid_crc(shim: Shim) -> None:
    """Header and payload bytes changed and the CRC fixed up: the payload checks themselves must agree."""
    rng = np.random.default_rng(99)
    verdicts: dict[str, int] = {}
    for _ in range(3000):
        body = bytearray(raw_body(random_frame(rng)[1]))
        for _ in range(int(rng.integers(1, 4))):
            r = rng.random()
            pos = int(rng.integers(len(body) - 4))
            if r < 0.6:
                body[pos] = int(rng.integers(256))
            elif r < 0.8:
                del body[pos]
            else:
                body[pos:pos] = bytes(rng.integers(0, 256, size=int(rng.integers(1, 4)), dtype=np.uint8))
        if rng.random() < 0.3:
            body[1] = int(rng.choice(sorted(vp.MESSAGE_CLASSES)))  # a valid type with a foreign payload
        frame = reframe(bytes(body))
        py_kind, py_bytes = _python_verdict(frame)
        rc, c_bytes = shim.reencode(frame)
        c_kind = "ok" if rc == 0 else _C_KIND.get(rc, str(rc))
        assert c_kind == py_kind, f"frame {frame.hex()}: C says {c_kind}, Python says {py_kind}"
        if c_bytes != py_bytes:
            # The one allowed difference (docs/protocol.md, SCORE): CPython sets the quiet bit of a signalling
            # NaN (bit 22 = 0x40 of the float's third byte). Compare the raw bodies so COBS shifts do not hide it.
            cb, pb = raw_body(c_bytes), raw_body(py_bytes)
            diffs = [i for i in range(len(cb)) if cb[i] != pb[i]] if len(cb) == len(pb) else [-1]
            payload_diffs = [i for i in diffs if i < len(cb) - 4]
            assert payload_diffs and all(
                cb[i] ^ pb[i] == 0x40 and pb[i + 1] & 0x7F == 0x7F for i in payload_diffs
            ), f"frame {frame.hex()}: C and Python re-encodings differ beyond signalling-NaN quieting"
            verdicts["snan"] = verdicts.get("snan", 0) + 1
        verdicts[py_kind] = verdicts.get(py_kind, 0) + 1
    # The mutations reach every payload check, not just the CRC.
    assert {"ok", "length", "invalid", "version", "unknown_type"} <= set(verdicts), verdicts
