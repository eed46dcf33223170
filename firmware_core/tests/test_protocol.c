/* Host unit test of vs_crc, vs_cobs and vs_protocol (built with ASan + UBSan by tests/support/protocol.py and
 * by the firmware_core Makefile). Run from the repository root: it reads tests/vectors/protocol/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_cobs.h"
#include "vs/vs_crc.h"
#include "vs/vs_protocol.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                                      \
    do {                                                                                                      \
        checks++;                                                                                             \
        if (!(cond)) {                                                                                        \
            failures++;                                                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                                     \
            fputc('\n', stderr);                                                                              \
        }                                                                                                     \
    } while (0)

#define MAX_VECTORS 256

typedef struct {
    char name[64];
    char kind[16];
    uint8_t *bytes;
    size_t len;
} vector_t;

static vs_proto_msg_t msg;

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Reads "NAME HEX" (with_kind = 0) or "NAME KIND HEX" lines; '#' lines are comments. */
static size_t load_vectors(const char *path, int with_kind, vector_t *out, size_t max)
{
    static char line[8192];
    size_t n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        exit(2);
    }
    while (n < max && fgets(line, sizeof line, f) != NULL) {
        char hex[8192];
        vector_t *v = &out[n];
        size_t h;
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (with_kind ? sscanf(line, "%63s %15s %8191s", v->name, v->kind, hex) != 3
                      : sscanf(line, "%63s %8191s", v->name, hex) != 2) {
            fprintf(stderr, "%s: bad line: %s\n", path, line);
            exit(2);
        }
        h = strlen(hex);
        v->len = h / 2U;
        v->bytes = malloc(v->len + 1U); /* test harness only: the library itself never allocates */
        if (v->bytes == NULL) {
            exit(2);
        }
        for (size_t i = 0; i < v->len; i++) {
            v->bytes[i] = (uint8_t)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
        }
        n++;
    }
    fclose(f);
    return n;
}

static const vector_t *find(const vector_t *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0) {
            return &v[i];
        }
    }
    fprintf(stderr, "vector %s missing\n", name);
    exit(2);
}

static int kind_code(const char *kind)
{
    static const struct {
        const char *name;
        int code;
    } kinds[] = {
        {"oversize", VS_PROTO_E_OVERSIZE}, {"cobs", VS_PROTO_E_COBS},       {"length", VS_PROTO_E_LENGTH},
        {"crc", VS_PROTO_E_CRC},           {"version", VS_PROTO_E_VERSION}, {"unknown_type", VS_PROTO_E_UNKNOWN_TYPE},
        {"invalid", VS_PROTO_E_INVALID},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].name, kind) == 0) {
            return kinds[i].code;
        }
    }
    return 0;
}

static int decode_copy(const uint8_t *frame, size_t len, vs_proto_msg_t *m)
{
    static uint8_t buf[4096];
    if (len > sizeof buf) {
        return -999;
    }
    memcpy(buf, frame, len);
    return vs_proto_decode_frame(buf, len, m);
}

