/*
 * vs_nn_model.c - runs a generated vs_model_t: copies the input into the arena, calls each op's kernel on its
 * arena tensors, copies the output out. All planning (offsets, parameters) happened at export time.
 */
#include "vs/vs_model.h"

#include <string.h>

/* Inlined: called three times per op, and -Os would keep the call (a tenth of a small dense layer's time). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void *tensor_ptr(const vs_model_t *m, uint8_t *arena, int16_t index)
{
    if (index < 0 || index >= (int16_t)m->n_tensors) {
        return NULL;
    }
    if (m->tensors[index].data != NULL) {
        /* Constant operands are only ever read: kernels take their inputs as const. */
        return (void *)(uintptr_t)m->tensors[index].data;
    }
    return arena + m->tensors[index].offset;
}

int vs_model_op_run(uint8_t code, const void *params, const void *in, const void *in2, void *out)
{
    if (params == NULL || in == NULL || out == NULL) {
        return VS_ERR_ARG;
    }
    switch (code) {
    case VS_NN_OP_FULLY_CONNECTED:
        return vs_nn_fully_connected_s8((const vs_nn_fc_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_CONV_2D:
        return vs_nn_conv2d_s8((const vs_nn_conv_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_DEPTHWISE_CONV_2D:
        return vs_nn_depthwise_conv2d_s8((const vs_nn_conv_params_t *)params, (const int8_t *)in,
                                         (int8_t *)out);
    case VS_NN_OP_AVERAGE_POOL_2D:
        return vs_nn_avg_pool2d_s8((const vs_nn_pool_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_MEAN:
        return vs_nn_mean_s8((const vs_nn_mean_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_ADD:
        return vs_nn_add_s8((const vs_nn_add_params_t *)params, (const int8_t *)in, (const int8_t *)in2,
                            (int8_t *)out);
    case VS_NN_OP_RELU:
        return vs_nn_relu_s8((const vs_nn_relu_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_LOGISTIC:
    case VS_NN_OP_TANH:
        return vs_nn_logistic_s8((const vs_nn_lut_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_SOFTMAX:
        return vs_nn_softmax_s8((const vs_nn_softmax_params_t *)params, (const int8_t *)in, (int8_t *)out);
    case VS_NN_OP_COPY:
        return vs_nn_copy((const vs_nn_copy_params_t *)params, in, out);
    case VS_NN_OP_QUANTIZE:
        return vs_nn_quantize_f32_s8((const vs_nn_affine_params_t *)params, (const float *)in, (int8_t *)out);
    case VS_NN_OP_DEQUANTIZE:
        return vs_nn_dequantize_s8_f32((const vs_nn_affine_params_t *)params, (const int8_t *)in,
                                       (float *)out);
    case VS_NN_OP_REQUANTIZE:
        return vs_nn_requantize_s8((const vs_nn_requant_params_t *)params, (const int8_t *)in, (int8_t *)out);
    default:
        return VS_MODEL_ERR_OP;
    }
}

static int run_op(const vs_model_t *m, const vs_model_op_t *op, uint8_t *arena)
{
    return vs_model_op_run(op->code, op->params, tensor_ptr(m, arena, op->input), tensor_ptr(m, arena, op->input2),
                           tensor_ptr(m, arena, op->output));
}

int vs_model_run(const vs_model_t *model, void *arena, size_t arena_bytes, const void *input, void *output)
{
    if (model == NULL || arena == NULL || input == NULL || output == NULL || ((uintptr_t)arena & 3u) != 0) {
        return VS_ERR_ARG;
    }
    if (arena_bytes < model->arena_bytes) {
        return VS_ERR_SIZE;
    }
    uint8_t *a = (uint8_t *)arena;
    void *in = tensor_ptr(model, a, model->input_tensor);
    const void *out = tensor_ptr(model, a, model->output_tensor);
    if (in == NULL || out == NULL) {
        return VS_ERR_ARG;
    }
    memcpy(in, input, model->input_bytes);
    for (uint16_t i = 0; i < model->n_ops; ++i) {
        const int rc = run_op(model, &model->ops[i], a);
        if (rc == VS_MODEL_ERR_OP) {
            return rc;
        }
        if (rc != VS_OK) {
            return VS_MODEL_ERR_KERNEL;
        }
    }
    memcpy(output, out, model->output_bytes);
    return VS_OK;
}

int vs_model_run_s8(const vs_model_t *model, void *arena, size_t arena_bytes, const int8_t *input,
                    int8_t *output)
{
    if (model == NULL) {
        return VS_ERR_ARG;
    }
    if (model->input_type != VS_NN_TYPE_S8 || model->output_type != VS_NN_TYPE_S8) {
        return VS_ERR_CONFIG;
    }
    return vs_model_run(model, arena, arena_bytes, input, output);
}

int8_t vs_model_quantize_input(const vs_model_t *model, float value)
{
    /* The exporter guarantees input_scale > 0 (a TFLite int8 input's scale). */
    return vs_nn_quantize_f32_one(value, model->input_scale, model->input_zero_point);
}

float vs_model_dequantize_output(const vs_model_t *model, int8_t q)
{
    return model->output_scale * (float)((int32_t)q - model->output_zero_point);
}
