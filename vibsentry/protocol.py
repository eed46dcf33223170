"""The vibsentry wire protocol, Python side: messages, frame encoder, frame and stream decoders.

``docs/protocol.md`` is the normative specification; this module and the C codec
(``firmware_core/include/vs/vs_protocol.h``) both implement it and are checked against the same known-answer
vectors in ``tests/vectors/protocol/``.

Summary of the format
---------------------
A frame on the wire is ``COBS(header | payload | crc32) 0x00``:

========  =====  ==================================================================
offset    size   field (all little-endian)
========  =====  ==================================================================
0         1      protocol version (:data:`PROTOCOL_VERSION` = 2 written; 1..2 accepted)
1         1      message type (:class:`MsgType`)
2         2      node id (u16; 0xFFFF = broadcast, host->node only)
4         4      sequence number (u32, per sender, +1 per frame, wraps)
8         8      sender timestamp, microseconds since the sender booted (u64)
16        N      payload, N <= :data:`MAX_PAYLOAD` (1024); layout fixed per message type
16+N      4      CRC-32/ISO-HDLC (zlib.crc32) of bytes 0..16+N-1
========  =====  ==================================================================

Using it
--------
Encode a message into a complete frame (COBS-encoded, trailing 0x00 included)::

    from vibsentry import protocol as vp
    frame = vp.encode(vp.Score(score=0.8, threshold=1.0, alarm_state=0, class_index=-1, rms_g=0.02,
                               peak_g=0.1, velocity_rms_mm_s=1.3, frame_index=42),
                      node_id=7, seq=1, timestamp_us=1_000_000)

Decode one frame (with or without its trailing 0x00); any defect raises :class:`vibsentry.errors.FrameError`
(a :class:`~vibsentry.errors.ProtocolError`) whose ``kind`` is one of :data:`ERROR_KINDS`::

    f = vp.decode_frame(frame)
    f.header.node_id, f.header.seq, f.header.timestamp_us   # 7, 1, 1000000
    f.message.score                                          # 0.800000011920929 (float32 on the wire)

Decode a byte stream read from a serial port in arbitrary chunks; the decoder resynchronises on the next
0x00 after garbage, truncation or bit flips, never raises, and counts every rejected frame by kind::

    dec = vp.Decoder()
    for chunk in chunks:
        for f in dec.feed(chunk):
            handle(f.header, f.message)
    dec.counters   # {'frames': ..., 'bytes': ..., 'crc': ..., 'cobs': ..., 'length': ..., ...}

Message classes are frozen dataclasses; ``Frame.message`` is an instance of one of them. Float fields are
float32 on the wire, so decoded values are the nearest float32 of what was encoded. Hashes are raw
``bytes`` of length 32. Sample and value arrays are tuples.

Node -> host: :class:`Hello`, :class:`Status`, :class:`Score`, :class:`Alarm`, :class:`Features`,
:class:`RawChunk`, :class:`Ack`, :class:`Nack`, :class:`Health`, :class:`ModelStatus`,
:class:`BaselineProgress`. Host -> node: :class:`SetThreshold`, :class:`RequestRaw`, :class:`ReplaySamples`,
:class:`ModelBegin`, :class:`ModelManifest`, :class:`ModelChunk`, :class:`ModelCommit`,
:class:`BaselineLearn`. The decoders accept every type in both directions (an emulator or a test harness plays
either side). Sizes, codes, enumerations and layouts come from ``specs/protocol.toml`` (generated into
``vibsentry._protocol_spec``).
"""

from __future__ import annotations

import dataclasses
import operator
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from vibsentry._protocol_spec import (
    BROADCAST_NODE,
    CRC_SIZE,
    ERROR_KINDS,
    HASH_SIZE,
    HEADER_SIZE,
    LAYOUTS,
    MAX_ENCODED,
    MAX_FEATURE_VALUES,
    MAX_FRAME,
    MAX_MANIFEST,
    MAX_MODEL_CHUNK,
    MAX_PAYLOAD,
    MAX_SAMPLES,
    MAX_SAMPLES_F32,
    MAX_SAMPLES_I16,
    MAX_STRING,
    MAX_WIRE,
    MIN_BASELINE_FRAMES,
    MIN_FRAME,
    MIN_PROTOCOL_VERSION,
    NACK_SLOTS,
    PROTOCOL_VERSION,
    SAMPLE_SIZES,
    SIGNATURE_SIZE,
    AlarmEvent,
    AlarmState,
    BaselineAction,
    BaselineState,
    FeatureKind,
    Layout,
    ModelSlot,
    ModelState,
    MsgType,
    NackReason,
    ResetReason,
    SampleFormat,
)
from vibsentry.errors import FrameError, ProtocolError

# Constants, enumerations and layouts are generated from specs/protocol.toml (vibsentry/_protocol_spec.py);
# they are re-exported here, the module users import.
__all__ = [
    "BROADCAST_NODE",
    "CRC_SIZE",
    "ERROR_KINDS",
    "HASH_SIZE",
    "HEADER_SIZE",
    "MAX_ENCODED",
    "MAX_FEATURE_VALUES",
    "MAX_FRAME",
    "MAX_MANIFEST",
    "MAX_MODEL_CHUNK",
    "MAX_PAYLOAD",
    "MAX_SAMPLES_F32",
    "MAX_SAMPLES_I16",
    "MAX_STRING",
    "MAX_WIRE",
    "MESSAGE_CLASSES",
    "MIN_BASELINE_FRAMES",
    "MIN_FRAME",
    "MIN_PROTOCOL_VERSION",
    "NACK_SLOTS",
    "PROTOCOL_VERSION",
    "SIGNATURE_SIZE",
    "Ack",
    "Alarm",
    "AlarmEvent",
    "AlarmState",
    "BaselineAction",
    "BaselineLearn",
    "BaselineProgress",
    "BaselineState",
    "Decoder",
    "FeatureKind",
    "Features",
    "Frame",
    "FrameError",
    "Header",
    "Health",
    "Hello",
    "Message",
    "ModelBegin",
    "ModelChunk",
    "ModelCommit",
    "ModelManifest",
    "ModelSlot",
    "ModelState",
    "ModelStatus",
    "MsgType",
    "Nack",
    "NackReason",
    "ProtocolError",
    "RawChunk",
    "ReplaySamples",
    "RequestRaw",
    "ResetReason",
    "SampleFormat",
    "Score",
    "SetThreshold",
    "Status",
    "cobs_decode",
    "cobs_encode",
    "crc32",
    "decode_frame",
    "encode",
    "encode_raw",
    "message_from_dict",
    "message_to_dict",
]


# --------------------------------------------------------------------------------------------------------
# CRC and COBS
# --------------------------------------------------------------------------------------------------------


