/*
 * vs_board.h - what a bare-metal port (firmware_stm32, firmware_rv32) provides to the shared glue
 * vs_platform_bare.c, which implements firmware_core's vs_platform_*.h on top of it.
 *
 * The port's own "board.h" includes this file and also defines, as static inline functions,
 * board_irq_disable / board_irq_enable (mask interrupts: Cortex-M PRIMASK, RV32 mstatus.MIE) and
 * board_wait_for_interrupt (WFI; it must return when an interrupt is pending even while masked, which both
 * architectures guarantee: ARMv7-M ARM B1.5.19, RISC-V privileged spec 3.3.3).
 */
#ifndef VS_BOARD_H
#define VS_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Time and resets. */
uint64_t board_time_us(void);          /* microseconds since boot; callable from ISRs */
uint8_t board_reset_cause(void);       /* VS_RESET_* (vs_platform_watchdog.h), latched at the first call */
uint32_t board_stack_high_water(void); /* bytes of the painted stack ever used (vs_stack.h) */
uint32_t board_stack_size(void);       /* bytes of that stack (the linker's region); callable from ISRs */
void board_watchdog_feed(void);
void board_reset(void); /* does not return */

/* Reset-surviving records (vs_platform_store.h): where they live is the port's choice (board.h says). */
/* Used by images built with MODEL_UPDATE=0 (the default keeps every record in vs_flash_store.c instead):
 * ids 0 (boot record), 1-2 (model-update state) and 3-8 (on-node baseline, vs_baseline). */
#define BOARD_STORE_RECORDS 9u
#define BOARD_STORE_RECORD_MAX 64u
typedef struct {
    uint32_t warm_magic; /* tells a warm reset from a cold start where no reset-cause register exists */
    uint8_t len[BOARD_STORE_RECORDS];
    uint8_t pad[3];
    uint8_t data[BOARD_STORE_RECORDS][BOARD_STORE_RECORD_MAX];
} board_persist_t;
volatile board_persist_t *board_persist(void);

/* The serial link: an RX ring filled by the receive interrupt; usart_write sends every byte (blocking).
 * The port implements usart_init and usart_write and calls board_uart_rx_init / board_uart_rx_push;
 * vs_uart_rx.c implements the rest. */
void usart_init(uint32_t baud);
void board_uart_rx_init(void);
void board_uart_rx_push(uint8_t byte, int overrun); /* receive ISR only (the ring's single producer) */
size_t usart_read(uint8_t *buf, size_t cap);
void usart_write(const uint8_t *data, size_t len);
int usart_rx_ready(void);          /* only reads memory: callable with interrupts masked */
uint32_t usart_rx_dropped(void);   /* bytes lost: RX ring full or hardware overrun */
uint32_t usart_rx_high_water(void); /* most bytes ever waiting in the RX ring */

/* The timer-paced sampler (sampler_init 0, or -1 when no sensor answers). */
int sampler_init(uint32_t sample_rate_hz);
void sampler_start(void);
void sampler_stop(void);

#endif /* VS_BOARD_H */
