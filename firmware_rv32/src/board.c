/* RV32 virt board services: trap vector, PLIC, mtime clock, reset cause, persistent records, stack. */
#include "board.h"

#include "vs/vs_platform_watchdog.h"
#include "vs_stack.h"

#ifndef BOARD_STACK_SIZE
#error "BOARD_STACK_SIZE must match the linker's __stack_size (Makefile)"
#endif
extern char __stack[]; /* top of the stack (picolibc.ld) */

void trap_handler(void);

/* Machine-mode trap handler. GCC's interrupt attribute saves the registers it uses and returns with mret;
 * aligned(4): mtvec's direct mode ignores the low two bits of the address. */
__attribute__((interrupt("machine"), aligned(4))) void trap_handler(void)
{
    const uint32_t cause = CSR_READ(mcause);
    if (cause & 0x80000000u) {
        const uint32_t code = cause & 0x7FFFFFFFu;
        if (code == 7u) {
            timer_isr();
        } else if (code == 11u) {
            /* PLIC claim/complete for hart 0 M-mode (context 0): claim returns the highest pending source. */
            const uint32_t id = REG32(PLIC_BASE + 0x200004u);
            if (id == UART0_IRQ) {
                uart_isr();
            }
            REG32(PLIC_BASE + 0x200004u) = id;
        }
        return;
    }
    /* A synchronous exception (illegal instruction, access fault) is a bug: reboot, HELLO says so. */
    board_reset();
}

void board_plic_enable(uint32_t source)
{
    REG32(PLIC_BASE + 4u * source) = 1u;                            /* priority 1 (0 = never) */
    REG32(PLIC_BASE + 0x2000u) |= 1u << source;                      /* enable for context 0 */
    REG32(PLIC_BASE + 0x200000u) = 0u;                               /* threshold 0 */
}

void board_init(void)
{
    /* The main frame and crt0's sit in the top 512 bytes. */
    vs_stack_paint((uintptr_t)__stack - BOARD_STACK_SIZE, (uintptr_t)__stack, 512u);
    CSR_WRITE(mtvec, (uint32_t)(uintptr_t)&trap_handler);
    CSR_SET(mie, MIE_MEIE);
}

uint32_t board_stack_high_water(void)
{
    return vs_stack_high_water((uintptr_t)__stack - BOARD_STACK_SIZE, (uintptr_t)__stack);
}

/* BOARD_STACK_SIZE bytes below __stack (the top of RAM), the region painted above. picolibc.ld's .stack
 * section is not it: that one sits after .bss and keeps its 2 KB default, since the linker evaluates
 * DEFINED(__stack_size) there before it applies the Makefile's --defsym (vs_node.map). */
uint32_t board_stack_size(void)
{
    return BOARD_STACK_SIZE;
}

uint64_t board_time_us(void)
{
    /* 64-bit mtime read on a 32-bit core: high, low, high again until the high word is stable. */
    uint32_t hi, lo;
    do {
        hi = CLINT_MTIME_HI;
        lo = CLINT_MTIME_LO;
    } while (hi != CLINT_MTIME_HI);
    return (((uint64_t)hi << 32) | lo) / (MTIME_HZ / 1000000u);
}

#define WARM_MAGIC 0x56534E31u /* "VSN1" */
static uint8_t reset_cause = 0xFFu;

volatile board_persist_t *board_persist(void)
{
    return (volatile board_persist_t *)(uintptr_t)BOARD_PERSIST_ADDR;
}

uint8_t board_reset_cause(void)
{
    if (reset_cause == 0xFFu) {
        /* virt has no reset-cause register: a warm reset is told from a cold start by the magic word. */
        volatile board_persist_t *p = board_persist();
        reset_cause = p->warm_magic == WARM_MAGIC ? VS_RESET_SOFTWARE : VS_RESET_POWER_ON;
        p->warm_magic = WARM_MAGIC;
    }
    return reset_cause;
}

void board_watchdog_feed(void)
{
    /* virt has no watchdog; the ESP32-C3 build (firmware_esp32) uses the IDF task watchdog. */
}

void board_reset(void)
{
    TEST_FINISHER = TEST_FINISHER_RESET;
    for (;;) {
    }
}
