/*
 * test_baseline.c - vs_baseline alone and inside vs_node on the host fakes, built with ASan/UBSan (make host).
 *
 * The whole learning path runs here under the sanitizers: START, the fit half, the held-out half, the store
 * write over 6 records, DONE, the baseline score; reload after a "reset"; a flipped byte -> DAMAGED; CLEAR;
 * zero variance -> FAILED; the argument checks. Bit-exactness with Python is tested through ctypes
 * (tests/nodes/test_baseline.py).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../port/host/vs_host_fakes.h"
#include "vs/vs_baseline.h"
#include "vs/vs_node.h"
#include "vs_test.h"

#define NF VS_FEAT_N_FEATURES

static const uint8_t HASH[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* A deterministic feature vector per frame: feature j of frame i = j + small varying part. */
static void feats_of(uint32_t i, float *f)
{
    for (uint32_t j = 0; j < NF; j++) {
        f[j] = (float)j + 0.01f * (float)((i * 7u + j * 3u) % 11u) - 0.05f;
    }
}

static void test_module(void)
{
    static vs_baseline_t b, b2;
    float f[NF];
    vs_host_reset();
    vs_baseline_init(&b, HASH);
    VS_CHECK_EQ_INT(vs_baseline_load(&b), VS_BASELINE_LOAD_NONE);
    VS_CHECK_EQ_INT(vs_baseline_start(&b, VS_PROTO_MIN_BASELINE_FRAMES - 1u, 0.0f), VS_PROTO_NACK_BAD_VALUE);
    VS_CHECK_EQ_INT(vs_baseline_start(&b, 64u, -1.0f), VS_PROTO_NACK_BAD_VALUE);
    VS_CHECK_EQ_INT(vs_baseline_start(&b, 64u, NAN), VS_PROTO_NACK_BAD_VALUE);
    VS_CHECK_EQ_INT(vs_baseline_abort(&b), VS_PROTO_NACK_BAD_STATE);
    VS_CHECK_EQ_INT(vs_baseline_start(&b, 100u, 0.0f), 0);
    int ev = VS_BASELINE_EV_NONE;
    for (uint32_t i = 0; i < 100u; i++) {
        VS_CHECK_EQ_INT(ev, VS_BASELINE_EV_NONE);
        feats_of(i, f);
        ev = vs_baseline_frame(&b, f);
    }
    VS_CHECK_EQ_INT(ev, VS_BASELINE_EV_DONE);
    VS_CHECK(b.have && !b.learning && b.rec.n_frames == 100u && b.rec.k == VS_BASELINE_DEFAULT_K);
    for (uint32_t j = 0; j < NF; j++) {
        VS_CHECK_NEAR(b.rec.mean[j], (float)j, 0.01f);
        VS_CHECK(b.rec.std[j] > 0.0f && b.rec.std[j] < 0.05f);
    }
    VS_CHECK(b.rec.threshold > b.rec.clear_threshold && b.rec.clear_threshold > b.rec.score_mean);
    feats_of(3u, f);
    VS_CHECK(vs_baseline_score(&b, f) >= 0.0f);
    vs_proto_baseline_progress_t p;
    vs_baseline_progress(&b, &p);
    VS_CHECK(p.state == VS_PROTO_BASELINE_STATE_DONE && p.frames_done == 100u && p.baseline_crc == b.rec.crc);

    /* a reset: the same record comes back; a different feature hash ignores it */
    vs_baseline_init(&b2, HASH);
    VS_CHECK_EQ_INT(vs_baseline_load(&b2), VS_BASELINE_LOAD_VALID);
    VS_CHECK(memcmp(&b2.rec, &b.rec, sizeof b.rec) == 0);
    static const uint8_t other[32] = {9};
    vs_baseline_init(&b2, other);
    VS_CHECK_EQ_INT(vs_baseline_load(&b2), VS_BASELINE_LOAD_DAMAGED);
    /* one flipped byte in each store record in turn */
    for (uint32_t r = 0; r < VS_BASELINE_STORE_RECORDS; r++) {
        vs_host_store_corrupt((uint8_t)(VS_BASELINE_STORE_FIRST_ID + r), 5u);
        vs_baseline_init(&b2, HASH);
        VS_CHECK_EQ_INT(vs_baseline_load(&b2), VS_BASELINE_LOAD_DAMAGED);
        VS_CHECK(!b2.have && b2.state == VS_PROTO_BASELINE_STATE_FAILED);
        vs_host_store_corrupt((uint8_t)(VS_BASELINE_STORE_FIRST_ID + r), 5u); /* the same XOR undoes it */
    }
    vs_baseline_init(&b2, HASH);
    VS_CHECK_EQ_INT(vs_baseline_load(&b2), VS_BASELINE_LOAD_VALID);
    /* ABORT keeps the stored baseline; CLEAR forgets it */
    VS_CHECK_EQ_INT(vs_baseline_start(&b, 64u, 2.0f), 0);
    VS_CHECK_EQ_INT(vs_baseline_abort(&b), 0);
    VS_CHECK(b.have && b.state == VS_PROTO_BASELINE_STATE_ABORTED);
    VS_CHECK_EQ_INT(vs_baseline_clear(&b), 0);
    VS_CHECK(!b.have);
    vs_baseline_init(&b2, HASH);
    VS_CHECK(vs_baseline_load(&b2) != VS_BASELINE_LOAD_VALID);
    /* zero variance: FAILED after the fit half, nothing stored */
    VS_CHECK_EQ_INT(vs_baseline_start(&b, 64u, 0.0f), 0);
    feats_of(0u, f);
    for (uint32_t i = 0; i < 32u; i++) {
        ev = vs_baseline_frame(&b, f);
    }
    VS_CHECK_EQ_INT(ev, VS_BASELINE_EV_FAILED);
    VS_CHECK(!b.have && !b.learning && b.state == VS_PROTO_BASELINE_STATE_FAILED);
}

