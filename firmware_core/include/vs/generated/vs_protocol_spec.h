/*
 * GENERATED — do not edit. Source: specs/protocol.toml (sha256 b6421c649e82f85b01a3ea12dd150ba80841cd5686f6317b40cdf15934956221); regenerate: python3 scripts/gen_specs.py
 *
 * Wire protocol constants, enumerations and message structs (docs/protocol.md). Included by
 * vs/vs_protocol.h, which declares the codec functions; include that one.
 */
#ifndef VS_PROTOCOL_SPEC_H
#define VS_PROTOCOL_SPEC_H

#include <stdint.h>

/* --- versions and sizes (bytes) --- */
#define VS_PROTO_VERSION 2U     /* written in every header */
#define VS_PROTO_MIN_VERSION 1U /* oldest header version decoders accept */
#define VS_PROTO_HEADER_SIZE 16U /* version, type, node id, sequence, timestamp */
#define VS_PROTO_CRC_SIZE 4U /* CRC-32/ISO-HDLC, little-endian, after the payload */
#define VS_PROTO_MAX_PAYLOAD 1024U /* largest payload of any message */
#define VS_PROTO_MIN_FRAME 20U /* header + CRC (every message's fixed part makes real frames longer) */
#define VS_PROTO_MAX_FRAME 1044U /* header + MAX_PAYLOAD + CRC, before COBS */
#define VS_PROTO_MAX_ENCODED 1049U /* largest COBS body, delimiter excluded */
#define VS_PROTO_MAX_WIRE 1050U /* largest frame on the wire; size receive buffers with this */
#define VS_PROTO_BROADCAST_NODE 0xFFFFU /* node id addressing every node (host -> node only) */
#define VS_PROTO_HASH_SIZE 32U /* bytes of a `hash` field (raw SHA-256) */
#define VS_PROTO_MAX_STRING 32U /* longest `str` field, bytes of printable ASCII */
#define VS_PROTO_MAX_FEATURE_VALUES 254U /* most values in one FEATURES message */
#define VS_PROTO_MAX_SAMPLES_I16 500U /* most int16 samples in one RAW_CHUNK / REPLAY_SAMPLES */
#define VS_PROTO_MAX_SAMPLES_F32 250U /* most float32 samples in one RAW_CHUNK / REPLAY_SAMPLES */
#define VS_PROTO_MAX_MODEL_CHUNK 1000U /* most image bytes in one MODEL_CHUNK */
#define VS_PROTO_SIGNATURE_SIZE 64U /* bytes of an Ed25519 signature (RFC 8032) */
#define VS_PROTO_MAX_MANIFEST 768U /* most signed-manifest bytes in one MODEL_MANIFEST */
#define VS_PROTO_NACK_SLOTS 16U /* HEALTH `nacks` entries: index = NackReason code, index 0 counts codes >= 16 */
#define VS_PROTO_MIN_BASELINE_FRAMES 64U /* fewest frames BASELINE_LEARN may learn from */

/* --- message types (header byte 1) --- */
#define VS_MSG_HELLO 0x01U
#define VS_MSG_STATUS 0x02U
#define VS_MSG_SCORE 0x03U
#define VS_MSG_ALARM 0x04U
#define VS_MSG_FEATURES 0x05U
#define VS_MSG_RAW_CHUNK 0x06U
#define VS_MSG_ACK 0x07U
#define VS_MSG_NACK 0x08U
#define VS_MSG_HEALTH 0x09U
#define VS_MSG_MODEL_STATUS 0x0AU
#define VS_MSG_BASELINE_PROGRESS 0x0BU
#define VS_MSG_SET_THRESHOLD 0x40U
#define VS_MSG_REQUEST_RAW 0x41U
#define VS_MSG_REPLAY_SAMPLES 0x42U
#define VS_MSG_MODEL_BEGIN 0x43U
#define VS_MSG_MODEL_CHUNK 0x44U
#define VS_MSG_MODEL_MANIFEST 0x46U
#define VS_MSG_BASELINE_LEARN 0x47U
#define VS_MSG_MODEL_COMMIT 0x45U

