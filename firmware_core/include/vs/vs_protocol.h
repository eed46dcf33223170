/*
 * vs_protocol: the vibsentry wire protocol v1 in C (normative spec: docs/protocol.md; Python twin:
 * vibsentry/protocol.py; shared known-answer vectors: tests/vectors/protocol/).
 *
 * Wire frame: COBS(header | payload | crc32) 0x00, little-endian, at most VS_PROTO_MAX_WIRE (1050) bytes.
 *
 * Memory: no malloc. Every struct is caller-owned. vs_proto_msg_t is 1048 bytes on Cortex-M4 (it can hold the
 * largest payload); vs_proto_decoder_t 1092 bytes (one frame buffer of VS_PROTO_MAX_ENCODED bytes + counters).
 * Code: about 3.6 KB of Cortex-M4 text for protocol + COBS + CRC at -Os (unused encoders are dropped by
 * --gc-sections only per function, so a node that never encodes host commands still carries vs_proto_encode).
 * vs_proto_encode needs no buffer besides its output (it COBS-encodes while serialising) and about 100 bytes
 * of stack.
 *
 * Threads and ISRs: every function is reentrant (no globals). A decoder instance must be used from one
 * context at a time. Feeding the decoder from a UART ISR is possible but runs the CRC of a whole frame (up to
 * ~1 KB) in the ISR when the 0x00 arrives; prefer a byte ring buffer filled by the ISR and drained into the
 * decoder from the main loop.
 *
 * Status codes (vs_status.h): VS_OK (0) or a negative VS_PROTO_E_* / VS_ERR_* code. The decode error codes
 * map one-to-one onto the error kinds of docs/protocol.md (and the Python FrameError.kind strings).
 */
#ifndef VS_PROTOCOL_H
#define VS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "vs/vs_status.h"

/* --- sizes (bytes) ------------------------------------------------------------------------------------- */
#define VS_PROTO_VERSION 1U
#define VS_PROTO_HEADER_SIZE 16U
#define VS_PROTO_CRC_SIZE 4U
#define VS_PROTO_MAX_PAYLOAD 1024U
#define VS_PROTO_MIN_FRAME (VS_PROTO_HEADER_SIZE + VS_PROTO_CRC_SIZE)                       /* 20 */
#define VS_PROTO_MAX_FRAME (VS_PROTO_HEADER_SIZE + VS_PROTO_MAX_PAYLOAD + VS_PROTO_CRC_SIZE) /* 1044 */
#define VS_PROTO_MAX_ENCODED (VS_PROTO_MAX_FRAME + VS_PROTO_MAX_FRAME / 254U + 1U)          /* 1049 */
#define VS_PROTO_MAX_WIRE (VS_PROTO_MAX_ENCODED + 1U)                                       /* 1050 */
#define VS_PROTO_BROADCAST_NODE 0xFFFFU
#define VS_PROTO_MAX_STRING 32U
#define VS_PROTO_HASH_SIZE 32U
#define VS_PROTO_MAX_FEATURE_VALUES 254U
#define VS_PROTO_MAX_SAMPLES_I16 500U
#define VS_PROTO_MAX_SAMPLES_F32 250U
#define VS_PROTO_MAX_MODEL_CHUNK 1000U

/* --- status codes (module range of vs_status.h: VS_ERR_MODULE_BASE - 10 and down) ---------------------- */
#define VS_PROTO_E_OVERSIZE (-110)     /* frame longer than VS_PROTO_MAX_ENCODED / VS_PROTO_MAX_FRAME */
#define VS_PROTO_E_COBS (-111)         /* bad COBS encoding (or a 0x00 inside a frame) */
#define VS_PROTO_E_LENGTH (-112)       /* frame too short, or payload size wrong for its type */
#define VS_PROTO_E_CRC (-113)          /* CRC mismatch */
#define VS_PROTO_E_VERSION (-114)      /* header version != VS_PROTO_VERSION */
#define VS_PROTO_E_UNKNOWN_TYPE (-115) /* message type not defined in v1 */
#define VS_PROTO_E_INVALID (-116)      /* a field outside its enumeration or limit (decode and encode) */
#define VS_PROTO_E_BUFFER VS_ERR_SIZE  /* output buffer too small (encode) */
#define VS_PROTO_E_ARG VS_ERR_ARG      /* NULL pointer */

/* --- message types (header byte 1) --------------------------------------------------------------------- */
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

