/*
 * vs_bench_main.c - one node frame through the whole pipeline, portable (host, QEMU Cortex-M4, RV32 link):
 * trigger -> features (in place) -> [z-score, int8 autoencoder, reconstruction MSE] -> alarm -> SCORE wire
 * frame, then CMSIS-DSP's own arm_mfcc_f32 (1024, 20 mel, 13 DCT) and arm_rfft_fast_f32 on the same frame for
 * comparison.
 *
 * Regions are delimited by calls to vs_bench_mark(); benchmarks/bench_c_qemu.py counts the instructions QEMU
 * executes between consecutive marks (an execution trace, deterministic). Results are printed as the hex bit
 * patterns of the float32 values, so the parity test compares them exactly with no printf float support.
 * The frame and the MFCC tables come from vs_bench_data.h (benchmarks/qemu/gen_bench_data.py).
 * The model part is compiled when VS_BENCH_HAVE_MODEL is defined (a vs_model_data.[ch] export on the path).
 */
#include <stdint.h>
#include <string.h>

#include "arm_math.h"
#include "vs/vs_alarm.h"
#include "vs/vs_features.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_protocol.h"
#include "vs/vs_trigger.h"
#include "vs_bench_data.h"

#ifdef VS_BENCH_HAVE_MODEL
#include "vs/vs_model.h"
#include "vs_model_data.h"
#endif

#define N VS_FEAT_FRAME_LENGTH
#define BLOCK 256

#if VS_BENCH_FRAME_LENGTH != VS_FEAT_FRAME_LENGTH
#error "vs_bench_data.h was generated for another frame length"
#endif

/* Node pipeline state: what a real node keeps in RAM. */
static vs_trigger_t trigger;
static float trigger_ring[N];
/* Raw int16 path of the trigger: the frame as ADC counts (word-aligned, like a DMA buffer). */
static vs_trigger_t bench_trigger_i16; /* bench_: a node keeps one of the two trigger rings */
static int16_t bench_trigger_ring_i16[N] __attribute__((aligned(4)));
static int16_t bench_counts[N] __attribute__((aligned(4)));
static vs_features_t features;
static float scratch[VS_FEATURES_SCRATCH_LEN];
static float feats[VS_FEAT_N_FEATURES];
static vs_alarm_t alarm;
static vs_proto_msg_t msg;
static uint8_t wire[VS_PROTO_MAX_WIRE];
#ifdef VS_BENCH_HAVE_MODEL
static int32_t arena[VS_MODEL_ARENA_WORDS];
static int8_t model_in[VS_MODEL_INPUT_BYTES];
static int8_t model_out[VS_MODEL_OUTPUT_BYTES];
static float zin[VS_FEAT_N_FEATURES];
#endif

/* Comparison-only buffers (prefixed bench_ so the RAM report can leave them out). */
static arm_mfcc_instance_f32 bench_mfcc;
static arm_rfft_fast_instance_f32 bench_rfft;
static float bench_src[N];
static float bench_tmp[2 * N]; /* arm_cmplx_mag_f32 inside arm_mfcc_f32 reads 2 * fftLen floats */
static float bench_mfcc_out[VS_BENCH_N_DCT];

void vs_bench_mark(uint32_t id);

__attribute__((noinline)) void vs_bench_mark(uint32_t id)
{
    /* Keeps the call (and id) observable in the instruction trace; costs a handful of instructions that the
     * benchmark measures with an empty region and subtracts. */
    __asm__ volatile("" : : "r"(id) : "memory");
}

