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
0         1      protocol version (:data:`PROTOCOL_VERSION` = 1)
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
:class:`RawChunk`, :class:`Ack`, :class:`Nack`. Host -> node: :class:`SetThreshold`, :class:`RequestRaw`,
:class:`ReplaySamples`, :class:`ModelBegin`, :class:`ModelChunk`, :class:`ModelCommit`. The decoders accept
every type in both directions (an emulator or a test harness plays either side).
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from vibsentry.errors import FrameError, ProtocolError

#: Protocol version carried in every frame header; decoders reject every other value (``version`` error).
PROTOCOL_VERSION = 1
#: Header size in bytes (version, type, node id, sequence, timestamp).
HEADER_SIZE = 16
#: CRC size in bytes.
CRC_SIZE = 4
#: Largest payload of any message, in bytes.
MAX_PAYLOAD = 1024
#: Smallest and largest frame before COBS encoding (header + payload + CRC), in bytes.
MIN_FRAME = HEADER_SIZE + CRC_SIZE
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
#: Largest COBS-encoded frame without its 0x00 delimiter (worst case: one code byte per 254 data bytes + 1).
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1
#: Largest frame on the wire including the 0x00 delimiter; size receive buffers with this.
MAX_WIRE = MAX_ENCODED + 1
#: Broadcast node id for host -> node commands.
BROADCAST_NODE = 0xFFFF
#: Longest firmware-version and machine-name strings in HELLO (printable ASCII), in bytes.
MAX_STRING = 32
#: Most values in one FEATURES message.
MAX_FEATURE_VALUES = 254
#: Most samples in one RAW_CHUNK or REPLAY_SAMPLES message, per sample format.
MAX_SAMPLES_I16 = 500
MAX_SAMPLES_F32 = 250
#: Most model bytes in one MODEL_CHUNK message.
MAX_MODEL_CHUNK = 1000

#: Kinds of decode errors, as used in :attr:`FrameError.kind` and :attr:`Decoder.counters`.
ERROR_KINDS: tuple[str, ...] = ("oversize", "cobs", "length", "crc", "version", "unknown_type", "invalid")


class MsgType(IntEnum):
    """Message type codes (header byte 1). 0x01-0x3F: node -> host; 0x40-0x7F: host -> node."""

    HELLO = 0x01
    STATUS = 0x02
    SCORE = 0x03
    ALARM = 0x04
    FEATURES = 0x05
    RAW_CHUNK = 0x06
    ACK = 0x07
    NACK = 0x08
    SET_THRESHOLD = 0x40
    REQUEST_RAW = 0x41
    REPLAY_SAMPLES = 0x42
    MODEL_BEGIN = 0x43
    MODEL_CHUNK = 0x44
    MODEL_COMMIT = 0x45


class AlarmState(IntEnum):
    """``alarm_state`` field values (same codes as ``vibsentry.training.alarm``)."""

    OK = 0
    ALARM = 1


class AlarmEvent(IntEnum):
    """ALARM ``event`` field values (same codes as ``AlarmState.step`` events)."""

    RAISE = 1
    CLEAR = 2


class FeatureKind(IntEnum):
    """FEATURES ``kind``: which feature values the message carries."""

    VECTOR = 0  # the whole feature vector, in FeatureParams.feature_names order
    LOGMEL = 1
    MFCC = 2
    BAND_RMS = 3
    STATS = 4


class SampleFormat(IntEnum):
    """Sample format of RAW_CHUNK / REPLAY_SAMPLES. Value in g = sample * scale_g_per_lsb for both."""

    INT16 = 0
    FLOAT32 = 1


class NackReason(IntEnum):
    """NACK ``reason`` codes. Receivers must accept codes they do not know (shown as numbers)."""

    BAD_VALUE = 1
    BUSY = 2
    HASH_MISMATCH = 3
    OUT_OF_ORDER = 4
    UNSUPPORTED = 5
    TOO_LARGE = 6
    NOT_READY = 7


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
    if not isinstance(h, (bytes, bytearray)) or len(h) != 32:
        raise ProtocolError(f"{what}={h!r}: must be 32 raw bytes (use bytes.fromhex for a hex digest)")
    return bytes(h)


