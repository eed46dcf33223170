/*
 * GENERATED — do not edit. Source: specs/protocol.toml (sha256 b9bc499088259de50bbbc39ec2c48f2f2a5a218f7b1b1a0d5e2466c5612af31b); regenerate: python3 scripts/gen_specs.py
 *
 * Wire protocol constants, enumerations and message structs (docs/protocol.md). Included by
 * vs/vs_protocol.h, which declares the codec functions; include that one.
 */
#ifndef VS_PROTOCOL_SPEC_H
#define VS_PROTOCOL_SPEC_H

#include <stdint.h>

/* --- versions and sizes (bytes) --- */
#define VS_PROTO_VERSION 1U     /* written in every header */
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

/* --- message types (header byte 1) --- */
#define VS_MSG_HELLO 0x01U
#define VS_MSG_STATUS 0x02U
#define VS_MSG_SCORE 0x03U
#define VS_MSG_ALARM 0x04U
#define VS_MSG_FEATURES 0x05U
#define VS_MSG_RAW_CHUNK 0x06U
#define VS_MSG_ACK 0x07U
#define VS_MSG_NACK 0x08U
#define VS_MSG_SET_THRESHOLD 0x40U
#define VS_MSG_REQUEST_RAW 0x41U
#define VS_MSG_REPLAY_SAMPLES 0x42U
#define VS_MSG_MODEL_BEGIN 0x43U
#define VS_MSG_MODEL_CHUNK 0x44U
#define VS_MSG_MODEL_COMMIT 0x45U

/* --- enumerations --- */
/* AlarmState: alarm state after applying the alarm rule (same codes as `vibsentry.training.alarm`) */
#define VS_PROTO_ALARM_OK 0U
#define VS_PROTO_ALARM_ACTIVE 1U
/* AlarmEvent: ALARM event (the codes of `vibsentry.training.alarm`) */
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
#define VS_PROTO_STATUS_HAS_BATTERY 0x01U
#define VS_PROTO_STATUS_HAS_TEMPERATURE 0x02U

/* --- payload layouts: offsets of the fixed part, sizes --- */
#define VS_PROTO_HELLO_OFF_PROTOCOL_VERSION 0U
#define VS_PROTO_HELLO_OFF_BOOT_COUNTER 1U
#define VS_PROTO_HELLO_OFF_SAMPLE_RATE_HZ 5U
#define VS_PROTO_HELLO_OFF_FEATURE_HASH 9U
#define VS_PROTO_HELLO_OFF_MODEL_HASH 41U
#define VS_PROTO_HELLO_FIXED_SIZE 73U
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
        vs_proto_set_threshold_t set_threshold;
        vs_proto_request_raw_t request_raw;
        vs_proto_replay_t replay;
        vs_proto_model_begin_t model_begin;
        vs_proto_model_chunk_t model_chunk;
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
    uint32_t version; /* header version outside min_version..version */
    uint32_t unknown_type; /* message type not defined */
    uint32_t invalid; /* a field outside its enumeration or limit */
} vs_proto_counters_t;

#endif /* VS_PROTOCOL_SPEC_H */
