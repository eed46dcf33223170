/*
 * vs_model_update.h - signed model updates into A/B flash slots (issue H, docs/signing.md, docs/protocol.md
 * MODEL_BEGIN / MODEL_MANIFEST / MODEL_CHUNK / MODEL_COMMIT / MODEL_STATUS).
 *
 * Inference goes on with the active model while the inactive slot is erased and written. COMMIT checks, from
 * what is in flash (read back): the image's SHA-256 against MODEL_BEGIN and the signed manifest, the
 * manifest's Ed25519 signature under one of the embedded keys, its counter (above every counter this node
 * has ever run), its feature_hash (the node's), and the image's structure (vs_model_image_open). Then the new
 * slot runs in TRIAL: confirmed after `trial_target` healthy frames, reverted to the previous model after a
 * failed self-test, an unhealthy frame (vs_model_update_frame(u, 0)), a watchdog reset, or
 * VS_MODEL_UPDATE_MAX_TRIAL_BOOTS boots without confirmation. At every boot the active slot is verified again
 * (signature, hash, structure); a slot that fails falls back to the previous one, then to the built-in model.
 *
 * Self-test (at COMMIT and at every boot in TRIAL): the image runs once on the known input "every feature at
 * its normalisation mean" (every int8 input = the input zero point); the run must succeed and, when the signed
 * manifest carries "selftest_sha256" (64 hex digits: SHA-256 of the output tensor bytes for that input, which
 * the signer computes with TFLite's reference kernels), the output must hash to it. Without that key only the
 * run itself is checked (docs/deploy.md).
 *
 * Anti-rollback: a manifest counter must exceed every counter this node has committed (max_counter), even one
 * whose model was later reverted, so a refused model cannot come back under the same signature.
 *
 * Power cuts: only the inactive slot is written during a transfer, and the state that says which slot runs
 * is one small record written alternately to two store records, each with a sequence number and a CRC-32, so
 * a torn write leaves the previous record in force. A power cut at any point therefore leaves the node
 * running a verified model (tests/firmware/test_model_update.py cuts the power at random points 50 times).
 *
 * Slot layout: [0] u32 magic "VSSL", [4] u32 manifest length, [8] 64-byte signature, [72] manifest bytes
 * (<= VS_MODEL_UPDATE_MAX_MANIFEST), image at VS_MODEL_UPDATE_IMAGE_OFFSET (4-byte aligned, as the image
 * runner requires). Flash writes follow NOR rules (bits only cleared after an erase).
 *
 * All hardware access goes through the caller's vs_model_update_io_t (a port maps it to its flash driver and
 * vs_platform_store). No allocation; main loop only (erase and verification are long).
 */
#ifndef VS_MODEL_UPDATE_H
#define VS_MODEL_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_model_image.h"
#include "vs/vs_model_manifest.h"
#include "vs/vs_sha256.h"
#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_MODEL_UPDATE_MAX_MANIFEST 768u
#define VS_MODEL_UPDATE_IMAGE_OFFSET 1024u
#define VS_MODEL_UPDATE_MAX_TRIAL_BOOTS 3u
/* The two store records holding the update state (vs_platform_store.h ids; 0 is vs_node's boot record). */
#define VS_MODEL_UPDATE_STORE_ID0 1u
#define VS_MODEL_UPDATE_STORE_ID1 2u

/** Flash slots and the small persistent store, as the port provides them. Slot 0 = A, 1 = B. */
typedef struct {
    void *ctx;
    uint32_t slot_bytes; /* capacity of each slot */
    int (*erase)(void *ctx, uint8_t slot);                                             /* VS_OK or < 0 */
    int (*write)(void *ctx, uint8_t slot, uint32_t offset, const void *data, uint32_t len); /* VS_OK or < 0 */
    const uint8_t *(*map)(void *ctx, uint8_t slot);                                    /* memory-mapped slot */
    int (*store_read)(void *ctx, uint8_t id, void *buf, uint32_t len);  /* stored length, 0 absent, < 0 */
    int (*store_write)(void *ctx, uint8_t id, const void *data, uint32_t len); /* VS_OK or < 0 */
} vs_model_update_io_t;

