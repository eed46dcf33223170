/*
 * test_ring.c - vs_ring: index arithmetic (wrap of the 32-bit counters, two-piece copies) and a real
 * two-thread producer/consumer run (the ISR -> main loop hand-over, with threads standing in for the two
 * contexts), checked for lost, duplicated or reordered elements. Built with ASan/UBSan by `make host`.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "vs/vs_ring.h"
#include "vs_test.h"

#define CAP 256U
#define TOTAL 500000U

static float fbuf[CAP];
static vs_ring_t ring;

static void test_init_and_counts(void)
{
    vs_ring_t r;
    VS_CHECK_EQ_INT(vs_ring_init(&r, 0), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_ring_init(&r, 1), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_ring_init(&r, 96), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_ring_init(NULL, 64), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_ring_init(&r, 64), VS_OK);
    VS_CHECK_EQ_INT(vs_ring_count(&r), 0);
    VS_CHECK_EQ_INT(vs_ring_space(&r), 64);
}

/* Counters near 2^32: writes and reads across the wrap keep count, space and order right. */
static void test_counter_wrap(void)
{
    uint8_t buf[16], out[16];
    const uint8_t src[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    vs_ring_t r;
    VS_CHECK_EQ_INT(vs_ring_init(&r, 16), VS_OK);
    r.head = r.tail = 0xFFFFFFFAu; /* 6 before the wrap, slot 10 */
    for (int round = 0; round < 5; round++) {
        VS_CHECK_EQ_INT(vs_ring_write_u8(&r, buf, src, 10), 10);
        VS_CHECK_EQ_INT(vs_ring_count(&r), 10);
        VS_CHECK_EQ_INT(vs_ring_space(&r), 6);
        VS_CHECK_EQ_INT(vs_ring_write_u8(&r, buf, src, 10), 6); /* only what fits */
        VS_CHECK_EQ_INT(vs_ring_read_u8(&r, buf, out, 16), 16);
        VS_CHECK(memcmp(out, src, 10) == 0 && memcmp(out + 10, src, 6) == 0);
        VS_CHECK_EQ_INT(vs_ring_read_u8(&r, buf, out, 16), 0);
    }
    VS_CHECK(r.head < 0xFFFFFFFAu); /* it did wrap */
    VS_CHECK_EQ_INT(r.high_water, 16);
}

static void test_i16_all_or_nothing(void)
{
    float buf[8], out[8];
    const int16_t c[6] = {-32768, -1, 0, 1, 2, 32767};
    vs_ring_t r;
    VS_CHECK_EQ_INT(vs_ring_init(&r, 8), VS_OK);
    VS_CHECK_EQ_INT(vs_ring_write_i16_scaled(&r, buf, c, 6, 0.5f), 6);
    VS_CHECK_EQ_INT(vs_ring_write_i16_scaled(&r, buf, c, 6, 0.5f), 0); /* 2 free: nothing stored */
    VS_CHECK_EQ_INT(vs_ring_count(&r), 6);
    VS_CHECK_EQ_INT(vs_ring_read_f32(&r, buf, out, 8), 6);
    VS_CHECK(out[0] == -16384.0f && out[1] == -0.5f && out[5] == 16383.5f);
}

static void *producer(void *arg)
{
    float blk[37];
    uint32_t next = 0, k = 0;
    (void)arg;
    while (next < TOTAL) {
        uint32_t n = 1u + (k++ * 7u) % 37u;
        n = n < TOTAL - next ? n : TOTAL - next;
        for (uint32_t i = 0; i < n; i++) {
            blk[i] = (float)(next + i); /* exact in float up to 2^24 */
        }
        uint32_t done = 0;
        while (done < n) {
            const uint32_t put = vs_ring_write_f32(&ring, fbuf, blk + done, n - done);
            if (put == 0u) {
                sched_yield(); /* full: let the consumer run (matters on a loaded single core) */
            }
            done += put;
        }
        next += n;
    }
    return NULL;
}

static void test_two_threads(void)
{
    pthread_t th;
    float got[53];
    uint32_t expect = 0, bad = 0, k = 0;
    VS_CHECK_EQ_INT(vs_ring_init(&ring, CAP), VS_OK);
    VS_CHECK_EQ_INT(pthread_create(&th, NULL, producer, NULL), 0);
    while (expect < TOTAL) {
        const uint32_t n = vs_ring_read_f32(&ring, fbuf, got, 1u + (k++ * 11u) % 53u);
        for (uint32_t i = 0; i < n; i++) {
            bad += got[i] != (float)(expect + i);
        }
        if (n == 0u) {
            sched_yield();
        }
        expect += n;
    }
    VS_CHECK_EQ_INT(pthread_join(th, NULL), 0);
    VS_CHECK_EQ_INT(bad, 0);
    VS_CHECK_EQ_INT(expect, TOTAL);
    VS_CHECK_EQ_INT(vs_ring_count(&ring), 0);
    VS_CHECK(ring.high_water <= CAP);
}

int main(void)
{
    test_init_and_counts();
    test_counter_wrap();
    test_i16_all_or_nothing();
    test_two_threads();
    VS_TEST_DONE();
}
