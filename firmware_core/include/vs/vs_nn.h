/*
 * vs_nn.h - int8 neural-network kernels with the integer arithmetic of TFLite's reference kernels.
 *
 * Every kernel computes, bit for bit, what tf.lite.Interpreter computes with
 * OpResolverType.BUILTIN_REF for a fully int8-quantized model (TF 2.21): the same accumulation order is not
 * needed (int32 sums are exact), but every rounding step is reproduced exactly:
 *   - requantization: MultiplyByQuantizedMultiplier with TFLite's default double rounding,
 *     RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, multiplier), right), except for
 *     FULLY_CONNECTED (per-channel and per-tensor weights), whose TF 2.21 reference kernel rounds the exact
 *     64-bit product once: (x * m + 2^(30 - shift)) >> (31 - shift). Which op rounds which way was
 *     established by the bit-exact tests (the two differ in the last bit for about one output in six);
 *   - ADD: both inputs shifted left by 20 bits and rescaled to twice the larger input scale first;
 *   - LOGISTIC, TANH: a 256-entry table built at export time (TFLite builds the same table in Prepare);
 *   - SOFTMAX: gemmlowp fixed-point exp / reciprocal (5 integer bits for differences, 12 for the sum);
 *   - MEAN: integer sum, multiplier pre-divided by the element count as reference_ops::QuantizedMeanOrSum;
 *   - AVERAGE_POOL_2D: integer average rounded half away from zero.
 *
 * Fixed-point formats: multipliers are Q0.31 in [2^30, 2^31) (or 0); a shift > 0 is a left shift, < 0 a
 * rounding right shift. Tensors are int8 in NHWC order, zero points are stored as offsets exactly as TFLite's
 * op params (input_offset = -input zero point, output_offset = +output zero point).
 *
 * Buffers: all pointers are caller-owned; inputs and outputs must not overlap (except vs_nn_copy, which uses
 * memmove). No kernel allocates, keeps state between calls, or touches globals: every kernel is reentrant and
 * may run in any context, an ISR included (they are long, though: run them from a task).
 *
 * Kernels return VS_OK or VS_ERR_ARG (NULL pointer, zero or inconsistent dimension).
 */
#ifndef VS_NN_H
#define VS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- fixed-point primitives (exposed for the unit tests) --------------------------------------------------- */

/** gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating INT32_MIN * INT32_MIN. */
int32_t vs_nn_sat_round_doubling_high_mul(int32_t a, int32_t b);
/** RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
int32_t vs_nn_rounding_divide_by_pot(int32_t x, int exponent);
/** MultiplyByQuantizedMultiplier (double rounding, TFLite's default): x * multiplier * 2^(shift - 31). */
int32_t vs_nn_requantize(int32_t x, int32_t multiplier, int shift);
/** Single-rounding variant: floor(x * multiplier * 2^(shift - 31) + 1/2); -31 <= shift <= 30. */
int32_t vs_nn_requantize_single(int32_t x, int32_t multiplier, int shift);

/* --- per-channel quantization of a conv / fully-connected output ------------------------------------------ */

/** Output rescaling shared by FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D. */
typedef struct {
    int32_t input_offset;      /* -input zero point */
    int32_t filter_offset;     /* -filter zero point (0 for TFLite's symmetric int8 weights) */
    int32_t output_offset;     /* +output zero point */
    int32_t act_min;           /* fused activation clamp, in output quantized units */
    int32_t act_max;
    const int32_t *multiplier; /* Q0.31, one per output channel, or one for all when per_channel == 0 */
    const int8_t *shift;       /* same length as multiplier */
    uint8_t per_channel;
    uint8_t single_rounding;   /* 1: vs_nn_requantize_single (FULLY_CONNECTED), 0: vs_nn_requantize */
} vs_nn_quant_t;

/* --- FULLY_CONNECTED -------------------------------------------------------------------------------------- */

typedef struct {
    vs_nn_quant_t q;
    const int8_t *weights; /* [out_features][in_features], flash */
    const int32_t *bias;   /* [out_features] or NULL; scale = input scale * weight scale */
    uint16_t batches;
    uint16_t in_features;
    uint16_t out_features;
} vs_nn_fc_params_t;

/** output[b][o] = clamp(requant(sum_i (w[o][i] + filter_offset) * (x[b][i] + input_offset) + bias[o])). */
int vs_nn_fully_connected_s8(const vs_nn_fc_params_t *p, const int8_t *input, int8_t *output);

/* --- CONV_2D and DEPTHWISE_CONV_2D (a Keras Conv1D is a CONV_2D with height 1) ---------------------------- */

typedef struct {
    vs_nn_quant_t q;
    const int8_t *filter; /* CONV_2D: [out_c][k_h][k_w][in_c / groups]; DEPTHWISE: [1][k_h][k_w][out_c] */
    const int32_t *bias;  /* [out_c] or NULL */
    uint16_t batches;
    uint16_t in_h, in_w, in_c;
    uint16_t out_h, out_w, out_c;
    uint16_t k_h, k_w;
    uint16_t stride_h, stride_w;
    uint16_t dilation_h, dilation_w;
    uint16_t pad_top, pad_left;  /* TFLite's ComputePaddingHeightWidth (SAME / VALID resolved at export) */
    uint16_t filter_in_c;        /* CONV_2D: input channels per group; unused for DEPTHWISE */
    uint16_t depth_multiplier;   /* DEPTHWISE: out_c / in_c; unused for CONV_2D */
} vs_nn_conv_params_t;

