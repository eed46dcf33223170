/*
 * vs_model_update.c - A/B model slots with signed, power-cut-safe updates; see vs_model_update.h.
 */
#include "vs/vs_model_update.h"

#include <string.h>

#include "vs/generated/vs_protocol_spec.h"
#include "vs/vs_crc.h"

#define SLOT_MAGIC 0x4c535356u   /* "VSSL" little-endian */
#define RECORD_MAGIC 0x554d5356u /* "VSMU" little-endian */
#define RECORD_BYTES 32u
#define SIG_OFFSET 8u
#define MANIFEST_OFFSET 72u

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void encode_record(uint8_t b[RECORD_BYTES], const vs_model_update_record_t *r)
{
    memset(b, 0, RECORD_BYTES);
    put32(b, RECORD_MAGIC);
    put32(b + 4, r->seq);
    b[8] = r->active;
    b[9] = r->state;
    b[10] = r->prev;
    b[11] = r->trial_boots;
    put32(b + 12, r->counter);
    put32(b + 16, r->prev_counter);
    put32(b + 20, r->max_counter);
    put32(b + 28, vs_crc32(b, 28));
}

static int decode_record(const uint8_t *b, int len, vs_model_update_record_t *r)
{
    if (len != (int)RECORD_BYTES || get32(b) != RECORD_MAGIC || get32(b + 28) != vs_crc32(b, 28) || b[8] > 2u || b[9] > 4u ||
        b[10] > 2u) {
        return 0; /* absent, torn or foreign: ignored */
    }
    r->seq = get32(b + 4);
    r->active = b[8];
    r->state = b[9];
    r->prev = b[10];
    r->trial_boots = b[11];
    r->counter = get32(b + 12);
    r->prev_counter = get32(b + 16);
    r->max_counter = get32(b + 20);
    return 1;
}

/* Write rec (seq + 1) to the record NOT holding the current state: a torn write leaves that one intact. */
static int persist(vs_model_update_t *u)
{
    uint8_t b[RECORD_BYTES];
    const int target = u->rec_slot == 0 ? 1 : 0;
    vs_model_update_record_t r = u->rec;
    r.seq++;
    encode_record(b, &r);
    const int rc = u->io->store_write(u->io->ctx, target ? VS_MODEL_UPDATE_STORE_ID1 : VS_MODEL_UPDATE_STORE_ID0, b,
                                      RECORD_BYTES);
    if (rc != VS_OK) {
        return rc < 0 ? rc : VS_ERR_STATE;
    }
    u->rec = r;
    u->rec_slot = target;
    return VS_OK;
}

/* Everything COMMIT and boot check about slot `slot` (1 = A, 2 = B), from flash. On success *img is opened,
 * *m parsed and hash set; returns 0 or the NACK reason. */
static uint8_t verify_slot(const vs_model_update_t *u, uint8_t slot, vs_model_image_t *img, vs_model_manifest_t *m,
                           uint8_t hash[32])
{
    const uint8_t *base = u->io->map(u->io->ctx, (uint8_t)(slot - 1u));
    if (base == NULL || get32(base) != SLOT_MAGIC) {
        return VS_PROTO_NACK_BAD_STATE;
    }
    const uint32_t mlen = get32(base + 4);
    if (mlen == 0u || mlen > VS_MODEL_UPDATE_MAX_MANIFEST) {
        return VS_PROTO_NACK_BAD_STATE;
    }
    const int rc = vs_model_manifest_check(base + MANIFEST_OFFSET, mlen, base + SIG_OFFSET, u->keys, u->n_keys, m);
    if (rc == VS_IMAGE_ERR_SIGNATURE) {
        return VS_PROTO_NACK_SIGNATURE;
    }
    if (rc != VS_OK) {
        return VS_PROTO_NACK_BAD_VALUE;
    }
    if (memcmp(m->feature_hash, u->feature_hash, 32) != 0) {
        return VS_PROTO_NACK_FEATURE_HASH;
    }
    if (m->image_size > u->io->slot_bytes - VS_MODEL_UPDATE_IMAGE_OFFSET) {
        return VS_PROTO_NACK_TOO_LARGE;
    }
    const uint8_t *image = base + VS_MODEL_UPDATE_IMAGE_OFFSET;
    vs_sha256(image, m->image_size, hash);
    if (memcmp(hash, m->image_sha256, 32) != 0) {
        return VS_PROTO_NACK_HASH_MISMATCH;
    }
    if (vs_model_image_open(img, image, m->image_size) != VS_OK || img->input_type != VS_NN_TYPE_S8 ||
        img->output_type != VS_NN_TYPE_S8 || img->input_bytes != u->n_features ||
        img->output_bytes != u->n_features || img->score_kind != VS_MODEL_IMAGE_SCORE_AE_MSE ||
        (img->n_features != 0u && img->n_features != u->n_features) || !(img->input_scale > 0.0f)) {
        return VS_PROTO_NACK_BAD_VALUE; /* not a model this node can run */
    }
    if (img->arena_bytes > u->arena_bytes) {
        return VS_PROTO_NACK_TOO_LARGE;
    }
    return 0;
}

