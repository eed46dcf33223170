/*
 * test_model_update.c - vs_model_update on the host flash simulator (port/host/vs_flash_sim.h), under
 * ASan/UBSan: install, TRIAL -> CONFIRMED, the refusals (wrong key, feature_hash, older counter, out of order,
 * a bit flip in a chunk), revert after a watchdog reset, after too many unconfirmed boots and after a failed
 * self-test, and power cuts: 50 at random units of an update (erase, transfer, commit and confirm writes) plus
 * one at every byte of the commit and confirm record writes; after each, the node must boot a verified model
 * (the old or the new one) and then finish the update.
 *
 * Vectors: tests/vectors/model_update/ (scripts/gen_model_update_vectors.py): two signed autoencoder images.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../port/host/vs_flash_sim.h"
#include "vs/generated/vs_protocol_spec.h"
#include "vs/vs_model_update.h"
#include "vs/vs_sha256.h"
#include "vs_test.h"

#define DIR "tests/vectors/model_update/"
#define SLOT_BYTES (16u * 1024u)
#define SECTOR_BYTES (4u * 1024u)
#define TRIAL_FRAMES 5u
#define CHUNK 200u
#define N_FEATURES 40u

typedef struct {
    uint8_t data[8192];
    uint32_t len;
} blob_t;

static blob_t key_a, key_b, fhash, img1, img2, man1, sig1, man2, sig2, sig2_b, man_bad, sig_bad, man_fh, sig_fh;
static uint8_t keys[1][32];
static vs_flash_sim_t sim, snap_v1;
static vs_model_update_t u;
static int32_t arena[2048];
static uint8_t sha_v1[32], sha_v2[32];

static void load(blob_t *b, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, DIR "%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        exit(2);
    }
    b->len = (uint32_t)fread(b->data, 1, sizeof b->data, f);
    fclose(f);
}

static void boot(uint8_t reset_reason)
{
    VS_CHECK_EQ_INT(vs_model_update_init(&u, vs_flash_sim_io(&sim), (const uint8_t(*)[32])keys, 1, fhash.data,
                                         TRIAL_FRAMES, arena, sizeof arena, N_FEATURES),
                    VS_OK);
    (void)vs_model_update_boot(&u, reset_reason);
}

/* BEGIN, MANIFEST, CHUNKs, COMMIT; flip (>= 0) flips one bit of that image byte in transit. The first NACK
 * reason, or 0 when every step was acknowledged. */
static uint8_t update(const blob_t *img, const blob_t *man, const blob_t *sig, long flip)
{
    uint8_t sha[32];
    vs_sha256(img->data, img->len, sha);
    uint8_t r = vs_model_update_begin(&u, img->len, sha, CHUNK);
    if (r != 0u) {
        return r;
    }
    r = vs_model_update_manifest(&u, sig->data, man->data, (uint16_t)man->len);
    if (r != 0u) {
        return r;
    }
    for (uint32_t off = 0; off < img->len; off += CHUNK) {
        uint8_t buf[CHUNK];
        const uint32_t n = img->len - off < CHUNK ? img->len - off : CHUNK;
        memcpy(buf, img->data + off, n);
        if (flip >= (long)off && flip < (long)(off + n)) {
            buf[flip - (long)off] ^= 0x10u;
        }
        r = vs_model_update_chunk(&u, off, buf, (uint16_t)n);
        if (r != 0u) {
            return r;
        }
    }
    return vs_model_update_commit(&u, sha);
}

static void confirm(void)
{
    for (uint32_t i = 0; i < TRIAL_FRAMES; i++) {
        (void)vs_model_update_frame(&u, 1);
    }
}

/* The running model is a verified one: v1 or v2 from its slot, its hash recomputed from flash. */
static int running_verified(const uint8_t *want_a, const uint8_t *want_b)
{
    const vs_model_image_t *img = vs_model_update_active(&u);
    if (img == NULL) {
        return 0;
    }
    uint8_t h[32];
    vs_sha256(img->data, img->size, h);
    return memcmp(h, u.model_hash, 32) == 0 &&
           (memcmp(h, want_a, 32) == 0 || (want_b != NULL && memcmp(h, want_b, 32) == 0));
}

static void test_install_and_confirm(void)
{
    VS_CHECK_EQ_INT(vs_flash_sim_init(&sim, SLOT_BYTES, SECTOR_BYTES), VS_OK);
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK(vs_model_update_active(&u) == NULL);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_BUILTIN);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_ACTIVE);

    VS_CHECK_EQ_INT(update(&img1, &man1, &sig1, -1), 0);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_TRIAL);
    VS_CHECK_EQ_INT(u.rec.counter, 1);
    VS_CHECK(running_verified(sha_v1, NULL));
    for (uint32_t i = 0; i + 1u < TRIAL_FRAMES; i++) {
        VS_CHECK_EQ_INT(vs_model_update_frame(&u, 1), 0);
    }
    VS_CHECK_EQ_INT(vs_model_update_frame(&u, 1), 1);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_CONFIRMED);
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_CONFIRMED);
    VS_CHECK(running_verified(sha_v1, NULL));
    snap_v1 = sim; /* v1 confirmed in slot A: the starting point of the tests below */
}