/** TFLite reference_integer_ops::ConvPerChannel; padded taps are skipped (they contribute zero). */
int vs_nn_conv2d_s8(const vs_nn_conv_params_t *p, const int8_t *input, int8_t *output);
/** TFLite reference_integer_ops::DepthwiseConvPerChannel. */
int vs_nn_depthwise_conv2d_s8(const vs_nn_conv_params_t *p, const int8_t *input, int8_t *output);

/* --- AVERAGE_POOL_2D and MEAN ----------------------------------------------------------------------------- */

typedef struct {
    uint16_t batches, in_h, in_w, channels;
    uint16_t out_h, out_w;
    uint16_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max; /* input and output share scale and zero point (TFLite requires it) */
} vs_nn_pool_params_t;

int vs_nn_avg_pool2d_s8(const vs_nn_pool_params_t *p, const int8_t *input, int8_t *output);

/** MEAN over one contiguous block of axes: the input is viewed as [outer][reduce][inner]. */
typedef struct {
    uint32_t outer, reduce, inner;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier; /* (input_scale / output_scale) already divided by `reduce`, as TFLite does */
    int32_t shift;
} vs_nn_mean_params_t;

int vs_nn_mean_s8(const vs_nn_mean_params_t *p, const int8_t *input, int8_t *output);

/* --- ADD -------------------------------------------------------------------------------------------------- */

#define VS_NN_MAX_DIMS 4

/** ADD of two int8 tensors, same shape or broadcast (NumPy rules, up to 4 dimensions). */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift; /* 20 for int8 */
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    uint32_t size;                        /* output elements */
    uint8_t broadcast;                    /* 0: both inputs have `size` elements, in the same order */
    uint16_t out_dims[VS_NN_MAX_DIMS];    /* broadcast: output shape, left-padded with 1s */
    uint32_t in1_strides[VS_NN_MAX_DIMS]; /* broadcast: element strides of input 1, 0 along broadcast axes */
    uint32_t in2_strides[VS_NN_MAX_DIMS];
} vs_nn_add_params_t;

int vs_nn_add_s8(const vs_nn_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* --- element-wise activations ----------------------------------------------------------------------------- */

/** RELU / RELU6 / RELU_N1_TO_1: requantize then clamp (TFLite ReluX). */
typedef struct {
    uint32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} vs_nn_relu_params_t;

int vs_nn_relu_s8(const vs_nn_relu_params_t *p, const int8_t *input, int8_t *output);

/** LOGISTIC and TANH: output[i] = table[(uint8_t)input[i]]; the 256-entry table is generated at export from
 *  the quantization parameters exactly as TFLite's LUTPopulate builds it. */
typedef struct {
    uint32_t size;
    const int8_t *table; /* 256 entries, indexed by the input's bit pattern */
} vs_nn_lut_params_t;

int vs_nn_logistic_s8(const vs_nn_lut_params_t *p, const int8_t *input, int8_t *output);

/** SOFTMAX over the last axis; output scale 1/256, zero point -128. */
typedef struct {
    uint32_t outer, depth;
    int32_t input_multiplier; /* beta * input_scale * 2^26, Q0.31 */
    int32_t input_left_shift;
    int32_t diff_min;         /* differences below this give exp() == 0 */
} vs_nn_softmax_params_t;

int vs_nn_softmax_s8(const vs_nn_softmax_params_t *p, const int8_t *input, int8_t *output);

/* --- QUANTIZE / DEQUANTIZE / RESHAPE ---------------------------------------------------------------------- */

/** QUANTIZE float -> int8 (round half away from zero, then clamp). */
typedef struct {
    uint32_t size;
    float scale;
    int32_t zero_point;
} vs_nn_affine_params_t;

int vs_nn_quantize_f32_s8(const vs_nn_affine_params_t *p, const float *input, int8_t *output);
/** One value of vs_nn_quantize_f32_s8 (scale > 0 is the caller's promise; no checks: the per-feature path). */
int8_t vs_nn_quantize_f32_one(float value, float scale, int32_t zero_point);
/** DEQUANTIZE int8 -> float: scale * (q - zero_point). */
int vs_nn_dequantize_s8_f32(const vs_nn_affine_params_t *p, const int8_t *input, float *output);

/** QUANTIZE int8 -> int8 (requantize to another scale / zero point). */
typedef struct {
    uint32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
} vs_nn_requant_params_t;

int vs_nn_requantize_s8(const vs_nn_requant_params_t *p, const int8_t *input, int8_t *output);

/** RESHAPE / EXPAND_DIMS / SQUEEZE: the bytes do not change; copies (memmove) when buffers differ. */
typedef struct {
    uint32_t bytes;
} vs_nn_copy_params_t;

int vs_nn_copy(const vs_nn_copy_params_t *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* VS_NN_H */