/* --- enumerations ------------------------------------------------------------------------------------- */
#define VS_PROTO_ALARM_OK 0U
#define VS_PROTO_ALARM_ACTIVE 1U
#define VS_PROTO_EVENT_RAISE 1U
#define VS_PROTO_EVENT_CLEAR 2U
#define VS_PROTO_FMT_I16 0U
#define VS_PROTO_FMT_F32 1U
#define VS_PROTO_FEAT_VECTOR 0U
#define VS_PROTO_FEAT_LOGMEL 1U
#define VS_PROTO_FEAT_MFCC 2U
#define VS_PROTO_FEAT_BAND_RMS 3U
#define VS_PROTO_FEAT_STATS 4U
#define VS_PROTO_NACK_BAD_VALUE 1U
#define VS_PROTO_NACK_BUSY 2U
#define VS_PROTO_NACK_HASH_MISMATCH 3U
#define VS_PROTO_NACK_OUT_OF_ORDER 4U
#define VS_PROTO_NACK_UNSUPPORTED 5U
#define VS_PROTO_NACK_TOO_LARGE 6U
#define VS_PROTO_NACK_NOT_READY 7U
#define VS_PROTO_STATUS_HAS_BATTERY 0x01U
#define VS_PROTO_STATUS_HAS_TEMPERATURE 0x02U

/* --- header and messages (fields as in docs/protocol.md section 5; floats are IEEE binary32) ---------- */
typedef struct {
    uint8_t version;       /* VS_PROTO_VERSION; vs_proto_encode ignores it and always writes 1 */
    uint8_t type;          /* VS_MSG_*: selects the member of vs_proto_msg_t.u */
    uint16_t node_id;      /* sender (node -> host) or addressee (host -> node) */
    uint32_t seq;          /* sender's frame counter, wraps */
    uint64_t timestamp_us; /* sender's microseconds since boot */
} vs_proto_header_t;

typedef struct {
    uint8_t protocol_version;
    uint32_t boot_counter;
    float sample_rate_hz;
    uint8_t feature_hash[VS_PROTO_HASH_SIZE]; /* raw SHA-256 */
    uint8_t model_hash[VS_PROTO_HASH_SIZE];   /* raw SHA-256, zeros when no model */
    uint8_t fw_version_len;                   /* <= VS_PROTO_MAX_STRING */
    char fw_version[VS_PROTO_MAX_STRING + 1]; /* printable ASCII; NUL-terminated by the decoder */
    uint8_t machine_len;
    char machine[VS_PROTO_MAX_STRING + 1];
} vs_proto_hello_t;

typedef struct {
    uint32_t uptime_s, frames_analysed, frames_skipped, tx_frames, rx_frames, rx_errors;
    uint8_t alarm_state;
    uint8_t flags;       /* VS_PROTO_STATUS_HAS_*; a value without its flag is sent as 0 and decoded as 0 */
    float battery_v;     /* V */
    float temperature_c; /* degrees C */
} vs_proto_status_t;

typedef struct {
    float score, threshold;
    uint8_t alarm_state;
    int16_t class_index; /* -1 for anomaly models */
    float rms_g, peak_g, velocity_rms_mm_s;
    uint32_t frame_index;
} vs_proto_score_t;

typedef struct {
    uint8_t event; /* VS_PROTO_EVENT_* */
    float score, threshold, clear_threshold;
    uint8_t k, n;
    uint32_t frame_index;
} vs_proto_alarm_t;

typedef struct {
    uint8_t kind; /* VS_PROTO_FEAT_* */
    uint32_t frame_index;
    uint16_t count; /* <= VS_PROTO_MAX_FEATURE_VALUES */
    float values[VS_PROTO_MAX_FEATURE_VALUES];
} vs_proto_features_t;

typedef union {
    int16_t i16[VS_PROTO_MAX_SAMPLES_I16];
    float f32[VS_PROTO_MAX_SAMPLES_F32];
} vs_proto_samples_t;

typedef struct {
    uint32_t capture_id;
    uint16_t chunk_index, chunk_count; /* chunk_index < chunk_count */
    float sample_rate_hz;
    uint8_t sample_format; /* VS_PROTO_FMT_*; value in g = sample * scale_g_per_lsb */
    float scale_g_per_lsb;
    uint16_t count; /* <= 500 (int16) or 250 (f32) */
    vs_proto_samples_t samples;
} vs_proto_raw_chunk_t;

typedef struct {
    uint8_t acked_type;
    uint32_t acked_seq;
    uint8_t reason; /* NACK only: VS_PROTO_NACK_* (unknown codes are passed through) */
} vs_proto_ack_t;