class Message:
    """Base of every message class. ``TYPE`` is the :class:`MsgType` code."""

    __slots__ = ()
    TYPE: ClassVar[MsgType]

    def _pack(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Message:  # pragma: no cover
        raise NotImplementedError


_HELLO = struct.Struct("<BIf32s32s")


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
    """

    TYPE: ClassVar[MsgType] = MsgType.HELLO
    fw_version: str
    machine: str
    sample_rate_hz: float
    feature_hash: bytes
    model_hash: bytes
    boot_counter: int
    protocol_version: int = PROTOCOL_VERSION

    def _pack(self) -> bytes:
        fw = _ascii_out(self.fw_version, "fw_version")
        machine = _ascii_out(self.machine, "machine")
        head = _HELLO.pack(
            self.protocol_version,
            self.boot_counter,
            self.sample_rate_hz,
            _hash_out(self.feature_hash, "feature_hash"),
            _hash_out(self.model_hash, "model_hash"),
        )
        return head + bytes((len(fw),)) + fw + bytes((len(machine),)) + machine

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Hello:
        p = off + _HELLO.size
        if p + 1 > end:
            raise FrameError("length", f"HELLO payload of {end - off} bytes is too short")
        n_fw = buf[p]
        q = p + 1 + n_fw
        if q + 1 > end:
            raise FrameError("length", f"HELLO fw_version length {n_fw} runs past the payload end")
        n_m = buf[q]
        if q + 1 + n_m != end:
            raise FrameError(
                "length", f"HELLO payload is {end - off} bytes, its string lengths say {q + 1 + n_m - off}"
            )
        if n_fw > MAX_STRING or n_m > MAX_STRING:
            raise _invalid("HELLO string length", max(n_fw, n_m))
        pv, boot, rate, fh, mh = _HELLO.unpack_from(buf, off)
        fw = _ascii(buf[p + 1 : q], "HELLO fw_version")
        machine = _ascii(buf[q + 1 : end], "HELLO machine")
        return cls(fw, machine, rate, fh, mh, boot, pv)


_STATUS = struct.Struct("<IIIIIIBBff")
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
    uptime_s: int
    frames_analysed: int
    frames_skipped: int
    tx_frames: int
    rx_frames: int
    rx_errors: int
    alarm_state: int
    battery_v: float | None = None
    temperature_c: float | None = None

    def _pack(self) -> bytes:
        if self.alarm_state not in (0, 1):
            raise ProtocolError(f"STATUS alarm_state={self.alarm_state!r}: must be 0 (OK) or 1 (ALARM)")
        flags = (_STATUS_BATTERY if self.battery_v is not None else 0) | (
            _STATUS_TEMPERATURE if self.temperature_c is not None else 0
        )
        return _STATUS.pack(
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

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Status:
        if end - off != _STATUS.size:
            raise FrameError("length", f"STATUS payload is {end - off} bytes, expected {_STATUS.size}")
        up, fa, fs, tx, rx, rxe, state, flags, bat, temp = _STATUS.unpack_from(buf, off)
        if state > 1:
            raise _invalid("STATUS alarm_state", state)
        if flags & ~3:
            raise _invalid("STATUS flags", flags)
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


_SCORE = struct.Struct("<ffBhfffI")


@dataclass(frozen=True, slots=True)
class Score(Message):
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
    score: float
    threshold: float
    alarm_state: int
    class_index: int
    rms_g: float
    peak_g: float
    velocity_rms_mm_s: float
    frame_index: int

    def _pack(self) -> bytes:
        if self.alarm_state not in (0, 1):
            raise ProtocolError(f"SCORE alarm_state={self.alarm_state!r}: must be 0 (OK) or 1 (ALARM)")
        return _SCORE.pack(
            self.score,
            self.threshold,
            self.alarm_state,
            self.class_index,
            self.rms_g,
            self.peak_g,
            self.velocity_rms_mm_s,
            self.frame_index,
        )

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Score:
        if end - off != 27:
            raise FrameError("length", f"SCORE payload is {end - off} bytes, expected 27")
        v = _SCORE.unpack_from(buf, off)
        if v[2] > 1:
            raise _invalid("SCORE alarm_state", v[2])
        return cls(*v)


_ALARM = struct.Struct("<BfffBBI")


@dataclass(frozen=True, slots=True)
class Alarm(Message):
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
    event: int
    score: float
    threshold: float
    clear_threshold: float
    k: int
    n: int
    frame_index: int

    def _pack(self) -> bytes:
        if self.event not in (1, 2):
            raise ProtocolError(f"ALARM event={self.event!r}: must be 1 (RAISE) or 2 (CLEAR)")
        return _ALARM.pack(
            self.event, self.score, self.threshold, self.clear_threshold, self.k, self.n, self.frame_index
        )

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Alarm:
        if end - off != _ALARM.size:
            raise FrameError("length", f"ALARM payload is {end - off} bytes, expected {_ALARM.size}")
        v = _ALARM.unpack_from(buf, off)
        if v[0] not in (1, 2):
            raise _invalid("ALARM event", v[0])
        return cls(*v)


_FEATURES = struct.Struct("<BIH")


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
    kind: int
    frame_index: int
    values: tuple[float, ...]

    def _pack(self) -> bytes:
        if self.kind not in (0, 1, 2, 3, 4):
            raise ProtocolError(
                f"FEATURES kind={self.kind!r}: must be one of {[int(k) for k in FeatureKind]}"
            )
        n = len(self.values)
        if n > MAX_FEATURE_VALUES:
            raise ProtocolError(f"FEATURES count={n}: at most {MAX_FEATURE_VALUES} values per message")
        return _FEATURES.pack(self.kind, self.frame_index, n) + struct.pack(f"<{n}f", *self.values)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Features:
        if end - off < _FEATURES.size:
            raise FrameError("length", f"FEATURES payload of {end - off} bytes is too short")
        kind, fi, n = _FEATURES.unpack_from(buf, off)
        if end - off != _FEATURES.size + 4 * n:
            raise FrameError("length", f"FEATURES payload is {end - off} bytes for count={n}")
        if kind > 4:
            raise _invalid("FEATURES kind", kind)
        if n > MAX_FEATURE_VALUES:
            raise _invalid("FEATURES count", n)
        return cls(kind, fi, struct.unpack_from(f"<{n}f", buf, off + _FEATURES.size))


def _samples_out(fmt: int, samples: tuple[float, ...] | tuple[int, ...], what: str) -> bytes:
    n = len(samples)
    if fmt == SampleFormat.INT16:
        if n > MAX_SAMPLES_I16:
            raise ProtocolError(f"{what} n_samples={n}: at most {MAX_SAMPLES_I16} int16 samples per message")
        return struct.pack("<H", n) + struct.pack(f"<{n}h", *samples)
    if fmt == SampleFormat.FLOAT32:
        if n > MAX_SAMPLES_F32:
            raise ProtocolError(
                f"{what} n_samples={n}: at most {MAX_SAMPLES_F32} float32 samples per message"
            )
        return struct.pack("<H", n) + struct.pack(f"<{n}f", *samples)
    raise ProtocolError(f"{what} sample_format={fmt!r}: must be 0 (int16) or 1 (float32)")


def _samples_in(buf: bytes, p: int, end: int, fmt: int, what: str) -> tuple[float, ...] | tuple[int, ...]:
    (n,) = struct.unpack_from("<H", buf, p)
    size = 2 if fmt == 0 else 4
    if end - p - 2 != size * n:
        raise FrameError("length", f"{what} has {end - p - 2} sample bytes for n_samples={n}")
    if fmt > 1:
        raise _invalid(f"{what} sample_format", fmt)
    if n > (MAX_SAMPLES_I16 if fmt == 0 else MAX_SAMPLES_F32):
        raise _invalid(f"{what} n_samples", n)
    return struct.unpack_from(f"<{n}{'h' if fmt == 0 else 'f'}", buf, p + 2)


_RAW = struct.Struct("<IHHfBf")


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
    capture_id: int
    chunk_index: int
    chunk_count: int
    sample_rate_hz: float
    sample_format: int
    scale_g_per_lsb: float
    samples: tuple[float, ...] | tuple[int, ...]

    def _pack(self) -> bytes:
        if not 0 <= self.chunk_index < self.chunk_count:
            raise ProtocolError(
                f"RAW_CHUNK chunk_index={self.chunk_index!r}: must be below chunk_count={self.chunk_count!r}"
            )
        head = _RAW.pack(
            self.capture_id,
            self.chunk_index,
            self.chunk_count,
            self.sample_rate_hz,
            self.sample_format,
            self.scale_g_per_lsb,
        )
        return head + _samples_out(self.sample_format, self.samples, "RAW_CHUNK")

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> RawChunk:
        if end - off < _RAW.size + 2:
            raise FrameError("length", f"RAW_CHUNK payload of {end - off} bytes is too short")
        cid, ci, cc, rate, fmt, scale = _RAW.unpack_from(buf, off)
        samples = _samples_in(buf, off + _RAW.size, end, fmt, "RAW_CHUNK")
        if ci >= cc:
            raise _invalid("RAW_CHUNK chunk_index", (ci, cc))
        return cls(cid, ci, cc, rate, fmt, scale, samples)


_ACK = struct.Struct("<BI")


@dataclass(frozen=True, slots=True)
class Ack(Message):
    """ACK (0x07, node -> host): a command was accepted and carried out.

    Attributes
    ----------
    acked_type : int
        :class:`MsgType` of the command (u8).
    acked_seq : int
        Sequence number of the command's frame (u32).
    """

    TYPE: ClassVar[MsgType] = MsgType.ACK
    acked_type: int
    acked_seq: int

    def _pack(self) -> bytes:
        return _ACK.pack(self.acked_type, self.acked_seq)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Ack:
        if end - off != 5:
            raise FrameError("length", f"ACK payload is {end - off} bytes, expected 5")
        return cls(*_ACK.unpack_from(buf, off))


_NACK = struct.Struct("<BIB")


@dataclass(frozen=True, slots=True)
class Nack(Message):
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
    acked_type: int
    acked_seq: int
    reason: int

    def _pack(self) -> bytes:
        return _NACK.pack(self.acked_type, self.acked_seq, self.reason)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> Nack:
        if end - off != 6:
            raise FrameError("length", f"NACK payload is {end - off} bytes, expected 6")
        return cls(*_NACK.unpack_from(buf, off))


_SET_THRESHOLD = struct.Struct("<ffBB")


@dataclass(frozen=True, slots=True)
class SetThreshold(Message):
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
    threshold: float
    clear_threshold: float
    k: int
    n: int

    def _pack(self) -> bytes:
        return _SET_THRESHOLD.pack(self.threshold, self.clear_threshold, self.k, self.n)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> SetThreshold:
        if end - off != _SET_THRESHOLD.size:
            raise FrameError("length", f"SET_THRESHOLD payload is {end - off} bytes, expected 10")
        return cls(*_SET_THRESHOLD.unpack_from(buf, off))


_REQUEST_RAW = struct.Struct("<IIB")


@dataclass(frozen=True, slots=True)
class RequestRaw(Message):
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
    capture_id: int
    n_samples: int
    sample_format: int

    def _pack(self) -> bytes:
        if self.sample_format not in (0, 1):
            raise ProtocolError(f"REQUEST_RAW sample_format={self.sample_format!r}: must be 0 or 1")
        return _REQUEST_RAW.pack(self.capture_id, self.n_samples, self.sample_format)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> RequestRaw:
        if end - off != _REQUEST_RAW.size:
            raise FrameError("length", f"REQUEST_RAW payload is {end - off} bytes, expected 9")
        v = _REQUEST_RAW.unpack_from(buf, off)
        if v[2] > 1:
            raise _invalid("REQUEST_RAW sample_format", v[2])
        return cls(*v)


_REPLAY = struct.Struct("<IfBf")


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
    block_index: int
    sample_rate_hz: float
    sample_format: int
    scale_g_per_lsb: float
    samples: tuple[float, ...] | tuple[int, ...]

    def _pack(self) -> bytes:
        head = _REPLAY.pack(self.block_index, self.sample_rate_hz, self.sample_format, self.scale_g_per_lsb)
        return head + _samples_out(self.sample_format, self.samples, "REPLAY_SAMPLES")

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> ReplaySamples:
        if end - off < _REPLAY.size + 2:
            raise FrameError("length", f"REPLAY_SAMPLES payload of {end - off} bytes is too short")
        bi, rate, fmt, scale = _REPLAY.unpack_from(buf, off)
        samples = _samples_in(buf, off + _REPLAY.size, end, fmt, "REPLAY_SAMPLES")
        return cls(bi, rate, fmt, scale, samples)


_MODEL_BEGIN = struct.Struct("<I32sH")


@dataclass(frozen=True, slots=True)
class ModelBegin(Message):
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
    total_size: int
    sha256: bytes
    chunk_size: int

    def _pack(self) -> bytes:
        if not 1 <= self.chunk_size <= MAX_MODEL_CHUNK:
            raise ProtocolError(f"MODEL_BEGIN chunk_size={self.chunk_size!r}: must be 1..{MAX_MODEL_CHUNK}")
        return _MODEL_BEGIN.pack(self.total_size, _hash_out(self.sha256, "sha256"), self.chunk_size)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> ModelBegin:
        if end - off != _MODEL_BEGIN.size:
            raise FrameError("length", f"MODEL_BEGIN payload is {end - off} bytes, expected 38")
        v = _MODEL_BEGIN.unpack_from(buf, off)
        if not 1 <= v[2] <= MAX_MODEL_CHUNK:
            raise _invalid("MODEL_BEGIN chunk_size", v[2])
        return cls(*v)


_MODEL_CHUNK = struct.Struct("<IH")


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
    offset: int
    data: bytes

    def _pack(self) -> bytes:
        if len(self.data) > MAX_MODEL_CHUNK:
            raise ProtocolError(f"MODEL_CHUNK data of {len(self.data)} bytes: at most {MAX_MODEL_CHUNK}")
        return _MODEL_CHUNK.pack(self.offset, len(self.data)) + bytes(self.data)

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> ModelChunk:
        if end - off < _MODEL_CHUNK.size:
            raise FrameError("length", f"MODEL_CHUNK payload of {end - off} bytes is too short")
        o, n = _MODEL_CHUNK.unpack_from(buf, off)
        if end - off != _MODEL_CHUNK.size + n:
            raise FrameError("length", f"MODEL_CHUNK payload is {end - off} bytes for n={n}")
        if n > MAX_MODEL_CHUNK:
            raise _invalid("MODEL_CHUNK n", n)
        return cls(o, bytes(buf[off + 6 : end]))


@dataclass(frozen=True, slots=True)
class ModelCommit(Message):
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
    sha256: bytes

    def _pack(self) -> bytes:
        return _hash_out(self.sha256, "sha256")

    @classmethod
    def _unpack(cls, buf: bytes, off: int, end: int) -> ModelCommit:
        if end - off != 32:
            raise FrameError("length", f"MODEL_COMMIT payload is {end - off} bytes, expected 32")
        return cls(bytes(buf[off:end]))


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
        SetThreshold,
        RequestRaw,
        ReplaySamples,
        ModelBegin,
        ModelChunk,
        ModelCommit,
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


def encode(msg: Message, *, node_id: int, seq: int, timestamp_us: int) -> bytes:
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
    try:
        payload = msg._pack()
    except (struct.error, OverflowError, TypeError) as exc:
        raise ProtocolError(f"cannot encode {msg!r}: {exc}") from None
    return encode_raw(msg.TYPE, payload, node_id=node_id, seq=seq, timestamp_us=timestamp_us)


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
    if version != PROTOCOL_VERSION:
        raise FrameError("version", f"protocol version {version} (this decoder speaks {PROTOCOL_VERSION})")
    cls = MESSAGE_CLASSES.get(mtype)
    if cls is None:
        raise FrameError("unknown_type", f"message type 0x{mtype:02X}")
    msg = cls._unpack(raw, HEADER_SIZE, end)
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
        if key in ("feature_hash", "model_hash", "sha256", "data") and isinstance(value, str):
            value = bytes.fromhex(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ProtocolError(f"message {name!r}: {exc}") from None
