"""GENERATED — do not edit. Source: specs/model_ops.toml (sha256 b4725d31f118f1b620a8b8691b0aa6e0e8839a7c829fb918c97b1e42a8d2dbd7); regenerate: python3 scripts/gen_specs.py

Op codes of the int8 model runtime (vs_nn_op_code_t in vs_model.h).
"""

# fmt: off

OP_CODES: dict[str, int] = {
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
