/*
 * vs_nn.c - int8 kernels with TFLite reference integer arithmetic (see vs_nn.h for the exactness contract).
 *
 * Shifts of negative numbers and int32 wrap-around are written through uint32_t / explicit floor division so
 * that the result is defined C99 and identical to what TFLite computes on two's-complement targets.
 */
#include "vs/vs_nn.h"

#include <string.h>


#define VS_I32_MAX 2147483647
#define VS_I32_MIN (-VS_I32_MAX - 1)

/* Arithmetic right shift (floor division by 2^n) without relying on implementation-defined >> of negatives. */
static int32_t asr32(int32_t x, int n)
{
    return x >= 0 ? (int32_t)((uint32_t)x >> n) : (int32_t)~((uint32_t)~x >> n);
}

/* x * 2^n with two's-complement wrap (TFLite's `x * (1 << n)` on the targets it runs on). */
static int32_t shl32(int32_t x, int n)
{
    return (int32_t)((uint32_t)x << n);
}

static int32_t clamp32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

int32_t vs_nn_sat_round_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == VS_I32_MIN) {
        return VS_I32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp's does. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t vs_nn_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = asr32(mask, 1) + (x < 0 ? 1 : 0);
    return asr32(x, exponent) + (remainder > threshold ? 1 : 0);
}

int32_t vs_nn_requantize(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return vs_nn_rounding_divide_by_pot(vs_nn_sat_round_doubling_high_mul(shl32(x, left), multiplier), right);
}

int32_t vs_nn_requantize_single(int32_t x, int32_t multiplier, int shift)
{
    /* One rounding of the exact 64-bit product: (x * m + 2^(30 - shift)) >> (31 - shift), flooring. */
    const int total_shift = 31 - shift;
    const int64_t prod = (int64_t)x * (int64_t)multiplier + ((int64_t)1 << (total_shift - 1));
    const int64_t q = prod >= 0 ? (int64_t)((uint64_t)prod >> total_shift)
                                : (int64_t)~((uint64_t)~prod >> total_shift);
    return (int32_t)q;
}

static int32_t quant_out(const vs_nn_quant_t *q, uint32_t channel, int32_t acc)
{
    const uint32_t i = q->per_channel ? channel : 0u;
    acc = q->single_rounding ? vs_nn_requantize_single(acc, q->multiplier[i], q->shift[i])
                             : vs_nn_requantize(acc, q->multiplier[i], q->shift[i]);
    acc += q->output_offset;
    return clamp32(acc, q->act_min, q->act_max);
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int quant_ok(const vs_nn_quant_t *q)
{
    return q->multiplier != NULL && q->shift != NULL && q->act_min <= q->act_max;
}

/* sum_i w[i] * x[i]: the generic dot product (host, RV32, and the Cortex-M4 path's fallbacks). */
static int32_t dot_s8(const int8_t *w, const int8_t *x, uint32_t n)
{
    int32_t acc = 0;
    while (n-- > 0u) {
        acc += (int32_t)*w++ * *x++;
    }
    return acc;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
/* Cortex-M4/M7/M33 DSP extension (ARMv7E-M ARM, section A7.7). CMSIS-Core is not available here (CMSIS-DSP
 * builds with __GNUC_PYTHON__), so the instructions the dense kernel needs are written out
 * here (SXTB16 below, SMLAD in the dot products). */
static inline uint32_t vs_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r; /* bytes 0 and 2, sign-extended into the two halfwords */
}

static inline uint32_t vs_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r; /* bytes 1 and 3 */
}

static inline uint32_t load_u32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: ARMv7-M allows unaligned word loads */
    return v;
}

/* Inputs per dense layer the fast path handles: the reordered input lives on the stack (2 bytes per input). */
#define VS_NN_FC_FAST_MAX 128u

/* The input, widened to int16 in the order SXTB16 unpacks a weight word: for every 4 inputs, the pair
 * (x0, x2) then the pair (x1, x3). The weights then need no reordering at all (the layout in flash stays
 * TFLite's [out][in]) and one SXTB16 per weight pair replaces the two per pair of the naive loop. */
