/* vs_trigger.c - event-driven analysis trigger; the rules are in vs_trigger.h. */
#include "vs/vs_trigger.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static int bad_threshold(float v)
{
    return !isfinite(v) || v < 0.0f;
}

int vs_trigger_init(vs_trigger_t *t, const vs_trigger_config_t *cfg, float *frame_buffer)
{
    if (t == NULL || cfg == NULL || frame_buffer == NULL || cfg->frame_length == 0u ||
        bad_threshold(cfg->rms_threshold) || bad_threshold(cfg->peak_threshold)) {
        return VS_ERR_ARG;
    }
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->ring = frame_buffer;
    memset(frame_buffer, 0, cfg->frame_length * sizeof(float));
    return VS_OK;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

int vs_trigger_push_f32(vs_trigger_t *t, const float *block, uint32_t n)
{
    if (t == NULL || block == NULL || n == 0u) {
        return VS_ERR_ARG;
    }
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        t->ring[t->head] = block[i];
        t->head = t->head + 1u == t->cfg.frame_length ? 0u : t->head + 1u;
        sum += block[i];
    }
    t->seen = sat_add(t->seen, n);
    t->since_analysis = sat_add(t->since_analysis, n);
    t->blocks++;

    const float m = sum / (float)n;
    float sq = 0.0f, peak = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        const float d = block[i] - m;
        const float a = fabsf(d);
        sq += d * d;
        peak = a > peak ? a : peak;
    }
    const float rms = sqrtf(sq / (float)n);
    t->last_rms = rms;
    t->last_peak = peak;

    unsigned reasons = 0u;
    if (t->cfg.rms_threshold > 0.0f && rms > t->cfg.rms_threshold) {
        reasons |= VS_TRIGGER_RMS;
    }
    if (t->cfg.peak_threshold > 0.0f && peak > t->cfg.peak_threshold) {
        reasons |= VS_TRIGGER_PEAK;
    }
    /* One read of the ISR-written word: the value compared is the value recorded as served. */
    const uint32_t wake = t->wake_requests;
    if (wake != t->wake_served) {
        reasons |= VS_TRIGGER_WAKE;
    }
    if (t->cfg.heartbeat_samples > 0u && t->since_analysis >= t->cfg.heartbeat_samples) {
        reasons |= VS_TRIGGER_HEARTBEAT;
    }
    if (reasons == 0u) {
        return 0;
    }
    /* The hold-off counts from the last analysis; at start-up there is none, only the warm-up. */
    const int in_holdoff = t->analysed > 0u && t->since_analysis < t->cfg.holdoff_samples;
    if (in_holdoff || t->seen < t->cfg.frame_length) {
        if ((reasons & (VS_TRIGGER_RMS | VS_TRIGGER_PEAK)) != 0u) {
            t->skipped++;
        }
        return 0;
    }
    t->analysed++;
    t->since_analysis = 0u;
    t->wake_served = wake;
    return (int)reasons;
}

void vs_trigger_copy_frame(const vs_trigger_t *t, float *dst)
{
    const uint32_t n = t->cfg.frame_length, tail = n - t->head;
    memcpy(dst, t->ring + t->head, tail * sizeof(float));
    memcpy(dst + tail, t->ring, t->head * sizeof(float));
}

void vs_trigger_wake_from_isr(vs_trigger_t *t)
{
    t->wake_requests = t->wake_requests + 1u;
}
