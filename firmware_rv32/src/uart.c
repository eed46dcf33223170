/*
 * NS16550A UART driver (register set of the TI PC16550D datasheet, as QEMU's hw/char/serial.c models it):
 * receive interrupt into the shared ring (port/baremetal/vs_uart_rx.c), polled transmit.
 */
#include "board.h"

#define RBR REG8(UART0_BASE + 0u) /* receive buffer (read, DLAB = 0) */
#define THR REG8(UART0_BASE + 0u) /* transmit holding (write) */
#define IER REG8(UART0_BASE + 1u)
#define FCR REG8(UART0_BASE + 2u)
#define LCR REG8(UART0_BASE + 3u)
#define MCR REG8(UART0_BASE + 4u)
#define LSR REG8(UART0_BASE + 5u)
#define LSR_DR 0x01u   /* data ready */
#define LSR_OE 0x02u   /* overrun */
#define LSR_THRE 0x20u /* transmit holding register empty */

void usart_init(uint32_t baud)
{
    (void)baud; /* QEMU's 16550 ignores the divisor latch */
    board_uart_rx_init();
    LCR = 0x03u; /* 8 data bits, no parity, 1 stop bit, DLAB = 0 */
    FCR = 0x07u; /* FIFOs on and cleared, RX trigger at 1 byte */
    MCR = 0x08u; /* OUT2: gates the interrupt line on PC-style 16550 wiring */
    IER = 0x01u; /* received-data-available interrupt */
    board_plic_enable(UART0_IRQ);
}

void uart_isr(void)
{
    /* Drain the 16-byte FIFO in one interrupt. */
    uint8_t lsr;
    while ((lsr = LSR) & LSR_DR) {
        board_uart_rx_push(RBR, (lsr & LSR_OE) != 0u);
    }
}

void usart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(LSR & LSR_THRE)) {
        }
        THR = data[i];
    }
}