static void widen_reordered(const int8_t *x, uint32_t n4, uint32_t *x16)
{
    uint32_t v, e, o;
    __asm__ volatile("1:\n\t"
                     "ldr %[v], [%[x]], #4\n\t"
                     "sxtb16 %[e], %[v]\n\t"
                     "sxtb16 %[o], %[v], ror #8\n\t"
                     "strd %[e], %[o], [%[y]], #8\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [x] "+r"(x), [y] "+r"(x16), [n] "+r"(n4), [v] "=&r"(v), [e] "=&r"(e), [o] "=&r"(o)
                     :
                     : "cc", "memory");
}

/* Single-rounding requantization (vs_nn_requantize_single) of k accumulators of channels o0.., then the
 * output offset and the clamp, with the layer's constants kept in registers. For a total shift
 * ts = 31 - shift >= 33 (multipliers below 1/2, every dense layer trained here),
 * floor((p + 2^(ts-1)) / 2^ts) = floor((floor(p / 2^(ts-1)) + 1) / 2), and floor(p / 2^(ts-1)) is the high
 * word of p shifted right by ts - 33: the low word only holds the dropped fraction. |p| < 2^62, so nothing
 * overflows. GCC shifts signed values arithmetically (this path is GCC-only, like the inline assembly). */
__attribute__((always_inline)) static inline int32_t requant_hi(int32_t acc, int32_t m, int shift)
{
    if (shift <= -2) {
        /* |p| <= 2^62, so |top| <= 2^30 and 2 top fits: floor(2 top / 2^(-1 - shift)) == floor(top / 2^(ts - 33)),
         * and -1 - shift == ~shift is one MVN (the constant -2 is no Thumb-2 immediate). */
        const int32_t top = (int32_t)((uint64_t)((int64_t)acc * m) >> 32);
        return (((int32_t)((uint32_t)top << 1) >> ~shift) + 1) >> 1;
    }
    return vs_nn_requantize_single(acc, m, shift);
}

__attribute__((noinline)) static void requant_block(const vs_nn_quant_t *q, uint32_t o0, const int32_t *acc,
                                                   uint32_t k, int8_t *out)
{
    const int32_t off = q->output_offset, lo = q->act_min - off, hi = q->act_max - off;
    const int32_t *const end = acc + k;
    if (q->per_channel && q->act_min == -128 && q->act_max == 127) {
        /* No activation (every layer of the autoencoders trained here): clamp(v, lo, hi) + off ==
         * SSAT8(v + off), |v| <= 2^30 so the sum does not wrap; 2 instructions instead of 8. The offset joins
         * requant_hi's rounding step: floor((y + 1) / 2) + off == floor((y + 1 + 2 off) / 2). */
        const int32_t *mul = q->multiplier + o0;
        const int8_t *sh = q->shift + o0;
        const int32_t round_off = 1 + 2 * off;
        do { /* k >= 1 */
            const int32_t a = *acc++, m = *mul++;
            const int shift = *sh++;
            int32_t v;
            if (shift <= -2) {
                const int32_t top = (int32_t)((uint64_t)((int64_t)a * m) >> 32);
                v = (((int32_t)((uint32_t)top << 1) >> ~shift) + round_off) >> 1;
            } else {
                v = vs_nn_requantize_single(a, m, shift) + off;
            }
            __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(v));
            *out++ = (int8_t)v;
        } while (acc != end);
        return;
    }
    /* Clamped before the offset is added (same result: the bounds moved by it), one register fewer. */
    if (q->per_channel) {
        const int32_t *mul = q->multiplier + o0;
        const int8_t *sh = q->shift + o0;
        do { /* k >= 1 */
            int32_t v = requant_hi(*acc++, *mul++, *sh++);
            v = v < lo ? lo : v;
            *out++ = (int8_t)((v > hi ? hi : v) + off);
        } while (acc != end);
    } else {
        const int32_t m = q->multiplier[0];
        const int shift = q->shift[0];
        do {
            int32_t v = requant_hi(*acc++, m, shift);
            v = v < lo ? lo : v;
            *out++ = (int8_t)((v > hi ? hi : v) + off);
        } while (acc != end);
    }
}

