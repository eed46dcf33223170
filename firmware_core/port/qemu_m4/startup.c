/*
 * Minimal Cortex-M4F start-up for QEMU mps2-an386: vector table, .data copy, .bss clear, FPU enable, stack
 * painting (so the benchmark can report the stack high-water mark), main(), exit through semihosting.
 */
#include <stdint.h>
#include <string.h>

#include "vs/vs_platform_console.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_limit, _stack_top;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

#define STACK_PAINT 0xC0FFEE11u
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Word 0: initial stack pointer; word 1: reset; 2..6: NMI, HardFault, MemManage, BusFault, UsageFault. */
__attribute__((section(".isr_vector"), used)) static const uintptr_t vectors[7] = {
    (uintptr_t)&_stack_top, (uintptr_t)Reset_Handler, (uintptr_t)Fault_Handler, (uintptr_t)Fault_Handler,
    (uintptr_t)Fault_Handler, (uintptr_t)Fault_Handler, (uintptr_t)Fault_Handler,
};

void Fault_Handler(void)
{
    vs_platform_console_write("FAULT\n");
    vs_platform_exit(1);
}

/* Bytes of stack ever used: the first word from the bottom that no longer holds the paint. */
uint32_t vs_platform_stack_high_water(void)
{
    /* Linker symbols are compared as integers: C only orders pointers into one object. */
    const uintptr_t top = (uintptr_t)&_stack_top;
    uintptr_t a = (uintptr_t)&_stack_limit;
    while (a < top && *(const uint32_t *)a == STACK_PAINT) {
        a += sizeof(uint32_t);
    }
    return (uint32_t)(top - a);
}

/* The .stack section of mps2_an386.ld. */
uint32_t vs_platform_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)&_stack_limit);
}

__attribute__((noreturn)) void Reset_Handler(void)
{
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    CPACR |= 0xFu << 20; /* CP10 + CP11 full access: the FPU */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    {
        /* Paint all but the top 256 bytes (this frame lives there). */
        const uintptr_t end = (uintptr_t)&_stack_top - 256u;
        for (uintptr_t a = (uintptr_t)&_stack_limit; a < end; a += sizeof(uint32_t)) {
            *(uint32_t *)a = STACK_PAINT;
        }
    }
    vs_platform_exit(main());
    for (;;) {
    }
}
