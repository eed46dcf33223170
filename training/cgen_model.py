"""TFLite int8 model -> C (``vs_model_data.[ch]``) for the firmware's vs_nn runtime.

The generator does at export time everything TFLite does in its kernels' ``Prepare``: requantization
multipliers and shifts (``QuantizeMultiplier`` on the same double/float expressions), activation clamps,
padding, the LOGISTIC and TANH tables, the SOFTMAX input scaling, the MEAN multiplier divided by the element count. The C
kernels then only do the integer arithmetic of ``Eval``, so results are bit-exact with the interpreter's
reference kernels. It also plans the tensor arena: tensors whose lifetimes do not overlap share bytes.

Supported operators: FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MEAN, ADD, RELU, RELU6,
RELU_N1_TO_1, LOGISTIC, TANH, SOFTMAX, RESHAPE, EXPAND_DIMS, SQUEEZE, QUANTIZE, DEQUANTIZE; shape arithmetic that
only feeds a RESHAPE's shape operand (SHAPE, STRIDED_SLICE, PACK, ...) is evaluated away. Anything else is
refused with an :class:`~vibsentry.errors.ExportError` naming the operator.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from vibsentry.training.tflite_reader import TfliteModel, TfliteOp, TfliteTensor, read_tflite

from vibsentry.errors import ExportError
from vibsentry.fileio import write_atomic

SUPPORTED_OPS: tuple[str, ...] = (
    "FULLY_CONNECTED",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "AVERAGE_POOL_2D",
    "MEAN",
    "ADD",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "LOGISTIC",
    "TANH",
    "SOFTMAX",
    "RESHAPE",
    "EXPAND_DIMS",
    "SQUEEZE",
    "QUANTIZE",
    "DEQUANTIZE",
)
_COPY_OPS = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
#: Inputs of these ops that carry shapes/axes, not data: they are read at export, not at run time.
_STATIC_INPUTS = {"RESHAPE": (1,), "EXPAND_DIMS": (1,), "MEAN": (1,)}
ARENA_ALIGN = 4

# vs_model.h op codes (part of the generated-code format).
OP_CODES = {
    "FULLY_CONNECTED": 1,
    "CONV_2D": 2,
    "DEPTHWISE_CONV_2D": 3,
    "AVERAGE_POOL_2D": 4,
    "MEAN": 5,
    "ADD": 6,
    "RELU": 7,
    "LOGISTIC": 8,
    "SOFTMAX": 9,
    "COPY": 10,
    "QUANTIZE": 11,
    "DEQUANTIZE": 12,
    "REQUANTIZE": 13,
    "TANH": 14,
}
_C_OP_NAMES = {v: k for k, v in OP_CODES.items()}


# --- TFLite's quantization arithmetic, reproduced exactly ---------------------------------------------------


def round_half_away(x: float) -> int:
    """``std::round`` / ``TfLiteRound``: nearest integer, ties away from zero."""
    r = math.floor(abs(x) + 0.5)
    return int(-r if x < 0 else r)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: ``real ~= m * 2^(shift - 31)`` with ``m`` in ``[2^30, 2^31)``.

    Parameters
    ----------
    real : float
        Non-negative real multiplier (computed in double precision like TFLite does).

    Returns
    -------
    (multiplier, shift) : (int, int)
        Q0.31 multiplier and shift (positive = left).
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * float(1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return int(q_fixed), int(shift)


def _f32(x: float) -> np.float32:
    return np.float32(x)


def activation_range(act: int, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for int8 output (``f / scale`` in float32)."""

    def q(f: float) -> int:
        return zero_point + round_half_away(float(_f32(f) / _f32(scale)))

    lo, hi = -128, 127
    if act == 0:  # NONE
        return lo, hi
    if act == 1:  # RELU
        return max(lo, q(0.0)), hi
    if act == 2:  # RELU_N1_TO_1
        return max(lo, q(-1.0)), min(hi, q(1.0))
    if act == 3:  # RELU6
        return max(lo, q(0.0)), min(hi, q(6.0))
    names = {4: "TANH", 5: "SIGN_BIT"}
    raise ExportError(f"fused activation {names.get(act, act)!r} is not supported by the int8 runtime")


def logistic_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLite ``LUTPopulate<int8_t>`` for ``1 / (1 + exp(-x))`` in float32 arithmetic.

    ``expf`` is evaluated as the correctly rounded float32 of the double exponential, which is what glibc's
    ``expf`` returns (its error bound is below one half ulp plus a hair; the table is checked against the
    interpreter on all 256 inputs in the tests)."""
    inverse_scale = _f32(1.0) / _f32(out_scale)
    table = [0] * 256
    for val in range(-128, 128):
        deq = _f32(in_scale) * _f32(val - in_zp)
        e = _f32(math.exp(-float(deq))) if float(deq) > -88.0 else _f32(math.exp(88.0))
        y = _f32(1.0) / (_f32(1.0) + e)
        rescaled = round_half_away(float(y * inverse_scale))
        qv = int(_f32(rescaled) + _f32(out_zp))
        table[val & 0xFF] = max(-128, min(127, qv))
    return table


def tanh_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLite ``LUTPopulate<int8_t>`` for ``std::tanh`` in float32 (``tanhf`` as the correctly rounded float32
    of the double ``tanh``; checked against the interpreter on every input in the tests)."""
    inverse_scale = _f32(1.0) / _f32(out_scale)
    table = [0] * 256
    for val in range(-128, 128):
        deq = _f32(in_scale) * _f32(val - in_zp)
        y = _f32(math.tanh(float(deq)))
        rescaled = round_half_away(float(y * inverse_scale))
        qv = int(_f32(rescaled) + _f32(out_zp))
        table[val & 0xFF] = max(-128, min(127, qv))
    return table


