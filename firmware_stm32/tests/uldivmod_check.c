/*
 * uldivmod_check.c - src/uldivmod.S against libgcc's 64-bit division on QEMU mps2-an386 (Cortex-M4), run by
 * tests/firmware/test_firmware_uldivmod.py: the routine under test is linked as test_uldivmod (objcopy
 * --redefine-sym), the reference is the compiler's own `/` and `%`. Prints "uldivmod ok N" or the first
 * mismatch, and exits through semihosting.
 */
#include <stdint.h>

#include "vs/vs_platform_console.h"

int main(void);

static void under_test(uint64_t n, uint64_t d, uint64_t *q, uint64_t *r)
{
    register uint32_t r0 __asm__("r0") = (uint32_t)n;
    register uint32_t r1 __asm__("r1") = (uint32_t)(n >> 32);
    register uint32_t r2 __asm__("r2") = (uint32_t)d;
    register uint32_t r3 __asm__("r3") = (uint32_t)(d >> 32);
    __asm__ volatile("bl test_uldivmod" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3) : : "r12", "lr", "memory", "cc");
    *q = ((uint64_t)r1 << 32) | r0;
    *r = ((uint64_t)r3 << 32) | r2;
}

static uint64_t state = 0x9E3779B97F4A7C15u;
static uint64_t next(void) /* xorshift64 */
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void put_u32(char *buf, uint32_t v)
{
    char tmp[11];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *buf++ = tmp[--n];
    }
    *buf = '\0';
}

int main(void)
{
    static const uint64_t edge[][2] = {
        {0u, 1u}, {1u, 1u}, {123456789012345u, 1000000u}, {UINT64_MAX, 1u}, {UINT64_MAX, UINT64_MAX},
        {UINT64_MAX, 0x8000000000000001u}, {0x8000000000000000u, 0x8000000000000001u}, {5u, 7u},
        {UINT64_MAX, 0xFFFFFFFFu}, {0xFFFFFFFF00000000u, 0x100000000u},
    };
    uint32_t checked = 0;
    for (uint32_t i = 0; i < 20000u + sizeof edge / sizeof edge[0]; i++) {
        uint64_t n, d;
        if (i < sizeof edge / sizeof edge[0]) {
            n = edge[i][0];
            d = edge[i][1];
        } else { /* operands of every magnitude, not only full-width ones */
            n = next() >> (next() % 64u);
            d = next() >> (next() % 64u);
            if (d == 0u) {
                d = 1u;
            }
        }
        uint64_t q, r;
        under_test(n, d, &q, &r);
        if (q != n / d || r != n % d) {
            char msg[64] = "uldivmod MISMATCH at case ";
            put_u32(msg + 26, i);
            vs_platform_console_write(msg);
            vs_platform_console_write("\n");
            vs_platform_exit(1);
        }
        checked++;
    }
    char msg[40] = "uldivmod ok ";
    put_u32(msg + 12, checked);
    vs_platform_console_write(msg);
    vs_platform_console_write("\n");
    vs_platform_exit(0);
    return 0;
}
