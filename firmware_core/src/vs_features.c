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
#define VS_FEATURES_MAGIC 0x76734665u /* "vsFe" */

#if VS_FEAT_N_BINS != HALF + 1
#error "vs_feature_config.h: VS_FEAT_N_BINS must be frame_length / 2 + 1"
#endif

/* Position of the statistics in the output vector (logmel, mfcc and band_rms come first). */
#define STATS_OFFSET \
    (VS_FEAT_HAS_LOGMEL * VS_FEAT_N_MELS + VS_FEAT_HAS_MFCC * VS_FEAT_N_MFCC + VS_FEAT_HAS_BAND_RMS * VS_FEAT_N_BANDS)

static const uint8_t hash_bytes[VS_FEATURE_HASH_LEN] = VS_FEATURE_HASH_BYTES;

int vs_features_init(vs_features_t *inst)
{
    if (inst == NULL) {
        return VS_ERR_ARG;
    }
    inst->magic = 0;
    /* The length-specific init references only this length's twiddle and bit-reversal tables, so
     * --gc-sections drops the tables of every other length from flash. */
    if (VS_FEAT_RFFT_INIT(&inst->rfft) != ARM_MATH_SUCCESS) {
        return VS_ERR_CONFIG;
    }
    inst->magic = VS_FEATURES_MAGIC;
    return VS_OK;
}

#if VS_FEAT_HAS_STATS
/* mean, rms, peak, peak_to_peak, crest_factor, skewness, kurtosis of one frame (features.md item 7). */
static void frame_stats(const float *x, float mean, float *o)
{
    /* Four partial sums per moment: shorter float32 addition chains (closer to the float64 reference) and
     * independent dependency chains for the FPU pipeline. */
    float s2[4] = {0}, s3[4] = {0}, s4[4] = {0}, q[4] = {0};
    float hi = -INFINITY, lo = INFINITY;
    for (int i = 0; i < N; i += 4) {
        for (int j = 0; j < 4; j++) {
            const float c = x[i + j] - mean;
#if VS_FEAT_REMOVE_DC
            const float xa = c;
#else
            const float xa = x[i + j];
#endif
            const float c2 = c * c;
            s2[j] += c2;
            s3[j] += c2 * c;
            s4[j] += c2 * c2;
            q[j] += xa * xa;
            hi = xa > hi ? xa : hi;
            lo = xa < lo ? xa : lo;
        }
    }
    const float m2 = ((s2[0] + s2[1]) + (s2[2] + s2[3])) / (float)N;
    const float m3 = ((s3[0] + s3[1]) + (s3[2] + s3[3])) / (float)N;
    const float m4 = ((s4[0] + s4[1]) + (s4[2] + s4[3])) / (float)N;
    const float rms = sqrtf(((q[0] + q[1]) + (q[2] + q[3])) / (float)N);
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
    for (int k = VS_FEAT_VEL_K0; k < VS_FEAT_VEL_K1; k++) {
        const float pk = pw[k];
        if (pk > 0.0f) {
            const float pm = k > 0 ? pw[k - 1] : 0.0f;
            const float pp = k + 1 < VS_FEAT_N_BINS ? pw[k + 1] : 0.0f;
            const float fm = (float)(k - 1) * VS_FEAT_BIN_HZ;
            const float fk = (float)k * VS_FEAT_BIN_HZ;
            const float fp = (float)(k + 1) * VS_FEAT_BIN_HZ;
            const float fl = (pm * fm + pk * fk + pp * fp) / (pm + pk + pp);
            acc += pk / (fl * fl) * vs_feat_vel_weights[k - VS_FEAT_VEL_K0];
        }
    }
    return sqrtf(acc);
}
#endif

static float bin_scale(int k)
{
    return (k == 0 || k == HALF) ? VS_FEAT_SCALE_EDGE : VS_FEAT_SCALE_INNER;
}

