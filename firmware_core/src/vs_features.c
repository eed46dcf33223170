/*
 * vs_features.c - per-frame features on CMSIS-DSP; the definitions are docs/features.md, the reference is
 * vibsentry.dsp.features (same tables, generated into vs_feature_config.h, same operation order where the
 * float32 result depends on it).
 */
#define VS_FEATURE_CONFIG_TABLES
#include "vs/vs_features.h"

#include <math.h>

#include "arm_math.h"

#define N VS_FEAT_FRAME_LENGTH
#define HALF (VS_FEAT_FRAME_LENGTH / 2)


#if VS_FEAT_N_BINS != HALF + 1
#error "vs_feature_config.h: VS_FEAT_N_BINS must be frame_length / 2 + 1"
#endif

static const uint8_t hash_bytes[VS_FEATURE_HASH_LEN] = VS_FEATURE_HASH_BYTES;

int vs_features_init(vs_features_t *inst)
{
    if (inst == NULL) {
        return VS_ERR_ARG;
    }
    inst->magic = 0;
    /* The length-specific init references only this length's twiddle and bit-reversal tables, so
     * --gc-sections drops the tables of every other length from flash. */
#if VS_FEAT_ARITH_Q31
    if (VS_FEAT_CFFT_Q31_INIT(&inst->cfft) != ARM_MATH_SUCCESS) {
        return VS_ERR_CONFIG;
    }
#else
    if (VS_FEAT_RFFT_INIT(&inst->rfft) != ARM_MATH_SUCCESS) {
        return VS_ERR_CONFIG;
    }
#endif
    inst->magic = VS_FEATURES_MAGIC;
    return VS_OK;
}

int vs_features_check_call(const vs_features_t *inst, const float *frame, const float *scratch, const float *out)
{
    if (inst == NULL || frame == NULL || scratch == NULL || out == NULL) {
        return VS_ERR_ARG;
    }
    /* frame may be scratch itself, but must not start inside it elsewhere (it would be overwritten early).
     * Compared as integers: relational operators on pointers into different arrays are undefined. */
    const uintptr_t f = (uintptr_t)frame, s0 = (uintptr_t)scratch;
    if (f != s0 && f + N * sizeof(float) > s0 && f < s0 + VS_FEATURES_SCRATCH_LEN * sizeof(float)) {
        return VS_ERR_ARG;
    }
    return inst->magic == VS_FEATURES_MAGIC ? VS_OK : VS_ERR_STATE;
}

#if !VS_FEAT_ARITH_Q31
/* Sums of one pass over the frame, taken about a provisional mean m0 (shifted data): the deviations c are
 * small, so their float32 sums keep the precision that sums of raw samples lose on a large offset. */
typedef struct {
    float m0;                 /* provisional mean (of 16 evenly spaced samples) */
    float s1, s2, s3, s4;     /* sum of c, c^2, c^3, c^4 with c = x - m0 */
    float hi, lo;             /* max and min of c */
    float sw;                 /* sum of c * w (window), for the window-weighted mean */
} moments_t;

/* Running sums of frame_moments, two sets for even (a) and odd (b) samples. */
typedef struct {
    float q1a, q2a, q3a, q4a, swa;
    float q1b, q2b, q3b, q4b, swb;
    float hi, lo;
} moment_sums_t;

/* One even/odd sample pair, centred (ca, cb), with their window coefficients (wa, wb). Inlined into both loops of
 * frame_moments, where the sums stay in FPU registers. */
__attribute__((always_inline)) static inline void moment_pair(moment_sums_t *s, float ca, float cb, float wa,
                                                               float wb)
{
    const float ca2 = ca * ca, cb2 = cb * cb;
    s->q1a += ca;
    s->q1b += cb;
    s->q2a += ca2;
    s->q2b += cb2;
    s->q3a += ca2 * ca;
    s->q3b += cb2 * cb;
    s->q4a += ca2 * ca2;
    s->q4b += cb2 * cb2;
    s->swa += ca * wa;
    s->swb += cb * wb;
    /* Order the pair first: 3 comparisons per 2 samples instead of 4. */
    const int a_big = ca > cb;
    const float big = a_big ? ca : cb, small = a_big ? cb : ca;
    s->hi = big > s->hi ? big : s->hi;
    s->lo = small < s->lo ? small : s->lo;
}

