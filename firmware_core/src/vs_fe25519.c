/*
 * vs_fe25519.c - GF(2^255 - 19) arithmetic for the Ed25519 verifier; see vs_fe25519.h for the representation.
 * Written from the arithmetic (RFC 8032 section 5.1 and the radix-2^25.5 idea of Bernstein's Curve25519
 * paper); carries use floor division (arithmetic shifts of int64, which GCC and Clang define) so limbs end
 * non-negative, and multiplications by 2^k are written as products, not left shifts of signed values.
 */
#include "vs_fe25519.h"

#include <string.h>

/* Bits of limb i: 26 for even i, 25 for odd i. */
#define LIMB_BITS(i) (26 - ((i) & 1))

static const uint8_t OFFSETS[10] = {0, 26, 51, 77, 102, 128, 153, 179, 204, 230};

/* One carry pass over int64 limbs into int32 limbs: 0 -> 1 -> ... -> 9 -> 0 (times 19) -> 1. */
static void carry(vs_fe_t *out, int64_t h[10])
{
    for (int i = 0; i < 10; i++) {
        const int bits = LIMB_BITS(i);
        const int64_t c = h[i] >> bits;
        h[i] -= c * ((int64_t)1 << bits);
        if (i < 9) {
            h[i + 1] += c;
        } else {
            h[0] += 19 * c;
        }
    }
    const int64_t c0 = h[0] >> 26;
    h[0] -= c0 * ((int64_t)1 << 26);
    h[1] += c0;
    for (int i = 0; i < 10; i++) {
        out->v[i] = (int32_t)h[i];
    }
}

void vs_fe_frombytes(vs_fe_t *h, const uint8_t s[32])
{
    for (int i = 0; i < 10; i++) {
        const unsigned off = OFFSETS[i];
        const unsigned first = off / 8u;
        uint64_t w = 0;
        for (unsigned k = 0; k < 5u && first + k < 32u; k++) {
            w |= (uint64_t)s[first + k] << (8u * k);
        }
        h->v[i] = (int32_t)((w >> (off % 8u)) & ((UINT64_C(1) << LIMB_BITS(i)) - 1u));
    }
}

void vs_fe_tobytes(uint8_t s[32], const vs_fe_t *h)
{
    int64_t t[10];
    for (int i = 0; i < 10; i++) {
        t[i] = h->v[i];
    }
    vs_fe_t f;
    carry(&f, t); /* now 0 <= value < 2^255 + 2^40, limbs non-negative: value < 2p */
    for (int i = 0; i < 10; i++) {
        t[i] = f.v[i];
    }
    /* q = floor((value + 19) / 2^255) is 1 exactly when value >= p; subtract q * p = add 19q, drop 2^255 q. */
    int64_t q = (t[0] + 19) >> 26;
    for (int i = 1; i < 10; i++) {
        q = (t[i] + q) >> LIMB_BITS(i);
    }
    t[0] += 19 * q;
    for (int i = 0; i < 9; i++) {
        const int bits = LIMB_BITS(i);
        const int64_t c = t[i] >> bits;
        t[i] -= c * ((int64_t)1 << bits);
        t[i + 1] += c;
    }
    t[9] &= ((int64_t)1 << 25) - 1;
    memset(s, 0, 32);
    for (int i = 0; i < 10; i++) {
        const unsigned off = OFFSETS[i];
        const uint64_t w = (uint64_t)t[i] << (off % 8u);
        for (unsigned k = 0; k < 5u && off / 8u + k < 32u; k++) {
            s[off / 8u + k] |= (uint8_t)(w >> (8u * k));
        }
    }
}

void vs_fe_set_small(vs_fe_t *h, int32_t x)
{
    memset(h, 0, sizeof *h);
    h->v[0] = x;
}

/* The carry pass of carry() in 32-bit arithmetic, for sums and differences of two loose elements (|limb| <
 * 2^28, so every carry is a few units): on a 32-bit core this costs a fraction of the int64 pass. */
static void carry32(vs_fe_t *h)
{
    for (int i = 0; i < 10; i++) {
        const int bits = LIMB_BITS(i);
        const int32_t c = h->v[i] >> bits;
        h->v[i] -= c * ((int32_t)1 << bits);
        if (i < 9) {
            h->v[i + 1] += c;
        } else {
            h->v[0] += 19 * c;
        }
    }
    const int32_t c0 = h->v[0] >> 26;
    h->v[0] -= c0 * ((int32_t)1 << 26);
    h->v[1] += c0;
}

void vs_fe_add(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g)
{
    for (int i = 0; i < 10; i++) {
        h->v[i] = f->v[i] + g->v[i];
    }
    carry32(h);
}

void vs_fe_sub(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g)
{
    for (int i = 0; i < 10; i++) {
        h->v[i] = f->v[i] - g->v[i];
    }
    carry32(h); /* floor carries turn a negative difference into non-negative limbs (mod p) */
}

void vs_fe_neg(vs_fe_t *h, const vs_fe_t *f)
{
    vs_fe_t zero;
    vs_fe_set_small(&zero, 0);
    vs_fe_sub(h, &zero, f);
}