/* Through vs_node: BASELINE_LEARN over the UART on the fakes, frames from a sine with slowly varying
 * amplitude, reboot on the same bank. */
static vs_node_t node;
static uint8_t tx[VS_HOST_TX_CAPACITY];

static int count_type(uint8_t type, vs_proto_msg_t *last)
{
    vs_proto_decoder_t d;
    vs_proto_msg_t m;
    int n = 0;
    vs_proto_decoder_init(&d);
    const size_t len = vs_host_uart_tx_take(tx, sizeof tx);
    for (size_t i = 0; i < len; i++) {
        if (vs_proto_decoder_push(&d, tx[i], &m) == 1 && m.header.type == type) {
            n++;
            if (last != NULL) {
                *last = m;
            }
        }
    }
    return n;
}

static void start_node(void)
{
    vs_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.node_id = 4;
    cfg.heartbeat_frames = 1;
    cfg.alarm.threshold = 1e30f;
    cfg.alarm.clear_threshold = 1e29f;
    cfg.alarm.k = 1;
    cfg.alarm.n = 1;
    VS_CHECK_EQ_INT(vs_node_init(&node, &cfg), VS_OK);
    VS_CHECK_EQ_INT(vs_node_start(&node), VS_OK);
}

static void push_frames(uint32_t n, uint32_t *phase)
{
    static float x[VS_FEAT_HOP_LENGTH];
    for (uint32_t k = 0; k < n; k++) {
        for (uint32_t i = 0; i < VS_FEAT_HOP_LENGTH; i++, (*phase)++) {
            const float a = 0.5f + 0.1f * (float)((*phase / 1000u) % 7u);
            x[i] = a * sinf(0.05f * (float)*phase) + 0.01f * (float)((*phase * 13u) % 17u);
        }
        for (uint32_t i = 0; i < VS_FEAT_HOP_LENGTH; i += 256u) {
            const uint32_t m = VS_FEAT_HOP_LENGTH - i < 256u ? VS_FEAT_HOP_LENGTH - i : 256u;
            VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, x + i, m), VS_OK);
            (void)vs_node_poll(&node);
        }
    }
}

static void send(uint8_t action, uint32_t n_frames, uint32_t seq)
{
    vs_proto_msg_t m;
    uint8_t wire[64];
    size_t len = 0;
    memset(&m, 0, sizeof m);
    m.header.version = VS_PROTO_VERSION;
    m.header.type = VS_MSG_BASELINE_LEARN;
    m.header.node_id = 4;
    m.header.seq = seq;
    m.u.baseline_learn.action = action;
    m.u.baseline_learn.n_frames = n_frames;
    VS_CHECK_EQ_INT(vs_proto_encode(&m, wire, sizeof wire, &len), VS_OK);
    VS_CHECK_EQ_INT(vs_node_rx_bytes(&node, wire, len), VS_OK);
}

static void test_in_node(void)
{
    vs_proto_msg_t last;
    uint32_t phase = 0;
    vs_host_reset();
    start_node();
    push_frames(2u, &phase);
    (void)count_type(0, NULL);
    send(VS_PROTO_BASELINE_START, 64u, 1u);
    VS_CHECK_EQ_INT(count_type(VS_MSG_ACK, NULL), 1);
    push_frames(70u, &phase);
    const vs_node_counters_t *c = vs_node_counters(&node);
    VS_CHECK(c->analysed >= 72u);
    VS_CHECK_EQ_INT(count_type(VS_MSG_BASELINE_PROGRESS, &last), 1);
    VS_CHECK_EQ_INT(last.u.baseline_progress.state, VS_PROTO_BASELINE_STATE_DONE);
    const uint32_t crc = last.u.baseline_progress.baseline_crc;
    const float thr = last.u.baseline_progress.threshold;
    VS_CHECK(crc != 0u && thr > 0.0f && isfinite(thr));
    push_frames(1u, &phase);
    VS_CHECK_EQ_INT(count_type(VS_MSG_SCORE, &last), 1);
    VS_CHECK(last.u.score.threshold == thr);

    /* reset: the node reports and uses the stored baseline */
    vs_host_uart_tx_take(tx, sizeof tx);
    start_node();
    VS_CHECK_EQ_INT(count_type(VS_MSG_BASELINE_PROGRESS, &last), 1);
    VS_CHECK(last.u.baseline_progress.state == VS_PROTO_BASELINE_STATE_DONE &&
             last.u.baseline_progress.baseline_crc == crc);
    push_frames(2u, &phase);
    VS_CHECK_EQ_INT(count_type(VS_MSG_SCORE, &last), 2);
    VS_CHECK(last.u.score.threshold == thr);
    /* CLEAR: one ACK, progress NONE, the configured rule again, nothing reported at the next boot */
    send(VS_PROTO_BASELINE_CLEAR, 0u, 2u);
    VS_CHECK_EQ_INT(count_type(VS_MSG_ACK, NULL), 1);
    push_frames(1u, &phase);
    VS_CHECK(vs_node_last_score(&node) >= 0.0f);
    start_node();
    VS_CHECK_EQ_INT(count_type(VS_MSG_BASELINE_PROGRESS, NULL), 0);
}

int main(void)
{
    test_module();
    test_in_node();
    VS_TEST_DONE();
}
