/*
 * vs_model_manifest.c - signature check and strict JSON parse of signed_manifest.json (vs_model_manifest.h).
 */
#include "vs/vs_model_manifest.h"

#include <ctype.h>
#include <string.h>

#include "vs/vs_ed25519.h"

typedef struct {
    const uint8_t *p, *end;
} cursor_t;

/* Fields seen (bit per required field) and their values. */
enum { F_FORMAT = 1, F_VERSION = 2, F_COUNTER = 4, F_FEATURE = 8, F_IMAGE = 16, F_SIZE = 32, F_SHA = 64 };

static void skip_ws(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

static int expect(cursor_t *c, uint8_t ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string: *s / *n its raw bytes between the quotes (escapes left as they are: only skipped values may
 * contain them). */
static int string(cursor_t *c, const uint8_t **s, size_t *n)
{
    if (!expect(c, '"')) {
        return 0;
    }
    *s = c->p;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p < 0x20u) {
            return 0; /* control characters must be escaped in JSON */
        }
        if (*c->p == '\\') {
            c->p++;
            if (c->p >= c->end || strchr("\"\\/bfnrtu", *c->p) == NULL || *c->p == '\0') {
                return 0; /* JSON's escapes only (a skipped value must still be valid JSON) */
            }
            if (*c->p == 'u') {
                for (int i = 0; i < 4; i++) {
                    c->p++;
                    if (c->p >= c->end || !isxdigit(*c->p)) {
                        return 0;
                    }
                }
            }
        }
        c->p++;
    }
    if (c->p >= c->end) {
        return 0;
    }
    *n = (size_t)(c->p - *s);
    c->p++;
    return 1;
}

/* An unsigned integer in 0 .. 2^32 - 1 without leading zeros. */
static int uint32_value(cursor_t *c, uint32_t *v)
{
    skip_ws(c);
    uint64_t x = 0;
    const uint8_t *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        x = x * 10u + (uint64_t)(*c->p - '0');
        if (x > 0xffffffffull) {
            return 0;
        }
        c->p++;
    }
    const size_t digits = (size_t)(c->p - start);
    if (digits == 0u || (digits > 1u && *start == '0')) {
        return 0;
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E')) {
        return 0;
    }
    *v = (uint32_t)x;
    return 1;
}

static int hex32(const uint8_t *s, size_t n, uint8_t out[32])
{
    if (n != 64u) {
        return 0;
    }
    for (size_t i = 0; i < 64u; i++) {
        const uint8_t ch = s[i];
        const int v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (v < 0) {
            return 0;
        }
        out[i / 2u] = (uint8_t)((i % 2u) ? (out[i / 2u] | v) : (v << 4));
    }
    return 1;
}

static int key_is(const uint8_t *k, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(k, name, n) == 0;
}

/* Skip a value of a key we do not know: a string or an unsigned integer. */
static int skip_value(cursor_t *c)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == '"') {
        const uint8_t *s;
        size_t n;
        return string(c, &s, &n);
    }
    uint32_t v;
    return uint32_value(c, &v);
}

/* The members of one object, after its '{'; `depth` 0 is the manifest, 1 the "image" object. */
static int members(cursor_t *c, int depth, unsigned *seen, vs_model_manifest_t *m)
{
    const uint8_t *prev_key = NULL;
    size_t prev_n = 0;
    if (expect(c, '}')) {
        return 1;
    }
    do {
        const uint8_t *k, *s;
        size_t n, sn;
        if (!string(c, &k, &n) || !expect(c, ':')) {
            return 0;
        }
        /* canonical manifests have sorted keys: strictly increasing order also rules out duplicates */
        if (prev_key != NULL) {
            const size_t common = n < prev_n ? n : prev_n;
            const int cmp = memcmp(prev_key, k, common);
            if (cmp > 0 || (cmp == 0 && prev_n >= n)) {
                return 0;
            }
        }
        prev_key = k;
        prev_n = n;
        unsigned bit = 0;
        uint32_t v = 0;
        if (depth == 0 && key_is(k, n, "format")) {
            bit = F_FORMAT;
            if (!string(c, &s, &sn) || !key_is(s, sn, "vibsentry.signed_manifest")) {
                return 0;
            }
        } else if (depth == 0 && key_is(k, n, "format_version")) {
            bit = F_VERSION;
            if (!uint32_value(c, &v) || v != 1u) {
                return 0;
            }
        } else if (depth == 0 && key_is(k, n, "counter")) {
            bit = F_COUNTER;
            if (!uint32_value(c, &m->counter) || m->counter == 0u) {
                return 0;
            }
        } else if (depth == 0 && key_is(k, n, "feature_hash")) {
            bit = F_FEATURE;
            if (!string(c, &s, &sn) || !hex32(s, sn, m->feature_hash)) {
                return 0;
            }
        } else if (depth == 0 && key_is(k, n, "image")) {
            bit = F_IMAGE;
            if (!expect(c, '{') || !members(c, 1, seen, m)) {
                return 0;
            }
        } else if (depth == 0 && key_is(k, n, "selftest_sha256")) {
            if (!string(c, &s, &sn) || !hex32(s, sn, m->selftest_sha256)) {
                return 0;
            }
            m->has_selftest = 1;
        } else if (depth == 1 && key_is(k, n, "size")) {
            bit = F_SIZE;
            if (!uint32_value(c, &m->image_size) || m->image_size == 0u) {
                return 0;
            }
        } else if (depth == 1 && key_is(k, n, "sha256")) {
            bit = F_SHA;
            if (!string(c, &s, &sn) || !hex32(s, sn, m->image_sha256)) {
                return 0;
            }
        } else if (!skip_value(c)) {
            return 0;
        }
        *seen |= bit;
    } while (expect(c, ','));
    return expect(c, '}');
}

int vs_model_manifest_parse(const uint8_t *manifest, size_t len, vs_model_manifest_t *out)
{
    if (manifest == NULL || out == NULL) {
        return VS_ERR_ARG;
    }
    vs_model_manifest_t m;
    memset(&m, 0, sizeof m);
    cursor_t c = {manifest, manifest + len};
    unsigned seen = 0;
    if (!expect(&c, '{') || !members(&c, 0, &seen, &m)) {
        return VS_IMAGE_ERR_MANIFEST;
    }
    skip_ws(&c);
    if (c.p != c.end || seen != (F_FORMAT | F_VERSION | F_COUNTER | F_FEATURE | F_IMAGE | F_SIZE | F_SHA)) {
        return VS_IMAGE_ERR_MANIFEST;
    }
    *out = m;
    return VS_OK;
}

int vs_model_manifest_check(const uint8_t *manifest, size_t len, const uint8_t sig[64], const uint8_t (*keys)[32],
                            size_t n_keys, vs_model_manifest_t *out)
{
    if (manifest == NULL || sig == NULL || keys == NULL || out == NULL || n_keys > 255u) {
        return VS_ERR_ARG;
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (vs_ed25519_verify(sig, manifest, len, keys[i]) == VS_OK) {
            const int rc = vs_model_manifest_parse(manifest, len, out);
            if (rc == VS_OK) {
                out->key_index = (uint8_t)i;
            }
            return rc;
        }
    }
    return VS_IMAGE_ERR_SIGNATURE;
}
