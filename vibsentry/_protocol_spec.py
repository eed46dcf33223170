"""GENERATED — do not edit. Source: specs/protocol.toml (sha256 b9bc499088259de50bbbc39ec2c48f2f2a5a218f7b1b1a0d5e2466c5612af31b); regenerate: python3 scripts/gen_specs.py

Tables of the wire protocol for vibsentry.protocol (which adds the message classes and the codec):
constants, enumerations, decode error kinds and the byte layout of every message.
"""

# fmt: off

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

#: Protocol version written in every frame header by default.
PROTOCOL_VERSION = 1
#: Oldest header version decoders accept.
MIN_PROTOCOL_VERSION = 1
#: version, type, node id, sequence, timestamp.
HEADER_SIZE = 16
#: CRC-32/ISO-HDLC, little-endian, after the payload.
CRC_SIZE = 4
#: largest payload of any message.
MAX_PAYLOAD = 1024
#: header + CRC (every message's fixed part makes real frames longer).
MIN_FRAME = 20
#: header + MAX_PAYLOAD + CRC, before COBS.
MAX_FRAME = 1044
#: largest COBS body, delimiter excluded.
MAX_ENCODED = 1049
#: largest frame on the wire; size receive buffers with this.
MAX_WIRE = 1050
#: node id addressing every node (host -> node only).
BROADCAST_NODE = 65535
#: bytes of a `hash` field (raw SHA-256).
HASH_SIZE = 32
#: longest `str` field, bytes of printable ASCII.
MAX_STRING = 32
#: most values in one FEATURES message.
MAX_FEATURE_VALUES = 254
#: most int16 samples in one RAW_CHUNK / REPLAY_SAMPLES.
MAX_SAMPLES_I16 = 500
#: most float32 samples in one RAW_CHUNK / REPLAY_SAMPLES.
MAX_SAMPLES_F32 = 250
#: most image bytes in one MODEL_CHUNK.
MAX_MODEL_CHUNK = 1000

#: Kinds of decode errors, in the order a receiver checks them.
ERROR_KINDS: tuple[str, ...] = ("oversize", "cobs", "length", "crc", "version", "unknown_type", "invalid")


class MsgType(IntEnum):
    """Message type codes (header byte 1); 0x01-0x3F node -> host, 0x40-0x7F host -> node."""

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
    """Alarm state after applying the alarm rule (same codes as `vibsentry.training.alarm`)."""

    OK = 0
    ALARM = 1


class AlarmEvent(IntEnum):
    """ALARM event (the codes of `vibsentry.training.alarm`)."""

    RAISE = 1
    CLEAR = 2


class FeatureKind(IntEnum):
    """Which feature values a FEATURES message carries."""

    VECTOR = 0  # the whole feature vector, in `FeatureParams.feature_names` order
    LOGMEL = 1
    MFCC = 2
    BAND_RMS = 3
    STATS = 4


class SampleFormat(IntEnum):
    """Sample format; for both, acceleration in g = `sample * scale_g_per_lsb`."""

    INT16 = 0
    FLOAT32 = 1


class NackReason(IntEnum):
    """Why a command was refused (receivers keep codes they do not know, as numbers)."""

    BAD_VALUE = 1  # a field value is out of range for this node
    BUSY = 2  # the node is doing something that excludes the command (e.g. a capture)
    HASH_MISMATCH = 3  # a SHA-256 does not match
    OUT_OF_ORDER = 4  # a block, chunk or offset is not the one expected next
    UNSUPPORTED = 5  # the node does not implement the command
    TOO_LARGE = 6  # more data than the node's buffer or slot holds
    NOT_READY = 7  # the node cannot act yet (e.g. still booting)


#: Bytes per sample of each SampleFormat.
SAMPLE_SIZES: dict[int, int] = {0: 2, 1: 4}
#: Most samples per message for each SampleFormat.
MAX_SAMPLES: dict[int, int] = {0: 500, 1: 250}


class Check(NamedTuple):
    """One decoder rule on a fixed-part field: ``values[index]`` must satisfy ``kind`` with ``arg``.

    ``kind`` is "in" (``arg`` a set or range of allowed values), "mask" (``arg`` the allowed bits) or "lt"
    (less than ``values[arg]``).
    """

    index: int
    name: str
    kind: str
    arg: object


class Layout(NamedTuple):
    """Byte layout of one message type."""

    name: str  # MsgType name
    fields: tuple[str, ...]  # dataclass fields, in wire order (counts, lengths and flag bytes are implied)
    fixed: struct.Struct  # the fields before the first variable-size one (all of them for fixed layouts)
    fixed_names: tuple[str, ...]
    checks: tuple[Check, ...]  # rules on the fixed part, checked after the payload size
    generic: bool  # fixed layout and no optional fields: vibsentry.protocol packs it with ``fixed`` alone
    bytes_fields: tuple[str, ...]  # raw-bytes fields (hashes, signatures, data): hex in JSON
    bytes_sizes: tuple[int, ...]  # their sizes (0: variable, an array)


