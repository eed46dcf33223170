/*
 * vs_features_q31.c - the fixed-point feature pipeline (FeatureParams.arithmetic = "q31") for cores without an
 * FPU. docs/features.md ("Fixed point") defines it; vibsentry.dsp.fixed is its NumPy model and computes the same
 * integers in the same order, so the float32 outputs are bit-identical (tests/firmware/test_c_features_q31.py).
 *
 * Every per-sample and per-bin step is integer: on RV32IMC a float operation is a libgcc soft-float call of
 * tens of instructions, an integer one is one to four instructions (64-bit products are MUL + MULH). Only the
 * ~20 operations that turn the per-frame sums into the 40 outputs are float.
 *
 * Formats: q[i] = trunc(x[i] 2^s) with |q| < 2^28 (s per frame, from the largest float exponent); the window is
 * Q31 (Q15 for the weighted mean); arm_cfft_q31 of N/2 points returns DFT / (N/2) (CMSIS-DSP's documented
 * down-scaling by 2 per radix-2 stage); twiddles Q31; mel weights Q15; log2 Q24 through a 257-entry Q30 table.
 */
#define VS_FEATURE_CONFIG_Q31_TABLES
#include "vs/vs_features.h"

#if VS_FEAT_ARITH_Q31
#include <math.h>
#include <string.h>

#include "arm_math.h"

#define N VS_FEAT_FRAME_LENGTH
#define HALF (VS_FEAT_FRAME_LENGTH / 2)
#define LOG2_HALF (VS_FEAT_LOG2_N - 1)

#if VS_FEAT_HAS_MFCC || VS_FEAT_HAS_BAND_RMS || VS_FEAT_HAS_SPECTRAL_SHAPE
#error "arithmetic q31 computes logmel, stats and velocity_rms only (FeatureParams refuses the others)"
#endif

static int bitlen64(uint64_t v)
{
    return v == 0u ? 0 : 64 - __builtin_clzll(v);
}

/* 2^e as float32 for -126 <= e <= 127, from its bits (no ldexpf: that is a libm call with float work). */
static float pow2f(int e)
{
    const uint32_t b = (uint32_t)(e + 127) << 23;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* sqrt(v) for v < 2^62 with 16 significant bits: v normalised by an even shift to m in [2^30, 2^32), a seed
 * from m's top 4 bits (relative error < 1/16), two Newton steps with a 32-bit division (error < 2^-15). */
static uint32_t sqrt16(uint64_t v)
{
    if (v == 0u) {
        return 0u;
    }
    const int sh = (64 - bitlen64(v)) & ~1;
    const uint32_t m = (uint32_t)((v << sh) >> 32);
    uint32_t y = vs_q31_sqrt_seed[m >> 28];
    y = (y + m / y) >> 1;
    y = (y + m / y) >> 1;
    const int e = 16 - sh / 2;
    return e >= 0 ? y << e : y >> -e;
}

/* log2(acc) in Q24 for acc > 0 (the floor for 0): exponent from the bit length, mantissa bits 30..23 index the
 * Q30 table, bits 22..0 interpolate linearly (error < 3e-6). */
static int64_t log2_q24(uint64_t acc)
{
    if (acc == 0u) {
        return VS_FEAT_Q31_LOG_FLOOR_Q24;
    }
    const int e = bitlen64(acc) - 1;
    const uint32_t u = (uint32_t)((acc << (63 - e)) >> 32) - 0x80000000u;
    const uint32_t idx = u >> 23, r = u & 0x7fffffu;
    const int64_t lo = (int64_t)vs_q31_log2[idx];
    const int64_t frac = lo + ((((int64_t)vs_q31_log2[idx + 1u] - lo) * (int64_t)r) >> 23);
    return (int64_t)e * (1 << VS_FEAT_Q31_LOG2_FRAC_BITS) + ((frac + 32) >> 6);
}

/* X[k] of the real FFT from A = Z[k] and B = conj Z[N/2 - k] of the half-length complex FFT:
 * X = (A + B + (-i W^k)(A - B)) / 2 with W^k = cos - i sin (2 pi k / N) in Q31. |Z| < 2^29.5, so every
 * product fits 62 bits and X fits int32. */
static void split_bin(int k, int32_t ar, int32_t ai, int32_t br, int32_t bi, int32_t *xr, int32_t *xi)
{
    const int64_t er = (int64_t)ar + br, ei = (int64_t)ai + bi;
    const int64_t orr = (int64_t)ar - br, oi = (int64_t)ai - bi;
    const int64_t c = vs_q31_cos[k], sn = vs_q31_sin[k];
    const int64_t rot_r = (oi * c - orr * sn) >> 31;
    const int64_t rot_i = (-(orr * c) - oi * sn) >> 31;
    *xr = (int32_t)((er + rot_r) >> 1);
    *xi = (int32_t)((ei + rot_i) >> 1);
}

/* The CMSIS-packed half spectrum in place: slot 0 = Re X[0], slot 1 = Re X[N/2], then Re, Im X[k]. Bins k and
 * N/2 - k read the same two Z values, so each pair is computed before either is stored. */
static void real_split(int32_t *z)
{
    int32_t x0r, x0i, xmr, xmi;
    split_bin(0, z[0], z[1], z[0], -z[1], &x0r, &x0i);
    split_bin(HALF, z[0], z[1], z[0], -z[1], &xmr, &xmi);
    z[0] = x0r; /* Im X[0] = Im X[N/2] = 0 exactly (sin 0 = sin pi = 0 in Q31) */
    z[1] = xmr;
    for (int k = 1; k < HALF / 2; k++) {
        const int j = HALF - k;
        const int32_t ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * j], bi = z[2 * j + 1];
        split_bin(k, ar, ai, br, -bi, &z[2 * k], &z[2 * k + 1]);
        split_bin(j, br, bi, ar, -ai, &z[2 * j], &z[2 * j + 1]);
    }
    {
        const int k = HALF / 2;
        const int32_t ar = z[2 * k], ai = z[2 * k + 1];
        split_bin(k, ar, ai, ar, -ai, &z[2 * k], &z[2 * k + 1]);
    }
}

