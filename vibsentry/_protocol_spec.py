"""GENERATED — do not edit. Source: specs/protocol.toml (sha256 b6421c649e82f85b01a3ea12dd150ba80841cd5686f6317b40cdf15934956221); regenerate: python3 scripts/gen_specs.py

Tables of the wire protocol for vibsentry.protocol (which adds the message classes and the codec):
constants, enumerations, decode error kinds and the byte layout of every message.
"""

# fmt: off

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import IntEnum
from typing import Any, NamedTuple

#: Protocol version written in every frame header by default.
PROTOCOL_VERSION = 2
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
#: bytes of an Ed25519 signature (RFC 8032).
SIGNATURE_SIZE = 64
#: most signed-manifest bytes in one MODEL_MANIFEST.
MAX_MANIFEST = 768
#: HEALTH `nacks` entries: index = NackReason code, index 0 counts codes >= 16.
NACK_SLOTS = 16
#: fewest frames BASELINE_LEARN may learn from.
MIN_BASELINE_FRAMES = 64

#: Kinds of decode errors, in the order a receiver checks them.
ERROR_KINDS: tuple[str, ...] = ("oversize", "cobs", "length", "crc", "version", "unknown_type", "invalid")
#: The C status code (specs/status_codes.toml) of each error kind.
ERROR_KIND_STATUS: dict[str, str] = {"oversize": "VS_PROTO_E_OVERSIZE", "cobs": "VS_PROTO_E_COBS", "length": "VS_PROTO_E_LENGTH", "crc": "VS_PROTO_E_CRC", "version": "VS_PROTO_E_VERSION", "unknown_type": "VS_PROTO_E_UNKNOWN_TYPE", "invalid": "VS_PROTO_E_INVALID"}


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
    HEALTH = 0x09
    MODEL_STATUS = 0x0A
    BASELINE_PROGRESS = 0x0B
    SET_THRESHOLD = 0x40
    REQUEST_RAW = 0x41
    REPLAY_SAMPLES = 0x42
    MODEL_BEGIN = 0x43
    MODEL_CHUNK = 0x44
    MODEL_MANIFEST = 0x46
    BASELINE_LEARN = 0x47
    MODEL_COMMIT = 0x45


class AlarmState(IntEnum):
    """Alarm state after applying the alarm rule (same codes as `vibsentry.runtime.alarm`)."""

    OK = 0
    ALARM = 1


class AlarmEvent(IntEnum):
    """ALARM event (the codes of `vibsentry.runtime.alarm`)."""

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
    BAD_STATE = 8  # the command is not valid in the node's current state (e.g. MODEL_CHUNK without MODEL_BEGIN)
    SIGNATURE = 9  # the model manifest's signature does not verify under any embedded key
    COUNTER = 10  # the model manifest's counter is not newer than the installed one
    FEATURE_HASH = 11  # the model was trained for other FeatureParams than the node computes
    STORAGE = 12  # writing the persistent store or a model slot failed


class ResetReason(IntEnum):
    """Why the node last reset (the MCU's reset-cause register)."""

    UNKNOWN = 0
    POWER_ON = 1
    PIN = 2  # external reset pin
    SOFTWARE = 3  # a reset the firmware asked for (e.g. after a model update)
    WATCHDOG = 4  # independent or task watchdog
    BROWN_OUT = 5  # supply voltage dropped below the brown-out level


class ModelSlot(IntEnum):
    """Where the running model comes from."""

    BUILTIN = 0  # compiled into the firmware (generated C), or none
    A = 1
    B = 2


class ModelState(IntEnum):
    """State of the running model."""

    NONE = 0  # no model: the node sends no SCORE
    ACTIVE = 1  # the built-in model, never updated
    TRIAL = 2  # a new model on probation (reverted after a watchdog reset or a failed self-test)
    CONFIRMED = 3  # an updated model that passed its trial
    REVERTED = 4  # the previous model again, after the last update failed its trial


