/*
 * board.h - the STM32F405 port's hardware services, used by main.c and the vs_platform glue.
 *
 * Build flag HW (make HW=1): 1 = the image for a real board (RCC/PLL to 168 MHz, flash wait states,
 * IWDG, SPI1 + DMA2 + IIS3DWB accelerometer, GPIO alternate functions); 0 = the QEMU `netduinoplus2` image,
 * which touches only what QEMU 7.2 emulates for this SoC (USART1, TIM2, SysTick, NVIC): QEMU maps RCC, GPIO,
 * DMA, IWDG and the flash interface as unimplemented devices, and samples arrive as REPLAY_SAMPLES frames.
 * Both images run the same node code; HW=0 simply lacks the sensor, the watchdog and the clock tree set-up.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifndef HW
#define HW 0
#endif

/* Core clock. QEMU's netduinoplus2 runs the CPU (and SysTick with CLKSOURCE=1) at a fixed 168 MHz; a board
 * gets there through the PLL (board_clock_init, HW=1). TIM2's input clock: QEMU models TIM2-5 at 48 MHz
 * (hw/arm/stm32f405_soc.c), a board at 2 x APB1 = 84 MHz (RM0090 7.2, "timer clock = 2 x PCLK1 when the APB1
 * prescaler is not 1"). USART1 sits on APB2 = 84 MHz on a board; QEMU ignores BRR. */
#define BOARD_CORE_HZ 168000000u
#if HW
#define BOARD_TIM2_HZ 84000000u
#else
#define BOARD_TIM2_HZ 48000000u
#endif
#define BOARD_APB2_HZ 84000000u

void board_clock_init(void);           /* HW=1: HSE 8 MHz -> PLL 168 MHz; HW=0: nothing */
void board_systick_init(void);         /* 1 kHz tick */
uint64_t board_time_us(void);          /* microseconds since boot (SysTick); callable from ISRs */
uint8_t board_reset_cause(void);       /* VS_RESET_* (vs_platform_watchdog.h), read once at boot */
uint32_t board_stack_high_water(void); /* bytes of the painted stack ever used (startup.c) */
void board_watchdog_start(void);       /* HW=1: IWDG ~2 s; HW=0: nothing */
void board_watchdog_feed(void);
void board_reset(void);                /* SYSRESETREQ, does not return */

/* Interrupt masking around the sleep check (PRIMASK). */
static inline void board_irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}
static inline void board_irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}
/* WFI with PRIMASK set still wakes on a pending interrupt (ARMv7-M ARM B1.5.19), which is what makes the
 * disable / check / WFI / enable sequence race-free: an interrupt that arrives after the check is left
 * pending, WFI returns at once, and the handler runs at the cpsie. */
static inline void board_wait_for_interrupt(void)
{
    __asm__ volatile("dsb\n\twfi" ::: "memory");
}

void board_nvic_enable(uint32_t irq, uint8_t priority);

/* Interrupt handlers (vector table in startup.c). */
void SysTick_Handler(void);
void TIM2_IRQHandler(void);
void USART1_IRQHandler(void);
void DMA2_Stream0_IRQHandler(void);

/* USART1 (PA9 TX / PA10 RX, AF7), 8N1, interrupt driven: an RX ring filled by the RXNE interrupt and a TX
 * ring drained by the TXE interrupt. usart_write blocks (sleeping) while the TX ring is full. */
void usart_init(uint32_t baud);
size_t usart_read(uint8_t *buf, size_t cap);
void usart_write(const uint8_t *data, size_t len);
int usart_rx_ready(void);
uint32_t usart_rx_dropped(void);      /* bytes lost: RX ring full or hardware overrun */
uint32_t usart_rx_high_water(void);   /* most bytes ever waiting in the RX ring */

#endif /* BOARD_H */
