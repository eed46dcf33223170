/*
 * vs_sha512.h - SHA-512 (FIPS 180-4, section 6.4), the hash inside Ed25519 (RFC 8032 section 5.1).
 *
 * Written from the FIPS 180-4 text: the round constants and initial hash value are the first 64 bits of the
 * fractional parts of the cube roots of the first 80 primes / square roots of the first 8 primes (section
 * 4.2.3 / 5.3.5); they were computed with integer roots, not copied.
 *
 * Streaming API so a message held in flash (a model image) is hashed in place:
 *     vs_sha512_t h;
 *     vs_sha512_init(&h);
 *     vs_sha512_update(&h, part1, n1);
 *     vs_sha512_update(&h, part2, n2);
 *     vs_sha512_final(&h, digest);            // digest: 64 bytes
 *
 * The context is caller-owned (208 bytes); messages up to 2^61 - 1 bytes. Not constant-time-relevant (it
 * hashes public data in verification). Reentrant with separate contexts; no globals written.
 */
#ifndef VS_SHA512_H
#define VS_SHA512_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_SHA512_DIGEST_BYTES 64u
#define VS_SHA512_BLOCK_BYTES 128u

typedef struct {
    uint64_t state[8];
    uint64_t total;                      /* message bytes so far */
    uint8_t block[VS_SHA512_BLOCK_BYTES]; /* pending partial block */
} vs_sha512_t;

void vs_sha512_init(vs_sha512_t *ctx);
/** Append `len` bytes (data may be NULL when len == 0). */
void vs_sha512_update(vs_sha512_t *ctx, const void *data, size_t len);
/** Pad, write the 64-byte digest, and leave ctx unusable until the next init. */
void vs_sha512_final(vs_sha512_t *ctx, uint8_t digest[VS_SHA512_DIGEST_BYTES]);
/** One-shot convenience: digest of `len` bytes at `data`. */
void vs_sha512(const void *data, size_t len, uint8_t digest[VS_SHA512_DIGEST_BYTES]);

#ifdef __cplusplus
}
#endif

#endif /* VS_SHA512_H */
