/*
 * vs_model_manifest.h - the node's check of a signed model manifest (docs/signing.md): the Ed25519 signature
 * over the exact manifest bytes under one of the public keys embedded in the firmware, then a strict parse of
 * the manifest JSON into the fields an update needs. Used for MODEL_MANIFEST and again at MODEL_COMMIT
 * (docs/protocol.md); the caller then compares counter, feature_hash, image size and SHA-256 with its state.
 *
 * Parser: one JSON object whose values are strings, unsigned integers or the nested "image" object; keys in
 * strictly increasing byte order (the canonical form `vibsentry sign` writes; this also rules out duplicates);
 * whitespace anywhere JSON allows it. Unknown keys with string or integer values are skipped (a newer signer
 * may add fields); arrays, floats, negative numbers, true/false/null, trailing bytes are refused. Required:
 * "format" = "vibsentry.signed_manifest", "format_version" = 1, "counter" 1..2^32-1, "feature_hash" and
 * "image"."sha256" as 64 lowercase hex digits, "image"."size" 1..2^32-1; optional "selftest_sha256" (64 hex).
 *
 * No allocation, reentrant; verification costs one vs_ed25519_verify per key tried (see vs_ed25519.h): a
 * task, not an ISR.
 */
#ifndef VS_MODEL_MANIFEST_H
#define VS_MODEL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t counter;           /* monotonic version counter */
    uint32_t image_size;        /* bytes of model.vsm */
    uint8_t image_sha256[32];   /* SHA-256 of model.vsm */
    uint8_t feature_hash[32];   /* FeatureParams hash the model was trained for */
    uint8_t key_index;          /* which of the embedded keys verified the signature */
    uint8_t has_selftest;       /* 1 when the manifest carries "selftest_sha256" (optional) */
    uint8_t selftest_sha256[32]; /* SHA-256 of the int8 output for the all-zero-point input (docs/signing.md) */
} vs_model_manifest_t;

/** Parse manifest bytes (no signature check). VS_OK, VS_ERR_ARG, or VS_IMAGE_ERR_MANIFEST. */
int vs_model_manifest_parse(const uint8_t *manifest, size_t len, vs_model_manifest_t *out);

/**
 * Verify `sig` (64 bytes) over `manifest` under keys[0..n_keys-1] (32 bytes each, tried in order), then parse.
 * @return VS_OK with *out filled; VS_IMAGE_ERR_SIGNATURE (no key verifies); VS_IMAGE_ERR_MANIFEST; VS_ERR_ARG
 */
int vs_model_manifest_check(const uint8_t *manifest, size_t len, const uint8_t sig[64], const uint8_t (*keys)[32],
                            size_t n_keys, vs_model_manifest_t *out);

#ifdef __cplusplus
}
#endif

#endif /* VS_MODEL_MANIFEST_H */