/* --- enumerations --- */
/* AlarmState: alarm state after applying the alarm rule (same codes as `vibsentry.runtime.alarm`) */
#define VS_PROTO_ALARM_OK 0U
#define VS_PROTO_ALARM_ACTIVE 1U
/* AlarmEvent: ALARM event (the codes of `vibsentry.runtime.alarm`) */
#define VS_PROTO_EVENT_RAISE 1U
#define VS_PROTO_EVENT_CLEAR 2U
/* FeatureKind: which feature values a FEATURES message carries */
#define VS_PROTO_FEAT_VECTOR 0U
#define VS_PROTO_FEAT_LOGMEL 1U
#define VS_PROTO_FEAT_MFCC 2U
#define VS_PROTO_FEAT_BAND_RMS 3U
#define VS_PROTO_FEAT_STATS 4U
/* SampleFormat: sample format; for both, acceleration in g = `sample * scale_g_per_lsb` */
#define VS_PROTO_FMT_I16 0U
#define VS_PROTO_FMT_F32 1U
/* NackReason: why a command was refused (receivers keep codes they do not know, as numbers) */
#define VS_PROTO_NACK_BAD_VALUE 1U
#define VS_PROTO_NACK_BUSY 2U
#define VS_PROTO_NACK_HASH_MISMATCH 3U
#define VS_PROTO_NACK_OUT_OF_ORDER 4U
#define VS_PROTO_NACK_UNSUPPORTED 5U
#define VS_PROTO_NACK_TOO_LARGE 6U
#define VS_PROTO_NACK_NOT_READY 7U
#define VS_PROTO_NACK_BAD_STATE 8U
#define VS_PROTO_NACK_SIGNATURE 9U
#define VS_PROTO_NACK_COUNTER 10U
#define VS_PROTO_NACK_FEATURE_HASH 11U
#define VS_PROTO_NACK_STORAGE 12U
/* ResetReason: why the node last reset (the MCU's reset-cause register) */
#define VS_PROTO_RESET_UNKNOWN 0U
#define VS_PROTO_RESET_POWER_ON 1U
#define VS_PROTO_RESET_PIN 2U
#define VS_PROTO_RESET_SOFTWARE 3U
#define VS_PROTO_RESET_WATCHDOG 4U
#define VS_PROTO_RESET_BROWN_OUT 5U
/* ModelSlot: where the running model comes from */
#define VS_PROTO_SLOT_BUILTIN 0U
#define VS_PROTO_SLOT_A 1U
#define VS_PROTO_SLOT_B 2U
/* ModelState: state of the running model */
#define VS_PROTO_MODEL_NONE 0U
#define VS_PROTO_MODEL_ACTIVE 1U
#define VS_PROTO_MODEL_TRIAL 2U
#define VS_PROTO_MODEL_CONFIRMED 3U
#define VS_PROTO_MODEL_REVERTED 4U
/* BaselineAction: what BASELINE_LEARN asks */
#define VS_PROTO_BASELINE_START 1U
#define VS_PROTO_BASELINE_ABORT 2U
#define VS_PROTO_BASELINE_CLEAR 3U
/* BaselineState: state of on-node baseline learning */
#define VS_PROTO_BASELINE_STATE_NONE 0U
#define VS_PROTO_BASELINE_STATE_LEARNING 1U
#define VS_PROTO_BASELINE_STATE_DONE 2U
#define VS_PROTO_BASELINE_STATE_ABORTED 3U
#define VS_PROTO_BASELINE_STATE_FAILED 4U
#define VS_PROTO_STATUS_HAS_BATTERY 0x01U
#define VS_PROTO_STATUS_HAS_TEMPERATURE 0x02U

