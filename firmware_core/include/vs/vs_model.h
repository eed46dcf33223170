/*
 * vs_model.h - a generated int8 model (vs_model_data.[ch] from `vibsentry export`) and the runtime that
 * runs it with the vs_nn kernels.
 *
 * A model is constant data only (flash): the op list, each op's parameters (weights, biases, per-channel
 * multipliers and shifts precomputed at export), and the tensor arena plan. Activations live in one
 * caller-owned arena of `arena_bytes` bytes, 4-byte aligned, planned at export from tensor lifetimes so that
 * tensors that are never alive at the same time share bytes. The runtime allocates nothing.
 *
 * Usage:
 *     #include "vs_model_data.h"              // generated: declares `extern const vs_model_t vs_model;`
 *     static int32_t arena[VS_MODEL_ARENA_WORDS];
 *     int8_t in[VS_MODEL_INPUT_BYTES], out[VS_MODEL_OUTPUT_BYTES];
 *     int rc = vs_model_run_s8(&vs_model, arena, sizeof arena, in, out);
 *
 * Thread / ISR safety: vs_model_run* is reentrant when each caller passes its own arena.
 */
#ifndef VS_MODEL_H
#define VS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_nn.h"
#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes VS_MODEL_ERR_OP (unknown op code in the op list) and VS_MODEL_ERR_KERNEL (a kernel rejected its
 * parameters) come from vs_status.h (specs/status_codes.toml). The op codes of the op list, vs_nn_op_code_t
 * (VS_NN_OP_*), are generated from specs/model_ops.toml: values are part of the generated-code format and the
 * model image, never renumbered. */
#include "vs/generated/vs_model_ops.h"

/** Element types of the model's input and output. */
typedef enum { VS_NN_TYPE_S8 = 1, VS_NN_TYPE_F32 = 2 } vs_nn_type_t;

/** One tensor: an activation in the arena, or a constant operand (e.g. of ADD) in flash. */
typedef struct {
    uint32_t offset;  /* bytes from the arena start, multiple of 4 (activations) */
    uint32_t bytes;
    const void *data; /* constant tensor data, or NULL for an arena tensor */
} vs_model_tensor_t;

/** One op: kernel code, parameter block (a vs_nn_*_params_t matching the code), activation tensors. */
typedef struct {
    uint8_t code;         /* vs_nn_op_code_t */
    int16_t input;        /* tensor index */
    int16_t input2;       /* ADD only; -1 otherwise */
    int16_t output;       /* tensor index */
    const void *params;
} vs_model_op_t;

typedef struct {
    const char *name;
    const char *source_sha256; /* sha256 of the .tflite the model was generated from */
    const vs_model_op_t *ops;
    uint16_t n_ops;
    const vs_model_tensor_t *tensors;
    uint16_t n_tensors;
    uint32_t arena_bytes;
    int16_t input_tensor, output_tensor;
    uint8_t input_type, output_type; /* vs_nn_type_t */
    uint32_t input_bytes, output_bytes;
    float input_scale;   /* real = scale * (q - zero_point) */
    int32_t input_zero_point;
    float output_scale;
    int32_t output_zero_point;
} vs_model_t;

/**
 * Run a model once.
 *
 * @param model       generated model
 * @param arena       caller-owned scratch, at least model->arena_bytes, 4-byte aligned; clobbered
 * @param arena_bytes size of `arena`
 * @param input       model->input_bytes bytes (int8 or float per input_type); copied into the arena
 * @param output      model->output_bytes bytes, written on VS_OK
 * @return VS_OK, VS_ERR_ARG (NULL, misaligned arena), VS_ERR_SIZE (arena too small), VS_MODEL_ERR_OP,
 *         VS_MODEL_ERR_KERNEL
 */
int vs_model_run(const vs_model_t *model, void *arena, size_t arena_bytes, const void *input, void *output);

/**
 * Run one op's kernel on explicit buffers: the dispatch of vs_model_run, shared with the model-image runner
 * (vs_model_image.h). `params` is the vs_nn_*_params_t the code names; `in2` is read by ADD only.
 * @return the kernel's status, VS_MODEL_ERR_OP for an unknown code, VS_ERR_ARG for a NULL buffer
 */
int vs_model_op_run(uint8_t code, const void *params, const void *in, const void *in2, void *out);

/** vs_model_run for a model with int8 input and output (VS_ERR_CONFIG otherwise). */
int vs_model_run_s8(const vs_model_t *model, void *arena, size_t arena_bytes, const int8_t *input,
                    int8_t *output);

/** Quantize one real value to the model input's int8 (round half away from zero, clamp). */
int8_t vs_model_quantize_input(const vs_model_t *model, float value);

/** Dequantize one int8 output value of the model to a real value. */
float vs_model_dequantize_output(const vs_model_t *model, int8_t q);

#ifdef __cplusplus
}
#endif

#endif /* VS_MODEL_H */
