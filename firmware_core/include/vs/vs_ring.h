/*
 * vs_ring.h - lock-free single-producer / single-consumer rings for interrupt -> main loop hand-over
 * (samples from the sampling ISR/DMA callback, bytes from the UART RX interrupt).
 *
 * The index block (vs_ring_t) and the element buffer are separate so one index type serves float and byte
 * buffers; both are caller-owned (no heap). Capacity is a power of two (2 .. 2^31) so the free-running 32-bit
 * head/tail counters wrap correctly and a slot is `index & mask`.
 *
 * Concurrency: exactly one producer context (one interrupt priority level, or one task) calls vs_ring_write_*,
 * exactly one consumer context calls vs_ring_read_*. The producer writes only `head` (and its own counters),
 * the consumer only `tail`; each publishes its index after the element copies with a release store and reads
 * the other side's index with an acquire load (GCC __atomic builtins: plain word accesses plus a DMB on
 * Cortex-M4, a fence on RV32), so it is also correct across the two cores of an ESP32-S3 and race-free under
 * ThreadSanitizer (tests/firmware/test_c_node.py runs tests/test_ring.c's two-thread test with it). 32-bit aligned loads and stores are
 * single-copy atomic on Cortex-M (ARMv7-M ARM A3.5.3) and RV32 (RISC-V unprivileged spec 2.6), so no lock
 * is needed. vs_ring_count/space may be called from either side (the result can only be stale, never torn).
 *
 * Policy when full: a write stores only what fits and returns that count; vs_node drops whole blocks
 * instead (it checks vs_ring_space first) so a frame never spans a silent gap.
 */
#ifndef VS_RING_H
#define VS_RING_H

#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    volatile uint32_t head; /* elements ever written (producer only) */
    volatile uint32_t tail; /* elements ever read (consumer only) */
    uint32_t mask;          /* capacity - 1 */
    uint32_t high_water;    /* largest fill seen by the consumer (consumer only) */
} vs_ring_t;

/* Empty ring of `capacity` elements (a power of two >= 2). VS_ERR_ARG otherwise. */
int vs_ring_init(vs_ring_t *r, uint32_t capacity);

/* Elements waiting / free slots. Either side. */
uint32_t vs_ring_count(const vs_ring_t *r);
uint32_t vs_ring_space(const vs_ring_t *r);

/* Producer: copy up to n elements from src into buf (the ring's storage, capacity elements); returns how many
 * were stored. ISR-safe for the single producer. */
uint32_t vs_ring_write_f32(vs_ring_t *r, float *buf, const float *src, uint32_t n);
uint32_t vs_ring_write_u8(vs_ring_t *r, uint8_t *buf, const uint8_t *src, uint32_t n);

/* Producer, for int16 sensor counts: store counts[i] * scale as float (same rounding as a float multiply in
 * C). All or nothing: returns n, or 0 without storing anything when fewer than n slots are free. */
uint32_t vs_ring_write_i16_scaled(vs_ring_t *r, float *buf, const int16_t *counts, uint32_t n, float scale);

/* Consumer: move up to n elements into dst; returns how many. Updates high_water. */
uint32_t vs_ring_read_f32(vs_ring_t *r, const float *buf, float *dst, uint32_t n);
uint32_t vs_ring_read_u8(vs_ring_t *r, const uint8_t *buf, uint8_t *dst, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* VS_RING_H */
