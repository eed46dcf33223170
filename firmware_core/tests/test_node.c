/*
 * test_node.c - vs_node on the host fakes (port/host), built with ASan/UBSan by `make host`.
 *
 * Covers: boot record (counter, watchdog resets, torn record), HELLO/STATUS timing on the fake clock, framing
 * independent of how the ISR splits the samples (byte-identical SCORE streams), ring overruns, every command
 * with exactly one ACK/NACK, REPLAY gaps, raw captures on alarm and on request, and garbage on the UART.
 * The model path and parity with Python are tested through ctypes (tests/firmware/test_c_node.py).
 */
#define _POSIX_C_SOURCE 200809L /* pthreads for the ISR-vs-main-loop run */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../port/host/vs_host_fakes.h"
#include "vs/vs_node.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_watchdog.h"
#include "vs_test.h"

#define MAXMSG 4096

static vs_node_t node, node2;
static uint8_t txbuf[VS_HOST_TX_CAPACITY];

/* What the node sent since the last collect(): counts per type and the payloads the tests look at. */
typedef struct {
    int n, by_type[256];
    uint8_t types[MAXMSG];
    uint32_t seqs[MAXMSG];
    vs_proto_score_t scores[MAXMSG];
    int n_scores;
    vs_proto_alarm_t alarms[64];
    int n_alarms;
    vs_proto_ack_t acks[MAXMSG];
    int n_acks;
    vs_proto_hello_t hello;
    vs_proto_status_t status;
    vs_proto_health_t health;
    vs_proto_raw_chunk_t raw[32];
    int n_raw;
    int errors;
} out_t;

static out_t out;
static vs_proto_decoder_t dec;
static vs_proto_msg_t msg;

static void collect(void)
{
    memset(&out, 0, sizeof out);
    vs_proto_decoder_init(&dec);
    size_t n = vs_host_uart_tx_take(txbuf, sizeof txbuf);
    for (size_t i = 0; i < n; i++) {
        const int r = vs_proto_decoder_push(&dec, txbuf[i], &msg);
        if (r < 0) {
            out.errors++;
        }
        if (r != 1 || out.n >= MAXMSG) {
            continue;
        }
        const uint8_t t = msg.header.type;
        out.types[out.n] = t;
        out.seqs[out.n] = msg.header.seq;
        out.n++;
        out.by_type[t]++;
        if (t == VS_MSG_SCORE) {
            out.scores[out.n_scores++] = msg.u.score;
        } else if (t == VS_MSG_ALARM && out.n_alarms < 64) {
            out.alarms[out.n_alarms++] = msg.u.alarm;
        } else if (t == VS_MSG_ACK || t == VS_MSG_NACK) {
            out.acks[out.n_acks++] = msg.u.ack;
        } else if (t == VS_MSG_HELLO) {
            out.hello = msg.u.hello;
        } else if (t == VS_MSG_STATUS) {
            out.status = msg.u.status;
        } else if (t == VS_MSG_HEALTH) {
            out.health = msg.u.health;
        } else if (t == VS_MSG_RAW_CHUNK && out.n_raw < 32) {
            out.raw[out.n_raw++] = msg.u.raw_chunk;
        }
    }
}

static vs_node_config_t base_config(void)
{
    vs_node_config_t c;
    memset(&c, 0, sizeof c);
    c.node_id = 7;
    c.fw_version = "test-1";
    c.machine = "pump";
    c.heartbeat_frames = 1; /* analyse every frame */
    c.alarm.threshold = 1e30f;
    c.alarm.clear_threshold = 1e29f;
    c.alarm.k = 1;
    c.alarm.n = 1;
    c.status_period_ms = 1000;
    c.hello_every_status = 10;
    c.features_every = 4;
    c.raw_capture_samples = 1000;
    return c;
}

/* Deterministic test signal in g: a 157 Hz tone plus LCG noise, amplitude `amp`. */
static float sample_at(uint32_t i, float amp)
{
    uint32_t s = i * 2654435761u + 12345u;
    s ^= s >> 13;
    s *= 0x5bd1e995u;
    s ^= s >> 15;
    const float noise = ((float)(s & 0xFFFFu) / 65535.0f - 0.5f) * 0.2f;
    return amp * (sinf(2.0f * 3.14159265f * 157.0f * (float)i / VS_FEAT_SAMPLE_RATE) + noise);
}

static int start_node(vs_node_t *nd, const vs_node_config_t *c)
{
    int rc = vs_node_init(nd, c);
    if (rc == VS_OK) {
        rc = vs_node_start(nd);
    }
    return rc;
}

