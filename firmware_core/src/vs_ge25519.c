/*
 * vs_ge25519.c - edwards25519 group operations for the verifier, from RFC 8032 section 5.1 (decoding 5.1.3,
 * encoding 5.1.2, the a = -1 extended-coordinate addition and doubling formulas of 5.1.4, which are complete
 * because -1 is a square and d is not a square mod p).
 */
#include "vs_ge25519.h"

#include <string.h>

/* d = -121665 / 121666, 2 d, sqrt(-1) = 2^((p - 1) / 4) and the base point B (x, y = 4/5), all mod p,
 * little-endian; computed with Python integers from their definitions. */
static const uint8_t D_BYTES[32] = {
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52};
/* 2 d in limb form (vs_fe25519.h radix), used by every addition: no decoding in the hot loop. The same value
 * as little-endian bytes is 59 f1 b2 26 94 9b d6 eb 56 b1 83 82 9a 14 e0 00 30 d1 f3 ee f2 80 8e 19 e7 fc df 56
 * dc d9 06 24 (computed with Python integers); a wrong limb would fail every RFC 8032 vector. */
const vs_fe_t vs_ge_d2 = {{45281625, 27714825, 36363642, 13898781, 229458, 15978800, 54557047, 27058993, 29715967,
                           9444199}};
static const uint8_t SQRTM1_BYTES[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b};
static const uint8_t BX_BYTES[32] = {
    0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
    0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21};
