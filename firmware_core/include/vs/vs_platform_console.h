/*
 * vs_platform_console.h - the one platform service the portable benchmark/self-test program needs: a text
 * console and a way to stop. Each port implements it:
 *   port/host/        stdout + exit() (host tests, sanitizers)
 *   port/qemu_m4/     ARM semihosting (SYS_WRITE0, SYS_EXIT) on QEMU mps2-an386
 *   port/rv32_probe/  no output (size-probe link only)
 * Firmware ports (firmware_stm32, firmware_esp32) map it to their UART / log. Not ISR-safe.
 */
#ifndef VS_PLATFORM_CONSOLE_H
#define VS_PLATFORM_CONSOLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write a NUL-terminated string (blocking; may drop output if no console exists). */
void vs_platform_console_write(const char *s);

/* Bytes of stack used so far (high-water mark of a painted stack), 0 where the port cannot tell. */
uint32_t vs_platform_stack_high_water(void);

/* Stop the program: code 0 = success, anything else = failure. Does not return. */
void vs_platform_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_CONSOLE_H */