/** The persistent state (one store record). */
typedef struct {
    uint32_t seq;
    uint8_t active;      /* VS_PROTO_SLOT_BUILTIN / _A / _B */
    uint8_t state;       /* VS_PROTO_MODEL_* */
    uint8_t prev;        /* slot to revert to */
    uint8_t trial_boots; /* boots in TRIAL so far */
    uint32_t counter;    /* manifest counter of the active slot (0: built-in) */
    uint32_t prev_counter;
    uint32_t max_counter; /* highest counter ever committed: a new update must exceed it */
} vs_model_update_record_t;

typedef struct {
    const vs_model_update_io_t *io;
    const uint8_t (*keys)[32];
    uint8_t n_keys;
    uint8_t feature_hash[32];
    uint32_t trial_target;
    vs_model_update_record_t rec;
    int rec_slot;                 /* store record (0 / 1) holding rec, -1 none */
    vs_model_image_t image;       /* the active slot's image when rec.active != BUILTIN */
    uint8_t model_hash[32];       /* SHA-256 of the active image (zeros: built-in) */
    uint32_t trial_frames;
    uint8_t last_error;           /* NackReason of the last refused update (0 none) */
    void *arena;                  /* self-test arena (the node's model arena; caller-owned) */
    uint32_t arena_bytes;
    uint32_t n_features;          /* the node's feature vector length: input = output bytes of an image */
    /* a transfer in progress */
    uint8_t staging, manifest_ok, target;
    uint16_t chunk_size;
    uint32_t total, staged;
    uint8_t begin_sha256[32];
    vs_model_manifest_t manifest;
} vs_model_update_t;

/** Set up (no I/O). keys: n_keys embedded public keys (static storage); feature_hash: the node's (copied);
 *  arena: arena_bytes (4-byte aligned) the self-test may use (an image needing more is refused at COMMIT);
 *  n_features: an image must be an int8 autoencoder of this many features (input = output bytes). */
int vs_model_update_init(vs_model_update_t *u, const vs_model_update_io_t *io, const uint8_t (*keys)[32],
                         uint8_t n_keys, const uint8_t feature_hash[32], uint32_t trial_target, void *arena,
                         uint32_t arena_bytes, uint32_t n_features);

/** At boot: load the state, apply the TRIAL rules for `reset_reason` (VS_PROTO_RESET_*), verify the active
 *  slot (falling back as described above) and persist any change. VS_OK, or < 0 if the store fails. */
int vs_model_update_boot(vs_model_update_t *u, uint8_t reset_reason);

/** The image to run, or NULL for the built-in model. */
const vs_model_image_t *vs_model_update_active(const vs_model_update_t *u);

/** The MODEL_STATUS fields (docs/protocol.md) of the current state; every pointer non-NULL. */
void vs_model_update_status(const vs_model_update_t *u, uint8_t *slot, uint8_t *state, uint32_t *counter,
                            uint8_t hash[32], uint32_t *trial_frames, uint32_t *trial_target,
                            uint32_t *staged_bytes, uint32_t *staged_total, uint8_t *last_error);

/* Commands: 0 = ACK, else the VS_PROTO_NACK_* reason (also kept in last_error). COMMIT's ACK means the image
 * was switched to in TRIAL; its self-test ran right after, so the state may already be REVERTED (check
 * rec.state / MODEL_STATUS). */
uint8_t vs_model_update_begin(vs_model_update_t *u, uint32_t total_size, const uint8_t sha256[32],
                              uint16_t chunk_size);
uint8_t vs_model_update_manifest(vs_model_update_t *u, const uint8_t sig[64], const uint8_t *manifest,
                                 uint16_t count);
uint8_t vs_model_update_chunk(vs_model_update_t *u, uint32_t offset, const uint8_t *data, uint16_t count);
uint8_t vs_model_update_commit(vs_model_update_t *u, const uint8_t sha256[32]);

/** After each analysed frame: healthy != 0 counts towards confirming a TRIAL model; 0 (a model error or a
 *  non-finite score) reverts it. Returns 1 when the state changed (send MODEL_STATUS). */
int vs_model_update_frame(vs_model_update_t *u, int healthy);

#ifdef __cplusplus
}
#endif

#endif /* VS_MODEL_UPDATE_H */
