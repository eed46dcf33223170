/*
 * test_features.c - vs_features under AddressSanitizer + UndefinedBehaviorSanitizer: argument checks, the
 * documented buffer sizes (scratch of VS_FEATURES_SCRATCH_LEN floats is enough, in place or not), and known
 * answers for signals whose features are known in closed form. Python parity is tested in
 * tests/firmware/test_c_features.py; this binary proves the memory contract of the header.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_features.h"
#include "vs_test.h"

#define N VS_FEAT_FRAME_LENGTH
#define PI_D 3.14159265358979323846

static void test_arguments(void)
{
    vs_features_t f;
    float *frame = calloc(N, sizeof(float));
    float *scratch = calloc(VS_FEATURES_SCRATCH_LEN, sizeof(float));
    float out[VS_FEAT_N_FEATURES];
    VS_CHECK_EQ_INT(vs_features_init(NULL), VS_ERR_ARG);
    memset(&f, 0, sizeof f);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, frame, scratch, out), VS_ERR_STATE);
    VS_CHECK_EQ_INT(vs_features_init(&f), VS_OK);
    VS_CHECK_EQ_INT(vs_features_compute_f32(NULL, frame, scratch, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, NULL, scratch, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, frame, NULL, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, frame, scratch, NULL), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, scratch + 1, scratch, out), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, frame, scratch, out), VS_OK);
    VS_CHECK(strlen(vs_features_hash_hex()) == 64);
    VS_CHECK_EQ_INT(vs_features_count(), VS_FEAT_N_FEATURES);
    free(frame);
    free(scratch);
}

/* A zero frame: every mel energy is the log offset, every statistic and the velocity are 0. */
static void test_zero_frame(void)
{
    vs_features_t f;
    float *scratch = calloc(VS_FEATURES_SCRATCH_LEN, sizeof(float));
    float out[VS_FEAT_N_FEATURES];
    VS_CHECK_EQ_INT(vs_features_init(&f), VS_OK);
    /* In place: the frame is the start of scratch (exactly-sized heap blocks let ASan see any overrun). */
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, scratch, scratch, out), VS_OK);
    for (int i = 0; i < VS_FEAT_N_FEATURES; i++) {
        VS_CHECK(isfinite(out[i]));
    }
#if VS_FEAT_HAS_LOGMEL
    for (int m = 0; m < VS_FEAT_N_MELS; m++) {
        VS_CHECK_NEAR(out[m], log(1e-6), 1e-5);
    }
#endif
#if VS_FEAT_HAS_STATS
    for (int i = 0; i < 7; i++) {
        VS_CHECK_NEAR(out[VS_FEAT_STATS_OFFSET + i], 0.0, 0.0);
    }
#endif
#if VS_FEAT_HAS_VELOCITY_RMS
    VS_CHECK_NEAR(out[VS_FEAT_VELOCITY_INDEX], 0.0, 0.0);
#endif
    free(scratch);
}

/* A bin-centred sine of amplitude A g on a 1 g offset: RMS A/sqrt2, crest sqrt2, kurtosis 1.5, and velocity
 * RMS A * 9806.65 / (2 pi f) / sqrt2 mm/s. */
static void test_sine(void)
{
    vs_features_t f;
    float *frame = malloc(N * sizeof(float));
    float *scratch = malloc(VS_FEATURES_SCRATCH_LEN * sizeof(float));
    float out[VS_FEAT_N_FEATURES], out2[VS_FEAT_N_FEATURES];
    const double a = 0.25, bin = 10.0, fhz = bin * VS_FEAT_SAMPLE_RATE / N;
    for (int i = 0; i < N; i++) {
        frame[i] = (float)(1.0 + a * sin(2.0 * PI_D * bin * i / N));
    }
    VS_CHECK_EQ_INT(vs_features_init(&f), VS_OK);
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, frame, scratch, out), VS_OK);
#if VS_FEAT_HAS_STATS && VS_FEAT_REMOVE_DC
    const float *st = out + VS_FEAT_STATS_OFFSET;
    VS_CHECK_NEAR(st[0], 1.0, 1e-6);
    VS_CHECK_NEAR(st[1], a / sqrt(2.0), 1e-6);
    VS_CHECK_NEAR(st[2], a, 1e-5);
    VS_CHECK_NEAR(st[3], 2.0 * a, 1e-5);
    VS_CHECK_NEAR(st[4], sqrt(2.0), 1e-4);
    VS_CHECK_NEAR(st[5], 0.0, 1e-4);
    VS_CHECK_NEAR(st[6], 1.5, 1e-4);
#endif
#if VS_FEAT_HAS_VELOCITY_RMS
    if (fhz > 30.0 && fhz < 1000.0) {
        const double v = a * 9806.65 / (2.0 * PI_D * fhz) / sqrt(2.0);
        VS_CHECK_NEAR(out[VS_FEAT_VELOCITY_INDEX], v, 2e-3 * v);
    }
#endif
#if VS_FEAT_HAS_LOGMEL
    {
        /* The filter holding the tone is the largest log-mel value. */
        int best = 0;
        for (int m = 1; m < VS_FEAT_N_MELS; m++) {
            best = out[m] > out[best] ? m : best;
        }
        VS_CHECK(out[best] > log(1e-6) + 10.0);
    }
#endif
    /* In place gives the same bits as with a separate frame. */
    memcpy(scratch, frame, N * sizeof(float));
    VS_CHECK_EQ_INT(vs_features_compute_f32(&f, scratch, scratch, out2), VS_OK);
    VS_CHECK(memcmp(out, out2, sizeof out) == 0);
    free(frame);
    free(scratch);
}

int main(void)
{
    test_arguments();
    test_zero_frame();
    test_sine();
    VS_TEST_DONE();
}
