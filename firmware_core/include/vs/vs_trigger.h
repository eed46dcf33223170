/*
 * vs_trigger.h - decides when a node analyses a frame, so the features and the model run only when
 * something happens (or a heartbeat is due) instead of on every frame.
 *
 * Fed with sample blocks of any length (a DMA half-buffer, a replayed chunk). Per block, in this order:
 *   1. the samples enter a ring holding the latest frame_length samples (the frame to analyse);
 *   2. the block's level is measured around its own mean (gravity and bias offsets do not count), in one
 *      pass about the first sample k: c = x - k, s1 = sum c, s2 = sum c^2 (float32, in sample order),
 *      d = s1 / n, rms = sqrt(max(s2 / n - d^2, 0)), peak = max(max(c, 0) - d, d - min(c, 0));
 *   3. reasons = RMS (rms > rms_threshold) | PEAK (peak > peak_threshold) | WAKE (a wake request is pending)
 *      | HEARTBEAT (samples since the last analysis >= heartbeat_samples); a threshold or period of 0 disables
 *      that reason;
 *   4. with reasons set, the block is ANALYSED unless the hold-off is running (fewer than holdoff_samples
 *      since the last analysis) or fewer than frame_length samples were ever seen; then it is SKIPPED if it
 *      carried a level reason (RMS/PEAK). WAKE and HEARTBEAT stay pending and fire at the first block after
 *      the hold-off. An analysis resets the heartbeat and hold-off clocks and consumes pending wake requests.
 * Time is counted in samples, so the machine is deterministic and host-testable on recorded signals
 * (tests/firmware/test_c_trigger.py replays sample_data against a Python model of the same rules).
 *
 * Raw int16 path (vs_trigger_init_i16 + vs_trigger_push_i16): the same rules on raw ADC counts, for nodes that
 * keep samples as int16 until a frame is analysed. Step 2 is computed exactly in integers (s1 = sum x,
 * s2 = sum x^2 in 64 bits, max, min; about 3.5 instructions per sample on Cortex-M4 with the DSP extension),
 * then in float per block: rms = sqrt(n s2 - s1^2) / n * scale, peak = max(max - s1/n, s1/n - min) * scale,
 * scale in input units (g) per count; thresholds stay in input units. It differs from the float32 path only
 * by the float path's rounding. vs_trigger_copy_frame converts the int16 frame to float (count * scale).
 *
 * Memory: caller-owned vs_trigger_t (~70 bytes) plus a frame buffer of frame_length floats (or int16 for the
 * raw path) passed to _init.
 * ISR safety: vs_trigger_wake_from_isr may be called from one interrupt priority level (it is the only writer
 * of wake_requests, a 32-bit word: atomic on Cortex-M and RV32); everything else from the sampling loop.
 */
#ifndef VS_TRIGGER_H
#define VS_TRIGGER_H

#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reason bits returned by vs_trigger_push_f32 when a frame is to be analysed. */
#define VS_TRIGGER_RMS 0x1u
#define VS_TRIGGER_PEAK 0x2u
#define VS_TRIGGER_WAKE 0x4u
#define VS_TRIGGER_HEARTBEAT 0x8u

typedef struct {
    float rms_threshold;        /* block RMS above this triggers (input unit); 0 disables */
    float peak_threshold;       /* block |x - mean| above this triggers; 0 disables */
    uint32_t heartbeat_samples; /* analyse at least this often (samples); 0 disables */
    uint32_t holdoff_samples;   /* no analysis within this many samples after one */
    uint32_t frame_length;      /* samples per analysed frame (the ring length), >= 1 */
} vs_trigger_config_t;

typedef struct {
    vs_trigger_config_t cfg;
    float *ring;                      /* caller's buffer, cfg.frame_length floats */
    uint32_t head;                    /* next ring slot to write */
    uint32_t seen;                    /* samples ever pushed, saturating */
    uint32_t since_analysis;          /* samples since the last analysis (or init), saturating */
    volatile uint32_t wake_requests;  /* incremented by vs_trigger_wake_from_isr only */
    uint32_t wake_served;             /* wake_requests value at the last analysis */
    uint32_t blocks;                  /* counters: blocks pushed, */
    uint32_t analysed;                /* frames analysed, */
    uint32_t skipped;                 /* level-triggered blocks not analysed (hold-off or warm-up) */
    float last_rms;                   /* level of the last block, for telemetry */
    float last_peak;
    int16_t *ring_i16;                /* raw path: caller's buffer of cfg.frame_length counts (ring is NULL) */
    float scale;                      /* raw path: input units per count */
} vs_trigger_t;

/* VS_ERR_ARG on NULL, frame_length 0 or negative / non-finite thresholds. frame_buffer must stay valid. */
int vs_trigger_init(vs_trigger_t *t, const vs_trigger_config_t *cfg, float *frame_buffer);

/* Push n >= 1 samples. Returns 0 (nothing to do), a positive mask of VS_TRIGGER_* reasons (analyse the frame
 * now: vs_trigger_copy_frame gives it), or VS_ERR_ARG. */
int vs_trigger_push_f32(vs_trigger_t *t, const float *block, uint32_t n);

/* Raw int16 path: as vs_trigger_init, with a frame buffer of frame_length int16 counts and scale > 0 (input
 * units per count, finite). Word-aligned blocks and buffer take the DSP fast path on Cortex-M4. */
int vs_trigger_init_i16(vs_trigger_t *t, const vs_trigger_config_t *cfg, int16_t *frame_buffer, float scale);

/* Push 1 <= n <= 32768 raw counts (exact integer sums need the bound). Returns as vs_trigger_push_f32;
 * VS_ERR_STATE if t was initialised for floats (and vs_trigger_push_f32 returns it for a raw trigger). */
int vs_trigger_push_i16(vs_trigger_t *t, const int16_t *block, uint32_t n);

/* Copy the latest frame_length samples, oldest first, into dst[frame_length] (counts * scale on the raw
 * path). */
void vs_trigger_copy_frame(const vs_trigger_t *t, float *dst);

/* Request an analysis at the next block (accelerometer wake-up interrupt). ISR-safe, see above. */
void vs_trigger_wake_from_isr(vs_trigger_t *t);

#ifdef __cplusplus
}
#endif

#endif /* VS_TRIGGER_H */
