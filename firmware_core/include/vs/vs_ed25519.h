/*
 * vs_ed25519.h - Ed25519 signature verification (RFC 8032 section 5.1.7, PureEdDSA with SHA-512), written
 * for this project from the RFC's mathematics: verifies that a model manifest was signed by a key embedded in
 * the firmware. There is no signing here (keys never live on a node).
 *
 * Strict rules, applied in this order; any failure returns VS_ED25519_ERR_BAD_SIG without further work:
 *   1. S (the signature's second half) must be canonical: S < L = 2^252 + 27742317777372353535851937790883648493
 *      (RFC 8032 5.1.7 step 1; otherwise signatures are malleable).
 *   2. A (public key) and R (the signature's first half) must decode strictly (RFC 8032 5.1.3): y < p, x^2 has
 *      a square root, and x = 0 only with sign bit 0. So every accepted A and R has exactly one encoding.
 *   3. A and R must not be of small order ([8]P = identity): the 8 points of order 1, 2, 4, 8 are refused
 *      (a small-order A verifies forged messages with some R; RFC 8032 permits, and this code forgoes, them).
 *   4. k = SHA-512(R || A || M) mod L, and the cofactorless equation [S]B = R + [k]A must hold, checked as
 *      encode([S]B - [k]A) == R byte for byte (what OpenSSL, and so the `cryptography` package, check too;
 *      the cofactored [8] variant RFC 8032 also allows can accept signatures this rejects only when A or R
 *      has a small-order component, which honest keys never have).
 *
 * Not constant-time: verification handles public data only. No allocation, no globals written, reentrant;
 * stack use is stated in docs/signing.md (measured by stack painting on Cortex-M4F). Long-running (about a
 * few million instructions): call it from a task, never from an ISR.
 */
#ifndef VS_ED25519_H
#define VS_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_ED25519_PUBLIC_KEY_BYTES 32u
#define VS_ED25519_SIGNATURE_BYTES 64u

/* Status codes VS_ED25519_ERR_BAD_SIG (-150) and VS_ED25519_ERR_BAD_KEY (-151): specs/status_codes.toml, via
 * vs_status.h. */

/**
 * Verify a signature over `len` bytes of `msg`.
 *
 * @param sig        64 bytes: R (32) || S (32)
 * @param msg        message (may be NULL when len == 0), hashed in place (it may live in flash)
 * @param len        message length in bytes
 * @param public_key 32-byte encoded point A
 * @return VS_OK when the signature is valid; VS_ED25519_ERR_BAD_KEY for a key rule 2 or 3 refuses;
 *         VS_ED25519_ERR_BAD_SIG for anything else wrong; VS_ERR_ARG for NULL pointers.
 */
int vs_ed25519_verify(const uint8_t sig[VS_ED25519_SIGNATURE_BYTES], const void *msg, size_t len,
                      const uint8_t public_key[VS_ED25519_PUBLIC_KEY_BYTES]);

#ifdef __cplusplus
}
#endif

#endif /* VS_ED25519_H */