static void test_crc(void)
{
    CHECK(vs_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926U, "check value");
    CHECK(vs_crc32(NULL, 0) == 0U, "empty");
    CHECK(vs_crc32_update(vs_crc32((const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5) == 0xCBF43926U,
          "chained");
}

static void test_cobs(void)
{
    uint8_t src[600], enc[700], dec[700];
    size_t n, m;
    /* Canonical forms, including the empty block after a 254-byte run (docs/protocol.md section 1). */
    static const uint8_t z2[] = {0, 0};
    CHECK(vs_cobs_encode(z2, 2, enc, sizeof enc, &n) == VS_COBS_OK && n == 3 && enc[0] == 1 && enc[1] == 1 &&
              enc[2] == 1,
          "two zeros");
    for (int i = 0; i < 254; i++) {
        src[i] = (uint8_t)(1 + i % 255);
    }
    CHECK(vs_cobs_encode(src, 254, enc, sizeof enc, &n) == VS_COBS_OK && n == 256 && enc[0] == 0xFF &&
              enc[255] == 0x01,
          "254 non-zero bytes -> FF block + 01, got n=%zu", n);
    CHECK(vs_cobs_decode(enc, n, dec, sizeof dec, &m) == VS_COBS_OK && m == 254 && memcmp(dec, src, 254) == 0,
          "decode 254");
    CHECK(vs_cobs_decode(enc, n - 1U, dec, sizeof dec, &m) == VS_COBS_OK && m == 254, "final FF block accepted");
    for (size_t len = 0; len < 600; len += 7) {
        for (size_t i = 0; i < len; i++) {
            src[i] = (uint8_t)((i * 37U) % 5U == 0U ? 0U : i * 13U);
        }
        CHECK(vs_cobs_encode(src, len, enc, sizeof enc, &n) == VS_COBS_OK, "encode %zu", len);
        CHECK(n <= VS_COBS_MAX_ENCODED(len) && memchr(enc, 0, n) == NULL, "no zero, bound, len %zu", len);
        CHECK(vs_cobs_encode(src, len, enc, n - 1U, &m) == VS_COBS_E_BUFFER && m == 0, "cap n-1");
        CHECK(vs_cobs_decode(enc, n, enc, n, &m) == VS_COBS_OK && m == len && memcmp(enc, src, len) == 0,
              "in-place decode, len %zu", len);
    }
    enc[0] = 5;
    enc[1] = 1;
    CHECK(vs_cobs_decode(enc, 2, dec, sizeof dec, &m) == VS_COBS_E_FORMAT, "block overrun");
    enc[0] = 2;
    enc[1] = 0;
    CHECK(vs_cobs_decode(enc, 2, dec, sizeof dec, &m) == VS_COBS_E_FORMAT, "zero inside");
    CHECK(vs_cobs_decode(enc, 0, dec, sizeof dec, &m) == VS_COBS_E_FORMAT, "empty");
}

static void test_good_vectors(const vector_t *v, size_t n)
{
    static uint8_t out[VS_PROTO_MAX_WIRE + 16];
    static vs_proto_decoder_t dec;
    size_t len;
    size_t got_frames = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = decode_copy(v[i].bytes, v[i].len, &msg);
        CHECK(rc == VS_OK, "%s: decode rc %d", v[i].name, rc);
        if (rc != VS_OK) {
            continue;
        }
        rc = vs_proto_encode(&msg, out, sizeof out, &len);
        CHECK(rc == VS_OK && len == v[i].len && memcmp(out, v[i].bytes, len) == 0, "%s: re-encode differs",
              v[i].name);
        CHECK(len <= VS_PROTO_MAX_WIRE, "%s: %zu bytes", v[i].name, len);
        /* Every smaller output buffer is refused without writing past it (ASan watches the heap copy). */
        for (size_t cap = 0; cap < len; cap += 1U + cap / 8U) {
            uint8_t *small = malloc(cap + 1U);
            size_t l2 = 1;
            CHECK(small != NULL, "malloc");
            if (small != NULL) {
                CHECK(vs_proto_encode(&msg, small, cap, &l2) == VS_PROTO_E_BUFFER && l2 == 0, "%s: cap %zu",
                      v[i].name, cap);
                free(small);
            }
        }
        /* Every truncation is rejected, and never read out of bounds. */
        for (size_t cut = 0; cut + 1U < v[i].len; cut += 1U + cut / 4U) {
            uint8_t *t = malloc(cut + 1U);
            if (t != NULL) {
                memcpy(t, v[i].bytes, cut);
                CHECK(vs_proto_decode_frame(t, cut, &msg) < 0, "%s: truncated to %zu accepted", v[i].name, cut);
                free(t);
            }
        }
    }
    /* The same frames as one byte stream. */
    vs_proto_decoder_init(&dec);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i].len; j++) {
            if (vs_proto_decoder_push(&dec, v[i].bytes[j], &msg) == 1) {
                got_frames++;
            }
        }
    }
    CHECK(got_frames == n && dec.counters.frames == n && vs_proto_decoder_errors(&dec) == 0,
          "stream: %zu of %zu frames, %u errors", got_frames, n, (unsigned)vs_proto_decoder_errors(&dec));
}