class BaselineAction(IntEnum):
    """What BASELINE_LEARN asks."""

    START = 1  # learn from the next `n_frames` analysed frames
    ABORT = 2  # stop learning; the stored baseline stays
    CLEAR = 3  # erase the stored baseline (the model's own normalisation and threshold apply again)


class BaselineState(IntEnum):
    """State of on-node baseline learning."""

    NONE = 0  # no learned baseline
    LEARNING = 1
    DONE = 2  # a learned baseline is stored (CRC-checked) and in use
    ABORTED = 3
    FAILED = 4  # learning finished but the result was unusable (e.g. zero variance), nothing stored


#: Bytes per sample of each SampleFormat.
SAMPLE_SIZES: dict[int, int] = {0: 2, 1: 4}
#: Most samples per message for each SampleFormat.
MAX_SAMPLES: dict[int, int] = {0: 500, 1: 250}


class Check(NamedTuple):
    """One decoder rule on a fixed-part field: ``values[pos]`` must satisfy ``kind`` with ``arg``.

    ``kind`` is "in" (``arg`` a set or range of allowed values), "mask" (``arg`` the allowed bits) or "lt"
    (less than ``values[arg]``).
    """

    pos: int
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
    lengths: tuple[int, ...]  # per fixed_names entry: elements of a fixed-size array (tuple), 0 for a scalar
    tail: struct.Struct  # trailing fields present from protocol version ``tail_since`` on (empty: none)
    tail_names: tuple[str, ...]
    tail_checks: tuple[Check, ...]  # rules on the tail (indices into the tail)
    tail_since: int
    valid: Callable[[tuple[Any, ...]], bool]  # all of ``checks`` hold (fast path; ``checks`` explain a failure)
    tail_valid: Callable[[tuple[Any, ...]], bool]  # all of ``tail_checks`` hold
    arrays: bool  # some fixed-part field is a fixed-size array (``lengths``)




