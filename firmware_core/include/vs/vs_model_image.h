/*
 * vs_model_image.h - run an INT8 model from a flat "model image" (docs/model_image.md) held in flash, so a
 * new model needs no firmware rebuild. The same vs_nn kernels as the generated-C path (vs_model.h) run it,
 * so its outputs are the same bits (bit-exact with TFLite's reference kernels).
 *
 * Format (normative text in docs/model_image.md): little-endian; a 144-byte header (magic "VSMI", format
 * version, sizes, input/output quantization, alarm rule, feature_hash, source model sha256), a tensor table,
 * an op table, one parameter record per op (32-bit words in the order of the vs_nn_*_params_t fields; arrays
 * as byte offsets into the image), constant arrays, normalisation mean/std (float32), and a CRC-32 of all
 * preceding bytes. Written by vibsentry.codegen.model_image.
 *
 * Usage:
 *     vs_model_image_t img;
 *     if (vs_model_image_open(&img, flash_slot, slot_bytes) != VS_OK) { ...refuse... }
 *     static int32_t arena[ARENA_WORDS];           // >= img.arena_bytes
 *     vs_model_image_run_s8(&img, arena, sizeof arena, in, out);
 *
 * vs_model_image_open checks everything once (magic, version, length, CRC, every offset and array inside the
 * image, every tensor inside the arena, every op's buffer sizes against its tensors), so a damaged image is
 * refused there and never reaches a kernel. The image stays where it is (flash): `img` keeps pointers into
 * it and must not outlive it. The image must be 4-byte aligned (int32 arrays are used in place) and the CPU
 * little-endian (Cortex-M, RV32, x86). No allocation; run is reentrant with separate arenas; not for ISRs
 * (a model run is long). Signature checking is separate (vs_ed25519.h over the signed manifest, which holds
 * this image's SHA-256).
 */
#ifndef VS_MODEL_IMAGE_H
#define VS_MODEL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_model.h"
#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes VS_IMAGE_ERR_* (-160..-165): specs/status_codes.toml module "model_image", via vs_status.h. */

#define VS_MODEL_IMAGE_MAGIC 0x494d5356u /* "VSMI" read as a little-endian u32 */
#define VS_MODEL_IMAGE_VERSION 1u
#define VS_MODEL_IMAGE_HEADER_BYTES 144u

/** Score definitions (docs/bundle.md "Score"). */
enum { VS_MODEL_IMAGE_SCORE_AE_MSE = 1, VS_MODEL_IMAGE_SCORE_CLASSIFIER = 2 };

/** An opened image: header fields decoded, pointers into the image. */
typedef struct {
    const uint8_t *data;
    uint32_t size;
    uint16_t n_ops, n_tensors;
    uint32_t arena_bytes;
    int16_t input_tensor, output_tensor;
    uint8_t input_type, output_type; /* vs_nn_type_t */
    uint32_t input_bytes, output_bytes;
    float input_scale;
    int32_t input_zero_point;
    float output_scale;
    int32_t output_zero_point;
    uint16_t n_features;     /* length of norm_mean / norm_std (0: no normalisation) */
    const float *norm_mean;  /* model input = (feature - mean) / std, then quantized */
    const float *norm_std;
    uint8_t score_kind;      /* VS_MODEL_IMAGE_SCORE_* */
    uint8_t has_alarm;
    float threshold, clear_threshold;
    uint16_t alarm_k, alarm_n; /* raise after k of the last n scores above threshold */
    uint32_t work;           /* multiply-accumulates (or elements) of one run, saturated at 2^32 - 1: a node
                                may refuse a model too slow for its frame budget */
    const uint8_t *feature_hash;  /* 32 bytes: SHA-256 of the FeatureParams canonical JSON */
    const uint8_t *source_sha256; /* 32 bytes: SHA-256 of the .tflite the image was made from */
} vs_model_image_t;

/**
 * Validate an image and decode its header into `img`.
 * @return VS_OK; VS_ERR_ARG (NULL, misaligned); VS_IMAGE_ERR_MAGIC / _VERSION / _CRC / _FORMAT (a size,
 *         offset, count, op code or buffer size that does not fit); nothing in `img` is valid then
 */
int vs_model_image_open(vs_model_image_t *img, const void *data, size_t len);

/** Run the model once; same contract as vs_model_run (vs_model.h). */
int vs_model_image_run(const vs_model_image_t *img, void *arena, size_t arena_bytes, const void *input,
                       void *output);

/** vs_model_image_run for int8 input and output (VS_ERR_CONFIG otherwise). */
int vs_model_image_run_s8(const vs_model_image_t *img, void *arena, size_t arena_bytes, const int8_t *input,
                          int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* VS_MODEL_IMAGE_H */
