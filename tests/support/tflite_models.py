"""Small seeded Keras models converted to full-INT8 TFLite, for the C INT8 runtime's bit-exact tests.

Each architecture covers ops the exporter supports and the shapes training produces (a 40-feature vector in):

- ``autoencoder``: Dense 40-32-16-32-40 with ReLU (the anomaly detector), FULLY_CONNECTED only;
- ``mlp_softmax``: 40-32-16-10 classifier with SOFTMAX;
- ``cnn1d``: Conv1D (CONV_2D), AveragePooling1D (AVERAGE_POOL_2D), DepthwiseConv1D (DEPTHWISE_CONV_2D),
  GlobalAveragePooling1D (MEAN), Dense, SOFTMAX, with the RESHAPE / EXPAND_DIMS / SQUEEZE Conv1D brings;
- ``add_logistic``: standalone RELU6 and RELU on the input, two branches joined by ADD, a sigmoid output
  (LOGISTIC);
- ``float_io``: an autoencoder with float input and output, so the graph starts with QUANTIZE and ends with
  DEQUANTIZE;
- ``logistic_lut``, ``tanh``: a sigmoid / tanh after a dense layer whose outputs hit all 256 table entries;
- ``cnn2d``: 2-D convolutions with stride and SAME padding (asymmetric), a strided Conv1D, a depthwise
  convolution with depth multiplier 2, 2-D average pooling with SAME padding, MEAN over height and width;
- ``fc_per_tensor``: the autoencoder with per-tensor (not per-channel) dense weights, as older converters and
  ``_experimental_disable_per_channel_quantization_for_dense_layers`` produce.

Conversion takes seconds per model, so converted models are cached on disk under ``build/nn_models/`` keyed by
the TensorFlow version and :data:`CACHE_VERSION` (bump it when a builder changes).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.codegen import host as cg

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / "build" / "nn_models"
CACHE_VERSION = "4"
N_FEATURES = 40

ARCHITECTURES: tuple[str, ...] = (
    "autoencoder",
    "mlp_softmax",
    "cnn1d",
    "add_logistic",
    "float_io",
    "logistic_lut",
    "fc_per_tensor",
    "cnn2d",
    "tanh",
)


def _quiet_tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def _autoencoder(keras: Any, n: int = N_FEATURES) -> Any:
    inp = keras.Input((n,), name="features")
    x = keras.layers.Dense(32, activation="relu")(inp)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    out = keras.layers.Dense(n)(x)
    return keras.Model(inp, out)


def _mlp_softmax(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    x = keras.layers.Dense(32, activation="relu")(inp)
    x = keras.layers.Dense(16, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out)


def _cnn1d(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    x = keras.layers.Reshape((N_FEATURES, 1))(inp)
    x = keras.layers.Conv1D(8, 5, padding="same", activation="relu")(x)
    x = keras.layers.AveragePooling1D(2)(x)
    x = keras.layers.Conv1D(12, 3, strides=2, padding="valid", activation="relu6")(x)
    x = keras.layers.DepthwiseConv1D(3, padding="same", depth_multiplier=1)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out)


def _add_logistic(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    r6 = keras.layers.ReLU(max_value=6.0)(inp)
    r = keras.layers.ReLU()(inp)
    a = keras.layers.Dense(16)(r6)
    b = keras.layers.Dense(16)(r)
    x = keras.layers.Add()([a, b])
    x = keras.layers.Dense(8, activation="relu")(x)
    y = keras.layers.Dense(8)(x)
    x = keras.layers.Add()([x, y])
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inp, out)


def _logistic_lut(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    x = keras.layers.Dense(N_FEATURES)(inp)
    out = keras.layers.Activation("sigmoid")(x)
    return keras.Model(inp, out)


def _cnn2d(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    d = keras.layers.Reshape((N_FEATURES, 1))(inp)
    # (A dilated Conv1D would lower to SPACE_TO_BATCH_ND + CONV_2D + BATCH_TO_SPACE_ND, which export refuses.)
    d = keras.layers.Conv1D(3, 4, strides=3, padding="same", activation="relu")(d)
    d = keras.layers.GlobalAveragePooling1D()(d)
    x = keras.layers.Reshape((5, 8, 1))(inp)
    x = keras.layers.Conv2D(4, (3, 3), strides=2, padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D((2, 3), depth_multiplier=2, padding="same", activation="relu6")(x)
    x = keras.layers.AveragePooling2D((2, 2), strides=1, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(6)(x)
    y = keras.layers.Dense(6)(d)
    out = keras.layers.Softmax()(keras.layers.Add()([x, y]))
    return keras.Model(inp, out)


def _tanh(keras: Any) -> Any:
    inp = keras.Input((N_FEATURES,), name="features")
    x = keras.layers.Dense(N_FEATURES, activation="tanh")(inp)
    out = keras.layers.Dense(8)(x)
    return keras.Model(inp, out)


def _leaky_relu_unsupported(keras: Any) -> Any:
    """A LEAKY_RELU op, which the int8 runtime does not implement (the exporter must refuse it by name)."""
    inp = keras.Input((N_FEATURES,), name="features")
    out = keras.layers.LeakyReLU(negative_slope=0.1)(keras.layers.Dense(8)(inp))
    return keras.Model(inp, out)


_BUILDERS: dict[str, Callable[[Any], Any]] = {
    "cnn2d": _cnn2d,
    "tanh": _tanh,
    "leaky_relu_unsupported": _leaky_relu_unsupported,
    "logistic_lut": _logistic_lut,
    "fc_per_tensor": _autoencoder,
    "autoencoder": _autoencoder,
    "mlp_softmax": _mlp_softmax,
    "cnn1d": _cnn1d,
    "add_logistic": _add_logistic,
    "float_io": _autoencoder,
}


def representative_inputs(seed: int = 0, n: int = 256) -> np.ndarray:
    """Calibration inputs: standard-normal features with a few heavy tails, shape (n, 40), float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_FEATURES)).astype(np.float32)
    x[: n // 16] *= 3.0
    return x


def convert(name: str, *, seed: int = 1234) -> bytes:
    """Build architecture ``name`` with seeded random weights and convert it to full-INT8 TFLite.

    Returns the ``.tflite`` bytes (cached on disk)."""
    import tensorflow

    key = hashlib.sha256(f"{name}|{seed}|{CACHE_VERSION}|{tensorflow.__version__}".encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{name}-{key}.tflite"
    if path.is_file():
        return path.read_bytes()
    tf = _quiet_tf()
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    model = _BUILDERS[name](keras)
    # Random init leaves biases at zero; give them values so bias handling is exercised.
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        w = layer.get_weights()
        if len(w) == 2:
            layer.set_weights([w[0], rng.normal(0, 0.3, w[1].shape).astype(np.float32)])
    rep = representative_inputs(seed)

    def gen() -> Any:
        for row in rep:
            yield [row[None, :]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if name == "fc_per_tensor":
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    if name != "float_io":
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    content = bytes(conv.convert())
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return content


def reference_interpreter(content: bytes) -> Any:
    """``tf.lite.Interpreter`` with the BUILTIN_REF op resolver (TFLite's reference kernels)."""
    tf = _quiet_tf()
    interp = tf.lite.Interpreter(
        model_content=content,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
    )
    interp.allocate_tensors()
    return interp


def run_reference(interp: Any, inputs: np.ndarray) -> np.ndarray:
    """Run the interpreter on each row of ``inputs`` (already in the model's input dtype); stack the outputs."""
    din = interp.get_input_details()[0]
    dout = interp.get_output_details()[0]
    outs = []
    for row in inputs:
        interp.set_tensor(din["index"], row.reshape(din["shape"]).astype(din["dtype"]))
        interp.invoke()
        outs.append(interp.get_tensor(dout["index"]).reshape(-1).copy())
    return np.stack(outs)


# --- the C side: generated model + vs_nn runtime as a host shared library ---------------------------------------
# The compile-and-call machinery is the one `vibsentry export --validate` uses (vibsentry.codegen.host).

FIRMWARE = ROOT / "firmware_core"
RUNTIME_SOURCES = cg.RUNTIME_SOURCES
CFLAGS = cg.host_cflags()  # from firmware_core/Makefile

#: A generated model compiled into a host shared library, called through ctypes.
ModelLibrary = cg.HostModel

# The runner as an executable under AddressSanitizer + UndefinedBehaviorSanitizer: raw inputs on stdin, raw
# outputs on stdout. The arena is malloc'ed to exactly the planned size, so an out-of-plan access is caught.
_SAN_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "@H@"

int main(void)
{
    int8_t *arena = malloc(@P@_ARENA_BYTES ? @P@_ARENA_BYTES : 1u);
    unsigned char in[@P@_INPUT_BYTES];
    unsigned char out[@P@_OUTPUT_BYTES];
    if (arena == NULL) {
        return 2;
    }
    while (fread(in, 1, sizeof in, stdin) == sizeof in) {
        int rc = vs_model_run(&@M@, arena, @P@_ARENA_BYTES, in, out);
        if (rc != VS_OK) {
            fprintf(stderr, "vs_model_run: %d\n", rc);
            free(arena);
            return 1;
        }
        fwrite(out, 1, sizeof out, stdout);
    }
    free(arena);
    return 0;
}
"""


def compile_model(gen_dir: Path, *, cc: str = "gcc") -> Path:
    """Compile ``gen_dir/vs_model_data.c`` + the vs_nn runtime + the ctypes shim into a shared library."""
    return cg.compile_host(gen_dir, cc=cc)


def compile_sanitized(gen_dir: Path, *, cc: str = "gcc") -> Path:
    """Build the stdin/stdout runner with -fsanitize=address,undefined; returns the executable."""
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    return cg.compile_host(gen_dir, main_source=_SAN_MAIN, flags=flags, output=gen_dir / "model_san", cc=cc)


def _pack(m: Any) -> bytes:
    """A TFLite schema ``ModelT`` serialised back to ``.tflite`` flatbuffer bytes (file identifier ``TFL3``)."""
    import flatbuffers

    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _repoint_signatures(m: Any, kind: str, old: int, new: int) -> None:
    """Every signature-def entry of ``kind`` (``"inputs"`` or ``"outputs"``) naming tensor ``old`` names ``new``."""
    for sig in m.signatureDefs or []:
        for io in getattr(sig, kind) or []:
            if io.tensorIndex == old:
                io.tensorIndex = new


def with_requantized_input(content: bytes, *, scale_factor: float = 1.7, zero_point_shift: int = 9) -> bytes:
    """The model with an int8 -> int8 QUANTIZE (requantization) op in front of it.

    Keras models do not produce this op, so it is put there by editing the flatbuffer with TFLite's own schema
    object API: a new int8 input tensor with another scale and zero point feeds a QUANTIZE op whose output is
    the old input tensor."""
    from vibsentry.codegen.tflite_reader import _schema_module

    s = _schema_module()
    m = s.ModelT.InitFromPackedBuf(bytearray(content), 0)
    sg = m.subgraphs[0]
    old = sg.inputs[0]
    t_old = sg.tensors[old]
    t_new = s.TensorT()
    t_new.shape = list(t_old.shape)
    t_new.shapeSignature = list(t_old.shapeSignature) if t_old.shapeSignature is not None else None
    t_new.type = t_old.type
    t_new.name = b"requantized_input"
    m.buffers.append(s.BufferT())
    t_new.buffer = len(m.buffers) - 1
    q = s.QuantizationParametersT()
    q.scale = [float(np.float32(t_old.quantization.scale[0] * scale_factor))]
    q.zeroPoint = [int(np.clip(t_old.quantization.zeroPoint[0] + zero_point_shift, -128, 127))]
    t_new.quantization = q
    sg.tensors.append(t_new)
    new = len(sg.tensors) - 1
    code = s.OperatorCodeT()
    code.builtinCode = s.BuiltinOperator.QUANTIZE
    code.deprecatedBuiltinCode = s.BuiltinOperator.QUANTIZE
    code.version = 2
    m.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.inputs = [new]
    op.outputs = [old]
    op.builtinOptionsType = s.BuiltinOptions.QuantizeOptions
    op.builtinOptions = s.QuantizeOptionsT()
    sg.operators.insert(0, op)
    sg.inputs = [new]
    _repoint_signatures(m, "inputs", old, new)
    return _pack(m)


def with_edits(content: bytes, *, relu_to: str | None = None, fc_activation: int | None = None) -> bytes:
    """The model with operators changed in place (for ops and options Keras does not emit).

    ``relu_to``: every standalone RELU becomes this builtin (e.g. ``"RELU_N1_TO_1"``); ``fc_activation``: the
    fused activation code of every FULLY_CONNECTED (0 none, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6)."""
    from vibsentry.codegen.tflite_reader import _schema_module

    s = _schema_module()
    m = s.ModelT.InitFromPackedBuf(bytearray(content), 0)
    for code in m.operatorCodes:
        if (
            relu_to is not None
            and max(code.builtinCode, code.deprecatedBuiltinCode) == s.BuiltinOperator.RELU
        ):
            code.builtinCode = code.deprecatedBuiltinCode = getattr(s.BuiltinOperator, relu_to)
            code.version = 1
    if fc_activation is not None:
        fc = [i for i, c in enumerate(m.operatorCodes) if c.builtinCode == s.BuiltinOperator.FULLY_CONNECTED]
        for op in m.subgraphs[0].operators:
            if op.opcodeIndex in fc:
                op.builtinOptions.fusedActivationFunction = fc_activation
    return _pack(m)


def with_const_add(
    content: bytes, *, const_shape: tuple[int, ...], first: bool = False, seed: int = 0
) -> bytes:
    """The model with ``output + C`` appended (``C + output`` when ``first``): an ADD whose other operand is
    a constant int8 tensor of ``const_shape`` (broadcast when smaller than the output), with its own scale
    and zero point, and a new output tensor with another quantization."""
    from vibsentry.codegen.tflite_reader import _schema_module

    s = _schema_module()
    m = s.ModelT.InitFromPackedBuf(bytearray(content), 0)
    sg = m.subgraphs[0]
    old = sg.outputs[0]
    t_old = sg.tensors[old]

    def tensor(name: bytes, shape: list[int], scale: float, zp: int, data: np.ndarray | None) -> int:
        buf = s.BufferT()
        if data is not None:
            buf.data = np.frombuffer(data.astype(np.int8).tobytes(), dtype=np.uint8)
        m.buffers.append(buf)
        t = s.TensorT()
        t.shape, t.type, t.name, t.buffer = shape, t_old.type, name, len(m.buffers) - 1
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint = [float(np.float32(scale))], [zp]
        t.quantization = q
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    vals = np.random.default_rng(seed).integers(-128, 128, size=const_shape)
    c_idx = tensor(b"const_operand", list(const_shape), 0.043, 5, vals)
    out_scale = float(t_old.quantization.scale[0]) * 1.3
    n_idx = tensor(b"sum", list(t_old.shape), out_scale, -4, None)
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.ADD
    code.version = 2
    m.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.inputs = [c_idx, old] if first else [old, c_idx]
    op.outputs = [n_idx]
    op.builtinOptionsType = s.BuiltinOptions.AddOptions
    op.builtinOptions = s.AddOptionsT()
    sg.operators.append(op)
    sg.outputs = [n_idx]
    _repoint_signatures(m, "outputs", old, n_idx)
    return _pack(m)