def crc32(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/ISO-HDLC of ``data`` (poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF; check 0xCBF43926).

    Parameters
    ----------
    data : bytes-like
        The bytes to checksum.

    Returns
    -------
    int
        The CRC, 0..2**32-1.
    """
    return zlib.crc32(data)


def cobs_encode(data: bytes | bytearray) -> bytes:
    """COBS-encode ``data`` (no delimiter appended), in the canonical form of docs/protocol.md.

    Each zero-separated segment is emitted as 0xFF blocks of 254 bytes while at least 254 bytes remain,
    then one block with code ``len(rest) + 1`` (possibly an empty block, code 0x01).

    Parameters
    ----------
    data : bytes-like, shape (n,)
        Raw bytes, zeros allowed.

    Returns
    -------
    bytes, shape (n + n // 254 + 1,) at most
        Encoded bytes containing no 0x00.
    """
    out = bytearray()
    for seg in bytes(data).split(b"\0"):
        while len(seg) >= 254:
            out.append(0xFF)
            out += seg[:254]
            seg = seg[254:]
        out.append(len(seg) + 1)
        out += seg
    return bytes(out)


def cobs_decode(enc: bytes | bytearray) -> bytes:
    """Decode one COBS-encoded frame body (no delimiter).

    Parameters
    ----------
    enc : bytes-like, shape (n,), n >= 1
        Encoded bytes; must contain no 0x00.

    Returns
    -------
    bytes
        The decoded bytes.

    Raises
    ------
    FrameError
        ``kind="cobs"`` when ``enc`` is empty, contains 0x00 or a block runs past the end.
    """
    n = len(enc)
    if n == 0:
        raise FrameError("cobs", "empty COBS frame")
    if enc.find(0) >= 0:
        raise FrameError("cobs", f"COBS frame contains 0x00 at offset {enc.find(0)}")
    # Fast path: without 0xFF blocks the decoded frame is enc[1:] with every later code byte replaced by
    # 0x00, so only the block starts need visiting (one iteration per zero in the data, not per byte).
    out = bytearray(enc)
    i = 0
    code = enc[0]
    saw_ff = False
    while True:
        if code == 0xFF:
            saw_ff = True
        j = i + code
        if j >= n:
            if j > n:
                raise FrameError(
                    "cobs", f"COBS block at offset {i} (code 0x{code:02X}) runs past the frame end"
                )
            break
        code = enc[j]
        out[j] = 0
        i = j
    if not saw_ff:
        return bytes(out[1:])
    parts = bytearray()
    i = 0
    while i < n:
        code = enc[i]
        j = i + code
        parts += enc[i + 1 : j]
        if code != 0xFF and j < n:
            parts.append(0)
        i = j
    return bytes(parts)


# --------------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------------


def _invalid(what: str, value: object) -> FrameError:
    return FrameError("invalid", f"{what}={value!r}")


def _ascii(data: bytes, what: str) -> str:
    if not all(0x20 <= b <= 0x7E for b in data):
        raise _invalid(f"{what} (must be printable ASCII)", data)
    return data.decode("ascii")


def _ascii_out(s: str, what: str) -> bytes:
    if not isinstance(s, str) or len(s) > MAX_STRING or not all(" " <= c <= "~" for c in s):
        raise ProtocolError(f"{what}={s!r}: must be printable ASCII of at most {MAX_STRING} bytes")
    return s.encode("ascii")


def _hash_out(h: bytes, what: str) -> bytes:
    if not isinstance(h, (bytes, bytearray)) or len(h) != HASH_SIZE:
        raise ProtocolError(
            f"{what}={h!r}: must be {HASH_SIZE} raw bytes (use bytes.fromhex for a hex digest)"
        )
    return bytes(h)


def _broken_rule(lay: Layout, values: tuple[object, ...]) -> tuple[str, object, str] | None:
    """The first rule of ``lay.checks`` that ``values`` (the fixed part, in wire order) breaks, as
    (field name, value, what the rule wants), or None."""
    for c in lay.checks:
        x = values[c.pos]
        if c.kind == "in":
            if x not in c.arg:  # type: ignore[operator]
                r = c.arg
                want = f"{r.start}..{r.stop - 1}" if isinstance(r, range) else f"one of {sorted(r)}"  # type: ignore[call-overload]
                return c.name, x, want
        elif c.kind == "mask":
            if int(x) & ~int(c.arg):  # type: ignore[call-overload]
                return c.name, x, f"only bits 0x{int(c.arg):02X}"  # type: ignore[call-overload]
        elif not x < values[int(c.arg)]:  # type: ignore[call-overload,operator]
            other = lay.fixed_names[int(c.arg)]  # type: ignore[call-overload]
            return c.name, x, f"below {other}={values[int(c.arg)]!r}"  # type: ignore[call-overload]
    return None


def _check_out(lay: Layout, values: tuple[object, ...]) -> None:
    if lay.valid(values):
        return
    name, x, want = _broken_rule(lay, values) or ("fields", values, "valid")
    raise ProtocolError(f"{lay.name} {name}={x!r}: must be {want}")


def _check_in(lay: Layout, values: tuple[object, ...]) -> None:
    # The generated ``valid`` is the fast path; the rule list only explains a failure.
    if not lay.valid(values):
        broken = _broken_rule(lay, values)
        raise _invalid(f"{lay.name} {broken[0] if broken else '?'}", broken[1] if broken else values)


class Message:
    """Base of every message class. ``TYPE`` is the :class:`MsgType` code, ``LAYOUT`` its byte layout (from
    specs/protocol.toml)."""

    __slots__ = ()
    TYPE: ClassVar[MsgType]
    LAYOUT: ClassVar[Layout]

    def _pack(self, version: int) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> Message:  # pragma: no cover
        raise NotImplementedError


class _FixedMessage(Message):
    """A message whose payload is exactly its fixed layout (no strings, arrays or optional values): packed,
    unpacked and checked from ``LAYOUT`` alone. Subclasses are dataclasses whose fields are the layout's
    fields in wire order."""

    __slots__ = ()
    _VALUES: ClassVar[Callable[..., tuple[Any, ...]]]  # the field values in wire order (a staticmethod)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        get = operator.attrgetter(*cls.LAYOUT.fields)
        one = len(cls.LAYOUT.fields) == 1
        cls._VALUES = staticmethod((lambda m: (get(m),)) if one else get)  # type: ignore[assignment]

    def _pack(self, version: int) -> bytes:
        lay = self.LAYOUT
        values: tuple[object, ...] = self._VALUES(self)
        for name, size in zip(lay.bytes_fields, lay.bytes_sizes, strict=True):
            b = getattr(self, name)
            if not isinstance(b, (bytes, bytearray)) or len(b) != size:
                raise ProtocolError(f"{lay.name} {name}={b!r}: must be {size} raw bytes")
        if lay.arrays:
            values = _flatten(lay, values)
        _check_out(lay, values)
        return lay.fixed.pack(*values)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> Message:
        lay = cls.LAYOUT
        if end - off != lay.fixed.size:
            raise FrameError("length", f"{lay.name} payload is {end - off} bytes, expected {lay.fixed.size}")
        values = lay.fixed.unpack_from(buf, off)
        _check_in(lay, values)
        if lay.arrays:
            return cls(*_group(lay, values))
        return cls(*values)


def _flatten(lay: Layout, values: tuple[object, ...]) -> tuple[object, ...]:
    """Fixed-size array fields (tuples) spread into their elements, as ``struct`` packs them."""
    flat: list[object] = []
    for name, n, v in zip(lay.fields, lay.lengths, values, strict=True):
        if not n:
            flat.append(v)
            continue
        if not isinstance(v, (tuple, list)) or len(v) != n:
            raise ProtocolError(f"{lay.name} {name}={v!r}: must be a sequence of {n} values")
        flat.extend(v)
    return tuple(flat)


def _group(lay: Layout, flat: tuple[object, ...]) -> list[object]:
    """Inverse of :func:`_flatten`: array elements gathered back into tuples."""
    out: list[object] = []
    i = 0
    for n in lay.lengths:
        if n:
            out.append(tuple(flat[i : i + n]))
            i += n
        else:
            out.append(flat[i])
            i += 1
    return out


@dataclass(frozen=True, slots=True)
class Hello(Message):
    """HELLO (0x01, node -> host): sent after boot, on (re)connect and every STATUS period x 10.

    Attributes
    ----------
    fw_version : str
        Firmware version, printable ASCII, <= 32 bytes.
    machine : str
        Machine name configured on the node, printable ASCII, <= 32 bytes.
    sample_rate_hz : float
        Accelerometer sampling rate in Hz (float32).
    feature_hash : bytes
        SHA-256 (32 raw bytes) of the node's FeatureParams canonical JSON (``FeatureParams.feature_hash``).
    model_hash : bytes
        SHA-256 (32 raw bytes) of the deployed ``model.tflite``; all zeros when no model is loaded.
    boot_counter : int
        Boots since the node was flashed (u32).
    protocol_version : int
        Highest protocol version the node implements (u8).
    reset_reason : int
        :class:`ResetReason` of the node's last reset (version 2; a version-1 frame decodes as UNKNOWN).
    model_slot : int
        :class:`ModelSlot` of the running model (version 2; BUILTIN in a version-1 frame).
    model_state : int
        :class:`ModelState` of the running model (version 2; NONE in a version-1 frame).
    """

    TYPE: ClassVar[MsgType] = MsgType.HELLO
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.HELLO]
    fw_version: str
    machine: str
    sample_rate_hz: float
    feature_hash: bytes
    model_hash: bytes
    boot_counter: int
    protocol_version: int = PROTOCOL_VERSION
    reset_reason: int = ResetReason.UNKNOWN
    model_slot: int = ModelSlot.BUILTIN
    model_state: int = ModelState.NONE

    def _pack(self, version: int) -> bytes:
        lay = self.LAYOUT
        fw = _ascii_out(self.fw_version, "fw_version")
        machine = _ascii_out(self.machine, "machine")
        head = lay.fixed.pack(
            self.protocol_version,
            self.boot_counter,
            self.sample_rate_hz,
            _hash_out(self.feature_hash, "feature_hash"),
            _hash_out(self.model_hash, "model_hash"),
        )
        tail = (self.reset_reason, self.model_slot, self.model_state)
        _check_out(lay._replace(checks=lay.tail_checks, valid=lay.tail_valid), tail)
        body = head + bytes((len(fw),)) + fw + bytes((len(machine),)) + machine
        # The tail exists from version 2 on; a version-1 frame (for an old host) simply ends after `machine`.
        return body + lay.tail.pack(*tail) if version >= lay.tail_since else body

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> Hello:
        fixed = cls.LAYOUT.fixed
        p = off + fixed.size
        if p + 1 > end:
            raise FrameError("length", f"HELLO payload of {end - off} bytes is too short")
        n_fw = buf[p]
        q = p + 1 + n_fw
        if q + 1 > end:
            raise FrameError("length", f"HELLO fw_version length {n_fw} runs past the payload end")
        n_m = buf[q]
        lay = cls.LAYOUT
        tail = lay.tail.size if version >= lay.tail_since else 0
        r = q + 1 + n_m  # end of `machine`, start of the tail
        if r + tail != end:
            raise FrameError(
                "length", f"HELLO payload is {end - off} bytes, its string lengths say {r + tail - off}"
            )
        if n_fw > MAX_STRING or n_m > MAX_STRING:
            raise _invalid("HELLO string length", max(n_fw, n_m))
        pv, boot, rate, fh, mh = fixed.unpack_from(buf, off)
        fw = _ascii(buf[p + 1 : q], "HELLO fw_version")
        machine = _ascii(buf[q + 1 : r], "HELLO machine")
        if not tail:
            return cls(fw, machine, rate, fh, mh, boot, pv)
        extra = lay.tail.unpack_from(buf, r)
        if not lay.tail_valid(extra):
            _check_in(lay._replace(checks=lay.tail_checks, valid=lay.tail_valid), extra)
        return cls(fw, machine, rate, fh, mh, boot, pv, *extra)


# STATUS flags: bit i says the i-th optional value is present (specs/protocol.toml: `flag`, `bit`).
_STATUS_BATTERY = 1
_STATUS_TEMPERATURE = 2


@dataclass(frozen=True, slots=True)
class Status(Message):
    """STATUS (0x02, node -> host): periodic health and counters (default every 10 s).

    Attributes
    ----------
    uptime_s : int
        Seconds since boot (u32).
    frames_analysed, frames_skipped : int
        Frames the trigger sent to analysis / skipped since boot (u32 each).
    tx_frames, rx_frames, rx_errors : int
        Protocol frames sent, received and rejected by the node since boot (u32 each).
    alarm_state : int
        :class:`AlarmState` (0 OK, 1 ALARM).
    battery_v : float or None
        Supply/battery voltage in V, None when the node has no measurement (flags bit 0).
    temperature_c : float or None
        Node temperature in degrees C, None when not measured (flags bit 1).
    """

    TYPE: ClassVar[MsgType] = MsgType.STATUS
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.STATUS]
    uptime_s: int
    frames_analysed: int
    frames_skipped: int
    tx_frames: int
    rx_frames: int
    rx_errors: int
    alarm_state: int
    battery_v: float | None = None
    temperature_c: float | None = None

    def _pack(self, version: int) -> bytes:
        flags = (_STATUS_BATTERY if self.battery_v is not None else 0) | (
            _STATUS_TEMPERATURE if self.temperature_c is not None else 0
        )
        values = (
            self.uptime_s,
            self.frames_analysed,
            self.frames_skipped,
            self.tx_frames,
            self.rx_frames,
            self.rx_errors,
            self.alarm_state,
            flags,
            0.0 if self.battery_v is None else self.battery_v,
            0.0 if self.temperature_c is None else self.temperature_c,
        )
        _check_out(self.LAYOUT, values)
        return self.LAYOUT.fixed.pack(*values)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> Status:
        fixed = cls.LAYOUT.fixed
        if end - off != fixed.size:
            raise FrameError("length", f"STATUS payload is {end - off} bytes, expected {fixed.size}")
        values = fixed.unpack_from(buf, off)
        _check_in(cls.LAYOUT, values)
        up, fa, fs, tx, rx, rxe, state, flags, bat, temp = values
        # An absent value must be encoded as all-zero bits so that decode -> encode is byte-exact.
        if not flags & _STATUS_BATTERY and buf[off + 26 : off + 30] != b"\0\0\0\0":
            raise _invalid("STATUS battery_v without flag", bat)
        if not flags & _STATUS_TEMPERATURE and buf[off + 30 : off + 34] != b"\0\0\0\0":
            raise _invalid("STATUS temperature_c without flag", temp)
        return cls(
            up,
            fa,
            fs,
            tx,
            rx,
            rxe,
            state,
            bat if flags & _STATUS_BATTERY else None,
            temp if flags & _STATUS_TEMPERATURE else None,
        )


@dataclass(frozen=True, slots=True)
class Score(_FixedMessage):
    """SCORE (0x03, node -> host): the result of analysing one frame.

    Attributes
    ----------
    score : float
        Anomaly score (anomaly models) or winning-class probability (classifiers), float32.
    threshold : float
        Alarm threshold in force when the score was computed, float32.
    alarm_state : int
        :class:`AlarmState` after applying the alarm rule to this score.
    class_index : int
        Winning class for classifier models, -1 for anomaly models (i16).
    rms_g, peak_g : float
        RMS and absolute peak of the frame's acceleration, in g (float32).
    velocity_rms_mm_s : float
        Velocity RMS 10-1000 Hz of the frame in mm/s (ISO 10816 quantity), float32.
    frame_index : int
        Index of the analysed frame since boot (u32, frame i starts at sample i * hop).
    """

    TYPE: ClassVar[MsgType] = MsgType.SCORE
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.SCORE]
    score: float
    threshold: float
    alarm_state: int
    class_index: int
    rms_g: float
    peak_g: float
    velocity_rms_mm_s: float
    frame_index: int


@dataclass(frozen=True, slots=True)
class Alarm(_FixedMessage):
    """ALARM (0x04, node -> host): the alarm rule raised or cleared an alarm on this frame.

    Attributes
    ----------
    event : int
        :class:`AlarmEvent` (1 RAISE, 2 CLEAR).
    score, threshold, clear_threshold : float
        The score that triggered the event and the rule's thresholds (float32).
    k, n : int
        The rule's persistence: k of the last n scores above threshold (u8 each).
    frame_index : int
        Frame index of the triggering score (u32).
    """

    TYPE: ClassVar[MsgType] = MsgType.ALARM
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.ALARM]
    event: int
    score: float
    threshold: float
    clear_threshold: float
    k: int
    n: int
    frame_index: int


@dataclass(frozen=True, slots=True)
class Features(Message):
    """FEATURES (0x05, node -> host): feature values of one frame (optional, for trends and debugging).

    Attributes
    ----------
    kind : int
        :class:`FeatureKind`.
    frame_index : int
        Frame the values belong to (u32).
    values : tuple of float, shape (count,), count <= 254
        Feature values (float32).
    """

    TYPE: ClassVar[MsgType] = MsgType.FEATURES
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.FEATURES]
    kind: int
    frame_index: int
    values: tuple[float, ...]

    def _pack(self, version: int) -> bytes:
        n = len(self.values)
        head = (self.kind, self.frame_index, n)
        _check_out(self.LAYOUT, head)
        return self.LAYOUT.fixed.pack(*head) + struct.pack(f"<{n}f", *self.values)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> Features:
        fixed = cls.LAYOUT.fixed
        if end - off < fixed.size:
            raise FrameError("length", f"FEATURES payload of {end - off} bytes is too short")
        head = fixed.unpack_from(buf, off)
        kind, fi, n = head
        if end - off != fixed.size + 4 * n:
            raise FrameError("length", f"FEATURES payload is {end - off} bytes for count={n}")
        _check_in(cls.LAYOUT, head)
        return cls(kind, fi, struct.unpack_from(f"<{n}f", buf, off + fixed.size))


def _samples_out(fmt: int, samples: tuple[float, ...] | tuple[int, ...], what: str) -> bytes:
    """The sample array (the count is part of the fixed head)."""
    n = len(samples)
    if fmt not in SAMPLE_SIZES:
        raise ProtocolError(f"{what} sample_format={fmt!r}: must be 0 (int16) or 1 (float32)")
    if n > MAX_SAMPLES[fmt]:
        kind = "int16" if fmt == SampleFormat.INT16 else "float32"
        raise ProtocolError(f"{what} n_samples={n}: at most {MAX_SAMPLES[fmt]} {kind} samples per message")
    return struct.pack(f"<{n}{'h' if fmt == SampleFormat.INT16 else 'f'}", *samples)


def _samples_in(
    buf: bytes, p: int, end: int, fmt: int, n: int, what: str
) -> tuple[float, ...] | tuple[int, ...]:
    """Samples at buf[p:end]; the payload size is checked before the format and count rules (check order)."""
    size = SAMPLE_SIZES.get(fmt, 4)
    if end - p != size * n:
        raise FrameError("length", f"{what} has {end - p} sample bytes for n_samples={n}")
    if fmt not in SAMPLE_SIZES:
        raise _invalid(f"{what} sample_format", fmt)
    if n > MAX_SAMPLES[fmt]:
        raise _invalid(f"{what} n_samples", n)
    return struct.unpack_from(f"<{n}{'h' if fmt == SampleFormat.INT16 else 'f'}", buf, p)


@dataclass(frozen=True, slots=True)
class RawChunk(Message):
    """RAW_CHUNK (0x06, node -> host): one piece of a raw capture (for retraining), sent after REQUEST_RAW.

    Attributes
    ----------
    capture_id : int
        Capture identifier from the REQUEST_RAW command (u32).
    chunk_index, chunk_count : int
        This chunk's index and the number of chunks, chunk_index < chunk_count (u16 each).
    sample_rate_hz : float
        Sampling rate in Hz (float32).
    sample_format : int
        :class:`SampleFormat`.
    scale_g_per_lsb : float
        Acceleration in g = sample * scale (float32; 1.0 for float32 samples already in g).
    samples : tuple, shape (n,)
        int16 (n <= 500) or float32 (n <= 250) samples; every chunk but the last is full-size.
    """

    TYPE: ClassVar[MsgType] = MsgType.RAW_CHUNK
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.RAW_CHUNK]
    capture_id: int
    chunk_index: int
    chunk_count: int
    sample_rate_hz: float
    sample_format: int
    scale_g_per_lsb: float
    samples: tuple[float, ...] | tuple[int, ...]

    def _pack(self, version: int) -> bytes:
        head = (
            self.capture_id,
            self.chunk_index,
            self.chunk_count,
            self.sample_rate_hz,
            self.sample_format,
            self.scale_g_per_lsb,
            len(self.samples),
        )
        body = _samples_out(self.sample_format, self.samples, "RAW_CHUNK")
        _check_out(self.LAYOUT, head)
        return self.LAYOUT.fixed.pack(*head) + body

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> RawChunk:
        fixed = cls.LAYOUT.fixed
        if end - off < fixed.size:
            raise FrameError("length", f"RAW_CHUNK payload of {end - off} bytes is too short")
        head = fixed.unpack_from(buf, off)
        cid, ci, cc, rate, fmt, scale, n = head
        samples = _samples_in(buf, off + fixed.size, end, fmt, n, "RAW_CHUNK")
        _check_in(cls.LAYOUT, head)
        return cls(cid, ci, cc, rate, fmt, scale, samples)


@dataclass(frozen=True, slots=True)
class Ack(_FixedMessage):
    """ACK (0x07, node -> host): a command was accepted and carried out.

    Attributes
    ----------
    acked_type : int
        :class:`MsgType` of the command (u8).
    acked_seq : int
        Sequence number of the command's frame (u32).
    """

    TYPE: ClassVar[MsgType] = MsgType.ACK
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.ACK]
    acked_type: int
    acked_seq: int


@dataclass(frozen=True, slots=True)
class Nack(_FixedMessage):
    """NACK (0x08, node -> host): a command was refused; nothing was changed on the node.

    Attributes
    ----------
    acked_type : int
        :class:`MsgType` of the command (u8).
    acked_seq : int
        Sequence number of the command's frame (u32).
    reason : int
        :class:`NackReason` code (u8; unknown codes are kept as numbers).
    """

    TYPE: ClassVar[MsgType] = MsgType.NACK
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.NACK]
    acked_type: int
    acked_seq: int
    reason: int


@dataclass(frozen=True, slots=True)
class Health(_FixedMessage):
    """HEALTH (0x09, node -> host): the node's health counters, sent right after every STATUS.

    Counters are u32 since boot and wrap, except ``boot_counter`` and ``watchdog_resets`` (since flashing).

    Attributes
    ----------
    boot_counter, watchdog_resets : int
        Boots since flashing (this one included) and how many of them a watchdog reset caused.
    blocks, ring_overruns, overrun_samples : int
        Sample blocks accepted into the sample ring; blocks dropped because it was full, and their samples.
    replay_blocks, replay_gaps : int
        REPLAY_SAMPLES blocks accepted; blocks refused for a ``block_index`` gap.
    discontinuities : int
        Frame-assembly restarts (overrun, replay gap, switch to replay).
    rx_foreign : int
        Valid frames addressed to another node.
    acks : int
        ACKs sent.
    nacks : tuple of int, shape (16,)
        NACKs sent by reason: ``nacks[r]`` counts :class:`NackReason` ``r``; ``nacks[0]`` codes >= 16.
    raw_captures, alarm_raises, alarm_clears : int
        RAW_CHUNK captures started, ALARM RAISE and CLEAR events.
    ring_high_water, ring_capacity : int
        Most samples ever waiting in the sample ring, and its size (samples).
    stack_high_water, stack_size : int
        Most stack ever used and the stack size, in bytes (0: not measured / unknown).
    """

    TYPE: ClassVar[MsgType] = MsgType.HEALTH
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.HEALTH]
    boot_counter: int
    watchdog_resets: int
    blocks: int
    ring_overruns: int
    overrun_samples: int
    replay_blocks: int
    replay_gaps: int
    discontinuities: int
    rx_foreign: int
    acks: int
    nacks: tuple[int, ...]
    raw_captures: int
    alarm_raises: int
    alarm_clears: int
    ring_high_water: int
    ring_capacity: int
    stack_high_water: int
    stack_size: int


@dataclass(frozen=True, slots=True)
class ModelStatus(_FixedMessage):
    """MODEL_STATUS (0x0A, node -> host): the running model and the state of an update.

    Sent after HELLO, on every state change (staged, committed, confirmed, reverted) and after a refused update.

    Attributes
    ----------
    model_slot : int
        :class:`ModelSlot` of the running model.
    model_state : int
        :class:`ModelState` of the running model.
    counter : int
        Monotonic counter of the running model's signed manifest (u32; 0 for the built-in model).
    model_hash : bytes
        SHA-256 (32 raw bytes) of the running model image.
    trial_frames, trial_target : int
        Healthy frames analysed so far in TRIAL, and how many confirm the model (u32 each).
    staged_bytes, staged_total : int
        Progress of the update being received: bytes so far and MODEL_BEGIN ``total_size`` (0, 0: none).
    last_error : int
        :class:`NackReason` of the last refused update, 0 when none.
    """

    TYPE: ClassVar[MsgType] = MsgType.MODEL_STATUS
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.MODEL_STATUS]
    model_slot: int
    model_state: int
    counter: int
    model_hash: bytes
    trial_frames: int
    trial_target: int
    staged_bytes: int
    staged_total: int
    last_error: int


@dataclass(frozen=True, slots=True)
class BaselineProgress(_FixedMessage):
    """BASELINE_PROGRESS (0x0B, node -> host): progress of on-node baseline learning.

    Attributes
    ----------
    state : int
        :class:`BaselineState`.
    frames_done, frames_target : int
        Frames learned from so far, and BASELINE_LEARN ``n_frames`` (u32 each).
    threshold : float
        Learned alarm threshold when DONE, else 0 (float32).
    baseline_crc : int
        CRC-32 of the stored baseline record, 0 when none (u32).
    """

    TYPE: ClassVar[MsgType] = MsgType.BASELINE_PROGRESS
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.BASELINE_PROGRESS]
    state: int
    frames_done: int
    frames_target: int
    threshold: float
    baseline_crc: int


@dataclass(frozen=True, slots=True)
class SetThreshold(_FixedMessage):
    """SET_THRESHOLD (0x40, host -> node): replace the alarm rule's thresholds and persistence.

    The node answers ACK, or NACK ``BAD_VALUE`` unless 1 <= k <= n <= 32 and clear_threshold <= threshold
    (both finite). The new rule applies from the next analysed frame; the alarm state is kept.

    Attributes
    ----------
    threshold, clear_threshold : float
        Raise and clear thresholds (float32, compared with strict '>').
    k, n : int
        Raise when k of the last n scores exceed threshold (u8 each).
    """

    TYPE: ClassVar[MsgType] = MsgType.SET_THRESHOLD
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.SET_THRESHOLD]
    threshold: float
    clear_threshold: float
    k: int
    n: int


@dataclass(frozen=True, slots=True)
class RequestRaw(_FixedMessage):
    """REQUEST_RAW (0x41, host -> node): capture ``n_samples`` raw samples and send them as RAW_CHUNKs.

    Attributes
    ----------
    capture_id : int
        Identifier echoed in every RAW_CHUNK (u32).
    n_samples : int
        Samples to capture (u32); the node NACKs ``TOO_LARGE`` beyond its capture buffer.
    sample_format : int
        :class:`SampleFormat` wanted.
    """

    TYPE: ClassVar[MsgType] = MsgType.REQUEST_RAW
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.REQUEST_RAW]
    capture_id: int
    n_samples: int
    sample_format: int


@dataclass(frozen=True, slots=True)
class ReplaySamples(Message):
    """REPLAY_SAMPLES (0x42, host -> node): samples the node processes instead of its sensor (emulation, HIL).

    Blocks are consecutive: ``block_index`` increments by one per message; a node NACKs ``OUT_OF_ORDER`` on a
    gap and restarts its frame assembly at block 0.

    Attributes
    ----------
    block_index : int
        Block number (u32).
    sample_rate_hz : float
        Sampling rate of the samples in Hz (float32).
    sample_format : int
        :class:`SampleFormat`.
    scale_g_per_lsb : float
        Acceleration in g = sample * scale (float32).
    samples : tuple, shape (n,)
        int16 (n <= 500) or float32 (n <= 250) samples.
    """

    TYPE: ClassVar[MsgType] = MsgType.REPLAY_SAMPLES
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.REPLAY_SAMPLES]
    block_index: int
    sample_rate_hz: float
    sample_format: int
    scale_g_per_lsb: float
    samples: tuple[float, ...] | tuple[int, ...]

    def _pack(self, version: int) -> bytes:
        head = (
            self.block_index,
            self.sample_rate_hz,
            self.sample_format,
            self.scale_g_per_lsb,
            len(self.samples),
        )
        body = _samples_out(self.sample_format, self.samples, "REPLAY_SAMPLES")
        _check_out(self.LAYOUT, head)
        return self.LAYOUT.fixed.pack(*head) + body

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> ReplaySamples:
        fixed = cls.LAYOUT.fixed
        if end - off < fixed.size:
            raise FrameError("length", f"REPLAY_SAMPLES payload of {end - off} bytes is too short")
        head = fixed.unpack_from(buf, off)
        bi, rate, fmt, scale, n = head
        samples = _samples_in(buf, off + fixed.size, end, fmt, n, "REPLAY_SAMPLES")
        _check_in(cls.LAYOUT, head)
        return cls(bi, rate, fmt, scale, samples)


@dataclass(frozen=True, slots=True)
class ModelBegin(_FixedMessage):
    """MODEL_BEGIN (0x43, host -> node): start a model update; the node erases its staging area.

    Attributes
    ----------
    total_size : int
        Size of the model image in bytes (u32); NACK ``TOO_LARGE`` if it does not fit.
    sha256 : bytes
        SHA-256 (32 raw bytes) of the whole image, checked at MODEL_COMMIT.
    chunk_size : int
        Data bytes per MODEL_CHUNK (u16, 1..1000); every chunk but the last carries exactly this many.
    """

    TYPE: ClassVar[MsgType] = MsgType.MODEL_BEGIN
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.MODEL_BEGIN]
    total_size: int
    sha256: bytes
    chunk_size: int


def _bytes_tail(lay: Layout, buf: bytes, off: int, end: int) -> tuple[tuple[Any, ...], bytes]:
    """Fixed head ending in a u16 count, then that many raw bytes: (head values, bytes), size checked before
    the head's rules (check order)."""
    fixed = lay.fixed
    if end - off < fixed.size:
        raise FrameError("length", f"{lay.name} payload of {end - off} bytes is too short")
    head = fixed.unpack_from(buf, off)
    if end - off != fixed.size + head[-1]:
        raise FrameError("length", f"{lay.name} payload is {end - off} bytes for count={head[-1]}")
    _check_in(lay, head)
    return head, bytes(buf[off + fixed.size : end])


@dataclass(frozen=True, slots=True)
class ModelChunk(Message):
    """MODEL_CHUNK (0x44, host -> node): ``data`` goes at byte ``offset`` of the staged image.

    Attributes
    ----------
    offset : int
        Byte offset in the image (u32); must equal the bytes received so far, else NACK ``OUT_OF_ORDER``.
    data : bytes
        Image bytes, at most 1000.
    """

    TYPE: ClassVar[MsgType] = MsgType.MODEL_CHUNK
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.MODEL_CHUNK]
    offset: int
    data: bytes

    def _pack(self, version: int) -> bytes:
        if len(self.data) > MAX_MODEL_CHUNK:
            raise ProtocolError(f"MODEL_CHUNK data of {len(self.data)} bytes: at most {MAX_MODEL_CHUNK}")
        return self.LAYOUT.fixed.pack(self.offset, len(self.data)) + bytes(self.data)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> ModelChunk:
        head, data = _bytes_tail(cls.LAYOUT, buf, off, end)
        return cls(head[0], data)


@dataclass(frozen=True, slots=True)
class ModelCommit(_FixedMessage):
    """MODEL_COMMIT (0x45, host -> node): verify the staged image and switch to it.

    The node ACKs after the image's SHA-256 equals both this ``sha256`` and MODEL_BEGIN's and the image is
    activated; otherwise NACK ``HASH_MISMATCH`` and the running model stays. The next HELLO shows the new
    hash.

    Attributes
    ----------
    sha256 : bytes
        SHA-256 (32 raw bytes) of the complete image.
    """

    TYPE: ClassVar[MsgType] = MsgType.MODEL_COMMIT
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.MODEL_COMMIT]
    sha256: bytes


