/*
 * vs_node.h - the node application core: what a sensor node's firmware runs between its sampling interrupt
 * and its UART, portable C99, identical on STM32 (firmware_stm32), ESP32 (firmware_esp32), the RV32 QEMU
 * port and the host (ctypes: `vibsentry simulate` and the parity tests drive this very code).
 *
 *   sampling ISR / DMA callback --vs_node_push_samples_*--> [sample ring, lock-free SPSC (vs_ring.h)]
 *   main loop: vs_node_poll
 *     drain ring in hops of VS_FEAT_HOP_LENGTH samples -> pre-trigger raw ring (int16)
 *       -> vs_trigger (one hop = one trigger block) -> when it fires: the last VS_FEAT_FRAME_LENGTH samples
 *       -> vs_features -> z-score with the bundle's mean/std -> int8 model (vs_model) -> score
 *       -> vs_alarm -> SCORE [, ALARM raise/clear] [, FEATURES every features_every analysed frames]
 *          [, RAW_CHUNK capture of the pre-trigger ring on a raise]
 *     received bytes (vs_platform_uart_read, or vs_node_rx_bytes) -> vs_proto decoder -> commands, each
 *       answered by exactly one ACK or NACK: SET_THRESHOLD, REQUEST_RAW, REPLAY_SAMPLES, MODEL_BEGIN /
 *       MODEL_MANIFEST / MODEL_CHUNK / MODEL_COMMIT (vs_model_update.h: signed A/B slot updates, enabled by
 *       vs_node_enable_model_update; NACK unsupported without it). MODEL_STATUS follows every HELLO, every
 *       refused update step, BEGIN, COMMIT, and every TRIAL -> CONFIRMED/REVERTED change. A retry (same type and seq as the last command)
 *       gets the same answer again and is not executed twice (docs/protocol.md, "Host -> node").
 *       SET_THRESHOLD keeps the alarm state and the newest min(count, n) scores of its history.
 *       BASELINE_LEARN (vs_baseline.h): START learns from the next n analysed frames (NACK BAD_VALUE for
 *       n < VS_PROTO_MIN_BASELINE_FRAMES, BUSY while a model update is staged; a START while learning starts
 *       over), ABORT (BAD_STATE when not learning), CLEAR; MODEL_BEGIN is NACKed BUSY while learning.
 *       BASELINE_PROGRESS follows the reply of every accepted BASELINE_LEARN, every STATUS while learning,
 *       the end of learning (DONE / FAILED), and HELLO at boot when a baseline is stored (DONE) or a stored
 *       one failed its checks (FAILED: ignored).
 *     HELLO at start (boot counter and reset reason from the platform) and before every hello_every_status-th
 *     STATUS; STATUS and right after it HEALTH (vs_node_counters_t) every status_period_ms of platform clock;
 *     watchdog fed once per healthy poll.
 *
 * Frames and analysis. Frame i is samples [i*hop, i*hop + frame_length) of the stream since the last
 * discontinuity, exactly as vibsentry.dsp frames a recording; frame_index counts every completed frame since
 * start (analysed or not). The trigger is vs_trigger's rule (vs_trigger.h) with each hop pushed as one block:
 * the level thresholds apply to the hop's samples, heartbeat and hold-off are counted in frames here. With
 * thresholds 0 and heartbeat_frames 1 every frame is analysed. A discontinuity (ring overrun in the ISR, a
 * REPLAY gap, the switch from sensor to replay) restarts framing: the next frame is complete frame_length
 * samples later. Output for given samples, commands and clock readings is deterministic.
 *
 * Raw captures (RAW_CHUNK; on an alarm raise, cfg.raw_capture_samples, and on REQUEST_RAW). A capture of
 * n <= VS_NODE_RAW_CAPACITY samples is the last n recorded (fewer right after boot): the raw ring is frozen
 * while its chunks go out, one per vs_node_poll. A longer one (n <= VS_NODE_RAW_MAX_SAMPLES) is the last
 * min(recorded, VS_NODE_RAW_CAPACITY) samples followed by the ones recorded next, streamed as they arrive:
 * the ring keeps recording, each chunk goes out once its samples are all in (at the next poll, or at the
 * latest just before the ring would overwrite its first sample), so diagnosis gets seconds of signal from
 * 4 KiB of RAM. The UART must carry the sample rate: 12 kHz int16 in 1020-byte frames is 24.5 kB/s, over
 * 245 kbaud at 10 bits a byte; the ports run 921600 baud. Samples a discontinuity dropped are missing from
 * it (the capture is what the node recorded).
 *
 * REPLAY_SAMPLES: block_index must follow the previous block; a gap is dropped, NACKed OUT_OF_ORDER, counted,
 * and restarts framing (the next block continues from the new index); block 0 always starts a new stream.
 *
 * Score. Autoencoder bundles (the model's output has VS_FEAT_N_FEATURES elements): z = (f - mean) / std in
 * float32, quantized with the model's input scale, run, dequantized; score = sum_j (y_j - zq_j)^2 / n summed
 * in feature order with zq the dequantized input - vibsentry.runtime.score.autoencoder_score, bit for bit.
 * Without a model (cfg.model NULL) the score is the mean squared z-score (the same sum without the model).
 * With a learned baseline (BASELINE_PROGRESS DONE) the score is the baseline's: the mean squared z-score of the
 * features against the learned mean/std (vs_baseline_score); the model still runs (a TRIAL model's health
 * counts its output) but does not score. The alarm thresholds become the learned ones (k and n stay the rule's;
 * a SET_THRESHOLD overrides them until the next boot, model switch or learning); the alarm restarts (OK)
 * whenever the scoring changes (learning ends DONE, CLEAR, model switch).
 *
 * Memory: vs_node_t is caller-owned (static in firmware), every buffer inside, sizes fixed at compile time:
 *   sample ring      VS_NODE_RING_SAMPLES floats          (default 1024: 4 KiB, 85 ms at 12 kHz)
 *   trigger frame    VS_FEAT_FRAME_LENGTH floats          (4 KiB at 1024)
 *   work             VS_FEATURES_SCRATCH_LEN floats       (8 KiB at 1024): the feature scratch, sharing its
 *                    memory with the staged hop, the protocol message (vs_proto_msg_t, 1048 B, rx and tx) and
 *                    the wire frame buffer (VS_PROTO_MAX_WIRE = 1050 B) - vs_node_work_t says why that is safe
 *   raw ring         VS_NODE_RAW_CAPACITY int16           (default 2048: 4 KiB, 0.17 s at 12 kHz)
 *   model arena      VS_NODE_ARENA_BYTES                  (default 256; init fails if the model needs more)
 *   protocol decoder 1092 B (a partly received frame survives between polls, so it has its own memory)
 * Total with the defaults and a 1024-sample frame: sizeof(vs_node_t) = 24032 B on Cortex-M4F and RV32IMC
 * (25408 B before the message and wire buffer moved into the scratch, 23304 B before baseline learning), under
 * the 24 KiB budget of the feature core; vs_node.o is 5.9 KB of Cortex-M4 text at -Os (bench_node_size.py).
 * vs_node_instance_size() returns sizeof(vs_node_t) for bindings (ctypes). No malloc; stack use of
 * vs_node_poll is dominated by vs_features/vs_model (measured by the ports' stack painting).
 *
 * Concurrency: vs_node_push_samples_i16/_f32 and vs_node_wake_from_isr are ISR-safe for ONE producer
 * context (one interrupt priority, or one task); everything else runs in the main loop only.
 */