/* Push `total` samples in blocks of sizes cycling through `sizes`, polling after every block. */
static void feed(vs_node_t *nd, uint32_t first, uint32_t total, const uint32_t *sizes, int n_sizes, float amp)
{
    static float blk[VS_NODE_RING_SAMPLES];
    uint32_t done = 0;
    int k = 0;
    while (done < total) {
        uint32_t n = sizes[k++ % n_sizes];
        n = n < total - done ? n : total - done;
        for (uint32_t i = 0; i < n; i++) {
            blk[i] = sample_at(first + done + i, amp);
        }
        VS_CHECK_EQ_INT(vs_node_push_samples_f32(nd, blk, n), VS_OK);
        (void)vs_node_poll(nd);
        done += n;
    }
}

static void test_init_errors(void)
{
    vs_node_config_t c = base_config();
    VS_CHECK_EQ_INT(vs_node_init(NULL, &c), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_node_init(&node, NULL), VS_ERR_ARG);
    c.machine = "tab\there";
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_ARG);
    c = base_config();
    c.fw_version = "0123456789012345678901234567890123"; /* 34 > 32 */
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_ARG);
    c = base_config();
    c.alarm.k = 3; /* k > n */
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_ARG);
    c = base_config();
    c.trigger_rms_g = NAN;
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_ARG);
    c = base_config();
    c.raw_capture_samples = VS_NODE_RAW_MAX_SAMPLES + 1u;
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_SIZE);
    c = base_config();
    static const float mean[VS_FEAT_N_FEATURES] = {0};
    c.norm_mean = mean; /* without norm_std */
    VS_CHECK_EQ_INT(vs_node_init(&node, &c), VS_ERR_ARG);
    memset(&node, 0, sizeof node);
    VS_CHECK_EQ_INT(vs_node_poll(&node), VS_ERR_STATE);
    static const float one[1] = {0.0f};
    VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, one, 1), VS_ERR_STATE);
    VS_CHECK_EQ_INT(vs_node_start(&node), VS_ERR_STATE);
    VS_CHECK(vs_node_instance_size() == sizeof(vs_node_t));
}