@dataclass(frozen=True, slots=True)
class ModelManifest(Message):
    """MODEL_MANIFEST (0x46, host -> node): the update's signed manifest and its Ed25519 signature.

    Sent after MODEL_BEGIN and before the first MODEL_CHUNK; the node verifies it before accepting chunks
    (NACK ``SIGNATURE``, ``COUNTER``, ``FEATURE_HASH``, ``HASH_MISMATCH``, ``TOO_LARGE`` or ``BAD_STATE``).

    Attributes
    ----------
    signature : bytes
        The 64-byte Ed25519 signature over exactly ``manifest``.
    manifest : bytes
        The exact bytes of the bundle's ``signed_manifest.json``, at most 768.
    """

    TYPE: ClassVar[MsgType] = MsgType.MODEL_MANIFEST
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.MODEL_MANIFEST]
    signature: bytes
    manifest: bytes

    def _pack(self, version: int) -> bytes:
        sig = self.signature
        if not isinstance(sig, (bytes, bytearray)) or len(sig) != SIGNATURE_SIZE:
            raise ProtocolError(f"MODEL_MANIFEST signature={sig!r}: must be {SIGNATURE_SIZE} raw bytes")
        if len(self.manifest) > MAX_MANIFEST:
            raise ProtocolError(
                f"MODEL_MANIFEST manifest of {len(self.manifest)} bytes: at most {MAX_MANIFEST}"
            )
        return self.LAYOUT.fixed.pack(bytes(sig), len(self.manifest)) + bytes(self.manifest)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int, version: int) -> ModelManifest:
        head, data = _bytes_tail(cls.LAYOUT, buf, off, end)
        return cls(head[0], data)