/* "selftest_sha256" of a verified manifest: 1 and want[] filled, 0 absent, -1 malformed. A key, not a value:
 * inside a JSON string every quote is escaped, so an unescaped `"selftest_sha256"` followed by a colon can
 * only be a key (vs_model_manifest_parse has already accepted the document's structure). */
static int selftest_digest(const uint8_t *m, uint32_t len, uint8_t want[32])
{
    static const char key[] = "\"selftest_sha256\"";
    const uint32_t klen = (uint32_t)sizeof key - 1u;
    for (uint32_t i = 0; i + klen <= len; i++) {
        if (memcmp(m + i, key, klen) != 0 || (i > 0u && m[i - 1u] == '\\')) {
            continue;
        }
        uint32_t p = i + klen;
        while (p < len && (m[p] == ' ' || m[p] == '\n' || m[p] == '\r' || m[p] == '\t')) {
            p++;
        }
        if (p >= len || m[p] != ':') {
            continue;
        }
        p++;
        while (p < len && (m[p] == ' ' || m[p] == '\n' || m[p] == '\r' || m[p] == '\t')) {
            p++;
        }
        if (p + 66u > len || m[p] != '"' || m[p + 65u] != '"') {
            return -1;
        }
        for (uint32_t k = 0; k < 64u; k++) {
            const uint8_t c = m[p + 1u + k];
            const int v = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
            if (v < 0) {
                return -1;
            }
            want[k / 2u] = (uint8_t)(k % 2u ? (want[k / 2u] | v) : (v << 4));
        }
        return 1;
    }
    return 0;
}

/* The self-test of vs_model_update.h on slot `slot` (already verified). 1 pass, 0 fail. */
static int self_test(const vs_model_update_t *u, uint8_t slot, const vs_model_image_t *img)
{
    const uint8_t *base = u->io->map(u->io->ctx, (uint8_t)(slot - 1u));
    int8_t in[256], out[256];
    if (img->input_bytes > sizeof in || img->output_bytes > sizeof out || img->arena_bytes > u->arena_bytes) {
        return 0;
    }
    const int32_t zp = img->input_zero_point < -128 ? -128 : (img->input_zero_point > 127 ? 127 : img->input_zero_point);
    memset(in, (int)(int8_t)zp, img->input_bytes);
    if (vs_model_image_run_s8(img, u->arena, u->arena_bytes, in, out) != VS_OK) {
        return 0;
    }
    uint8_t want[32], got[32];
    const int have = selftest_digest(base + MANIFEST_OFFSET, get32(base + 4), want);
    if (have < 0) {
        return 0;
    }
    if (have == 0) {
        return 1;
    }
    vs_sha256(out, img->output_bytes, got);
    return memcmp(want, got, 32) == 0;
}