static void test_refusals(void)
{
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2_b, -1), VS_PROTO_NACK_SIGNATURE);
    VS_CHECK_EQ_INT(u.last_error, VS_PROTO_NACK_SIGNATURE);
    VS_CHECK_EQ_INT(update(&img2, &man_fh, &sig_fh, -1), VS_PROTO_NACK_FEATURE_HASH);
    VS_CHECK_EQ_INT(update(&img1, &man1, &sig1, -1), VS_PROTO_NACK_COUNTER); /* counter 1 again */
    VS_CHECK_EQ_INT(update(&img1, &man2, &sig2, -1), VS_PROTO_NACK_HASH_MISMATCH); /* manifest of another image */
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2, 1234), VS_PROTO_NACK_HASH_MISMATCH);   /* bit flip in transit */
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK(running_verified(sha_v1, NULL));

    /* chunks out of order, a chunk before the manifest, a commit before the last chunk */
    uint8_t sha[32];
    vs_sha256(img2.data, img2.len, sha);
    VS_CHECK_EQ_INT(vs_model_update_begin(&u, img2.len, sha, CHUNK), 0);
    VS_CHECK_EQ_INT(vs_model_update_chunk(&u, 0, img2.data, CHUNK), VS_PROTO_NACK_BAD_STATE);
    VS_CHECK_EQ_INT(vs_model_update_manifest(&u, sig2.data, man2.data, (uint16_t)man2.len), 0);
    VS_CHECK_EQ_INT(vs_model_update_chunk(&u, CHUNK, img2.data + CHUNK, CHUNK), VS_PROTO_NACK_OUT_OF_ORDER);
    VS_CHECK_EQ_INT(vs_model_update_chunk(&u, 0, img2.data, CHUNK), 0);
    VS_CHECK_EQ_INT(vs_model_update_commit(&u, sha), VS_PROTO_NACK_BAD_STATE);
    VS_CHECK_EQ_INT(vs_model_update_chunk(&u, 0, img2.data, CHUNK), VS_PROTO_NACK_OUT_OF_ORDER);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    /* and the transfer still completes from where it was */
    for (uint32_t off = CHUNK; off < img2.len; off += CHUNK) {
        const uint32_t n = img2.len - off < CHUNK ? img2.len - off : CHUNK;
        VS_CHECK_EQ_INT(vs_model_update_chunk(&u, off, img2.data + off, (uint16_t)n), 0);
    }
    VS_CHECK_EQ_INT(vs_model_update_commit(&u, sha), 0);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_B);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_TRIAL);
    /* no new update while a model is on trial */
    VS_CHECK_EQ_INT(vs_model_update_begin(&u, img1.len, sha, CHUNK), VS_PROTO_NACK_BAD_STATE);
}

static void test_reverts(void)
{
    /* failed self-test: COMMIT is acknowledged, the model is reverted at once */
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(update(&img2, &man_bad, &sig_bad, -1), 0);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_REVERTED);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK_EQ_INT(u.last_error, VS_PROTO_NACK_BAD_VALUE);
    VS_CHECK(running_verified(sha_v1, NULL));
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2, -1), VS_PROTO_NACK_COUNTER); /* counter 2 was spent */
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK(running_verified(sha_v1, NULL));

    /* a watchdog reset in TRIAL */
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2, -1), 0);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_TRIAL);
    VS_CHECK(running_verified(sha_v2, NULL));
    boot(VS_PROTO_RESET_WATCHDOG);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_REVERTED);
    VS_CHECK_EQ_INT(u.rec.active, VS_PROTO_SLOT_A);
    VS_CHECK_EQ_INT(u.rec.counter, 1);
    VS_CHECK(running_verified(sha_v1, NULL));

    /* an unhealthy frame in TRIAL */
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2, -1), 0);
    (void)vs_model_update_frame(&u, 1);
    VS_CHECK_EQ_INT(vs_model_update_frame(&u, 0), 1);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_REVERTED);
    VS_CHECK(running_verified(sha_v1, NULL));

    /* boots that never confirm: the third one reverts */
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK_EQ_INT(update(&img2, &man2, &sig2, -1), 0);
    for (unsigned i = 1; i < VS_MODEL_UPDATE_MAX_TRIAL_BOOTS; i++) {
        boot(VS_PROTO_RESET_PIN);
        VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_TRIAL);
    }
    boot(VS_PROTO_RESET_PIN);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_REVERTED);
    VS_CHECK(running_verified(sha_v1, NULL));

    /* slot A damaged in flash (bit rot) under a confirmed model: boot falls back to the built-in model */
    sim = snap_v1;
    sim.slot[0][VS_MODEL_UPDATE_IMAGE_OFFSET + 100u] ^= 1u;
    boot(VS_PROTO_RESET_POWER_ON);
    VS_CHECK(vs_model_update_active(&u) == NULL);
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_REVERTED);
}

