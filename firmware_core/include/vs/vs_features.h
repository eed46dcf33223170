/*
 * vs_features.h - per-frame features on CMSIS-DSP, mirroring vibsentry.dsp (docs/features.md is normative).
 *
 * The configuration (frame length, window, mel table, feature groups, feature_hash) is compiled in from the
 * GENERATED header vs/vs_feature_config.h (codegen/feature_config.py renders it from a FeatureParams; the default
 * one is committed in vs/generated/).
 * Output order and meaning are those of FeatureParams.feature_names: logmel, mfcc, band_rms, stats (mean,
 * rms, peak, peak_to_peak, crest_factor, skewness, kurtosis), spectral_shape (centroid, spread in Hz),
 * velocity_rms (mm/s) - each group only when enabled.
 *
 * Memory (all caller-owned, no heap):
 *   vs_features_t         the instance (the CMSIS rfft instance: 28 bytes on Cortex-M)
 *   frame                 VS_FEAT_FRAME_LENGTH floats, input samples in the configured accel unit; read only,
 *                         unless frame == scratch: then the computation runs in place and saves N floats
 *   scratch               VS_FEATURES_SCRATCH_LEN floats (2 * frame length: 8 KiB at 1024), overwritten
 *   out                   VS_FEAT_N_FEATURES floats
 * Flash: the generated tables (window N floats, mel coefficients, DCT, velocity weights) plus the CMSIS FFT
 * tables of the one configured length.
 *
 * Not ISR-safe and not reentrant on the same scratch buffer; run it from the analysis loop. Results equal
 * vibsentry.dsp within the tolerances stated in tests/firmware/test_c_features.py.
 *
 * Arithmetic: with FeatureParams.arithmetic = "q31" (VS_FEAT_ARITH_Q31 1 in the generated config, for cores
 * without an FPU) vs_features_compute_f32 runs the integer pipeline of vs_features_q31.c instead: same
 * arguments, same float32 outputs, bit-identical to vibsentry.dsp.fixed (tests/firmware/test_c_features_q31.py).
 * The scratch then holds the frame as int32 (block-scaled, |q| < 2^28), its q31 spectrum in CMSIS packed order
 * and N/2 + 1 uint32 magnitudes; the same 2 * N words.
 */
#ifndef VS_FEATURES_H
#define VS_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/transform_functions.h" /* CMSIS-DSP: arm_rfft_fast_instance_f32, arm_cfft_instance_q31 */
#include "vs/vs_feature_config.h"
#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_FEATURES_SCRATCH_LEN (2 * VS_FEAT_FRAME_LENGTH)

/* Where groups start in the output vector (valid when the group is enabled): the statistics are
 * out[VS_FEAT_STATS_OFFSET + 0..6] (mean, rms, peak, peak_to_peak, crest_factor, skewness, kurtosis) and the
 * velocity RMS, always last, is out[VS_FEAT_VELOCITY_INDEX] - what a SCORE message reports. */
#define VS_FEAT_STATS_OFFSET \
    (VS_FEAT_HAS_LOGMEL * VS_FEAT_N_MELS + VS_FEAT_HAS_MFCC * VS_FEAT_N_MFCC + VS_FEAT_HAS_BAND_RMS * VS_FEAT_N_BANDS)
#define VS_FEAT_VELOCITY_INDEX (VS_FEAT_N_FEATURES - 1)
#define VS_FEATURE_HASH_LEN 32

#define VS_FEATURES_MAGIC 0x76734665u /* "vsFe": private to vs_features*.c, set by vs_features_init */

/* Caller-owned instance; fields are private to vs_features.c and vs_features_q31.c. */
typedef struct {
    uint32_t magic;                  /* VS_FEATURES_MAGIC once initialised */
#if VS_FEAT_ARITH_Q31
    arm_cfft_instance_q31 cfft; /* N/2-point complex q31 FFT; points into CMSIS's const tables */
#else
    arm_rfft_fast_instance_f32 rfft; /* points into CMSIS's const FFT tables */
#endif
} vs_features_t;

/* Prepare the FFT for the configured frame length. VS_ERR_ARG on NULL, VS_ERR_CONFIG when CMSIS refuses it. */
int vs_features_init(vs_features_t *inst);

/* Features of one frame: frame[VS_FEAT_FRAME_LENGTH] -> out[VS_FEAT_N_FEATURES].
 * scratch[VS_FEATURES_SCRATCH_LEN] is overwritten; frame is not modified unless frame == scratch (in-place
 * mode: the caller puts the samples in scratch[0..N) and passes scratch twice; the samples are destroyed). VS_ERR_ARG on NULL pointers or a frame that overlaps
 * scratch other than exactly at its start, VS_ERR_STATE before vs_features_init. NaN/inf in the frame
 * propagate to the outputs. */
int vs_features_compute_f32(vs_features_t *inst, const float *frame, float *scratch, float *out);

/* The q31 pipeline (vs_features_q31.c; only in VS_FEAT_ARITH_Q31 builds, where vs_features_compute_f32 calls
 * it): same contract as vs_features_compute_f32. Input float32 samples; every per-sample and per-bin step is
 * integer (block floating point: one shift s per frame, |q| = |x| 2^s < 2^28); the outputs are converted to
 * float32 at the end. NaN/inf anywhere in the frame give NaN in every output. */
int vs_features_compute_q31(vs_features_t *inst, const float *frame, float *scratch, float *out);

/* Argument and state checks shared by both compute functions (internal): VS_OK, VS_ERR_ARG or VS_ERR_STATE. */
int vs_features_check_call(const vs_features_t *inst, const float *frame, const float *scratch, const float *out);

/* The compiled-in feature_hash: 32 raw bytes and 64 lower-case hex characters (NUL-terminated). */
const uint8_t *vs_features_hash(void);
const char *vs_features_hash_hex(void);

/* Sizes for bindings that cannot read the macros (ctypes): instance bytes, frame length, scratch floats,
 * number of features. */
size_t vs_features_instance_size(void);
int vs_features_frame_length(void);
int vs_features_scratch_len(void);
int vs_features_count(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_FEATURES_H */
