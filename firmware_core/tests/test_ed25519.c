/*
 * test_ed25519.c - SHA-512 known answers (FIPS 180-4 examples), the RFC 8032 section 7.1 Ed25519 vectors
 * (tests/vectors/ed25519/rfc8032.txt), and the strict rejection rules of vs_ed25519.h: mutated signatures,
 * keys and messages, S >= L, non-canonical encodings, the eight small-order points. Runs under ASan/UBSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_ed25519.h"
#include "vs/vs_sha512.h"
#include "vs_test.h"

static int unhex(uint8_t *out, size_t cap, const char *hex, size_t n_hex)
{
    if (n_hex % 2u != 0u || n_hex / 2u > cap) {
        return -1;
    }
    for (size_t i = 0; i < n_hex / 2u; i++) {
        unsigned v;
        if (sscanf(hex + 2u * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return (int)(n_hex / 2u);
}

static void check_digest(const void *msg, size_t len, const char *hex)
{
    uint8_t want[64], got[64];
    VS_CHECK(unhex(want, sizeof want, hex, strlen(hex)) == 64);
    vs_sha512(msg, len, got);
    VS_CHECK(memcmp(want, got, 64) == 0);
}

static void test_sha512(void)
{
    check_digest("", 0, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f"
                        "63b931bd47417a81a538327af927da3e");
    check_digest("abc", 3, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3f"
                           "eebbd454d4423643ce80e2a9ac94fa54ca49f");
    const char *two = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmn"
                      "opqrstnopqrstu"; /* 112 bytes: the length word needs a second block */
    check_digest(two, strlen(two), "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e43"
                                   "31b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
    /* 1000 bytes i * 7 mod 251, hashed in one piece and in every chunk size 1..130 (hashlib gave the digest) */
    static uint8_t buf[1000];
    for (int i = 0; i < 1000; i++) {
        buf[i] = (uint8_t)(i * 7 % 251);
    }
    const char *want = "7e658e1b50b8375e8ffe4c26591de6ea5c387436a5169172ea07649fc85e7bc989471fad8307cb20b5bf2785bbfad"
                       "2ef47945e5558c3be23aa8a08d7bae3e7d0";
    check_digest(buf, sizeof buf, want);
    uint8_t ref[64], got[64];
    vs_sha512(buf, sizeof buf, ref);
    for (size_t chunk = 1; chunk <= 130u; chunk++) {
        vs_sha512_t h;
        vs_sha512_init(&h);
        for (size_t off = 0; off < sizeof buf; off += chunk) {
            const size_t n = off + chunk <= sizeof buf ? chunk : sizeof buf - off;
            vs_sha512_update(&h, buf + off, n);
            vs_sha512_update(&h, NULL, 0);
        }
        vs_sha512_final(&h, got);
        VS_CHECK(memcmp(ref, got, 64) == 0);
    }
}

typedef struct {
    char name[32];
    uint8_t pk[32];
    uint8_t sig[64];
    uint8_t msg[1024];
    size_t msg_len;
} vector_t;

static int read_vectors(vector_t *v, int cap)
{
    FILE *f = fopen("tests/vectors/ed25519/rfc8032.txt", "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open tests/vectors/ed25519/rfc8032.txt (run from the repository root)\n");
        return -1;
    }
    static char line[4096];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        char *field[5];
        field[0] = line;
        for (int i = 1; i < 5; i++) {
            char *c = strchr(field[i - 1], ':');
            if (c == NULL) {
                fclose(f);
                return -1;
            }
            *c = '\0';
            field[i] = c + 1;
        }
        field[4][strcspn(field[4], "\r\n")] = '\0';
        snprintf(v[n].name, sizeof v[n].name, "%s", field[0]);
        const int m = unhex(v[n].msg, sizeof v[n].msg, field[3], strlen(field[3]));
        if (unhex(v[n].pk, 32, field[2], strlen(field[2])) != 32 || m < 0 ||
            unhex(v[n].sig, 64, field[4], strlen(field[4])) != 64) {
            fclose(f);
            return -1;
        }
        v[n].msg_len = (size_t)m;
        n++;
    }
    fclose(f);
    return n;
}

/* S + L as a 32-byte little-endian number (S < L, so S + L < 2^254 still fits). */
static void add_l(uint8_t s[32])
{
    static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        const unsigned t = s[i] + L[i] + carry;
        s[i] = (uint8_t)t;
        carry = t >> 8;
    }
}

