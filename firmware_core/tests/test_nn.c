/*
 * test_nn.c - host unit tests of the int8 kernels and the model runner (ASan + UBSan build).
 *
 * Bit-exactness against TFLite on whole models is tested from pytest (tests/firmware/test_nn_bitexact.py); this file
 * pins the fixed-point primitives with hand-computed values, the rounding rules of each kernel, and the error
 * paths (NULL, inconsistent dimensions, short or misaligned arena, unknown op).
 */
#include <stdint.h>
#include <string.h>

#include "vs/vs_model.h"
#include "vs/vs_nn.h"
#include "vs_test.h"

static void test_primitives(void)
{
    /* round(a * b / 2^31); the one overflow case saturates. */
    VS_CHECK_EQ_INT(vs_nn_sat_round_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
    VS_CHECK_EQ_INT(vs_nn_sat_round_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
    VS_CHECK_EQ_INT(vs_nn_sat_round_doubling_high_mul(5, 1 << 30), 3);   /* 2.5 -> 3 */
    VS_CHECK_EQ_INT(vs_nn_sat_round_doubling_high_mul(-5, 1 << 30), -2); /* -2.5 -> -2 (gemmlowp nudge) */
    /* Division by 2^e rounds half away from zero. */
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(5, 1), 3);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(-5, 1), -3);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(-3, 1), -2);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(6, 2), 2);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(-7, 2), -2);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(INT32_MIN, 31), -1);
    VS_CHECK_EQ_INT(vs_nn_rounding_divide_by_pot(INT32_MAX, 31), 1);
    /* 5 * 0.25 = 1.25: double rounding rounds twice (2.5 -> 3, then 1.5 -> 2), single rounding once (1). */
    VS_CHECK_EQ_INT(vs_nn_requantize(5, 1 << 30, -1), 2);
    VS_CHECK_EQ_INT(vs_nn_requantize_single(5, 1 << 30, -1), 1);
    VS_CHECK_EQ_INT(vs_nn_requantize_single(-5, 1 << 30, -1), -1);
    VS_CHECK_EQ_INT(vs_nn_requantize_single(6, 1 << 30, -2), 1); /* 0.75 -> 1 */
    /* Left shifts: 3 * 0.5 * 2^4 = 24 both ways. */
    VS_CHECK_EQ_INT(vs_nn_requantize(3, 1 << 30, 4), 24);
    VS_CHECK_EQ_INT(vs_nn_requantize_single(3, 1 << 30, 4), 24);
}

static void test_fully_connected(void)
{
    /* 2 inputs -> 2 outputs, input zero point 1, output scale factor 0.5 (m = 2^30, shift 0), zp -3. */
    static const int8_t w[4] = {1, 2, -3, 4};
    static const int32_t bias[2] = {10, -10};
    static const int32_t mult[1] = {1 << 30};
    static const int8_t shift[1] = {0};
    vs_nn_fc_params_t p;
    memset(&p, 0, sizeof p);
    p.q.input_offset = -1;
    p.q.output_offset = -3;
    p.q.act_min = -128;
    p.q.act_max = 127;
    p.q.multiplier = mult;
    p.q.shift = shift;
    p.weights = w;
    p.bias = bias;
    p.batches = 1;
    p.in_features = 2;
    p.out_features = 2;
    const int8_t x[2] = {5, -7}; /* minus zero point: 4, -8 */
    int8_t y[2] = {0, 0};
    VS_CHECK_EQ_INT(vs_nn_fully_connected_s8(&p, x, y), VS_OK);
    /* acc0 = 4 - 16 + 10 = -2 -> -1 -> -4;  acc1 = -12 - 32 - 10 = -54 -> -27 -> -30 */
    VS_CHECK_EQ_INT(y[0], -4);
    VS_CHECK_EQ_INT(y[1], -30);
    p.q.act_min = -10; /* a fused ReLU-like clamp */
    VS_CHECK_EQ_INT(vs_nn_fully_connected_s8(&p, x, y), VS_OK);
    VS_CHECK_EQ_INT(y[1], -10);
    p.q.single_rounding = 1;
    VS_CHECK_EQ_INT(vs_nn_fully_connected_s8(&p, x, y), VS_OK);
    VS_CHECK_EQ_INT(y[0], -4);
    VS_CHECK_EQ_INT(vs_nn_fully_connected_s8(NULL, x, y), VS_ERR_ARG);
    p.in_features = 0;
    VS_CHECK_EQ_INT(vs_nn_fully_connected_s8(&p, x, y), VS_ERR_ARG);
}

