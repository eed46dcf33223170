/* libFuzzer target for vs_node's command path: whatever arrives on the UART, the node answers every valid
 * command addressed to it with exactly one ACK or NACK, sends only well-formed frames, and keeps streaming.
 *
 * Built by tests/firmware/test_c_node_fuzz.py with clang -fsanitize=fuzzer,address,undefined from src/*.c, port/host/*.c
 * and the CMSIS-DSP sources of the Makefile (no model: the score path without a model).
 *
 * Input: byte 0 = piece size - 1 in which the rest is delivered to vs_node_rx_bytes; after each piece the host
 * fake clock advances by (piece[0] * 10 ms), a block of 100 sensor samples is pushed, and vs_node_poll runs
 * (STATUS, RAW_CHUNK, the drain). Invariants (abort = crash for libFuzzer):
 *   - no out-of-bounds access or undefined behaviour (ASan/UBSan);
 *   - the node's output decodes with no error;
 *   - ACKs + NACKs sent == valid frames received for this node (rx_frames - rx_foreign);
 *   - afterwards, REPLAY blocks 0.. of a fresh stream are ACKed one each and produce SCOREs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../port/host/vs_host_fakes.h"
#include "vs/vs_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vs_node_t node;
static vs_proto_decoder_t dec;
static vs_proto_msg_t msg;
static uint8_t out[VS_HOST_TX_CAPACITY];
static uint8_t wire[VS_PROTO_MAX_WIRE];
static uint32_t replies, scores;

static void check_output(void)
{
    const size_t n = vs_host_uart_tx_take(out, sizeof out);
    for (size_t i = 0; i < n; i++) {
        const int r = vs_proto_decoder_push(&dec, out[i], &msg);
        if (r < 0) {
            abort(); /* the node sent a malformed frame */
        }
        if (r == 1) {
            replies += msg.header.type == VS_MSG_ACK || msg.header.type == VS_MSG_NACK;
            scores += msg.header.type == VS_MSG_SCORE;
        }
    }
    if (vs_host_uart_tx_overflow() != 0u) {
        abort();
    }
}

static void check_replies(void)
{
    const vs_node_counters_t *c = vs_node_counters(&node);
    uint32_t sent = c->acks;
    for (uint32_t i = 0; i < VS_NODE_NACK_REASONS; i++) {
        sent += c->nacks[i];
    }
    if (sent != replies || sent != c->rx_frames - c->rx_foreign) {
        abort();
    }
}

static void send_cmd(uint32_t seq)
{
    size_t len = 0;
    msg.header.node_id = 7;
    msg.header.seq = seq;
    msg.header.timestamp_us = 0;
    if (vs_proto_encode(&msg, wire, sizeof wire, &len) != VS_OK) {
        abort();
    }
    (void)vs_node_rx_bytes(&node, wire, len);
    check_output();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float block[100];
    vs_node_config_t cfg;
    uint64_t t = 0;
    if (size == 0U) {
        return 0;
    }
    vs_host_reset();
    memset(&cfg, 0, sizeof cfg);
    cfg.node_id = 7;
    cfg.heartbeat_frames = 1;
    cfg.alarm.threshold = 0.5f;
    cfg.alarm.clear_threshold = 0.25f;
    cfg.alarm.k = 1;
    cfg.alarm.n = 2;
    cfg.status_period_ms = 100;
    cfg.hello_every_status = 3;
    cfg.features_every = 2;
    cfg.raw_capture_samples = 700;
    if (vs_node_init(&node, &cfg) != VS_OK || vs_node_start(&node) != VS_OK) {
        abort();
    }
    vs_proto_decoder_init(&dec);
    replies = scores = 0;
    check_output();
    const size_t chunk = (size_t)data[0] + 1U;
    for (size_t pos = 1; pos < size; pos += chunk) {
        const size_t piece = size - pos < chunk ? size - pos : chunk;
        (void)vs_node_rx_bytes(&node, data + pos, piece);
        t += (uint64_t)data[pos] * 10000u;
        vs_host_clock_set_us(t);
        for (int i = 0; i < 100; i++) {
            block[i] = (float)((int)((pos + (size_t)i) % 37u) - 18) * 0.02f;
        }
        (void)vs_node_push_samples_f32(&node, block, 100);
        (void)vs_node_poll(&node);
        check_output();
        check_replies();
    }
    /* Still streaming: a 0x00 ends any partial frame, then a fresh replay stream gives SCOREs. */
    static const uint8_t zero = 0;
    (void)vs_node_rx_bytes(&node, &zero, 1);
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_SET_THRESHOLD;
    msg.u.set_threshold.threshold = 1e30f;
    msg.u.set_threshold.clear_threshold = 1e29f;
    msg.u.set_threshold.k = 1;
    msg.u.set_threshold.n = 1;
    send_cmd(0xF00D0000u ^ node.last_cmd_seq); /* a seq that cannot repeat the last command's */
    const uint32_t replies_before = replies, scores_before = scores;
    const uint32_t blocks = 3u * VS_FEAT_FRAME_LENGTH / VS_PROTO_MAX_SAMPLES_F32 + 1u;
    for (uint32_t b = 0; b < blocks; b++) {
        memset(&msg, 0, sizeof msg);
        msg.header.type = VS_MSG_REPLAY_SAMPLES;
        msg.u.replay.block_index = b;
        msg.u.replay.sample_rate_hz = VS_FEAT_SAMPLE_RATE;
        msg.u.replay.sample_format = VS_PROTO_FMT_F32;
        msg.u.replay.count = VS_PROTO_MAX_SAMPLES_F32;
        for (uint32_t i = 0; i < VS_PROTO_MAX_SAMPLES_F32; i++) {
            msg.u.replay.samples.f32[i] = (float)((int)(i % 29u) - 14) * 0.03f;
        }
        send_cmd(0xF00E0000u + b);
    }
    check_replies();
    if (replies - replies_before != blocks || scores - scores_before < 2u) {
        abort();
    }
    return 0;
}
