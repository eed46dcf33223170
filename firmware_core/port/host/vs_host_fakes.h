/*
 * vs_host_fakes.h - control of the host fakes of the vs_platform_*.h services (port/host/vs_platform_host.c),
 * for the C tests (tests/test_node.c), the fuzzer and ctypes (tests/test_c_node*.py, `vibsentry simulate`).
 *
 * The fakes are process-global (a port is one chip): one vs_node at a time talks to them, or the caller
 * selects a bank (vs_host_select) before each call so several simulated nodes keep separate persistent stores
 * and reset reasons. Nothing here sleeps or reads the real clock: time is what the caller sets, so a run is
 * deterministic. Not thread-safe (ctypes callers hold the GIL).
 */
#ifndef VS_HOST_FAKES_H
#define VS_HOST_FAKES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_HOST_BANKS 64U          /* independent store / reset-reason banks */
#define VS_HOST_TX_CAPACITY 65536U /* bytes of UART output kept until taken */
#define VS_HOST_RX_CAPACITY 65536U /* bytes of injected UART input */

/* Forget everything in every bank: clock 0, buffers empty, stores erased, reset reason power-on, stack
 * figures 0 (unknown). */
void vs_host_reset(void);

/* Use bank `bank` (< VS_HOST_BANKS) for the store and reset reason. Returns 0, or -1 for a bad bank. */
int vs_host_select(uint32_t bank);

/* The clock vs_platform_clock_us returns (the fake never moves it by itself). */
void vs_host_clock_set_us(uint64_t t_us);

/* UART: bytes the node wrote since the last take (copied into buf, at most cap; the rest stays). Returns the
 * number copied. vs_host_uart_tx_overflow counts bytes lost because nobody took them (a test bug). */
size_t vs_host_uart_tx_take(uint8_t *buf, size_t cap);
size_t vs_host_uart_tx_pending(void);
uint32_t vs_host_uart_tx_overflow(void);

/* UART: queue bytes for vs_platform_uart_read. Returns how many were queued (less when full). */
size_t vs_host_uart_rx_inject(const uint8_t *data, size_t n);

/* The reset reason the selected bank reports next (VS_RESET_*). */
void vs_host_set_reset_reason(uint8_t reason);

/* Erase the selected bank's store record `id`, or corrupt one byte of it (a torn write). */
void vs_host_store_erase(uint8_t id);
void vs_host_store_corrupt(uint8_t id, size_t byte_index);

/* What vs_platform_stack_high_water and vs_platform_stack_size return (bytes; both 0 after vs_host_reset:
 * the host stack is the OS's). Not per bank: a port has one stack. */
void vs_host_set_stack(uint32_t used_bytes, uint32_t size_bytes);

/* What the node did to the fakes: watchdog feeds, sampler state (1 running), sleeps requested. */
uint32_t vs_host_watchdog_feeds(void);
int vs_host_sampler_running(void);
uint32_t vs_host_sleeps(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_HOST_FAKES_H */