#ifndef VS_NODE_H
#define VS_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_alarm.h"
#include "vs/vs_baseline.h"
#include "vs/vs_features.h"
#include "vs/vs_model.h"
#include "vs/vs_model_update.h"
#include "vs/vs_protocol.h"
#include "vs/vs_ring.h"
#include "vs/vs_status.h"
#include "vs/vs_trigger.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- compile-time sizes (override with -D; powers of two where noted) ---------------------------------- */
#ifndef VS_NODE_RING_SAMPLES
#define VS_NODE_RING_SAMPLES 1024U /* power of two, >= VS_PROTO_MAX_SAMPLES_I16 */
#endif
#ifndef VS_NODE_RAW_CAPACITY
#define VS_NODE_RAW_CAPACITY 2048U /* int16 samples of pre-trigger history, >= VS_NODE_RAW_CHUNK_SAMPLES */
#endif
/* Longest raw capture (samples). Captures longer than the raw ring stream: see "Raw captures" above. */
#ifndef VS_NODE_RAW_MAX_SAMPLES
#define VS_NODE_RAW_MAX_SAMPLES 120000U /* 10 s at 12 kHz; chunk_count (u16) allows 65535 x 500 */
#endif
#ifndef VS_NODE_ARENA_BYTES
#define VS_NODE_ARENA_BYTES 256U /* model activation arena, multiple of 4 (40-32-16-32-40 AE: 80 B) */
#endif
#define VS_NODE_RX_CHUNK 64U     /* bytes moved from the UART port per read */
/* Samples per RAW_CHUNK frame: docs/protocol.md wants every chunk but the last full (500 int16 = a 1020-byte
 * frame, 89 ms of UART at 115200 baud, longer than the 85 ms the default sample ring covers: run the UART at
 * >= 230400 baud, or raise VS_NODE_RING_SAMPLES). */
