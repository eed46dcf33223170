"""Operator lowering: one function per TFLite operator, each turning a TFLite op into one op of the generated
list (``vs_model_op_t``) with its parameter struct and constant arrays.

Each ``lower_<op>`` does what the TFLite kernel's ``Prepare`` does (multipliers, shifts, clamps, tables) and
the shape checks that keep the C kernels inside their buffers. :data:`LOWERINGS` maps operator names to them;
:data:`OP_CODES` are the ``vs_model.h`` op codes (part of the generated-code format).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vibsentry import _model_ops_spec
from vibsentry.codegen.quant import (
    activation_range,
    f32,
    logistic_table,
    quantize_multiplier,
    round_half_away,
    tanh_table,
)
from vibsentry.codegen.tflite_reader import TfliteModel, TfliteOp, TfliteTensor
from vibsentry.errors import ExportError

# vs_model.h op codes (part of the generated-code format), generated from specs/model_ops.toml.
OP_CODES = _model_ops_spec.OP_CODES
C_OP_NAMES = {v: k for k, v in OP_CODES.items()}
#: Ops that only change the shape: their output is the input's bytes.
COPY_OPS = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
#: Inputs of these ops that carry shapes/axes, not data: they are read at export, not at run time.
STATIC_INPUTS = {"RESHAPE": (1,), "EXPAND_DIMS": (1,), "MEAN": (1,)}
#: Ops whose input and output have the same number of elements (checked before lowering).
_SAME_SIZE = (
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "LOGISTIC",
    "TANH",
    "SOFTMAX",
    "QUANTIZE",
    "DEQUANTIZE",
    *COPY_OPS,
)


@dataclass
class COp:
    """One op of the generated op list."""

    code: int
    tflite_name: str
    inputs: tuple[int, ...]  # TFLite tensor indices (data inputs only)
    output: int
    params_type: str
    fields: dict[str, Any]
    arrays: list[tuple[str, str, Sequence[int]]] = field(default_factory=list)  # (suffix, ctype, values)
    macs: int = 0


def _need_int8(model: TfliteModel, op: TfliteOp, idx: int, what: str) -> TfliteTensor:
    t = model.tensors[idx]
    if t.dtype != "int8":
        raise ExportError(
            f"{model.path}: op {op.index} {op.name}: {what} tensor {t.name!r} is {t.dtype}, "
            "expected int8 (export needs a fully int8-quantized model)"
        )
    if t.scales.size == 0:
        raise ExportError(
            f"{model.path}: op {op.index} {op.name}: {what} tensor {t.name!r} has no quantization"
        )
    if (
        not np.all(np.isfinite(t.scales))
        or np.any(t.scales <= 0)
        or np.any(np.abs(t.zero_points + 0.5) > 128)
    ):
        raise ExportError(
            f"{model.path}: op {op.index} {op.name}: {what} tensor {t.name!r} has invalid quantization "
            f"(scales {t.scales[:4].tolist()}, zero points {t.zero_points[:4].tolist()})"
        )
    return t


def _opt(op: TfliteOp, name: str, default: Any = 0) -> Any:
    return getattr(op.options, name, default) if op.options is not None else default


MAX_DIMS = 4


def _broadcast_fields(sa: tuple[int, ...], sb: tuple[int, ...], so: tuple[int, ...]) -> dict[str, Any] | None:
    """vs_nn_add_params_t's broadcast fields for ``a + b -> out`` (NumPy rules), or None if impossible."""
    if max(len(sa), len(sb), len(so)) > MAX_DIMS:
        return None
    pa, pb, po = ([1] * (MAX_DIMS - len(x)) + list(x) for x in (sa, sb, so))
    if any(d not in (1, o) for d, o in zip(pa + pb, po + po, strict=True)):
        return None
    if pa == po and pb == po:
        return {"broadcast": 0}

    def strides(p: list[int]) -> list[int]:
        st, acc = [0] * MAX_DIMS, 1
        for i in range(MAX_DIMS - 1, -1, -1):
            st[i] = 0 if (p[i] == 1 and po[i] > 1) else acc
            acc *= p[i]
        return st

    return {"broadcast": 1, "out_dims": po, "in1_strides": strides(pa), "in2_strides": strides(pb)}