static void put_hex(const char *tag, int index, uint32_t bits)
{
    static const char digits[] = "0123456789abcdef";
    char line[40];
    size_t n = 0;
    while (*tag != '\0' && n < 12) {
        line[n++] = *tag++;
    }
    line[n++] = ' ';
    if (index >= 0) {
        if (index >= 100) {
            line[n++] = (char)('0' + index / 100);
        }
        if (index >= 10) {
            line[n++] = (char)('0' + (index / 10) % 10);
        }
        line[n++] = (char)('0' + index % 10);
        line[n++] = ' ';
    }
    for (int s = 28; s >= 0; s -= 4) {
        line[n++] = digits[(bits >> s) & 0xFu];
    }
    line[n++] = '\n';
    line[n] = '\0';
    vs_platform_console_write(line);
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

#ifdef VS_BENCH_HAVE_MODEL
/* Anomaly score: mean squared reconstruction error of the z-scored features (the autoencoder's score). */
static float score_frame(const float *x)
{
    for (int i = 0; i < VS_FEAT_N_FEATURES; i++) {
#ifdef VS_MODEL_N_FEATURES
        zin[i] = (x[i] - vs_model_norm_mean[i]) / vs_model_norm_std[i];
#else
        zin[i] = x[i];
#endif
        model_in[i] = vs_model_quantize_input(&vs_model, zin[i]);
    }
    if (vs_model_run_s8(&vs_model, arena, sizeof arena, model_in, model_out) != VS_OK) {
        return -1.0f;
    }
    float acc = 0.0f;
    for (int i = 0; i < VS_FEAT_N_FEATURES; i++) {
        const float d = vs_model_dequantize_output(&vs_model, model_out[i]) - zin[i];
        acc += d * d;
    }
    return acc / (float)VS_FEAT_N_FEATURES;
}
#endif

int main(void)
{
    const vs_trigger_config_t tcfg = {0.0f, 0.0f, N, 0u, N}; /* heartbeat every frame: always analyse */
    const vs_alarm_rule_t rule = {1.0f, 0.5f, 3u, 5u};
    int fired = 0;
    float score = 0.0f;
    int event;

    if (vs_trigger_init(&trigger, &tcfg, trigger_ring) != VS_OK || vs_features_init(&features) != VS_OK ||
        vs_alarm_init(&alarm, &rule) != VS_OK) {
        vs_platform_console_write("INIT FAILED\n");
        vs_platform_exit(1);
    }
    if (arm_mfcc_init_1024_f32(&bench_mfcc, VS_BENCH_N_MEL, VS_BENCH_N_DCT, vs_bench_dct, vs_bench_mel_pos,
                               vs_bench_mel_len, vs_bench_mel_coefs, vs_bench_window) != ARM_MATH_SUCCESS ||
        arm_rfft_fast_init_1024_f32(&bench_rfft) != ARM_MATH_SUCCESS) {
        vs_platform_console_write("CMSIS INIT FAILED\n");
        vs_platform_exit(1);
    }

    /* The frame as counts of a +-8 g, 16-bit accelerometer (4096 counts per g), outside the measured regions. */
    const float g_per_count = 1.0f / 4096.0f;
    for (int i = 0; i < N; i++) {
        float c = vs_bench_frame[i] * 4096.0f;
        c = c > 32767.0f ? 32767.0f : (c < -32768.0f ? -32768.0f : c);
        bench_counts[i] = (int16_t)(c >= 0.0f ? c + 0.5f : c - 0.5f);
    }
    int fired_i16 = 0;
    if (vs_trigger_init_i16(&bench_trigger_i16, &tcfg, bench_trigger_ring_i16, g_per_count) != VS_OK) {
        vs_platform_console_write("INIT FAILED\n");
        vs_platform_exit(1);
    }

    vs_bench_mark(0);
    vs_bench_mark(1); /* 0 -> 1: empty region, the marker overhead */
    for (int b = 0; b < N / BLOCK; b++) {
        fired = vs_trigger_push_f32(&trigger, vs_bench_frame + b * BLOCK, BLOCK);
    }
    vs_bench_mark(2); /* 1 -> 2: trigger on 4 blocks of 256 samples */
    vs_trigger_copy_frame(&trigger, scratch);
    (void)vs_features_compute_f32(&features, scratch, scratch, feats);
    vs_bench_mark(3); /* 2 -> 3: frame copy + features */
#ifdef VS_BENCH_HAVE_MODEL
    score = score_frame(feats);
#endif
    vs_bench_mark(4); /* 3 -> 4: z-score + int8 autoencoder + MSE */
    event = vs_alarm_step_f32(&alarm, score);
    vs_bench_mark(5); /* 4 -> 5: alarm rule */
    memcpy(bench_src, vs_bench_frame, sizeof bench_src);
    arm_mfcc_f32(&bench_mfcc, bench_src, bench_mfcc_out, bench_tmp);
    vs_bench_mark(6); /* 5 -> 6: memcpy + arm_mfcc_f32 (1024, 20 mel, 13 DCT) */
    memcpy(bench_src, vs_bench_frame, sizeof bench_src);
    arm_rfft_fast_f32(&bench_rfft, bench_src, bench_tmp, 0);
    vs_bench_mark(7); /* 6 -> 7: memcpy + arm_rfft_fast_f32 (1024) */
    msg.header.type = VS_MSG_SCORE;
    msg.header.node_id = 7u;
    msg.header.seq = 1u;
    msg.header.timestamp_us = 85333u; /* one 1024-sample frame at 12 kHz */
    msg.u.score.score = score;
    msg.u.score.threshold = rule.threshold;
    msg.u.score.alarm_state = (uint8_t)vs_alarm_state(&alarm);
    msg.u.score.class_index = -1;
#if VS_FEAT_HAS_STATS
    msg.u.score.rms_g = feats[VS_FEAT_STATS_OFFSET + 1];
    msg.u.score.peak_g = feats[VS_FEAT_STATS_OFFSET + 2];
#endif
#if VS_FEAT_HAS_VELOCITY_RMS
    msg.u.score.velocity_rms_mm_s = feats[VS_FEAT_VELOCITY_INDEX];
#endif
    msg.u.score.frame_index = 0u;
    size_t wire_len = 0;
    const int enc = vs_proto_encode(&msg, wire, sizeof wire, &wire_len);
    vs_bench_mark(8); /* 7 -> 8: SCORE message, COBS + CRC-32 */
    for (int b = 0; b < N / BLOCK; b++) {
        fired_i16 = vs_trigger_push_i16(&bench_trigger_i16, bench_counts + b * BLOCK, BLOCK);
    }
    vs_bench_mark(9); /* 8 -> 9: trigger on raw int16 counts, 4 blocks of 256 samples */
#ifdef VS_BENCH_HAVE_MODEL
    (void)vs_model_run_s8(&vs_model, arena, sizeof arena, model_in, model_out);
#endif
    vs_bench_mark(10); /* 9 -> 10: the INT8 model alone (vs_model_run_s8 on the same input again) */

    vs_platform_console_write("HASH " VS_FEATURE_HASH_HEX "\n");
    put_hex("TRIGGER", -1, (uint32_t)fired);
    put_hex("TRIGGER_I16", -1, (uint32_t)fired_i16);
    put_hex("RMS_I16", -1, float_bits(bench_trigger_i16.last_rms));
    put_hex("PEAK_I16", -1, float_bits(bench_trigger_i16.last_peak));
    for (int i = 0; i < VS_FEAT_N_FEATURES; i++) {
        put_hex("FEAT", i, float_bits(feats[i]));
    }
#ifdef VS_BENCH_HAVE_MODEL
    put_hex("SCORE", -1, float_bits(score));
    /* The model's int8 input and output, so a test can run the same input through TFLite's reference. */
    for (int i = 0; i < (int)VS_MODEL_INPUT_BYTES; i++) {
        put_hex("IN", i, (uint32_t)(uint8_t)model_in[i]);
    }
    for (int i = 0; i < (int)VS_MODEL_OUTPUT_BYTES; i++) {
        put_hex("OUT", i, (uint32_t)(uint8_t)model_out[i]);
    }
#endif
    put_hex("EVENT", -1, (uint32_t)event);
    for (int i = 0; i < VS_BENCH_N_DCT; i++) {
        put_hex("MFCC", i, float_bits(bench_mfcc_out[i]));
    }
    if (enc == 0 && wire_len <= 64u) {
        static const char digits[] = "0123456789abcdef";
        char line[8 + 2 * 64 + 2] = "WIRE ";
        size_t n = 5;
        for (size_t i = 0; i < wire_len; i++) {
            line[n++] = digits[wire[i] >> 4];
            line[n++] = digits[wire[i] & 0xFu];
        }
        line[n++] = '\n';
        line[n] = '\0';
        vs_platform_console_write(line);
    } else {
        put_hex("WIRE_ERROR", -1, (uint32_t)enc);
    }
    put_hex("STACK", -1, vs_platform_stack_high_water());
    vs_platform_console_write("DONE\n");
    /* Exit through the port rather than returning: what a C runtime does after main differs per target. */
    vs_platform_exit(0);
    return 0;
}