#define VS_NODE_RAW_CHUNK_SAMPLES VS_PROTO_MAX_SAMPLES_I16
#define VS_NODE_NACK_REASONS VS_PROTO_NACK_SLOTS /* nacks[] index = VS_PROTO_NACK_* code; [0] = codes >= 16 */

/* Raw captures: int16 at this many g per LSB (+-16 g full scale), as the Python node always sent. */
#define VS_NODE_RAW_SCALE_G (16.0f / 32767.0f)

/* Status codes: VS_NODE_E_OVERRUN (-140, the sample ring was full) from specs/status_codes.toml via
 * vs/vs_status.h. */

/* --- configuration ----------------------------------------------------------------------------------- */
typedef struct {
    uint16_t node_id;            /* protocol node id, 0..65534 */
    const char *fw_version;      /* HELLO, <= VS_PROTO_MAX_STRING printable ASCII; NULL = "vs_node" */
    const char *machine;         /* HELLO, <= VS_PROTO_MAX_STRING printable ASCII; NULL = "" */
    float trigger_rms_g;         /* analyse when a hop's RMS about its mean exceeds this (g); 0 disables */
    float trigger_peak_g;        /* ... or its peak |x - mean| exceeds this (g); 0 disables */
    uint32_t heartbeat_frames;   /* analyse at least every this many frames; 1 = every frame; 0 disables */
    uint32_t holdoff_frames;     /* no analysis within this many frames after one (0: none) */
    vs_alarm_rule_t alarm;       /* threshold, clear threshold, k of n (vs_alarm.h) */
    const vs_model_t *model;     /* generated int8 autoencoder (vs_model_data.c), or NULL (see Score) */
    const float *norm_mean;      /* VS_FEAT_N_FEATURES floats (vs_model_norm_mean) or NULL: no z-score */
    const float *norm_std;       /* VS_FEAT_N_FEATURES floats, all > 0, or NULL */
    const uint8_t *model_hash;   /* 32 raw bytes for HELLO (sha256 of model.tflite), NULL = zeros */
    uint32_t status_period_ms;   /* STATUS period of platform clock; 0 disables */
    uint32_t hello_every_status; /* repeat HELLO before every this many-th STATUS; 0 = only at start */
    uint32_t features_every;     /* FEATURES (log-mel, else the whole vector) every this many analysed frames */
    uint32_t raw_capture_samples; /* RAW_CHUNK capture length on alarm raise, <= VS_NODE_RAW_MAX_SAMPLES; 0 off */
} vs_node_config_t;

/* Counters reported in STATUS (u32, wrap). Written by the main loop except the ISR-side ones marked. */
typedef struct {
    uint32_t boot_counter;     /* from the persistent boot record, this boot included */
    uint32_t watchdog_resets;  /* boots whose reset reason was VS_RESET_WATCHDOG, from the boot record */
    uint8_t reset_reason;      /* VS_RESET_* of this boot */
    uint32_t blocks;           /* ISR: sample blocks accepted into the ring */
    uint32_t ring_overruns;    /* ISR: blocks dropped because the ring was full */
    uint32_t overrun_samples;  /* ISR: samples in those blocks */
    uint32_t hops;             /* hop blocks pushed into the trigger */
    uint32_t frames;           /* complete frames (analysed + skipped) */
    uint32_t analysed;         /* frames run through features, model and alarm */
    uint32_t skipped;          /* complete frames not analysed */
    uint32_t tx_frames;        /* wire frames sent */
    uint32_t rx_frames;        /* valid frames received */
    uint32_t rx_errors;        /* received frames rejected by the decoder (CRC, COBS, length, ...) */
    uint32_t rx_foreign;       /* valid frames addressed to another node id (ignored, no reply) */
    uint32_t rx_duplicates;    /* retried commands (same type and seq as the last): answered again, not re-run */
    uint32_t acks;             /* ACKs sent */
    uint32_t nacks[VS_NODE_NACK_REASONS]; /* NACKs sent, by VS_PROTO_NACK_* reason */
    uint32_t replay_blocks;    /* REPLAY_SAMPLES blocks accepted */
    uint32_t replay_gaps;      /* REPLAY_SAMPLES blocks dropped for a block_index discontinuity */
    uint32_t discontinuities;  /* framing restarts (overrun, replay gap, switch to replay) */
    uint32_t raw_captures;     /* RAW_CHUNK captures started */
    uint32_t ring_high_water;  /* most samples ever waiting in the sample ring */
    uint32_t stack_high_water; /* bytes, vs_platform_stack_high_water() at the last STATUS (0: unknown) */
    uint32_t alarm_raises, alarm_clears;
} vs_node_counters_t;

