/*
 * vs_port_idf.h - the ESP-IDF port of the vibsentry node: every ESP-IDF / FreeRTOS call of the application is in
 * vs_port_idf.c, written against the documented ESP-IDF v5.2 API (ADC_ATTEN_DB_12 is the 5.2 name) (driver/uart.h, esp_adc/adc_continuous.h,
 * driver/spi_master.h, esp_task_wdt.h, nvs.h, esp_timer.h, esp_system.h, FreeRTOS task notifications).
 * It implements firmware_core's vs_platform_*.h and runs three tasks:
 *
 *   sampler task  (priority 6): woken by the ADC DMA "conversion frame done" callback (an ISR) or by the
 *                 IIS3DWB FIFO poll period; converts and pushes the samples with vs_node_push_samples_i16
 *                 (the node ring's single producer), then notifies the node task.
 *   comms task    (priority 5): blocks on the UART driver's event queue; on received data it notifies the
 *                 node task (vs_node reads the bytes itself through vs_platform_uart_read).
 *   node task     (priority 4): vs_node_run: poll, then vs_platform_sleep_until_event, which blocks on the
 *                 task notification (FreeRTOS latches a notification given before the wait: no lost wake-up).
 *                 Subscribed to the task watchdog; vs_node feeds it only after a healthy poll.
 *
 * NOT compiled in this repository's CI (ESP-IDF cannot be installed there); see docs/firmware.md.
 */
#ifndef VS_PORT_IDF_H
#define VS_PORT_IDF_H

#include "vs/vs_node.h"

/* Start the UART, the sampler and the three tasks for an initialised node. Returns 0 or a negative error. */
int vs_idf_start(vs_node_t *node);

#endif /* VS_PORT_IDF_H */
