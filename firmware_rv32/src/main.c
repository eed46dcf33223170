/* RV32IMC node on QEMU virt: board bring-up, then the shared node application (port/baremetal/vs_app.c). */
#include "board.h"
#include "vs_app.h"

void sampler_tick_start(void);

int main(void)
{
    board_init();
    (void)board_reset_cause();
    usart_init(921600u);
    sampler_tick_start();
    board_irq_enable();
    (void)vs_app_run(NULL);
    for (;;) { /* configuration error: sleep (see firmware_stm32/src/main.c) */
        board_irq_disable();
        board_wait_for_interrupt();
        board_irq_enable();
    }
}
