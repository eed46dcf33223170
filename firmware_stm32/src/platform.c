/*
 * vs_platform_*.h for the STM32F405 (firmware_core/include/vs/vs_platform_*.h): the glue between vs_node and
 * the board drivers of this directory.
 */
#include <string.h>

#include "board.h"
#include "sampler.h"
#include "stm32f4_regs.h"
#include "vs/vs_platform_clock.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_platform_sampler.h"
#include "vs/vs_platform_sleep.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_uart.h"
#include "vs/vs_platform_watchdog.h"
#include "vs/vs_status.h"

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

/* ---- persistent records ------------------------------------------------------------------------------------
 * HW=1: the 4 KB backup SRAM (RM0090 5.1.2 "Battery backup domain"; 0x4002 4000), kept across every reset and,
 * with a battery on VBAT, across power loss. HW=0: .noinit RAM, which QEMU keeps across `system_reset` (its
 * reset reloads the image, not the RAM), so a warm reset counts boots there too; a new QEMU process starts
 * from zeroed RAM, i.e. "never written". vs_node protects each record with its own magic and CRC, so the
 * random contents of a cold SRAM read as absent. */
#define STORE_RECORDS 2u
typedef struct {
    uint8_t len[STORE_RECORDS];
    uint8_t pad[2];
    uint8_t data[STORE_RECORDS][VS_PLATFORM_STORE_RECORD_MAX];
} store_t;

#if HW
#define PWR_CR REG32(0x40007000u)
#define PWR_CR_DBP (1u << 8)
#define RCC_AHB1ENR_BKPSRAMEN (1u << 18)
#define STORE (*(volatile store_t *)(uintptr_t)0x40024000u)
static void store_open(void)
{
    static int open;
    if (!open) {
        RCC_APB1ENR |= RCC_APB1ENR_PWREN;
        PWR_CR |= PWR_CR_DBP; /* backup domain write access (RM0090 5.4.1) */
        RCC_AHB1ENR |= RCC_AHB1ENR_BKPSRAMEN;
        (void)RCC_AHB1ENR;
        open = 1;
    }
}
#else
static volatile store_t store_ram __attribute__((section(".noinit")));
#define STORE store_ram
static void store_open(void)
{
}
#endif

int vs_platform_store_read(uint8_t id, void *buf, size_t len)
{
    if (id >= STORE_RECORDS || (buf == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    store_open();
    size_t stored = STORE.len[id];
    if (stored > VS_PLATFORM_STORE_RECORD_MAX) {
        stored = 0u; /* never written (cold SRAM contents) */
    }
    const size_t n = len < stored ? len : stored;
    for (size_t i = 0; i < n; i++) {
        ((uint8_t *)buf)[i] = STORE.data[id][i];
    }
    return (int)stored;
}

int vs_platform_store_write(uint8_t id, const void *data, size_t len)
{
    if (id >= STORE_RECORDS || len > VS_PLATFORM_STORE_RECORD_MAX || (data == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    store_open();
    for (size_t i = 0; i < len; i++) {
        STORE.data[id][i] = ((const uint8_t *)data)[i];
    }
    STORE.len[id] = (uint8_t)len;
    return VS_OK;
}

/* ---- console: the UART carries protocol frames only, so text has nowhere to go -------------------------- */
void vs_platform_console_write(const char *s)
{
    (void)s;
}

uint32_t vs_platform_stack_high_water(void)
{
    return board_stack_high_water();
}

void vs_platform_exit(int code)
{
    (void)code;
    board_reset();
}