int vs_features_compute_f32(vs_features_t *inst, const float *frame, float *scratch, float *out)
{
    if (inst == NULL || frame == NULL || scratch == NULL || out == NULL) {
        return VS_ERR_ARG;
    }
    /* frame may be scratch itself, but must not start inside it elsewhere (it would be overwritten early). */
    {
        /* Compared as integers: relational operators on pointers into different arrays are undefined. */
        const uintptr_t f = (uintptr_t)frame, s0 = (uintptr_t)scratch;
        if (f != s0 && f + N * sizeof(float) > s0 && f < s0 + VS_FEATURES_SCRATCH_LEN * sizeof(float)) {
            return VS_ERR_ARG;
        }
    }
    if (inst->magic != VS_FEATURES_MAGIC) {
        return VS_ERR_STATE;
    }
    float *a = scratch;        /* N: windowed frame (destroyed by the FFT), then |X[k]| for k = 0..N/2 */
    float *spec = scratch + N; /* N: packed spectrum, then P[k] = |X[k]|^2 for k = 0..N/2 in place */
    float *o = out;
    float mean;
    (void)bin_scale;

    {
        float s[4] = {0};
        for (int i = 0; i < N; i += 4) {
            s[0] += frame[i];
            s[1] += frame[i + 1];
            s[2] += frame[i + 2];
            s[3] += frame[i + 3];
        }
        mean = ((s[0] + s[1]) + (s[2] + s[3])) / (float)N;
        /* One correction pass: the residuals are small, so their float32 sum is accurate and the corrected
         * mean almost always rounds to the float64-accumulated mean of the reference. That matters when a
         * small vibration rides on a large offset (1 mg on 1 g of gravity): a 1-ulp difference in the mean
         * shifts every DC-removed sample, which moves peak, crest factor and skewness by ulp/amplitude. */
        float r[4] = {0};
        for (int i = 0; i < N; i += 4) {
            r[0] += frame[i] - mean;
            r[1] += frame[i + 1] - mean;
            r[2] += frame[i + 2] - mean;
            r[3] += frame[i + 3] - mean;
        }
        mean += ((r[0] + r[1]) + (r[2] + r[3])) / (float)N;
    }

#if VS_FEAT_HAS_STATS
    /* Statistics first, while frame is intact: the caller may pass frame == scratch (in place). */
    frame_stats(frame, mean, out + STATS_OFFSET);
#endif

    /* Spectrum of (x - window-weighted mean) * w: the weighted mean makes X[0] exactly the DC-free value.
     * Element i of a is written after frame[i] was read, so frame == a works. */
    {
        float wmean = 0.0f;
#if VS_FEAT_REMOVE_DC
        arm_dot_prod_f32(frame, vs_feat_window, N, &wmean);
        wmean /= VS_FEAT_WINDOW_SUM;
        {
            /* Correction pass, as for the plain mean: leftover DC leaks into bin 1, where velocity
             * integration multiplies it by 1/f^2, so a large offset must cancel to well below one ulp. */
            float r = 0.0f;
            for (int i = 0; i < N; i++) {
                r += (frame[i] - wmean) * vs_feat_window[i];
            }
            wmean += r / VS_FEAT_WINDOW_SUM;
        }
#endif
        for (int i = 0; i < N; i++) {
            a[i] = (frame[i] - wmean) * vs_feat_window[i];
        }
        arm_rfft_fast_f32(&inst->rfft, a, spec, 0);
    }
    const float nyq = spec[1]; /* CMSIS packs Re X[N/2] into slot 1 */
#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
    a[0] = fabsf(spec[0]);
    arm_cmplx_mag_f32(spec + 2, a + 1, HALF - 1);
    a[HALF] = fabsf(nyq);
#endif
    {
        const float p0 = spec[0] * spec[0];
        /* In place: bin k is written to slot k after slots 2k, 2k+1 were read, and k < 2k for k >= 1. */
        for (int k = 1; k < HALF; k++) {
            const float re = spec[2 * k], im = spec[2 * k + 1];
            spec[k] = re * re + im * im;
        }
        spec[0] = p0;
        spec[HALF] = nyq * nyq;
    }
    const float *pw = spec;

#if VS_FEAT_HAS_LOGMEL || VS_FEAT_HAS_MFCC
    {
        /* Without logmel in the output, the log-mel energies go to the free tail of a (N/2 - 1 >= n_mels). */
        float *lm = VS_FEAT_HAS_LOGMEL ? o : a + HALF + 1;
        const float *coefs = vs_feat_mel_coefs;
        for (int m = 0; m < VS_FEAT_N_MELS; m++) {
            arm_dot_prod_f32(a + vs_feat_mel_pos[m], coefs, vs_feat_mel_len[m], &lm[m]);
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
    (void)mean;
    return VS_OK;
}

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
