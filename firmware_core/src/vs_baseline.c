/*
 * vs_baseline: on-node baseline learning (arithmetic, storage and states in vs_baseline.h).
 */
#include "vs/vs_baseline.h"

#include <math.h>
#include <string.h>

#include "vs/vs_crc.h"
#include "vs/vs_platform_store.h"

#define NFEAT ((uint32_t)VS_FEAT_N_FEATURES)
#define REC_CRC_BYTES offsetof(vs_baseline_record_t, crc)

typedef char vs_baseline_record_has_no_padding[(sizeof(vs_baseline_record_t) == 40u + 8u * NFEAT + 4u) ? 1 : -1];

static int finite_f(float x)
{
    return x > -3.4e38f && x < 3.4e38f; /* false for NaN and +-inf */
}

/* (sum_j ((f_j - mean_j) / std_j)^2) / n in feature order, float32. */
static float score_with(const float *mean, const float *std, const float *feats)
{
    float acc = 0.0f;
    for (uint32_t i = 0; i < NFEAT; i++) {
        const float z = (feats[i] - mean[i]) / std[i];
        acc += z * z;
    }
    return acc / (float)NFEAT;
}

void vs_baseline_init(vs_baseline_t *b, const uint8_t feature_hash[32])
{
    memset(b, 0, sizeof *b);
    memcpy(b->feature_hash, feature_hash, sizeof b->feature_hash);
}

static int record_ok(const vs_baseline_t *b, const vs_baseline_record_t *r)
{
    if (r->magic != VS_BASELINE_MAGIC || r->version != VS_BASELINE_VERSION || r->n_features != NFEAT ||
        memcmp(r->feature_hash, b->feature_hash, sizeof r->feature_hash) != 0 ||
        r->crc != vs_crc32((const uint8_t *)r, REC_CRC_BYTES)) {
        return 0;
    }
    for (uint32_t i = 0; i < NFEAT; i++) {
        if (!(r->std[i] > 0.0f) || !finite_f(r->std[i]) || !finite_f(r->mean[i])) {
            return 0;
        }
    }
    return finite_f(r->threshold) && finite_f(r->clear_threshold) && r->clear_threshold <= r->threshold;
}

int vs_baseline_load(vs_baseline_t *b)
{
    vs_baseline_record_t r;
    uint8_t *p = (uint8_t *)&r;
    int any = 0, complete = 1;
    for (uint32_t i = 0; i < VS_BASELINE_STORE_RECORDS; i++) {
        const size_t off = (size_t)i * VS_PLATFORM_STORE_RECORD_MAX;
        const size_t want = sizeof r - off < VS_PLATFORM_STORE_RECORD_MAX ? sizeof r - off
                                                                           : VS_PLATFORM_STORE_RECORD_MAX;
        const int n = vs_platform_store_read((uint8_t)(VS_BASELINE_STORE_FIRST_ID + i), p + off, want);
        if (n > 0) {
            any = 1;
        }
        if (n != (int)want) {
            complete = 0;
        }
    }
    if (!any) {
        return VS_BASELINE_LOAD_NONE;
    }
    if (!complete || !record_ok(b, &r)) {
        b->state = (uint8_t)VS_PROTO_BASELINE_STATE_FAILED;
        return VS_BASELINE_LOAD_DAMAGED;
    }
    b->rec = r;
    b->have = 1u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_DONE;
    return VS_BASELINE_LOAD_VALID;
}

static int store(const vs_baseline_record_t *r)
{
    const uint8_t *p = (const uint8_t *)r;
    for (uint32_t i = 0; i < VS_BASELINE_STORE_RECORDS; i++) {
        const size_t off = (size_t)i * VS_PLATFORM_STORE_RECORD_MAX;
        const size_t n = sizeof *r - off < VS_PLATFORM_STORE_RECORD_MAX ? sizeof *r - off
                                                                         : VS_PLATFORM_STORE_RECORD_MAX;
        if (vs_platform_store_write((uint8_t)(VS_BASELINE_STORE_FIRST_ID + i), p + off, n) != 0) {
            return -1;
        }
    }
    return 0;
}

uint8_t vs_baseline_start(vs_baseline_t *b, uint32_t n_frames, float k)
{
    if (n_frames < VS_PROTO_MIN_BASELINE_FRAMES || n_frames > VS_BASELINE_MAX_FRAMES || !(k >= 0.0f) ||
        !(k <= VS_BASELINE_MAX_K)) {
        return (uint8_t)VS_PROTO_NACK_BAD_VALUE;
    }
    b->learning = 1u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_LEARNING;
    b->target = n_frames;
    b->done = 0u;
    b->k = k > 0.0f ? k : VS_BASELINE_DEFAULT_K;
    memset(b->acc_mean, 0, sizeof b->acc_mean);
    memset(b->acc_m2, 0, sizeof b->acc_m2);
    b->s_mean = 0.0f;
    b->s_m2 = 0.0f;
    return 0u;
}