static void frame_moments(const float *x, moments_t *m)
{
    /* Scalar accumulators, two sets for even and odd samples: -Os keeps them all in FPU registers (moment_pair
     * is always inlined, so its struct splits into registers; an accumulator array would live on the stack), and
     * the shorter float32 addition chains stay closer to the float64-accumulated reference. */
    /* m0 only has to be near the mean (within a few standard deviations) for the shifted sums to keep their
     * precision, so 16 evenly spaced samples stand in for a full pass over the frame. */
    float m0 = 0.0f;
    for (int i = 0; i < N; i += N / 16) {
        m0 += x[i];
    }
    m0 *= 1.0f / 16.0f;
    moment_sums_t s = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -INFINITY, INFINITY};
    /* vs_feat_window holds w[0..HALF] only (periodic window: w[i] == w[N - i]): the first half of the frame
     * reads it upwards, the second downwards from w[HALF] - the same products, summed in the same order as with
     * the full table. Two loops with constant offsets: one loop with a +-1 stride costs an add per load. */
    const float *w = vs_feat_window;
    for (int i = 0; i < HALF; i += 2) {
        moment_pair(&s, x[i] - m0, x[i + 1] - m0, w[i], w[i + 1]);
    }
    for (int i = HALF; i < N; i += 2) {
        const float *wr = w + (N - i);
        moment_pair(&s, x[i] - m0, x[i + 1] - m0, wr[0], wr[-1]);
    }
    m->m0 = m0;
    m->s1 = s.q1a + s.q1b;
    m->s2 = s.q2a + s.q2b;
    m->s3 = s.q3a + s.q3b;
    m->s4 = s.q4a + s.q4b;
    m->sw = s.swa + s.swb;
    m->hi = s.hi;
    m->lo = s.lo;
}

#if VS_FEAT_HAS_STATS
/* mean, rms, peak, peak_to_peak, crest_factor, skewness, kurtosis (features.md item 7) from the sums about
 * m0. The reference centres on the float32-rounded mean, xa = x - mean; with c = x - m0 that is xa = c - dl,
 * dl = mean - m0 (exact: both are floats this close), so the moments of xa follow from the sums of c by the
 * binomial expansion in dl. Using dl rather than the unrounded s1/N matters when a small vibration rides on
 * a large offset: half an ulp of the offset is then a visible fraction of the vibration. */
static void frame_stats(const moments_t *m, float *o)
{
    const float inv_n = 1.0f / (float)N;
    const float e1 = m->s1 * inv_n, e2 = m->s2 * inv_n, e3 = m->s3 * inv_n, e4 = m->s4 * inv_n;
    const float mean = m->m0 + e1;
    const float dl = mean - m->m0;
    const float dl2 = dl * dl;
    float m2 = e2 - 2.0f * dl * e1 + dl2;
    m2 = m2 > 0.0f ? m2 : 0.0f;
    const float m3 = e3 - 3.0f * dl * e2 + 3.0f * dl2 * e1 - dl2 * dl;
    const float m4 = e4 - 4.0f * dl * e3 + 6.0f * dl2 * e2 - 4.0f * dl2 * dl * e1 + dl2 * dl2;
#if VS_FEAT_REMOVE_DC
    /* xa = x - mean */
    const float hi = m->hi - dl, lo = m->lo - dl;
    const float rms = sqrtf(m2);
#else
    /* xa = x: the extremes shift back by m0 and the RMS includes the mean. */
    const float hi = m->hi + m->m0, lo = m->lo + m->m0;
    const float rms = sqrtf(m2 + mean * mean);
#endif
    const float peak = hi > -lo ? hi : -lo;
    o[0] = mean;
    o[1] = rms;
    o[2] = peak;
    o[3] = hi - lo;
    o[4] = rms > 0.0f ? peak / rms : 0.0f;
    o[5] = m2 > 0.0f ? m3 / (m2 * sqrtf(m2)) : 0.0f;
    o[6] = m2 > 0.0f ? m4 / (m2 * m2) : 0.0f;
}
#endif

#if VS_FEAT_HAS_VELOCITY_RMS
/* RMS velocity in mm/s over the velocity band, each bin integrated at its local power-weighted frequency
 * f'[k] over bins k-1..k+1 (features.md item 9). pw: power spectrum, VS_FEAT_N_BINS values. */
