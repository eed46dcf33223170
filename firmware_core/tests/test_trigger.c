/* test_trigger.c - vs_trigger unit tests: each reason, hold-off, warm-up, wake latching, frame order. */
#include <string.h>

#include "vs/vs_trigger.h"
#include "vs_test.h"

#define FL 8

static float quiet[4] = {1.0f, 1.0f, 1.0f, 1.0f}; /* pure offset: level 0 */
static float loud[4] = {1.0f, -1.0f, 1.0f, -1.0f};

static void test_init_validation(void)
{
    vs_trigger_t t;
    float buf[FL];
    vs_trigger_config_t c = {0.5f, 0.0f, 0u, 0u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, NULL), VS_ERR_ARG);
    c.frame_length = 0;
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_ERR_ARG);
    c.frame_length = FL;
    c.rms_threshold = -1.0f;
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_ERR_ARG);
    c.rms_threshold = NAN;
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_ERR_ARG);
    c.rms_threshold = 0.5f;
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 0), VS_ERR_ARG);
}

static void test_level_holdoff_and_warmup(void)
{
    vs_trigger_t t;
    float buf[FL];
    const vs_trigger_config_t c = {0.5f, 0.0f, 0u, 12u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    /* Loud before a full frame was seen: skipped (warm-up). */
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, loud, 4), 0);
    VS_CHECK_EQ_INT(t.skipped, 1);
    /* Offset only: the block mean is removed, so no trigger. */
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), 0);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, loud, 4), (int)VS_TRIGGER_RMS);
    VS_CHECK_EQ_INT(t.analysed, 1);
    /* 4 and 8 samples after: inside the 12-sample hold-off. */
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, loud, 4), 0);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, loud, 4), 0);
    VS_CHECK_EQ_INT(t.skipped, 3);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, loud, 4), (int)VS_TRIGGER_RMS);
    VS_CHECK_EQ_INT(t.analysed, 2);
    VS_CHECK_EQ_INT(t.blocks, 6);
}

static void test_wake_and_heartbeat(void)
{
    vs_trigger_t t;
    float buf[FL];
    const vs_trigger_config_t c = {0.0f, 0.0f, 16u, 8u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    vs_trigger_wake_from_isr(&t); /* during warm-up: latched */
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), 0);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), (int)VS_TRIGGER_WAKE);
    vs_trigger_wake_from_isr(&t); /* during the 8-sample hold-off: served when it ends */
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), 0);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), (int)VS_TRIGGER_WAKE);
    VS_CHECK_EQ_INT(t.skipped, 0);
    /* No more wakes: the 16-sample heartbeat fires on the 4th block of 4. */
    for (int i = 0; i < 3; i++) {
        VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), 0);
    }
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, quiet, 4), (int)VS_TRIGGER_HEARTBEAT);
    VS_CHECK_EQ_INT(t.analysed, 3);
}

static void test_frame_is_latest_samples_in_order(void)
{
    vs_trigger_t t;
    float buf[FL], out[FL], block[5];
    const vs_trigger_config_t c = {0.0f, 0.0f, 0u, 0u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < 5; i++) {
            block[i] = (float)(b * 5 + i);
        }
        (void)vs_trigger_push_f32(&t, block, 5);
    }
    vs_trigger_copy_frame(&t, out);
    for (int i = 0; i < FL; i++) {
        VS_CHECK_NEAR(out[i], 25 - FL + i, 0.0);
    }
}

static void test_block_longer_than_the_ring(void)
{
    vs_trigger_t t;
    float buf[FL], out[FL], block[20];
    const vs_trigger_config_t c = {0.0f, 0.0f, 0u, 0u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, buf), VS_OK);
    for (int i = 0; i < 20; i++) {
        block[i] = (float)i;
    }
    (void)vs_trigger_push_f32(&t, block, 3);
    (void)vs_trigger_push_f32(&t, block, 20);
    vs_trigger_copy_frame(&t, out);
    for (int i = 0; i < FL; i++) {
        VS_CHECK_NEAR(out[i], 12 + i, 0.0);
    }
    VS_CHECK_EQ_INT(t.seen, 23);
}

static void test_raw_int16_validation_and_levels(void)
{
    vs_trigger_t t;
    int16_t ring[FL];
    float fbuf[FL];
    vs_trigger_config_t c = {0.5f, 0.0f, 0u, 0u, FL};
    VS_CHECK_EQ_INT(vs_trigger_init_i16(&t, &c, ring, 0.0f), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_init_i16(&t, &c, ring, -1.0f), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_init_i16(&t, &c, ring, NAN), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_init_i16(&t, &c, NULL, 0.25f), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_init_i16(&t, &c, ring, 0.25f), VS_OK);
    const int16_t block[12] = {4, -4, 4, -4, 4, -4, 4, -4, 4, -4, 4, -4}; /* mean 0, rms 4, peak 4 counts */
    VS_CHECK_EQ_INT(vs_trigger_push_i16(&t, block, 0), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_push_i16(&t, block, 32769u), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_trigger_push_f32(&t, fbuf, 4), VS_ERR_STATE);
    /* 12 samples into a ring of 8: warm-up done, level 1.0 g > 0.5 g, the frame is the last 8 counts * 0.25. */
    VS_CHECK_EQ_INT(vs_trigger_push_i16(&t, block, 12), (int)VS_TRIGGER_RMS);
    VS_CHECK_NEAR(t.last_rms, 1.0, 1e-6);
    VS_CHECK_NEAR(t.last_peak, 1.0, 1e-6);
    vs_trigger_copy_frame(&t, fbuf);
    for (int i = 0; i < FL; i++) {
        VS_CHECK_NEAR(fbuf[i], (i % 2 == 0 ? 1.0 : -1.0), 0.0);
    }
    /* A float trigger refuses raw blocks. */
    VS_CHECK_EQ_INT(vs_trigger_init(&t, &c, fbuf), VS_OK);
    VS_CHECK_EQ_INT(vs_trigger_push_i16(&t, block, 4), VS_ERR_STATE);
}

int main(void)
{
    test_init_validation();
    test_level_holdoff_and_warmup();
    test_wake_and_heartbeat();
    test_frame_is_latest_samples_in_order();
    test_block_longer_than_the_ring();
    test_raw_int16_validation_and_levels();
    VS_TEST_DONE();
}
