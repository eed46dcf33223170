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

#include "vs_board.h"

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

void board_clock_init(void);   /* HW=1: HSE 8 MHz -> PLL 168 MHz; HW=0: nothing */
void board_systick_init(void); /* 1 kHz tick; board_time_us reads SysTick */
void board_watchdog_start(void); /* HW=1: IWDG ~2 s; HW=0: nothing */
void board_watchdog_slow(int slow); /* HW=1: IWDG ~8 s while a flash erase stalls the core; HW=0: nothing */

/* Model slots and record store (vs_flash_store.h). HW=1: flash sectors 4-7 through the FLASH_CR driver
 * (flash.c has the sector map). HW=0: QEMU maps the flash as ROM, so RAM between the 32 KB image and
 * board_persist() stands in for it (vs_flash_ram.c): 2 x 32 KB slots + 2 x 4 KB store pages from 0x2000 8000,
 * outside the image's RAM budget as the sectors are outside its flash budget on a board. */
#define BOARD_FLASH_NATIVE HW
#define BOARD_FLASH_RAM_BASE 0x20008000u
#define BOARD_FLASH_RAM_SLOT_BYTES (32u * 1024u)
#define BOARD_FLASH_RAM_PAGE_BYTES (4u * 1024u)

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

/* board_persist(), the memory that survives a reset: HW=1 the 4 KB backup SRAM at 0x4002 4000 (RM0090 5.1.2, kept across every
 * reset and, with a battery on VBAT, across power loss); HW=0 the start of SRAM2 at 0x2001 C000 (RM0090
 * 2.3.1), outside the 32 KB the image links into (QEMU 7.2's netduinoplus2 has no backup SRAM and no CCM):
 * QEMU's reset reloads the ELF's segments, zeroing their .bss parts, but leaves other RAM alone, as silicon
 * does, so a `system_reset` keeps this and a new QEMU process starts from zeros. vs_node protects its records
 * with magic + CRC, so cold-SRAM noise reads as absent. */

/* Interrupt handlers (vector table in startup.c). */
void SysTick_Handler(void);
void TIM2_IRQHandler(void);
void USART1_IRQHandler(void);
void DMA2_Stream0_IRQHandler(void);

/* USART1 (PA9 TX / PA10 RX, AF7), 8N1: an RX ring filled by the RXNE interrupt; TX by a ring drained by the
 * TXE interrupt on a board, by direct writes under QEMU (usart.c says why). */

#endif /* BOARD_H */
