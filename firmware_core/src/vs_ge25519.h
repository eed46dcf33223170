/*
 * vs_ge25519.h - points of edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19)) in extended
 * homogeneous coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x y = T/Z (RFC 8032 section 5.1.4). Private to
 * the Ed25519 verifier. Not constant-time: verification handles public data only.
 */
#ifndef VS_GE25519_H
#define VS_GE25519_H

#include <stdint.h>

#include "vs_fe25519.h"

typedef struct {
    vs_fe_t X, Y, Z, T;
} vs_ge_t;

/** 2 d, the curve constant the addition law uses, in limb form. */
extern const vs_fe_t vs_ge_d2;

void vs_ge_identity(vs_ge_t *p);
void vs_ge_base(vs_ge_t *p);
/** r = p + q with the complete addition law (valid for doubling and the identity too); r may alias. */
void vs_ge_add(vs_ge_t *r, const vs_ge_t *p, const vs_ge_t *q);
/** r = 2 p; r may alias p. */
void vs_ge_double(vs_ge_t *r, const vs_ge_t *p);
void vs_ge_neg(vs_ge_t *r, const vs_ge_t *p);
/**
 * Strict decoding (RFC 8032 5.1.3): 0 and *p set, or -1 when y >= p (non-canonical), when x^2 has no
 * square root, or when x = 0 with the sign bit set (the other non-canonical encoding).
 */
int vs_ge_decode(vs_ge_t *p, const uint8_t s[32]);
/** Canonical encoding of p (RFC 8032 5.1.2). */
void vs_ge_encode(uint8_t s[32], const vs_ge_t *p);
/** 1 when [8] p is the identity, i.e. p is one of the 8 points of small order. */
int vs_ge_is_small_order(const vs_ge_t *p);
/** r = [a] p + [b] q for 256-bit little-endian scalars (Straus: one shared chain of doublings). */
void vs_ge_double_scalarmult(vs_ge_t *r, const uint8_t a[32], const vs_ge_t *p, const uint8_t b[32],
                             const vs_ge_t *q);

#endif /* VS_GE25519_H */
