/*
 * test_model_manifest.c - vs_model_manifest_parse and vs_sha256 under ASan/UBSan: every truncation and
 * 20,000 random byte mutations of a canonical manifest, each parsed from an exact-size heap copy so any read
 * past the end is reported; SHA-256 known answers (FIPS 180-4 examples) and chunked hashing.
 */
#include <stdlib.h>
#include <string.h>

#include "vs/vs_model_manifest.h"
#include "vs/vs_sha256.h"
#include "vs_test.h"

static const char MANIFEST[] =
    "{\n"
    "  \"bundle_sha256\": \"33fa3f1b0b1e4f0c2f1c9d5c2b1d1c0e4e1f9d7c3a2b1c0d9e8f7a6b5c4d3e2f\",\n"
    "  \"counter\": 1765000000,\n"
    "  \"feature_hash\": \"5b1f5ee1d9c0a31f4d3e2c1b0a99887766554433221100ffeeddccbbaa998877\",\n"
    "  \"format\": \"vibsentry.signed_manifest\",\n"
    "  \"format_version\": 1,\n"
    "  \"image\": {\n"
    "    \"file\": \"model.vsm\",\n"
    "    \"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\n"
    "    \"size\": 2204\n"
    "  },\n"
    "  \"key_id\": \"0123456789abcdef\",\n"
    "  \"model_id\": \"pump \\\"7\\\" \\u00e9\",\n"
    "  \"signed_at\": \"2026-12-06T03:00:00Z\",\n"
    "  \"version\": \"2026-12-06T02:41:07Z\"\n"
    "}\n";

static int parse_copy(const uint8_t *src, size_t n, vs_model_manifest_t *m)
{
    uint8_t *copy = malloc(n ? n : 1u);
    if (copy == NULL) {
        return -999;
    }
    memcpy(copy, src, n);
    const int rc = vs_model_manifest_parse(copy, n, m);
    free(copy);
    return rc;
}

static void test_parse(void)
{
    const size_t n = strlen(MANIFEST);
    vs_model_manifest_t m;
    VS_CHECK_EQ_INT(parse_copy((const uint8_t *)MANIFEST, n, &m), VS_OK);
    VS_CHECK_EQ_INT(m.counter, 1765000000L);
    VS_CHECK_EQ_INT(m.image_size, 2204);
    VS_CHECK_EQ_INT(m.image_sha256[0], 0x01);
    VS_CHECK_EQ_INT(m.image_sha256[31], 0xef);
    VS_CHECK_EQ_INT(m.feature_hash[0], 0x5b);
    for (size_t k = 0; k + 1 < n; k++) { /* the final LF is optional whitespace */
        VS_CHECK_EQ_INT(parse_copy((const uint8_t *)MANIFEST, k, &m), VS_IMAGE_ERR_MANIFEST);
    }
    static const char alphabet[] = "0123456789abcdef\"{},:[] \n\\u-.e";
    uint8_t buf[sizeof MANIFEST];
    unsigned seed = 12345u;
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(buf, MANIFEST, n);
        for (int j = 0; j < 1 + i % 3; j++) {
            seed = seed * 1103515245u + 12345u;
            const size_t pos = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            buf[pos] = (uint8_t)alphabet[(seed >> 8) % (sizeof alphabet - 1u)];
        }
        const int rc = parse_copy(buf, n, &m);
        VS_CHECK(rc == VS_OK || rc == VS_IMAGE_ERR_MANIFEST);
        accepted += rc == VS_OK;
    }
    VS_CHECK(accepted > 0);
    VS_CHECK_EQ_INT(vs_model_manifest_parse(NULL, 0, &m), VS_ERR_ARG);
}

static void check_sha(const char *msg, const char *hex)
{
    uint8_t d[32];
    char got[65];
    vs_sha256(msg, strlen(msg), d);
    for (int i = 0; i < 32; i++) {
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    }
    VS_CHECK(strcmp(got, hex) == 0);
}

static void test_sha256(void)
{
    check_sha("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    uint8_t data[300], ref[32], got[32];
    for (int i = 0; i < 300; i++) {
        data[i] = (uint8_t)(i * 13 + 7);
    }
    vs_sha256(data, sizeof data, ref);
    for (size_t chunk = 1; chunk <= 70u; chunk++) {
        vs_sha256_t h;
        vs_sha256_init(&h);
        for (size_t off = 0; off < sizeof data; off += chunk) {
            vs_sha256_update(&h, data + off, off + chunk <= sizeof data ? chunk : sizeof data - off);
        }
        vs_sha256_final(&h, got);
        VS_CHECK(memcmp(ref, got, 32) == 0);
    }
}

int main(void)
{
    test_parse();
    test_sha256();
    VS_TEST_DONE();
}