def _valid_hello(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_hello(v: tuple[Any, ...]) -> bool:
    return 0 <= v[0] <= 5 and 0 <= v[1] <= 2 and 0 <= v[2] <= 4


HELLO_LAYOUT = Layout(
    "HELLO",
    ("protocol_version", "boot_counter", "sample_rate_hz", "feature_hash", "model_hash", "fw_version", "machine", "reset_reason", "model_slot", "model_state"),
    struct.Struct("<BIf32s32s"),
    ("protocol_version", "boot_counter", "sample_rate_hz", "feature_hash", "model_hash"),
    (),
    False,
    ("feature_hash", "model_hash"),
    (32, 32),
    (0, 0, 0, 0, 0),
    struct.Struct("<BBB"),
    ("reset_reason", "model_slot", "model_state"),
    (Check(0, "reset_reason", "in", range(0, 6)), Check(1, "model_slot", "in", range(0, 3)), Check(2, "model_state", "in", range(0, 5))),
    2,
    _valid_hello,
    _tail_valid_hello,
    False,
)


def _valid_status(v: tuple[Any, ...]) -> bool:
    return 0 <= v[6] <= 1 and not v[7] & ~0x03




def _tail_valid_status(_v: tuple[Any, ...]) -> bool:
    return True


STATUS_LAYOUT = Layout(
    "STATUS",
    ("uptime_s", "frames_analysed", "frames_skipped", "tx_frames", "rx_frames", "rx_errors", "alarm_state", "battery_v", "temperature_c"),
    struct.Struct("<IIIIIIBBff"),
    ("uptime_s", "frames_analysed", "frames_skipped", "tx_frames", "rx_frames", "rx_errors", "alarm_state", "flags", "battery_v", "temperature_c"),
    (Check(6, "alarm_state", "in", range(0, 2)), Check(7, "flags", "mask", 0x03)),
    False,
    (),
    (),
    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_status,
    _tail_valid_status,
    False,
)


def _valid_score(v: tuple[Any, ...]) -> bool:
    return 0 <= v[2] <= 1




def _tail_valid_score(_v: tuple[Any, ...]) -> bool:
    return True


SCORE_LAYOUT = Layout(
    "SCORE",
    ("score", "threshold", "alarm_state", "class_index", "rms_g", "peak_g", "velocity_rms_mm_s", "frame_index"),
    struct.Struct("<ffBhfffI"),
    ("score", "threshold", "alarm_state", "class_index", "rms_g", "peak_g", "velocity_rms_mm_s", "frame_index"),
    (Check(2, "alarm_state", "in", range(0, 2)),),
    True,
    (),
    (),
    (0, 0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_score,
    _tail_valid_score,
    False,
)


def _valid_alarm(v: tuple[Any, ...]) -> bool:
    return 1 <= v[0] <= 2




def _tail_valid_alarm(_v: tuple[Any, ...]) -> bool:
    return True


ALARM_LAYOUT = Layout(
    "ALARM",
    ("event", "score", "threshold", "clear_threshold", "k", "n", "frame_index"),
    struct.Struct("<BfffBBI"),
    ("event", "score", "threshold", "clear_threshold", "k", "n", "frame_index"),
    (Check(0, "event", "in", range(1, 3)),),
    True,
    (),
    (),
    (0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_alarm,
    _tail_valid_alarm,
    False,
)


def _valid_features(v: tuple[Any, ...]) -> bool:
    return 0 <= v[0] <= 4 and 0 <= v[2] <= 254




def _tail_valid_features(_v: tuple[Any, ...]) -> bool:
    return True


FEATURES_LAYOUT = Layout(
    "FEATURES",
    ("kind", "frame_index", "values"),
    struct.Struct("<BIH"),
    ("kind", "frame_index", "count"),
    (Check(0, "kind", "in", range(0, 5)), Check(2, "count", "in", range(0, 255))),
    False,
    (),
    (),
    (0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_features,
    _tail_valid_features,
    False,
)


def _valid_raw_chunk(v: tuple[Any, ...]) -> bool:
    return v[1] < v[2] and 0 <= v[4] <= 1




def _tail_valid_raw_chunk(_v: tuple[Any, ...]) -> bool:
    return True


RAW_CHUNK_LAYOUT = Layout(
    "RAW_CHUNK",
    ("capture_id", "chunk_index", "chunk_count", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "samples"),
    struct.Struct("<IHHfBfH"),
    ("capture_id", "chunk_index", "chunk_count", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "count"),
    (Check(1, "chunk_index", "lt", 2), Check(4, "sample_format", "in", range(0, 2))),
    False,
    (),
    (),
    (0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_raw_chunk,
    _tail_valid_raw_chunk,
    False,
)


def _valid_ack(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_ack(_v: tuple[Any, ...]) -> bool:
    return True


ACK_LAYOUT = Layout(
    "ACK",
    ("acked_type", "acked_seq"),
    struct.Struct("<BI"),
    ("acked_type", "acked_seq"),
    (),
    True,
    (),
    (),
    (0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_ack,
    _tail_valid_ack,
    False,
)


def _valid_nack(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_nack(_v: tuple[Any, ...]) -> bool:
    return True


NACK_LAYOUT = Layout(
    "NACK",
    ("acked_type", "acked_seq", "reason"),
    struct.Struct("<BIB"),
    ("acked_type", "acked_seq", "reason"),
    (),
    True,
    (),
    (),
    (0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_nack,
    _tail_valid_nack,
    False,
)


def _valid_health(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_health(_v: tuple[Any, ...]) -> bool:
    return True


HEALTH_LAYOUT = Layout(
    "HEALTH",
    ("boot_counter", "watchdog_resets", "blocks", "ring_overruns", "overrun_samples", "replay_blocks", "replay_gaps", "discontinuities", "rx_foreign", "acks", "nacks", "raw_captures", "alarm_raises", "alarm_clears", "ring_high_water", "ring_capacity", "stack_high_water", "stack_size"),
    struct.Struct("<IIIIIIIIII16IIIIIIII"),
    ("boot_counter", "watchdog_resets", "blocks", "ring_overruns", "overrun_samples", "replay_blocks", "replay_gaps", "discontinuities", "rx_foreign", "acks", "nacks", "raw_captures", "alarm_raises", "alarm_clears", "ring_high_water", "ring_capacity", "stack_high_water", "stack_size"),
    (),
    True,
    (),
    (),
    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_health,
    _tail_valid_health,
    True,
)


def _valid_model_status(v: tuple[Any, ...]) -> bool:
    return 0 <= v[0] <= 2 and 0 <= v[1] <= 4




def _tail_valid_model_status(_v: tuple[Any, ...]) -> bool:
    return True


MODEL_STATUS_LAYOUT = Layout(
    "MODEL_STATUS",
    ("model_slot", "model_state", "counter", "model_hash", "trial_frames", "trial_target", "staged_bytes", "staged_total", "last_error"),
    struct.Struct("<BBI32sIIIIB"),
    ("model_slot", "model_state", "counter", "model_hash", "trial_frames", "trial_target", "staged_bytes", "staged_total", "last_error"),
    (Check(0, "model_slot", "in", range(0, 3)), Check(1, "model_state", "in", range(0, 5))),
    True,
    ("model_hash",),
    (32,),
    (0, 0, 0, 0, 0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_model_status,
    _tail_valid_model_status,
    False,
)


def _valid_baseline_progress(v: tuple[Any, ...]) -> bool:
    return 0 <= v[0] <= 4




def _tail_valid_baseline_progress(_v: tuple[Any, ...]) -> bool:
    return True


BASELINE_PROGRESS_LAYOUT = Layout(
    "BASELINE_PROGRESS",
    ("state", "frames_done", "frames_target", "threshold", "baseline_crc"),
    struct.Struct("<BIIfI"),
    ("state", "frames_done", "frames_target", "threshold", "baseline_crc"),
    (Check(0, "state", "in", range(0, 5)),),
    True,
    (),
    (),
    (0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_baseline_progress,
    _tail_valid_baseline_progress,
    False,
)


def _valid_set_threshold(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_set_threshold(_v: tuple[Any, ...]) -> bool:
    return True


SET_THRESHOLD_LAYOUT = Layout(
    "SET_THRESHOLD",
    ("threshold", "clear_threshold", "k", "n"),
    struct.Struct("<ffBB"),
    ("threshold", "clear_threshold", "k", "n"),
    (),
    True,
    (),
    (),
    (0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_set_threshold,
    _tail_valid_set_threshold,
    False,
)


def _valid_request_raw(v: tuple[Any, ...]) -> bool:
    return 0 <= v[2] <= 1




def _tail_valid_request_raw(_v: tuple[Any, ...]) -> bool:
    return True


REQUEST_RAW_LAYOUT = Layout(
    "REQUEST_RAW",
    ("capture_id", "n_samples", "sample_format"),
    struct.Struct("<IIB"),
    ("capture_id", "n_samples", "sample_format"),
    (Check(2, "sample_format", "in", range(0, 2)),),
    True,
    (),
    (),
    (0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_request_raw,
    _tail_valid_request_raw,
    False,
)


def _valid_replay_samples(v: tuple[Any, ...]) -> bool:
    return 0 <= v[2] <= 1




def _tail_valid_replay_samples(_v: tuple[Any, ...]) -> bool:
    return True


REPLAY_SAMPLES_LAYOUT = Layout(
    "REPLAY_SAMPLES",
    ("block_index", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "samples"),
    struct.Struct("<IfBfH"),
    ("block_index", "sample_rate_hz", "sample_format", "scale_g_per_lsb", "count"),
    (Check(2, "sample_format", "in", range(0, 2)),),
    False,
    (),
    (),
    (0, 0, 0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_replay_samples,
    _tail_valid_replay_samples,
    False,
)


def _valid_model_begin(v: tuple[Any, ...]) -> bool:
    return 1 <= v[2] <= 1000




def _tail_valid_model_begin(_v: tuple[Any, ...]) -> bool:
    return True


MODEL_BEGIN_LAYOUT = Layout(
    "MODEL_BEGIN",
    ("total_size", "sha256", "chunk_size"),
    struct.Struct("<I32sH"),
    ("total_size", "sha256", "chunk_size"),
    (Check(2, "chunk_size", "in", range(1, 1001)),),
    True,
    ("sha256",),
    (32,),
    (0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_model_begin,
    _tail_valid_model_begin,
    False,
)


def _valid_model_chunk(v: tuple[Any, ...]) -> bool:
    return 0 <= v[1] <= 1000




def _tail_valid_model_chunk(_v: tuple[Any, ...]) -> bool:
    return True


MODEL_CHUNK_LAYOUT = Layout(
    "MODEL_CHUNK",
    ("offset", "data"),
    struct.Struct("<IH"),
    ("offset", "count"),
    (Check(1, "count", "in", range(0, 1001)),),
    False,
    ("data",),
    (0,),
    (0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_model_chunk,
    _tail_valid_model_chunk,
    False,
)


def _valid_model_manifest(v: tuple[Any, ...]) -> bool:
    return 0 <= v[1] <= 768




def _tail_valid_model_manifest(_v: tuple[Any, ...]) -> bool:
    return True


MODEL_MANIFEST_LAYOUT = Layout(
    "MODEL_MANIFEST",
    ("signature", "manifest"),
    struct.Struct("<64sH"),
    ("signature", "count"),
    (Check(1, "count", "in", range(0, 769)),),
    False,
    ("signature", "manifest"),
    (64, 0),
    (0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_model_manifest,
    _tail_valid_model_manifest,
    False,
)


def _valid_baseline_learn(v: tuple[Any, ...]) -> bool:
    return 1 <= v[0] <= 3




def _tail_valid_baseline_learn(_v: tuple[Any, ...]) -> bool:
    return True


BASELINE_LEARN_LAYOUT = Layout(
    "BASELINE_LEARN",
    ("action", "n_frames", "threshold_k"),
    struct.Struct("<BIf"),
    ("action", "n_frames", "threshold_k"),
    (Check(0, "action", "in", range(1, 4)),),
    True,
    (),
    (),
    (0, 0, 0),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_baseline_learn,
    _tail_valid_baseline_learn,
    False,
)


def _valid_model_commit(_v: tuple[Any, ...]) -> bool:
    return True




def _tail_valid_model_commit(_v: tuple[Any, ...]) -> bool:
    return True


MODEL_COMMIT_LAYOUT = Layout(
    "MODEL_COMMIT",
    ("sha256",),
    struct.Struct("<32s"),
    ("sha256",),
    (),
    True,
    ("sha256",),
    (32,),
    (0,),
    struct.Struct("<"),
    (),
    (),
    0,
    _valid_model_commit,
    _tail_valid_model_commit,
    False,
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
    MsgType.HEALTH: HEALTH_LAYOUT,
    MsgType.MODEL_STATUS: MODEL_STATUS_LAYOUT,
    MsgType.BASELINE_PROGRESS: BASELINE_PROGRESS_LAYOUT,
    MsgType.SET_THRESHOLD: SET_THRESHOLD_LAYOUT,
    MsgType.REQUEST_RAW: REQUEST_RAW_LAYOUT,
    MsgType.REPLAY_SAMPLES: REPLAY_SAMPLES_LAYOUT,
    MsgType.MODEL_BEGIN: MODEL_BEGIN_LAYOUT,
    MsgType.MODEL_CHUNK: MODEL_CHUNK_LAYOUT,
    MsgType.MODEL_MANIFEST: MODEL_MANIFEST_LAYOUT,
    MsgType.BASELINE_LEARN: BASELINE_LEARN_LAYOUT,
    MsgType.MODEL_COMMIT: MODEL_COMMIT_LAYOUT,
}
