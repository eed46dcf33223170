/*
 * vs_platform_*.h (firmware_core/include/vs/) for the bare-metal ports: the glue between vs_node and a port's
 * board drivers (vs_board.h). firmware_stm32 and firmware_rv32 build this same file.
 */
#include "board.h"
#include "vs/vs_platform_clock.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_platform_sampler.h"
#include "vs/vs_platform_sleep.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_uart.h"
#include "vs/vs_platform_watchdog.h"
#include "vs/vs_status.h"
#if VS_APP_MODEL_UPDATE
#include "vs_flash_store.h"
#endif

uint64_t vs_platform_clock_us(void)
{
    return board_time_us();
}

void vs_platform_uart_write(const uint8_t *data, size_t len)
{
    usart_write(data, len);
}

size_t vs_platform_uart_read(uint8_t *buf, size_t cap)
{
    return usart_read(buf, cap);
}

int vs_platform_uart_rx_pending(void)
{
    return usart_rx_ready();
}

uint32_t vs_platform_uart_rx_dropped(void)
{
    return usart_rx_dropped();
}

static int sampler_ready = -1; /* -1: not initialised, 0: running or stopped, <0 after a failed init */

int vs_platform_sampler_start(float sample_rate_hz)
{
    if (sampler_ready == -1) {
        sampler_ready = sampler_init((uint32_t)(sample_rate_hz + 0.5f)) == 0 ? 0 : -2;
    }
    if (sampler_ready != 0) {
        return VS_ERR_STATE; /* no sensor answered: the node waits for REPLAY_SAMPLES */
    }
    sampler_start();
    return VS_OK;
}

void vs_platform_sampler_stop(void)
{
    if (sampler_ready == 0) {
        sampler_stop();
    }
}

void vs_platform_sleep_until_event(vs_platform_work_fn work_pending, const void *ctx)
{
    board_irq_disable();
    if (!work_pending(ctx)) {
        board_wait_for_interrupt();
    }
    board_irq_enable();
}

void vs_platform_watchdog_feed(void)
{
    board_watchdog_feed();
}

uint8_t vs_platform_reset_reason(void)
{
    return board_reset_cause();
}

/* ---- persistent records: with model updates the flash log store that also holds the update state
 * (vs_flash_store.h), else board_persist() (the port's board.h says where that memory is) ----------------- */
#if VS_APP_MODEL_UPDATE
int vs_platform_store_read(uint8_t id, void *buf, size_t len)
{
    return vs_flash_store_read(id, buf, len);
}

int vs_platform_store_write(uint8_t id, const void *data, size_t len)
{
    return vs_flash_store_write(id, data, len);
}
#else
int vs_platform_store_read(uint8_t id, void *buf, size_t len)
{
    if (id >= BOARD_STORE_RECORDS || (buf == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    volatile board_persist_t *p = board_persist();
    size_t stored = p->len[id];
    if (stored > VS_PLATFORM_STORE_RECORD_MAX) {
        stored = 0u; /* never written (cold SRAM contents) */
    }
    const size_t n = len < stored ? len : stored;
    for (size_t i = 0; i < n; i++) {
        ((uint8_t *)buf)[i] = p->data[id][i];
    }
    return (int)stored;
}

int vs_platform_store_write(uint8_t id, const void *data, size_t len)
{
    if (id >= BOARD_STORE_RECORDS || len > VS_PLATFORM_STORE_RECORD_MAX || (data == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    volatile board_persist_t *p = board_persist();
    for (size_t i = 0; i < len; i++) {
        p->data[id][i] = ((const uint8_t *)data)[i];
    }
    p->len[id] = (uint8_t)len;
    return VS_OK;
}
#endif

/* ---- console: the UART carries protocol frames only, so text has nowhere to go -------------------------- */
void vs_platform_console_write(const char *s)
{
    (void)s;
}

uint32_t vs_platform_stack_high_water(void)
{
    return board_stack_high_water();
}

uint32_t vs_platform_stack_size(void)
{
    return board_stack_size();
}

void vs_platform_exit(int code)
{
    (void)code;
    board_reset();
}
