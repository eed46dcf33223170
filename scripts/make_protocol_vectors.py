"""Regenerate tests/vectors/protocol/: wire-protocol known-answer vectors from the Python codec.

Outputs (see docs/protocol.md, section 7):

- ``messages.json``: named vectors with header fields, message fields and the exact frame bytes (hex);
- ``frames.txt``: ``NAME HEX`` per line, the same frames, for the C test;
- ``bad_frames.txt``: ``NAME KIND HEX`` per line, defective frames and the error kind both decoders report.

Fixed vectors use literal values (the C test checks some fields by hand); random ones come from a seeded
generator. Run ``.venv/bin/python scripts/make_protocol_vectors.py`` after changing docs/protocol.md only.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.protocol import random_frame, raw_body, reframe  # noqa: E402
from vibsentry import protocol as vp  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "protocol"
CORPUS = ROOT / "firmware_core" / "fuzz" / "corpus"
SEED = 20261121
RANDOM_PER_TYPE = 4


def fixed() -> list[tuple[str, dict[str, int], vp.Message]]:
    """Hand-written vectors: typical messages, empty/maximal arrays and header extremes."""
    fh = hashlib.sha256(b"vibsentry feature params").digest()
    mh = hashlib.sha256(b"vibsentry model").digest()
    h = {"node_id": 7, "seq": 1, "timestamp_us": 1_000_000}
    ramp_i16 = tuple(((i * 131) % 65536) - 32768 for i in range(vp.MAX_SAMPLES_I16))
    # Every byte value, including runs long enough for 0xFF COBS blocks.
    model = bytes(range(1, 256)) * 3 + bytes(235)
    return [
        ("score_basic", h, vp.Score(0.75, 1.5, 0, -1, 0.125, 0.5, 2.25, 42)),
        ("score_alarm_class", {**h, "seq": 2}, vp.Score(0.96875, 0.5, 1, 3, 1.0, 4.0, 11.5, 4096)),
        ("hello_basic", {**h, "seq": 0}, vp.Hello("vibsentry-fw 0.1.0", "pump-3", 12000.0, fh, mh, 5)),
        ("hello_empty_strings", {**h, "seq": 0}, vp.Hello("", "", 48000.0, fh, bytes(32), 0)),
        ("hello_max_strings", {**h, "seq": 0}, vp.Hello("~" * 32, " " * 32, 1.0, bytes(32), fh, 0xFFFFFFFF)),
        ("hello_v2_trial_after_watchdog", {**h, "seq": 0}, vp.Hello("vibsentry-fw 0.2.0", "pump-3", 12000.0, fh, mh, 6, 2, vp.ResetReason.WATCHDOG, vp.ModelSlot.B, vp.ModelState.TRIAL)),
        # A version-1 node (no HELLO tail): the gateway still accepts it.
        ("hello_v1", {**h, "seq": 0, "version": 1}, vp.Hello("vibsentry-fw 0.1.0", "pump-3", 12000.0, fh, mh, 5, 1)),
        ("score_v1", {**h, "seq": 3, "version": 1}, vp.Score(0.75, 1.5, 0, -1, 0.125, 0.5, 2.25, 43)),
        ("health_basic", h, vp.Health(7, 1, 9000, 2, 1000, 40, 1, 3, 0, 12, (0, 1, 0, 0, 2) + (0,) * 11, 1, 1, 1, 700, 1024, 1800, 4096)),
        ("model_status_trial", h, vp.ModelStatus(2, 2, 17, mh, 10, 100, 0, 0, 0)),
        ("model_status_refused", h, vp.ModelStatus(1, 3, 16, fh, 0, 100, 2000, 24000, 10)),
        ("baseline_progress_learning", h, vp.BaselineProgress(1, 120, 500, 0.0, 0)),
        ("baseline_progress_done", h, vp.BaselineProgress(2, 500, 500, 3.25, 0xDEADBEEF)),
        ("status_no_optionals", h, vp.Status(3600, 3000, 600, 3700, 12, 1, 0)),
        ("status_all_optionals", h, vp.Status(60, 50, 10, 61, 0, 0, 1, 3.25, 41.5)),
        ("status_temperature_only", h, vp.Status(1, 2, 3, 4, 5, 6, 0, None, -20.0)),
        ("alarm_raise", h, vp.Alarm(1, 2.5, 1.6, 1.2, 3, 5, 1234)),
        ("alarm_clear", h, vp.Alarm(2, 0.5, 1.6, 1.2, 3, 5, 1300)),
        ("features_logmel_4", h, vp.Features(1, 9, (-13.8125, -2.5, 0.0, 1.75))),
        ("features_empty", h, vp.Features(0, 0, ())),
        ("features_max", h, vp.Features(0, 1, tuple(float(i) - 127.0 for i in range(vp.MAX_FEATURE_VALUES)))),
        ("raw_chunk_i16_max", h, vp.RawChunk(77, 0, 3, 12000.0, 0, 2.0**-12, ramp_i16)),
        ("raw_chunk_f32_last", h, vp.RawChunk(77, 2, 3, 12000.0, 1, 1.0, (0.5, -0.25, 1e-3, 0.0))),
        ("ack", h, vp.Ack(0x40, 17)),
        ("nack_bad_value", h, vp.Nack(0x40, 18, 1)),
        ("nack_signature", h, vp.Nack(0x46, 25, vp.NackReason.SIGNATURE)),
        ("nack_unknown_reason_200", h, vp.Nack(0x47, 26, 200)),
        ("set_threshold", {"node_id": 7, "seq": 17, "timestamp_us": 0}, vp.SetThreshold(1.6, 1.2, 3, 5)),
        ("request_raw", {"node_id": 7, "seq": 19, "timestamp_us": 5}, vp.RequestRaw(77, 1200, 0)),
        ("replay_i16", {"node_id": 7, "seq": 20, "timestamp_us": 6}, vp.ReplaySamples(0, 12000.0, 0, 2.0**-12, (0, 1, -1, 32767, -32768))),
        ("replay_f32_empty", {"node_id": 7, "seq": 21, "timestamp_us": 7}, vp.ReplaySamples(1, 12000.0, 1, 1.0, ())),
        ("model_begin", {"node_id": 7, "seq": 22, "timestamp_us": 8}, vp.ModelBegin(len(model), hashlib.sha256(model).digest(), 1000)),
        ("model_chunk_ff_blocks", {"node_id": 7, "seq": 23, "timestamp_us": 9}, vp.ModelChunk(0, model)),
        ("model_commit", {"node_id": 7, "seq": 24, "timestamp_us": 10}, vp.ModelCommit(hashlib.sha256(model).digest())),
        ("model_manifest", {"node_id": 7, "seq": 23, "timestamp_us": 9}, vp.ModelManifest(bytes(range(64)), b'{"counter": 17, "image_size": 1000}')),
        ("model_manifest_max", {"node_id": 7, "seq": 23, "timestamp_us": 9}, vp.ModelManifest(bytes(64), bytes(range(256)) * 3)),
        ("baseline_learn_start", {"node_id": 7, "seq": 30, "timestamp_us": 11}, vp.BaselineLearn(1, 500, 3.0)),
        ("baseline_learn_clear", {"node_id": 7, "seq": 31, "timestamp_us": 12}, vp.BaselineLearn(3, 0, 0.0)),
        ("header_extremes", {"node_id": 0xFFFF, "seq": 0xFFFFFFFF, "timestamp_us": 2**64 - 1}, vp.Ack(0, 0)),
        ("header_zeros", {"node_id": 0, "seq": 0, "timestamp_us": 0}, vp.Ack(0, 0)),
    ]  # fmt: skip


def _with_payload(base: bytes, payload: bytes, *, msg_type: int | None = None, version: int = 2) -> bytes:
    """A frame with base's header but another payload (and type/version), CRC recomputed."""
    body = raw_body(base)
    hdr = bytes([version, body[1] if msg_type is None else msg_type]) + body[2:16]
    return reframe(hdr + payload + b"\0\0\0\0")