static void test_avg_pool_rounding(void)
{
    /* 1x1x4 input, window 2, stride 2: averages (1+2)/2 = 1.5 -> 2 and (-1-2)/2 = -1.5 -> -2. */
    vs_nn_pool_params_t p;
    memset(&p, 0, sizeof p);
    p.batches = 1;
    p.in_h = 1;
    p.in_w = 4;
    p.channels = 1;
    p.out_h = 1;
    p.out_w = 2;
    p.k_h = 1;
    p.k_w = 2;
    p.stride_h = 1;
    p.stride_w = 2;
    p.act_min = -128;
    p.act_max = 127;
    const int8_t x[4] = {1, 2, -1, -2};
    int8_t y[2] = {0, 0};
    VS_CHECK_EQ_INT(vs_nn_avg_pool2d_s8(&p, x, y), VS_OK);
    VS_CHECK_EQ_INT(y[0], 2);
    VS_CHECK_EQ_INT(y[1], -2);
}

static void test_softmax_uniform(void)
{
    /* Equal logits: each class gets 1/4, i.e. 64/256, stored as 64 - 128 = -64. */
    vs_nn_softmax_params_t p = {1u, 4u, 1 << 30, 20, -1000};
    const int8_t x[4] = {7, 7, 7, 7};
    int8_t y[4] = {0, 0, 0, 0};
    VS_CHECK_EQ_INT(vs_nn_softmax_s8(&p, x, y), VS_OK);
    for (int i = 0; i < 4; ++i) {
        VS_CHECK_EQ_INT(y[i], -64);
    }
    /* A logit far below the others (diff < diff_min) gets exactly zero probability. */
    const int8_t x2[4] = {100, 100, -100, 100};
    p.diff_min = -100;
    VS_CHECK_EQ_INT(vs_nn_softmax_s8(&p, x2, y), VS_OK);
    VS_CHECK_EQ_INT(y[2], -128);
    VS_CHECK(y[0] == y[1] && y[1] == y[3] && y[0] > -64);
}

static void test_logistic_and_relu(void)
{
    int8_t table[256];
    for (int i = 0; i < 256; ++i) {
        table[i] = (int8_t)(255 - i - 128);
    }
    vs_nn_lut_params_t lp = {3u, table};
    const int8_t x[3] = {-128, 0, 127};
    int8_t y[3];
    VS_CHECK_EQ_INT(vs_nn_logistic_s8(&lp, x, y), VS_OK);
    VS_CHECK_EQ_INT(y[0], 255 - 128 - 128); /* index 0x80 */
    VS_CHECK_EQ_INT(y[1], 127);             /* index 0 */
    VS_CHECK_EQ_INT(y[2], 255 - 127 - 128); /* index 0x7f */
    /* ReLU with identical in/out quantization (m = 2^30, shift 1 means x1) and zero point -5. */
    vs_nn_relu_params_t rp = {3u, -5, -5, 1 << 30, 1, -5, 127};
    const int8_t r[3] = {-100, -5, 90};
    VS_CHECK_EQ_INT(vs_nn_relu_s8(&rp, r, y), VS_OK);
    VS_CHECK_EQ_INT(y[0], -5);
    VS_CHECK_EQ_INT(y[1], -5);
    VS_CHECK_EQ_INT(y[2], 90);
}