static void test_fields(const vector_t *v, size_t n)
{
    const vector_t *s = find(v, n, "score_basic");
    const vector_t *h = find(v, n, "hello_basic");
    const vector_t *st = find(v, n, "status_temperature_only");
    const vector_t *x = find(v, n, "header_extremes");
    CHECK(decode_copy(s->bytes, s->len, &msg) == VS_OK, "score_basic");
    CHECK(msg.header.type == VS_MSG_SCORE && msg.header.node_id == 7 && msg.header.seq == 1 &&
              msg.header.timestamp_us == 1000000U,
          "score header");
    CHECK(msg.u.score.score == 0.75f && msg.u.score.threshold == 1.5f && msg.u.score.alarm_state == 0 &&
              msg.u.score.class_index == -1 && msg.u.score.rms_g == 0.125f && msg.u.score.peak_g == 0.5f &&
              msg.u.score.velocity_rms_mm_s == 2.25f && msg.u.score.frame_index == 42,
          "score fields");
    CHECK(decode_copy(h->bytes, h->len, &msg) == VS_OK, "hello_basic");
    CHECK(msg.header.type == VS_MSG_HELLO && strcmp(msg.u.hello.fw_version, "vibsentry-fw 0.1.0") == 0 &&
              strcmp(msg.u.hello.machine, "pump-3") == 0 && msg.u.hello.sample_rate_hz == 12000.0f &&
              msg.u.hello.boot_counter == 5 && msg.u.hello.protocol_version == VS_PROTO_VERSION &&
              msg.u.hello.model_hash[0] != 0 && msg.header.version == VS_PROTO_VERSION,
          "hello fields");
    {
        /* Version 2's HELLO tail, and a version-1 HELLO (no tail) read with the tail's defaults. */
        const vector_t *h2 = find(v, n, "hello_v2_trial_after_watchdog");
        const vector_t *h1 = find(v, n, "hello_v1");
        CHECK(h2 != NULL && decode_copy(h2->bytes, h2->len, &msg) == VS_OK, "hello_v2");
        CHECK(msg.u.hello.reset_reason == VS_PROTO_RESET_WATCHDOG && msg.u.hello.model_slot == VS_PROTO_SLOT_B &&
                  msg.u.hello.model_state == VS_PROTO_MODEL_TRIAL,
              "hello v2 tail");
        CHECK(h1 != NULL && decode_copy(h1->bytes, h1->len, &msg) == VS_OK, "hello_v1");
        CHECK(msg.header.version == 1U && msg.u.hello.reset_reason == VS_PROTO_RESET_UNKNOWN &&
                  msg.u.hello.model_slot == VS_PROTO_SLOT_BUILTIN && msg.u.hello.model_state == VS_PROTO_MODEL_NONE,
              "hello v1 defaults");
    }
    CHECK(decode_copy(st->bytes, st->len, &msg) == VS_OK, "status");
    CHECK(msg.u.status.flags == VS_PROTO_STATUS_HAS_TEMPERATURE && msg.u.status.temperature_c == -20.0f &&
              msg.u.status.battery_v == 0.0f && msg.u.status.rx_errors == 6,
          "status fields");
    CHECK(decode_copy(x->bytes, x->len, &msg) == VS_OK, "extremes");
    CHECK(msg.header.node_id == 0xFFFFU && msg.header.seq == 0xFFFFFFFFU && msg.header.timestamp_us == UINT64_MAX,
          "header extremes");
}