/* Four output rows per pass share each widened input pair: per 4 inputs, 4 weight loads, 1 LDRD of the
 * input, 8 SXTB16 and 8 SMLAD for 16 MACs (about 1.4 instructions per MAC with the loop). One asm block: GCC
 * at -Os spills pointers in this loop. noinline: its 13 register operands must not compete with a caller's
 * live values (inlined at -O2 the constraints become impossible), and the memory clobber stays local. Rows
 * o+1..o+3 are addressed from two pointers and the row stride. Exact: the int32 sums equal dot_s8's (integer
 * addition is associative, and TFLite's int32 accumulator of the same products does not overflow either). */
__attribute__((noinline)) static void dot4_dsp(const int8_t *w0, uint32_t stride, const uint32_t *xv, uint32_t n4,
                                               const int32_t *init, int32_t *acc)
{
    const int8_t *w2 = w0 + 2u * stride;
    int32_t s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3];
    uint32_t u, xe, xo, t;
#define VS_NN_DOT4_STEP                                                                                          \
    "ldrd %[xe], %[xo], [%[xv]], #8\n\t"                                                                          \
    "ldr %[u], [%[w0], %[st]]\n\t"                                                                                \
    "sxtb16 %[t], %[u]\n\t"                                                                                       \
    "smlad %[s1], %[t], %[xe], %[s1]\n\t"                                                                         \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                               \
    "smlad %[s1], %[t], %[xo], %[s1]\n\t"                                                                         \
    "ldr %[u], [%[w0]], #4\n\t"                                                                                   \
    "sxtb16 %[t], %[u]\n\t"                                                                                       \
    "smlad %[s0], %[t], %[xe], %[s0]\n\t"                                                                         \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                               \
    "smlad %[s0], %[t], %[xo], %[s0]\n\t"                                                                         \
    "ldr %[u], [%[w2], %[st]]\n\t"                                                                                \
    "sxtb16 %[t], %[u]\n\t"                                                                                       \
    "smlad %[s3], %[t], %[xe], %[s3]\n\t"                                                                         \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                               \
    "smlad %[s3], %[t], %[xo], %[s3]\n\t"                                                                         \
    "ldr %[u], [%[w2]], #4\n\t"                                                                                   \
    "sxtb16 %[t], %[u]\n\t"                                                                                       \
    "smlad %[s2], %[t], %[xe], %[s2]\n\t"                                                                         \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                               \
    "smlad %[s2], %[t], %[xo], %[s2]\n\t"
    /* An odd group of 4 inputs first, then 8 inputs per pass (the loop's 2 instructions per 32 MACs). */
    __asm__ volatile("tst %[n], #1\n\t"
                     "beq 2f\n\t" VS_NN_DOT4_STEP "subs %[n], %[n], #1\n\t"
                     "beq 3f\n\t"
                     "2:\n\t" VS_NN_DOT4_STEP VS_NN_DOT4_STEP "subs %[n], %[n], #2\n\t"
                     "bne 2b\n\t"
                     "3:\n\t"
                     : [w0] "+r"(w0), [w2] "+r"(w2), [xv] "+r"(xv), [n] "+r"(n4), [s0] "+r"(s0), [s1] "+r"(s1),
                       [s2] "+r"(s2), [s3] "+r"(s3), [u] "=&r"(u), [xe] "=&r"(xe), [xo] "=&r"(xo), [t] "=&r"(t)
                     : [st] "r"(stride)
                     : "cc", "memory");