def bad_frames(good: dict[str, bytes]) -> list[tuple[str, str, bytes]]:
    """Defective frames, each with the one error kind docs/protocol.md's check order assigns it."""
    score = good["score_basic"]
    sp = raw_body(score)[16:-4]
    status = raw_body(good["status_no_optionals"])[16:-4]
    hello = raw_body(good["hello_basic"])[16:-4]
    raw = raw_body(good["raw_chunk_f32_last"])[16:-4]
    out: list[tuple[str, str, bytes]] = []
    flipped = bytearray(raw_body(score))
    flipped[20] ^= 0x04
    out.append(("crc_payload_bit_flip", "crc", reframe(bytes(flipped), fix_crc=False)))
    flipped = bytearray(raw_body(score))
    flipped[-1] ^= 0x80
    out.append(("crc_crc_bit_flip", "crc", reframe(bytes(flipped), fix_crc=False)))
    flipped = bytearray(raw_body(score))
    flipped[5] ^= 0x01
    out.append(("crc_header_bit_flip", "crc", reframe(bytes(flipped), fix_crc=False)))
    out.append(("version_3", "version", _with_payload(score, sp, version=3)))
    out.append(("version_0", "version", _with_payload(score, sp, version=0)))
    for t in (0x00, 0x0C, 0x3F, 0x48, 0xFF):
        out.append((f"unknown_type_0x{t:02x}", "unknown_type", _with_payload(score, sp, msg_type=t)))
    out.append(("length_score_short", "length", _with_payload(score, sp[:-1])))
    out.append(("length_score_long", "length", _with_payload(score, sp + b"\x01")))
    out.append(("length_frame_19_bytes", "length", reframe(raw_body(score)[:15] + b"\0\0\0\0")))
    out.append(
        ("length_hello_string_overrun", "length", _with_payload(score, hello[:73] + b"\x05abc", msg_type=1))
    )
    out.append(("length_status_33", "length", _with_payload(score, status[:-1], msg_type=2)))
    out.append(
        (
            "length_raw_count_mismatch",
            "length",
            _with_payload(score, raw[:17] + b"\x05\x00" + raw[19:], msg_type=6),
        )
    )
    out.append(
        ("length_model_chunk_count", "length", _with_payload(score, b"\0\0\0\0\x03\x00ab", msg_type=0x44))
    )
    out.append(("invalid_score_alarm_state_2", "invalid", _with_payload(score, sp[:8] + b"\x02" + sp[9:])))
    out.append(("invalid_alarm_event_0", "invalid", _with_payload(score, b"\x00" + bytes(18), msg_type=4)))
    out.append(
        (
            "invalid_status_flags_4",
            "invalid",
            _with_payload(score, status[:25] + b"\x04" + status[26:], msg_type=2),
        )
    )
    out.append(
        (
            "invalid_status_absent_nonzero",
            "invalid",
            _with_payload(score, status[:26] + b"\0\0\x80\x3f" + status[30:], msg_type=2),
        )
    )
    out.append(
        (
            "invalid_features_kind_5",
            "invalid",
            _with_payload(score, b"\x05\0\0\0\0\x01\x00\0\0\0\0", msg_type=5),
        )
    )
    out.append(
        ("invalid_raw_format_2", "invalid", _with_payload(score, raw[:12] + b"\x02" + raw[13:], msg_type=6))
    )
    out.append(
        (
            "invalid_raw_chunk_index",
            "invalid",
            _with_payload(score, raw[:4] + b"\x03\x00\x03\x00" + raw[8:], msg_type=6),
        )
    )
    big = struct.pack("<IHHfBfH", 1, 0, 1, 12000.0, 0, 1.0, 501) + bytes(1002)
    out.append(("invalid_raw_i16_501_samples", "invalid", _with_payload(score, big, msg_type=6)))
    out.append(
        (
            "invalid_hello_non_ascii",
            "invalid",
            _with_payload(score, hello[:74] + b"\x7f" + hello[75:], msg_type=1),
        )
    )
    h33 = hello[:73] + b"\x21" + b"x" * 33 + b"\x00" + hello[-3:]  # version-2 tail kept
    out.append(("invalid_hello_string_33", "invalid", _with_payload(score, h33, msg_type=1)))
    out.append(
        ("invalid_request_raw_format", "invalid", _with_payload(score, bytes(8) + b"\x02", msg_type=0x41))
    )
    mb = bytes(36) + b"\x00\x00"
    out.append(("invalid_model_begin_chunk_0", "invalid", _with_payload(score, mb, msg_type=0x43)))
    mc = struct.pack("<IH", 0, 1001) + bytes(1001)
    out.append(("invalid_model_chunk_1001", "invalid", _with_payload(score, mc, msg_type=0x44)))
    # Version rules of HELLO's tail: a version-1 frame carrying it, a version-2 frame without it.
    h1 = raw_body(good["hello_v1"])[16:-4]
    h2 = raw_body(good["hello_v2_trial_after_watchdog"])[16:-4]
    out.append(
        ("length_hello_v1_with_tail", "length", _with_payload(score, h1 + b"\0\0\0", msg_type=1, version=1))
    )
    out.append(("length_hello_v2_without_tail", "length", _with_payload(score, h1, msg_type=1)))
    out.append(
        (
            "invalid_hello_reset_reason_6",
            "invalid",
            _with_payload(score, h2[:-3] + b"\x06\x02\x02", msg_type=1),
        )
    )
    out.append(
        ("invalid_hello_model_state_5", "invalid", _with_payload(score, h2[:-1] + b"\x05", msg_type=1))
    )
    health = raw_body(good["health_basic"])[16:-4]
    out.append(("length_health_short", "length", _with_payload(score, health[:-1], msg_type=0x09)))
    ms = raw_body(good["model_status_trial"])[16:-4]
    out.append(
        ("invalid_model_status_slot_3", "invalid", _with_payload(score, b"\x03" + ms[1:], msg_type=0x0A))
    )
    bp = raw_body(good["baseline_progress_done"])[16:-4]
    out.append(("invalid_baseline_state_5", "invalid", _with_payload(score, b"\x05" + bp[1:], msg_type=0x0B)))
    mm = struct.pack("<64sH", bytes(64), 769) + bytes(769)
    out.append(("invalid_model_manifest_769", "invalid", _with_payload(score, mm, msg_type=0x46)))
    out.append(
        (
            "length_model_manifest_count",
            "length",
            _with_payload(score, struct.pack("<64sH", bytes(64), 4) + b"ab", msg_type=0x46),
        )
    )
    out.append(
        (
            "invalid_baseline_action_0",
            "invalid",
            _with_payload(score, struct.pack("<BIf", 0, 500, 0.0), msg_type=0x47),
        )
    )
    out.append(
        (
            "invalid_baseline_action_4",
            "invalid",
            _with_payload(score, struct.pack("<BIf", 4, 500, 0.0), msg_type=0x47),
        )
    )
    enc = bytearray(score[:-1])
    enc[0] = 0xFE
    out.append(("cobs_block_overrun", "cobs", bytes(enc) + b"\0"))
    # An extra final block whose code claims four data bytes where two follow.
    out.append(("cobs_last_block_overrun", "cobs", score[:-1] + b"\x05\x01\x02\0"))
    out.append(("cobs_zero_inside", "cobs", score[:10] + b"\0" + score[11:]))
    out.append(("oversize_encoded_1050", "oversize", b"\x01" * 1050 + b"\0"))
    body = bytes(([1] * 199 + [0]) * 5 + [1] * 45)  # 1045 bytes, encodes to 1046 (<= MAX_ENCODED)
    out.append(("oversize_decoded_1045", "oversize", vp.cobs_encode(body) + b"\0"))
    return out