/* One life cut after `units`: from v1 confirmed, update to v2 and confirm. Then power on, boot, check, finish. */
static int cut_run(int64_t units)
{
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    vs_flash_sim_cut_after(&sim, units);
    if (update(&img2, &man2, &sig2, -1) == 0) {
        confirm();
    }
    vs_flash_sim_power_on(&sim);
    boot(VS_PROTO_RESET_POWER_ON);
    int ok = running_verified(sha_v1, sha_v2) &&
             (u.rec.state == VS_PROTO_MODEL_CONFIRMED || u.rec.state == VS_PROTO_MODEL_TRIAL);
    /* finish the update: a new transfer, or confirming the trial */
    if (u.rec.state == VS_PROTO_MODEL_TRIAL) {
        confirm();
    } else if (u.rec.counter == 1u) {
        ok = ok && update(&img2, &man2, &sig2, -1) == 0;
        confirm();
    }
    boot(VS_PROTO_RESET_POWER_ON);
    return ok && running_verified(sha_v2, NULL) && u.rec.state == VS_PROTO_MODEL_CONFIRMED && u.rec.counter == 2u;
}

static void test_power_cuts(void)
{
    /* the cost of a whole update, and where the commit and confirm record writes start */
    sim = snap_v1;
    boot(VS_PROTO_RESET_POWER_ON);
    const uint64_t start = sim.units;
    uint8_t sha[32];
    vs_sha256(img2.data, img2.len, sha);
    VS_CHECK_EQ_INT(vs_model_update_begin(&u, img2.len, sha, CHUNK), 0);
    VS_CHECK_EQ_INT(vs_model_update_manifest(&u, sig2.data, man2.data, (uint16_t)man2.len), 0);
    for (uint32_t off = 0; off < img2.len; off += CHUNK) {
        const uint32_t n = img2.len - off < CHUNK ? img2.len - off : CHUNK;
        VS_CHECK_EQ_INT(vs_model_update_chunk(&u, off, img2.data + off, (uint16_t)n), 0);
    }
    const uint64_t commit_at = sim.units - start;
    VS_CHECK_EQ_INT(vs_model_update_commit(&u, sha), 0);
    const uint64_t confirm_at = sim.units - start;
    confirm();
    const uint64_t total = sim.units - start;
    VS_CHECK_EQ_INT(u.rec.state, VS_PROTO_MODEL_CONFIRMED);
    VS_CHECK(confirm_at - commit_at == 32u && total - confirm_at == 32u);

    unsigned failures = 0, runs = 0;
    uint32_t x = 12345u; /* xorshift32: a fixed sequence of cut points */
    for (int i = 0; i < 50; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        failures += !cut_run((int64_t)(x % (uint32_t)(total + 1u)));
        runs++;
    }
    for (uint64_t k = 0; k <= 32u; k++) {
        failures += !cut_run((int64_t)(commit_at + k));
        failures += !cut_run((int64_t)(confirm_at + k));
        runs += 2u;
    }
    printf("power cuts: %u runs over %llu units (commit record at %llu, confirm at %llu), %u failures\n", runs,
           (unsigned long long)total, (unsigned long long)commit_at, (unsigned long long)confirm_at, failures);
    VS_CHECK_EQ_INT(failures, 0);
}

int main(void)
{
    load(&key_a, "key_a.pub");
    load(&key_b, "key_b.pub");
    load(&fhash, "feature_hash.bin");
    load(&img1, "v1.vsm");
    load(&img2, "v2.vsm");
    load(&man1, "v1.json");
    load(&sig1, "v1.sig");
    load(&man2, "v2.json");
    load(&sig2, "v2.sig");
    load(&sig2_b, "v2_key_b.sig");
    load(&man_bad, "v2_badself.json");
    load(&sig_bad, "v2_badself.sig");
    load(&man_fh, "v2_feature.json");
    load(&sig_fh, "v2_feature.sig");
    VS_CHECK(key_a.len == 32u && fhash.len == 32u && sig1.len == 64u);
    memcpy(keys[0], key_a.data, 32);
    vs_sha256(img1.data, img1.len, sha_v1);
    vs_sha256(img2.data, img2.len, sha_v2);

    test_install_and_confirm();
    test_refusals();
    test_reverts();
    test_power_cuts();
    VS_TEST_DONE();
}