#undef VS_NN_DOT4_STEP
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* One row against the widened input (the rows left over after the groups of four). */
static int32_t dot1_dsp(const int8_t *w, const uint32_t *xv, uint32_t n4, int32_t acc)
{
    for (uint32_t k = 0; k < n4; ++k, w += 4, xv += 2) {
        const uint32_t u = load_u32(w);
        int32_t r;
        __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(vs_sxtb16(u)), "r"(xv[0]), "r"(acc));
        __asm__("smlad %0, %1, %2, %3" : "=r"(acc) : "r"(vs_sxtb16_ror8(u)), "r"(xv[1]), "r"(r));
    }
    return acc;
}

/* Accumulators of a block of output channels, requantized together (VS_NN_FC_BLOCK int32 on the stack). */
#define VS_NN_FC_BLOCK 64u

static void fc_rows_dsp(const vs_nn_fc_params_t *p, const uint32_t *x16, const int8_t *x, int8_t *out)
{
    const uint32_t n = p->in_features, n4 = n / 4u, rem = n - 4u * n4, n_out = p->out_features;
    const int8_t *xr = x + 4u * n4;
    const int32_t *bias = p->bias;
    static const int32_t zeros[4] = {0, 0, 0, 0};
    int32_t acc[VS_NN_FC_BLOCK];
    for (uint32_t o0 = 0; o0 < n_out; o0 += VS_NN_FC_BLOCK) {
        const uint32_t k = n_out - o0 < VS_NN_FC_BLOCK ? n_out - o0 : VS_NN_FC_BLOCK;
        const int8_t *w = p->weights + (size_t)o0 * n;
        /* n4 >= 1 here (the caller takes the generic path for fewer than 4 inputs). */
        uint32_t j = 0;
        for (; j + 4u <= k; j += 4u, w += 4u * n) {
            dot4_dsp(w, n, x16, n4, bias != NULL ? bias + o0 + j : zeros, acc + j);
        }
        for (; j < k; ++j, w += n) {
            acc[j] = dot1_dsp(w, x16, n4, bias != NULL ? bias[o0 + j] : 0);
        }
        if (rem != 0u) {
            const int8_t *wr = p->weights + (size_t)o0 * n + 4u * n4;
            for (j = 0; j < k; ++j, wr += n) {
                acc[j] += dot_s8(wr, xr, rem);
            }
        }
        requant_block(&p->q, o0, acc, k, out + o0);
    }
}
#endif

int vs_nn_fully_connected_s8(const vs_nn_fc_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->weights == NULL || !quant_ok(&p->q) ||
        p->in_features == 0 || p->out_features == 0) {
        return VS_ERR_ARG;
    }
    /* The exporter folds input_offset * sum(w) into the bias (exact in int32), leaving both offsets 0. */
    const int plain = p->q.input_offset == 0 && p->q.filter_offset == 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
    if (plain && p->q.single_rounding && p->in_features >= 4u && p->in_features <= VS_NN_FC_FAST_MAX) {
        uint32_t x16[VS_NN_FC_FAST_MAX / 2u];
        for (uint32_t b = 0; b < p->batches; ++b) {
            const int8_t *x = input + (size_t)b * p->in_features;
            widen_reordered(x, p->in_features / 4u, x16);
            fc_rows_dsp(p, x16, x, output + (size_t)b * p->out_features);
        }
        return VS_OK;
    }
#endif
    for (uint32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * p->in_features;
        for (uint32_t o = 0; o < p->out_features; ++o) {
            const int8_t *w = p->weights + (size_t)o * p->in_features;
            int32_t acc = 0;
            if (plain) {
                acc = dot_s8(w, x, p->in_features);
            } else {
                for (uint32_t i = 0; i < p->in_features; ++i) {
                    acc += ((int32_t)w[i] + p->q.filter_offset) * ((int32_t)x[i] + p->q.input_offset);
                }
            }
            if (p->bias != NULL) {
                acc += p->bias[o];
            }
            output[(size_t)b * p->out_features + o] = (int8_t)quant_out(&p->q, o, acc);
        }
    }
    return VS_OK;
}

