/*
 * vs_platform_clock.h - a monotonic microsecond clock, the node's notion of time (frame timestamps, the
 * STATUS period). Each port implements it:
 *   port/host/          a fake the test sets (vs_host_clock_set_us in port/host/vs_host_fakes.h): deterministic
 *   firmware_stm32/     SysTick (or TIM2 32-bit) extended to 64 bits in software
 *   firmware_esp32/     esp_timer_get_time()
 *   RV32 virt port      the CLINT mtime register (10 MHz on QEMU virt)
 * Never goes backwards within a boot; starts near 0 at reset. Not required to be ISR-safe (the node reads it
 * only from the main loop), but every port above is.
 */
#ifndef VS_PLATFORM_CLOCK_H
#define VS_PLATFORM_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Microseconds since boot, monotonic (64 bits: no wrap in the lifetime of a node). */
uint64_t vs_platform_clock_us(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_CLOCK_H */