/* |X[k]|^2 exactly (< 2^61) from the packed spectrum. */
static uint64_t power(const int32_t *x, int k)
{
    if (k == 0 || k == HALF) {
        const int64_t r = x[k == 0 ? 0 : 1];
        return (uint64_t)(r * r);
    }
    const int64_t r = x[2 * k], i = x[2 * k + 1];
    return (uint64_t)(r * r) + (uint64_t)(i * i);
}

#if VS_FEAT_HAS_VELOCITY_RMS
#if VS_FEAT_VEL_K0 < 1
#error "velocity band must start above 0 Hz (FeatureParams guarantees 0 < low), so bin k - 1 exists"
#endif
/* Velocity RMS (features.md item 9) in integers: powers shifted by u to 31 bits over the band +- 1 bin, the
 * local frequency g = k + (p[k+1] - p[k-1]) / (p[k-1] + p[k] + p[k+1]) in Q16 bins, p[k] 2^32 / g^2 times the
 * Q16 weight (weight / bin_hz^2 / VEL_MAX) summed in 64 bits; one sqrtf at the end. s: the frame's shift. */
static float velocity_q31(const int32_t *x, int s)
{
    const int k_lo = VS_FEAT_VEL_K0 - 1;
    const int k_hi = VS_FEAT_VEL_K1 + 1 < VS_FEAT_N_BINS ? VS_FEAT_VEL_K1 + 1 : VS_FEAT_N_BINS;
    uint64_t pmax = 0u;
    for (int k = k_lo; k < k_hi; k++) {
        const uint64_t p = power(x, k);
        pmax = p > pmax ? p : pmax;
    }
    const int u = bitlen64(pmax) > 31 ? bitlen64(pmax) - 31 : 0;
    int64_t acc = 0;
    for (int k = VS_FEAT_VEL_K0; k < VS_FEAT_VEL_K1; k++) {
        const int64_t pk = (int64_t)(power(x, k) >> u);
        if (pk == 0) {
            continue;
        }
        const int64_t pm = (int64_t)(power(x, k - 1) >> u);
        const int64_t pp = k + 1 < k_hi ? (int64_t)(power(x, k + 1) >> u) : 0;
        const int64_t d16 = (pp - pm) * 65536 / (pm + pk + pp);
        const int64_t g = (int64_t)k * 65536 + d16;
        const uint64_t g2 = (uint64_t)(g * g);
        const int64_t term = (int64_t)(((uint64_t)pk << 32) / g2);
        acc += term * (int64_t)vs_q31_vel_weights[k - VS_FEAT_VEL_K0];
    }
    /* |X_true|^2 = p 2^u (N/2)^2 2^-2s, (k + d)^2 = g^2 2^-32, weight = q16 VEL_MAX 2^-16. */
    const int e = u + 2 * LOG2_HALF - 2 * s - 16;
    const int half_e = e >> 1; /* floor */
    return sqrtf((float)acc * VS_FEAT_Q31_VEL_MAX * pow2f(e - 2 * half_e)) * pow2f(half_e);
}
#endif