/* Make rec.active the running model: verify it; on failure fall back to rec.prev, then to the built-in. */
static void select_active(vs_model_update_t *u, int *changed)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (u->rec.active == VS_PROTO_SLOT_BUILTIN) {
            memset(u->model_hash, 0, sizeof u->model_hash);
            memset(&u->image, 0, sizeof u->image);
            u->rec.counter = 0;
            return;
        }
        vs_model_manifest_t m;
        if (verify_slot(u, u->rec.active, &u->image, &m, u->model_hash) == 0 && m.counter == u->rec.counter) {
            return;
        }
        /* the slot no longer verifies (bit rot, a torn erase): run the previous model instead */
        u->rec.active = u->rec.prev;
        u->rec.counter = u->rec.prev_counter;
        u->rec.prev = VS_PROTO_SLOT_BUILTIN;
        u->rec.prev_counter = 0;
        u->rec.state = VS_PROTO_MODEL_REVERTED;
        *changed = 1;
    }
}

static void revert(vs_model_update_t *u)
{
    u->rec.active = u->rec.prev;
    u->rec.counter = u->rec.prev_counter;
    u->rec.prev = VS_PROTO_SLOT_BUILTIN;
    u->rec.prev_counter = 0;
    u->rec.state = VS_PROTO_MODEL_REVERTED;
    u->rec.trial_boots = 0;
    u->trial_frames = 0;
}

int vs_model_update_init(vs_model_update_t *u, const vs_model_update_io_t *io, const uint8_t (*keys)[32],
                         uint8_t n_keys, const uint8_t feature_hash[32], uint32_t trial_target, void *arena,
                         uint32_t arena_bytes, uint32_t n_features)
{
    if (u == NULL || io == NULL || keys == NULL || n_keys == 0u || feature_hash == NULL || trial_target == 0u ||
        arena == NULL || ((uintptr_t)arena & 3u) != 0u || n_features == 0u || n_features > 256u ||
        io->erase == NULL || io->write == NULL || io->map == NULL || io->store_read == NULL ||
        io->store_write == NULL || io->slot_bytes <= VS_MODEL_UPDATE_IMAGE_OFFSET) {
        return VS_ERR_ARG;
    }
    memset(u, 0, sizeof *u);
    u->io = io;
    u->keys = keys;
    u->n_keys = n_keys;
    memcpy(u->feature_hash, feature_hash, 32);
    u->trial_target = trial_target;
    u->rec_slot = -1;
    u->rec.state = VS_PROTO_MODEL_ACTIVE;
    u->arena = arena;
    u->arena_bytes = arena_bytes;
    u->n_features = n_features;
    return VS_OK;
}

int vs_model_update_boot(vs_model_update_t *u, uint8_t reset_reason)
{
    if (u == NULL || u->io == NULL) {
        return VS_ERR_ARG;
    }
    vs_model_update_record_t r[2];
    int ok[2];
    for (int i = 0; i < 2; i++) {
        uint8_t b[RECORD_BYTES];
        const int len = u->io->store_read(u->io->ctx, i ? VS_MODEL_UPDATE_STORE_ID1 : VS_MODEL_UPDATE_STORE_ID0, b,
                                          RECORD_BYTES);
        ok[i] = len > 0 && decode_record(b, len, &r[i]);
    }
    /* the newer valid record wins (sequence numbers compared modulo 2^32) */
    const int pick = (ok[0] && ok[1]) ? ((int32_t)(r[1].seq - r[0].seq) > 0 ? 1 : 0) : (ok[1] ? 1 : 0);
    if (ok[pick]) {
        u->rec = r[pick];
        u->rec_slot = pick;
    }
    int changed = 0;
    if (u->rec.state == VS_PROTO_MODEL_TRIAL) {
        if (reset_reason == VS_PROTO_RESET_WATCHDOG || u->rec.trial_boots + 1u >= VS_MODEL_UPDATE_MAX_TRIAL_BOOTS) {
            revert(u);
        } else {
            u->rec.trial_boots++;
        }
        changed = 1;
    }
    select_active(u, &changed);
    if (u->rec.state == VS_PROTO_MODEL_TRIAL && !self_test(u, u->rec.active, &u->image)) {
        revert(u);
        select_active(u, &changed);
        changed = 1;
    }
    u->trial_frames = 0;
    return changed ? persist(u) : VS_OK;
}

const vs_model_image_t *vs_model_update_active(const vs_model_update_t *u)
{
    return (u == NULL || u->rec.active == VS_PROTO_SLOT_BUILTIN) ? NULL : &u->image;
}

