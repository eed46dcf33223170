/*
 * vs_flash_ram.c - RAM that stands in for the model flash of vs_flash_store.h in the QEMU images: QEMU 7.2's
 * netduinoplus2 maps the F405's flash as ROM (no flash controller: writes are ignored) and `virt` has no flash
 * the guest can program, so the QEMU images keep slots A/B and the store pages in RAM outside the image
 * (board.h: BOARD_FLASH_RAM_BASE), with NOR rules enforced in software (erase = 0xFF, programming ANDs and
 * is verified), so vs_flash_store.c and vs_model_update run exactly the code paths they run on flash.
 *
 * Persistence: that RAM survives a QEMU `system_reset` (QEMU reloads only the ELF's segments), so an update,
 * its TRIAL state and the boot counter survive a reboot; a new QEMU process (or a kill -9 of QEMU, the
 * emulated power cut) starts blank and the node runs its built-in model again. A magic word tells a warm
 * start from zeroed RAM. Power cuts inside a transfer are tested on the host flash simulator instead
 * (tests/firmware/test_model_update.py). The board image (firmware_stm32 HW=1) uses the FLASH_CR driver.
 */
#include "board.h"

#if !BOARD_FLASH_NATIVE

#include <string.h>

#include "vs/vs_status.h"
#include "vs_flash_store.h"

#define RAM_FLASH_MAGIC 0x4D415246u /* "FRAM" */
#define RAM_FLASH_HEADER 16u

static const board_flash_region_t regions[VS_FLASH_REGIONS] = {
    {BOARD_FLASH_RAM_BASE + RAM_FLASH_HEADER, BOARD_FLASH_RAM_SLOT_BYTES},
    {BOARD_FLASH_RAM_BASE + RAM_FLASH_HEADER + BOARD_FLASH_RAM_SLOT_BYTES, BOARD_FLASH_RAM_SLOT_BYTES},
    {BOARD_FLASH_RAM_BASE + RAM_FLASH_HEADER + 2u * BOARD_FLASH_RAM_SLOT_BYTES, BOARD_FLASH_RAM_PAGE_BYTES},
    {BOARD_FLASH_RAM_BASE + RAM_FLASH_HEADER + 2u * BOARD_FLASH_RAM_SLOT_BYTES + BOARD_FLASH_RAM_PAGE_BYTES,
     BOARD_FLASH_RAM_PAGE_BYTES},
};

const board_flash_region_t *board_flash_region(uint8_t region)
{
    volatile uint32_t *magic = (volatile uint32_t *)BOARD_FLASH_RAM_BASE;
    if (*magic != RAM_FLASH_MAGIC) { /* cold start: a blank chip */
        for (uint8_t i = 0; i < VS_FLASH_REGIONS; i++) {
            memset((void *)regions[i].base, 0xFF, regions[i].size);
        }
        *magic = RAM_FLASH_MAGIC;
    }
    return &regions[region < VS_FLASH_REGIONS ? region : 0u];
}

int board_flash_erase(uint8_t region)
{
    if (region >= VS_FLASH_REGIONS) {
        return VS_ERR_ARG;
    }
    const board_flash_region_t *r = board_flash_region(region);
    memset((void *)r->base, 0xFF, r->size);
    return VS_OK;
}

int board_flash_program(uintptr_t addr, const void *data, uint32_t len)
{
    const uint8_t *d = data;
    volatile uint8_t *cell = (volatile uint8_t *)addr;
    (void)board_flash_region(0u);
    for (uint32_t i = 0; i < len; i++) {
        cell[i] = (uint8_t)(cell[i] & d[i]); /* NOR: programming only clears bits */
        if (cell[i] != d[i]) {
            return VS_ERR_STATE;
        }
    }
    return VS_OK;
}

#endif /* !BOARD_FLASH_NATIVE */
