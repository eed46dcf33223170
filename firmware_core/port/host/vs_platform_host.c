/* Host fakes of vs_platform_{clock,uart,sampler,sleep,watchdog,store}.h; control in vs_host_fakes.h. */
#include <string.h>

#include "vs/vs_platform_clock.h"
#include "vs/vs_platform_sampler.h"
#include "vs/vs_platform_sleep.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_uart.h"
#include "vs/vs_platform_watchdog.h"
#include "vs/vs_status.h"
#include "vs_host_fakes.h"

#define N_RECORDS 16U /* boot, model update (2), baseline (vs_baseline.h: 6 with 40 features) */

typedef struct {
    uint8_t data[N_RECORDS][VS_PLATFORM_STORE_RECORD_MAX];
    uint8_t len[N_RECORDS]; /* 0 = never written */
    uint8_t reset_reason;
} bank_t;

static bank_t banks[VS_HOST_BANKS];
static uint32_t cur;
static uint64_t clock_us;
static uint8_t tx[VS_HOST_TX_CAPACITY];
static size_t tx_len;
static uint32_t tx_overflow;
static uint8_t rx[VS_HOST_RX_CAPACITY];
static size_t rx_head, rx_len;
static uint32_t feeds, sleeps;
static int sampler_on;

void vs_host_reset(void)
{
    memset(banks, 0, sizeof banks);
    for (uint32_t b = 0; b < VS_HOST_BANKS; b++) {
        banks[b].reset_reason = (uint8_t)VS_RESET_POWER_ON;
    }
    cur = 0;
    clock_us = 0;
    tx_len = 0;
    tx_overflow = 0;
    rx_head = rx_len = 0;
    feeds = sleeps = 0;
    sampler_on = 0;
    vs_host_set_stack(0, 0);
}

int vs_host_select(uint32_t bank)
{
    if (bank >= VS_HOST_BANKS) {
        return -1;
    }
    cur = bank;
    return 0;
}

void vs_host_clock_set_us(uint64_t t_us)
{
    clock_us = t_us;
}

size_t vs_host_uart_tx_take(uint8_t *buf, size_t cap)
{
    const size_t n = tx_len < cap ? tx_len : cap;
    memcpy(buf, tx, n);
    memmove(tx, tx + n, tx_len - n);
    tx_len -= n;
    return n;
}

size_t vs_host_uart_tx_pending(void)
{
    return tx_len;
}

uint32_t vs_host_uart_tx_overflow(void)
{
    return tx_overflow;
}

size_t vs_host_uart_rx_inject(const uint8_t *data, size_t n)
{
    if (rx_head > 0 && rx_len + n > VS_HOST_RX_CAPACITY - rx_head) {
        memmove(rx, rx + rx_head, rx_len);
        rx_head = 0;
    }
    const size_t room = VS_HOST_RX_CAPACITY - rx_head - rx_len, k = n < room ? n : room;
    memcpy(rx + rx_head + rx_len, data, k);
    rx_len += k;
    return k;
}

void vs_host_set_reset_reason(uint8_t reason)
{
    banks[cur].reset_reason = reason;
}

void vs_host_store_erase(uint8_t id)
{
    if (id < N_RECORDS) {
        banks[cur].len[id] = 0;
    }
}

void vs_host_store_corrupt(uint8_t id, size_t byte_index)
{
    if (id < N_RECORDS && byte_index < banks[cur].len[id]) {
        banks[cur].data[id][byte_index] ^= 0x5Au;
    }
}

uint32_t vs_host_watchdog_feeds(void)
{
    return feeds;
}

int vs_host_sampler_running(void)
{
    return sampler_on;
}

uint32_t vs_host_sleeps(void)
{
    return sleeps;
}

/* --- the platform services ------------------------------------------------------------------------------ */

uint64_t vs_platform_clock_us(void)
{
    return clock_us;
}

void vs_platform_uart_write(const uint8_t *data, size_t len)
{
    const size_t room = VS_HOST_TX_CAPACITY - tx_len, k = len < room ? len : room;
    memcpy(tx + tx_len, data, k);
    tx_len += k;
    tx_overflow += (uint32_t)(len - k);
}

size_t vs_platform_uart_read(uint8_t *buf, size_t cap)
{
    const size_t k = rx_len < cap ? rx_len : cap;
    memcpy(buf, rx + rx_head, k);
    rx_head += k;
    rx_len -= k;
    if (rx_len == 0) {
        rx_head = 0;
    }
    return k;
}

int vs_platform_uart_rx_pending(void)
{
    return rx_len > 0;
}

uint32_t vs_platform_uart_rx_dropped(void)
{
    return 0;
}

int vs_platform_sampler_start(float sample_rate_hz)
{
    (void)sample_rate_hz;
    sampler_on = 1;
    return VS_OK;
}

void vs_platform_sampler_stop(void)
{
    sampler_on = 0;
}

void vs_platform_sleep_until_event(vs_platform_work_fn work_pending, const void *ctx)
{
    /* No interrupts on the host: the check is all there is; the caller drives time. */
    (void)work_pending(ctx);
    sleeps++;
}

void vs_platform_watchdog_feed(void)
{
    feeds++;
}

uint8_t vs_platform_reset_reason(void)
{
    return banks[cur].reset_reason;
}

int vs_platform_store_read(uint8_t id, void *buf, size_t len)
{
    if (id >= N_RECORDS || (buf == NULL && len > 0)) {
        return VS_ERR_ARG;
    }
    const size_t have = banks[cur].len[id], k = len < have ? len : have;
    memcpy(buf, banks[cur].data[id], k);
    return (int)have;
}

int vs_platform_store_write(uint8_t id, const void *data, size_t len)
{
    if (id >= N_RECORDS || len > VS_PLATFORM_STORE_RECORD_MAX || (data == NULL && len > 0)) {
        return VS_ERR_ARG;
    }
    memcpy(banks[cur].data[id], data, len);
    banks[cur].len[id] = (uint8_t)len;
    return VS_OK;
}