/* The feature scratch shares its memory with the protocol message and the wire buffer: their lifetimes never
 * overlap. Between polls only io.hop[0..hop_fill) is live (a partly received hop); features run only when a
 * block is complete (hop_fill = 0), overwrite all of scratch, and are done before the SCORE is built in
 * io.msg; a received command is decoded into io.msg and used up (REPLAY samples copied into the ring, MODEL
 * chunks written to flash) before its reply is built there and before the drain that may analyse a frame.
 * The union is as large as its larger member, so any frame/hop configuration stays correct. */
typedef union {
    float scratch[VS_FEATURES_SCRATCH_LEN]; /* vs_features_compute_f32 input (the frame) and work area */
    struct {
        float hop[VS_FEAT_HOP_LENGTH];   /* the hop being received (scratch's first hop, same memory) */
        vs_proto_msg_t msg;              /* the command received / the message being sent (one at a time) */
        uint8_t wire[VS_PROTO_MAX_WIRE]; /* encoded frame being sent (emit only) */
    } io;
} vs_node_work_t;

/* --- instance (caller-owned; fields are private to vs_node.c, listed so the size is known) ------------ */
typedef struct {
    uint32_t magic;
    vs_node_config_t cfg;
    char fw_version[VS_PROTO_MAX_STRING + 1];
    char machine[VS_PROTO_MAX_STRING + 1];
    uint8_t model_hash[VS_PROTO_HASH_SIZE];
    volatile uint32_t gap_seq;  /* ISR: overrun events; the consumer restarts framing when it changes */
    volatile uint32_t gap_pos;  /* ISR: ring position (head) right after the latest dropped block */
    uint32_t gap_seen;          /* main loop: gap_seq already handled */
    volatile uint32_t stop_isr; /* main loop: nonzero while replaying (sensor pushes are dropped) */
    vs_ring_t ring;
    float ring_buf[VS_NODE_RING_SAMPLES];
    vs_trigger_t trigger;
    float trigger_frame[VS_FEAT_FRAME_LENGTH];
    uint32_t hop_fill;          /* samples of the current hop staged in work.io.hop */
    uint32_t stream_samples;    /* samples since the last discontinuity (saturating) */
    vs_features_t features;
    vs_node_work_t work;        /* feature scratch / staged hop + protocol message + wire buffer (above) */
    float feats[VS_FEAT_N_FEATURES];
    float zin[VS_FEAT_N_FEATURES];
    int8_t model_in[VS_FEAT_N_FEATURES];
    int8_t model_out[VS_FEAT_N_FEATURES];
    int32_t arena[VS_NODE_ARENA_BYTES / 4U];
    vs_alarm_t alarm;
    float last_score;
    uint32_t frame_index;       /* next frame's index */
    uint32_t analysed_since_features;
    int16_t raw[VS_NODE_RAW_CAPACITY];
    uint32_t raw_head;          /* samples ever written to raw[] (index = raw_head % capacity) */
    uint32_t raw_frozen;        /* nonzero while a short capture is being sent: raw[] is not written */
    uint32_t cap_live;          /* nonzero while a long (streaming) capture is being sent: raw[] is written */
    uint32_t cap_id, cap_start, cap_count; /* capture being sent: id, first sample (raw_head units), count */
    uint16_t cap_chunk, cap_chunks;
    uint32_t next_capture_id;
    uint32_t replay_next;       /* expected REPLAY block_index */
    uint8_t last_cmd_valid, last_cmd_type, last_reply_reason; /* the last executed command and its answer */
    uint32_t last_cmd_seq;
    uint8_t replay_started;
    uint8_t started;
    uint64_t next_status_us;
    uint32_t n_status;
    uint32_t seq;
    uint64_t last_ts_us;
    vs_proto_decoder_t decoder;
    vs_node_counters_t counters;
    uint8_t update_enabled;     /* vs_node_enable_model_update was called */
    vs_model_update_t update;   /* A/B model slots (vs_model_update.h) */
    vs_baseline_t baseline;     /* on-node baseline learning (vs_baseline.h) */
} vs_node_t;

