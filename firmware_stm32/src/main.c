/*
 * STM32F405 node: board bring-up, then the shared node application (firmware_core/port/baremetal/vs_app.c).
 */
#include "board.h"
#include "iis3dwb.h"
#include "sampler.h"
#include "vs_app.h"

#define UART_BAUD 921600u /* docs/protocol.md section 1: the default rate */

/* The sampler's DMA interrupt hands over full blocks of IIS3DWB counts (HW=1 only). */
void sampler_block_ready(const int16_t *samples, uint32_t count)
{
    (void)vs_node_push_samples_i16(&vs_app_node, samples, count, IIS3DWB_SCALE_G_PER_LSB);
}

int main(void)
{
    board_clock_init();
    board_systick_init();
    (void)board_reset_cause(); /* latch RCC_CSR before anything else can reset */
    usart_init(UART_BAUD);
    (void)vs_app_run(board_watchdog_start);
    /* Only a configuration error gets here (the image does not match its model): nothing can run, so
     * sleep instead of resetting in a loop; the gateway sees the node missing. */
    for (;;) {
        board_irq_disable();
        board_wait_for_interrupt();
        board_irq_enable();
    }
}