static void test_rfc8032(void)
{
    static vector_t v[8];
    const int n = read_vectors(v, 8);
    VS_CHECK_EQ_INT(n, 5);
    for (int i = 0; i < n; i++) {
        int rc = vs_ed25519_verify(v[i].sig, v[i].msg_len ? v[i].msg : NULL, v[i].msg_len, v[i].pk);
        if (rc != VS_OK) {
            fprintf(stderr, "%s: rc %d\n", v[i].name, rc);
        }
        VS_CHECK_EQ_INT(rc, VS_OK);

        uint8_t sig[64], pk[32];
        /* every single-bit flip of R and S, and one bit per byte of the key, must be refused */
        for (int bit = 0; bit < 512; bit++) {
            memcpy(sig, v[i].sig, 64);
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            VS_CHECK(vs_ed25519_verify(sig, v[i].msg, v[i].msg_len, v[i].pk) != VS_OK);
        }
        for (int byte = 0; byte < 32; byte++) {
            memcpy(pk, v[i].pk, 32);
            pk[byte] ^= (uint8_t)(1u << (byte % 8));
            VS_CHECK(vs_ed25519_verify(v[i].sig, v[i].msg, v[i].msg_len, pk) != VS_OK);
        }
        if (v[i].msg_len > 0) {
            uint8_t msg[1024];
            memcpy(msg, v[i].msg, v[i].msg_len);
            msg[v[i].msg_len - 1] ^= 0x80u;
            VS_CHECK_EQ_INT(vs_ed25519_verify(v[i].sig, msg, v[i].msg_len, v[i].pk), VS_ED25519_ERR_BAD_SIG);
            VS_CHECK_EQ_INT(vs_ed25519_verify(v[i].sig, msg, v[i].msg_len - 1, v[i].pk), VS_ED25519_ERR_BAD_SIG);
        }
        /* rule 1: S + L satisfies the group equation ([S + L]B = [S]B) but is not canonical */
        memcpy(sig, v[i].sig, 64);
        add_l(sig + 32);
        VS_CHECK_EQ_INT(vs_ed25519_verify(sig, v[i].msg, v[i].msg_len, v[i].pk), VS_ED25519_ERR_BAD_SIG);
    }
    if (n > 0) {
        VS_CHECK_EQ_INT(vs_ed25519_verify(v[0].sig, v[0].msg, 1, v[0].pk), VS_ED25519_ERR_BAD_SIG);
        VS_CHECK_EQ_INT(vs_ed25519_verify(NULL, v[0].msg, 0, v[0].pk), VS_ERR_ARG);
        VS_CHECK_EQ_INT(vs_ed25519_verify(v[0].sig, NULL, 3, v[0].pk), VS_ERR_ARG);
        VS_CHECK_EQ_INT(vs_ed25519_verify(v[0].sig, v[0].msg, 0, NULL), VS_ERR_ARG);
    }
}

/* The 8 points of order dividing 8, canonical encodings (computed from the curve equation in Python). */
static const char *const SMALL_ORDER[8] = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
};

static void test_strict_rules(void)
{
    static vector_t v[8];
    if (read_vectors(v, 8) < 1) {
        VS_CHECK(0);
        return;
    }
    uint8_t pk[32], sig[64];
    for (int i = 0; i < 8; i++) {
        VS_CHECK(unhex(pk, 32, SMALL_ORDER[i], 64) == 32);
        /* rule 3 for A: (R = identity, S = 0) verifies under the identity key for every message without it */
        memset(sig, 0, 64);
        sig[0] = 1;
        VS_CHECK_EQ_INT(vs_ed25519_verify(sig, "any", 3, pk), VS_ED25519_ERR_BAD_KEY);
        /* rule 3 for R, with a good key */
        memcpy(sig, v[0].sig, 64);
        memcpy(sig, pk, 32);
        VS_CHECK_EQ_INT(vs_ed25519_verify(sig, v[0].msg, v[0].msg_len, v[0].pk), VS_ED25519_ERR_BAD_SIG);
    }
    /* rule 2: y >= p. y = p + 1 (the identity's non-canonical twin) and y = 2^255 - 1 */
    static const char *const NONCANON[] = {
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p, i.e. 0 */
        "0100000000000000000000000000000000000000000000000000000000000080", /* x = 0 with sign 1 */
    };
    for (size_t i = 0; i < sizeof NONCANON / sizeof NONCANON[0]; i++) {
        VS_CHECK(unhex(pk, 32, NONCANON[i], 64) == 32);
        VS_CHECK_EQ_INT(vs_ed25519_verify(v[0].sig, v[0].msg, v[0].msg_len, pk), VS_ED25519_ERR_BAD_KEY);
        memcpy(sig, v[0].sig, 64);
        memcpy(sig, pk, 32);
        VS_CHECK_EQ_INT(vs_ed25519_verify(sig, v[0].msg, v[0].msg_len, v[0].pk), VS_ED25519_ERR_BAD_SIG);
    }
    /* y = 2: x^2 = 3 / (4d + 1) has no square root, so no point */
    memset(pk, 0, 32);
    pk[0] = 2;
    VS_CHECK_EQ_INT(vs_ed25519_verify(v[0].sig, v[0].msg, v[0].msg_len, pk), VS_ED25519_ERR_BAD_KEY);
    /* S = L exactly, and S = 2^256 - 1 */
    memcpy(sig, v[0].sig, 64);
    memset(sig + 32, 0, 32);
    add_l(sig + 32);
    VS_CHECK_EQ_INT(vs_ed25519_verify(sig, v[0].msg, v[0].msg_len, v[0].pk), VS_ED25519_ERR_BAD_SIG);
    memset(sig + 32, 0xff, 32);
    VS_CHECK_EQ_INT(vs_ed25519_verify(sig, v[0].msg, v[0].msg_len, v[0].pk), VS_ED25519_ERR_BAD_SIG);
}

int main(void)
{
    test_sha512();
    test_rfc8032();
    test_strict_rules();
    VS_TEST_DONE();
}