static int conv_dims_ok(const vs_nn_conv_params_t *p)
{
    return p->in_h && p->in_w && p->in_c && p->out_h && p->out_w && p->out_c && p->k_h && p->k_w &&
           p->stride_h && p->stride_w && p->dilation_h && p->dilation_w;
}

int vs_nn_conv2d_s8(const vs_nn_conv_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->filter == NULL || !quant_ok(&p->q) ||
        !conv_dims_ok(p) || p->filter_in_c == 0 || p->in_c % p->filter_in_c != 0) {
        return VS_ERR_ARG;
    }
    const uint32_t groups = p->in_c / p->filter_in_c;
    const uint32_t out_per_group = p->out_c / groups;
    if (out_per_group == 0 || p->out_c % groups != 0) {
        return VS_ERR_ARG;
    }
    for (uint32_t b = 0; b < p->batches; ++b) {
        for (uint32_t oy = 0; oy < p->out_h; ++oy) {
            for (uint32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t y0 = (int32_t)(oy * p->stride_h) - (int32_t)p->pad_top;
                const int32_t x0 = (int32_t)(ox * p->stride_w) - (int32_t)p->pad_left;
                for (uint32_t oc = 0; oc < p->out_c; ++oc) {
                    const uint32_t group = oc / out_per_group;
                    int32_t acc = 0;
                    for (uint32_t fy = 0; fy < p->k_h; ++fy) {
                        const int32_t iy = y0 + (int32_t)(fy * p->dilation_h);
                        if (iy < 0 || iy >= (int32_t)p->in_h) {
                            continue;
                        }
                        for (uint32_t fx = 0; fx < p->k_w; ++fx) {
                            const int32_t ix = x0 + (int32_t)(fx * p->dilation_w);
                            if (ix < 0 || ix >= (int32_t)p->in_w) {
                                continue;
                            }
                            const int8_t *in = input + (((size_t)b * p->in_h + (uint32_t)iy) * p->in_w +
                                                        (uint32_t)ix) * p->in_c + group * p->filter_in_c;
                            const int8_t *f =
                                p->filter + (((size_t)oc * p->k_h + fy) * p->k_w + fx) * p->filter_in_c;
                            for (uint32_t ic = 0; ic < p->filter_in_c; ++ic) {
                                acc += ((int32_t)f[ic] + p->q.filter_offset) * ((int32_t)in[ic] + p->q.input_offset);
                            }
                        }
                    }
                    if (p->bias != NULL) {
                        acc += p->bias[oc];
                    }
                    output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        (int8_t)quant_out(&p->q, oc, acc);
                }
            }
        }
    }
    return VS_OK;
}

int vs_nn_depthwise_conv2d_s8(const vs_nn_conv_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->filter == NULL || !quant_ok(&p->q) ||
        !conv_dims_ok(p) || p->depth_multiplier == 0 || (uint32_t)p->in_c * p->depth_multiplier != p->out_c) {
        return VS_ERR_ARG;
    }
    for (uint32_t b = 0; b < p->batches; ++b) {
        for (uint32_t oy = 0; oy < p->out_h; ++oy) {
            for (uint32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t y0 = (int32_t)(oy * p->stride_h) - (int32_t)p->pad_top;
                const int32_t x0 = (int32_t)(ox * p->stride_w) - (int32_t)p->pad_left;
                for (uint32_t ic = 0; ic < p->in_c; ++ic) {
                    for (uint32_t m = 0; m < p->depth_multiplier; ++m) {
                        const uint32_t oc = ic * p->depth_multiplier + m;
                        int32_t acc = 0;
                        for (uint32_t fy = 0; fy < p->k_h; ++fy) {
                            const int32_t iy = y0 + (int32_t)(fy * p->dilation_h);
                            if (iy < 0 || iy >= (int32_t)p->in_h) {
                                continue;
                            }
                            for (uint32_t fx = 0; fx < p->k_w; ++fx) {
                                const int32_t ix = x0 + (int32_t)(fx * p->dilation_w);
                                if (ix < 0 || ix >= (int32_t)p->in_w) {
                                    continue;
                                }
                                const int32_t v = input[(((size_t)b * p->in_h + (uint32_t)iy) * p->in_w +
                                                         (uint32_t)ix) * p->in_c + ic];
                                const int32_t f = p->filter[((size_t)fy * p->k_w + fx) * p->out_c + oc];
                                acc += (f + p->q.filter_offset) * (v + p->q.input_offset);
                            }
                        }
                        if (p->bias != NULL) {
                            acc += p->bias[oc];
                        }
                        output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                            (int8_t)quant_out(&p->q, oc, acc);
                    }
                }
            }
        }
    }
    return VS_OK;
}