def render() -> tuple[dict[Path, str], dict[str, bytes], list[tuple[str, str, bytes]]]:
    """The vector files' text by path, and the good and bad frames (``tests/project/test_specs.py`` compares the
    committed files with this, so stale vectors fail like any other generated file)."""
    src = Path(__file__).read_bytes()
    banner = (
        f"GENERATED — do not edit: scripts/make_protocol_vectors.py sha256 {hashlib.sha256(src).hexdigest()}"
    )
    vectors = []
    good: dict[str, bytes] = {}
    for name, hdr, msg in fixed():
        frame = vp.encode(msg, **hdr)
        good[name] = frame
        # The fields as decoded: floats become the exact float32 values the frame carries.
        exact = vp.decode_frame(frame).message
        vectors.append({"name": name, "header": hdr, **vp.message_to_dict(exact), "frame": frame.hex()})
    rng = np.random.default_rng(SEED)
    for t in sorted(vp.MESSAGE_CLASSES):
        for i in range(RANDOM_PER_TYPE):
            msg, frame, hdr = random_frame(rng, t)
            name = f"random_{vp.MsgType(t).name.lower()}_{i}"
            good[name] = frame
            vectors.append({"name": name, "header": hdr, **vp.message_to_dict(msg), "frame": frame.hex()})
    bad = bad_frames(good)
    for name, kind, frame in bad:
        try:
            vp.decode_frame(frame)
        except vp.FrameError as exc:
            assert exc.kind == kind, f"{name}: expected {kind}, Python decoder says {exc.kind}: {exc}"
        else:
            raise AssertionError(f"{name}: Python decoder accepted it")
    doc = {"generated": banner, "protocol_version": vp.PROTOCOL_VERSION, "seed": SEED, "vectors": vectors}
    files = {
        OUT / "messages.json": json.dumps(doc, indent=1) + "\n",
        OUT / "frames.txt": f"# {banner}\n" + "".join(f"{n} {f.hex()}\n" for n, f in good.items()),
        OUT / "bad_frames.txt": f"# {banner}\n" + "".join(f"{n} {k} {f.hex()}\n" for n, k, f in bad),
    }
    return files, good, bad


