/*
 * vs_fe25519.h - arithmetic in GF(p), p = 2^255 - 19 (private to the Ed25519 verifier).
 *
 * Representation: 10 signed 32-bit limbs in alternating radix 2^26 / 2^25 ("radix 2^25.5"): limb i has weight
 * 2^ceil(25.5 i) (offsets 0, 26, 51, 77, 102, 128, 153, 179, 204, 230). 2^255 = 19 (mod p) folds the high half
 * of a product back with a factor 19; a product of two odd limbs lands half a bit above the next limb's
 * weight and is doubled. Every operation ends with a carry pass, so results are "loose": all limbs are in
 * [0, 2^26] except limb 1 (< 2^25 + 2^15), and any two loose inputs multiply without int64 overflow (bound:
 * 10 terms of 2^27 * 19 * 2^26 * 2 < 2^61). The value is fully reduced only by vs_fe_tobytes.
 *
 * Not constant-time (vs_fe_tobytes, vs_fe_iszero): fine for verification, which handles public data only.
 */
#ifndef VS_FE25519_H
#define VS_FE25519_H

#include <stdint.h>

typedef struct {
    int32_t v[10];
} vs_fe_t;

/** Little-endian 32 bytes to a field element; bit 255 is ignored, values >= p are accepted (reduced later). */
void vs_fe_frombytes(vs_fe_t *h, const uint8_t s[32]);
/** Canonical little-endian encoding (the unique representative in [0, p)). */
void vs_fe_tobytes(uint8_t s[32], const vs_fe_t *h);
void vs_fe_set_small(vs_fe_t *h, int32_t x); /* 0 <= x < 2^25 */
void vs_fe_add(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g);
void vs_fe_sub(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g);
void vs_fe_neg(vs_fe_t *h, const vs_fe_t *f);
void vs_fe_mul(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g); /* h may alias f or g */
void vs_fe_sq(vs_fe_t *h, const vs_fe_t *f);
/** h = f^(p - 2) = 1 / f (0 for f = 0). */
void vs_fe_invert(vs_fe_t *h, const vs_fe_t *f);
/** h = f^((p - 5) / 8), the exponent of RFC 8032 5.1.3's square root. */
void vs_fe_pow2523(vs_fe_t *h, const vs_fe_t *f);
int vs_fe_iszero(const vs_fe_t *f);
int vs_fe_equal(const vs_fe_t *f, const vs_fe_t *g);
/** Least significant bit of the canonical value ("negative" in RFC 8032 terms). */
int vs_fe_isodd(const vs_fe_t *f);

#endif /* VS_FE25519_H */
