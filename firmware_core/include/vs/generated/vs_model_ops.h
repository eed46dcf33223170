/*
 * GENERATED — do not edit. Source: specs/model_ops.toml (sha256 b4725d31f118f1b620a8b8691b0aa6e0e8839a7c829fb918c97b1e42a8d2dbd7); regenerate: python3 scripts/gen_specs.py
 *
 * Op codes of the model op list (values are part of stored formats; never renumber).
 */
#ifndef VS_MODEL_OPS_H
#define VS_MODEL_OPS_H

/** Op codes of the op list. */
typedef enum {
    VS_NN_OP_FULLY_CONNECTED = 1,
    VS_NN_OP_CONV_2D = 2,
    VS_NN_OP_DEPTHWISE_CONV_2D = 3,
    VS_NN_OP_AVERAGE_POOL_2D = 4,
    VS_NN_OP_MEAN = 5,
    VS_NN_OP_ADD = 6,
    VS_NN_OP_RELU = 7,
    VS_NN_OP_LOGISTIC = 8,
    VS_NN_OP_SOFTMAX = 9,
    VS_NN_OP_COPY = 10, /* RESHAPE, EXPAND_DIMS, SQUEEZE */
    VS_NN_OP_QUANTIZE = 11,
    VS_NN_OP_DEQUANTIZE = 12,
    VS_NN_OP_REQUANTIZE = 13,
    VS_NN_OP_TANH = 14 /* same table kernel as LOGISTIC */
} vs_nn_op_code_t;

#endif /* VS_MODEL_OPS_H */
