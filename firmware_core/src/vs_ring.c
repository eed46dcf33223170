/* vs_ring: lock-free SPSC rings (see vs_ring.h for the concurrency contract). */
#include "vs/vs_ring.h"

#include <stddef.h>
#include <string.h>

/* Publication order: the element copies must be visible before the index that announces them (release), and
 * the other side's index must be read before the elements it announces (acquire). With GCC/Clang the indices
 * are read and written as C11-style atomics (__atomic builtins: plain 32-bit loads/stores plus a DMB on
 * Cortex-M4, a fence on RV32), so the hand-over is also race-free under the C memory model (ThreadSanitizer
 * finds nothing on the two-thread test) and across the two cores of an ESP32-S3. Other compilers fall back to
 * the volatile accesses of vs_ring_t, which suffice on a single core. */
#if defined(__GNUC__)
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#define LOAD_ACQ(p) (*(p))
#define LOAD_RLX(p) (*(p))
#define STORE_REL(p, v) (*(p) = (v))
#endif

int vs_ring_init(vs_ring_t *r, uint32_t capacity)
{
    if (r == NULL || capacity < 2u || capacity > 0x80000000u || (capacity & (capacity - 1u)) != 0u) {
        return VS_ERR_ARG;
    }
    r->head = 0u;
    r->tail = 0u;
    r->mask = capacity - 1u;
    r->high_water = 0u;
    return VS_OK;
}

uint32_t vs_ring_count(const vs_ring_t *r)
{
    /* free-running counters: the difference is right across the 2^32 wrap */
    return LOAD_ACQ(&r->head) - LOAD_ACQ(&r->tail);
}

uint32_t vs_ring_space(const vs_ring_t *r)
{
    return r->mask + 1u - (LOAD_ACQ(&r->head) - LOAD_ACQ(&r->tail));
}

/* Copy n elements of `size` bytes into the ring storage at counter position pos (at most two pieces). */
static void put(void *buf, uint32_t mask, uint32_t pos, const void *src, uint32_t n, size_t size)
{
    const uint32_t at = pos & mask, first = mask + 1u - at < n ? mask + 1u - at : n;
    memcpy((uint8_t *)buf + (size_t)at * size, src, (size_t)first * size);
    memcpy(buf, (const uint8_t *)src + (size_t)first * size, (size_t)(n - first) * size);
}

static void get(const void *buf, uint32_t mask, uint32_t pos, void *dst, uint32_t n, size_t size)
{
    const uint32_t at = pos & mask, first = mask + 1u - at < n ? mask + 1u - at : n;
    memcpy(dst, (const uint8_t *)buf + (size_t)at * size, (size_t)first * size);
    memcpy((uint8_t *)dst + (size_t)first * size, buf, (size_t)(n - first) * size);
}

static uint32_t write_any(vs_ring_t *r, void *buf, const void *src, uint32_t n, size_t size)
{
    const uint32_t tail = LOAD_ACQ(&r->tail); /* the consumer finished reading those slots before */
    const uint32_t head = LOAD_RLX(&r->head), space = r->mask + 1u - (head - tail);
    const uint32_t k = n < space ? n : space;
    if (k > 0u) {
        put(buf, r->mask, head, src, k, size);
        STORE_REL(&r->head, head + k);
    }
    return k;
}

static uint32_t read_any(vs_ring_t *r, const void *buf, void *dst, uint32_t n, size_t size)
{
    const uint32_t head = LOAD_ACQ(&r->head); /* the elements up to head were written before */
    const uint32_t tail = LOAD_RLX(&r->tail), count = head - tail;
    if (count > r->high_water) {
        r->high_water = count;
    }
    const uint32_t k = n < count ? n : count;
    if (k > 0u) {
        get(buf, r->mask, tail, dst, k, size);
        STORE_REL(&r->tail, tail + k); /* done reading the slots before the producer may reuse them */
    }
    return k;
}

uint32_t vs_ring_write_f32(vs_ring_t *r, float *buf, const float *src, uint32_t n)
{
    return write_any(r, buf, src, n, sizeof(float));
}

uint32_t vs_ring_write_u8(vs_ring_t *r, uint8_t *buf, const uint8_t *src, uint32_t n)
{
    return write_any(r, buf, src, n, 1u);
}

uint32_t vs_ring_write_i16_scaled(vs_ring_t *r, float *buf, const int16_t *counts, uint32_t n, float scale)
{
    const uint32_t tail = LOAD_ACQ(&r->tail);
    const uint32_t head = LOAD_RLX(&r->head);
    if (r->mask + 1u - (head - tail) < n) {
        return 0u;
    }
    for (uint32_t i = 0; i < n; i++) {
        buf[(head + i) & r->mask] = (float)counts[i] * scale;
    }
    STORE_REL(&r->head, head + n);
    return n;
}

uint32_t vs_ring_read_f32(vs_ring_t *r, const float *buf, float *dst, uint32_t n)
{
    return read_any(r, buf, dst, n, sizeof(float));
}

uint32_t vs_ring_read_u8(vs_ring_t *r, const uint8_t *buf, uint8_t *dst, uint32_t n)
{
    return read_any(r, buf, dst, n, 1u);
}
