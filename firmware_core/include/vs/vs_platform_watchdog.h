/*
 * vs_platform_watchdog.h - the independent watchdog and why the node last reset.
 *
 * vs_node feeds the watchdog once per vs_node_poll that made progress without an internal error (the loop
 * is healthy); a main loop stuck in a kernel or spinning on a dead UART stops feeding and the watchdog resets
 * the chip. The port starts the watchdog before vs_node_start (STM32 IWDG: KR=0xCCCC, RM0090 section 19.3;
 * ESP-IDF: task watchdog; QEMU netduinoplus2 has no IWDG, so that build only records feeds).
 *
 * The reset reason is read once at boot from the reset controller (STM32 RCC_CSR: IWDGRSTF, SFTRSTF,
 * PORRSTF, PINRSTF, BORRSTF, RM0090 section 7.3.21; ESP-IDF esp_reset_reason()) and then cleared by the port.
 * vs_node reports it in HELLO and counts watchdog resets in its persistent boot record.
 */
#ifndef VS_PLATFORM_WATCHDOG_H
#define VS_PLATFORM_WATCHDOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reset reasons (values are sent on the wire: never renumber). */
#define VS_RESET_UNKNOWN 0U
#define VS_RESET_POWER_ON 1U
#define VS_RESET_PIN 2U
#define VS_RESET_SOFTWARE 3U
#define VS_RESET_WATCHDOG 4U
#define VS_RESET_BROWNOUT 5U

/* Reload the watchdog counter. Main loop only. */
void vs_platform_watchdog_feed(void);

/* The reason of the last reset, VS_RESET_*. Same value on every call within a boot. */
uint8_t vs_platform_reset_reason(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_WATCHDOG_H */