int vs_features_compute_q31(vs_features_t *inst, const float *frame, float *scratch, float *out)
{
    const int rc = vs_features_check_call(inst, frame, scratch, out);
    if (rc != VS_OK) {
        return rc;
    }
    /* scratch as int32: q[0..N) the frame, then its packed spectrum; mag[0..N/2] the magnitudes. The floats of
     * frame are read through memcpy (bit patterns) before the int32 of the same index is stored. */
    int32_t *q = (int32_t *)(void *)scratch;
    uint32_t *mag = (uint32_t *)(void *)(scratch + N);

    /* Block scaling from the largest |x| (float bits compare as integers for non-NaN values). */
    uint32_t amax = 0u;
    for (int i = 0; i < N; i++) {
        uint32_t b;
        memcpy(&b, &frame[i], sizeof b);
        b &= 0x7fffffffu;
        amax = b > amax ? b : amax;
    }
    if (amax >= 0x7f800000u) {
        for (int i = 0; i < VS_FEAT_N_FEATURES; i++) {
            out[i] = NAN;
        }
        return VS_OK;
    }
    int emax = (int)(amax >> 23) - 127;
    emax = emax < VS_FEAT_Q31_MIN_EXP ? VS_FEAT_Q31_MIN_EXP : emax;
    const int s = VS_FEAT_Q31_HEADROOM_BITS - 1 - emax;

    /* q = trunc(x 2^s) from the float bits (exact: |q| < 2^28 keeps every mantissa bit that is >= 2^-s). */
    int64_t sum1 = 0, sxw = 0;
    int32_t hi = INT32_MIN, lo = INT32_MAX;
    /* vs_q31_window holds w[0..HALF] only (periodic window: w[i] == w[N - i], checked by the generator): both
     * passes read it upwards over the first half of the frame (dw = 1) and back down from w[HALF] over the
     * second (dw = -1). */
    const int32_t *w = vs_q31_window;
    int i = 0;
    for (int dw = 1; dw >= -1; dw -= 2) {
        for (const int end = i + HALF; i < end; i++, w += dw) {
            uint32_t b;
            memcpy(&b, &frame[i], sizeof b);
            const int field = (int)((b >> 23) & 0xffu);
            int32_t v = 0;
            if (field != 0) {
                const uint32_t mant = (b & 0x7fffffu) | 0x800000u;
                const int sh = field - 150 + s;
                const uint32_t m = sh >= 0 ? mant << sh : (sh > -24 ? mant >> -sh : 0u);
                v = (b >> 31) != 0u ? -(int32_t)m : (int32_t)m;
            }
            sum1 += v;
            sxw += (int64_t)v * (*w >> 16);
            hi = v > hi ? v : hi;
            lo = v < lo ? v : lo;
            q[i] = v;
        }
    }
    const int32_t mean = (int32_t)((sum1 + N / 2) >> VS_FEAT_LOG2_N);
#if VS_FEAT_REMOVE_DC
    const int64_t wmean = sxw / VS_FEAT_Q31_WINDOW_Q15_SUM;
#else
    const int64_t wmean = 0;
#endif
    const int64_t dev = (int64_t)hi - mean > (int64_t)mean - lo ? (int64_t)hi - mean : (int64_t)mean - lo;
    const int t = bitlen64((uint64_t)dev) > VS_FEAT_Q31_STAT_BITS ? bitlen64((uint64_t)dev) - VS_FEAT_Q31_STAT_BITS
                                                                   : 0;
    const int32_t round_t = (int32_t)((1 << t) >> 1);

    /* Moment sums of the centred frame rounded to STAT_BITS bits, and the windowed frame in place. */
    int64_t s2 = 0, s3 = 0, s4 = 0;
    w = vs_q31_window;
    i = 0;
    for (int dw = 1; dw >= -1; dw -= 2) {
        for (const int end = i + HALF; i < end; i++, w += dw) {
            const int32_t v = q[i];
            const int32_t cr = (v - mean + round_t) >> t;
            const int32_t c2 = cr * cr;
            s2 += c2;
            s3 += (int64_t)c2 * cr;
            s4 += (int64_t)(((uint64_t)c2 * (uint64_t)c2) >> 4);
            q[i] = (int32_t)((((int64_t)v - wmean) * *w) >> 31);
        }
    }
    (void)s2;
    (void)s3;
    (void)s4;

    arm_cfft_q31(&inst->cfft, q, 0, 1);
    real_split(q);
    float *o = out;

#if VS_FEAT_HAS_LOGMEL
    {
        for (int k = 0; k <= HALF; k++) {
            mag[k] = sqrt16(power(q, k));
        }
        const uint16_t *coefs = vs_q31_mel_coefs;
        const int64_t shift = (int64_t)(LOG2_HALF - 15 - s) * (1 << VS_FEAT_Q31_LOG2_FRAC_BITS);
        for (int m = 0; m < VS_FEAT_N_MELS; m++) {
            const uint32_t *a = mag + vs_q31_mel_pos[m];
            uint64_t acc = 0u;
            for (int j = 0; j < vs_q31_mel_len[m]; j++) {
                acc += (uint64_t)a[j] * coefs[j];
            }
            coefs += vs_q31_mel_len[m];
            int64_t l2 = log2_q24(acc) + shift;
            l2 = l2 > VS_FEAT_Q31_LOG_FLOOR_Q24 ? l2 : VS_FEAT_Q31_LOG_FLOOR_Q24;
            *o++ = (float)l2 * VS_FEAT_Q31_LN2;
        }
    }
#endif

#if VS_FEAT_HAS_STATS
    {
        const float p2s = pow2f(-s);
        const float mean_f = (float)sum1 * pow2f(-(s + VS_FEAT_LOG2_N));
        const float nf = (float)N;
        const float m2 = (float)s2 / nf;
        const float m3 = (float)s3 / nf;
        const float m4 = (float)s4 * 16.0f / nf;
        const float sd = sqrtf(m2) * pow2f(t - s);
#if VS_FEAT_REMOVE_DC
        const float rms = sd;
        const int64_t pk_i = (int64_t)hi - mean > (int64_t)mean - lo ? (int64_t)hi - mean : (int64_t)mean - lo;
#else
        const float rms = sqrtf(sd * sd + mean_f * mean_f);
        const int64_t pk_i = (int64_t)hi > -(int64_t)lo ? (int64_t)hi : -(int64_t)lo;
#endif
        const float peak = (float)pk_i * p2s;
        o[0] = mean_f;
        o[1] = rms;
        o[2] = peak;
        o[3] = (float)((int64_t)hi - lo) * p2s;
        o[4] = rms > 0.0f ? peak / rms : 0.0f;
        o[5] = m2 > 0.0f ? m3 / (m2 * sqrtf(m2)) : 0.0f;
        o[6] = m2 > 0.0f ? m4 / (m2 * m2) : 0.0f;
        o += 7;
    }
#endif

#if VS_FEAT_HAS_VELOCITY_RMS
    *o++ = velocity_q31(q, s);
#endif
    (void)o;
    (void)mag;
    return VS_OK;
}
#endif /* VS_FEAT_ARITH_Q31 */
