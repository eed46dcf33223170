"""Run a bundle's ``.tflite`` models without TensorFlow (``ai_edge_litert``), and INT8 (de)quantization.

:func:`quantize` and :func:`dequantize` are the float32 <-> int8 conversions the firmware does at the model's
input and output (``docs/bundle.md``); :mod:`vibsentry.runtime.score` builds the anomaly score on them.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.errors import BundleError

F32 = npt.NDArray[np.float32]


def quantize(x: npt.ArrayLike, scale: float, zero_point: int) -> npt.NDArray[np.int8]:
    """float32 -> int8: ``clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127)``.

    The division is done in float32 (as C does ``x / scale`` on floats); the rounding of that float32
    quotient is exact (``roundf`` semantics).
    """
    t = (np.asarray(x, dtype=np.float32) / np.float32(scale)).astype(np.float64)
    r = np.where(t >= 0, np.floor(t + 0.5), np.ceil(t - 0.5))
    return np.clip(r + int(zero_point), -128, 127).astype(np.int8)


def dequantize(q: npt.ArrayLike, scale: float, zero_point: int) -> F32:
    """int8 -> float32: ``(q - zero_point) * scale`` with the product in float32."""
    return ((np.asarray(q, dtype=np.int32) - int(zero_point)).astype(np.float32) * np.float32(scale)).astype(
        np.float32
    )


def _interpreter(model: bytes) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - fall back to full TensorFlow when litert is absent
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    # The reference kernels are what the C INT8 runtime is bit-exact with; XNNPACK may differ in rounding.
    try:
        from ai_edge_litert.interpreter import OpResolverType

        return Interpreter(
            model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF, num_threads=1
        )
    except (ImportError, TypeError, AttributeError):  # pragma: no cover
        return Interpreter(model_content=model, num_threads=1)


class TFLiteModel:
    """A ``.tflite`` flatbuffer with one input and one output, run one batch at a time.

    Parameters
    ----------
    model : bytes
        The flatbuffer.
    name : str
        Used in error messages (usually the file name).

    Attributes
    ----------
    input_dtype, output_dtype : numpy dtype
    input_quant, output_quant : tuple (scale float, zero_point int); (0.0, 0) for float tensors.
    n_inputs, n_outputs : int
        Feature and output widths.
    """

    def __init__(self, model: bytes, *, name: str = "model.tflite") -> None:
        try:
            self._it = _interpreter(model)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise BundleError(f"{name}: not a loadable TFLite model ({exc})") from None
        ins, outs = self._it.get_input_details(), self._it.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise BundleError(f"{name}: expected 1 input and 1 output, got {len(ins)} and {len(outs)}")
        self._in, self._out = ins[0], outs[0]
        self.input_dtype = np.dtype(self._in["dtype"])
        self.output_dtype = np.dtype(self._out["dtype"])
        self.input_quant = (float(self._in["quantization"][0]), int(self._in["quantization"][1]))
        self.output_quant = (float(self._out["quantization"][0]), int(self._out["quantization"][1]))
        self.n_inputs = int(self._in["shape"][-1])
        self.n_outputs = int(self._out["shape"][-1])
        self._lock = threading.Lock()

    def run(self, x: npt.ArrayLike) -> npt.NDArray[Any]:
        """Run rows of ``x`` (n, n_inputs) already in the input dtype; returns (n, n_outputs) output dtype."""
        a = np.asarray(x, dtype=self.input_dtype)
        if a.ndim != 2 or a.shape[1] != self.n_inputs:
            raise BundleError(f"model input must be (n, {self.n_inputs}), got {a.shape}")
        out = np.empty((a.shape[0], self.n_outputs), dtype=self.output_dtype)
        if a.shape[0] == 0:
            return out
        with self._lock:
            it = self._it
            it.resize_tensor_input(self._in["index"], [a.shape[0], self.n_inputs], strict=False)
            it.allocate_tensors()
            it.set_tensor(self._in["index"], a)
            it.invoke()
            out[:] = it.get_tensor(self._out["index"])
        return out

    def run_float(self, z: npt.ArrayLike) -> tuple[F32, F32]:
        """Run float rows through the model, quantizing and dequantizing when it is INT8.

        Returns
        -------
        z_seen : ndarray float32 (n, n_inputs)
            The input as the model saw it (quantized-then-dequantized for INT8).
        y : ndarray float32 (n, n_outputs)
            Dequantized output.
        """
        z32 = np.asarray(z, dtype=np.float32)
        if self.input_dtype == np.int8:
            q = quantize(z32, *self.input_quant)
            seen = dequantize(q, *self.input_quant)
            raw = self.run(q)
        else:
            seen = z32
            raw = self.run(z32)
        if self.output_dtype == np.int8:
            y = dequantize(raw, *self.output_quant)
        else:
            y = raw.astype(np.float32)
        return seen, y