static const uint8_t BY_BYTES[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

void vs_ge_identity(vs_ge_t *p)
{
    vs_fe_set_small(&p->X, 0);
    vs_fe_set_small(&p->Y, 1);
    vs_fe_set_small(&p->Z, 1);
    vs_fe_set_small(&p->T, 0);
}

void vs_ge_base(vs_ge_t *p)
{
    vs_fe_frombytes(&p->X, BX_BYTES);
    vs_fe_frombytes(&p->Y, BY_BYTES);
    vs_fe_set_small(&p->Z, 1);
    vs_fe_mul(&p->T, &p->X, &p->Y);
}

void vs_ge_add(vs_ge_t *r, const vs_ge_t *p, const vs_ge_t *q)
{
    vs_fe_t a, b, c, d, e, f, g, h, t;
    vs_fe_sub(&a, &p->Y, &p->X);
    vs_fe_sub(&t, &q->Y, &q->X);
    vs_fe_mul(&a, &a, &t); /* A = (Y1 - X1)(Y2 - X2) */
    vs_fe_add(&b, &p->Y, &p->X);
    vs_fe_add(&t, &q->Y, &q->X);
    vs_fe_mul(&b, &b, &t); /* B = (Y1 + X1)(Y2 + X2) */
    vs_fe_mul(&c, &p->T, &vs_ge_d2);
    vs_fe_mul(&c, &c, &q->T); /* C = T1 2d T2 */
    vs_fe_mul(&d, &p->Z, &q->Z);
    vs_fe_add(&d, &d, &d); /* D = 2 Z1 Z2 */
    vs_fe_sub(&e, &b, &a);
    vs_fe_sub(&f, &d, &c);
    vs_fe_add(&g, &d, &c);
    vs_fe_add(&h, &b, &a);
    vs_fe_mul(&r->X, &e, &f);
    vs_fe_mul(&r->Y, &g, &h);
    vs_fe_mul(&r->T, &e, &h);
    vs_fe_mul(&r->Z, &f, &g);
}

void vs_ge_double(vs_ge_t *r, const vs_ge_t *p)
{
    vs_fe_t a, b, c, e, f, g, h;
    vs_fe_sq(&a, &p->X);
    vs_fe_sq(&b, &p->Y);
    vs_fe_sq(&c, &p->Z);
    vs_fe_add(&c, &c, &c); /* C = 2 Z1^2 */
    vs_fe_add(&h, &a, &b); /* H = A + B */
    vs_fe_add(&e, &p->X, &p->Y);
    vs_fe_sq(&e, &e);
    vs_fe_sub(&e, &h, &e); /* E = H - (X1 + Y1)^2 */
    vs_fe_sub(&g, &a, &b); /* G = A - B */
    vs_fe_add(&f, &c, &g); /* F = C + G */
    vs_fe_mul(&r->X, &e, &f);
    vs_fe_mul(&r->Y, &g, &h);
    vs_fe_mul(&r->T, &e, &h);
    vs_fe_mul(&r->Z, &f, &g);
}

void vs_ge_neg(vs_ge_t *r, const vs_ge_t *p)
{
    vs_fe_neg(&r->X, &p->X);
    r->Y = p->Y;
    r->Z = p->Z;
    vs_fe_neg(&r->T, &p->T);
}

int vs_ge_decode(vs_ge_t *p, const uint8_t s[32])
{
    uint8_t canon[32];
    const int x_0 = s[31] >> 7;
    vs_fe_t y, u, v, v3, x, vx2, t;

    /* 1. y: the low 255 bits; its canonical re-encoding must give them back, else y >= p. */
    vs_fe_frombytes(&y, s);
    vs_fe_tobytes(canon, &y);
    canon[31] |= (uint8_t)(x_0 << 7);
    if (memcmp(canon, s, 32) != 0) {
        return -1;
    }
    /* 2. x^2 = u / v with u = y^2 - 1, v = d y^2 + 1; candidate x = u v^3 (u v^7)^((p - 5) / 8). */
    vs_fe_sq(&u, &y);
    vs_fe_frombytes(&t, D_BYTES);
    vs_fe_mul(&v, &u, &t);
    vs_fe_set_small(&t, 1);
    vs_fe_sub(&u, &u, &t);
    vs_fe_add(&v, &v, &t);
    vs_fe_sq(&v3, &v);
    vs_fe_mul(&v3, &v3, &v);      /* v^3 */
    vs_fe_sq(&x, &v3);
    vs_fe_mul(&x, &x, &v);        /* v^7 */
    vs_fe_mul(&x, &x, &u);        /* u v^7 */
    vs_fe_pow2523(&x, &x);
    vs_fe_mul(&x, &x, &v3);
    vs_fe_mul(&x, &x, &u);        /* u v^3 (u v^7)^((p - 5) / 8) */
    /* 3. v x^2 = u: x is a root; v x^2 = -u: x sqrt(-1) is; otherwise there is none. */
    vs_fe_sq(&vx2, &x);
    vs_fe_mul(&vx2, &vx2, &v);
    if (!vs_fe_equal(&vx2, &u)) {
        vs_fe_neg(&t, &u);
        if (!vs_fe_equal(&vx2, &t)) {
            return -1;
        }
        vs_fe_frombytes(&t, SQRTM1_BYTES);
        vs_fe_mul(&x, &x, &t);
    }
    /* 4. the sign bit picks the root; x = 0 has only the encoding with sign 0. */
    if (vs_fe_iszero(&x) && x_0 == 1) {
        return -1;
    }
    if (vs_fe_isodd(&x) != x_0) {
        vs_fe_neg(&x, &x);
    }
    p->X = x;
    p->Y = y;
    vs_fe_set_small(&p->Z, 1);
    vs_fe_mul(&p->T, &x, &y);
    return 0;
}

void vs_ge_encode(uint8_t s[32], const vs_ge_t *p)
{
    vs_fe_t zi, x, y;
    vs_fe_invert(&zi, &p->Z);
    vs_fe_mul(&x, &p->X, &zi);
    vs_fe_mul(&y, &p->Y, &zi);
    vs_fe_tobytes(s, &y);
    s[31] |= (uint8_t)(vs_fe_isodd(&x) << 7);
}

int vs_ge_is_small_order(const vs_ge_t *p)
{
    vs_ge_t q;
    vs_ge_double(&q, p);
    vs_ge_double(&q, &q);
    vs_ge_double(&q, &q);
    /* identity: x = 0 and y = 1, i.e. X = 0 and Y = Z (Z is never 0 on the curve) */
    return vs_fe_iszero(&q.X) && vs_fe_equal(&q.Y, &q.Z);
}

void vs_ge_double_scalarmult(vs_ge_t *r, const uint8_t a[32], const vs_ge_t *p, const uint8_t b[32],
                             const vs_ge_t *q)
{
    vs_ge_t pq, acc;
    vs_ge_add(&pq, p, q);
    vs_ge_identity(&acc);
    int started = 0;
    for (int i = 255; i >= 0; i--) {
        const int abit = (a[i >> 3] >> (i & 7)) & 1;
        const int bbit = (b[i >> 3] >> (i & 7)) & 1;
        if (started) {
            vs_ge_double(&acc, &acc);
        }
        if (abit && bbit) {
            vs_ge_add(&acc, &acc, &pq);
        } else if (abit) {
            vs_ge_add(&acc, &acc, p);
        } else if (bbit) {
            vs_ge_add(&acc, &acc, q);
        } else {
            continue;
        }
        started = 1;
    }
    *r = acc;
}