/* --- payload layouts: offsets of the fixed part (and of the tail a newer version appends), sizes --- */
#define VS_PROTO_HELLO_OFF_PROTOCOL_VERSION 0U
#define VS_PROTO_HELLO_OFF_BOOT_COUNTER 1U
#define VS_PROTO_HELLO_OFF_SAMPLE_RATE_HZ 5U
#define VS_PROTO_HELLO_OFF_FEATURE_HASH 9U
#define VS_PROTO_HELLO_OFF_MODEL_HASH 41U
#define VS_PROTO_HELLO_FIXED_SIZE 73U
#define VS_PROTO_HELLO_TAIL_OFF_RESET_REASON 0U
#define VS_PROTO_HELLO_TAIL_OFF_MODEL_SLOT 1U
#define VS_PROTO_HELLO_TAIL_OFF_MODEL_STATE 2U
#define VS_PROTO_HELLO_TAIL_SIZE 3U
#define VS_PROTO_HELLO_TAIL_SINCE 2U /* first version with the tail */
#define VS_PROTO_STATUS_OFF_UPTIME_S 0U
#define VS_PROTO_STATUS_OFF_FRAMES_ANALYSED 4U
#define VS_PROTO_STATUS_OFF_FRAMES_SKIPPED 8U
#define VS_PROTO_STATUS_OFF_TX_FRAMES 12U
#define VS_PROTO_STATUS_OFF_RX_FRAMES 16U
#define VS_PROTO_STATUS_OFF_RX_ERRORS 20U
#define VS_PROTO_STATUS_OFF_ALARM_STATE 24U
#define VS_PROTO_STATUS_OFF_FLAGS 25U
#define VS_PROTO_STATUS_OFF_BATTERY_V 26U
#define VS_PROTO_STATUS_OFF_TEMPERATURE_C 30U
#define VS_PROTO_STATUS_SIZE 34U
#define VS_PROTO_SCORE_OFF_SCORE 0U
#define VS_PROTO_SCORE_OFF_THRESHOLD 4U
#define VS_PROTO_SCORE_OFF_ALARM_STATE 8U
#define VS_PROTO_SCORE_OFF_CLASS_INDEX 9U
#define VS_PROTO_SCORE_OFF_RMS_G 11U
#define VS_PROTO_SCORE_OFF_PEAK_G 15U
#define VS_PROTO_SCORE_OFF_VELOCITY_RMS_MM_S 19U
#define VS_PROTO_SCORE_OFF_FRAME_INDEX 23U
#define VS_PROTO_SCORE_SIZE 27U
#define VS_PROTO_ALARM_OFF_EVENT 0U
#define VS_PROTO_ALARM_OFF_SCORE 1U
#define VS_PROTO_ALARM_OFF_THRESHOLD 5U
#define VS_PROTO_ALARM_OFF_CLEAR_THRESHOLD 9U
#define VS_PROTO_ALARM_OFF_K 13U
#define VS_PROTO_ALARM_OFF_N 14U
#define VS_PROTO_ALARM_OFF_FRAME_INDEX 15U
#define VS_PROTO_ALARM_SIZE 19U
#define VS_PROTO_FEATURES_OFF_KIND 0U
#define VS_PROTO_FEATURES_OFF_FRAME_INDEX 1U
#define VS_PROTO_FEATURES_OFF_COUNT 5U
#define VS_PROTO_FEATURES_FIXED_SIZE 7U
#define VS_PROTO_RAW_CHUNK_OFF_CAPTURE_ID 0U
#define VS_PROTO_RAW_CHUNK_OFF_CHUNK_INDEX 4U
#define VS_PROTO_RAW_CHUNK_OFF_CHUNK_COUNT 6U
#define VS_PROTO_RAW_CHUNK_OFF_SAMPLE_RATE_HZ 8U
#define VS_PROTO_RAW_CHUNK_OFF_SAMPLE_FORMAT 12U
#define VS_PROTO_RAW_CHUNK_OFF_SCALE_G_PER_LSB 13U
#define VS_PROTO_RAW_CHUNK_OFF_COUNT 17U
#define VS_PROTO_RAW_CHUNK_FIXED_SIZE 19U
#define VS_PROTO_ACK_OFF_ACKED_TYPE 0U
#define VS_PROTO_ACK_OFF_ACKED_SEQ 1U
#define VS_PROTO_ACK_SIZE 5U
#define VS_PROTO_NACK_OFF_ACKED_TYPE 0U
#define VS_PROTO_NACK_OFF_ACKED_SEQ 1U
#define VS_PROTO_NACK_OFF_REASON 5U
#define VS_PROTO_NACK_SIZE 6U
#define VS_PROTO_HEALTH_OFF_BOOT_COUNTER 0U
#define VS_PROTO_HEALTH_OFF_WATCHDOG_RESETS 4U
#define VS_PROTO_HEALTH_OFF_BLOCKS 8U
#define VS_PROTO_HEALTH_OFF_RING_OVERRUNS 12U
#define VS_PROTO_HEALTH_OFF_OVERRUN_SAMPLES 16U
#define VS_PROTO_HEALTH_OFF_REPLAY_BLOCKS 20U
#define VS_PROTO_HEALTH_OFF_REPLAY_GAPS 24U
#define VS_PROTO_HEALTH_OFF_DISCONTINUITIES 28U
#define VS_PROTO_HEALTH_OFF_RX_FOREIGN 32U
#define VS_PROTO_HEALTH_OFF_ACKS 36U
#define VS_PROTO_HEALTH_OFF_NACKS 40U
#define VS_PROTO_HEALTH_OFF_RAW_CAPTURES 104U
#define VS_PROTO_HEALTH_OFF_ALARM_RAISES 108U
#define VS_PROTO_HEALTH_OFF_ALARM_CLEARS 112U
#define VS_PROTO_HEALTH_OFF_RING_HIGH_WATER 116U
#define VS_PROTO_HEALTH_OFF_RING_CAPACITY 120U
#define VS_PROTO_HEALTH_OFF_STACK_HIGH_WATER 124U
#define VS_PROTO_HEALTH_OFF_STACK_SIZE 128U
#define VS_PROTO_HEALTH_SIZE 132U
#define VS_PROTO_MODEL_STATUS_OFF_MODEL_SLOT 0U
#define VS_PROTO_MODEL_STATUS_OFF_MODEL_STATE 1U
#define VS_PROTO_MODEL_STATUS_OFF_COUNTER 2U
#define VS_PROTO_MODEL_STATUS_OFF_MODEL_HASH 6U
#define VS_PROTO_MODEL_STATUS_OFF_TRIAL_FRAMES 38U
#define VS_PROTO_MODEL_STATUS_OFF_TRIAL_TARGET 42U
#define VS_PROTO_MODEL_STATUS_OFF_STAGED_BYTES 46U
#define VS_PROTO_MODEL_STATUS_OFF_STAGED_TOTAL 50U
#define VS_PROTO_MODEL_STATUS_OFF_LAST_ERROR 54U
#define VS_PROTO_MODEL_STATUS_SIZE 55U
#define VS_PROTO_BASELINE_PROGRESS_OFF_STATE 0U
#define VS_PROTO_BASELINE_PROGRESS_OFF_FRAMES_DONE 1U
#define VS_PROTO_BASELINE_PROGRESS_OFF_FRAMES_TARGET 5U
#define VS_PROTO_BASELINE_PROGRESS_OFF_THRESHOLD 9U
#define VS_PROTO_BASELINE_PROGRESS_OFF_BASELINE_CRC 13U
#define VS_PROTO_BASELINE_PROGRESS_SIZE 17U
#define VS_PROTO_SET_THRESHOLD_OFF_THRESHOLD 0U
#define VS_PROTO_SET_THRESHOLD_OFF_CLEAR_THRESHOLD 4U
#define VS_PROTO_SET_THRESHOLD_OFF_K 8U
#define VS_PROTO_SET_THRESHOLD_OFF_N 9U
#define VS_PROTO_SET_THRESHOLD_SIZE 10U
#define VS_PROTO_REQUEST_RAW_OFF_CAPTURE_ID 0U
#define VS_PROTO_REQUEST_RAW_OFF_N_SAMPLES 4U
#define VS_PROTO_REQUEST_RAW_OFF_SAMPLE_FORMAT 8U
#define VS_PROTO_REQUEST_RAW_SIZE 9U
#define VS_PROTO_REPLAY_SAMPLES_OFF_BLOCK_INDEX 0U
#define VS_PROTO_REPLAY_SAMPLES_OFF_SAMPLE_RATE_HZ 4U
#define VS_PROTO_REPLAY_SAMPLES_OFF_SAMPLE_FORMAT 8U
#define VS_PROTO_REPLAY_SAMPLES_OFF_SCALE_G_PER_LSB 9U
#define VS_PROTO_REPLAY_SAMPLES_OFF_COUNT 13U
#define VS_PROTO_REPLAY_SAMPLES_FIXED_SIZE 15U
#define VS_PROTO_MODEL_BEGIN_OFF_TOTAL_SIZE 0U
#define VS_PROTO_MODEL_BEGIN_OFF_SHA256 4U
#define VS_PROTO_MODEL_BEGIN_OFF_CHUNK_SIZE 36U
#define VS_PROTO_MODEL_BEGIN_SIZE 38U
#define VS_PROTO_MODEL_CHUNK_OFF_OFFSET 0U
#define VS_PROTO_MODEL_CHUNK_OFF_COUNT 4U
#define VS_PROTO_MODEL_CHUNK_FIXED_SIZE 6U
#define VS_PROTO_MODEL_MANIFEST_OFF_SIGNATURE 0U
#define VS_PROTO_MODEL_MANIFEST_OFF_COUNT 64U
#define VS_PROTO_MODEL_MANIFEST_FIXED_SIZE 66U
#define VS_PROTO_BASELINE_LEARN_OFF_ACTION 0U
#define VS_PROTO_BASELINE_LEARN_OFF_N_FRAMES 1U
#define VS_PROTO_BASELINE_LEARN_OFF_THRESHOLD_K 5U
#define VS_PROTO_BASELINE_LEARN_SIZE 9U
#define VS_PROTO_MODEL_COMMIT_OFF_SHA256 0U
#define VS_PROTO_MODEL_COMMIT_SIZE 32U

