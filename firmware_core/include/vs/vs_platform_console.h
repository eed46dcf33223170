/*
 * vs_platform_console.h - the one platform service the portable benchmark/self-test program needs: a text
 * console, a way to stop, and how much of its stack the program used. Each port implements it:
 *   port/host/        stdout + exit() (host tests, sanitizers)
 *   port/qemu_m4/     ARM semihosting (SYS_WRITE0, SYS_EXIT) on QEMU mps2-an386
 *   port/rv32_probe/  RISC-V semihosting on QEMU virt (the RV32IMC size probe)
 * Firmware ports (firmware_stm32, firmware_rv32, firmware_esp32) map it to their UART / log (the bare-metal
 * ones drop the text: their UART carries protocol frames only). Not ISR-safe, except vs_platform_stack_size.
 */
#ifndef VS_PLATFORM_CONSOLE_H
#define VS_PLATFORM_CONSOLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write a NUL-terminated string (blocking; may drop output if no console exists). */
void vs_platform_console_write(const char *s);

/* Bytes of stack used so far (high-water mark of a painted stack), 0 where the port cannot tell. Scans the
 * stack: main loop only (vs_node calls it once per STATUS). */
uint32_t vs_platform_stack_high_water(void);

/* Size in bytes of the stack that vs_platform_stack_high_water measures (the bare-metal ports: the linker's
 * stack region; ESP-IDF: the node task's stack depth), 0 where the port cannot tell. A constant of the image:
 * callable from any context, ISRs included. vs_node reports both in HEALTH ("used X of Y bytes"). */
uint32_t vs_platform_stack_size(void);

/* Stop the program: code 0 = success, anything else = failure. Does not return. */
void vs_platform_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_CONSOLE_H */