static void test_boot_record(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(out.n, 1);
    VS_CHECK_EQ_INT(out.types[0], VS_MSG_HELLO);
    VS_CHECK_EQ_INT(out.hello.boot_counter, 1);
    VS_CHECK(strcmp(out.hello.fw_version, "test-1") == 0 && strcmp(out.hello.machine, "pump") == 0);
    VS_CHECK(memcmp(out.hello.feature_hash, vs_features_hash(), 32) == 0);
    VS_CHECK_EQ_INT(vs_host_sampler_running(), 1);
    VS_CHECK_EQ_INT(vs_node_start(&node), VS_ERR_STATE); /* once */

    vs_host_set_reset_reason((uint8_t)VS_RESET_WATCHDOG);
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(out.hello.boot_counter, 2);
    VS_CHECK_EQ_INT(out.hello.reset_reason, VS_PROTO_RESET_WATCHDOG);
    VS_CHECK_EQ_INT(out.hello.model_state, VS_PROTO_MODEL_NONE);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->watchdog_resets, 1);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->reset_reason, VS_RESET_WATCHDOG);

    vs_host_set_reset_reason((uint8_t)VS_RESET_PIN);
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(out.hello.boot_counter, 3);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->watchdog_resets, 1);

    vs_host_store_corrupt((uint8_t)VS_STORE_RECORD_BOOT, 8); /* torn write: CRC fails, start again */
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(out.hello.boot_counter, 1);

    /* Another bank is another chip. */
    VS_CHECK_EQ_INT(vs_host_select(1), 0);
    VS_CHECK_EQ_INT(start_node(&node2, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(out.hello.boot_counter, 1);
    VS_CHECK_EQ_INT(vs_host_select(VS_HOST_BANKS), -1);
    vs_host_select(0);
}

static void test_status_timing(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.hello_every_status = 3;
    vs_host_clock_set_us(500);
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    int status = 0, hello = 0, health = 0;
    for (uint64_t t = 500; t <= 500 + 6500000u; t += 100000u) {
        vs_host_clock_set_us(t);
        VS_CHECK(vs_node_poll(&node) >= 0);
        collect();
        status += out.by_type[VS_MSG_STATUS];
        hello += out.by_type[VS_MSG_HELLO];
        health += out.by_type[VS_MSG_HEALTH];
        if (out.by_type[VS_MSG_STATUS] > 0) {
            VS_CHECK_EQ_INT(out.status.uptime_s, (uint32_t)(t / 1000000u));
            VS_CHECK_EQ_INT(out.types[out.n - 1], VS_MSG_HEALTH); /* right after STATUS */
            VS_CHECK_EQ_INT(out.health.boot_counter, 1);
            VS_CHECK_EQ_INT(out.health.ring_capacity, VS_NODE_RING_SAMPLES);
        }
    }
    VS_CHECK_EQ_INT(status, 6); /* at 1.0005, 2.0005, ... 6.0005 s */
    VS_CHECK_EQ_INT(hello, 2);  /* before the 3rd and 6th STATUS */
    VS_CHECK_EQ_INT(health, 6);
    /* A stalled loop sends one STATUS, not a burst. */
    vs_host_clock_set_us(60000000u);
    (void)vs_node_poll(&node);
    (void)vs_node_poll(&node);
    collect();
    VS_CHECK_EQ_INT(out.by_type[VS_MSG_STATUS], 1);
    VS_CHECK(vs_host_watchdog_feeds() > 60u);
}

/* The same samples in different ISR block sizes give the same bytes (timestamps are the fake clock, fixed). */
static void test_framing_independent_of_blocks(void)
{
    static const uint32_t a[] = {1000}, b[] = {1, 37, 256, 500, 3}, cc[] = {VS_NODE_RING_SAMPLES};
    const uint32_t *sizes[3] = {a, b, cc};
    const int n_sizes[3] = {1, 5, 1};
    static vs_proto_score_t first[64];
    int n_first = 0;
    const uint32_t total = 20u * VS_FEAT_HOP_LENGTH + VS_FEAT_FRAME_LENGTH + 77u;
    const int expected = (int)((total - VS_FEAT_FRAME_LENGTH) / VS_FEAT_HOP_LENGTH) + 1;
    for (int v = 0; v < 3; v++) {
        vs_host_reset();
        vs_node_config_t c = base_config();
        c.status_period_ms = 0;
        VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
        collect();
        feed(&node, 0, total, sizes[v], n_sizes[v], 0.5f);
        collect();
        VS_CHECK_EQ_INT(out.n_scores, expected);
        VS_CHECK_EQ_INT(out.by_type[VS_MSG_FEATURES], expected / 4);
        VS_CHECK_EQ_INT(out.errors, 0);
        for (int i = 0; i < out.n_scores; i++) {
            VS_CHECK_EQ_INT(out.scores[i].frame_index, i);
            VS_CHECK(out.scores[i].score >= 0.0f);
        }
        /* seq numbers are consecutive from the HELLO's 0 */
        for (int i = 0; i < out.n; i++) {
            VS_CHECK_EQ_INT(out.seqs[i], (uint32_t)i + 1u);
        }
        if (v == 0) {
            n_first = out.n_scores;
            memcpy(first, out.scores, sizeof(vs_proto_score_t) * (size_t)(n_first < 64 ? n_first : 64));
        } else {
            VS_CHECK_EQ_INT(out.n_scores, n_first);
            for (int i = 0; i < out.n_scores && i < 64; i++) {
                VS_CHECK(memcmp(&first[i], &out.scores[i], sizeof first[i]) == 0);
            }
        }
        const vs_node_counters_t *k = vs_node_counters(&node);
        VS_CHECK_EQ_INT(k->analysed, expected);
        VS_CHECK_EQ_INT(k->frames, expected);
        VS_CHECK_EQ_INT(k->skipped, 0);
        VS_CHECK_EQ_INT(k->ring_overruns, 0);
    }
#if VS_FEAT_HAS_STATS
    /* rms of a 0.5 g sine with +-0.05 g noise: about 0.5 / sqrt(2) */
    VS_CHECK_NEAR(first[3].rms_g, 0.5f / sqrtf(2.0f), 0.02);
#endif
}

static void test_trigger_skips_quiet_frames(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    c.trigger_rms_g = 0.1f;
    c.heartbeat_frames = 0;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    static const uint32_t sz[] = {512};
    feed(&node, 0, 10u * VS_FEAT_HOP_LENGTH + VS_FEAT_FRAME_LENGTH, sz, 1, 0.01f); /* quiet */
    collect();
    VS_CHECK_EQ_INT(out.n_scores, 0);
    feed(&node, 0, 5u * VS_FEAT_HOP_LENGTH, sz, 1, 1.0f); /* loud */
    collect();
    VS_CHECK_EQ_INT(out.n_scores, 5);
    const vs_node_counters_t *k = vs_node_counters(&node);
    VS_CHECK_EQ_INT(k->frames, k->analysed + k->skipped);
    VS_CHECK_EQ_INT(k->analysed, 5);
}

static void test_overrun_restarts_framing(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    static float blk[VS_NODE_RING_SAMPLES];
    for (uint32_t i = 0; i < VS_NODE_RING_SAMPLES; i++) {
        blk[i] = sample_at(i, 0.3f);
    }
    VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, blk, VS_NODE_RING_SAMPLES), VS_OK);
    VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, blk, 10), VS_NODE_E_OVERRUN); /* full: whole block dropped */
    VS_CHECK(vs_node_has_work(&node));
    VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, blk, 0), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_node_push_samples_f32(&node, blk, VS_NODE_RING_SAMPLES + 1u), VS_ERR_ARG);
    (void)vs_node_poll(&node);
    VS_CHECK(!vs_node_has_work(&node));
    const vs_node_counters_t *k = vs_node_counters(&node);
    VS_CHECK_EQ_INT(k->ring_overruns, 1);
    VS_CHECK_EQ_INT(k->overrun_samples, 10);
    VS_CHECK_EQ_INT(k->discontinuities, 1);
    VS_CHECK_EQ_INT(k->ring_high_water, 0); /* updated at STATUS time only */
    VS_CHECK_EQ_INT(node.ring.high_water, VS_NODE_RING_SAMPLES);
    /* After the gap a whole new frame is needed before the next SCORE. */
    static const uint32_t sz[] = {256};
    const uint32_t before = k->frames;
    feed(&node, 5000, VS_FEAT_FRAME_LENGTH - 1u, sz, 1, 0.3f);
    VS_CHECK_EQ_INT(k->frames, before);
    feed(&node, 6000, 1, sz, 1, 0.3f);
    VS_CHECK_EQ_INT(k->frames, before + 1u);
    /* i16 path: counts * scale */
    static int16_t counts[100];
    VS_CHECK_EQ_INT(vs_node_push_samples_i16(&node, counts, 100, 0.001f), VS_OK);
    VS_CHECK_EQ_INT(vs_node_push_samples_i16(&node, NULL, 100, 0.001f), VS_ERR_ARG);
}

