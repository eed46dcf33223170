/*
 * USART1 driver (RM0090 chapter 30): interrupt-driven RX and TX rings, no DMA (a 921600-baud byte every
 * 10.9 us costs one short interrupt; the node's frames are at most 1050 bytes).
 */
#include "board.h"
#include "stm32f4_regs.h"
#include "vs/vs_ring.h"

/* RX ring: port/baremetal/vs_uart_rx.c. TX ring (HW=1): a SCORE + ALARM (~80 B on the wire) leaves without
 * blocking; a longer frame (FEATURES, RAW_CHUNK) blocks until the ring has taken it, as vs_platform_uart.h
 * allows. The RAM budget (32 KB with the 25 KB vs_node_t) sets the size. */
#define TX_CAP 256u

#if HW
static uint8_t tx_buf[TX_CAP];
static vs_ring_t tx_ring;
#endif

void usart_init(uint32_t baud)
{
    board_uart_rx_init();
#if HW
    (void)vs_ring_init(&tx_ring, TX_CAP);
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    (void)RCC_APB2ENR; /* RM0090 7.3: wait two cycles after enabling a clock before touching the peripheral */
    /* PA9, PA10: alternate function mode (MODER = 10b), AF7 = USART1 (datasheet DS8626 Table 9). */
    GPIOA_MODER = (GPIOA_MODER & ~((3u << 18) | (3u << 20))) | (2u << 18) | (2u << 20);
    GPIOA_AFRH = (GPIOA_AFRH & ~((0xFu << 4) | (0xFu << 8))) | (7u << 4) | (7u << 8);
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << 20)) | (1u << 20); /* pull-up on RX: an open line reads idle */
    /* OVER8 = 0: USARTDIV = f_PCLK2 / (16 x baud) in 12.4 fixed point, rounded (RM0090 30.3.4). */
    USART1_BRR = (BOARD_APB2_HZ + baud / 2u) / baud;
#else
    (void)baud; /* QEMU's USART has no baud rate */
#endif
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
    board_nvic_enable(IRQ_USART1, 1u);
}

void USART1_IRQHandler(void)
{
    uint32_t sr = USART1_SR;
    /* Reading SR then DR clears RXNE and ORE (RM0090 30.6.1); an overrun already lost a byte. */
    if (sr & (USART_SR_RXNE | USART_SR_ORE)) {
        board_uart_rx_push((uint8_t)USART1_DR, (sr & USART_SR_ORE) != 0u);
    }
#if HW
    if (USART1_CR1 & USART_CR1_TXEIE) {
        /* Refill while the data register is empty: one byte per interrupt on a board (TXE drops until the
         * shift register takes it), the whole ring at once in QEMU (its TXE never drops). */
        while (sr & USART_SR_TXE) {
            uint8_t b;
            if (vs_ring_read_u8(&tx_ring, tx_buf, &b, 1u) == 0u) {
                USART1_CR1 &= ~USART_CR1_TXEIE; /* empty: no TXE interrupt until the next write */
                break;
            }
            USART1_DR = b;
            sr = USART1_SR;
        }
    }
#endif
}

#if HW
void usart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (vs_ring_write_u8(&tx_ring, tx_buf, &data[i], 1u) == 0u) {
            /* Full: make sure the TXE interrupt runs, then sleep until it has made room. The check and the
             * WFI are under PRIMASK so the interrupt cannot slip in between them. */
            board_irq_disable();
            USART1_CR1 |= USART_CR1_TXEIE;
            if (vs_ring_space(&tx_ring) == 0u) {
                board_wait_for_interrupt();
            }
            board_irq_enable();
        }
    }
    /* CR1 is also written by the ISR (clearing TXEIE): read-modify-write it with interrupts off. */
    board_irq_disable();
    USART1_CR1 |= USART_CR1_TXEIE;
    board_irq_enable();
}
#else
/* QEMU 7.2's STM32 USART raises its interrupt for RXNE only (hw/char/stm32f2xx_usart.c; the TXE/TC interrupt
 * arrived in a later QEMU), and its transmit is synchronous, TXE always set: write the data register
 * directly, still honouring TXE as silicon requires. */
void usart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(USART1_SR & USART_SR_TXE)) {
        }
        USART1_DR = data[i];
    }
}
#endif