static float velocity_rms(const float *pw)
{
    float acc = 0.0f;
    /* kf = (float)k kept as a float counter (exact: k < 2^24), so there is no int-to-float conversion per
     * bin; the frequencies are the same products as (float)k * bin_hz. */
    float kf = (float)VS_FEAT_VEL_K0;
    for (int k = VS_FEAT_VEL_K0; k < VS_FEAT_VEL_K1; k++, kf += 1.0f) {
        const float pk = pw[k];
        if (pk > 0.0f) {
            /* VS_FEAT_VEL_K0 is 0 for some configurations, >= 1 for others (the default). */
            /* cppcheck-suppress knownConditionTrueFalse */
            const float pm = k > 0 ? pw[k - 1] : 0.0f;
            const float pp = k + 1 < VS_FEAT_N_BINS ? pw[k + 1] : 0.0f;
            const float fm = (kf - 1.0f) * VS_FEAT_BIN_HZ;
            const float fk = kf * VS_FEAT_BIN_HZ;
            const float fp = (kf + 1.0f) * VS_FEAT_BIN_HZ;
            const float fl = (pm * fm + pk * fk + pp * fp) / (pm + pk + pp);
            acc += pk / (fl * fl) * vs_feat_vel_weights[k - VS_FEAT_VEL_K0];
        }
    }
    return sqrtf(acc);
}
#endif

#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
#if defined(__ARM_FP) && (__ARM_FP & 4) && defined(__thumb2__) && defined(__GNUC__)
/* Mel filter dot product on a single-precision FPU (Cortex-M4F): four partial sums, eight values per two
 * VLDMIA, 1.75 instructions per coefficient against arm_dot_prod_f32's ~5 in its generic C build (CMSIS-DSP
 * is compiled with __GNUC_PYTHON__ here). s8-s15 are caller-saved under the AAPCS VFP variant. */