/* --- commands ----------------------------------------------------------------------------------------- */

static uint32_t host_seq = 1000;

static void send_cmd(vs_node_t *nd, vs_proto_msg_t *m, uint16_t to)
{
    static uint8_t w[VS_PROTO_MAX_WIRE];
    size_t len = 0;
    m->header.node_id = to;
    m->header.seq = host_seq++;
    m->header.timestamp_us = 0;
    VS_CHECK_EQ_INT(vs_proto_encode(m, w, sizeof w, &len), VS_OK);
    VS_CHECK_EQ_INT(vs_node_rx_bytes(nd, w, len), VS_OK);
}

static vs_proto_msg_t cmd;

static void expect_reply(uint8_t type, uint8_t reason)
{
    collect();
    VS_CHECK_EQ_INT(out.n_acks, 1);
    VS_CHECK_EQ_INT(out.by_type[reason == 0 ? VS_MSG_ACK : VS_MSG_NACK], 1);
    VS_CHECK_EQ_INT(out.acks[0].acked_type, type);
    VS_CHECK_EQ_INT(out.acks[0].acked_seq, host_seq - 1u);
    VS_CHECK_EQ_INT(out.acks[0].reason, reason);
}

static void replay(vs_node_t *nd, uint32_t block_index, uint32_t first_sample, uint16_t count, float amp)
{
    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_REPLAY_SAMPLES;
    cmd.u.replay.block_index = block_index;
    cmd.u.replay.sample_rate_hz = VS_FEAT_SAMPLE_RATE;
    cmd.u.replay.sample_format = VS_PROTO_FMT_F32;
    cmd.u.replay.count = count;
    for (uint32_t i = 0; i < count; i++) {
        cmd.u.replay.samples.f32[i] = sample_at(first_sample + i, amp);
    }
    send_cmd(nd, &cmd, 7);
}

