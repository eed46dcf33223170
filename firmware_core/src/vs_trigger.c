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
    {
        /* Into the ring in at most two copies (a block may be longer than the ring: keep its tail). */
        const uint32_t fl = t->cfg.frame_length;
        const float *src = n > fl ? block + (n - fl) : block;
        uint32_t left = n > fl ? fl : n;
        while (left > 0u) {
            const uint32_t room = fl - t->head, k = left < room ? left : room;
            memcpy(t->ring + t->head, src, k * sizeof(float));
            t->head = t->head + k == fl ? 0u : t->head + k;
            src += k;
            left -= k;
        }
    }
    t->seen = sat_add(t->seen, n);
    t->since_analysis = sat_add(t->since_analysis, n);
    t->blocks++;

    /* One pass about the block's first sample (shifted data: the gravity offset cancels before squaring):
     * mean = k + s1/n, variance = s2/n - (s1/n)^2, peak = the larger distance of max/min from the mean. */
    const float k0 = block[0];
    float s1 = 0.0f, s2 = 0.0f, hi = 0.0f, lo = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        const float c = block[i] - k0;
        s1 += c;
        s2 += c * c;
        hi = c > hi ? c : hi;
        lo = c < lo ? c : lo;
    }
    const float d = s1 / (float)n;
    const float var = s2 / (float)n - d * d;
    const float rms = var > 0.0f ? sqrtf(var) : 0.0f;
    const float peak = hi - d > d - lo ? hi - d : d - lo;
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
