/*
 * flash.c - the STM32F405's embedded flash as the model slots and record store of vs_flash_store.h (board
 * image, HW=1). Register level, from RM0090 (Doc ID 018909) section 3 "Embedded Flash memory interface":
 * unlock by writing KEY1 then KEY2 to FLASH_KEYR (3.5.1), sector erase with FLASH_CR.SER + SNB + STRT (3.5.3),
 * programming with FLASH_CR.PG and the write width matching FLASH_CR.PSIZE (3.5.4; x32 needs VDD 2.7-3.6 V,
 * "program/erase parallelism" 3.5.2), completion by polling FLASH_SR.BSY, errors in FLASH_SR (OPERR, WRPERR,
 * PGAERR, PGPERR, PGSERR; written 1 to clear). Bits go 1 -> 0 without an erase (3.5.4 note), which the log
 * store relies on.
 *
 * Sector map of the F405's 1 MB (RM0090 3.3, "Flash module organization", STM32F40x/41x):
 *   sectors 0-3   16 KB each  0x0800 0000 - 0x0800 FFFF   the application image (the 64 KB budget)
 *   sector 4      64 KB       0x0801 0000 - 0x0801 FFFF   record store, page 0
 *   sector 5     128 KB       0x0802 0000 - 0x0803 FFFF   record store, page 1 (first 64 KB used)
 *   sector 6     128 KB       0x0804 0000 - 0x0805 FFFF   model slot A
 *   sector 7     128 KB       0x0806 0000 - 0x0807 FFFF   model slot B
 *   sectors 8-11 128 KB each  0x0808 0000 - 0x080F FFFF   free
 * The store gets two sectors of its own so that compacting one page never erases the only copy of a record.
 *
 * The F405 has one flash bank: while an erase or a program runs, every flash read (instruction fetch,
 * vector fetch, constant) stalls the bus until it ends (RM0090 3.5). A sector erase therefore freezes the
 * node, interrupts included: samples arriving meanwhile are lost (vs_node counts the overrun and restarts
 * framing) and the IWDG (~2 s) is slowed to ~8 s around an erase (board_watchdog_slow): a 128 KB sector
 * erase takes on the order of a second or more (DS8626 "Flash memory programming" table; its values were not
 * retrievable here, so the 8 s margin is a guess to check on a board). Erases happen at MODEL_BEGIN and when
 * a store page fills up.
 *
 * QEMU 7.2 does not emulate the flash interface (netduinoplus2 maps 0x4002 3C00 as an unimplemented device and
 * the flash as ROM): this file is compiled for the board image only and has NOT run; the QEMU image keeps the
 * same layout in RAM (vs_flash_ram.c), and the store/slot logic above this driver is what the tests run.
 */
#include "board.h"

#if BOARD_FLASH_NATIVE

#include "stm32f4_regs.h"
#include "vs/vs_status.h"
#include "vs_flash_store.h"

static const board_flash_region_t regions[VS_FLASH_REGIONS] = {
    {0x08040000u, 128u * 1024u}, /* slot A: sector 6 */
    {0x08060000u, 128u * 1024u}, /* slot B: sector 7 */
    {0x08010000u, 64u * 1024u},  /* store page 0: sector 4 */
    {0x08020000u, 64u * 1024u},  /* store page 1: sector 5 (128 KB; the first 64 KB used) */
};
static const uint8_t region_sector[VS_FLASH_REGIONS] = {6u, 7u, 4u, 5u};

const board_flash_region_t *board_flash_region(uint8_t region)
{
    return &regions[region < VS_FLASH_REGIONS ? region : 0u];
}

static void wait_idle(void)
{
    while (FLASH_SR & FLASH_SR_BSY) {
    }
}

/* Unlock FLASH_CR (a second unlock while unlocked would raise a bus fault: RM0090 3.5.1). */
static void unlock(void)
{
    wait_idle();
    if (FLASH_CR & FLASH_CR_LOCK) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_SR = FLASH_SR_EOP | FLASH_SR_ERRORS; /* clear what an earlier operation left */
}

/* Lock again, and drop what the ART data cache may hold of the changed sector (RM0090 3.4.2: the cache is
 * reset with DCRST while disabled). Returns VS_OK or VS_ERR_STATE when FLASH_SR reported an error. */
static int finish(void)
{
    wait_idle();
    const uint32_t sr = FLASH_SR;
    FLASH_CR &= ~(FLASH_CR_PG | FLASH_CR_SER);
    FLASH_CR |= FLASH_CR_LOCK;
    FLASH_ACR &= ~FLASH_ACR_DCEN;
    FLASH_ACR |= FLASH_ACR_DCRST;
    FLASH_ACR &= ~FLASH_ACR_DCRST;
    FLASH_ACR |= FLASH_ACR_DCEN;
    return (sr & FLASH_SR_ERRORS) ? VS_ERR_STATE : VS_OK;
}

int board_flash_erase(uint8_t region)
{
    if (region >= VS_FLASH_REGIONS) {
        return VS_ERR_ARG;
    }
    board_watchdog_slow(1);
    unlock();
    FLASH_CR = (FLASH_CR & ~(0xFu << 3)) | FLASH_CR_PSIZE_X32 | FLASH_CR_SER | FLASH_CR_SNB(region_sector[region]);
    FLASH_CR |= FLASH_CR_STRT;
    const int rc = finish();
    board_watchdog_slow(0);
    return rc;
}

int board_flash_program(uintptr_t addr, const void *data, uint32_t len)
{
    const uint8_t *d = data;
    int rc = VS_OK;
    unlock();
    /* Byte by byte at x8: any alignment, as the slot header, the manifest and the chunks need (x32 would be
     * faster for the aligned middle but costs flash the board image does not have). */
    FLASH_CR = (FLASH_CR & ~(3u << 8)) | FLASH_CR_PSIZE_X8 | FLASH_CR_PG;
    for (uint32_t i = 0; i < len && rc == VS_OK; i++) {
        ((volatile uint8_t *)addr)[i] = d[i];
        wait_idle();
        if (FLASH_SR & FLASH_SR_ERRORS) {
            rc = VS_ERR_STATE;
        }
    }
    if (finish() != VS_OK) {
        rc = VS_ERR_STATE;
    }
    for (uint32_t i = 0; i < len && rc == VS_OK; i++) { /* read back: a bit that did not clear is an error */
        if (((const volatile uint8_t *)addr)[i] != d[i]) {
            rc = VS_ERR_STATE;
        }
    }
    return rc;
}

#endif /* BOARD_FLASH_NATIVE */