static void test_commands(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();

    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_SET_THRESHOLD;
    cmd.u.set_threshold = (vs_proto_set_threshold_t){2.0f, 1.0f, 2, 3};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_SET_THRESHOLD, 0);
    VS_CHECK(node.alarm.rule.threshold == 2.0f && node.alarm.rule.k == 2);
    cmd.u.set_threshold = (vs_proto_set_threshold_t){1.0f, 2.0f, 2, 3}; /* clear above raise */
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_SET_THRESHOLD, VS_PROTO_NACK_BAD_VALUE);
    cmd.u.set_threshold = (vs_proto_set_threshold_t){2.0f, 1.0f, 4, 3}; /* k > n */
    send_cmd(&node, &cmd, VS_PROTO_BROADCAST_NODE);
    expect_reply(VS_MSG_SET_THRESHOLD, VS_PROTO_NACK_BAD_VALUE);
    VS_CHECK(node.alarm.rule.threshold == 2.0f);
    send_cmd(&node, &cmd, 8); /* another node's: ignored, no reply */
    collect();
    VS_CHECK_EQ_INT(out.n, 0);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->rx_foreign, 1);

    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_REQUEST_RAW;
    cmd.u.request_raw = (vs_proto_request_raw_t){5, 100, VS_PROTO_FMT_I16};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_NOT_READY); /* nothing recorded yet */
    cmd.u.request_raw = (vs_proto_request_raw_t){5, 100, VS_PROTO_FMT_F32};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_UNSUPPORTED);
    cmd.u.request_raw = (vs_proto_request_raw_t){5, VS_NODE_RAW_MAX_SAMPLES + 1u, VS_PROTO_FMT_I16};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_TOO_LARGE);
    cmd.u.request_raw = (vs_proto_request_raw_t){5, 0, VS_PROTO_FMT_I16};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_BAD_VALUE);

    /* REPLAY: the sensor stops, consecutive blocks are ACKed and analysed. */
    for (uint32_t b = 0; b < 6; b++) {
        replay(&node, 100 + b, b * 250u, 250, 0.2f);
        collect();
        VS_CHECK_EQ_INT(out.n_acks, 1);
        VS_CHECK_EQ_INT(out.by_type[VS_MSG_ACK], 1);
    }
    VS_CHECK_EQ_INT(vs_host_sampler_running(), 0);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->replay_blocks, 6);
    /* 1500 samples: one frame at 1024 (and more for a short hop) */
    VS_CHECK(vs_node_counters(&node)->frames >= 1u);
    const uint32_t discont = vs_node_counters(&node)->discontinuities;
    /* a gap: dropped, NACKed, counted; the next consecutive block is accepted again */
    replay(&node, 110, 0, 250, 0.2f);
    expect_reply(VS_MSG_REPLAY_SAMPLES, VS_PROTO_NACK_OUT_OF_ORDER);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->replay_gaps, 1);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->discontinuities, discont + 1u);
    replay(&node, 111, 0, 250, 0.2f);
    expect_reply(VS_MSG_REPLAY_SAMPLES, 0);
    /* a retry of the last command (same seq): answered again, not executed twice */
    {
        static uint8_t w[VS_PROTO_MAX_WIRE];
        size_t len = 0;
        cmd.header.seq = host_seq - 1u;
        VS_CHECK_EQ_INT(vs_proto_encode(&cmd, w, sizeof w, &len), VS_OK);
        const uint32_t blocks = vs_node_counters(&node)->replay_blocks;
        VS_CHECK_EQ_INT(vs_node_rx_bytes(&node, w, len), VS_OK);
        expect_reply(VS_MSG_REPLAY_SAMPLES, 0);
        VS_CHECK_EQ_INT(vs_node_counters(&node)->replay_blocks, blocks);
        VS_CHECK_EQ_INT(vs_node_counters(&node)->rx_duplicates, 1);
    }
    replay(&node, 111, 0, 250, 0.2f); /* a retransmission with a new seq is a gap */
    expect_reply(VS_MSG_REPLAY_SAMPLES, VS_PROTO_NACK_OUT_OF_ORDER);
    const uint32_t d0 = vs_node_counters(&node)->discontinuities;
    replay(&node, 0, 0, 250, 0.2f); /* block 0: a replayer starting over, accepted */
    expect_reply(VS_MSG_REPLAY_SAMPLES, 0);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->discontinuities, d0 + 1u);
    replay(&node, 1, 250, 250, 0.2f);
    expect_reply(VS_MSG_REPLAY_SAMPLES, 0);
    /* bad fields */
    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_REPLAY_SAMPLES;
    cmd.u.replay = (vs_proto_replay_t){2, 8000.0f, VS_PROTO_FMT_I16, 0.001f, 10, {{0}}};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REPLAY_SAMPLES, VS_PROTO_NACK_BAD_VALUE); /* wrong rate */
    cmd.u.replay = (vs_proto_replay_t){2, VS_FEAT_SAMPLE_RATE, VS_PROTO_FMT_I16, -1.0f, 10, {{0}}};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REPLAY_SAMPLES, VS_PROTO_NACK_BAD_VALUE); /* negative scale */
    cmd.u.replay = (vs_proto_replay_t){2, VS_FEAT_SAMPLE_RATE, VS_PROTO_FMT_F32, 0.0f, 10, {{0}}};
    cmd.u.replay.samples.f32[3] = INFINITY;
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REPLAY_SAMPLES, VS_PROTO_NACK_BAD_VALUE); /* inf sample */

    /* REQUEST_RAW now: 300 samples -> two chunks of VS_NODE_RAW_CHUNK_SAMPLES, one per poll */
    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_REQUEST_RAW;
    cmd.u.request_raw = (vs_proto_request_raw_t){42, 300, VS_PROTO_FMT_I16};
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, 0);
    send_cmd(&node, &cmd, 7);
    expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_BUSY);
    int chunks = 0, samples = 0;
    for (int p = 0; p < 5; p++) {
        (void)vs_node_poll(&node);
        collect();
        for (int i = 0; i < out.n_raw; i++) {
            VS_CHECK_EQ_INT(out.raw[i].capture_id, 42);
            VS_CHECK_EQ_INT(out.raw[i].chunk_index, chunks);
            VS_CHECK_EQ_INT(out.raw[i].chunk_count, (300 + VS_NODE_RAW_CHUNK_SAMPLES - 1) / VS_NODE_RAW_CHUNK_SAMPLES);
            VS_CHECK(out.raw[i].scale_g_per_lsb == VS_NODE_RAW_SCALE_G);
            chunks++;
            samples += out.raw[i].count;
        }
        VS_CHECK(out.n_raw <= 1);
    }
    VS_CHECK_EQ_INT(samples, 300);

    /* MODEL_* are not supported in this build; node->host types sent to a node neither. */
    static const uint8_t others[] = {VS_MSG_MODEL_BEGIN, VS_MSG_MODEL_CHUNK, VS_MSG_MODEL_COMMIT, VS_MSG_HELLO};
    for (size_t i = 0; i < sizeof others; i++) {
        memset(&cmd, 0, sizeof cmd);
        cmd.header.type = others[i];
        if (others[i] == VS_MSG_MODEL_BEGIN) {
            cmd.u.model_begin.total_size = 100;
            cmd.u.model_begin.chunk_size = 10;
        } else if (others[i] == VS_MSG_MODEL_CHUNK) {
            cmd.u.model_chunk.count = 10;
        } else if (others[i] == VS_MSG_HELLO) {
            cmd.u.hello.protocol_version = 1;
        }
        send_cmd(&node, &cmd, 7);
        expect_reply(others[i], VS_PROTO_NACK_UNSUPPORTED);
    }
    const vs_node_counters_t *k = vs_node_counters(&node);
    VS_CHECK_EQ_INT(k->nacks[VS_PROTO_NACK_UNSUPPORTED], 5);
    VS_CHECK_EQ_INT(k->nacks[VS_PROTO_NACK_OUT_OF_ORDER], 2);
    VS_CHECK_EQ_INT(k->nacks[VS_PROTO_NACK_BAD_VALUE], 6);
}