static uint8_t refuse(vs_model_update_t *u, uint8_t reason, int abandon)
{
    u->last_error = reason;
    if (abandon) {
        u->staging = 0;
        u->manifest_ok = 0;
    }
    return reason;
}

uint8_t vs_model_update_begin(vs_model_update_t *u, uint32_t total_size, const uint8_t sha256[32],
                              uint16_t chunk_size)
{
    if (u == NULL || sha256 == NULL) {
        return VS_PROTO_NACK_BAD_VALUE;
    }
    u->staging = 0;
    u->manifest_ok = 0;
    if (u->rec.state == VS_PROTO_MODEL_TRIAL) {
        return refuse(u, VS_PROTO_NACK_BAD_STATE, 1); /* confirm or revert the trial model first */
    }
    if (chunk_size == 0u || total_size == 0u) {
        return refuse(u, VS_PROTO_NACK_BAD_VALUE, 1);
    }
    if (total_size > u->io->slot_bytes - VS_MODEL_UPDATE_IMAGE_OFFSET) {
        return refuse(u, VS_PROTO_NACK_TOO_LARGE, 1);
    }
    u->target = u->rec.active == VS_PROTO_SLOT_A ? VS_PROTO_SLOT_B : VS_PROTO_SLOT_A;
    if (u->io->erase(u->io->ctx, (uint8_t)(u->target - 1u)) != VS_OK) {
        return refuse(u, VS_PROTO_NACK_STORAGE, 1);
    }
    u->total = total_size;
    u->staged = 0;
    u->chunk_size = chunk_size;
    memcpy(u->begin_sha256, sha256, 32);
    u->staging = 1;
    return 0;
}

uint8_t vs_model_update_manifest(vs_model_update_t *u, const uint8_t sig[64], const uint8_t *manifest,
                                 uint16_t count)
{
    if (u == NULL || sig == NULL || manifest == NULL) {
        return VS_PROTO_NACK_BAD_VALUE;
    }
    if (!u->staging || u->manifest_ok || u->staged != 0u) {
        return refuse(u, VS_PROTO_NACK_BAD_STATE, 0);
    }
    if (count == 0u || count > VS_MODEL_UPDATE_MAX_MANIFEST) {
        return refuse(u, VS_PROTO_NACK_TOO_LARGE, 1);
    }
    vs_model_manifest_t m;
    const int rc = vs_model_manifest_check(manifest, count, sig, u->keys, u->n_keys, &m);
    if (rc != VS_OK) {
        return refuse(u, rc == VS_IMAGE_ERR_SIGNATURE ? VS_PROTO_NACK_SIGNATURE : VS_PROTO_NACK_BAD_VALUE, 1);
    }
    if (m.counter <= u->rec.max_counter) {
        return refuse(u, VS_PROTO_NACK_COUNTER, 1);
    }
    if (memcmp(m.feature_hash, u->feature_hash, 32) != 0) {
        return refuse(u, VS_PROTO_NACK_FEATURE_HASH, 1);
    }
    if (m.image_size != u->total || memcmp(m.image_sha256, u->begin_sha256, 32) != 0) {
        return refuse(u, VS_PROTO_NACK_HASH_MISMATCH, 1);
    }
    uint8_t head[SIG_OFFSET];
    put32(head, SLOT_MAGIC);
    put32(head + 4, count);
    const uint8_t slot = (uint8_t)(u->target - 1u);
    if (u->io->write(u->io->ctx, slot, 0, head, sizeof head) != VS_OK ||
        u->io->write(u->io->ctx, slot, SIG_OFFSET, sig, 64) != VS_OK ||
        u->io->write(u->io->ctx, slot, MANIFEST_OFFSET, manifest, count) != VS_OK) {
        return refuse(u, VS_PROTO_NACK_STORAGE, 1);
    }
    u->manifest = m;
    u->manifest_ok = 1;
    return 0;
}

