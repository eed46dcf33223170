/*
 * vs_platform_console.h on QEMU through ARM semihosting (run QEMU with -semihosting-config enable=on).
 * Semihosting call: r0 = operation, r1 = argument, "bkpt 0xAB" on M-profile; QEMU services it.
 */
#include <stdint.h>

#include "vs/vs_platform_console.h"

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u    /* QEMU exits with status 1 */

static uint32_t semihost(uint32_t op, uint32_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uint32_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void vs_platform_console_write(const char *s)
{
    (void)semihost(SYS_WRITE0, (uint32_t)(uintptr_t)s);
}

void vs_platform_exit(int code)
{
    (void)semihost(SYS_EXIT, code == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
    for (;;) {
    }
}