/* A capture longer than the raw ring streams: the ring's samples, then the ones recorded next, chunk by chunk,
 * none lost or repeated however the samples arrive (big blocks force chunks out before they are overwritten). */
static void test_long_capture_streams(void)
{
    enum { N = 5u * VS_NODE_RAW_CAPACITY + 123u, CHUNKS = (N + VS_NODE_RAW_CHUNK_SAMPLES - 1u) / VS_NODE_RAW_CHUNK_SAMPLES };
    static int16_t got[N];
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    c.features_every = 0;
    c.alarm = (vs_alarm_rule_t){-1.0f, -2.0f, 1, 1}; /* raise at the first frame */
    c.raw_capture_samples = N;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    uint32_t have = 0, pushed = 0;
    int next_chunk = 0, busy_checked = 0;
    static const uint32_t sizes[] = {VS_FEAT_FRAME_LENGTH, VS_NODE_RING_SAMPLES, 37, 500, VS_NODE_RING_SAMPLES, 1000};
    for (int step = 0; pushed < N + 4u * VS_NODE_RING_SAMPLES; step++) {
        const uint32_t n = sizes[step % 6];
        feed(&node, pushed, n, &n, 1, 0.4f);
        pushed += n;
        collect();
        VS_CHECK_EQ_INT(out.errors, 0);
        for (int i = 0; i < out.n_raw; i++) {
            const vs_proto_raw_chunk_t *r = &out.raw[i];
            VS_CHECK_EQ_INT(r->capture_id, 1);
            VS_CHECK_EQ_INT(r->chunk_index, next_chunk);
            VS_CHECK_EQ_INT(r->chunk_count, CHUNKS);
            VS_CHECK_EQ_INT(r->count, next_chunk + 1 < (int)CHUNKS ? VS_NODE_RAW_CHUNK_SAMPLES
                                                                  : N - (CHUNKS - 1u) * VS_NODE_RAW_CHUNK_SAMPLES);
            if (have + r->count <= N) {
                memcpy(got + have, r->samples.i16, r->count * sizeof got[0]);
            }
            have += r->count;
            next_chunk++;
        }
        if (!busy_checked && next_chunk > 0 && next_chunk < (int)CHUNKS) {
            memset(&cmd, 0, sizeof cmd);
            cmd.header.type = VS_MSG_REQUEST_RAW;
            cmd.u.request_raw = (vs_proto_request_raw_t){9, 100, VS_PROTO_FMT_I16};
            send_cmd(&node, &cmd, 7);
            expect_reply(VS_MSG_REQUEST_RAW, VS_PROTO_NACK_BUSY); /* one capture at a time */
            busy_checked = 1;
            for (int i = 0; i < out.n_raw; i++) { /* chunks that went out with the reply */
                VS_CHECK_EQ_INT(out.raw[i].chunk_index, next_chunk);
                memcpy(got + have, out.raw[i].samples.i16, out.raw[i].count * sizeof got[0]);
                have += out.raw[i].count;
                next_chunk++;
            }
        }
    }
    VS_CHECK(busy_checked);
    VS_CHECK_EQ_INT(next_chunk, CHUNKS);
    VS_CHECK_EQ_INT(have, N);
    /* The raise came after the first frame: the capture is that frame and the N - frame samples after it. */
    const float lsb = VS_NODE_RAW_SCALE_G;
    int bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        const float want = sample_at(i, 0.4f);
        bad += fabsf((float)got[i] * lsb - want) > lsb;
    }
    VS_CHECK_EQ_INT(bad, 0);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->raw_captures, 1);
}