uint8_t vs_model_update_chunk(vs_model_update_t *u, uint32_t offset, const uint8_t *data, uint16_t count)
{
    if (u == NULL || (data == NULL && count != 0u)) {
        return VS_PROTO_NACK_BAD_VALUE;
    }
    if (!u->staging || !u->manifest_ok) {
        return refuse(u, VS_PROTO_NACK_BAD_STATE, 0);
    }
    if (offset != u->staged) {
        return refuse(u, VS_PROTO_NACK_OUT_OF_ORDER, 0); /* the host resends from `staged` */
    }
    const uint32_t want = u->total - u->staged < u->chunk_size ? u->total - u->staged : u->chunk_size;
    if (count != want) {
        return refuse(u, VS_PROTO_NACK_BAD_VALUE, 0);
    }
    if (u->io->write(u->io->ctx, (uint8_t)(u->target - 1u), VS_MODEL_UPDATE_IMAGE_OFFSET + offset, data, count) !=
        VS_OK) {
        return refuse(u, VS_PROTO_NACK_STORAGE, 1);
    }
    u->staged += count;
    return 0;
}

uint8_t vs_model_update_commit(vs_model_update_t *u, const uint8_t sha256[32])
{
    if (u == NULL || sha256 == NULL) {
        return VS_PROTO_NACK_BAD_VALUE;
    }
    if (!u->staging || !u->manifest_ok || u->staged != u->total) {
        return refuse(u, VS_PROTO_NACK_BAD_STATE, 0);
    }
    if (memcmp(sha256, u->begin_sha256, 32) != 0) {
        return refuse(u, VS_PROTO_NACK_HASH_MISMATCH, 1);
    }
    /* everything again, from what flash now holds (a chunk damaged in transit or in flash shows up here) */
    vs_model_image_t img;
    vs_model_manifest_t m;
    uint8_t hash[32];
    const uint8_t reason = verify_slot(u, u->target, &img, &m, hash);
    if (reason != 0) {
        return refuse(u, reason, 1);
    }
    if (m.counter != u->manifest.counter || m.counter <= u->rec.max_counter) {
        return refuse(u, VS_PROTO_NACK_COUNTER, 1);
    }
    const vs_model_update_record_t old = u->rec;
    u->rec.prev = old.active;
    u->rec.prev_counter = old.counter;
    u->rec.active = u->target;
    u->rec.counter = m.counter;
    u->rec.max_counter = m.counter;
    u->rec.state = VS_PROTO_MODEL_TRIAL;
    u->rec.trial_boots = 0;
    if (persist(u) != VS_OK) {
        u->rec = old;
        return refuse(u, VS_PROTO_NACK_STORAGE, 1);
    }
    u->image = img;
    memcpy(u->model_hash, hash, 32);
    u->trial_frames = 0;
    u->staging = 0;
    u->manifest_ok = 0;
    u->last_error = 0;
    if (!self_test(u, u->rec.active, &u->image)) {
        /* TRIAL is on record, so a power cut here re-runs the self-test at boot and reverts there */
        revert(u);
        int changed = 0;
        select_active(u, &changed);
        u->last_error = VS_PROTO_NACK_BAD_VALUE;
        (void)persist(u);
    }
    return 0;
}

int vs_model_update_frame(vs_model_update_t *u, int healthy)
{
    if (u == NULL || u->rec.state != VS_PROTO_MODEL_TRIAL) {
        return 0;
    }
    if (healthy) {
        if (++u->trial_frames < u->trial_target) {
            return 0;
        }
        u->rec.state = VS_PROTO_MODEL_CONFIRMED;
        u->rec.trial_boots = 0;
    } else {
        revert(u);
        int changed = 0;
        select_active(u, &changed);
    }
    (void)persist(u); /* if the store fails, the next boot applies the TRIAL rules again */
    return 1;
}

void vs_model_update_status(const vs_model_update_t *u, uint8_t *slot, uint8_t *state, uint32_t *counter,
                            uint8_t hash[32], uint32_t *trial_frames, uint32_t *trial_target,
                            uint32_t *staged_bytes, uint32_t *staged_total, uint8_t *last_error)
{
    *slot = u->rec.active;
    *state = u->rec.state;
    *counter = u->rec.counter;
    memcpy(hash, u->model_hash, 32);
    *trial_frames = u->trial_frames;
    *trial_target = u->trial_target;
    *staged_bytes = u->staging ? u->staged : 0u;
    *staged_total = u->staging ? u->total : 0u;
    *last_error = u->last_error;
}
