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

int vs_trigger_init_i16(vs_trigger_t *t, const vs_trigger_config_t *cfg, int16_t *frame_buffer, float scale)
{
    if (t == NULL || cfg == NULL || frame_buffer == NULL || cfg->frame_length == 0u ||
        bad_threshold(cfg->rms_threshold) || bad_threshold(cfg->peak_threshold) || bad_threshold(scale) ||
        scale == 0.0f) {
        return VS_ERR_ARG;
    }
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->ring_i16 = frame_buffer;
    t->scale = scale;
    memset(frame_buffer, 0, cfg->frame_length * sizeof(int16_t));
    return VS_OK;
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int decide(vs_trigger_t *t, float rms, float peak);

/* The sample clocks and the block counter, after a block of n samples entered the ring. */
static void count_block(vs_trigger_t *t, uint32_t n)
{
    t->seen = sat_add(t->seen, n);
    t->since_analysis = sat_add(t->since_analysis, n);
    t->blocks++;
}

int vs_trigger_push_f32(vs_trigger_t *t, const float *block, uint32_t n)
{
    if (t == NULL || block == NULL || n == 0u) {
        return VS_ERR_ARG;
    }
    if (t->ring == NULL) {
        return VS_ERR_STATE;
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
    count_block(t, n);

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
    return decide(t, rms, peak);
}

/* Steps 3 and 4 of vs_trigger.h, shared by both paths (inlined into each: once per block). */
static inline int decide(vs_trigger_t *t, float rms, float peak)
{
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

/* --- raw int16 path -------------------------------------------------------------------------------------- */

typedef struct {
    int32_t s1; /* sum of x (|s1| <= 32768 * 32768 for the blocks push_i16 accepts) */
    int64_t s2; /* sum of x^2 */
    int32_t hi, lo;
} stats_i16_t;

static void stats_scalar(const int16_t *x, uint32_t n, stats_i16_t *st)
{
    for (uint32_t i = 0; i < n; i++) {
        const int32_t v = x[i];
        st->s1 += v;
        st->s2 += v * v;
        st->hi = v > st->hi ? v : st->hi;
        st->lo = v < st->lo ? v : st->lo;
    }
}

static void copy_scalar(int16_t *dst, const int16_t *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i] = src[i];
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
/* Cortex-M4 DSP extension (ARMv7E-M ARM, A7.7): two samples per 32-bit word. Per 8 samples: 1 LDM and 1 STM
 * of four words (the copy into the frame ring), 4 SMLAD (sum, against 0x00010001), 4 SMLALD (sum of
 * squares, 64-bit), 14 SSUB16/SEL (lane-wise max and min as a tree: SSUB16 sets the GE flags per halfword,
 * SEL picks by them): 24, plus the loop's 2 per 16 samples. src and dst word-aligned. The 14 operands are
 * pinned to registers (r8..r11 ascending for the LDM/STM lists; every statistic is symmetric in the words, so
 * only the copy depends on the order, and LDM/STM keep it). noinline: the call costs less than the spills a
 * caller would need around 14 live registers. */
__attribute__((noinline)) static void stats_copy_dsp8(int16_t *dst, const int16_t *x, uint32_t n8,
                                                      stats_i16_t *st)
{
    register const int16_t *p __asm__("r0") = x;
    register int16_t *q __asm__("r1") = dst;
    register uint32_t n __asm__("r2") = n8;
    register int32_t s1 __asm__("r3") = st->s1;
    register uint32_t lo __asm__("r4") = (uint32_t)(uint64_t)st->s2;
    register uint32_t hi __asm__("r5") = (uint32_t)((uint64_t)st->s2 >> 32);
    register uint32_t mx __asm__("r6");
    register uint32_t mn __asm__("r7");
    register uint32_t one __asm__("r12") = 0x00010001u;
    register uint32_t t __asm__("lr");
    register uint32_t a __asm__("r8");
    register uint32_t b __asm__("r9");
    register uint32_t c __asm__("r10");
    register uint32_t d __asm__("r11");
    __asm__("ldr %0, [%1]" : "=r"(mx) : "r"(p), "m"(*p)); /* both lanes start at real samples */
    mn = mx;
#define VS_TRIG_STEP8                                                                                           \
    "ldmia %[p]!, {%[a], %[b], %[c], %[d]}\n\t"                                                                 \
    "stmia %[q]!, {%[a], %[b], %[c], %[d]}\n\t"                                                                 \
    "smlad %[s1], %[a], %[one], %[s1]\n\t"                                                                        \
    "smlald %[lo], %[hi], %[a], %[a]\n\t"                                                                         \
    "smlad %[s1], %[b], %[one], %[s1]\n\t"                                                                        \
    "smlald %[lo], %[hi], %[b], %[b]\n\t"                                                                         \
    "smlad %[s1], %[c], %[one], %[s1]\n\t"                                                                        \
    "smlald %[lo], %[hi], %[c], %[c]\n\t"                                                                         \
    "smlad %[s1], %[d], %[one], %[s1]\n\t"                                                                        \
    "smlald %[lo], %[hi], %[d], %[d]\n\t"                                                                         \
    "ssub16 %[t], %[a], %[b]\n\t"                                                                                 \
    "sel %[t], %[a], %[b]\n\t"                                                                                    \
    "sel %[a], %[b], %[a]\n\t"                                                                                    \
    "ssub16 %[b], %[c], %[d]\n\t"                                                                                 \
    "sel %[b], %[c], %[d]\n\t"                                                                                    \
    "sel %[c], %[d], %[c]\n\t"                                                                                    \
    "ssub16 %[d], %[t], %[b]\n\t"                                                                                 \
    "sel %[t], %[t], %[b]\n\t"                                                                                    \
    "ssub16 %[d], %[c], %[a]\n\t"                                                                                 \
    "sel %[a], %[a], %[c]\n\t"                                                                                    \
    "ssub16 %[d], %[t], %[mx]\n\t"                                                                                \
    "sel %[mx], %[t], %[mx]\n\t"                                                                                  \
    "ssub16 %[d], %[mn], %[a]\n\t"                                                                                \
    "sel %[mn], %[a], %[mn]\n\t"
    __asm__ volatile("tst %[n], #1\n\t"
                     "beq 2f\n\t" VS_TRIG_STEP8 "subs %[n], %[n], #1\n\t"
                     "beq 3f\n\t"
                     "2:\n\t" VS_TRIG_STEP8 VS_TRIG_STEP8 "subs %[n], %[n], #2\n\t"
                     "bne 2b\n\t"
                     "3:\n\t"
                     : [p] "+r"(p), [q] "+r"(q), [n] "+r"(n), [s1] "+r"(s1), [lo] "+r"(lo), [hi] "+r"(hi),
                       [mx] "+r"(mx), [mn] "+r"(mn), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d),
                       [t] "=&r"(t)
                     : [one] "r"(one)
                     : "cc", "memory");
#undef VS_TRIG_STEP8
    st->s1 = s1;
    st->s2 = (int64_t)(((uint64_t)hi << 32) | lo);
    /* Lane reduction with the same instructions: compare each packed value with itself rotated by 16 bits,
     * so both halfwords end up holding the larger (smaller) lane. */
    uint32_t u, v;
    __asm__("ror %[t], %[mx], #16\n\t"
            "ssub16 %[a], %[mx], %[t]\n\t"
            "sel %[mx], %[mx], %[t]\n\t"
            "ror %[t], %[mn], #16\n\t"
            "ssub16 %[a], %[t], %[mn]\n\t"
            "sel %[mn], %[mn], %[t]\n\t"
            : [mx] "+r"(mx), [mn] "+r"(mn), [t] "=&r"(u), [a] "=&r"(v)
            :
            : "cc");
    const int32_t bigger = (int16_t)(mx & 0xFFFFu), smaller = (int16_t)(mn & 0xFFFFu);
    st->hi = bigger > st->hi ? bigger : st->hi;
    st->lo = smaller < st->lo ? smaller : st->lo;
}
#endif

/* Statistics of n samples copied to dst on the way (dst may be NULL: statistics only). Inlined: it runs once
 * or twice per block, and the call would cost more than the 8-sample remainder. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void stats_copy(int16_t *dst, const int16_t *x, uint32_t n, stats_i16_t *st)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
    if (dst != NULL && (((uintptr_t)dst | (uintptr_t)x) & 3u) == 0u && n >= 8u) {
        stats_copy_dsp8(dst, x, n / 8u, st);
        dst += n & ~7u;
        x += n & ~7u;
        n &= 7u;
    }
#endif
    stats_scalar(x, n, st);
    if (dst != NULL) {
        copy_scalar(dst, x, n);
    }
}

int vs_trigger_push_i16(vs_trigger_t *t, const int16_t *block, uint32_t n)
{
    if (t == NULL || block == NULL || n == 0u || n > 32768u) {
        return VS_ERR_ARG;
    }
    if (t->ring_i16 == NULL) {
        return VS_ERR_STATE;
    }
    stats_i16_t st = {0, 0, block[0], block[0]};
    {
        /* Statistics over the whole block; only its last frame_length samples enter the ring, copied in the
         * same pass (at most two pieces: the ring wraps). */
        const uint32_t fl = t->cfg.frame_length, skip = n > fl ? n - fl : 0u;
        if (skip > 0u) {
            stats_copy(NULL, block, skip, &st);
        }
        const int16_t *src = block + skip;
        uint32_t left = n - skip;
        while (left > 0u) {
            const uint32_t room = fl - t->head, k = left < room ? left : room;
            stats_copy(t->ring_i16 + t->head, src, k, &st);
            t->head = t->head + k == fl ? 0u : t->head + k;
            src += k;
            left -= k;
        }
    }
    count_block(t, n);

    /* n * s2 - s1^2 = n^2 * variance, exact: both terms < 2^60 for n <= 32768. */
    const int64_t vn2 = (int64_t)n * st.s2 - (int64_t)st.s1 * st.s1;
    const float inv_n = 1.0f / (float)n;
    /* 0 <= vn2 < 2^60: two 30-bit halves convert with the FPU (a single int64 conversion is a libgcc call). */
    const float v = (float)(uint32_t)((uint64_t)vn2 >> 30) * 1073741824.0f + (float)(uint32_t)(vn2 & 0x3FFFFFFF);
    const float rms = vn2 > 0 ? sqrtf(v) * inv_n * t->scale : 0.0f;
    const float mean = (float)st.s1 * inv_n;
    const float up = (float)st.hi - mean, down = mean - (float)st.lo;
    return decide(t, rms, (up > down ? up : down) * t->scale);
}

void vs_trigger_copy_frame(const vs_trigger_t *t, float *dst)
{
    if (t->ring == NULL) {
        const uint32_t n = t->cfg.frame_length;
        uint32_t j = t->head;
        for (uint32_t i = 0; i < n; i++) {
            dst[i] = (float)t->ring_i16[j] * t->scale;
            j = j + 1u == n ? 0u : j + 1u;
        }
        return;
    }
    const uint32_t n = t->cfg.frame_length, tail = n - t->head;
    memcpy(dst, t->ring + t->head, tail * sizeof(float));
    memcpy(dst + tail, t->ring, t->head * sizeof(float));
}

void vs_trigger_wake_from_isr(vs_trigger_t *t)
{
    t->wake_requests = t->wake_requests + 1u;
}