static void test_alarm_raise_captures_raw(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    c.alarm = (vs_alarm_rule_t){-1.0f, -2.0f, 1, 1}; /* every score > -1: raise at the first frame */
    c.raw_capture_samples = 600;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    static const uint32_t sz[] = {VS_FEAT_FRAME_LENGTH};
    feed(&node, 0, VS_FEAT_FRAME_LENGTH, sz, 1, 0.4f);
    (void)vs_node_poll(&node);
    (void)vs_node_poll(&node);
    collect();
    VS_CHECK_EQ_INT(out.n_alarms, 1);
    VS_CHECK_EQ_INT(out.alarms[0].event, VS_PROTO_EVENT_RAISE);
    VS_CHECK_EQ_INT(out.alarms[0].frame_index, 0);
    VS_CHECK(out.n >= 3 && out.types[1] == VS_MSG_ALARM && out.types[0] == VS_MSG_SCORE);
    VS_CHECK_EQ_INT(out.n_raw, 2); /* 500 + 100: every chunk but the last is full (docs/protocol.md) */
    VS_CHECK_EQ_INT(out.raw[0].capture_id, 1);
    VS_CHECK_EQ_INT(out.raw[0].count, VS_PROTO_MAX_SAMPLES_I16);
    VS_CHECK_EQ_INT(out.raw[1].count, 100);
    /* The capture is the last 600 samples of the frame, quantized at 16 g full scale. */
    const float lsb = VS_NODE_RAW_SCALE_G;
    VS_CHECK_NEAR(out.raw[1].samples.i16[99] * lsb, sample_at(VS_FEAT_FRAME_LENGTH - 1u, 0.4f), lsb);
    VS_CHECK_NEAR(out.raw[0].samples.i16[0] * lsb, sample_at(VS_FEAT_FRAME_LENGTH - 600u, 0.4f), lsb);
    /* SET_THRESHOLD keeps the alarm state (docs/protocol.md): only the ACK goes out, the alarm stays up and
     * clears at the next frame, whose score (like the kept one) is below the new clear threshold. */
    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_SET_THRESHOLD;
    cmd.u.set_threshold = (vs_proto_set_threshold_t){5.0f, 4.0f, 1, 2};
    send_cmd(&node, &cmd, 7);
    collect();
    VS_CHECK_EQ_INT(out.n, 1);
    VS_CHECK_EQ_INT(out.types[0], VS_MSG_ACK);
    VS_CHECK_EQ_INT(vs_alarm_state(&node.alarm), VS_ALARM_STATE_ALARM);
    VS_CHECK_EQ_INT(node.alarm.count, 1);
    feed(&node, VS_FEAT_FRAME_LENGTH, VS_FEAT_HOP_LENGTH, sz, 1, 0.4f);
    collect();
    VS_CHECK_EQ_INT(out.n_alarms, 1);
    VS_CHECK_EQ_INT(out.alarms[0].event, VS_PROTO_EVENT_CLEAR);
    VS_CHECK(out.alarms[0].threshold == 5.0f && out.alarms[0].n == 2);
}

/* Garbage, truncated and oversized frames on the UART: counted as rx errors, never a reply, and the node keeps
 * streaming SCOREs afterwards. */