/* --- header and messages (floats are IEEE binary32) --- */
typedef struct {
    uint8_t version; /* protocol version */
    uint8_t type; /* message type (section 5) */
    uint16_t node_id; /* node -> host: the sender; host -> node: the addressee, `0xFFFF` = broadcast */
    uint32_t seq; /* per sender, starts at 0 at boot, +1 for every frame sent, wraps 0xFFFFFFFF -> 0 */
    uint64_t timestamp_us; /* sender clock, microseconds since the sender booted (host: any monotonic clock) */
} vs_proto_header_t;

/* RAW_CHUNK / REPLAY_SAMPLES samples: i16 when sample_format is VS_PROTO_FMT_I16, else f32. */
typedef union {
    int16_t i16[VS_PROTO_MAX_SAMPLES_I16];
    float f32[VS_PROTO_MAX_SAMPLES_F32];
} vs_proto_samples_t;

/* HELLO */
typedef struct {
    uint8_t protocol_version; /* highest version the node implements */
    uint32_t boot_counter; /* boots since flashing */
    float sample_rate_hz; /* accelerometer sampling rate (Hz) */
    uint8_t feature_hash[VS_PROTO_HASH_SIZE]; /* SHA-256 of the node's FeatureParams canonical JSON (`FeatureParams.feature_hash`) */
    uint8_t model_hash[VS_PROTO_HASH_SIZE]; /* SHA-256 of the deployed `model.tflite`; all zeros when none */
    uint8_t fw_version_len; /* <= VS_PROTO_MAX_STRING */
    char fw_version[VS_PROTO_MAX_STRING + 1U]; /* firmware version; printable ASCII, NUL-terminated by the decoder */
    uint8_t machine_len; /* <= VS_PROTO_MAX_STRING */
    char machine[VS_PROTO_MAX_STRING + 1U]; /* machine name configured on the node; printable ASCII, NUL-terminated by the decoder */
    uint8_t reset_reason; /* why the node last reset */
    uint8_t model_slot; /* where the running model comes from */
    uint8_t model_state; /* state of the running model */
} vs_proto_hello_t;