void vs_fe_mul(vs_fe_t *h, const vs_fe_t *f, const vs_fe_t *g)
{
    int32_t g19[10];
    int64_t t[10] = {0};
    for (int j = 0; j < 10; j++) {
        g19[j] = 19 * g->v[j];
    }
    /* Fully unrolled (the pragmas), the (j & 1) and (i + j < 10) tests vanish at compile time: 100 multiply-
     * accumulates, about 4x faster than the loop on Cortex-M4, for about 1 KB more code. */
#pragma GCC unroll 10
    for (int i = 0; i < 10; i++) {
        const int32_t fi = f->v[i];
        /* odd i times odd j: weights add up to half a bit more than the target limb's, hence 2 f_i */
        const int32_t fi_odd = (i & 1) ? 2 * fi : fi;
#pragma GCC unroll 10
        for (int j = 0; j < 10; j++) {
            const int32_t a = (j & 1) ? fi_odd : fi;
            if (i + j < 10) {
                t[i + j] += (int64_t)a * g->v[j];
            } else {
                t[i + j - 10] += (int64_t)a * g19[j]; /* 2^255 = 19 (mod p) */
            }
        }
    }
    carry(h, t);
}

void vs_fe_sq(vs_fe_t *h, const vs_fe_t *f)
{
    /* vs_fe_mul(h, f, f) with f_i f_j == f_j f_i counted once and doubled: 55 products instead of 100. The
     * factor on f_i (2 off the diagonal, 2 more for two odd limbs) stays below 2^29, 19 f_j below 2^31. */
    int32_t f19[10];
    int64_t t[10] = {0};
    for (int j = 0; j < 10; j++) {
        f19[j] = 19 * f->v[j];
    }
#pragma GCC unroll 10
    for (int i = 0; i < 10; i++) {
#pragma GCC unroll 10
        for (int j = i; j < 10; j++) {
            const int32_t a = f->v[i] * ((i != j ? 2 : 1) * ((i & j & 1) ? 2 : 1));
            if (i + j < 10) {
                t[i + j] += (int64_t)a * f->v[j];
            } else {
                t[i + j - 10] += (int64_t)a * f19[j];
            }
        }
    }
    carry(h, t);
}

static void sq_n(vs_fe_t *h, const vs_fe_t *f, int n)
{
    vs_fe_sq(h, f);
    for (int i = 1; i < n; i++) {
        vs_fe_sq(h, h);
    }
}

/* z250 = f^(2^250 - 1), z11 = f^11: the common prefix of both exponents below (265 multiplications total). */
static void pow_2_250_1(vs_fe_t *z250, vs_fe_t *z11, const vs_fe_t *f)
{
    vs_fe_t t0, t1, t2;
    vs_fe_sq(&t0, f);           /* 2 */
    sq_n(&t1, &t0, 2);          /* 8 */
    vs_fe_mul(&t1, &t1, f);     /* 9 */
    vs_fe_mul(z11, &t0, &t1);   /* 11 */
    vs_fe_sq(&t0, z11);         /* 22 */
    vs_fe_mul(&t1, &t1, &t0);   /* 31 = 2^5 - 1 */
    sq_n(&t0, &t1, 5);
    vs_fe_mul(&t1, &t0, &t1);   /* 2^10 - 1 */
    sq_n(&t0, &t1, 10);
    vs_fe_mul(&t2, &t0, &t1);   /* 2^20 - 1 */
    sq_n(&t0, &t2, 20);
    vs_fe_mul(&t0, &t0, &t2);   /* 2^40 - 1 */
    sq_n(&t0, &t0, 10);
    vs_fe_mul(&t1, &t0, &t1);   /* 2^50 - 1 */
    sq_n(&t0, &t1, 50);
    vs_fe_mul(&t2, &t0, &t1);   /* 2^100 - 1 */
    sq_n(&t0, &t2, 100);
    vs_fe_mul(&t0, &t0, &t2);   /* 2^200 - 1 */
    sq_n(&t0, &t0, 50);
    vs_fe_mul(z250, &t0, &t1);  /* 2^250 - 1 */
}

void vs_fe_invert(vs_fe_t *h, const vs_fe_t *f)
{
    vs_fe_t z250, z11;
    pow_2_250_1(&z250, &z11, f);
    sq_n(&z250, &z250, 5);      /* 2^255 - 32 */
    vs_fe_mul(h, &z250, &z11);  /* 2^255 - 21 = p - 2 */
}

void vs_fe_pow2523(vs_fe_t *h, const vs_fe_t *f)
{
    vs_fe_t z250, z11;
    pow_2_250_1(&z250, &z11, f);
    sq_n(&z250, &z250, 2);      /* 2^252 - 4 */
    vs_fe_mul(h, &z250, f);     /* 2^252 - 3 = (p - 5) / 8 */
}

int vs_fe_iszero(const vs_fe_t *f)
{
    uint8_t s[32];
    uint8_t acc = 0;
    vs_fe_tobytes(s, f);
    for (int i = 0; i < 32; i++) {
        acc |= s[i];
    }
    return acc == 0;
}

int vs_fe_equal(const vs_fe_t *f, const vs_fe_t *g)
{
    vs_fe_t d;
    vs_fe_sub(&d, f, g);
    return vs_fe_iszero(&d);
}

int vs_fe_isodd(const vs_fe_t *f)
{
    uint8_t s[32];
    vs_fe_tobytes(s, f);
    return s[0] & 1;
}
