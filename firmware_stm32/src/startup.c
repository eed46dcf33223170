/*
 * Cortex-M4F start-up for the STM32F405: vector table (RM0090 Table 61), .data copy, .bss clear, FPU on,
 * stack painting (the STATUS stack high-water mark reads it back), then main().
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "stm32f4_regs.h"
#include "vs_stack.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_limit, _stack_top;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);

#define N_VECTORS (16u + IRQ_COUNT)

/* Unused vectors point at Default_Handler, which resets the chip: an unexpected interrupt means a
 * configuration bug, and a node that reboots (and says so in HELLO) is better than one that hangs. */
__attribute__((weak, alias("Default_Handler"))) void SysTick_Handler(void);
__attribute__((weak, alias("Default_Handler"))) void TIM2_IRQHandler(void);
__attribute__((weak, alias("Default_Handler"))) void USART1_IRQHandler(void);
__attribute__((weak, alias("Default_Handler"))) void DMA2_Stream0_IRQHandler(void);

typedef void (*vector_t)(void);

/* Ranges must not overlap (-Woverride-init is part of -Wextra), hence the explicit gaps. */
__attribute__((section(".isr_vector"), used)) static const vector_t vectors[N_VECTORS] = {
    [0] = (vector_t)(uintptr_t)&_stack_top,
    [1] = Reset_Handler,
    [2 ... 14] = Default_Handler, /* NMI, HardFault, MemManage, BusFault, UsageFault, reserved, SVC, ... */
    [15] = SysTick_Handler,
    [16 ... 16 + IRQ_TIM2 - 1] = Default_Handler,
    [16 + IRQ_TIM2] = TIM2_IRQHandler,
    [16 + IRQ_TIM2 + 1 ... 16 + IRQ_USART1 - 1] = Default_Handler,
    [16 + IRQ_USART1] = USART1_IRQHandler,
    [16 + IRQ_USART1 + 1 ... 16 + IRQ_DMA2_STREAM0 - 1] = Default_Handler,
    [16 + IRQ_DMA2_STREAM0] = DMA2_Stream0_IRQHandler,
    [16 + IRQ_DMA2_STREAM0 + 1 ... N_VECTORS - 1] = Default_Handler,
};

void Default_Handler(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_SYSRESETREQ;
    for (;;) {
    }
}

uint32_t board_stack_high_water(void)
{
    return vs_stack_high_water((uintptr_t)&_stack_limit, (uintptr_t)&_stack_top);
}

/* The .stack section of stm32f405_budget.ld. */
uint32_t board_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)&_stack_limit);
}

__attribute__((noreturn)) void Reset_Handler(void)
{
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    SCB_CPACR |= 0xFu << 20; /* CP10 + CP11 full access: the FPU (the features are float) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    vs_stack_paint((uintptr_t)&_stack_limit, (uintptr_t)&_stack_top, 128u); /* this frame is in the top */
    (void)main();
    Default_Handler();
    for (;;) {
    }
}