/* STATUS */
typedef struct {
    uint32_t uptime_s; /* seconds since boot */
    uint32_t frames_analysed; /* frames analysed since boot */
    uint32_t frames_skipped; /* frames the trigger decided not to analyse */
    uint32_t tx_frames; /* protocol frames sent */
    uint32_t rx_frames; /* protocol frames accepted */
    uint32_t rx_errors; /* protocol frames rejected, all kinds */
    uint8_t alarm_state; /* alarm state */
    uint8_t flags; /* bit 0 battery present, bit 1 temperature present, other bits 0 */
    float battery_v; /* supply/battery voltage (V) */
    float temperature_c; /* node temperature (degrees C) */
} vs_proto_status_t;

/* SCORE */
typedef struct {
    float score; /* anomaly score, or the winning class probability for classifiers */
    float threshold; /* threshold in force */
    uint8_t alarm_state; /* alarm state after this score */
    int16_t class_index; /* winning class; -1 for anomaly models */
    float rms_g; /* RMS acceleration of the frame (g) */
    float peak_g; /* absolute peak acceleration (g) */
    float velocity_rms_mm_s; /* velocity RMS 10-1000 Hz (mm/s) */
    uint32_t frame_index; /* analysed frame's index since boot (frame i starts at sample i x hop) */
} vs_proto_score_t;

/* ALARM */
typedef struct {
    uint8_t event; /* 1 RAISE, 2 CLEAR */
    float score; /* score that triggered the event */
    float threshold; /* raise threshold */
    float clear_threshold; /* clear threshold */
    uint8_t k; /* persistence: k of the last n scores */
    uint8_t n; /* persistence window */
    uint32_t frame_index; /* frame index of the triggering score */
} vs_proto_alarm_t;

