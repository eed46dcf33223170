/*
 * vs_sha256.c - SHA-256 per FIPS 180-4 section 6.2, 16-word rolling message schedule (64 bytes of W).
 */
#include "vs/vs_sha256.h"

#include <string.h>

/* FIPS 180-4 4.2.2 (computed as icbrt(prime << 96) mod 2^32). */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* FIPS 180-4 5.3.3 (isqrt(prime << 64) mod 2^32). */
static const uint32_t H0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                               0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

static uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void compress256(uint32_t state[8], const uint8_t *block)
{
    uint32_t w[16];
    uint32_t v[8];
    memcpy(v, state, sizeof v);
    for (unsigned t = 0; t < 64u; t++) {
        uint32_t wt;
        if (t < 16u) {
            const uint8_t *p = block + 4u * t;
            wt = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        } else {
            const uint32_t a = w[(t - 15u) & 15u], b = w[(t - 2u) & 15u];
            wt = (rotr32(b, 17) ^ rotr32(b, 19) ^ (b >> 10)) + w[(t - 7u) & 15u] +
                 (rotr32(a, 7) ^ rotr32(a, 18) ^ (a >> 3)) + w[t & 15u];
        }
        w[t & 15u] = wt;
        /* v = a b c d e f g h */
        const uint32_t t1 = v[7] + (rotr32(v[4], 6) ^ rotr32(v[4], 11) ^ rotr32(v[4], 25)) +
                            ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[t] + wt;
        const uint32_t t2 = (rotr32(v[0], 2) ^ rotr32(v[0], 13) ^ rotr32(v[0], 22)) +
                            ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7u * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (unsigned i = 0; i < 8u; i++) {
        state[i] += v[i];
    }
}

void vs_sha256_init(vs_sha256_t *ctx)
{
    memcpy(ctx->state, H0, sizeof H0);
    ctx->total = 0;
}

void vs_sha256_update(vs_sha256_t *ctx, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    if (len == 0u) {
        return;
    }
    size_t fill = (size_t)(ctx->total % VS_SHA256_BLOCK_BYTES);
    ctx->total += len;
    while (len > 0u) {
        if (fill == 0u && len >= VS_SHA256_BLOCK_BYTES) {
            compress256(ctx->state, p); /* whole blocks straight from the input (e.g. from flash) */
            p += VS_SHA256_BLOCK_BYTES;
            len -= VS_SHA256_BLOCK_BYTES;
            continue;
        }
        size_t take = VS_SHA256_BLOCK_BYTES - fill;
        take = take < len ? take : len;
        memcpy(ctx->block + fill, p, take);
        fill += take;
        p += take;
        len -= take;
        if (fill == VS_SHA256_BLOCK_BYTES) {
            compress256(ctx->state, ctx->block);
            fill = 0;
        }
    }
}

void vs_sha256_final(vs_sha256_t *ctx, uint8_t digest[VS_SHA256_DIGEST_BYTES])
{
    size_t fill = (size_t)(ctx->total % VS_SHA256_BLOCK_BYTES);
    const uint64_t bits = ctx->total * 8u;
    ctx->block[fill++] = 0x80u;
    if (fill > VS_SHA256_BLOCK_BYTES - 8u) {
        memset(ctx->block + fill, 0, VS_SHA256_BLOCK_BYTES - fill);
        compress256(ctx->state, ctx->block);
        fill = 0;
    }
    memset(ctx->block + fill, 0, VS_SHA256_BLOCK_BYTES - fill);
    for (unsigned i = 0; i < 8u; i++) {
        ctx->block[VS_SHA256_BLOCK_BYTES - 1u - i] = (uint8_t)(bits >> (8u * i));
    }
    compress256(ctx->state, ctx->block);
    for (unsigned i = 0; i < 32u; i++) {
        digest[i] = (uint8_t)(ctx->state[i / 4u] >> (24u - 8u * (i % 4u)));
    }
    memset(ctx, 0, sizeof *ctx);
}

void vs_sha256(const void *data, size_t len, uint8_t digest[VS_SHA256_DIGEST_BYTES])
{
    vs_sha256_t ctx;
    vs_sha256_init(&ctx);
    vs_sha256_update(&ctx, data, len);
    vs_sha256_final(&ctx, digest);
}
