/*
 * vs_platform_store.h - a small persistent store: a few records of up to VS_PLATFORM_STORE_RECORD_MAX bytes
 * that survive a reset (STM32: a flash sector written with the FLASH_CR programming sequence of RM0090 section
 * 3.6, or backup SRAM; ESP-IDF: NVS; host: a file or RAM the test controls; QEMU: RAM, i.e. lost on restart,
 * which the node reports as boot counter 1).
 *
 * The port stores opaque bytes; vs_node adds its own magic, version and CRC-32 to every record it writes and
 * treats a record that fails them as absent (a torn write after a power cut). Writes happen at boot only
 * (the boot record), never in the sampling path, so the flash wear is one erase per reset.
 *
 * The A/B model slots themselves are flash areas behind vs_model_update.h's io functions; their small state
 * record alternates between record ids 1 and 2 of this store (VS_MODEL_UPDATE_STORE_ID0/1), so a port
 * provides at least ids 0..2. Main loop only; not ISR-safe.
 */
#ifndef VS_PLATFORM_STORE_H
#define VS_PLATFORM_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_PLATFORM_STORE_RECORD_MAX 64U

/* Record ids. */
#define VS_STORE_RECORD_BOOT 0U /* vs_node's boot record: boot counter, watchdog resets */
/* ids 1 and 2: vs_model_update's state record (two copies, written alternately) */

/* Read record `id` into buf[0..len). Returns the stored record's length (may differ from len: the caller checks
 * it), 0 when the record was never written, or a negative VS_ERR_*. Copies min(len, stored) bytes. */
int vs_platform_store_read(uint8_t id, void *buf, size_t len);

/* Replace record `id` by data[0..len), len <= VS_PLATFORM_STORE_RECORD_MAX. VS_OK or a negative VS_ERR_*. */
int vs_platform_store_write(uint8_t id, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_STORE_H */