/* FEATURES */
typedef struct {
    uint8_t kind; /* which features */
    uint32_t frame_index; /* frame the values belong to */
    uint16_t count; /* number of values */
    float values[VS_PROTO_MAX_FEATURE_VALUES]; /* feature values */
} vs_proto_features_t;

/* RAW_CHUNK */
typedef struct {
    uint32_t capture_id; /* capture identifier (from REQUEST_RAW) */
    uint16_t chunk_index; /* this chunk's index */
    uint16_t chunk_count; /* number of chunks */
    float sample_rate_hz; /* sampling rate (Hz) */
    uint8_t sample_format; /* sample format */
    float scale_g_per_lsb; /* acceleration in g = sample x scale */
    uint16_t count; /* number of samples, <= MAX_SAMPLES_I16 (int16) or MAX_SAMPLES_F32 (f32) */
    vs_proto_samples_t samples; /* i16[count] or f32[count] */
} vs_proto_raw_chunk_t;

/* ACK, NACK */
typedef struct {
    uint8_t acked_type; /* the command's `msg_type` */
    uint32_t acked_seq; /* the command frame's `seq` */
    uint8_t reason; /* why (unknown codes are kept as numbers) */
} vs_proto_ack_t;

/* HEALTH */
typedef struct {
    uint32_t boot_counter; /* boots since flashing, this one included */
    uint32_t watchdog_resets; /* boots caused by a watchdog reset, since flashing */
    uint32_t blocks; /* sample blocks accepted from the sampler (ISR/DMA) into the ring */
    uint32_t ring_overruns; /* sample blocks dropped because the ring was full */
    uint32_t overrun_samples; /* samples in those dropped blocks */
    uint32_t replay_blocks; /* REPLAY_SAMPLES blocks accepted */
    uint32_t replay_gaps; /* REPLAY_SAMPLES blocks refused for a `block_index` gap */
    uint32_t discontinuities; /* frame-assembly restarts (overrun, replay gap, switch to replay) */
    uint32_t rx_foreign; /* valid frames addressed to another node (ignored) */
    uint32_t acks; /* ACKs sent */
    uint32_t nacks[16U]; /* NACKs sent by reason: entry i counts NackReason i, entry 0 codes >= 16 */
    uint32_t raw_captures; /* RAW_CHUNK captures started */
    uint32_t alarm_raises; /* ALARM RAISE events */
    uint32_t alarm_clears; /* ALARM CLEAR events */
    uint32_t ring_high_water; /* most samples ever waiting in the sample ring */
    uint32_t ring_capacity; /* sample ring size (samples) */
    uint32_t stack_high_water; /* most stack ever used (bytes; 0: not measured) */
    uint32_t stack_size; /* stack size (bytes; 0: unknown) */
} vs_proto_health_t;

/* MODEL_STATUS */
typedef struct {
    uint8_t model_slot; /* slot of the running model */
    uint8_t model_state; /* state of the running model */
    uint32_t counter; /* monotonic counter of the running model's signed manifest (0: built-in) */
    uint8_t model_hash[VS_PROTO_HASH_SIZE]; /* SHA-256 of the running model image (HELLO's `model_hash`) */
    uint32_t trial_frames; /* healthy frames analysed so far in TRIAL */
    uint32_t trial_target; /* healthy frames that confirm a TRIAL model */
    uint32_t staged_bytes; /* bytes of the update being received (0: none) */
    uint32_t staged_total; /* size of the update being received (MODEL_BEGIN `total_size`; 0: none) */
    uint8_t last_error; /* NACK reason of the last refused update (0: none) */
} vs_proto_model_status_t;

/* BASELINE_PROGRESS */
typedef struct {
    uint8_t state; /* learning state */
    uint32_t frames_done; /* frames learned from so far */
    uint32_t frames_target; /* frames to learn from (BASELINE_LEARN `n_frames`) */
    float threshold; /* learned alarm threshold when DONE, else 0 */
    uint32_t baseline_crc; /* CRC-32 of the stored baseline record (0: none) */
} vs_proto_baseline_progress_t;

/* SET_THRESHOLD */
typedef struct {
    float threshold; /* raise threshold (compared with strict '>') */
    float clear_threshold; /* clear threshold */
    uint8_t k; /* raise when k of the last n scores exceed threshold */
    uint8_t n; /* persistence window */
} vs_proto_set_threshold_t;

