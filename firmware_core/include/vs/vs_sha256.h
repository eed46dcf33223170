/*
 * vs_sha256.h - SHA-256 (FIPS 180-4, section 6.2): the hash of a model image in the signed manifest
 * (docs/signing.md) and of MODEL_BEGIN / MODEL_COMMIT. Streaming, so a node hashes an image chunk by chunk as
 * it arrives, or in place in its flash slot.
 *
 * Constants computed from their definition (FIPS 180-4 4.2.2 / 5.3.3: first 32 bits of the fractional parts
 * of the cube / square roots of the first 64 / 8 primes). Context caller-owned (104 bytes); messages up to
 * 2^61 - 1 bytes; reentrant with separate contexts.
 */
#ifndef VS_SHA256_H
#define VS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_SHA256_DIGEST_BYTES 32u
#define VS_SHA256_BLOCK_BYTES 64u

typedef struct {
    uint32_t state[8];
    uint64_t total;                       /* message bytes so far */
    uint8_t block[VS_SHA256_BLOCK_BYTES]; /* pending partial block */
} vs_sha256_t;

void vs_sha256_init(vs_sha256_t *ctx);
/** Append `len` bytes (data may be NULL when len == 0). */
void vs_sha256_update(vs_sha256_t *ctx, const void *data, size_t len);
/** Pad and write the 32-byte digest; ctx must be re-initialised before reuse. */
void vs_sha256_final(vs_sha256_t *ctx, uint8_t digest[VS_SHA256_DIGEST_BYTES]);
/** One-shot digest. */
void vs_sha256(const void *data, size_t len, uint8_t digest[VS_SHA256_DIGEST_BYTES]);

#ifdef __cplusplus
}
#endif

#endif /* VS_SHA256_H */