int vs_nn_avg_pool2d_s8(const vs_nn_pool_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->stride_h == 0 || p->stride_w == 0 ||
        p->act_min > p->act_max) {
        return VS_ERR_ARG;
    }
    for (uint32_t b = 0; b < p->batches; ++b) {
        for (uint32_t oy = 0; oy < p->out_h; ++oy) {
            for (uint32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t y0 = (int32_t)(oy * p->stride_h) - (int32_t)p->pad_top;
                const int32_t x0 = (int32_t)(ox * p->stride_w) - (int32_t)p->pad_left;
                const int32_t fy0 = y0 < 0 ? -y0 : 0;
                const int32_t fx0 = x0 < 0 ? -x0 : 0;
                int32_t fy1 = (int32_t)p->in_h - y0;
                int32_t fx1 = (int32_t)p->in_w - x0;
                fy1 = fy1 < (int32_t)p->k_h ? fy1 : (int32_t)p->k_h;
                fx1 = fx1 < (int32_t)p->k_w ? fx1 : (int32_t)p->k_w;
                for (uint32_t c = 0; c < p->channels; ++c) {
                    int32_t acc = 0;
                    int32_t count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const size_t idx =
                                (((size_t)b * p->in_h + (size_t)(y0 + fy)) * p->in_w + (size_t)(x0 + fx)) *
                                    p->channels + c;
                            acc += input[idx];
                            count++;
                        }
                    }
                    if (count == 0) {
                        return VS_ERR_ARG;
                    }
                    /* Round half away from zero, with C's truncating division, as the reference does. */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
                        (int8_t)clamp32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return VS_OK;
}

int vs_nn_mean_s8(const vs_nn_mean_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->reduce == 0 || p->inner == 0) {
        return VS_ERR_ARG;
    }
    for (uint32_t o = 0; o < p->outer; ++o) {
        for (uint32_t i = 0; i < p->inner; ++i) {
            int32_t sum = 0;
            for (uint32_t r = 0; r < p->reduce; ++r) {
                sum += input[((size_t)o * p->reduce + r) * p->inner + i];
            }
            const int32_t shifted = sum - p->input_zero_point * (int32_t)p->reduce;
            const int32_t v = vs_nn_requantize(shifted, p->multiplier, p->shift) + p->output_zero_point;
            output[(size_t)o * p->inner + i] = (int8_t)clamp32(v, -128, 127);
        }
    }
    return VS_OK;
}

