"""The flat model image (``model.vsm``): an INT8 model the firmware runs from flash without a rebuild.

Format (normative: docs/model_image.md), little-endian, every section 4-byte aligned::

    header (144 bytes)      magic "VSMI", format version, sizes, input/output quantization, alarm rule,
                            score kind, feature_hash and source .tflite sha256 (32 raw bytes each)
    tensor table            n_tensors x (arena offset u32, bytes u32, constant-data offset u32 or 0)
    op table                n_ops x (code u8, n_words u8, input i16, input2 i16, output i16, params offset u32)
    parameter records       one per op: int32 words in the order of the vs_nn_*_params_t fields (PARAM_WORDS);
                            arrays (weights, biases, multipliers, shifts, tables) as image offsets
    constant arrays         int8 / int32 data, each 4-byte aligned
    normalisation           mean[n_features], std[n_features] float32
    CRC-32                  zlib.crc32 of every byte before it

The op list, parameters and arena plan are exactly the generated-C path's (:func:`vibsentry.codegen.lower.lower`),
so the C runner (``vs_model_image_run``, firmware_core) computes the same bits.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibsentry.codegen.lower import ExportPlan, lower
from vibsentry.codegen.ops import OP_CODES
from vibsentry.codegen.tflite_reader import read_tflite
from vibsentry.errors import ExportError

IMAGE_FILE = "model.vsm"
MAGIC = b"VSMI"
FORMAT_VERSION = 1
HEADER_BYTES = 144
SCORE_KINDS = {"anomaly": 1, "classifier": 2}
_TYPES = {"int8": 1, "float32": 2}

_Q = ("input_offset", "filter_offset", "output_offset", "act_min", "act_max", "@m", "@s", "per_channel",
      "single_rounding")  # fmt: skip
_CONV_DIMS = ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w", "stride_h", "stride_w",
              "dilation_h", "dilation_w", "pad_top", "pad_left", "filter_in_c", "depth_multiplier")  # fmt: skip
_AFFINE = ("size", "!scale", "zero_point")
#: Parameter record layout per op code: field names of the vs_nn_*_params_t in record order. "q." fields are
#: the nested vs_nn_quant_t, "@x" the image offset of the op's array "x" (0 for an absent optional bias),
#: "!name" a float32 stored by its bits, "name[4]" four words.
PARAM_WORDS: dict[int, tuple[str, ...]] = {
    OP_CODES["FULLY_CONNECTED"]: (*(f"q.{f}" for f in _Q), "@w", "@b", "batches", "in_features", "out_features"),
    OP_CODES["CONV_2D"]: (*(f"q.{f}" for f in _Q), "@w", "@b", *_CONV_DIMS),
    OP_CODES["DEPTHWISE_CONV_2D"]: (*(f"q.{f}" for f in _Q), "@w", "@b", *_CONV_DIMS),
    OP_CODES["AVERAGE_POOL_2D"]: ("batches", "in_h", "in_w", "channels", "out_h", "out_w", "k_h", "k_w",
                                  "stride_h", "stride_w", "pad_top", "pad_left", "act_min", "act_max"),
    OP_CODES["MEAN"]: ("outer", "reduce", "inner", "input_zero_point", "output_zero_point", "multiplier", "shift"),
    OP_CODES["ADD"]: ("input1_offset", "input2_offset", "output_offset", "left_shift", "input1_multiplier",
                      "input1_shift", "input2_multiplier", "input2_shift", "output_multiplier", "output_shift",
                      "act_min", "act_max", "size", "broadcast", "out_dims[4]", "in1_strides[4]",
                      "in2_strides[4]"),
    OP_CODES["RELU"]: ("size", "input_zero_point", "output_zero_point", "multiplier", "shift", "act_min",
                       "act_max"),
    OP_CODES["LOGISTIC"]: ("size", "@t"),
    OP_CODES["TANH"]: ("size", "@t"),
    OP_CODES["SOFTMAX"]: ("outer", "depth", "input_multiplier", "input_left_shift", "diff_min"),
    OP_CODES["COPY"]: ("bytes",),
    OP_CODES["QUANTIZE"]: _AFFINE,
    OP_CODES["DEQUANTIZE"]: _AFFINE,
    OP_CODES["REQUANTIZE"]: ("size", "input_zero_point", "output_zero_point", "multiplier", "shift"),
}  # fmt: skip


@dataclass(frozen=True)
class ImageInfo:
    """The decoded header of an image (see :func:`read_header`).

    Attributes
    ----------
    size : int
        Image bytes, CRC included.
    n_ops, n_tensors, arena_bytes, n_features : int
    feature_hash, source_sha256 : str
        Hex.
    threshold, clear_threshold : float
    alarm_k, alarm_n : int
    has_alarm : bool
    score_kind : str
        ``"anomaly"`` or ``"classifier"``.
    """

    size: int
    n_ops: int
    n_tensors: int
    arena_bytes: int
    n_features: int
    feature_hash: str
    source_sha256: str
    threshold: float
    clear_threshold: float
    alarm_k: int
    alarm_n: int
    has_alarm: bool
    score_kind: str


class _Blob:
    def __init__(self) -> None:
        self.buf = bytearray()

    def align(self) -> None:
        self.buf += bytes(-len(self.buf) % 4)

    def add(self, data: bytes) -> int:
        self.align()
        off = len(self.buf)
        self.buf += data
        return off


def _pack_array(ctype: str, values: Sequence[int]) -> bytes:
    if ctype == "int32_t":
        return struct.pack(f"<{len(values)}i", *(int(v) for v in values))
    if ctype == "int8_t":
        return struct.pack(f"<{len(values)}b", *(int(v) for v in values))
    raise ExportError(f"model image: array type {ctype} is not supported")


def _words(code: int, fields: Mapping[str, Any], arrays: Mapping[str, int]) -> list[int]:
    words: list[int] = []
    for name in PARAM_WORDS[code]:
        src: Mapping[str, Any] = fields
        if name.startswith("q."):
            src, name = fields["q"], name[2:]
        if name.startswith("@"):
            words.append(arrays.get(name[1:], 0))
        elif name.startswith("!"):
            words.append(struct.unpack("<i", struct.pack("<f", float(src[name[1:]])))[0])
        elif name.endswith("[4]"):
            vals = list(src.get(name[:-3], [0, 0, 0, 0]))  # broadcast-free ADD: unused zeros
            if len(vals) != 4:
                raise ExportError(f"model image: {name} needs 4 values, got {vals}")
            words.extend(int(v) for v in vals)
        else:
            words.append(int(src.get(name, 0)) if name in ("broadcast",) else int(src[name]))
    for w in words:
        if not -(2**31) <= w < 2**31:
            raise ExportError(f"model image: parameter value {w} does not fit 32 bits")
    return words


def build_image(
    plan: ExportPlan,
    *,
    normalisation: tuple[Sequence[float], Sequence[float]] | None = None,
    feature_hash: str | None = None,
    alarm: Any = None,
    score_kind: str = "anomaly",
) -> bytes:
    """Serialise a lowered model (and the bundle facts a node needs) as a model image.

    Parameters
    ----------
    plan : ExportPlan
        From :func:`vibsentry.codegen.lower.lower`.
    normalisation : (mean, std), optional
        Per-feature z-score parameters, each of length n_features (stored as float32).
    feature_hash : str, optional
        64 hex digits (the bundle's ``feature_hash``); zeros when absent.
    alarm : AlarmRule, optional
        ``threshold``, ``clear_threshold``, ``k``, ``n``; absent -> ``has_alarm`` 0.
    score_kind : {"anomaly", "classifier"}

    Returns
    -------
    bytes
        The image, a multiple of 4 bytes long.
    """
    if score_kind not in SCORE_KINDS:
        raise ExportError(f"model image: score kind {score_kind!r} is not one of {sorted(SCORE_KINDS)}")
    fh = bytes.fromhex(feature_hash) if feature_hash else bytes(32)
    if len(fh) != 32:
        raise ExportError(f"model image: feature_hash {feature_hash!r} is not 64 hex digits")
    index = {ti: i for i, ti in enumerate(plan.tensor_offsets)}
    if len(index) > 32767 or len(plan.ops) > 65535:
        raise ExportError("model image: too many tensors or ops")
    blob = _Blob()
    blob.buf += bytes(HEADER_BYTES)
    tensors_off = blob.add(bytes(12 * len(index)))
    ops_off = blob.add(bytes(12 * len(plan.ops)))
    const_offsets = {ti: blob.add(bytes(v & 0xFF for v in vals)) for ti, vals in plan.const_tensors.items()}
    op_rows = []
    for op in plan.ops:
        if op.code not in PARAM_WORDS:
            raise ExportError(f"model image: op {op.tflite_name} (code {op.code}) has no record layout")
        arrays = {suffix: blob.add(_pack_array(ctype, vals)) for suffix, ctype, vals in op.arrays}
        words = _words(op.code, op.fields, arrays)
        rec = blob.add(struct.pack(f"<{len(words)}i", *words))
        in2 = index[op.inputs[1]] if len(op.inputs) > 1 else -1
        op_rows.append(
            struct.pack("<BBhhhI", op.code, len(words), index[op.inputs[0]], in2, index[op.output], rec)
        )
    n_features = 0
    norm_off = 0
    if normalisation is not None:
        mean, std = (list(map(float, v)) for v in normalisation)
        if len(mean) != len(std) or not mean:
            raise ExportError(f"model image: normalisation mean/std lengths {len(mean)} and {len(std)}")
        n_features = len(mean)
        norm_off = blob.add(struct.pack(f"<{2 * n_features}f", *mean, *std))
    blob.align()
    buf = blob.buf
    buf[ops_off : ops_off + 12 * len(op_rows)] = b"".join(op_rows)
    rows = []
    for ti, (off, nb) in plan.tensor_offsets.items():
        rows.append(struct.pack("<III", 0 if ti in const_offsets else off, nb, const_offsets.get(ti, 0)))
    buf[tensors_off : tensors_off + 12 * len(rows)] = b"".join(rows)
    in_t, out_t = plan.input_tensor, plan.output_tensor
    size = len(buf) + 4
    header = struct.pack(
        "<4sHHIHHIhhBBHIIfifiIII" + "ffHHBBH",
        MAGIC, FORMAT_VERSION, HEADER_BYTES, size, len(plan.ops), len(index), plan.arena_bytes,
        index[in_t.index], index[out_t.index], _TYPES[in_t.dtype], _TYPES[out_t.dtype], n_features,
        in_t.nbytes, out_t.nbytes,
        float(in_t.scale) if in_t.scales.size else 0.0, int(in_t.zero_point),
        float(out_t.scale) if out_t.scales.size else 0.0, int(out_t.zero_point),
        tensors_off, ops_off, norm_off,
        float(alarm.threshold) if alarm is not None else 0.0,
        float(alarm.clear_threshold) if alarm is not None else 0.0,
        int(alarm.k) if alarm is not None else 0, int(alarm.n) if alarm is not None else 0,
        SCORE_KINDS[score_kind], 1 if alarm is not None else 0, 0,
    )  # fmt: skip
    header += fh + bytes.fromhex(plan.sha256)
    assert len(header) == HEADER_BYTES, len(header)
    buf[:HEADER_BYTES] = header
    return bytes(buf) + struct.pack("<I", zlib.crc32(bytes(buf)))


def read_header(data: bytes, *, where: str = "model image") -> ImageInfo:
    """Check magic, version, length and CRC of an image and decode its header (the C runner checks more)."""
    if len(data) < HEADER_BYTES + 4 or data[:4] != MAGIC:
        raise ExportError(f"{where}: not a vibsentry model image (magic {data[:4]!r})")
    version, hbytes, size = struct.unpack_from("<HHI", data, 4)
    if version != FORMAT_VERSION:
        raise ExportError(
            f"{where}: model image format version {version}, this vibsentry reads {FORMAT_VERSION}"
        )
    if hbytes != HEADER_BYTES or size != len(data):
        raise ExportError(f"{where}: image says {size} bytes, file has {len(data)}")
    if zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, size - 4)[0]:
        raise ExportError(f"{where}: CRC-32 mismatch (damaged image)")
    n_ops, n_tensors, arena = struct.unpack_from("<HHI", data, 12)
    (n_features,) = struct.unpack_from("<H", data, 26)
    thr, clr, k, n, kind, has_alarm = struct.unpack_from("<ffHHBB", data, 64)
    return ImageInfo(
        size=size, n_ops=n_ops, n_tensors=n_tensors, arena_bytes=arena, n_features=n_features,
        feature_hash=data[80:112].hex(), source_sha256=data[112:144].hex(), threshold=thr, clear_threshold=clr,
        alarm_k=k, alarm_n=n, has_alarm=bool(has_alarm),
        score_kind={v: k2 for k2, v in SCORE_KINDS.items()}.get(kind, f"unknown ({kind})"),
    )  # fmt: skip


def image_from_tflite(path: str | os.PathLike[str], **kwargs: Any) -> bytes:
    """Image of a bare .tflite file (keyword arguments as :func:`build_image`)."""
    return build_image(lower(read_tflite(Path(path))), **kwargs)


def image_from_bundle(path: str | os.PathLike[str]) -> bytes:
    """Image of a verified bundle's ``model.tflite`` with its normalisation, alarm rule and feature_hash."""
    from vibsentry.runtime.bundle import MODEL_FILE, load_bundle

    b = load_bundle(path)
    return image_from_tflite(
        Path(path) / MODEL_FILE,
        normalisation=([float(v) for v in b.mean], [float(v) for v in b.std]),
        feature_hash=b.feature_hash,
        alarm=b.alarm,
        score_kind=b.kind,
    )
