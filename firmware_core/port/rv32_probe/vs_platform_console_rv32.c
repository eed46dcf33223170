/*
 * vs_platform_console.h on RV32 through RISC-V semihosting (QEMU: -semihosting-config enable=on). The probe
 * is linked for QEMU's `virt` machine (RAM at 0x80000000), so the same benchmark program that measures the
 * RV32IMC footprint also runs there and prints its results. firmware_esp32 maps the console to ESP-IDF logs.
 *
 * Semihosting call: a0 = operation, a1 = argument, then the uncompressed, 16-byte aligned sequence
 * "slli x0, x0, 0x1f; ebreak; srai x0, x0, 7" that debuggers and QEMU recognise.
 */
#include "vs/vs_platform_console.h"

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

static uint32_t semihost(uint32_t op, uint32_t arg)
{
    register uint32_t a0 __asm__("a0") = op;
    register uint32_t a1 __asm__("a1") = arg;
    __asm__ volatile(".option push\n\t.option norvc\n\t.balign 16\n\t"
                     "slli x0, x0, 0x1f\n\tebreak\n\tsrai x0, x0, 7\n\t.option pop"
                     : "+r"(a0)
                     : "r"(a1)
                     : "memory");
    return a0;
}

void vs_platform_console_write(const char *s)
{
    (void)semihost(SYS_WRITE0, (uint32_t)(uintptr_t)s);
}

uint32_t vs_platform_stack_high_water(void)
{
    return 0; /* picolibc's crt0 does not paint the stack; the Cortex-M4 image measures it */
}

uint32_t vs_platform_stack_size(void)
{
    return 0; /* nothing measures this stack (above), so no size to compare with */
}

void vs_platform_exit(int code)
{
    (void)semihost(SYS_EXIT, code == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
    for (;;) {
    }
}
