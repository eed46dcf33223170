/*
 * vs_platform_sampler.h - start and stop the accelerometer sampling.
 *
 * Once started, the port delivers samples by calling vs_node_push_samples_i16 (raw counts and the sensor's
 * scale in g per LSB) or vs_node_push_samples_f32 (g) from its sampling interrupt, timer ISR or DMA
 * half/full-transfer callback, in blocks of any length (vs_node splits them into hops itself). The delivery
 * context is the single producer of the node's sample ring: one interrupt priority level, or one task.
 *
 * vs_node_start calls vs_platform_sampler_start once after HELLO; the first REPLAY_SAMPLES command calls
 * vs_platform_sampler_stop, so replayed and sensor samples never mix in one stream (under QEMU there is no
 * sensor and both calls do nothing but record the state).
 */
#ifndef VS_PLATFORM_SAMPLER_H
#define VS_PLATFORM_SAMPLER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start sampling at sample_rate_hz (the compiled-in VS_FEAT_SAMPLE_RATE). Returns VS_OK, or a negative
 * VS_ERR_* when the sensor does not answer (the node then reports it and waits for REPLAY_SAMPLES). */
int vs_platform_sampler_start(float sample_rate_hz);

/* Stop delivering samples. After it returns the port makes no further push calls. */
void vs_platform_sampler_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_SAMPLER_H */
