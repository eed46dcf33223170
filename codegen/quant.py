"""TFLite's int8 quantization arithmetic, reproduced exactly, for what the generator computes at export time.

Everything TFLite's kernels compute in ``Prepare`` (requantization multipliers and shifts, activation clamps,
the LOGISTIC and TANH tables) is computed here with the same float32/double expressions, so the C kernels
only do the integer arithmetic of ``Eval`` and match the interpreter's reference kernels bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from vibsentry.errors import ExportError


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


def f32(x: float) -> np.float32:
    """``x`` as a float32 scalar (TFLite computes these expressions in float, not double)."""
    return np.float32(x)


def activation_range(act: int, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for int8 output (``f / scale`` in float32)."""

    def q(f: float) -> int:
        return zero_point + round_half_away(float(f32(f) / f32(scale)))

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
    inverse_scale = f32(1.0) / f32(out_scale)
    table = [0] * 256
    for val in range(-128, 128):
        deq = f32(in_scale) * f32(val - in_zp)
        e = f32(math.exp(-float(deq))) if float(deq) > -88.0 else f32(math.exp(88.0))
        y = f32(1.0) / (f32(1.0) + e)
        rescaled = round_half_away(float(y * inverse_scale))
        qv = int(f32(rescaled) + f32(out_zp))
        table[val & 0xFF] = max(-128, min(127, qv))
    return table


def tanh_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLite ``LUTPopulate<int8_t>`` for ``std::tanh`` in float32 (``tanhf`` as the correctly rounded float32
    of the double ``tanh``; checked against the interpreter on every input in the tests)."""
    inverse_scale = f32(1.0) / f32(out_scale)
    table = [0] * 256
    for val in range(-128, 128):
        deq = f32(in_scale) * f32(val - in_zp)
        y = f32(math.tanh(float(deq)))
        rescaled = round_half_away(float(y * inverse_scale))
        qv = int(f32(rescaled) + f32(out_zp))
        table[val & 0xFF] = max(-128, min(127, qv))
    return table