static void test_quantize_dequantize(void)
{
    vs_nn_affine_params_t p = {5u, 0.5f, 3};
    const float x[5] = {0.25f, -0.25f, 1000.0f, -1e30f, 0.75f};
    int8_t q[5];
    VS_CHECK_EQ_INT(vs_nn_quantize_f32_s8(&p, x, q), VS_OK);
    VS_CHECK_EQ_INT(q[0], 4);  /* 0.5 -> 1 (half away from zero), + 3 */
    VS_CHECK_EQ_INT(q[1], 2);  /* -0.5 -> -1 */
    VS_CHECK_EQ_INT(q[2], 127);
    VS_CHECK_EQ_INT(q[3], -128);
    VS_CHECK_EQ_INT(q[4], 5);  /* 1.5 -> 2 */
    /* int8 -> int8 requantization: (q - 2) * 0.5 - 1, rounding 1.5 -> 2 and -1.5 -> -1 (gemmlowp nudge). */
    vs_nn_requant_params_t rq = {4u, 2, -1, 1 << 30, 0};
    const int8_t rin[4] = {5, -1, 127, -128};
    int8_t rout[4];
    VS_CHECK_EQ_INT(vs_nn_requantize_s8(&rq, rin, rout), VS_OK);
    VS_CHECK_EQ_INT(rout[0], 1);   /* 3 * 0.5 = 1.5 -> 2, - 1 */
    VS_CHECK_EQ_INT(rout[1], -2);  /* -3 * 0.5 = -1.5 -> -1, - 1 */
    VS_CHECK_EQ_INT(rout[2], 62);  /* 125 * 0.5 = 62.5 -> 63, - 1 */
    VS_CHECK_EQ_INT(rout[3], -66); /* -130 * 0.5 = -65 exactly, - 1 */
    float back[5];
    VS_CHECK_EQ_INT(vs_nn_dequantize_s8_f32(&p, q, back), VS_OK);
    VS_CHECK_NEAR(back[0], 0.5, 0.0);
    VS_CHECK_NEAR(back[3], -65.5, 0.0);
}

/* A two-op model by hand: COPY then RELU, tensors 0 -> 1 -> 2, arena of 12 bytes. */
static const vs_nn_copy_params_t copy_p = {4u};
static const vs_nn_relu_params_t relu_p = {4u, 0, 0, 1 << 30, 1, 0, 127};
static const vs_model_op_t ops[2] = {
    {VS_NN_OP_COPY, 0, -1, 1, &copy_p},
    {VS_NN_OP_RELU, 1, -1, 2, &relu_p},
};
static const vs_model_tensor_t tensors[3] = {{0u, 4u, NULL}, {4u, 4u, NULL}, {8u, 4u, NULL}};

static void test_model_runner(void)
{
    vs_model_t m;
    memset(&m, 0, sizeof m);
    m.name = "hand";
    m.ops = ops;
    m.n_ops = 2;
    m.tensors = tensors;
    m.n_tensors = 3;
    m.arena_bytes = 12;
    m.input_tensor = 0;
    m.output_tensor = 2;
    m.input_type = VS_NN_TYPE_S8;
    m.output_type = VS_NN_TYPE_S8;
    m.input_bytes = 4;
    m.output_bytes = 4;
    m.input_scale = 0.5f;
    m.output_scale = 0.25f;
    m.output_zero_point = -2;
    int32_t arena[4];
    const int8_t in[4] = {-3, 0, 3, 127};
    int8_t out[4] = {9, 9, 9, 9};
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 12, in, out), VS_OK);
    VS_CHECK_EQ_INT(out[0], 0);
    VS_CHECK_EQ_INT(out[2], 3);
    VS_CHECK_EQ_INT(out[3], 127);
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 11, in, out), VS_ERR_SIZE);
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, (uint8_t *)arena + 1, 12, in, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 12, NULL, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_model_quantize_input(&m, 1.2f), 2);
    VS_CHECK_NEAR(vs_model_dequantize_output(&m, 2), 1.0, 0.0);
    m.output_type = VS_NN_TYPE_F32;
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 12, in, out), VS_ERR_CONFIG);
    m.output_type = VS_NN_TYPE_S8;
    vs_model_op_t bad[1] = {{99, 0, -1, 1, &copy_p}};
    m.ops = bad;
    m.n_ops = 1;
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 12, in, out), VS_MODEL_ERR_OP);
    vs_model_op_t bad_tensor[1] = {{VS_NN_OP_COPY, 0, -1, 7, &copy_p}};
    m.ops = bad_tensor;
    VS_CHECK_EQ_INT(vs_model_run_s8(&m, arena, 12, in, out), VS_MODEL_ERR_KERNEL);
}

int main(void)
{
    test_primitives();
    test_fully_connected();
    test_avg_pool_rounding();
    test_softmax_uniform();
    test_logistic_and_relu();
    test_quantize_dequantize();
    test_model_runner();
    VS_TEST_DONE();
}