def _padding(padding: int, in_size: int, k: int, stride: int, dilation: int, out_size: int) -> int:
    """TFLite ComputePaddingWithOffset (the offset only matters for transposed convs)."""
    eff = (k - 1) * dilation + 1
    total = (out_size - 1) * stride + eff - in_size
    return max(total, 0) // 2


def _nhwc(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ExportError(f"expected a 4-D NHWC tensor, got shape {shape}")
    return shape[0], shape[1], shape[2], shape[3]


def _conv_multipliers(
    inp: TfliteTensor, filt: TfliteTensor, out: TfliteTensor, n_out: int
) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: per channel, double(in) * double(filter) / double(out)."""
    scales = filt.scales if filt.scales.size > 1 else np.repeat(filt.scales[:1], n_out)
    if scales.size != n_out:
        raise ExportError(f"filter {filt.name!r} has {filt.scales.size} scales for {n_out} output channels")
    mults, shifts = [], []
    for s in scales:
        m, sh = quantize_multiplier(float(inp.scales[0]) * float(s) / float(out.scales[0]))
        mults.append(m)
        shifts.append(sh)
    return mults, shifts


def _quant_fields(
    inp: TfliteTensor, filt: TfliteTensor, out: TfliteTensor, act: int, per_channel: bool
) -> dict[str, Any]:
    lo, hi = activation_range(act, out.scale, out.zero_point)
    if filt.zero_points.size and np.any(filt.zero_points != filt.zero_points[0]):
        raise ExportError(
            f"filter {filt.name!r} has per-channel zero points; TFLite int8 weights are symmetric"
        )
    return {
        "input_offset": -inp.zero_point,
        "filter_offset": -int(filt.zero_points[0]) if filt.zero_points.size else 0,
        "output_offset": out.zero_point,
        "act_min": lo,
        "act_max": hi,
        "per_channel": 1 if per_channel else 0,
        "single_rounding": 0,
    }


def _bias(model: TfliteModel, op: TfliteOp, n_out: int) -> list[int] | None:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return None
    b = model.tensors[op.inputs[2]]
    if b.data is None or b.dtype != "int32" or b.n_elements != n_out:
        raise ExportError(f"{model.path}: op {op.index} {op.name}: bias must be constant int32[{n_out}]")
    return [int(v) for v in b.data.reshape(-1)]


def _int8_in_out(model: TfliteModel, op: TfliteOp) -> tuple[TfliteTensor, TfliteTensor]:
    """The op's first input and its output, each checked to be int8 with a valid quantization (input first)."""
    inp = _need_int8(model, op, op.inputs[0], "input")
    return inp, _need_int8(model, op, op.outputs[0], "output")


def _unary(
    op: TfliteOp,
    code: str,
    params_type: str,
    fields: dict[str, Any],
    arrays: list[tuple[str, str, Sequence[int]]] | None = None,
    macs: int = 0,
) -> COp:
    """The generated op for a one-input TFLite op (``code`` names its ``vs_model.h`` op code)."""
    return COp(
        OP_CODES[code], op.name, (op.inputs[0],), op.outputs[0], params_type, fields, arrays or [], macs
    )


def lower_fully_connected(model: TfliteModel, op: TfliteOp) -> COp:
    """FULLY_CONNECTED: int8 weights (per-tensor or per-channel), optional int32 bias; a non-zero input
    offset is folded into the bias (plain int8 dot product at run time)."""
    name = op.name
    out = model.tensors[op.outputs[0]]
    inp = _need_int8(model, op, op.inputs[0], "input")
    w = _need_int8(model, op, op.inputs[1], "weights")
    _need_int8(model, op, op.outputs[0], "output")
    if w.data is None or len(w.shape) != 2:
        raise ExportError(
            f"{model.path}: op {op.index} FULLY_CONNECTED: weights must be a constant 2-D tensor"
        )
    if _opt(op, "weightsFormat", 0) != 0:
        raise ExportError(f"{model.path}: op {op.index} FULLY_CONNECTED: shuffled weights are not supported")
    n_out, n_in = w.shape
    if inp.n_elements % n_in:
        raise ExportError(f"{model.path}: op {op.index}: input {inp.shape} is not a multiple of {n_in}")
    batches = inp.n_elements // n_in
    if batches * n_out != out.n_elements:
        raise ExportError(f"{model.path}: op {op.index}: output {out.shape} is not {batches} x {n_out}")
    act = int(_opt(op, "fusedActivationFunction", 0))
    per_channel = w.scales.size > 1
    if per_channel:
        mults, shifts = _conv_multipliers(inp, w, out, n_out)
    else:
        # GetQuantizedConvolutionMultipler: the scale product is taken in float, then divided in double.
        prod = float(f32(inp.scales[0]) * f32(w.scales[0]))
        m, s = quantize_multiplier(prod / float(out.scales[0]))
        mults, shifts = [m], [s]
    bias = _bias(model, op, n_out)
    qf = _quant_fields(inp, w, out, act, per_channel)
    if qf["filter_offset"] == 0 and qf["input_offset"] != 0:
        # sum_i w*(x + io) + b == sum_i w*x + (b + io*sum_i w), exactly, in int32: the kernel then runs a
        # plain int8 dot product. (With padding, convolutions skip taps, so this is for dense layers only.)
        rows = w.data.astype(np.int64).reshape(n_out, n_in).sum(axis=1)
        base = bias if bias is not None else [0] * n_out
        bias = [int(b + qf["input_offset"] * r) for b, r in zip(base, rows, strict=True)]
        if any(abs(b) >= 1 << 31 for b in bias):
            raise ExportError(f"{model.path}: op {op.index} FULLY_CONNECTED: folded bias overflows int32")
        qf["input_offset"] = 0
    arrays: list[tuple[str, str, Sequence[int]]] = [
        ("w", "int8_t", [int(v) for v in w.data.reshape(-1)]),
        ("m", "int32_t", mults),
        ("s", "int8_t", shifts),
    ]
    if bias is not None:
        arrays.append(("b", "int32_t", bias))
    # TF 2.21's FULLY_CONNECTED reference kernel rounds once (found by the bit-exact tests).
    qf["single_rounding"] = 1
    fields = {
        "q": qf,
        "batches": batches,
        "in_features": n_in,
        "out_features": n_out,
    }
    return _unary(op, name, "vs_nn_fc_params_t", fields, arrays, macs=batches * n_in * n_out)


def lower_conv(model: TfliteModel, op: TfliteOp) -> COp:
    """CONV_2D and DEPTHWISE_CONV_2D (NHWC): per-channel multipliers, padding offsets, strides, dilations."""
    name = op.name
    out = model.tensors[op.outputs[0]]
    inp = _need_int8(model, op, op.inputs[0], "input")
    f = _need_int8(model, op, op.inputs[1], "filter")
    _need_int8(model, op, op.outputs[0], "output")
    if f.data is None:
        raise ExportError(f"{model.path}: op {op.index} {name}: filter must be constant")
    nb, ih, iw, ic = _nhwc(inp.shape)
    onb, oh, ow, oc = _nhwc(out.shape)
    if onb != nb:
        raise ExportError(f"{model.path}: op {op.index} {name}: batch {nb} in, {onb} out")
    if name == "CONV_2D":
        _, kh, kw, fic = _nhwc(f.shape)
        if f.shape[0] != oc or fic == 0 or ic % fic:
            raise ExportError(
                f"{model.path}: op {op.index} CONV_2D: filter {f.shape} does not fit input {inp.shape}"
            )
        dm = 0
    else:
        _, kh, kw, foc = _nhwc(f.shape)
        if foc != oc or oc % ic:
            raise ExportError(
                f"{model.path}: op {op.index} DEPTHWISE_CONV_2D: filter {f.shape} vs input {inp.shape}"
            )
        fic, dm = 0, oc // ic
    sh, sw = int(_opt(op, "strideH", 1)), int(_opt(op, "strideW", 1))
    dh, dw = int(_opt(op, "dilationHFactor", 1)), int(_opt(op, "dilationWFactor", 1))
    pad = int(_opt(op, "padding", 0))
    act = int(_opt(op, "fusedActivationFunction", 0))
    mults, shifts = _conv_multipliers(inp, f, out, oc)
    bias = _bias(model, op, oc)
    arrays: list[tuple[str, str, Sequence[int]]] = [
        ("w", "int8_t", [int(v) for v in f.data.reshape(-1)]),
        ("m", "int32_t", mults),
        ("s", "int8_t", shifts),
    ]
    if bias is not None:
        arrays.append(("b", "int32_t", bias))
    fields = {
        "q": _quant_fields(inp, f, out, act, True),
        "batches": nb,
        "in_h": ih,
        "in_w": iw,
        "in_c": ic,
        "out_h": oh,
        "out_w": ow,
        "out_c": oc,
        "k_h": kh,
        "k_w": kw,
        "stride_h": sh,
        "stride_w": sw,
        "dilation_h": dh,
        "dilation_w": dw,
        "pad_top": _padding(pad, ih, kh, sh, dh, oh),
        "pad_left": _padding(pad, iw, kw, sw, dw, ow),
        "filter_in_c": fic,
        "depth_multiplier": dm,
    }
    macs = nb * oh * ow * oc * kh * kw * (fic if name == "CONV_2D" else 1)
    return _unary(op, name, "vs_nn_conv_params_t", fields, arrays, macs)


def lower_average_pool(model: TfliteModel, op: TfliteOp) -> COp:
    """AVERAGE_POOL_2D (NHWC): same quantization in and out; padding and activation clamp."""
    name = op.name
    inp, out = _int8_in_out(model, op)
    if inp.scale != out.scale or inp.zero_point != out.zero_point:
        raise ExportError(
            f"{model.path}: op {op.index} AVERAGE_POOL_2D: input and output quantization differ"
        )
    nb, ih, iw, c = _nhwc(inp.shape)
    onb, oh, ow, oc = _nhwc(out.shape)
    if (onb, oc) != (nb, c):
        raise ExportError(f"{model.path}: op {op.index} AVERAGE_POOL_2D: {inp.shape} -> {out.shape}")
    kh, kw = int(_opt(op, "filterHeight", 1)), int(_opt(op, "filterWidth", 1))
    sh, sw = int(_opt(op, "strideH", 1)), int(_opt(op, "strideW", 1))
    pad = int(_opt(op, "padding", 0))
    lo, hi = activation_range(int(_opt(op, "fusedActivationFunction", 0)), out.scale, out.zero_point)
    fields = {
        "batches": nb, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow, "k_h": kh, "k_w": kw,
        "stride_h": sh, "stride_w": sw, "pad_top": _padding(pad, ih, kh, sh, 1, oh),
        "pad_left": _padding(pad, iw, kw, sw, 1, ow), "act_min": lo, "act_max": hi,
    }  # fmt: skip
    return _unary(op, name, "vs_nn_pool_params_t", fields, macs=nb * oh * ow * c * kh * kw)


def lower_mean(model: TfliteModel, op: TfliteOp) -> COp:
    """MEAN over contiguous axes, with 1/count folded into the multiplier as ``QuantizedMeanOrSum`` does."""
    name = op.name
    t = model.tensors
    inp, out = _int8_in_out(model, op)
    axis_t = t[op.inputs[1]]
    if axis_t.data is None:
        raise ExportError(f"{model.path}: op {op.index} MEAN: the axis must be constant")
    nd = len(inp.shape)
    axes = sorted({int(a) % nd for a in axis_t.data.reshape(-1)})
    keep = [i for i in range(nd) if inp.shape[i] > 1]
    red = [i for i in keep if i in axes]
    outer = reduce_ = inner = 1
    for i in keep:
        if i in axes:
            reduce_ *= inp.shape[i]
        elif red and i < red[0]:
            outer *= inp.shape[i]
        elif red and i > red[-1]:
            inner *= inp.shape[i]
        elif not red:
            inner *= inp.shape[i]
        else:
            raise ExportError(
                f"{model.path}: op {op.index} MEAN over non-contiguous axes {axes} of {inp.shape}"
            )
    mult, shift = quantize_multiplier(float(inp.scales[0]) / float(out.scales[0]))
    # reference_ops::QuantizedMeanOrSum folds 1/count into the multiplier.
    n = reduce_
    sh_n = min(n.bit_length() - 1, 32, 31 + shift)
    mult = (mult << sh_n) // n
    shift -= sh_n
    if outer * inner != out.n_elements:
        raise ExportError(f"{model.path}: op {op.index} MEAN: output {out.shape} does not match {inp.shape}")
    fields = {"outer": outer, "reduce": reduce_, "inner": inner, "input_zero_point": inp.zero_point,
              "output_zero_point": out.zero_point, "multiplier": mult, "shift": shift}  # fmt: skip
    return _unary(op, name, "vs_nn_mean_params_t", fields, macs=inp.n_elements)


def lower_add(model: TfliteModel, op: TfliteOp) -> COp:
    """ADD with NumPy broadcasting (up to 4-D): TFLite's left-shift-20 fixed-point rescaling of both inputs."""
    name = op.name
    out = model.tensors[op.outputs[0]]
    a = _need_int8(model, op, op.inputs[0], "input1")
    b = _need_int8(model, op, op.inputs[1], "input2")
    _need_int8(model, op, op.outputs[0], "output")
    bcast = _broadcast_fields(a.shape, b.shape, out.shape)
    if bcast is None:
        raise ExportError(
            f"{model.path}: op {op.index} ADD: shapes {a.shape} + {b.shape} -> {out.shape} do not broadcast "
            f"(at most {MAX_DIMS} dimensions)"
        )
    left_shift = 20
    twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
    m1, s1 = quantize_multiplier(float(a.scales[0]) / twice_max)
    m2, s2 = quantize_multiplier(float(b.scales[0]) / twice_max)
    mo, so = quantize_multiplier(twice_max / float(f32(1 << left_shift) * f32(out.scale)))
    lo, hi = activation_range(int(_opt(op, "fusedActivationFunction", 0)), out.scale, out.zero_point)
    fields = {
        "input1_offset": -a.zero_point, "input2_offset": -b.zero_point, "output_offset": out.zero_point,
        "left_shift": left_shift, "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2,
        "input2_shift": s2, "output_multiplier": mo, "output_shift": so, "act_min": lo, "act_max": hi,
        "size": out.n_elements, **bcast,
    }  # fmt: skip
    return COp(
        OP_CODES[name],
        name,
        (op.inputs[0], op.inputs[1]),
        op.outputs[0],
        "vs_nn_add_params_t",
        fields,
        macs=out.n_elements,
    )


def lower_relu(model: TfliteModel, op: TfliteOp) -> COp:
    """RELU, RELU6 and RELU_N1_TO_1: requantize, then clamp (``QuantizedReluX``)."""
    name = op.name
    inp, out = _int8_in_out(model, op)
    m, s = quantize_multiplier(float(inp.scales[0]) / float(out.scales[0]))
    lo_f, hi_f = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[name]
    # QuantizedReluX: roundf(act / scale) in float.
    lo = max(-128, out.zero_point + round_half_away(float(f32(lo_f) / f32(out.scale))))
    hi = (
        127 if hi_f is None else min(127, out.zero_point + round_half_away(float(f32(hi_f) / f32(out.scale))))
    )
    fields = {"size": out.n_elements, "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
              "multiplier": m, "shift": s, "act_min": lo, "act_max": hi}  # fmt: skip
    return _unary(op, "RELU", "vs_nn_relu_params_t", fields)


def lower_logistic(model: TfliteModel, op: TfliteOp) -> COp:
    """LOGISTIC: a 256-entry lookup table (output scale 1/256, zero point -128)."""
    name = op.name
    inp, out = _int8_in_out(model, op)
    if float(out.scales[0]) != 1.0 / 256 or out.zero_point != -128:
        raise ExportError(
            f"{model.path}: op {op.index} LOGISTIC output must have scale 1/256, zero point -128"
        )
    table = logistic_table(inp.scale, inp.zero_point, out.scale, out.zero_point)
    return _unary(op, name, "vs_nn_lut_params_t", {"size": out.n_elements}, [("t", "int8_t", table)])


def lower_tanh(model: TfliteModel, op: TfliteOp) -> COp:
    """TANH: a 256-entry lookup table."""
    name = op.name
    inp, out = _int8_in_out(model, op)
    table = tanh_table(inp.scale, inp.zero_point, out.scale, out.zero_point)
    return _unary(op, name, "vs_nn_lut_params_t", {"size": out.n_elements}, [("t", "int8_t", table)])


def lower_softmax(model: TfliteModel, op: TfliteOp) -> COp:
    """SOFTMAX over the last axis: the input multiplier and ``diff_min`` of TFLite's int8 kernel."""
    name = op.name
    inp, out = _int8_in_out(model, op)
    if out.zero_point != -128 or abs(out.scale - 1.0 / 256) > 0.001 / 256:
        raise ExportError(
            f"{model.path}: op {op.index} SOFTMAX output must have scale 1/256, zero point -128"
        )
    beta = float(f32(_opt(op, "beta", 1.0)))
    real = min(beta * float(inp.scales[0]) * float(1 << 26), float((1 << 31) - 1))
    mult, left = quantize_multiplier(real)
    radius = math.floor(1.0 * 31 * (1 << 26) / (1 << left))
    depth = inp.shape[-1]
    fields = {"outer": inp.n_elements // depth, "depth": depth, "input_multiplier": mult,
              "input_left_shift": left, "diff_min": -radius}  # fmt: skip
    return _unary(op, name, "vs_nn_softmax_params_t", fields)


def lower_copy(model: TfliteModel, op: TfliteOp) -> COp:
    """RESHAPE, EXPAND_DIMS and SQUEEZE: a byte copy (aliased away by :func:`~vibsentry.codegen.lower.lower`)."""
    name = op.name
    t = model.tensors
    out = model.tensors[op.outputs[0]]
    inp = t[op.inputs[0]]
    if inp.nbytes != out.nbytes or inp.dtype != out.dtype:
        raise ExportError(f"{model.path}: op {op.index} {name}: {inp.shape} -> {out.shape} changes the data")
    return _unary(op, "COPY", "vs_nn_copy_params_t", {"bytes": out.nbytes})


def lower_quantize(model: TfliteModel, op: TfliteOp) -> COp:
    """QUANTIZE: float32 -> int8 (affine) or int8 -> int8 (requantization)."""
    t = model.tensors
    out = model.tensors[op.outputs[0]]
    inp = t[op.inputs[0]]
    _need_int8(model, op, op.outputs[0], "output")
    if inp.dtype == "float32":
        fields = {"size": out.n_elements, "scale": float(out.scales[0]), "zero_point": out.zero_point}
        return _unary(op, "QUANTIZE", "vs_nn_affine_params_t", fields)
    _need_int8(model, op, op.inputs[0], "input")
    m, s = quantize_multiplier(float(inp.scales[0]) / float(out.scales[0]))
    fields = {"size": out.n_elements, "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
              "multiplier": m, "shift": s}  # fmt: skip
    return _unary(op, "REQUANTIZE", "vs_nn_requant_params_t", fields)


def lower_dequantize(model: TfliteModel, op: TfliteOp) -> COp:
    """DEQUANTIZE: int8 -> float32."""
    out = model.tensors[op.outputs[0]]
    inp = _need_int8(model, op, op.inputs[0], "input")
    if out.dtype != "float32":
        raise ExportError(f"{model.path}: op {op.index} DEQUANTIZE must produce float32, not {out.dtype}")
    fields = {"size": out.n_elements, "scale": float(inp.scales[0]), "zero_point": inp.zero_point}
    return _unary(op, "DEQUANTIZE", "vs_nn_affine_params_t", fields)


Lowering = Callable[[TfliteModel, TfliteOp], COp]

#: Operator name -> its lowering; the keys are the supported operators.
LOWERINGS: dict[str, Lowering] = {
    "FULLY_CONNECTED": lower_fully_connected,
    "CONV_2D": lower_conv,
    "DEPTHWISE_CONV_2D": lower_conv,
    "AVERAGE_POOL_2D": lower_average_pool,
    "MEAN": lower_mean,
    "ADD": lower_add,
    "RELU": lower_relu,
    "RELU6": lower_relu,
    "RELU_N1_TO_1": lower_relu,
    "LOGISTIC": lower_logistic,
    "TANH": lower_tanh,
    "SOFTMAX": lower_softmax,
    "RESHAPE": lower_copy,
    "EXPAND_DIMS": lower_copy,
    "SQUEEZE": lower_copy,
    "QUANTIZE": lower_quantize,
    "DEQUANTIZE": lower_dequantize,
}
SUPPORTED_OPS: tuple[str, ...] = tuple(LOWERINGS)


def unsupported(model: TfliteModel, op: TfliteOp) -> ExportError:
    """The error for an operator the int8 C runtime does not run (it names the operator)."""
    return ExportError(
        f"{model.path}: operator {op.name} (op {op.index}) is not supported by the int8 C runtime; "
        f"supported: {', '.join(SUPPORTED_OPS)}"
    )


def lower_op(model: TfliteModel, op: TfliteOp) -> COp:
    """One TFLite op -> one generated op (dispatch through :data:`LOWERINGS`)."""
    fn = LOWERINGS.get(op.name)
    if fn is None:
        raise unsupported(model, op)
    if op.name in _SAME_SIZE:
        a, out = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
        if a.n_elements != out.n_elements:
            raise ExportError(
                f"{model.path}: op {op.index} {op.name}: input {a.shape} and output {out.shape} differ"
            )
    return fn(model, op)