# --- the lowered model ----------------------------------------------------------------------------------------


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


@dataclass
class ExportPlan:
    """Everything the C renderer needs, plus the memory report.

    Attributes
    ----------
    arena_bytes : int
        Size of the activation arena (RAM), bytes.
    const_bytes : int
        Weights, biases, per-channel multipliers/shifts and tables (flash), bytes.
    tensor_offsets : dict
        TFLite tensor index -> (arena offset, bytes).
    """

    source: str
    sha256: str
    ops: list[COp]
    tensor_offsets: dict[int, tuple[int, int]]
    arena_bytes: int
    input_tensor: TfliteTensor
    output_tensor: TfliteTensor
    const_bytes: int
    macs: int
    const_tensors: dict[int, list[int]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """RAM / flash / MACs summary (the arena is the model's whole RAM need besides its caller's buffers)."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "ops": [o.tflite_name for o in self.ops],
            "arena_bytes": self.arena_bytes,
            "const_bytes": self.const_bytes,
            "macs": self.macs,
            "input": {"shape": list(self.input_tensor.shape), "dtype": self.input_tensor.dtype},
            "output": {"shape": list(self.output_tensor.shape), "dtype": self.output_tensor.dtype},
            "layers": [
                {
                    "op": o.tflite_name,
                    "macs": o.macs,
                    "const_bytes": sum(len(v) * (4 if ct == "int32_t" else 1) for _, ct, v in o.arrays)
                    + sum(len(self.const_tensors.get(ti, ())) for ti in o.inputs),
                    "output_bytes": self.tensor_offsets[o.output][1],
                    "arena_offset": self.tensor_offsets[o.output][0],
                }
                for o in self.ops
            ],
        }


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


def _lower_op(model: TfliteModel, op: TfliteOp) -> COp:
    """One TFLite op -> one generated op, with the shape checks that keep the C kernels inside their buffers."""
    name = op.name
    t = model.tensors
    out = t[op.outputs[0]]

    def same_size(a: TfliteTensor) -> None:
        if a.n_elements != out.n_elements:
            raise ExportError(
                f"{model.path}: op {op.index} {name}: input {a.shape} and output {out.shape} differ"
            )

    if name in (
        "RELU",
        "RELU6",
        "RELU_N1_TO_1",
        "LOGISTIC",
        "TANH",
        "SOFTMAX",
        "QUANTIZE",
        "DEQUANTIZE",
        *_COPY_OPS,
    ):
        same_size(t[op.inputs[0]])
    if name == "FULLY_CONNECTED":
        inp = _need_int8(model, op, op.inputs[0], "input")
        w = _need_int8(model, op, op.inputs[1], "weights")
        _need_int8(model, op, op.outputs[0], "output")
        if w.data is None or len(w.shape) != 2:
            raise ExportError(
                f"{model.path}: op {op.index} FULLY_CONNECTED: weights must be a constant 2-D tensor"
            )
        if _opt(op, "weightsFormat", 0) != 0:
            raise ExportError(
                f"{model.path}: op {op.index} FULLY_CONNECTED: shuffled weights are not supported"
            )
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
            prod = float(_f32(inp.scales[0]) * _f32(w.scales[0]))
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
        return COp(
            OP_CODES[name],
            name,
            (op.inputs[0],),
            op.outputs[0],
            "vs_nn_fc_params_t",
            fields,
            arrays,
            macs=batches * n_in * n_out,
        )
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
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
        arrays = [
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
        return COp(
            OP_CODES[name], name, (op.inputs[0],), op.outputs[0], "vs_nn_conv_params_t", fields, arrays, macs
        )
    if name == "AVERAGE_POOL_2D":
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
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
        return COp(
            OP_CODES[name],
            name,
            (op.inputs[0],),
            op.outputs[0],
            "vs_nn_pool_params_t",
            fields,
            macs=nb * oh * ow * c * kh * kw,
        )
    if name == "MEAN":
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
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
            raise ExportError(
                f"{model.path}: op {op.index} MEAN: output {out.shape} does not match {inp.shape}"
            )
        fields = {"outer": outer, "reduce": reduce_, "inner": inner, "input_zero_point": inp.zero_point,
                  "output_zero_point": out.zero_point, "multiplier": mult, "shift": shift}  # fmt: skip
        return COp(
            OP_CODES[name],
            name,
            (op.inputs[0],),
            op.outputs[0],
            "vs_nn_mean_params_t",
            fields,
            macs=inp.n_elements,
        )
    if name == "ADD":
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
        twice_max = 2.0 * float(max(_f32(a.scale), _f32(b.scale)))
        m1, s1 = quantize_multiplier(float(a.scales[0]) / twice_max)
        m2, s2 = quantize_multiplier(float(b.scales[0]) / twice_max)
        mo, so = quantize_multiplier(twice_max / float(_f32(1 << left_shift) * _f32(out.scale)))
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
    if name in ("RELU", "RELU6", "RELU_N1_TO_1"):
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
        m, s = quantize_multiplier(float(inp.scales[0]) / float(out.scales[0]))
        lo_f, hi_f = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[name]
        # QuantizedReluX: roundf(act / scale) in float.
        lo = max(-128, out.zero_point + round_half_away(float(_f32(lo_f) / _f32(out.scale))))
        hi = (
            127
            if hi_f is None
            else min(127, out.zero_point + round_half_away(float(_f32(hi_f) / _f32(out.scale))))
        )
        fields = {"size": out.n_elements, "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
                  "multiplier": m, "shift": s, "act_min": lo, "act_max": hi}  # fmt: skip
        return COp(OP_CODES["RELU"], name, (op.inputs[0],), op.outputs[0], "vs_nn_relu_params_t", fields)
    if name == "LOGISTIC":
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
        if float(out.scales[0]) != 1.0 / 256 or out.zero_point != -128:
            raise ExportError(
                f"{model.path}: op {op.index} LOGISTIC output must have scale 1/256, zero point -128"
            )
        table = logistic_table(inp.scale, inp.zero_point, out.scale, out.zero_point)
        return COp(OP_CODES[name], name, (op.inputs[0],), op.outputs[0], "vs_nn_lut_params_t",
                   {"size": out.n_elements}, [("t", "int8_t", table)])  # fmt: skip
    if name == "TANH":
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
        table = tanh_table(inp.scale, inp.zero_point, out.scale, out.zero_point)
        return COp(
            OP_CODES[name],
            name,
            (op.inputs[0],),
            op.outputs[0],
            "vs_nn_lut_params_t",
            {"size": out.n_elements},
            [("t", "int8_t", table)],
        )
    if name == "SOFTMAX":
        inp = _need_int8(model, op, op.inputs[0], "input")
        _need_int8(model, op, op.outputs[0], "output")
        if out.zero_point != -128 or abs(out.scale - 1.0 / 256) > 0.001 / 256:
            raise ExportError(
                f"{model.path}: op {op.index} SOFTMAX output must have scale 1/256, zero point -128"
            )
        beta = float(_f32(_opt(op, "beta", 1.0)))
        real = min(beta * float(inp.scales[0]) * float(1 << 26), float((1 << 31) - 1))
        mult, left = quantize_multiplier(real)
        radius = math.floor(1.0 * 31 * (1 << 26) / (1 << left))
        depth = inp.shape[-1]
        fields = {"outer": inp.n_elements // depth, "depth": depth, "input_multiplier": mult,
                  "input_left_shift": left, "diff_min": -radius}  # fmt: skip
        return COp(OP_CODES[name], name, (op.inputs[0],), op.outputs[0], "vs_nn_softmax_params_t", fields)
    if name in _COPY_OPS:
        inp = t[op.inputs[0]]
        if inp.nbytes != out.nbytes or inp.dtype != out.dtype:
            raise ExportError(
                f"{model.path}: op {op.index} {name}: {inp.shape} -> {out.shape} changes the data"
            )
        return COp(
            OP_CODES["COPY"],
            name,
            (op.inputs[0],),
            op.outputs[0],
            "vs_nn_copy_params_t",
            {"bytes": out.nbytes},
        )
    if name == "QUANTIZE":
        inp = t[op.inputs[0]]
        _need_int8(model, op, op.outputs[0], "output")
        if inp.dtype == "float32":
            fields = {"size": out.n_elements, "scale": float(out.scales[0]), "zero_point": out.zero_point}
            return COp(
                OP_CODES["QUANTIZE"], name, (op.inputs[0],), op.outputs[0], "vs_nn_affine_params_t", fields
            )
        _need_int8(model, op, op.inputs[0], "input")
        m, s = quantize_multiplier(float(inp.scales[0]) / float(out.scales[0]))
        fields = {"size": out.n_elements, "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
                  "multiplier": m, "shift": s}  # fmt: skip
        return COp(
            OP_CODES["REQUANTIZE"], name, (op.inputs[0],), op.outputs[0], "vs_nn_requant_params_t", fields
        )
    if name == "DEQUANTIZE":
        inp = _need_int8(model, op, op.inputs[0], "input")
        if out.dtype != "float32":
            raise ExportError(f"{model.path}: op {op.index} DEQUANTIZE must produce float32, not {out.dtype}")
        fields = {"size": out.n_elements, "scale": float(inp.scales[0]), "zero_point": inp.zero_point}
        return COp(
            OP_CODES["DEQUANTIZE"], name, (op.inputs[0],), op.outputs[0], "vs_nn_affine_params_t", fields
        )
    raise ExportError(
        f"{model.path}: operator {name} (op {op.index}) is not supported by the int8 C runtime; "
        f"supported: {', '.join(SUPPORTED_OPS)}"
    )


def _live_ops(model: TfliteModel) -> list[TfliteOp]:
    """Ops that the graph outputs depend on through data inputs (shape-only subgraphs are dropped)."""
    producer = {o: op for op in model.ops for o in op.outputs}
    needed: set[int] = set()
    stack = list(model.outputs)
    seen: set[int] = set()
    while stack:
        ti = stack.pop()
        if ti in seen or ti < 0:
            continue
        seen.add(ti)
        op = producer.get(ti)
        if op is None:
            continue
        needed.add(op.index)
        static = _STATIC_INPUTS.get(op.name, ())
        for k, i in enumerate(op.inputs):
            if k not in static:
                stack.append(i)
    return [op for op in model.ops if op.index in needed]


def plan_arena(lifetimes: dict[int, tuple[int, int, int]]) -> tuple[dict[int, int], int]:
    """Greedy offset assignment: largest tensors first, each at the lowest offset that overlaps no tensor alive
    at the same time.

    Parameters
    ----------
    lifetimes : dict
        tensor -> (first op index, last op index, bytes); intervals are inclusive.

    Returns
    -------
    offsets : dict
        tensor -> byte offset (multiple of :data:`ARENA_ALIGN`).
    arena_bytes : int
    """
    order = sorted(lifetimes, key=lambda k: (-lifetimes[k][2], lifetimes[k][0], k))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[int, int] = {}
    for k in order:
        first, last, size = lifetimes[k]
        size_al = -(-size // ARENA_ALIGN) * ARENA_ALIGN
        busy = sorted((o, s) for o, s, f, la in placed if not (la < first or f > last))
        off = 0
        for o, s in busy:
            if off + size_al <= o:
                break
            off = max(off, -(-(o + s) // ARENA_ALIGN) * ARENA_ALIGN)
        offsets[k] = off
        placed.append((off, size_al, first, last))
    total = max((o + s for o, s, _, _ in placed), default=0)
    return offsets, total


def lower(model: TfliteModel) -> ExportPlan:
    """Lower a parsed model to the generated op list and arena plan.

    Raises
    ------
    ExportError
        An unsupported operator (named), a non-int8 tensor where int8 is required, several inputs/outputs,
        or a model whose tensors and operators contradict each other (a damaged file).
    """
    try:
        return _lower(model)
    except ExportError as exc:
        if model.path in str(exc):
            raise
        raise ExportError(f"{model.path}: {exc}") from exc
    except (
        IndexError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        OverflowError,
        ZeroDivisionError,
    ) as exc:
        raise ExportError(f"{model.path}: malformed model ({type(exc).__name__}: {exc})") from exc


def _lower(model: TfliteModel) -> ExportPlan:
    """Lower a parsed model to the generated op list and arena plan.

    Raises
    ------
    ExportError
        An unsupported operator (named), a non-int8 tensor where int8 is required, several inputs/outputs.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(
            f"{model.path}: the C runtime runs models with one input and one output, "
            f"this one has {len(model.inputs)} and {len(model.outputs)}"
        )
    live = _live_ops(model)
    unsupported = [op for op in live if op.name not in SUPPORTED_OPS]
    if unsupported:
        op = unsupported[0]
        raise ExportError(
            f"{model.path}: operator {op.name} (op {op.index}) is not supported by the int8 C runtime; "
            f"supported: {', '.join(SUPPORTED_OPS)}"
        )
    cops = [_lower_op(model, op) for op in live]
    if not cops:
        raise ExportError(f"{model.path}: the model has no operator between its input and its output")
    in_t, out_t = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
    for t, what in ((in_t, "input"), (out_t, "output")):
        if t.dtype not in ("int8", "float32"):
            raise ExportError(f"{model.path}: model {what} is {t.dtype}; the C runtime takes int8 or float32")
    const_tensors: dict[int, list[int]] = {}
    for c in cops:
        for ti in c.inputs:
            t = model.tensors[ti]
            if t.data is None:
                continue
            if c.code != OP_CODES["ADD"] or t.dtype != "int8":
                raise ExportError(
                    f"{model.path}: op {c.tflite_name}: constant data input {t.name!r} is not supported"
                )
            const_tensors[ti] = [int(v) for v in t.data.reshape(-1)]
    # RESHAPE / EXPAND_DIMS / SQUEEZE change no byte: their output is the same buffer as their input (every
    # tensor is written once, by its producer), so they cost neither an op nor RAM. Kept only in a model made
    # of nothing else, so that the op list is never empty.
    alias: dict[int, int] = {}

    def rep(ti: int) -> int:
        while ti in alias:
            ti = alias[ti]
        return ti

    if any(c.code != OP_CODES["COPY"] for c in cops):
        kept = []
        for c in cops:
            if c.code == OP_CODES["COPY"]:
                alias[c.output] = rep(c.inputs[0])
            else:
                kept.append(c)
        cops = kept
    # Lifetimes over the generated op list; the graph input is alive before op 0, the output after the last.
    life: dict[int, list[int]] = {}
    for i, c in enumerate(cops):
        for ti in c.inputs:
            if ti not in const_tensors:  # constants live in flash, not in the arena
                life.setdefault(rep(ti), [i, i])[1] = i
        span = life.setdefault(rep(c.output), [i, i])
        span[0], span[1] = min(span[0], i), max(span[1], i)
    life.setdefault(rep(in_t.index), [-1, -1])[0] = -1
    life.setdefault(rep(out_t.index), [len(cops), len(cops)])[1] = len(cops)
    offsets, arena = plan_arena({k: (v[0], v[1], model.tensors[k].nbytes) for k, v in life.items()})
    used = {in_t.index, out_t.index, *(ti for c in cops for ti in (*c.inputs, c.output))}
    const_bytes = sum(len(v) for v in const_tensors.values())
    for c in cops:
        for _, ctype, vals in c.arrays:
            const_bytes += len(vals) * (4 if ctype == "int32_t" else 1)
    return ExportPlan(
        source=model.path,
        sha256=model.sha256,
        ops=cops,
        tensor_offsets={k: (offsets.get(rep(k), 0), model.tensors[k].nbytes) for k in sorted(used)},
        const_tensors=const_tensors,
        arena_bytes=arena,
        input_tensor=in_t,
        output_tensor=out_t,
        const_bytes=const_bytes,
        macs=sum(c.macs for c in cops),
    )


# --- C rendering ----------------------------------------------------------------------------------------------


def _c_float(x: float) -> str:
    s = f"{float(np.float32(x)):.9g}"
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s + "f"


def _c_value(v: Any) -> str:
    if isinstance(v, float):
        return _c_float(v)
    return str(int(v))


def _c_struct(fields: dict[str, Any], indent: str = "    ") -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, dict):
            inner = ", ".join(
                f".{k2} = {v2 if isinstance(v2, str) else _c_value(v2)}" for k2, v2 in v.items()
            )
            parts.append(f"{indent}.{k} = {{{inner}}},")
        elif isinstance(v, list):
            parts.append(f"{indent}.{k} = {{{', '.join(_c_value(x) for x in v)}}},")
        else:
            parts.append(f"{indent}.{k} = {v if isinstance(v, str) else _c_value(v)},")
    return "\n".join(parts)