@dataclass(frozen=True, slots=True)
class BaselineLearn(_FixedMessage):
    """BASELINE_LEARN (0x47, host -> node): learn this machine's normal on the node.

    START learns the features' mean/std and the score threshold from the next ``n_frames`` analysed frames
    (NACK ``BAD_VALUE`` below :data:`MIN_BASELINE_FRAMES`) and stores them across reboots; ABORT stops
    learning; CLEAR erases the stored baseline. Progress comes in BASELINE_PROGRESS.

    Attributes
    ----------
    action : int
        :class:`BaselineAction`.
    n_frames : int
        START: frames to learn from (u32); 0 otherwise.
    threshold_k : float
        START: threshold = mean + k * std of the learning frames' scores; 0 = the node's default (float32).
    """

    TYPE: ClassVar[MsgType] = MsgType.BASELINE_LEARN
    LAYOUT: ClassVar[Layout] = LAYOUTS[MsgType.BASELINE_LEARN]
    action: int
    n_frames: int
    threshold_k: float


#: Message class for each type code.
MESSAGE_CLASSES: dict[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Status,
        Score,
        Alarm,
        Features,
        RawChunk,
        Ack,
        Nack,
        Health,
        ModelStatus,
        BaselineProgress,
        SetThreshold,
        RequestRaw,
        ReplaySamples,
        ModelBegin,
        ModelChunk,
        ModelCommit,
        ModelManifest,
        BaselineLearn,
    )
}