static int8_t add_one(const vs_nn_add_params_t *p, int32_t a, int32_t b)
{
    const int32_t x1 = shl32(a + p->input1_offset, p->left_shift);
    const int32_t x2 = shl32(b + p->input2_offset, p->left_shift);
    const int32_t s1 = vs_nn_requantize(x1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = vs_nn_requantize(x2, p->input2_multiplier, p->input2_shift);
    const int32_t raw = vs_nn_requantize(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)clamp32(raw, p->act_min, p->act_max);
}

int vs_nn_add_s8(const vs_nn_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    if (p == NULL || input1 == NULL || input2 == NULL || output == NULL || p->act_min > p->act_max) {
        return VS_ERR_ARG;
    }
    if (!p->broadcast) {
        for (uint32_t i = 0; i < p->size; ++i) {
            output[i] = add_one(p, input1[i], input2[i]);
        }
        return VS_OK;
    }
    const uint16_t *d = p->out_dims;
    const uint32_t *s1 = p->in1_strides;
    const uint32_t *s2 = p->in2_strides;
    size_t o = 0;
    for (uint32_t i0 = 0; i0 < d[0]; ++i0) {
        for (uint32_t i1 = 0; i1 < d[1]; ++i1) {
            for (uint32_t i2 = 0; i2 < d[2]; ++i2) {
                const size_t a = (size_t)i0 * s1[0] + (size_t)i1 * s1[1] + (size_t)i2 * s1[2];
                const size_t b = (size_t)i0 * s2[0] + (size_t)i1 * s2[1] + (size_t)i2 * s2[2];
                for (uint32_t i3 = 0; i3 < d[3]; ++i3) {
                    output[o++] = add_one(p, input1[a + (size_t)i3 * s1[3]], input2[b + (size_t)i3 * s2[3]]);
                }
            }
        }
    }
    return VS_OK;
}

int vs_nn_relu_s8(const vs_nn_relu_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->act_min > p->act_max) {
        return VS_ERR_ARG;
    }
    for (uint32_t i = 0; i < p->size; ++i) {
        const int32_t v =
            p->output_zero_point + vs_nn_requantize((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift);
        output[i] = (int8_t)clamp32(v, p->act_min, p->act_max);
    }
    return VS_OK;
}

int vs_nn_logistic_s8(const vs_nn_lut_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->table == NULL) {
        return VS_ERR_ARG;
    }
    for (uint32_t i = 0; i < p->size; ++i) {
        output[i] = p->table[(uint8_t)input[i]];
    }
    return VS_OK;
}

/* Round half away from zero, as TfLiteRound (std::round), for |x| <= 1000: int32 conversions only, which a
 * Cortex-M4F does in hardware (an int64 one would call the soft-float library). */
int8_t vs_nn_quantize_f32_one(float value, float scale, int32_t zero_point)
{
    float v = value / scale; /* TFLite divides too (AffineQuantize): a reciprocal multiply would round differently */
    /* Clamp in float first: NaN and huge values must not reach the int conversion (undefined in C). */
    v = v != v ? 0.0f : v;
    v = v < -1000.0f ? -1000.0f : (v > 1000.0f ? 1000.0f : v);
    /* Round half away from zero: truncate, then step by the exact remainder (|v| <= 1000, so v - r is exact). */
    int32_t r = (int32_t)v;
    const float frac = v - (float)r;
    r += frac >= 0.5f ? 1 : (frac <= -0.5f ? -1 : 0);
    return (int8_t)clamp32(r + zero_point, -128, 127);
}

int vs_nn_quantize_f32_s8(const vs_nn_affine_params_t *p, const float *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL || !(p->scale > 0.0f)) {
        return VS_ERR_ARG;
    }
    for (uint32_t i = 0; i < p->size; ++i) {
        output[i] = vs_nn_quantize_f32_one(input[i], p->scale, p->zero_point);
    }
    return VS_OK;
}

int vs_nn_dequantize_s8_f32(const vs_nn_affine_params_t *p, const int8_t *input, float *output)
{
    if (p == NULL || input == NULL || output == NULL) {
        return VS_ERR_ARG;
    }
    for (uint32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
    return VS_OK;
}

int vs_nn_requantize_s8(const vs_nn_requant_params_t *p, const int8_t *input, int8_t *output)
{
    if (p == NULL || input == NULL || output == NULL) {
        return VS_ERR_ARG;
    }
    for (uint32_t i = 0; i < p->size; ++i) {
        const int32_t v = vs_nn_requantize((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift) +
                          p->output_zero_point;
        output[i] = (int8_t)clamp32(v, -128, 127);
    }
    return VS_OK;
}

int vs_nn_copy(const vs_nn_copy_params_t *p, const void *input, void *output)
{
    if (p == NULL || input == NULL || output == NULL) {
        return VS_ERR_ARG;
    }
    if (input != output) {
        memmove(output, input, p->bytes);
    }
    return VS_OK;
}
