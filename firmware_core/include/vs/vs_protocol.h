/*
 * vs_protocol: the vibsentry wire protocol in C, writing version 2 and decoding versions 1..2 (normative spec:
 * docs/protocol.md, generated from specs/protocol.toml; Python twin: vibsentry/protocol.py; shared known-answer
 * vectors: tests/vectors/protocol/).
 *
 * Wire frame: COBS(header | payload | crc32) 0x00, little-endian, at most VS_PROTO_MAX_WIRE (1050) bytes.
 *
 * Memory: no malloc. Every struct is caller-owned. vs_proto_msg_t is 1048 bytes on Cortex-M4 (it can hold the
 * largest payload); vs_proto_decoder_t 1092 bytes (one frame buffer of VS_PROTO_MAX_ENCODED bytes + counters).
 * Code: 5.0 KB of Cortex-M4 text for protocol + COBS + CRC at -Os (vs_protocol.o 4566 B, vs_cobs.o 352 B,
 * vs_crc.o 128 B, arm-none-eabi-gcc 12 -mcpu=cortex-m4 -mfloat-abi=hard; unused encoders are dropped by
 * --gc-sections only per function, so a node that never encodes host commands still carries vs_proto_encode).
 * vs_proto_encode needs no buffer besides its output (it COBS-encodes while serialising) and about 100 bytes
 * of stack.
 *
 * Threads and ISRs: every function is reentrant (no globals). A decoder instance must be used from one
 * context at a time. Feeding the decoder from a UART ISR is possible but runs the CRC of a whole frame (up to
 * ~1 KB) in the ISR when the 0x00 arrives; prefer a byte ring buffer filled by the ISR and drained into the
 * decoder from the main loop.
 *
 * Status codes (vs_status.h, from specs/status_codes.toml): VS_OK (0) or a negative VS_PROTO_E_* / VS_ERR_*
 * code. The decode error codes map one-to-one onto the error kinds of docs/protocol.md (and the Python
 * FrameError.kind strings).
 */
#ifndef VS_PROTOCOL_H
#define VS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "vs/generated/vs_protocol_spec.h" /* sizes, message codes, enums, message structs, counters */
#include "vs/vs_status.h"                    /* VS_PROTO_E_* (specs/status_codes.toml) */

/* Everything shared with Python (sizes, type codes, enumerations, field layouts and the structs below the
 * codec) is generated from specs/protocol.toml into vs/generated/vs_protocol_spec.h. A message struct has one
 * member per wire field, named as in docs/protocol.md; `str` fields add `<name>_len`, arrays their `count`.
 * Floats are IEEE binary32. The decode error codes VS_PROTO_E_* map one-to-one onto the error kinds. */

typedef struct {
    uint8_t buf[VS_PROTO_MAX_ENCODED]; /* bytes of the frame being collected */
    uint16_t len;
    uint8_t discarding; /* an oversize frame is being skipped up to the next 0x00 */
    vs_proto_counters_t counters;
} vs_proto_decoder_t;

/* Encode msg as one wire frame into out[0..cap) (COBS, trailing 0x00 included) and store its size in
 * *out_len. msg->header.type selects the payload. header.version selects the frame's version: 0 (a
 * zero-initialised message) writes VS_PROTO_VERSION, VS_PROTO_MIN_VERSION..VS_PROTO_VERSION write that version
 * (a version-1 HELLO has no tail; a host answers a node in the version its HELLO announced), anything else is
 * VS_PROTO_E_INVALID. Validates every
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