static void test_bad_vectors(const vector_t *bad, size_t nb, const vector_t *good, size_t ng)
{
    static vs_proto_decoder_t dec;
    const vector_t *s = find(good, ng, "score_basic");
    uint32_t expect_errors = 0;
    for (size_t i = 0; i < nb; i++) {
        const int want = kind_code(bad[i].kind);
        const int rc = decode_copy(bad[i].bytes, bad[i].len, &msg);
        CHECK(want != 0 && rc == want, "%s: expected %s (%d), got %d", bad[i].name, bad[i].kind, want, rc);
    }
    /* Interleaved with good frames in one stream: every good frame survives, every bad one is counted once
     * under its kind (a 0x00 inside a frame splits it in two pieces, so that vector is left out here). */
    vs_proto_decoder_init(&dec);
    for (size_t i = 0; i < nb; i++) {
        if (strcmp(bad[i].name, "cobs_zero_inside") == 0) {
            continue;
        }
        expect_errors++;
        for (size_t j = 0; j < bad[i].len; j++) {
            (void)vs_proto_decoder_push(&dec, bad[i].bytes[j], &msg);
        }
        for (size_t j = 0; j < s->len; j++) {
            (void)vs_proto_decoder_push(&dec, s->bytes[j], &msg);
        }
        CHECK(msg.header.type == VS_MSG_SCORE && msg.u.score.frame_index == 42, "after %s", bad[i].name);
    }
    CHECK(dec.counters.frames == expect_errors && vs_proto_decoder_errors(&dec) == expect_errors,
          "stream counters: %u frames, %u errors, expected %u", (unsigned)dec.counters.frames,
          (unsigned)vs_proto_decoder_errors(&dec), (unsigned)expect_errors);
    CHECK(dec.counters.oversize == 2 && dec.counters.version == 2 && dec.counters.unknown_type == 5,
          "per-kind counters");
}

static void test_resync(const vector_t *good, size_t ng)
{
    static vs_proto_decoder_t dec;
    const vector_t *s = find(good, ng, "score_basic");
    int got = 0;
    size_t used;
    vs_proto_decoder_init(&dec);
    /* Truncated frame (sender reset) directly followed by a full one: one error, then the frame. */
    for (size_t j = 0; j < s->len / 2U; j++) {
        (void)vs_proto_decoder_push(&dec, s->bytes[j], &msg);
    }
    used = vs_proto_decoder_feed(&dec, s->bytes, s->len, &msg, &got);
    CHECK(used == s->len && got == 0 && vs_proto_decoder_errors(&dec) == 1, "merged frame rejected");
    used = vs_proto_decoder_feed(&dec, s->bytes, s->len, &msg, &got);
    CHECK(used == s->len && got == 1 && msg.u.score.frame_index == 42, "next frame decoded");
    /* Long garbage without 0x00: counted once as oversize, then back in step. */
    vs_proto_decoder_init(&dec);
    for (int j = 0; j < 5000; j++) {
        (void)vs_proto_decoder_push(&dec, (uint8_t)(1 + j % 250), &msg);
    }
    CHECK(dec.len == 0 && dec.counters.oversize == 1, "oversize once");
    (void)vs_proto_decoder_push(&dec, 0, &msg);
    used = vs_proto_decoder_feed(&dec, s->bytes, s->len, &msg, &got);
    CHECK(got == 1 && dec.counters.frames == 1 && vs_proto_decoder_errors(&dec) == 1, "after oversize");
    /* Idle 0x00 bytes are not errors. */
    for (int j = 0; j < 10; j++) {
        (void)vs_proto_decoder_push(&dec, 0, &msg);
    }
    CHECK(vs_proto_decoder_errors(&dec) == 1 && dec.counters.bytes == 5000U + 1U + s->len + 10U, "idle zeros");
}