# --------------------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------------------

_HEADER = struct.Struct("<BBHIQ")
_CRC = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Header:
    """Frame header.

    Attributes
    ----------
    version : int
        Protocol version (always :data:`PROTOCOL_VERSION` in a decoded frame).
    msg_type : int
        :class:`MsgType` code.
    node_id : int
        Sending node (node -> host) or addressed node (host -> node; 0xFFFF broadcast), u16.
    seq : int
        Sender's sequence number, u32, +1 per frame sent, wraps to 0; restarts at 0 on boot.
    timestamp_us : int
        Sender's clock in microseconds since its boot (u64).
    """

    version: int
    msg_type: int
    node_id: int
    seq: int
    timestamp_us: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its :class:`Header` and its message (an instance of a message class)."""

    header: Header
    message: Message


def encode_raw(
    msg_type: int,
    payload: bytes,
    *,
    node_id: int,
    seq: int,
    timestamp_us: int,
    version: int = PROTOCOL_VERSION,
) -> bytes:
    """Frame an already-packed payload: header + payload + CRC, COBS-encoded, 0x00 appended.

    For tests and tools that need frames :func:`encode` refuses to build (other versions, unknown types).

    Parameters
    ----------
    msg_type : int
        Message type code (u8).
    payload : bytes, shape (n,), n <= MAX_PAYLOAD
        Payload bytes.
    node_id, seq, timestamp_us, version : int
        Header fields (u16, u32, u64 microseconds, u8).

    Returns
    -------
    bytes, shape (<= MAX_WIRE,)
        The frame as sent on the wire.

    Raises
    ------
    ProtocolError
        A header field is out of range or the payload exceeds :data:`MAX_PAYLOAD`.
    """
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD={MAX_PAYLOAD}")
    try:
        body = _HEADER.pack(version, msg_type, node_id, seq, timestamp_us) + payload
    except struct.error as exc:
        raise ProtocolError(
            f"header field out of range (version={version!r}, type={msg_type!r}, node_id={node_id!r}, "
            f"seq={seq!r}, timestamp_us={timestamp_us!r}): {exc}"
        ) from None
    return cobs_encode(body + _CRC.pack(zlib.crc32(body))) + b"\0"


def encode(
    msg: Message, *, node_id: int, seq: int, timestamp_us: int, version: int = PROTOCOL_VERSION
) -> bytes:
    """Encode ``msg`` as one complete wire frame (COBS-encoded, trailing 0x00 included).

    Parameters
    ----------
    msg : Message
        An instance of one of the message classes.
    node_id : int
        Node id, 0..65535.
    seq : int
        Sequence number, 0..2**32-1 (the caller keeps the counter; wrap with ``& 0xFFFFFFFF``).
    timestamp_us : int
        Sender time in microseconds since boot, 0..2**64-1.
    version : int
        Header version, :data:`MIN_PROTOCOL_VERSION`..:data:`PROTOCOL_VERSION` (default: the newest). A host
        answers a node in the version its HELLO announced; version 1 drops HELLO's version-2 tail.

    Returns
    -------
    bytes, shape (<= MAX_WIRE,)
        The frame.

    Raises
    ------
    ProtocolError
        A field is out of range (the message quotes it), a string is not printable ASCII, an array is too
        long, or a float does not fit float32.
    """
    if not MIN_PROTOCOL_VERSION <= version <= PROTOCOL_VERSION:
        raise ProtocolError(f"version={version!r}: must be {MIN_PROTOCOL_VERSION}..{PROTOCOL_VERSION}")
    try:
        payload = msg._pack(version)
    except (struct.error, OverflowError, TypeError) as exc:
        raise ProtocolError(f"cannot encode {msg!r}: {exc}") from None
    return encode_raw(msg.TYPE, payload, node_id=node_id, seq=seq, timestamp_us=timestamp_us, version=version)


def _decode_body(enc: bytes | bytearray) -> Frame:
    """Decode one COBS frame body (no 0x00 inside or at the end); checks in the order of docs/protocol.md."""
    if len(enc) > MAX_ENCODED:
        raise FrameError("oversize", f"encoded frame of {len(enc)} bytes exceeds {MAX_ENCODED}")
    raw = cobs_decode(enc)
    n = len(raw)
    if n < MIN_FRAME:
        raise FrameError("length", f"frame of {n} bytes is shorter than the {MIN_FRAME}-byte minimum")
    if n > MAX_FRAME:
        raise FrameError("oversize", f"frame of {n} bytes exceeds MAX_FRAME={MAX_FRAME}")
    end = n - CRC_SIZE
    (crc,) = _CRC.unpack_from(raw, end)
    calc = zlib.crc32(memoryview(raw)[:end])
    if crc != calc:
        raise FrameError("crc", f"CRC 0x{crc:08X} does not match computed 0x{calc:08X}")
    version, mtype, node_id, seq, ts = _HEADER.unpack_from(raw)
    if not MIN_PROTOCOL_VERSION <= version <= PROTOCOL_VERSION:
        raise FrameError(
            "version",
            f"protocol version {version} (this decoder speaks {MIN_PROTOCOL_VERSION}..{PROTOCOL_VERSION})",
        )
    cls = MESSAGE_CLASSES.get(mtype)
    if cls is None:
        raise FrameError("unknown_type", f"message type 0x{mtype:02X}")
    msg = cls._unpack(raw, HEADER_SIZE, end, version)
    return Frame(Header(version, mtype, node_id, seq, ts), msg)


def decode_frame(frame: bytes | bytearray | memoryview) -> Frame:
    """Decode one wire frame (as returned by :func:`encode`; the trailing 0x00 is optional).

    Parameters
    ----------
    frame : bytes-like
        One COBS-encoded frame, optionally followed by its 0x00 delimiter.

    Returns
    -------
    Frame
        Header and message.

    Raises
    ------
    FrameError
        (a :class:`ProtocolError`) with ``kind`` in :data:`ERROR_KINDS`: ``oversize``, ``cobs`` (bad
        encoding, or a 0x00 inside), ``length`` (too short, or a payload size wrong for its type), ``crc``,
        ``version``, ``unknown_type``, ``invalid`` (a field value outside its enumeration or limit).
    """
    data = bytes(frame)
    if data.endswith(b"\0"):
        data = data[:-1]
    if not data:
        raise FrameError("length", "empty frame")
    return _decode_body(data)


class Decoder:
    """Streaming decoder: feed it bytes as they arrive; it returns every complete, valid frame.

    It never raises on bad input. Bytes are collected up to each 0x00; a collected frame that fails any check
    is dropped and counted under its error kind, and decoding resumes with the next byte (resynchronisation is
    immediate because 0x00 never occurs inside a COBS frame). A frame growing past :data:`MAX_ENCODED`
    bytes is counted once as ``oversize`` and its bytes are dropped up to the next 0x00. Empty frames
    (consecutive 0x00) are ignored and not counted.

    Attributes
    ----------
    counters : dict of str to int
        ``frames`` (decoded OK), ``bytes`` (fed), and one counter per kind in :data:`ERROR_KINDS`.
    """

    __slots__ = ("_buf", "_discarding", "counters")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False
        self.counters: dict[str, int] = dict.fromkeys(("frames", "bytes", *ERROR_KINDS), 0)

    @property
    def errors(self) -> int:
        """Total rejected frames (sum of the error counters)."""
        return sum(self.counters[k] for k in ERROR_KINDS)

    @property
    def pending(self) -> int:
        """Bytes held from an unfinished frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Drop any partial frame (e.g. after the port was reopened); counters are kept."""
        self._buf.clear()
        self._discarding = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Consume ``data`` and return the frames completed by it, in order.

        Parameters
        ----------
        data : bytes-like
            Any number of bytes, split anywhere.

        Returns
        -------
        list of Frame
            Possibly empty.
        """
        data = bytes(data)
        counters = self.counters
        counters["bytes"] += len(data)
        out: list[Frame] = []
        buf = self._buf
        start = 0
        while True:
            z = data.find(0, start)
            if z < 0:
                if not self._discarding and start < len(data):
                    if len(buf) + len(data) - start > MAX_ENCODED:
                        counters["oversize"] += 1
                        self._discarding = True
                        buf.clear()
                    else:
                        buf += data[start:]
                return out
            if self._discarding:
                self._discarding = False
                start = z + 1
                continue
            if buf:
                buf += data[start:z]
                enc: bytes | bytearray = bytes(buf)
                buf.clear()
            else:
                enc = data[start:z]
            start = z + 1
            if not enc:
                continue
            try:
                out.append(_decode_body(enc))
            except FrameError as exc:
                counters[exc.kind] += 1
            else:
                counters["frames"] += 1


