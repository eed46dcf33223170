/*
 * vs_platform_uart.h - the serial link to the gateway: blocking transmit, non-blocking receive.
 *
 * TX: vs_platform_uart_write sends every byte before it returns (polling the data register, or a DMA transfer
 * the call waits for). It is called from the main loop only, one whole wire frame (<= VS_PROTO_MAX_WIRE
 * bytes) at a time, so frames never interleave. While it blocks the sampling ISR keeps filling the node's
 * sample ring (vs_node.h: VS_NODE_RING_SAMPLES covers 85 ms at 12 kHz; a full RAW_CHUNK frame, 1020 bytes,
 * takes 89 ms at 115200 baud), so with the default sizes a port runs its UART at >= 230400 baud.
 *
 * RX: the port's UART receive interrupt puts each byte into a byte ring it owns (vs_ring.h, vs_ring_write_u8
 * is ISR-safe for one producer); vs_platform_uart_read drains it from the main loop. A byte that finds the
 * ring full is dropped and counted by the port (vs_platform_uart_rx_dropped); the protocol's CRC then rejects
 * the damaged frame and the node counts it as an rx error.
 *
 * Ports: host fake (port/host: bytes the test injects, bytes written are captured), STM32 USART1 with RXNE
 * interrupt, ESP-IDF uart driver, RV32 virt NS16550A.
 */
#ifndef VS_PLATFORM_UART_H
#define VS_PLATFORM_UART_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Send data[0..len) completely (blocking). Main loop only. */
void vs_platform_uart_write(const uint8_t *data, size_t len);

/* Move up to cap received bytes into buf (non-blocking); returns how many (0 when nothing arrived). Main loop
 * only (the single consumer of the port's RX ring). */
size_t vs_platform_uart_read(uint8_t *buf, size_t cap);

/* Nonzero when received bytes are waiting. Called by vs_node_has_work with interrupts disabled, so it must
 * only read memory (no locking, no blocking). */
int vs_platform_uart_rx_pending(void);

/* Received bytes dropped because the port's RX ring was full, since boot (wraps). 0 if the port cannot tell. */
uint32_t vs_platform_uart_rx_dropped(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_UART_H */
