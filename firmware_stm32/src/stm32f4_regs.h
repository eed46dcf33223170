/*
 * stm32f4_regs.h - the few STM32F405 registers this firmware touches, written from the reference manual
 * (ST RM0090 "STM32F405/415, STM32F407/417, STM32F427/437 and STM32F429/439", Rev 19): memory map section 2.3
 * (Table 1), and the register maps at the end of each peripheral chapter (RCC 7.3.24, GPIO 8.4.11,
 * DMA 10.5.11, TIM2-5 18.4.21, IWDG 21.4.5, SPI 28.5.10, USART 30.6.8, FLASH 3.9). Cortex-M4 core
 * registers (SysTick, NVIC, SCB) from the ARMv7-M Architecture Reference Manual (DDI 0403E) B3.
 *
 * No vendor header is used: the device is small enough that naming each register we use is clearer than
 * pulling in a 15 000-line CMSIS device file, and nothing here is copied from one.
 */
#ifndef STM32F4_REGS_H
#define STM32F4_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* --- Cortex-M4 core (ARMv7-M ARM B3.2, B3.3, B3.4) ---------------------------------------------------- */
#define SYST_CSR REG32(0xE000E010u) /* ENABLE b0, TICKINT b1, CLKSOURCE b2 (1 = processor clock) */
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (irq)))
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_SCR REG32(0xE000ED10u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_AIRCR_SYSRESETREQ (0x05FA0000u | (1u << 2)) /* VECTKEY + SYSRESETREQ */

/* --- RCC, 0x4002 3800 (RM0090 7.3) -------------------------------------------------------------------- */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_CSR REG32(RCC_BASE + 0x74u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_BORRSTF (1u << 25)
#define RCC_CSR_PINRSTF (1u << 26)
#define RCC_CSR_PORRSTF (1u << 27)
#define RCC_CSR_SFTRSTF (1u << 28)
#define RCC_CSR_IWDGRSTF (1u << 29)
#define RCC_CSR_WWDGRSTF (1u << 30)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_DMA2EN (1u << 22)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_APB2ENR_USART1EN (1u << 4)
#define RCC_APB2ENR_SPI1EN (1u << 12)

/* --- FLASH interface, 0x4002 3C00 (RM0090 3.9.1 FLASH_ACR) -------------------------------------------- */
#define FLASH_ACR REG32(0x40023C00u)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_DCRST (1u << 12)
/* Program/erase interface (RM0090 3.5 "Erase and program operations", registers 3.9.2-3.9.5). */
#define FLASH_KEYR REG32(0x40023C04u)
#define FLASH_SR REG32(0x40023C0Cu)
#define FLASH_CR REG32(0x40023C10u)
#define FLASH_KEY1 0x45670123u /* FLASH_KEYR unlock sequence (RM0090 3.5.1) */
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS (FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR | FLASH_SR_PGSERR)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_SNB(n) ((uint32_t)(n) << 3) /* sector number, bits 6:3 */
#define FLASH_CR_PSIZE_X8 (0u << 8)
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

/* --- GPIOA, 0x4002 0000 (RM0090 8.4) ------------------------------------------------------------------ */
#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG32(GPIOA_BASE + 0x00u)
#define GPIOA_OSPEEDR REG32(GPIOA_BASE + 0x08u)
#define GPIOA_PUPDR REG32(GPIOA_BASE + 0x0Cu)
#define GPIOA_BSRR REG32(GPIOA_BASE + 0x18u)
#define GPIOA_AFRL REG32(GPIOA_BASE + 0x20u)
#define GPIOA_AFRH REG32(GPIOA_BASE + 0x24u)

/* --- USART1, 0x4001 1000, APB2 (RM0090 30.6) ---------------------------------------------------------- */
#define USART1_BASE 0x40011000u
#define USART1_SR REG32(USART1_BASE + 0x00u)
#define USART1_DR REG32(USART1_BASE + 0x04u)
#define USART1_BRR REG32(USART1_BASE + 0x08u)
#define USART1_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_TXEIE (1u << 7)
#define USART_CR1_UE (1u << 13)

/* --- TIM2, 0x4000 0000, APB1 (RM0090 18.4) ------------------------------------------------------------ */
#define TIM2_BASE 0x40000000u
#define TIM2_CR1 REG32(TIM2_BASE + 0x00u)
#define TIM2_DIER REG32(TIM2_BASE + 0x0Cu)
#define TIM2_SR REG32(TIM2_BASE + 0x10u)
#define TIM2_EGR REG32(TIM2_BASE + 0x14u)
#define TIM2_PSC REG32(TIM2_BASE + 0x28u)
#define TIM2_ARR REG32(TIM2_BASE + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_CR1_URS (1u << 2) /* only overflow raises UIF, not the UG write below */
#define TIM_DIER_UIE (1u << 0)
#define TIM_SR_UIF (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* --- SPI1, 0x4001 3000, APB2 (RM0090 28.5) ------------------------------------------------------------ */
#define SPI1_BASE 0x40013000u
#define SPI1_CR1 REG32(SPI1_BASE + 0x00u)
#define SPI1_CR2 REG32(SPI1_BASE + 0x04u)
#define SPI1_SR REG32(SPI1_BASE + 0x08u)
#define SPI1_DR REG32(SPI1_BASE + 0x0Cu)
#define SPI_CR1_CPHA (1u << 0)
#define SPI_CR1_CPOL (1u << 1)
#define SPI_CR1_MSTR (1u << 2)
#define SPI_CR1_BR_DIV8 (2u << 3) /* fPCLK2/8 = 84/8 = 10.5 MHz: the IIS3DWB allows 10 MHz SPI, see iis3dwb.h */
#define SPI_CR1_SPE (1u << 6)
#define SPI_CR1_SSI (1u << 8)
#define SPI_CR1_SSM (1u << 9)
#define SPI_CR2_RXDMAEN (1u << 0)
#define SPI_CR2_TXDMAEN (1u << 1)
#define SPI_SR_RXNE (1u << 0)
#define SPI_SR_TXE (1u << 1)
#define SPI_SR_BSY (1u << 7)

/* --- DMA2, 0x4002 6400 (RM0090 10.5). SPI1_RX = stream 0 channel 3, SPI1_TX = stream 3 channel 3
 *     (RM0090 Table 43, DMA2 request mapping). ------------------------------------------------------------ */
#define DMA2_BASE 0x40026400u
#define DMA2_LISR REG32(DMA2_BASE + 0x00u)
#define DMA2_LIFCR REG32(DMA2_BASE + 0x08u)
#define DMA2_SCR(s) REG32(DMA2_BASE + 0x10u + 0x18u * (s))
#define DMA2_SNDTR(s) REG32(DMA2_BASE + 0x14u + 0x18u * (s))
#define DMA2_SPAR(s) REG32(DMA2_BASE + 0x18u + 0x18u * (s))
#define DMA2_SM0AR(s) REG32(DMA2_BASE + 0x1Cu + 0x18u * (s))
#define DMA_SCR_EN (1u << 0)
#define DMA_SCR_TCIE (1u << 4)
#define DMA_SCR_DIR_M2P (1u << 6)
#define DMA_SCR_MINC (1u << 10)
#define DMA_SCR_CHSEL(c) ((uint32_t)(c) << 25)
#define DMA_LISR_TCIF0 (1u << 5)
#define DMA_LIFCR_ALL0 0x3Du        /* clear every flag of stream 0 */
#define DMA_LIFCR_ALL3 (0x3Du << 22) /* ... of stream 3 */

/* --- PWR, backup SRAM, SRAM2 (RM0090 5.4, 2.3.1) ---------------------------------------------------------- */
#define PWR_CR REG32(0x40007000u)
#define PWR_CR_DBP (1u << 8)
#define RCC_AHB1ENR_BKPSRAMEN (1u << 18)
#define BKPSRAM_BASE 0x40024000u
#define SRAM2_BASE 0x2001C000u

/* --- IWDG, 0x4000 3000 (RM0090 21.4) ------------------------------------------------------------------ */
#define IWDG_KR REG32(0x40003000u)
#define IWDG_PR REG32(0x40003004u)
#define IWDG_RLR REG32(0x40003008u)
#define IWDG_SR REG32(0x4000300Cu)
#define IWDG_KEY_UNLOCK 0x5555u
#define IWDG_KEY_FEED 0xAAAAu
#define IWDG_KEY_START 0xCCCCu

/* --- IRQ numbers (RM0090 Table 61, vector table for STM32F405xx/07xx) -------------------------------- */
#define IRQ_TIM2 28u
#define IRQ_USART1 37u
#define IRQ_DMA2_STREAM0 56u
#define IRQ_COUNT 82u

#endif /* STM32F4_REGS_H */
