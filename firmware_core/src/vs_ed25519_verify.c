/*
 * vs_ed25519_verify.c - RFC 8032 5.1.7 verification with the strict rules listed in vs_ed25519.h, and the
 * little scalar arithmetic it needs (comparison with L, reduction of a 512-bit hash mod L).
 */
#include "vs/vs_ed25519.h"

#include <string.h>

#include "vs/vs_sha512.h"
#include "vs_ge25519.h"

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian 32-bit words. */
static const uint32_t L_WORDS[8] = {0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu,
                                    0x00000000u, 0x00000000u, 0x00000000u, 0x10000000u};

/* a >= b for 8-word little-endian numbers. */
static int words_ge(const uint32_t a[8], const uint32_t b[8])
{
    for (int i = 7; i >= 0; i--) {
        if (a[i] != b[i]) {
            return a[i] > b[i];
        }
    }
    return 1;
}

static void words_sub(uint32_t a[8], const uint32_t b[8])
{
    uint32_t borrow = 0;
    for (int i = 0; i < 8; i++) {
        const uint64_t d = (uint64_t)a[i] - b[i] - borrow;
        a[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 63);
    }
}

static void load_words(uint32_t w[8], const uint8_t s[32])
{
    for (int i = 0; i < 8; i++) {
        w[i] = (uint32_t)s[4 * i] | ((uint32_t)s[4 * i + 1] << 8) | ((uint32_t)s[4 * i + 2] << 16) |
               ((uint32_t)s[4 * i + 3] << 24);
    }
}

static void store_words(uint8_t s[32], const uint32_t w[8])
{
    for (int i = 0; i < 8; i++) {
        for (int k = 0; k < 4; k++) {
            s[4 * i + k] = (uint8_t)(w[i] >> (8 * k));
        }
    }
}

/* out = (64-byte little-endian h) mod L, bit by bit: r = 2r + bit, minus L when r >= L. r < L < 2^253 keeps
 * 2r + 1 within 256 bits. About 512 compare/subtract steps: negligible next to the point arithmetic. */
static void reduce_mod_l(uint8_t out[32], const uint8_t h[64])
{
    uint32_t r[8] = {0};
    for (int bit = 511; bit >= 0; bit--) {
        for (int i = 7; i > 0; i--) {
            r[i] = (r[i] << 1) | (r[i - 1] >> 31);
        }
        r[0] = (r[0] << 1) | (uint32_t)((h[bit >> 3] >> (bit & 7)) & 1);
        if (words_ge(r, L_WORDS)) {
            words_sub(r, L_WORDS);
        }
    }
    store_words(out, r);
}

int vs_ed25519_verify(const uint8_t sig[VS_ED25519_SIGNATURE_BYTES], const void *msg, size_t len,
                      const uint8_t public_key[VS_ED25519_PUBLIC_KEY_BYTES])
{
    if (sig == NULL || public_key == NULL || (msg == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    /* Rule 1: S < L. */
    uint32_t s_words[8];
    load_words(s_words, sig + 32);
    if (words_ge(s_words, L_WORDS)) {
        return VS_ED25519_ERR_BAD_SIG;
    }
    /* Rules 2 and 3 for A, then for R. */
    vs_ge_t a, r, b, check;
    if (vs_ge_decode(&a, public_key) != 0 || vs_ge_is_small_order(&a)) {
        return VS_ED25519_ERR_BAD_KEY;
    }
    if (vs_ge_decode(&r, sig) != 0 || vs_ge_is_small_order(&r)) {
        return VS_ED25519_ERR_BAD_SIG;
    }
    /* Rule 4: k = SHA-512(R || A || M) mod L; [S]B + [k](-A) must encode to R. */
    uint8_t digest[VS_SHA512_DIGEST_BYTES];
    uint8_t k[32];
    vs_sha512_t h;
    vs_sha512_init(&h);
    vs_sha512_update(&h, sig, 32);
    vs_sha512_update(&h, public_key, 32);
    vs_sha512_update(&h, msg, len);
    vs_sha512_final(&h, digest);
    reduce_mod_l(k, digest);

    vs_ge_neg(&a, &a);
    vs_ge_base(&b);
    vs_ge_double_scalarmult(&check, sig + 32, &b, k, &a);
    uint8_t enc[32];
    vs_ge_encode(enc, &check);
    return memcmp(enc, sig, 32) == 0 ? VS_OK : VS_ED25519_ERR_BAD_SIG;
}
