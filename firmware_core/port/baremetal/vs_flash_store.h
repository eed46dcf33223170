/*
 * vs_flash_store.h - the bare-metal ports' persistent store and A/B model slots on NOR flash (issue H).
 *
 * Four flash regions, each erased as a whole and memory mapped (board_flash_region):
 *   VS_FLASH_SLOT_A, VS_FLASH_SLOT_B   the model slots behind vs_model_update_io_t (vs_model_update.h)
 *   VS_FLASH_STORE_0, VS_FLASH_STORE_1 the two pages of the record store (vs_platform_store.h: the boot record
 *                                      id 0 and the model-update state records ids 1 and 2)
 * The port says where they are (STM32F405 board: sectors 4-7 through the FLASH_CR driver, firmware_stm32/src/
 * flash.c; QEMU images: RAM that stands in for flash, vs_flash_ram.c) and implements board_flash_erase /
 * board_flash_program with NOR rules: erase sets every byte to 0xFF, programming only clears bits.
 *
 * The record store is a log. A page starts with a header {magic, seq, ~seq}; records follow, each
 * {tag, id, len, check} + data padded to 4 bytes + a commit word, programmed in that order, so a power cut
 * leaves a record either committed or ignored (the previous record of that id stays in force). A read returns
 * the last committed record of the id in the page with the highest valid seq. When the page is full the live
 * records are copied to the other page (erased first), whose magic is programmed last: a cut during the copy
 * leaves the old page in force. The header's ~seq makes a half-erased page (erase only sets bits) unable to
 * pass for a newer one. Main loop only; not ISR-safe (an erase or program stalls flash reads on the F405).
 */
#ifndef VS_FLASH_STORE_H
#define VS_FLASH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_model_update.h"

#define VS_FLASH_SLOT_A 0u
#define VS_FLASH_SLOT_B 1u
#define VS_FLASH_STORE_0 2u
#define VS_FLASH_STORE_1 3u
#define VS_FLASH_REGIONS 4u
#define VS_FLASH_STORE_IDS 16u /* record ids 0..15: boot (0), model update (1, 2), baseline (3..8) */

typedef struct {
    uintptr_t base; /* memory-mapped address (4-byte aligned) */
    uint32_t size;  /* bytes, a multiple of 4 */
} board_flash_region_t;

/* The port provides these three (board.h of firmware_stm32 / firmware_rv32 says where the regions are). */
const board_flash_region_t *board_flash_region(uint8_t region);
/* Erase a whole region to 0xFF. VS_OK or a negative VS_ERR_*. */
int board_flash_erase(uint8_t region);
/* Program data[0..len) at addr (any alignment) inside a region; bits can only be cleared; the result is read
 * back and compared (VS_ERR_STATE when it differs: the bytes were not erased, or the flash failed). */
int board_flash_program(uintptr_t addr, const void *data, uint32_t len);

/* The store (vs_platform_store.h semantics; ids < VS_FLASH_STORE_IDS, len <= 64). */
int vs_flash_store_read(uint8_t id, void *buf, size_t len);
int vs_flash_store_write(uint8_t id, const void *data, size_t len);

/* The io table for vs_node_enable_model_update (slots A/B and this store). */
const vs_model_update_io_t *vs_flash_model_io(void);

#endif /* VS_FLASH_STORE_H */