def main() -> None:
    files, good, bad = render()
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
    n_corpus = write_corpus(good, bad)
    print(f"{len(good)} vectors, {len(bad)} bad frames -> {OUT}; {n_corpus} fuzz seeds -> {CORPUS}")


def write_corpus(good: dict[str, bytes], bad: list[tuple[str, str, bytes]]) -> int:
    """The libFuzzer seed corpus (firmware_core/fuzz/fuzz_protocol.c): byte 0 picks the feed piece size, the
    rest is a byte stream. One seed per fixed vector, per message type (its first random vector) and per bad
    frame, plus one stream mixing good and bad frames. Rewritten whole, so no stale seed survives."""
    seeds: dict[str, bytes] = {}
    for i, (name, frame) in enumerate(good.items()):
        if not name.startswith("random_") or name.endswith("_0"):
            seeds[f"good_{name}"] = bytes([i % 256]) + frame
    for i, (name, _kind, frame) in enumerate(bad):
        seeds[f"bad_{name}"] = bytes([(7 * i) % 256]) + frame
    mixed = b"\x55\xaa" + b"".join(good[n] + bad[k][2] for k, n in enumerate(list(good)[:8]))
    seeds["stream_resync"] = bytes([0x10]) + mixed
    if CORPUS.exists():
        for old in CORPUS.iterdir():
            old.unlink()
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (CORPUS / name).write_bytes(data)
    return len(seeds)


if __name__ == "__main__":
    main()