static float mel_dot(const float *a, const float *c, uint32_t n)
{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    uint32_t n4 = n / 4u;
    if (n4 != 0u) {
        __asm__ volatile("1:\n\t"
                         "vldmia %[a]!, {s8-s11}\n\t"
                         "vldmia %[c]!, {s12-s15}\n\t"
                         "vmla.f32 %[s0], s8, s12\n\t"
                         "vmla.f32 %[s1], s9, s13\n\t"
                         "vmla.f32 %[s2], s10, s14\n\t"
                         "vmla.f32 %[s3], s11, s15\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b\n\t"
                         : [a] "+r"(a), [c] "+r"(c), [n] "+r"(n4), [s0] "+t"(s0), [s1] "+t"(s1), [s2] "+t"(s2),
                           [s3] "+t"(s3)
                         :
                         : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
    }
    for (uint32_t i = 0; i < (n & 3u); i++) {
        s0 += a[i] * c[i];
    }
    return (s0 + s1) + (s2 + s3);
}

/* |X[k]| for n bins of a packed complex spectrum: per two bins one VLDMIA, 2 VMUL, 2 VFMA, 2 VSQRT, one VSTMIA
 * and the loop (10 instructions; arm_cmplx_mag_f32's generic C build takes ~23). */
static void cmplx_mag(const float *x, float *out, uint32_t n)
{
    uint32_t n2 = n / 2u;
    if (n2 != 0u) {
        __asm__ volatile("1:\n\t"
                         "vldmia %[x]!, {s8-s11}\n\t"
                         "vmul.f32 s12, s8, s8\n\t"
                         "vmul.f32 s13, s10, s10\n\t"
                         "vfma.f32 s12, s9, s9\n\t"
                         "vfma.f32 s13, s11, s11\n\t"
                         "vsqrt.f32 s12, s12\n\t"
                         "vsqrt.f32 s13, s13\n\t"
                         "vstmia %[o]!, {s12-s13}\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b\n\t"
                         : [x] "+r"(x), [o] "+r"(out), [n] "+r"(n2)
                         :
                         : "s8", "s9", "s10", "s11", "s12", "s13", "cc", "memory");
    }
    if ((n & 1u) != 0u) {
        *out = sqrtf(x[0] * x[0] + x[1] * x[1]);
    }
}
#else
static float mel_dot(const float *a, const float *c, uint32_t n)
{
    float acc;
    arm_dot_prod_f32(a, c, n, &acc);
    return acc;
}

static void cmplx_mag(const float *x, float *out, uint32_t n)
{
    arm_cmplx_mag_f32(x, out, n);
}
#endif
#endif

static float bin_scale(int k)
{
    return (k == 0 || k == HALF) ? VS_FEAT_SCALE_EDGE : VS_FEAT_SCALE_INNER;
}

int vs_features_compute_f32(vs_features_t *inst, const float *frame, float *scratch, float *out)
{
    const int rc = vs_features_check_call(inst, frame, scratch, out);
    if (rc != VS_OK) {
        return rc;
    }
    float *a = scratch;        /* N: windowed frame (destroyed by the FFT), then |X[k]| for k = 0..N/2 */
    float *spec = scratch + N; /* N: packed spectrum, then P[k] = |X[k]|^2 for k = 0..N/2 in place */
    float *o = out;
    moments_t mom;
    (void)bin_scale;

    /* One pass for every statistic and the window-weighted mean, while frame is intact (the caller may pass
     * frame == scratch: in place). */
    frame_moments(frame, &mom);
#if VS_FEAT_HAS_STATS
    frame_stats(&mom, out + VS_FEAT_STATS_OFFSET);
#endif

    /* Spectrum of (x - window-weighted mean) * w: the weighted mean makes X[0] the DC-free value. It is taken
     * about m0 too (sum x w / W = m0 + sum c w / W, as W = sum w): leftover DC leaks into bin 1, where velocity
     * integration multiplies it by 1/f^2, so a large offset must cancel to well below one ulp. Element i of a
     * is written after frame[i] was read, so frame == a works. */
    {
#if VS_FEAT_REMOVE_DC
        const float wmean = mom.m0 + mom.sw / VS_FEAT_WINDOW_SUM;
#else
        const float wmean = 0.0f;
#endif
        /* One pass, unrolled by 4 by hand (-Os does not unroll, and two CMSIS passes - arm_offset_f32 then
         * arm_mult_f32 - cost twice the loads and stores). Each element is read before it is written. */
        const float *w = vs_feat_window;
        for (int i = 0; i < HALF; i += 4) {
            const float x0 = frame[i], x1 = frame[i + 1], x2 = frame[i + 2], x3 = frame[i + 3];
            a[i] = (x0 - wmean) * w[i];
            a[i + 1] = (x1 - wmean) * w[i + 1];
            a[i + 2] = (x2 - wmean) * w[i + 2];
            a[i + 3] = (x3 - wmean) * w[i + 3];
        }
        /* Second half: w[i] = vs_feat_window[N - i] (the table stops at w[HALF]). A loop of its own with
         * constant offsets, as a shared loop with a +-1 stride costs an address add per load. */
        for (int i = HALF; i < N; i += 4) {
            const float *wr = w + (N - i);
            const float x0 = frame[i], x1 = frame[i + 1], x2 = frame[i + 2], x3 = frame[i + 3];
            a[i] = (x0 - wmean) * wr[0];
            a[i + 1] = (x1 - wmean) * wr[-1];
            a[i + 2] = (x2 - wmean) * wr[-2];
            a[i + 3] = (x3 - wmean) * wr[-3];
        }
        arm_rfft_fast_f32(&inst->rfft, a, spec, 0);
    }
    const float nyq = spec[1]; /* CMSIS packs Re X[N/2] into slot 1 */
#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
    a[0] = fabsf(spec[0]);
    cmplx_mag(spec + 2, a + 1, HALF - 1);
    a[HALF] = fabsf(nyq);
#endif
    {
        /* |X[k]|^2 only over the bins a configured group reads: all of them for band_rms and spectral_shape,
         * the velocity band and one neighbour each side otherwise (the default: 87 of 513 bins). */
#if VS_FEAT_HAS_BAND_RMS || VS_FEAT_HAS_SPECTRAL_SHAPE || !VS_FEAT_HAS_VELOCITY_RMS
        const int k_lo = 0, k_hi = HALF;
#else
#if VS_FEAT_VEL_K0 > 0
        const int k_lo = VS_FEAT_VEL_K0 - 1;
#else
        const int k_lo = 0;
#endif
#if VS_FEAT_VEL_K1 < HALF
        const int k_hi = VS_FEAT_VEL_K1;
#else
        const int k_hi = HALF;
#endif
#endif
#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
        /* From the magnitudes just computed: one multiply per bin (within an ulp of re^2 + im^2). */
        for (int k = k_lo; k <= k_hi; k++) {
            spec[k] = a[k] * a[k];
        }
#else
        const float p0 = spec[0] * spec[0];
        /* In place, in increasing k: bin k goes to slot k after slots 2k, 2k+1 were read (k < 2k for k >= 1),
         * and slot k is never read again. */
        for (int k = k_lo > 1 ? k_lo : 1; k <= k_hi && k < HALF; k++) {
            const float re = spec[2 * k], im = spec[2 * k + 1];
            spec[k] = re * re + im * im;
        }
        spec[0] = p0;
        spec[HALF] = nyq * nyq;
#endif
    }
    const float *pw = spec;

#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
    {
        /* Without logmel in the output, the log-mel energies go to the free tail of a (N/2 - 1 >= n_mels). */
        float *lm = VS_FEAT_HAS_LOGMEL ? o : a + HALF + 1;
        const float *coefs = vs_feat_mel_coefs;
        for (int m = 0; m < VS_FEAT_N_MELS; m++) {
            lm[m] = mel_dot(a + vs_feat_mel_pos[m], coefs, vs_feat_mel_len[m]);
            coefs += vs_feat_mel_len[m];
        }
        /* ln(E + 1e-6), the arm_mfcc_f32 convention. */
        arm_offset_f32(lm, 1.0e-6f, lm, VS_FEAT_N_MELS);
        arm_vlog_f32(lm, lm, VS_FEAT_N_MELS);
#if VS_FEAT_HAS_LOGMEL
        o += VS_FEAT_N_MELS;
#endif
#if VS_FEAT_HAS_MFCC
        {
            arm_matrix_instance_f32 dct;
            dct.numRows = VS_FEAT_N_MFCC;
            dct.numCols = VS_FEAT_N_MELS;
            dct.pData = (float32_t *)(uintptr_t)vs_feat_dct; /* CMSIS takes non-const but only reads it */
            arm_mat_vec_mult_f32(&dct, lm, o);
            o += VS_FEAT_N_MFCC;
        }
#endif
    }
#endif

#if VS_FEAT_HAS_BAND_RMS
    for (int b = 0; b < VS_FEAT_N_BANDS; b++) {
        float acc = 0.0f;
        for (int k = vs_feat_band_start[b]; k < vs_feat_band_stop[b]; k++) {
            acc += pw[k] * bin_scale(k);
        }
        *o++ = sqrtf(acc);
    }
#endif

#if VS_FEAT_HAS_STATS
    o += 7; /* computed before the spectrum, see above */
#endif

#if VS_FEAT_HAS_SPECTRAL_SHAPE
    {
        float total = 0.0f, fsum = 0.0f;
        for (int k = 0; k <= HALF; k++) {
            total += pw[k];
            fsum += pw[k] * ((float)k * VS_FEAT_BIN_HZ);
        }
        float centroid = 0.0f, spread = 0.0f;
        if (total > 0.0f) {
            centroid = fsum / total;
            /* Two-pass spread: E[(f - c)^2] instead of E[f^2] - c^2, which cancels badly in float32 when the
             * spread is small next to the centroid. */
            float v = 0.0f;
            for (int k = 0; k <= HALF; k++) {
                const float d = (float)k * VS_FEAT_BIN_HZ - centroid;
                v += pw[k] * d * d;
            }
            spread = sqrtf(v / total);
        }
        *o++ = centroid;
        *o++ = spread;
    }
#endif

#if VS_FEAT_HAS_VELOCITY_RMS
    *o++ = velocity_rms(pw);
#endif
    (void)o;
    return VS_OK;
}
#else
/* q31 builds: the node calls this entry point unchanged and gets the integer pipeline (vs_features_q31.c). */
int vs_features_compute_f32(vs_features_t *inst, const float *frame, float *scratch, float *out)
{
    return vs_features_compute_q31(inst, frame, scratch, out);
}
#endif

const uint8_t *vs_features_hash(void)
{
    return hash_bytes;
}

const char *vs_features_hash_hex(void)
{
    return VS_FEATURE_HASH_HEX;
}

size_t vs_features_instance_size(void)
{
    return sizeof(vs_features_t);
}

int vs_features_frame_length(void)
{
    return N;
}

int vs_features_scratch_len(void)
{
    return VS_FEATURES_SCRATCH_LEN;
}

int vs_features_count(void)
{
    return VS_FEAT_N_FEATURES;
}
