/*
 * vs_cobs: Consistent Overhead Byte Stuffing, in the canonical form of docs/protocol.md (section 1).
 *
 * Encoding never emits 0x00; the caller appends the 0x00 frame delimiter. Each zero-separated segment of the
 * input becomes 0xFF blocks of 254 bytes while at least 254 bytes remain, then one block with code
 * len(rest) + 1. Worst-case encoded size: VS_COBS_MAX_ENCODED(n) = n + n / 254 + 1 bytes.
 *
 * All buffers are caller-owned; nothing is allocated; no function keeps a pointer after it returns.
 * Reentrant and ISR safe. Return values: VS_COBS_OK (0) or a negative VS_COBS_E_* code; on error the output
 * buffer content is unspecified and *out_len is 0.
 */
#ifndef VS_COBS_H
#define VS_COBS_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes VS_COBS_OK, VS_COBS_E_BUFFER (dst too small) and VS_COBS_E_FORMAT (a 0x00 in the input, or a
 * block running past the end) come from vs_status.h (specs/status_codes.toml). */

#define VS_COBS_MAX_ENCODED(n) ((n) + (n) / 254U + 1U)

/* Encode src[0..len) into dst[0..cap); *out_len receives the encoded size (no delimiter). src and dst must not
 * overlap. cap >= VS_COBS_MAX_ENCODED(len) always suffices. */
int vs_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len);

/* Decode src[0..len) (no delimiter, len >= 1) into dst[0..cap). dst may equal src (in-place decoding is safe:
 * the output never overtakes the input); otherwise they must not overlap. A decoded frame is at most len - 1
 * bytes. Accepts a final 0xFF block with or without a trailing 0x01 block. */
int vs_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len);

/* Incremental encoder, used by vs_proto_encode to COBS-encode while serialising (no 1 KB staging buffer).
 * Write bytes with vs_cobs_writer_put, then vs_cobs_writer_finish. Errors are sticky: `err` is
 * VS_COBS_E_BUFFER once dst overflowed and every later call does nothing. */
typedef struct {
    uint8_t *dst;    /* caller-owned output buffer */
    size_t cap;      /* its size */
    size_t len;      /* bytes written so far, including the pending block's code slot */
    size_t code_pos; /* index of the pending block's code byte */
    uint8_t code;    /* pending block's code: 1 + data bytes in it */
    int err;         /* VS_COBS_OK or VS_COBS_E_BUFFER */
} vs_cobs_writer_t;

void vs_cobs_writer_init(vs_cobs_writer_t *w, uint8_t *dst, size_t cap);
void vs_cobs_writer_put(vs_cobs_writer_t *w, uint8_t byte);
/* Closes the last block, appends the 0x00 delimiter when `delimit` is non-zero, and returns VS_COBS_OK with
 * the total size in *out_len, or VS_COBS_E_BUFFER. */
int vs_cobs_writer_finish(vs_cobs_writer_t *w, int delimit, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* VS_COBS_H */