uint8_t vs_baseline_abort(vs_baseline_t *b)
{
    if (!b->learning) {
        return (uint8_t)VS_PROTO_NACK_BAD_STATE;
    }
    b->learning = 0u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_ABORTED;
    return 0u;
}

uint8_t vs_baseline_clear(vs_baseline_t *b)
{
    /* An empty first record fails the length check: the whole record reads as absent-or-damaged. */
    if (vs_platform_store_write((uint8_t)VS_BASELINE_STORE_FIRST_ID, &b->rec, 0u) != 0) {
        return (uint8_t)VS_PROTO_NACK_STORAGE;
    }
    for (uint32_t i = 1; i < VS_BASELINE_STORE_RECORDS; i++) {
        (void)vs_platform_store_write((uint8_t)(VS_BASELINE_STORE_FIRST_ID + i), &b->rec, 0u);
    }
    b->learning = 0u;
    b->have = 0u;
    b->done = 0u;
    b->target = 0u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_NONE;
    memset(&b->rec, 0, sizeof b->rec);
    return 0u;
}

static int finish(vs_baseline_t *b)
{
    const uint32_t n_thr = b->target / 2u;
    vs_baseline_record_t r;
    b->learning = 0u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_FAILED;
    memset(&r, 0, sizeof r);
    r.magic = VS_BASELINE_MAGIC;
    r.version = (uint16_t)VS_BASELINE_VERSION;
    r.n_features = (uint16_t)NFEAT;
    memcpy(r.feature_hash, b->feature_hash, sizeof r.feature_hash);
    r.n_frames = b->target;
    r.k = b->k;
    r.score_mean = b->s_mean;
    r.score_std = sqrtf(b->s_m2 / (float)n_thr);
    r.threshold = r.score_mean + b->k * r.score_std;
    r.clear_threshold = r.score_mean + (0.5f * b->k) * r.score_std;
    memcpy(r.mean, b->acc_mean, sizeof r.mean);
    memcpy(r.std, b->acc_m2, sizeof r.std);
    r.crc = vs_crc32((const uint8_t *)&r, REC_CRC_BYTES);
    if (!record_ok(b, &r) || store(&r) != 0) {
        return VS_BASELINE_EV_FAILED;
    }
    b->rec = r;
    b->have = 1u;
    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_DONE;
    return VS_BASELINE_EV_DONE;
}

int vs_baseline_frame(vs_baseline_t *b, const float *feats)
{
    if (!b->learning) {
        return VS_BASELINE_EV_NONE;
    }
    const uint32_t n_fit = b->target - b->target / 2u;
    if (b->done < n_fit) {
        const float c = (float)(b->done + 1u);
        for (uint32_t i = 0; i < NFEAT; i++) {
            const float d = feats[i] - b->acc_mean[i];
            b->acc_mean[i] += d / c;
            b->acc_m2[i] += d * (feats[i] - b->acc_mean[i]);
        }
        b->done++;
        if (b->done == n_fit) {
            for (uint32_t i = 0; i < NFEAT; i++) {
                b->acc_m2[i] = sqrtf(b->acc_m2[i] / (float)n_fit); /* acc_m2 holds the candidate std now */
                if (!(b->acc_m2[i] > 0.0f) || !finite_f(b->acc_m2[i]) || !finite_f(b->acc_mean[i])) {
                    b->learning = 0u;
                    b->state = (uint8_t)VS_PROTO_BASELINE_STATE_FAILED;
                    return VS_BASELINE_EV_FAILED;
                }
            }
        }
        return VS_BASELINE_EV_NONE;
    }
    const float s = score_with(b->acc_mean, b->acc_m2, feats);
    const float c = (float)(b->done - n_fit + 1u);
    const float d = s - b->s_mean;
    b->s_mean += d / c;
    b->s_m2 += d * (s - b->s_mean);
    b->done++;
    return b->done == b->target ? finish(b) : VS_BASELINE_EV_NONE;
}

float vs_baseline_score(const vs_baseline_t *b, const float *feats)
{
    return score_with(b->rec.mean, b->rec.std, feats);
}

void vs_baseline_progress(const vs_baseline_t *b, vs_proto_baseline_progress_t *p)
{
    memset(p, 0, sizeof *p);
    p->state = b->state;
    p->frames_done = b->learning || b->state != VS_PROTO_BASELINE_STATE_DONE ? b->done : b->rec.n_frames;
    p->frames_target = b->learning || b->state != VS_PROTO_BASELINE_STATE_DONE ? b->target : b->rec.n_frames;
    p->threshold = b->state == VS_PROTO_BASELINE_STATE_DONE ? b->rec.threshold : 0.0f;
    p->baseline_crc = b->have ? b->rec.crc : 0u;
}