HELLO_LAYOUT = Layout(
    "HELLO",
    ("protocol_version", "boot_counter", "sample_rate_hz", "feature_hash", "model_hash", "fw_version", "machine"),
    struct.Struct("<BIf32s32s"),
    ("protocol_version", "boot_counter", "sample_rate_hz", "feature_hash", "model_hash"),
    (),
    False,
    ("feature_hash", "model_hash"),
    (32, 32),
)
STATUS_LAYOUT = Layout(
    "STATUS",
    ("uptime_s", "frames_analysed", "frames_skipped", "tx_frames", "rx_frames", "rx_errors", "alarm_state", "battery_v", "temperature_c"),
    struct.Struct("<IIIIIIBBff"),
    ("uptime_s", "frames_analysed", "frames_skipped", "tx_frames", "rx_frames", "rx_errors", "alarm_state", "flags", "battery_v", "temperature_c"),
    (Check(6, "alarm_state", "in", range(0, 2)), Check(7, "flags", "mask", 0x03)),
    False,
    (),
    (),
)
SCORE_LAYOUT = Layout(
    "SCORE",
    ("score", "threshold", "alarm_state", "class_index", "rms_g", "peak_g", "velocity_rms_mm_s", "frame_index"),
    struct.Struct("<ffBhfffI"),
    ("score", "threshold", "alarm_state", "class_index", "rms_g", "peak_g", "velocity_rms_mm_s", "frame_index"),
    (Check(2, "alarm_state", "in", range(0, 2)),),
    True,
    (),
    (),
)
ALARM_LAYOUT = Layout(
    "ALARM",
    ("event", "score", "threshold", "clear_threshold", "k", "n", "frame_index"),
    struct.Struct("<BfffBBI"),
    ("event", "score", "threshold", "clear_threshold", "k", "n", "frame_index"),
    (Check(0, "event", "in", range(1, 3)),),
    True,
    (),
    (),
)
FEATURES_LAYOUT = Layout(
    "FEATURES",
    ("kind", "frame_index", "values"),
    struct.Struct("<BIH"),
    ("kind", "frame_index", "count"),
    (Check(0, "kind", "in", range(0, 5)), Check(2, "count", "in", range(0, 255))),
    False,
    (),
    (),
)
RAW_CHUNK_LAYOUT = Layout(
    "RAW_CHUNK",
    ("capture_id", "chunk_index", "chunk_count", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "samples"),
    struct.Struct("<IHHfBfH"),
    ("capture_id", "chunk_index", "chunk_count", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "count"),
    (Check(1, "chunk_index", "lt", 2), Check(4, "sample_format", "in", range(0, 2))),
    False,
    (),
    (),
)
ACK_LAYOUT = Layout(
    "ACK",
    ("acked_type", "acked_seq"),
    struct.Struct("<BI"),
    ("acked_type", "acked_seq"),
    (),
    True,
    (),
    (),
)
NACK_LAYOUT = Layout(
    "NACK",
    ("acked_type", "acked_seq", "reason"),
    struct.Struct("<BIB"),
    ("acked_type", "acked_seq", "reason"),
    (),
    True,
    (),
    (),
)
SET_THRESHOLD_LAYOUT = Layout(
    "SET_THRESHOLD",
    ("threshold", "clear_threshold", "k", "n"),
    struct.Struct("<ffBB"),
    ("threshold", "clear_threshold", "k", "n"),
    (),
    True,
    (),
    (),
)
REQUEST_RAW_LAYOUT = Layout(
    "REQUEST_RAW",
    ("capture_id", "n_samples", "sample_format"),
    struct.Struct("<IIB"),
    ("capture_id", "n_samples", "sample_format"),
    (Check(2, "sample_format", "in", range(0, 2)),),
    True,
    (),
    (),
)
REPLAY_SAMPLES_LAYOUT = Layout(
    "REPLAY_SAMPLES",
    ("block_index", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "samples"),
    struct.Struct("<IfBfH"),
    ("block_index", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "count"),
    (Check(2, "sample_format", "in", range(0, 2)),),
    False,
    (),
    (),
)
MODEL_BEGIN_LAYOUT = Layout(
    "MODEL_BEGIN",
    ("total_size", "sha256", "chunk_size"),
    struct.Struct("<I32sH"),
    ("total_size", "sha256", "chunk_size"),
    (Check(2, "chunk_size", "in", range(1, 1001)),),
    True,
    ("sha256",),
    (32,),
)
MODEL_CHUNK_LAYOUT = Layout(
    "MODEL_CHUNK",
    ("offset", "data"),
    struct.Struct("<IH"),
    ("offset", "count"),
    (Check(1, "count", "in", range(0, 1001)),),
    False,
    ("data",),
    (0,),
)
MODEL_COMMIT_LAYOUT = Layout(
    "MODEL_COMMIT",
    ("sha256",),
    struct.Struct("<32s"),
    ("sha256",),
    (),
    True,
    ("sha256",),
    (32,),
)

#: Layout of each message type.
LAYOUTS: dict[int, Layout] = {
    MsgType.HELLO: HELLO_LAYOUT,
    MsgType.STATUS: STATUS_LAYOUT,
    MsgType.SCORE: SCORE_LAYOUT,
    MsgType.ALARM: ALARM_LAYOUT,
    MsgType.FEATURES: FEATURES_LAYOUT,
    MsgType.RAW_CHUNK: RAW_CHUNK_LAYOUT,
    MsgType.ACK: ACK_LAYOUT,
    MsgType.NACK: NACK_LAYOUT,
    MsgType.SET_THRESHOLD: SET_THRESHOLD_LAYOUT,
    MsgType.REQUEST_RAW: REQUEST_RAW_LAYOUT,
    MsgType.REPLAY_SAMPLES: REPLAY_SAMPLES_LAYOUT,
    MsgType.MODEL_BEGIN: MODEL_BEGIN_LAYOUT,
    MsgType.MODEL_CHUNK: MODEL_CHUNK_LAYOUT,
    MsgType.MODEL_COMMIT: MODEL_COMMIT_LAYOUT,
}