static void test_encode_rejects(void)
{
    static uint8_t out[VS_PROTO_MAX_WIRE];
    size_t len;
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_SCORE;
    msg.u.score.alarm_state = 2;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "alarm_state 2");
    msg.header.type = 0x30;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_UNKNOWN_TYPE, "type 0x30");
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_FEATURES;
    msg.u.features.count = VS_PROTO_MAX_FEATURE_VALUES + 1U;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "features count");
    msg.header.type = VS_MSG_HELLO;
    msg.u.hello.fw_version_len = 3;
    memcpy(msg.u.hello.fw_version, "a\tb", 3);
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "non-printable string");
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_RAW_CHUNK;
    msg.u.raw_chunk.chunk_count = 1;
    msg.u.raw_chunk.sample_format = VS_PROTO_FMT_F32;
    msg.u.raw_chunk.count = VS_PROTO_MAX_SAMPLES_F32 + 1U;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "f32 count");
    msg.u.raw_chunk.count = VS_PROTO_MAX_SAMPLES_F32;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_OK && len <= VS_PROTO_MAX_WIRE, "max raw");
    /* Versions: 0 writes the current one, 1 and 2 are written as asked (a version-1 HELLO has no tail),
     * anything else is refused. */
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_HELLO;
    msg.u.hello.reset_reason = VS_PROTO_RESET_BROWN_OUT;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_OK && out[1] == VS_PROTO_VERSION, "version 0");
    CHECK(vs_proto_payload_size(&msg) == (int)(VS_PROTO_HELLO_FIXED_SIZE + 2U + VS_PROTO_HELLO_TAIL_SIZE),
          "v2 hello size");
    msg.header.version = 1;
    CHECK(vs_proto_payload_size(&msg) == (int)(VS_PROTO_HELLO_FIXED_SIZE + 2U), "v1 hello size");
    msg.header.version = 3;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID && len == 0U, "version 3");
    msg.header.version = 0;
    msg.u.hello.model_state = VS_PROTO_MODEL_REVERTED + 1U;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "model_state 5");
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_BASELINE_LEARN;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "baseline action 0");
    msg.u.baseline_learn.action = VS_PROTO_BASELINE_START;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_OK, "baseline start");
    msg.header.type = VS_MSG_MODEL_MANIFEST;
    msg.u.model_manifest.count = VS_PROTO_MAX_MANIFEST + 1U;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_PROTO_E_INVALID, "manifest 769");
    memset(&msg, 0, sizeof msg);
    msg.header.type = VS_MSG_HEALTH;
    msg.u.health.nacks[VS_PROTO_NACK_SIGNATURE] = 3;
    CHECK(vs_proto_encode(&msg, out, sizeof out, &len) == VS_OK, "health");
    CHECK(vs_proto_decode_frame(out, len, &msg) == VS_OK && msg.u.health.nacks[VS_PROTO_NACK_SIGNATURE] == 3U &&
              msg.u.health.nacks[0] == 0U,
          "health round trip");
    CHECK(vs_proto_encode(NULL, out, sizeof out, &len) == VS_PROTO_E_ARG, "NULL");
    CHECK(vs_proto_decode_frame(out, 0, &msg) == VS_PROTO_E_LENGTH, "empty frame");
}

int main(int argc, char **argv)
{
    static vector_t good[MAX_VECTORS], bad[MAX_VECTORS];
    const char *dir = argc > 1 ? argv[1] : "tests/vectors/protocol";
    char path[512];
    size_t ng, nb;
    snprintf(path, sizeof path, "%s/frames.txt", dir);
    ng = load_vectors(path, 0, good, MAX_VECTORS);
    snprintf(path, sizeof path, "%s/bad_frames.txt", dir);
    nb = load_vectors(path, 1, bad, MAX_VECTORS);
    CHECK(ng >= 50 && nb >= 20, "vectors loaded: %zu good, %zu bad", ng, nb);
    test_crc();
    test_cobs();
    test_good_vectors(good, ng);
    test_fields(good, ng);
    test_bad_vectors(bad, nb, good, ng);
    test_resync(good, ng);
    test_encode_rejects();
    for (size_t i = 0; i < ng; i++) {
        free(good[i].bytes);
    }
    for (size_t i = 0; i < nb; i++) {
        free(bad[i].bytes);
    }
    printf("test_protocol: %d checks, %d failures (%zu vectors, %zu bad frames)\n", checks, failures, ng, nb);
    return failures == 0 ? 0 : 1;
}
