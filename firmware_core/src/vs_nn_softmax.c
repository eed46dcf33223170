/*
 * vs_nn_softmax.c - int8 SOFTMAX in gemmlowp fixed point, as TFLite's reference_ops::Softmax (the path the
 * BUILTIN_REF resolver takes for int8; the optimized resolver uses a float table and differs in the last bit).
 *
 * Raw int32 fixed-point values are named by their integer bits: F0 holds [-1, 1), F2 holds [-4, 4), F5 the
 * scaled input differences, F12 the running sum of exponentials.
 */
#include "vs/vs_nn.h"

#define VS_I32_MAX 2147483647
#define VS_I32_MIN (-VS_I32_MAX - 1)

#define SCALED_DIFF_INT_BITS 5
#define ACCUM_INT_BITS 12

static int32_t mul_fp(int32_t a, int32_t b)
{
    return vs_nn_sat_round_doubling_high_mul(a, b);
}

/* Wrapping add/sub, as gemmlowp's raw int32 operators on two's-complement machines. */
static int32_t add_w(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t sub_w(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent>. */
static int32_t sat_mul_pot(int32_t x, int exponent)
{
    if (exponent > 0) {
        const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
        if (x > threshold) {
            return VS_I32_MAX;
        }
        if (x < -threshold) {
            return VS_I32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
    if (exponent < 0) {
        return vs_nn_rounding_divide_by_pot(x, -exponent);
    }
    return x;
}

/* exp(a) for a in [-1/4, 0), F0 in and out: Taylor series around -1/8. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 */
    const int32_t x = add_w(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = mul_fp(x, x);
    const int32_t x3 = mul_fp(x2, x);
    const int32_t x4 = mul_fp(x2, x2);
    const int32_t x4_over_4 = sat_mul_pot(x4, -2);
    const int32_t poly = sat_mul_pot(add_w(mul_fp(add_w(x4_over_4, x3), constant_1_over_3), x2), -1);
    return add_w(constant_term, mul_fp(constant_term, add_w(x, poly)));
}

/* exp(a) for a <= 0 given in F5; result F0. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac_bits = 31 - SCALED_DIFF_INT_BITS;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = sub_w(a & mask, one_quarter);
    int32_t result = exp_quarter_interval(sat_mul_pot(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INT_BITS));
    const int32_t remainder = sub_w(a_mod_quarter_minus_one_quarter, a);
    for (int e = -2; e <= 4; ++e) {
        if (SCALED_DIFF_INT_BITS > e && (remainder & ((int32_t)1 << (frac_bits + e))) != 0) {
            result = mul_fp(result, barrel[e + 2]);
        }
    }
    return a == 0 ? VS_I32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), F0 in and out: Newton-Raphson with 3 iterations in F2. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t s = (int64_t)a + VS_I32_MAX;
    const int32_t half_denominator = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
    const int32_t c48_over_17 = 1515870810;
    const int32_t c_neg32_over_17 = -1010580540;
    int32_t x = add_w(c48_over_17, mul_fp(half_denominator, c_neg32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = mul_fp(half_denominator, x);
        const int32_t one_minus = sub_w((int32_t)1 << 29, hdx);
        x = add_w(x, sat_mul_pot(mul_fp(x, one_minus), 2));
    }
    /* x/2 reinterpreted from F2 to F1 keeps the raw value; rescale F1 -> F0. */
    return sat_mul_pot(x, 1);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

int vs_nn_softmax_s8(const vs_nn_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->depth == 0 || p->input_left_shift < 0 ||
        p->input_left_shift > 31) {
        return VS_ERR_ARG;
    }
    for (uint32_t r = 0; r < p->outer; ++r) {
        const int8_t *in = input + (size_t)r * p->depth;
        int8_t *out = output + (size_t)r * p->depth;
        int32_t max_in_row = -128;
        for (uint32_t c = 0; c < p->depth; ++c) {
            max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        }
        int32_t sum_of_exps = 0; /* F12 */
        for (uint32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = vs_nn_sat_round_doubling_high_mul(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps = add_w(sum_of_exps, sat_mul_pot(exp_on_negative_values(rescaled), -ACCUM_INT_BITS));
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = ACCUM_INT_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (uint32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = vs_nn_sat_round_doubling_high_mul(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(rescaled);
                int32_t v = vs_nn_rounding_divide_by_pot(mul_fp(shifted_scale, e), num_bits_over_unit + 31 - 8);
                v += -128;
                out[c] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
            } else {
                out[c] = -128;
            }
        }
    }
    return VS_OK;
}