/* Validate cfg and prepare every module; touches no platform service and sends nothing. VS_ERR_ARG (NULL,
 * bad strings, alarm rule, thresholds), VS_ERR_SIZE (model arena > VS_NODE_ARENA_BYTES, raw capture >
 * VS_NODE_RAW_MAX_SAMPLES), VS_ERR_UNSUPPORTED (model is not an int8 autoencoder of VS_FEAT_N_FEATURES),
 * VS_ERR_CONFIG (vs_features_init failed). The strings and hash are copied; model and norm arrays must stay
 * valid (they are const flash data in firmware). */
int vs_node_init(vs_node_t *node, const vs_node_config_t *cfg);

/* Between init and start: accept signed model updates into the A/B slots behind `io` (vs_model_update.h),
 * verified under keys[0..n_keys) (static storage), a new model confirmed after trial_frames healthy analysed
 * frames. At start the slots' state is loaded and the active slot verified; a slot model (image) then scores
 * instead of cfg.model, with the image's normalisation and alarm rule. VS_ERR_ARG / VS_ERR_STATE. */
int vs_node_enable_model_update(vs_node_t *node, const vs_model_update_io_t *io, const uint8_t (*keys)[32],
                                uint8_t n_keys, uint32_t trial_frames);

/* Boot: read/increment/write the boot record (vs_platform_store), read the reset reason, send HELLO, start
 * STATUS timing and the sampler. Call once, after the port's UART and clock work. VS_ERR_STATE before init. */
int vs_node_start(vs_node_t *node);

/* ISR side: append a block of samples (counts * scale_g_per_lsb, or g). ISR-safe for one producer. The block
 * is accepted whole or dropped whole: VS_OK, VS_NODE_E_OVERRUN (ring full, counted, framing restarts after
 * the gap), VS_ERR_ARG (NULL, n == 0, n > VS_NODE_RING_SAMPLES), VS_ERR_STATE (before vs_node_init; the
 * samples may arrive before vs_node_start and wait in the ring). While REPLAY_SAMPLES drives the node the
 * sensor's pushes are ignored (VS_OK, not counted). */
int vs_node_push_samples_i16(vs_node_t *node, const int16_t *counts, uint32_t n, float scale_g_per_lsb);
int vs_node_push_samples_f32(vs_node_t *node, const float *g, uint32_t n);

/* ISR side: an accelerometer wake-up interrupt asks for an analysis at the next hop (vs_trigger WAKE). */
void vs_node_wake_from_isr(vs_node_t *node);

/* Main loop: feed received UART bytes (the bytes vs_node_poll would read from vs_platform_uart_read). Commands
 * completed by them are executed and answered before it returns. VS_OK or VS_ERR_ARG/VS_ERR_STATE. */
int vs_node_rx_bytes(vs_node_t *node, const uint8_t *bytes, size_t n);

/* Main loop step: read the port's received bytes, drain the sample ring (analysing every due frame), send
 * STATUS/HELLO when due and at most one pending RAW_CHUNK, then feed the watchdog. Returns the number of
 * frames analysed (>= 0) or VS_ERR_STATE before vs_node_start. */
int vs_node_poll(vs_node_t *node);

/* Nonzero when vs_node_poll has something to do (samples or received bytes waiting, a RAW_CHUNK to send).
 * Only reads memory: safe with interrupts disabled (vs_platform_sleep_until_event's work_pending). The
 * signature matches vs_platform_work_fn (ctx is the vs_node_t). */
int vs_node_has_work(const void *node);

/* The firmware's main loop: vs_node_poll, then vs_platform_sleep_until_event(vs_node_has_work, node),
 * forever. Never returns. */
void vs_node_run(vs_node_t *node);

/* Read-only views for tests and bindings. */
const vs_node_counters_t *vs_node_counters(const vs_node_t *node);
const float *vs_node_last_features(const vs_node_t *node); /* VS_FEAT_N_FEATURES of the last analysed frame */
float vs_node_last_score(const vs_node_t *node);
size_t vs_node_instance_size(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_NODE_H */
