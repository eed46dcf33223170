/*
 * The receive side every bare-metal UART driver shares: a 2 KB single-producer/single-consumer ring filled by
 * the port's receive interrupt (board_uart_rx_push) and drained by the main loop (usart_read). 2 KB holds more
 * than one whole frame (VS_PROTO_MAX_WIRE = 1050 B), enough because the host sends the next REPLAY_SAMPLES only
 * after the previous one's ACK (docs/firmware.md, flow control); the STM32 RAM budget rules out more.
 */
#include "board.h"
#include "vs/vs_ring.h"

#define RX_CAP 2048u

static uint8_t rx_buf[RX_CAP];
static vs_ring_t rx_ring;
static volatile uint32_t rx_dropped;

void board_uart_rx_init(void)
{
    (void)vs_ring_init(&rx_ring, RX_CAP);
}

void board_uart_rx_push(uint8_t byte, int overrun)
{
    if (overrun) {
        rx_dropped++; /* the hardware lost the byte before this one */
    }
    if (vs_ring_write_u8(&rx_ring, rx_buf, &byte, 1u) == 0u) {
        rx_dropped++;
    }
}

size_t usart_read(uint8_t *buf, size_t cap)
{
    return vs_ring_read_u8(&rx_ring, rx_buf, buf, (uint32_t)(cap > 0xFFFFFFFFu ? 0xFFFFFFFFu : cap));
}

int usart_rx_ready(void)
{
    return vs_ring_count(&rx_ring) != 0u;
}

uint32_t usart_rx_dropped(void)
{
    return rx_dropped;
}

uint32_t usart_rx_high_water(void)
{
    return rx_ring.high_water;
}
