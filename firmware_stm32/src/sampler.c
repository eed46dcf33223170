/* Timer-paced sampler (see sampler.h). RM0090 chapters 18 (TIM2), 10 (DMA2), 28 (SPI1). */
#include "sampler.h"

#include "board.h"
#include "iis3dwb.h"
#include "stm32f4_regs.h"

static volatile uint32_t ticks;

#if HW
static uint8_t rx_word[3];
static int16_t block[2][SAMPLER_BLOCK];
static uint32_t fill;
static uint32_t half;
#endif

int sampler_init(uint32_t sample_rate_hz)
{
#if HW
    if (iis3dwb_init() != 0) {
        return -1;
    }
    RCC_AHB1ENR |= RCC_AHB1ENR_DMA2EN;
    (void)RCC_AHB1ENR;
    /* Stream 0 = SPI1_RX -> rx_word, stream 3 = SPI1_TX <- command bytes; channel 3 (RM0090 Table 43),
     * byte transfers, memory increment, TC interrupt on the RX stream only (it finishes last). */
    DMA2_SPAR(0) = (uint32_t)(uintptr_t)&SPI1_DR;
    DMA2_SM0AR(0) = (uint32_t)(uintptr_t)rx_word;
    DMA2_SCR(0) = DMA_SCR_CHSEL(3) | DMA_SCR_MINC | DMA_SCR_TCIE;
    DMA2_SPAR(3) = (uint32_t)(uintptr_t)&SPI1_DR;
    DMA2_SM0AR(3) = (uint32_t)(uintptr_t)iis3dwb_read_z_cmd;
    DMA2_SCR(3) = DMA_SCR_CHSEL(3) | DMA_SCR_MINC | DMA_SCR_DIR_M2P;
    SPI1_CR2 = SPI_CR2_RXDMAEN | SPI_CR2_TXDMAEN;
    board_nvic_enable(IRQ_DMA2_STREAM0, 0u);
    const uint32_t period = BOARD_TIM2_HZ / sample_rate_hz;
#else
    const uint32_t period = (uint32_t)(((uint64_t)BOARD_TIM2_HZ * SAMPLER_BLOCK) / sample_rate_hz);
#endif
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN; /* ignored by QEMU (RCC unimplemented), required on silicon */
    (void)RCC_APB1ENR;
    /* TIM2 is 32-bit: no prescaler needed for any sample rate >= 1 Hz. URS: the UG below reloads the
     * registers without raising an update interrupt. */
    TIM2_PSC = 0u;
    TIM2_ARR = period - 1u;
    TIM2_CR1 = TIM_CR1_URS;
    TIM2_EGR = TIM_EGR_UG;
    TIM2_SR = 0u;
    TIM2_DIER = TIM_DIER_UIE;
    board_nvic_enable(IRQ_TIM2, 0u); /* highest priority: sampling jitter is measurement error */
    return 0;
}

void sampler_start(void)
{
    TIM2_CR1 |= TIM_CR1_CEN;
}

void sampler_stop(void)
{
    TIM2_CR1 &= ~TIM_CR1_CEN;
}

uint32_t sampler_ticks(void)
{
    return ticks;
}

void TIM2_IRQHandler(void)
{
    TIM2_SR = ~TIM_SR_UIF; /* rc_w0: write 0 to clear, 1 elsewhere leaves the other flags alone */
    ticks++;
#if HW
    /* Start one read: CS low, arm RX before TX so no received byte is missed (RM0090 28.3.9). */
    iis3dwb_cs_low();
    DMA2_LIFCR = DMA_LIFCR_ALL0 | DMA_LIFCR_ALL3;
    DMA2_SNDTR(0) = 3u;
    DMA2_SNDTR(3) = 3u;
    DMA2_SCR(0) |= DMA_SCR_EN;
    DMA2_SCR(3) |= DMA_SCR_EN;
#endif
}

#if HW
void DMA2_Stream0_IRQHandler(void)
{
    DMA2_LIFCR = DMA_LIFCR_ALL0;
    iis3dwb_cs_high();
    /* Byte 0 clocked in during the address byte; 1 and 2 are OUTZ_L, OUTZ_H (little-endian, two's complement). */
    block[half][fill++] = (int16_t)((uint16_t)rx_word[1] | ((uint16_t)rx_word[2] << 8));
    if (fill == SAMPLER_BLOCK) {
        /* Double buffer: the consumer copies the block inside sampler_block_ready before we wrap around. */
        sampler_block_ready(block[half], SAMPLER_BLOCK);
        half ^= 1u;
        fill = 0u;
    }
}
#endif
