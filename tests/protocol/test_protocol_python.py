"""The Python wire codec (vibsentry.protocol) against docs/protocol.md: known-answer vectors, error kinds,
resynchronisation of the streaming decoder, and Hypothesis properties on arbitrary input."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.protocol import VECTORS, random_frame, random_message, raw_body, reframe
from vibsentry import protocol as vp
from vibsentry.errors import FrameError, ProtocolError

MESSAGES = json.loads((VECTORS / "messages.json").read_text())["vectors"]


def _bad_frames() -> list[tuple[str, str, bytes]]:
    lines = (VECTORS / "bad_frames.txt").read_text().splitlines()
    return [
        (n, k, bytes.fromhex(h)) for n, k, h in (ln.split() for ln in lines if ln and not ln.startswith("#"))
    ]


BAD = _bad_frames()


def _score(frame_index: int = 42) -> vp.Score:
    return vp.Score(0.75, 1.5, 0, -1, 0.125, 0.5, 2.25, frame_index)


@pytest.mark.parametrize("vec", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_vector_encodes_to_exact_bytes_and_decodes_to_its_fields(vec: dict) -> None:
    msg = vp.message_from_dict(vec)
    frame = bytes.fromhex(vec["frame"])
    assert vp.encode(msg, **vec["header"]) == frame
    got = vp.decode_frame(frame)
    assert got.message == msg
    assert vp.message_to_dict(got.message) == {"type": vec["type"], "fields": vec["fields"]}
    hdr = vec["header"]
    assert (got.header.node_id, got.header.seq, got.header.timestamp_us) == (
        hdr["node_id"],
        hdr["seq"],
        hdr["timestamp_us"],
    )
    assert got.header.version == vec["header"].get("version", vp.PROTOCOL_VERSION)
    assert got.header.msg_type == vp.MsgType[vec["type"]]
    assert len(frame) <= vp.MAX_WIRE and frame.count(0) == 1 and frame.endswith(b"\0")


def test_every_message_type_has_vectors() -> None:
    assert {v["type"] for v in MESSAGES} == {t.name for t in vp.MsgType}


@pytest.mark.parametrize(("name", "kind", "frame"), BAD, ids=[b[0] for b in BAD])
def test_defective_frame_is_rejected_with_its_kind(name: str, kind: str, frame: bytes) -> None:
    with pytest.raises(FrameError) as info:
        vp.decode_frame(frame)
    assert info.value.kind == kind
    assert isinstance(info.value, ProtocolError)


def test_crc_parameters_match_the_spec() -> None:
    assert vp.crc32(b"123456789") == 0xCBF43926
    body = raw_body(vp.encode(_score(), node_id=1, seq=2, timestamp_us=3))
    assert struct.unpack("<I", body[-4:])[0] == vp.crc32(body[:-4])


def test_cobs_canonical_form_and_limits() -> None:
    assert vp.cobs_encode(b"") == b"\x01"
    assert vp.cobs_encode(b"\0") == b"\x01\x01"
    run = bytes(range(1, 255))
    assert vp.cobs_encode(run) == b"\xff" + run + b"\x01"
    assert vp.cobs_decode(b"\xff" + run) == run  # the other encoders' form is accepted too
    assert vp.cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    worst = bytes([1]) * vp.MAX_FRAME
    assert len(vp.cobs_encode(worst)) == vp.MAX_ENCODED
    with pytest.raises(FrameError, match="cobs"):
        vp.cobs_decode(b"\x05\x01")


def test_largest_messages_fit_max_wire() -> None:
    biggest = [
        vp.RawChunk(1, 0, 1, 1.0, 0, 1.0, (1,) * vp.MAX_SAMPLES_I16),
        vp.RawChunk(1, 0, 1, 1.0, 1, 1.0, (1.0,) * vp.MAX_SAMPLES_F32),
        vp.Features(0, 0, (1.0,) * vp.MAX_FEATURE_VALUES),
        vp.ModelChunk(0, b"\xff" * vp.MAX_MODEL_CHUNK),
        vp.Hello("x" * 32, "y" * 32, 1.0, bytes(32), bytes(32), 0),
    ]
    for m in biggest:
        frame = vp.encode(m, node_id=1, seq=1, timestamp_us=1)
        assert len(frame) <= vp.MAX_WIRE
        assert vp.decode_frame(frame).message == m


@pytest.mark.parametrize(
    ("msg", "header", "quoted"),
    [
        (vp.Score(0.5, 1.0, 2, -1, 0.0, 0.0, 0.0, 0), {}, "alarm_state=2"),
        (_score(), {"node_id": 70000}, "node_id=70000"),
        (_score(), {"seq": -1}, "seq=-1"),
        (_score(), {"timestamp_us": 2**64}, f"timestamp_us={2**64}"),
        (vp.Score(1e39, 1.0, 0, -1, 0.0, 0.0, 0.0, 0), {}, "1e+39"),
        (vp.Hello("fw\u00e9", "m", 1.0, bytes(32), bytes(32), 0), {}, "fw_version='fw\u00e9'"),
        (vp.Hello("fw", "m" * 33, 1.0, bytes(32), bytes(32), 0), {}, "machine="),
        (vp.Hello("fw", "m", 1.0, "ab" * 32, bytes(32), 0), {}, "feature_hash="),  # type: ignore[arg-type]
        (vp.Features(9, 0, ()), {}, "kind=9"),
        (vp.Features(0, 0, (0.0,) * 255), {}, "count=255"),
        (vp.RawChunk(1, 3, 3, 1.0, 0, 1.0, ()), {}, "chunk_index=3"),
        (vp.RawChunk(1, 0, 1, 1.0, 2, 1.0, ()), {}, "sample_format=2"),
        (vp.ReplaySamples(0, 1.0, 1, 1.0, (0.0,) * 251), {}, "n_samples=251"),
        (vp.ModelBegin(10, bytes(32), 0), {}, "chunk_size=0"),
        (vp.ModelChunk(0, bytes(1001)), {}, "1001 bytes"),
        (vp.Alarm(3, 0.0, 0.0, 0.0, 1, 1, 0), {}, "event=3"),
        (vp.Status(0, 0, 0, 0, 0, 0, 5), {}, "alarm_state=5"),
        (vp.Ack(256, 0), {}, "256"),
    ],
)
def test_encode_refuses_out_of_range_fields_quoting_them(msg: vp.Message, header: dict, quoted: str) -> None:
    hdr = {"node_id": 1, "seq": 1, "timestamp_us": 1, **header}
    with pytest.raises(ProtocolError) as info:
        vp.encode(msg, **hdr)
    assert quoted in str(info.value)


def test_status_optional_values_round_trip_as_none() -> None:
    for bat, temp in [(None, None), (3.5, None), (None, -4.25), (0.0, 0.0)]:
        m = vp.Status(1, 2, 3, 4, 5, 6, 1, bat, temp)
        assert vp.decode_frame(vp.encode(m, node_id=1, seq=1, timestamp_us=1)).message == m


def test_decoder_resynchronises_and_counts_each_error_kind() -> None:
    good = vp.encode(_score(), node_id=3, seq=9, timestamp_us=99)
    stream = bytearray(b"\0\0")  # idle delimiters are not errors
    expected = dict.fromkeys(vp.ERROR_KINDS, 0)
    n_good = 1
    stream += good
    for _name, kind, frame in BAD:
        if b"\0" in frame[:-1]:
            continue  # a 0x00 inside splits the frame: not one error
        stream += frame + good
        expected[kind] += 1
        n_good += 1
    dec = vp.Decoder()
    frames = []
    for i in range(0, len(stream), 37):
        frames += dec.feed(stream[i : i + 37])
    assert len(frames) == n_good
    assert all(f.message == _score() and f.header.seq == 9 for f in frames)
    assert {k: dec.counters[k] for k in vp.ERROR_KINDS} == expected
    assert dec.counters["frames"] == n_good and dec.counters["bytes"] == len(stream)
    assert dec.errors == sum(expected.values()) and dec.pending == 0


def test_truncated_frame_costs_one_error_and_the_next_frame_survives() -> None:
    a = vp.encode(_score(1), node_id=1, seq=1, timestamp_us=1)
    b = vp.encode(_score(2), node_id=1, seq=2, timestamp_us=2)
    dec = vp.Decoder()
    out = dec.feed(a[:20]) + dec.feed(b) + dec.feed(b)
    assert [f.message.frame_index for f in out] == [2]  # type: ignore[attr-defined]
    assert dec.errors == 1


def test_garbage_without_delimiter_is_dropped_as_one_oversize_error() -> None:
    good = vp.encode(_score(), node_id=1, seq=1, timestamp_us=1)
    dec = vp.Decoder()
    assert dec.feed(b"\x55" * 3000) == []
    assert dec.counters["oversize"] == 1 and dec.pending == 0
    assert dec.feed(b"\x55" * 3000 + b"\0") == []
    assert dec.counters["oversize"] == 1
    assert len(dec.feed(good)) == 1
    dec.feed(good[:10])
    dec.reset()
    assert dec.pending == 0 and len(dec.feed(good)) == 1


def test_random_messages_round_trip_in_one_stream() -> None:
    rng = np.random.default_rng(5)
    items = [random_frame(rng) for _ in range(500)]
    dec = vp.Decoder()
    stream = b"".join(f for _, f, _ in items)
    out = []
    for i in range(0, len(stream), 1000):
        out += dec.feed(stream[i : i + 1000])
    assert [f.message for f in out] == [m for m, _, _ in items]
    assert [f.header.seq for f in out] == [h["seq"] for _, _, h in items]
    assert dec.errors == 0


# -------------------------------------------------------------------------------------------------------------
# Hypothesis: arbitrary input never escapes as anything but ProtocolError, and the stream always recovers.
# -------------------------------------------------------------------------------------------------------------

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=1200))
def test_decode_frame_raises_only_protocol_error(data: bytes) -> None:
    try:
        frame = vp.decode_frame(data)
    except FrameError as exc:
        assert exc.kind in vp.ERROR_KINDS
    else:
        assert isinstance(frame.message, vp.Message)


@FAST
@given(st.lists(st.binary(max_size=400), max_size=12))
def test_decoder_feed_never_raises(chunks: list[bytes]) -> None:
    dec = vp.Decoder()
    for c in chunks:
        dec.feed(c)
    assert dec.counters["bytes"] == sum(map(len, chunks))
    assert dec.pending <= vp.MAX_ENCODED


@FAST
@given(st.integers(0, 2**32 - 1))
def test_any_valid_message_round_trips(seed: int) -> None:
    rng = np.random.default_rng(seed)
    msg, frame, hdr = random_frame(rng)
    got = vp.decode_frame(frame)
    assert got.message == msg
    assert (got.header.node_id, got.header.seq, got.header.timestamp_us) == tuple(hdr.values())
    assert vp.encode(got.message, **hdr) == frame


@FAST
@given(
    st.integers(0, 2**32 - 1),
    st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.integers(0, 10**6), st.binary(max_size=8)),
             min_size=1, max_size=4),
)  # fmt: skip
def test_mutated_frame_never_hides_the_next_one(seed: int, edits: list[tuple[str, int, bytes]]) -> None:
    rng = np.random.default_rng(seed)
    victim = bytearray(vp.encode(random_message(rng), node_id=1, seq=1, timestamp_us=1)[:-1])
    for op, pos, junk in edits:
        p = pos % (len(victim) + 1)
        if op == "flip" and victim:
            victim[p % len(victim)] ^= 1 << (pos % 8)
        elif op == "cut":
            del victim[p:]
        else:
            victim[p:p] = junk
    follower = vp.encode(_score(7), node_id=2, seq=5, timestamp_us=5)
    dec = vp.Decoder()
    out = dec.feed(bytes(victim) + b"\0" + follower)
    assert out and out[-1].message == _score(7) and out[-1].header.node_id == 2


def test_reframe_helper_builds_frames_the_decoder_accepts() -> None:
    body = raw_body(vp.encode(_score(), node_id=1, seq=1, timestamp_us=1))
    assert vp.decode_frame(reframe(body)).message == _score()