/* REQUEST_RAW */
typedef struct {
    uint32_t capture_id; /* identifier echoed in every RAW_CHUNK */
    uint32_t n_samples; /* samples to capture */
    uint8_t sample_format; /* sample format wanted */
} vs_proto_request_raw_t;

/* REPLAY_SAMPLES */
typedef struct {
    uint32_t block_index; /* 0, 1, 2, ... */
    float sample_rate_hz; /* sampling rate of the samples (Hz) */
    uint8_t sample_format; /* sample format */
    float scale_g_per_lsb; /* acceleration in g = sample x scale */
    uint16_t count; /* number of samples, <= MAX_SAMPLES_I16 (int16) or MAX_SAMPLES_F32 (f32) */
    vs_proto_samples_t samples; /* i16[count] or f32[count] */
} vs_proto_replay_t;

/* MODEL_BEGIN */
typedef struct {
    uint32_t total_size; /* image size (bytes) */
    uint8_t sha256[VS_PROTO_HASH_SIZE]; /* SHA-256 of the whole image */
    uint16_t chunk_size; /* data bytes per MODEL_CHUNK; every chunk but the last carries exactly this many */
} vs_proto_model_begin_t;

/* MODEL_CHUNK */
typedef struct {
    uint32_t offset; /* byte offset in the image; must equal the bytes received so far (else NACK OUT_OF_ORDER) */
    uint16_t count; /* number of bytes */
    uint8_t data[VS_PROTO_MAX_MODEL_CHUNK]; /* image bytes */
} vs_proto_model_chunk_t;

/* MODEL_MANIFEST */
typedef struct {
    uint8_t signature[64U]; /* Ed25519 signature over exactly the manifest bytes */
    uint16_t count; /* manifest length (bytes) */
    uint8_t manifest[VS_PROTO_MAX_MANIFEST]; /* signed manifest bytes */
} vs_proto_model_manifest_t;

/* BASELINE_LEARN */
typedef struct {
    uint8_t action; /* START, ABORT or CLEAR */
    uint32_t n_frames; /* START: frames to learn from (>= MIN_BASELINE_FRAMES); else 0 */
    float threshold_k; /* START: threshold = mean + k x std of the learning frames' scores; 0: the node's default */
} vs_proto_baseline_learn_t;

/* MODEL_COMMIT */
typedef struct {
    uint8_t sha256[VS_PROTO_HASH_SIZE]; /* SHA-256 of the complete image */
} vs_proto_model_commit_t;

typedef struct {
    vs_proto_header_t header;
    union {
        vs_proto_hello_t hello;
        vs_proto_status_t status;
        vs_proto_score_t score;
        vs_proto_alarm_t alarm;
        vs_proto_features_t features;
        vs_proto_raw_chunk_t raw_chunk;
        vs_proto_ack_t ack;
        vs_proto_health_t health;
        vs_proto_model_status_t model_status;
        vs_proto_baseline_progress_t baseline_progress;
        vs_proto_set_threshold_t set_threshold;
        vs_proto_request_raw_t request_raw;
        vs_proto_replay_t replay;
        vs_proto_model_begin_t model_begin;
        vs_proto_model_chunk_t model_chunk;
        vs_proto_model_manifest_t model_manifest;
        vs_proto_baseline_learn_t baseline_learn;
        vs_proto_model_commit_t model_commit;
    } u; /* header.type selects the member */
} vs_proto_msg_t;

/* Per-kind counters of a streaming decoder (the Python Decoder.counters keys). u32, wrap. */
typedef struct {
    uint32_t frames; /* accepted */
    uint32_t bytes;  /* fed */
    uint32_t oversize; /* body longer than MAX_ENCODED, or decoded frame longer than MAX_FRAME */
    uint32_t cobs; /* COBS decoding fails (a block runs past the end; a 0x00 inside) */
    uint32_t length; /* frame shorter than MIN_FRAME, or payload size inconsistent with the type's layout */
    uint32_t crc; /* CRC mismatch */
    uint32_t version; /* header version outside MIN_VERSION..VERSION (1..2) */
    uint32_t unknown_type; /* message type not defined */
    uint32_t invalid; /* a field outside its enumeration or limit */
} vs_proto_counters_t;

#endif /* VS_PROTOCOL_SPEC_H */