typedef struct {
    float threshold, clear_threshold;
    uint8_t k, n;
} vs_proto_set_threshold_t;

typedef struct {
    uint32_t capture_id, n_samples;
    uint8_t sample_format;
} vs_proto_request_raw_t;

typedef struct {
    uint32_t block_index;
    float sample_rate_hz;
    uint8_t sample_format;
    float scale_g_per_lsb;
    uint16_t count;
    vs_proto_samples_t samples;
} vs_proto_replay_t;

typedef struct {
    uint32_t total_size;
    uint8_t sha256[VS_PROTO_HASH_SIZE];
    uint16_t chunk_size; /* 1..VS_PROTO_MAX_MODEL_CHUNK */
} vs_proto_model_begin_t;

typedef struct {
    uint32_t offset;
    uint16_t count; /* <= VS_PROTO_MAX_MODEL_CHUNK */
    uint8_t data[VS_PROTO_MAX_MODEL_CHUNK];
} vs_proto_model_chunk_t;

typedef struct {
    uint8_t sha256[VS_PROTO_HASH_SIZE];
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
        vs_proto_ack_t ack; /* ACK and NACK */
        vs_proto_set_threshold_t set_threshold;
        vs_proto_request_raw_t request_raw;
        vs_proto_replay_t replay;
        vs_proto_model_begin_t model_begin;
        vs_proto_model_chunk_t model_chunk;
        vs_proto_model_commit_t model_commit;
    } u;
} vs_proto_msg_t;

/* Per-kind counters of a streaming decoder (same names as the Python Decoder.counters keys). u32, wrap. */
typedef struct {
    uint32_t frames; /* accepted */
    uint32_t bytes;  /* fed */
    uint32_t oversize, cobs, length, crc, version, unknown_type, invalid;
} vs_proto_counters_t;

typedef struct {
    uint8_t buf[VS_PROTO_MAX_ENCODED]; /* bytes of the frame being collected */
    uint16_t len;
    uint8_t discarding; /* an oversize frame is being skipped up to the next 0x00 */
    vs_proto_counters_t counters;
} vs_proto_decoder_t;

/* Encode msg as one wire frame into out[0..cap) (COBS, trailing 0x00 included) and store its size in
 * *out_len. msg->header.type selects the payload; header.version is ignored (always 1). Validates every
 * field rule of docs/protocol.md (VS_PROTO_E_INVALID) and never writes past out[cap-1] (VS_PROTO_E_BUFFER;
 * cap = VS_PROTO_MAX_WIRE always suffices). On error *out_len is 0. */
int vs_proto_encode(const vs_proto_msg_t *msg, uint8_t *out, size_t cap, size_t *out_len);

/* Decode one frame frame[0..len) (COBS body, optionally followed by its 0x00) into *msg. The frame buffer is
 * decoded IN PLACE (overwritten). Returns VS_OK or the VS_PROTO_E_* of the first failed check, in the order
 * of docs/protocol.md section 2; *msg is then unspecified. Reads only frame[0..len). */
int vs_proto_decode_frame(uint8_t *frame, size_t len, vs_proto_msg_t *msg);

/* Streaming decoder. init clears the buffer and the counters; reset drops a partial frame only. */
void vs_proto_decoder_init(vs_proto_decoder_t *d);
void vs_proto_decoder_reset(vs_proto_decoder_t *d);

/* Push one received byte. Returns 1 when it completed a valid frame (now in *msg), 0 when no frame completed,
 * or the negative VS_PROTO_E_* code of a frame that was rejected (already counted in d->counters). */
int vs_proto_decoder_push(vs_proto_decoder_t *d, uint8_t byte, vs_proto_msg_t *msg);

/* Push bytes from data[0..len) until one valid frame completes or the data ends. Returns the number of bytes
 * consumed; *got is set to 1 when *msg holds a new message, else 0. Call again with the rest. */
size_t vs_proto_decoder_feed(vs_proto_decoder_t *d, const uint8_t *data, size_t len, vs_proto_msg_t *msg,
                             int *got);

/* Total rejected frames (what a node reports as STATUS rx_errors). */
uint32_t vs_proto_decoder_errors(const vs_proto_decoder_t *d);

/* Payload size of msg as it would be encoded, or a negative VS_PROTO_E_* if a count/length field exceeds its
 * limit or the type is unknown. */
int vs_proto_payload_size(const vs_proto_msg_t *msg);

#ifdef __cplusplus
}
#endif
#endif /* VS_PROTOCOL_H */