# --------------------------------------------------------------------------------------------------------
# Plain-data conversion (JSON journals, known-answer vectors)
# --------------------------------------------------------------------------------------------------------


def message_to_dict(msg: Message) -> dict[str, object]:
    """Fields of ``msg`` as JSON-ready plain data: bytes as lower-case hex, tuples as lists.

    Parameters
    ----------
    msg : Message
        Any message instance.

    Returns
    -------
    dict
        ``{"type": "SCORE", "fields": {...}}`` with the type name of :class:`MsgType`.
    """
    fields: dict[str, object] = {}
    for f in dataclasses.fields(msg):  # type: ignore[arg-type]
        value = getattr(msg, f.name)
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).hex()
        elif isinstance(value, tuple):
            value = list(value)
        fields[f.name] = value
    return {"type": MsgType(msg.TYPE).name, "fields": fields}


def message_from_dict(data: dict[str, object]) -> Message:
    """Inverse of :func:`message_to_dict`.

    Parameters
    ----------
    data : dict
        ``{"type": NAME, "fields": {...}}``; hash and ``data`` fields as hex strings, arrays as lists.

    Returns
    -------
    Message

    Raises
    ------
    ProtocolError
        Unknown type name or wrong field names.
    """
    name = data.get("type")
    try:
        cls = MESSAGE_CLASSES[MsgType[str(name)]]
    except KeyError:
        raise ProtocolError(f"unknown message type name {name!r}") from None
    raw = data.get("fields")
    if not isinstance(raw, dict):
        raise ProtocolError(f"message {name!r}: 'fields' must be an object, got {raw!r}")
    kwargs: dict[str, object] = {}
    for key, value in raw.items():
        if key in cls.LAYOUT.bytes_fields and isinstance(value, str):
            value = bytes.fromhex(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ProtocolError(f"message {name!r}: {exc}") from None