def _c_array(ctype: str, name: str, values: Sequence[int]) -> str:
    per_line = 16
    rows = []
    vals = [str(int(v)) for v in values]
    for i in range(0, len(vals), per_line):
        rows.append("    " + ", ".join(vals[i : i + per_line]) + ",")
    return f"static const {ctype} {name}[{len(vals)}] = {{\n" + "\n".join(rows) + "\n};\n"


def _banner(source_name: str, sha256: str) -> str:
    return (
        "/*\n"
        " * GENERATED — do not edit.\n"
        f" * Source: {source_name} (sha256 {sha256})\n"
        " * Generator: vibsentry export --target c (vibsentry.training.cgen_model)\n"
        " */\n"
    )


def render(
    plan: ExportPlan,
    *,
    name: str = "vs_model",
    source_name: str | None = None,
    normalisation: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[str, str]:
    """Render ``(vs_model_data.h, vs_model_data.c)`` for ``plan``.

    Parameters
    ----------
    plan : ExportPlan
    name : str
        C identifier of the model object and prefix of every generated symbol; macros use ``name.upper()``.
    source_name : str, optional
        File name shown in the banner (default: the plan's source path's name).
    normalisation : (mean, std), optional
        Per-feature z-score parameters from the bundle, emitted as float arrays for the firmware.
    """
    if not name.isidentifier():
        raise ExportError(f"model name {name!r} is not a C identifier")
    src = source_name or Path(plan.source).name
    up = name.upper()
    ind = {ti: i for i, ti in enumerate(plan.tensor_offsets)}
    in_t, out_t = plan.input_tensor, plan.output_tensor

    def dtype_code(t: TfliteTensor) -> str:
        return "VS_NN_TYPE_S8" if t.dtype == "int8" else "VS_NN_TYPE_F32"

    h = [
        _banner(src, plan.sha256),
        f'#ifndef {up}_DATA_H\n#define {up}_DATA_H\n\n#include "vs/vs_model.h"\n\n',
    ]
    h.append(f'#define {up}_SOURCE_SHA256 "{plan.sha256}"\n')
    raw = ", ".join(f"0x{plan.sha256[i : i + 2]}" for i in range(0, 64, 2))
    h.append(
        f"/* The same 32 bytes, e.g. for a STATUS message: uint8_t h[32] = {up}_SOURCE_SHA256_BYTES; */\n"
    )
    h.append(f"#define {up}_SOURCE_SHA256_BYTES {{{raw}}}\n")
    h.append(
        f"#define {up}_ARENA_BYTES {plan.arena_bytes}u /* activation RAM, planned from tensor lifetimes */\n"
    )
    h.append(f"#define {up}_ARENA_WORDS {-(-plan.arena_bytes // 4)}u /* declare the arena as int32_t[] */\n")
    h.append(
        f"#define {up}_CONST_BYTES {plan.const_bytes}u /* weights, biases, multipliers, tables (flash) */\n"
    )
    h.append(f"#define {up}_MACS {plan.macs}u\n")
    h.append(f"#define {up}_INPUT_BYTES {in_t.nbytes}u\n#define {up}_INPUT_ELEMENTS {in_t.n_elements}u\n")
    h.append(f"#define {up}_OUTPUT_BYTES {out_t.nbytes}u\n#define {up}_OUTPUT_ELEMENTS {out_t.n_elements}u\n")
    if in_t.scales.size:
        h.append(
            f"#define {up}_INPUT_SCALE {_c_float(in_t.scale)}\n#define {up}_INPUT_ZERO_POINT ({in_t.zero_point})\n"
        )
    if out_t.scales.size:
        h.append(
            f"#define {up}_OUTPUT_SCALE {_c_float(out_t.scale)}\n#define {up}_OUTPUT_ZERO_POINT ({out_t.zero_point})\n"
        )
    h.append(f"\nextern const vs_model_t {name};\n")
    if normalisation is not None:
        n = len(normalisation[0])
        h.append(
            f"\n#define {up}_N_FEATURES {n}u\n/* Model input = (feature - mean) / std, then quantized. */\n"
        )
        h.append(f"extern const float {name}_norm_mean[{n}];\nextern const float {name}_norm_std[{n}];\n")
    h.append(f"\n#endif /* {up}_DATA_H */\n")

    c = [_banner(src, plan.sha256), f'#include <stddef.h>\n\n#include "{name}_data.h"\n\n']
    op_rows = []
    for i, op in enumerate(plan.ops):
        c.append(f"/* op {i}: {op.tflite_name} */\n")
        refs: dict[str, str] = {}
        for suffix, ctype, vals in op.arrays:
            arr = f"{name}_op{i}_{suffix}"
            c.append(_c_array(ctype, arr, vals))
            refs[suffix] = arr
        fields = dict(op.fields)
        if "q" in fields:
            q = dict(fields["q"])
            q["multiplier"] = refs["m"]
            q["shift"] = refs["s"]
            fields["q"] = q
        if op.params_type in ("vs_nn_fc_params_t",):
            fields["weights"] = refs["w"]
            fields["bias"] = refs.get("b", "NULL")
        if op.params_type == "vs_nn_conv_params_t":
            fields["filter"] = refs["w"]
            fields["bias"] = refs.get("b", "NULL")
        if op.params_type == "vs_nn_lut_params_t":
            fields["table"] = refs["t"]
        c.append(f"static const {op.params_type} {name}_op{i}_params = {{\n{_c_struct(fields)}\n}};\n\n")
        in2 = ind[op.inputs[1]] if len(op.inputs) > 1 else -1
        op_rows.append(
            f"    {{{op.code}u, {ind[op.inputs[0]]}, {in2}, {ind[op.output]}, &{name}_op{i}_params}}, "
            f"/* {_C_OP_NAMES[op.code]} */"
        )
    c.append(
        f"static const vs_model_op_t {name}_ops[{len(plan.ops)}] = {{\n" + "\n".join(op_rows) + "\n};\n\n"
    )
    t_rows = []
    for ti, (off, nb) in plan.tensor_offsets.items():
        if ti in plan.const_tensors:
            c.append(_c_array("int8_t", f"{name}_const{ti}", plan.const_tensors[ti]))
            t_rows.append(f"    {{0u, {nb}u, {name}_const{ti}}}, /* constant */")
        else:
            t_rows.append(f"    {{{off}u, {nb}u, NULL}},")
    c.append("\n")
    c.append(
        f"static const vs_model_tensor_t {name}_tensors[{len(t_rows)}] = {{\n"
        + "\n".join(t_rows)
        + "\n};\n\n"
    )
    model_fields = {
        "name": f'"{name}"',
        "source_sha256": f"{up}_SOURCE_SHA256",
        "ops": f"{name}_ops",
        "n_ops": len(plan.ops),
        "tensors": f"{name}_tensors",
        "n_tensors": len(t_rows),
        "arena_bytes": f"{up}_ARENA_BYTES",
        "input_tensor": ind[in_t.index],
        "output_tensor": ind[out_t.index],
        "input_type": dtype_code(in_t),
        "output_type": dtype_code(out_t),
        "input_bytes": f"{up}_INPUT_BYTES",
        "output_bytes": f"{up}_OUTPUT_BYTES",
        "input_scale": float(in_t.scale) if in_t.scales.size else 0.0,
        "input_zero_point": in_t.zero_point,
        "output_scale": float(out_t.scale) if out_t.scales.size else 0.0,
        "output_zero_point": out_t.zero_point,
    }
    c.append(f"const vs_model_t {name} = {{\n{_c_struct(model_fields)}\n}};\n")
    if normalisation is not None:
        mean, std = normalisation
        for arr, fvals in ((f"{name}_norm_mean", mean), (f"{name}_norm_std", std)):
            body = ",\n".join("    " + _c_float(float(v)) for v in fvals)
            c.append(f"\nconst float {arr}[{len(fvals)}] = {{\n{body},\n}};\n")
    return "".join(h), "".join(c)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_c` wrote."""

    out_dir: Path
    files: tuple[str, ...]
    plan: ExportPlan


def _feature_config_text(params: Any, source: str) -> str | None:
    try:
        from vibsentry.training import cgen_features
    except ImportError:
        return None
    render_fn = getattr(cgen_features, "render_feature_config_h", None) or getattr(
        cgen_features, "render_feature_config", None
    )
    return None if render_fn is None else str(render_fn(params, source=source))


def export_c(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    name: str = "vs_model",
    force: bool = False,
) -> ExportResult:
    """Export a bundle directory (or a bare ``.tflite``) to C, atomically.

    Parameters
    ----------
    source : path-like
        A bundle directory (verified with :func:`vibsentry.runtime.bundle.load_bundle`; its
        ``model.tflite`` is exported, plus ``vs_feature_config.h`` from its FeatureParams and the normalisation
        arrays) or a ``.tflite`` file.
    out_dir : path-like
        Output directory; written as a temp sibling and renamed into place, so it is never half-written. The
        bundle directory itself is allowed too (``docs/bundle.md``: the generated C may live in the bundle):
        then only the generated files are added or replaced, each atomically, and nothing else is touched.
    name : str
        Model symbol name (files are ``<name>_data.h`` / ``<name>_data.c``).
    force : bool
        Replace an existing ``out_dir`` (never one that contains the source).

    Returns
    -------
    ExportResult
    """
    src = Path(source)
    out = Path(out_dir)
    into_bundle = src.is_dir() and out.exists() and out.resolve() == src.resolve()
    if out.exists() and not into_bundle:
        if not force:
            raise ExportError(f"{out}: already exists (use --force to replace it)")
        if out.resolve() == src.resolve() or out.resolve() in src.resolve().parents:
            raise ExportError(f"{out}: contains the source {src}; --force would delete it")
    params = None
    normalisation = None
    if src.is_dir():
        from vibsentry.runtime.bundle import MODEL_FILE, load_bundle

        bundle = load_bundle(src)
        tfl = src / MODEL_FILE
        params = bundle.params
        normalisation = ([float(v) for v in bundle.mean], [float(v) for v in bundle.std])
    elif src.is_file():
        tfl = src
    else:
        raise ExportError(f"{src}: no such bundle directory or .tflite file")
    model = read_tflite(tfl)
    plan = lower(model)
    h_text, c_text = render(plan, name=name, source_name=tfl.name, normalisation=normalisation)
    files = {f"{name}_data.h": h_text, f"{name}_data.c": c_text}
    if params is not None:
        fc = _feature_config_text(params, source=str(src / "bundle.json"))
        if fc is not None:
            files["vs_feature_config.h"] = fc
    if into_bundle:
        for fname, text in files.items():
            write_atomic(out / fname, text)
        return ExportResult(out, tuple(sorted(files)), plan)
    # Everything goes to a temp sibling first; the rename is the only step the output name ever sees.
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for fname, text in files.items():
            (staging / fname).write_text(text, encoding="utf-8")
        if force and out.is_dir():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, tuple(sorted(files)), plan)


# --- host check: compile the generated C with the runtime and compare it with TFLite ------------------------

RUNTIME_SOURCES: tuple[str, ...] = ("vs_nn.c", "vs_nn_softmax.c", "vs_nn_model.c")
HOST_CFLAGS: tuple[str, ...] = (
    "-std=c99",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
)

# @H@: generated header, @M@: model symbol, @P@: macro prefix. Batch entry points for ctypes.
_HOST_SHIM = r"""
#include <stddef.h>
#include <stdint.h>
#include "@H@"

int vs_host_run_batch(const uint8_t *in, uint8_t *out, int n);
int vs_host_arena_bytes(void);
void vs_host_quantize_input(const float *x, int8_t *q, int n);

static int32_t arena[@P@_ARENA_WORDS + 1u];

int vs_host_run_batch(const uint8_t *in, uint8_t *out, int n)
{
    for (int i = 0; i < n; ++i) {
        int rc = vs_model_run(&@M@, arena, @P@_ARENA_BYTES, in + (size_t)i * @P@_INPUT_BYTES,
                              out + (size_t)i * @P@_OUTPUT_BYTES);
        if (rc != VS_OK) {
            return rc;
        }
    }
    return VS_OK;
}

int vs_host_arena_bytes(void)
{
    return (int)@P@_ARENA_BYTES;
}

void vs_host_quantize_input(const float *x, int8_t *q, int n)
{
    for (int i = 0; i < n; ++i) {
        q[i] = vs_model_quantize_input(&@M@, x[i]);
    }
}
"""


def firmware_core_dir() -> Path:
    """The ``firmware_core`` folder of the source tree this package runs from (the runtime's C sources)."""
    root = Path(__file__).resolve().parents[1] / "firmware_core"
    if not (root / "src" / RUNTIME_SOURCES[0]).is_file():
        raise ExportError(
            f"the vs_nn runtime sources are not at {root / 'src'}: checking the generated C needs a vibsentry "
            "source checkout (an installed wheel carries no C)"
        )
    return root


def compile_host(
    gen_dir: str | os.PathLike[str],
    *,
    name: str = "vs_model",
    main_source: str | None = None,
    flags: Sequence[str] = ("-fPIC", "-shared"),
    output: str | os.PathLike[str] | None = None,
    cc: str | None = None,
) -> Path:
    """Compile ``<name>_data.c`` in ``gen_dir`` with the vs_nn runtime for this machine.

    Parameters
    ----------
    gen_dir : path-like
        An export directory.
    name : str
        The model name given at export.
    main_source : str, optional
        C source to link instead of the ctypes shim (e.g. a test ``main``).
    flags : sequence of str
        Extra compiler flags (default: a shared library).
    output : path-like, optional
        Output file (default ``gen_dir/<name>.so``).
    cc : str, optional
        Compiler (default ``$CC`` or ``cc``).

    Returns
    -------
    pathlib.Path
        The library or executable.
    """
    import shutil
    import subprocess

    gen = Path(gen_dir)
    fw = firmware_core_dir()
    compiler = cc or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise ExportError(f"C compiler {compiler!r} not found (set CC)")
    up = name.upper()
    shim = gen / (f"{name}_host_main.c" if main_source else f"{name}_host_shim.c")
    text = main_source if main_source is not None else _HOST_SHIM
    shim.write_text(text.replace("@H@", f"{name}_data.h").replace("@M@", name).replace("@P@", up))
    target = Path(output) if output is not None else gen / f"{name}.so"
    srcs = [str(fw / "src" / s) for s in RUNTIME_SOURCES]
    cmd = [compiler, *HOST_CFLAGS, *flags, f"-I{fw / 'include'}", f"-I{gen}", *srcs, str(gen / f"{name}_data.c"),
           str(shim), "-o", str(target)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExportError(f"compiling the generated C failed: {' '.join(cmd)}: {proc.stderr.strip()[-2000:]}")
    return target


class HostModel:
    """A generated model compiled by :func:`compile_host` (default shim), called through ctypes.

    Parameters
    ----------
    so_path : path-like
    in_dtype, out_dtype : dtype
        The model's input and output element types (int8 or float32).
    in_elems, out_elems : int
        Elements per input and per output.
    """

    def __init__(
        self, so_path: str | os.PathLike[str], in_dtype: Any, out_dtype: Any, in_elems: int, out_elems: int
    ) -> None:
        import ctypes

        self._ctypes = ctypes
        self.path = Path(so_path)
        self.lib = ctypes.CDLL(str(self.path))
        self.lib.vs_host_run_batch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self.lib.vs_host_run_batch.restype = ctypes.c_int
        self.in_dtype, self.out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
        self.in_elems, self.out_elems = in_elems, out_elems

    @property
    def arena_bytes(self) -> int:
        """``<NAME>_ARENA_BYTES`` as compiled."""
        return int(self.lib.vs_host_arena_bytes())

    def quantize_input(self, x: Any) -> np.ndarray:
        """``vs_model_quantize_input`` on every value of ``x`` (float32, any shape) -> int8, same shape."""
        c = self._ctypes
        xs = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        q = np.zeros(xs.shape, dtype=np.int8)
        self.lib.vs_host_quantize_input(xs.ctypes.data_as(c.c_void_p), q.ctypes.data_as(c.c_void_p), len(xs))
        return q.reshape(np.shape(x))

    def run(self, inputs: Any) -> np.ndarray:
        """Run each row of ``inputs`` (n, in_elems) through the C model; returns (n, out_elems)."""
        x = np.ascontiguousarray(inputs, dtype=self.in_dtype).reshape(len(inputs), self.in_elems)
        y = np.zeros((len(x), self.out_elems), dtype=self.out_dtype)
        rc = self.lib.vs_host_run_batch(x.ctypes.data, y.ctypes.data, len(x))
        if rc != 0:
            raise ExportError(f"{self.path}: vs_model_run returned {rc}")
        return y


def _reference_interpreter(content: bytes) -> Any:
    """TFLite's reference kernels: ai-edge-litert when installed (the gateway's runtime), else TensorFlow."""
    try:
        from ai_edge_litert import interpreter as lite

        it = lite.Interpreter(
            model_content=content, experimental_op_resolver_type=lite.OpResolverType.BUILTIN_REF
        )
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise ExportError("--validate needs ai-edge-litert or tensorflow to run the reference") from None
        it = tf.lite.Interpreter(
            model_content=content,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        )
    it.allocate_tensors()
    return it


def validate_c(
    gen_dir: str | os.PathLike[str], content: bytes, *, name: str = "vs_model", n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Compile an export on this machine and compare it with TFLite's reference kernels on ``n`` inputs.

    Inputs are uniform over the whole int8 range (or standard normal x 3 for a float input), seeded.

    Returns
    -------
    dict
        ``inputs``, ``identical`` (inputs whose output bytes all match), ``first_difference`` (index or None).
    """
    it = _reference_interpreter(content)
    din, dout = it.get_input_details()[0], it.get_output_details()[0]
    n_in, n_out = int(np.prod(din["shape"])), int(np.prod(dout["shape"]))
    rng = np.random.default_rng(seed)
    if np.dtype(din["dtype"]) == np.int8:
        x = rng.integers(-128, 128, size=(n, n_in)).astype(np.int8)
    else:
        x = (rng.standard_normal((n, n_in)) * 3).astype(np.float32)
    ref = np.zeros((n, n_out), dtype=dout["dtype"])
    for i, row in enumerate(x):
        it.set_tensor(din["index"], row.reshape(din["shape"]))
        it.invoke()
        ref[i] = it.get_tensor(dout["index"]).reshape(-1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in Path(gen_dir).iterdir():
            if f.suffix in (".c", ".h"):
                shutil.copy2(f, work / f.name)
        lib = HostModel(compile_host(work, name=name), x.dtype, ref.dtype, n_in, n_out)
        got = lib.run(x)
    same = (got.view(np.uint8).reshape(n, -1) == ref.view(np.uint8).reshape(n, -1)).all(axis=1)
    bad = np.flatnonzero(~same)
    return {"inputs": n, "identical": int(same.sum()), "first_difference": int(bad[0]) if bad.size else None}