static void test_garbage(void)
{
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    uint32_t s = 1;
    static uint8_t junk[5000];
    for (size_t i = 0; i < sizeof junk; i++) {
        s = s * 1103515245u + 12345u;
        junk[i] = (uint8_t)(s >> 16);
    }
    vs_host_uart_rx_inject(junk, sizeof junk);
    static const uint8_t zeros[3] = {0, 0, 0};
    vs_host_uart_rx_inject(zeros, 3);
    /* a valid command cut short, then its terminator lost into the next frame */
    static uint8_t w[VS_PROTO_MAX_WIRE];
    size_t len = 0;
    memset(&cmd, 0, sizeof cmd);
    cmd.header.type = VS_MSG_SET_THRESHOLD;
    cmd.header.node_id = 7;
    cmd.u.set_threshold = (vs_proto_set_threshold_t){2.0f, 1.0f, 1, 1};
    VS_CHECK_EQ_INT(vs_proto_encode(&cmd, w, sizeof w, &len), VS_OK);
    vs_host_uart_rx_inject(w, len / 2);
    vs_host_uart_rx_inject(zeros, 1);
    /* oversize: 3000 nonzero bytes then 0 */
    static uint8_t big[3001];
    memset(big, 0x11, 3000);
    big[3000] = 0;
    vs_host_uart_rx_inject(big, sizeof big);
    /* then a good one */
    vs_host_uart_rx_inject(w, len);
    (void)vs_node_poll(&node);
    collect();
    VS_CHECK_EQ_INT(out.n_acks, 1);
    VS_CHECK_EQ_INT(out.by_type[VS_MSG_ACK], 1);
    VS_CHECK(vs_node_counters(&node)->rx_errors >= 3u);
    VS_CHECK_EQ_INT(vs_node_counters(&node)->rx_errors, vs_proto_decoder_errors(&node.decoder));
    static const uint32_t sz[] = {333};
    feed(&node, 0, 3u * VS_FEAT_FRAME_LENGTH, sz, 1, 0.2f);
    collect();
    VS_CHECK(out.n_scores >= 3);
    VS_CHECK_EQ_INT(vs_node_rx_bytes(&node, NULL, 1), VS_ERR_ARG);
}

/* A producer thread stands in for the sampling ISR, pushing blocks as fast as it can while the main thread
 * polls: every block is either accepted or counted as an overrun, overruns restart framing, every frame is
 * analysed, and the output stays well-formed. */
#define ISR_BLOCKS 3000U
#define ISR_BLOCK 100U

static void *isr_thread(void *arg)
{
    static float blk[ISR_BLOCK];
    int *done = (int *)arg;
    for (uint32_t b = 0; b < ISR_BLOCKS; b++) {
        for (uint32_t i = 0; i < ISR_BLOCK; i++) {
            blk[i] = sample_at(b * ISR_BLOCK + i, 0.3f);
        }
        /* Paced like a sample clock (wait for room), except bursts every 700 blocks that overrun. */
        while (b % 700u >= 50u && vs_ring_space(&node.ring) < ISR_BLOCK) {
            sched_yield();
        }
        const int rc = vs_node_push_samples_f32(&node, blk, ISR_BLOCK);
        if (rc != VS_OK && rc != VS_NODE_E_OVERRUN) {
            __atomic_store_n(done, -1, __ATOMIC_RELEASE);
            return NULL;
        }
    }
    __atomic_store_n(done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_isr_thread_against_main_loop(void)
{
    pthread_t th;
    int done = 0;
    uint32_t scores = 0;
    int errors = 0;
    vs_host_reset();
    vs_node_config_t c = base_config();
    c.status_period_ms = 0;
    c.features_every = 0;
    VS_CHECK_EQ_INT(start_node(&node, &c), VS_OK);
    collect();
    VS_CHECK_EQ_INT(pthread_create(&th, NULL, isr_thread, (void *)&done), 0);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) == 0 || vs_node_has_work(&node)) {
        (void)vs_node_poll(&node);
        collect();
        errors += out.errors;
        scores += (uint32_t)out.n_scores;
    }
    VS_CHECK_EQ_INT(errors, 0);
    VS_CHECK_EQ_INT(pthread_join(th, NULL), 0);
    VS_CHECK_EQ_INT(done, 1);
    (void)vs_node_poll(&node);
    collect();
    scores += (uint32_t)out.n_scores;
    const vs_node_counters_t *k = vs_node_counters(&node);
    VS_CHECK_EQ_INT(k->blocks + k->ring_overruns, ISR_BLOCKS);
    VS_CHECK_EQ_INT(k->overrun_samples, k->ring_overruns * ISR_BLOCK);
    VS_CHECK(k->discontinuities <= k->ring_overruns);
    VS_CHECK_EQ_INT(k->frames, k->analysed);
    VS_CHECK_EQ_INT(scores, k->analysed);
    VS_CHECK(k->analysed > 100u);
    /* without overruns every sample made it into a frame */
    if (k->ring_overruns == 0u) {
        VS_CHECK_EQ_INT(k->analysed, (ISR_BLOCKS * ISR_BLOCK - VS_FEAT_FRAME_LENGTH) / VS_FEAT_HOP_LENGTH + 1u);
    }
}

int main(void)
{
    test_init_errors();
    test_boot_record();
    test_status_timing();
    test_framing_independent_of_blocks();
    test_trigger_skips_quiet_frames();
    test_overrun_restarts_framing();
    test_commands();
    test_alarm_raise_captures_raw();
    test_long_capture_streams();
    test_garbage();
    test_isr_thread_against_main_loop();
    VS_TEST_DONE();
}
