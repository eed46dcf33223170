/*
 * vs_baseline.h - on-node baseline learning (BASELINE_LEARN, docs/protocol.md; behaviour in docs/node.md):
 * the node learns its own machine's normal from n analysed frames and then scores with it.
 *
 * Learning from n frames (VS_PROTO_MIN_BASELINE_FRAMES <= n <= VS_BASELINE_MAX_FRAMES), all float32:
 *   frames [0, n_fit), n_fit = n - n/2: streaming Welford mean and M2 per feature, in feature order
 *       c = frames so far (1-based); d = x - mean; mean += d / (float)c; m2 += d * (x - mean)
 *     then std = sqrtf(m2 / (float)n_fit) (population std). A std that is not > 0 and finite: FAILED.
 *   frames [n_fit, n), n/2 of them (held out from the fit): score s of each with that mean/std (below),
 *     Welford of s the same way; s_std = sqrtf(s_m2 / (float)(n/2));
 *     threshold = s_mean + k * s_std, clear_threshold = s_mean + (0.5f * k) * s_std  (k: BASELINE_LEARN
 *     threshold_k, 0 = VS_BASELINE_DEFAULT_K).
 * Score with a baseline (a diagonal Mahalanobis distance per feature):
 *     s = (sum_j ((f_j - mean_j) / std_j)^2) / (float)VS_FEAT_N_FEATURES, summed in feature order.
 * vibsentry.nodes.baseline.BaselineLearner does the same operations in the same order (bit for bit).
 *
 * Storage: the record below (little-endian, 364 B with 40 features) with a CRC-32 (vs_crc.h) over every byte
 * before `crc`, split over VS_BASELINE_STORE_RECORDS consecutive vs_platform_store records from
 * VS_BASELINE_STORE_FIRST_ID (64 B each; 6 records, ids 3..8, with 40 features). A record whose magic,
 * version, feature count, feature hash prefix or CRC does not match is ignored (and reported as FAILED at
 * boot). CLEAR invalidates the first record. Writes happen when learning ends or on CLEAR, not per frame.
 *
 * Memory: vs_baseline_t is 716 B with 40 features (the record in use, 364 B, and the learning accumulators,
 * 2 x 4 B per feature). Main loop only; not ISR-safe. No malloc.
 */
#ifndef VS_BASELINE_H
#define VS_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_feature_config.h"
#include "vs/vs_protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_BASELINE_MAGIC 0x4C534256u    /* "VBSL" */
#define VS_BASELINE_VERSION 1u
#define VS_BASELINE_DEFAULT_K 4.0f       /* threshold_k when BASELINE_LEARN sends 0 */
#define VS_BASELINE_MAX_K 1000.0f        /* larger threshold_k: NACK BAD_VALUE */
#define VS_BASELINE_MAX_FRAMES 16777216u /* 2^24: every frame count is exact in float32 */
#define VS_BASELINE_STORE_FIRST_ID 3u    /* vs_platform_store ids 0: boot record, 1-2: model update state */

/* The stored (and in-use) baseline. All fields 4-byte aligned: no padding, the byte image is the layout. */
typedef struct {
    uint32_t magic;                       /* VS_BASELINE_MAGIC */
    uint16_t version;                     /* VS_BASELINE_VERSION */
    uint16_t n_features;                  /* VS_FEAT_N_FEATURES */
    uint8_t feature_hash[8];              /* first 8 bytes of the node's feature_hash */
    uint32_t n_frames;                    /* frames learned from */
    float k;                              /* threshold_k used */
    float score_mean, score_std;          /* of the held-out frames' scores */
    float threshold, clear_threshold;     /* the alarm thresholds it sets */
    float mean[VS_FEAT_N_FEATURES];       /* per-feature mean (feature units) */
    float std[VS_FEAT_N_FEATURES];        /* per-feature population std, > 0 */
    uint32_t crc;                         /* CRC-32 of the bytes before this field */
} vs_baseline_record_t;

#define VS_BASELINE_STORE_RECORDS ((sizeof(vs_baseline_record_t) + 63u) / 64u)

/* What vs_baseline_load found. */
#define VS_BASELINE_LOAD_NONE 0    /* nothing stored */
#define VS_BASELINE_LOAD_VALID 1   /* a valid record: in use */
#define VS_BASELINE_LOAD_DAMAGED 2 /* something stored that fails the checks (torn write, bit flip): ignored */

/* Events of vs_baseline_frame. */
#define VS_BASELINE_EV_NONE 0
#define VS_BASELINE_EV_DONE 1   /* learned, stored, in use from the next frame */
#define VS_BASELINE_EV_FAILED 2 /* unusable (zero variance, non-finite) or not storable: nothing changed */

typedef struct {
    vs_baseline_record_t rec; /* the baseline in use when `have` */
    uint8_t have;             /* rec is valid and scores */
    uint8_t learning;         /* a START is running */
    uint8_t state;            /* VS_PROTO_BASELINE_STATE_* to report */
    uint8_t feature_hash[8];
    uint32_t target, done;    /* frames to learn from / learned so far */
    float k;
    float acc_mean[VS_FEAT_N_FEATURES]; /* fit: Welford mean, then the candidate mean */
    float acc_m2[VS_FEAT_N_FEATURES];   /* fit: Welford M2, then the candidate std */
    float s_mean, s_m2;                 /* held-out scores: Welford */
} vs_baseline_t;

/* Clear b and remember the node's feature hash (32 bytes; the first 8 are kept). No I/O. */
void vs_baseline_init(vs_baseline_t *b, const uint8_t feature_hash[32]);

/* Read the stored record (vs_platform_store); VS_BASELINE_LOAD_*. */
int vs_baseline_load(vs_baseline_t *b);

/* BASELINE_LEARN START: 0, or VS_PROTO_NACK_BAD_VALUE (n_frames out of range, k negative, > MAX_K or not
 * finite). A START while learning starts over. k == 0 means VS_BASELINE_DEFAULT_K. */
uint8_t vs_baseline_start(vs_baseline_t *b, uint32_t n_frames, float k);

/* ABORT: 0, or VS_PROTO_NACK_BAD_STATE when not learning. The baseline in use (if any) stays. */
uint8_t vs_baseline_abort(vs_baseline_t *b);

/* CLEAR: stop learning, invalidate the stored record, score without a baseline again. 0, or
 * VS_PROTO_NACK_STORAGE when the store refused (nothing changed). */
uint8_t vs_baseline_clear(vs_baseline_t *b);

/* One analysed frame's features (VS_FEAT_N_FEATURES floats) while learning; VS_BASELINE_EV_*. When learning
 * ends the record is computed, stored and put in use (DONE) or dropped (FAILED). No-op when not learning. */
int vs_baseline_frame(vs_baseline_t *b, const float *feats);

/* The score of feats with the baseline in use (b->have must be set), see above. */
float vs_baseline_score(const vs_baseline_t *b, const float *feats);

/* BASELINE_PROGRESS fields of the current state. */
void vs_baseline_progress(const vs_baseline_t *b, vs_proto_baseline_progress_t *p);

#ifdef __cplusplus
}
#endif

#endif /* VS_BASELINE_H */
