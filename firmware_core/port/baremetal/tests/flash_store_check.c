/*
 * flash_store_check.c - vs_flash_store.c (the bare-metal ports' record store and model-slot io) on the host,
 * over a simulated NOR flash with power cuts; run by tests/firmware/test_firmware_flash_store.py under
 * ASan/UBSan.
 *
 * The flash: four regions in one array, the store pages PAGE bytes each (small, so that compaction happens
 * every few dozen writes). NOR rules: erase sets 0xFF, programming ANDs and fails on a bit that would have to
 * go 0 -> 1. A power cut after `budget` units (one per programmed byte, one per 64 erased bytes) stops the
 * operation where it is: a program leaves its first bytes written, an erase its first part erased and the rest
 * as it was (the F405 leaves an interrupted sector undefined; "partly old" is one of its states).
 *
 * Checks: (1) thousands of writes of random lengths to ids 0..8 read back like a shadow copy, through many
 * compactions; (2) a power cut at a random point of a write leaves the written id holding its old or its new
 * value and every other id its value, for CUTS cuts; after each cut, writing goes on normally. Prints
 * "flash_store ok WRITES CUTS COMPACTIONS" or the first failure, exit status 0 / 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_status.h"
#include "vs_flash_store.h"

#define SLOT 1024u
#define PAGE 1024u
#define IDS 9u
#define WRITES 4000
#define CUTS 400

static uint8_t flash[2u * SLOT + 2u * PAGE] __attribute__((aligned(8)));
static board_flash_region_t regions[VS_FLASH_REGIONS];
static long budget = -1; /* units left before the cut; < 0: none planned */
static int powered = 1;
static unsigned erases_of_store;

static int spend(void)
{
    if (!powered) {
        return 0;
    }
    if (budget == 0) {
        powered = 0;
        return 0;
    }
    if (budget > 0) {
        budget--;
    }
    return 1;
}

const board_flash_region_t *board_flash_region(uint8_t region)
{
    return &regions[region < VS_FLASH_REGIONS ? region : 0u];
}

int board_flash_erase(uint8_t region)
{
    const board_flash_region_t *r = board_flash_region(region);
    if (region >= VS_FLASH_STORE_0) {
        erases_of_store++;
    }
    for (uint32_t at = 0; at < r->size; at += 64u) {
        if (!spend()) {
            return VS_ERR_STATE;
        }
        memset((void *)(r->base + at), 0xFF, 64u);
    }
    return VS_OK;
}

int board_flash_program(uintptr_t addr, const void *data, uint32_t len)
{
    const uint8_t *d = data;
    for (uint32_t i = 0; i < len; i++) {
        if (!spend()) {
            return VS_ERR_STATE;
        }
        uint8_t *cell = (uint8_t *)(addr + i);
        *cell &= d[i];
        if (*cell != d[i]) {
            return VS_ERR_STATE;
        }
    }
    return VS_OK;
}

static uint8_t shadow[IDS][64];
static int shadow_len[IDS]; /* 0: never written */

static int fail(const char *what, int step)
{
    printf("flash_store FAILED: %s at step %d\n", what, step);
    return 1;
}

static int matches(uint8_t id, const uint8_t *want, int want_len)
{
    uint8_t got[64];
    const int n = vs_flash_store_read(id, got, sizeof got);
    return n == want_len && memcmp(got, want, (size_t)want_len) == 0;
}

static int all_match(int skip)
{
    for (uint8_t id = 0; id < IDS; id++) {
        if ((int)id != skip && !matches(id, shadow[id], shadow_len[id])) {
            return 0;
        }
    }
    return 1;
}

static void random_record(uint8_t *buf, int *len)
{
    *len = 1 + rand() % 64;
    for (int i = 0; i < *len; i++) {
        buf[i] = (uint8_t)rand();
    }
}

int main(void)
{
    srand(12345);
    memset(flash, 0xFF, sizeof flash);
    const uintptr_t b = (uintptr_t)flash;
    regions[VS_FLASH_SLOT_A] = (board_flash_region_t){b, SLOT};
    regions[VS_FLASH_SLOT_B] = (board_flash_region_t){b + SLOT, SLOT};
    regions[VS_FLASH_STORE_0] = (board_flash_region_t){b + 2u * SLOT, PAGE};
    regions[VS_FLASH_STORE_1] = (board_flash_region_t){b + 2u * SLOT + PAGE, PAGE};

    uint8_t tmp[64];
    if (vs_flash_store_read(0, tmp, sizeof tmp) != 0) {
        return fail("a blank chip holds a record", 0);
    }
    if (vs_flash_store_write(VS_FLASH_STORE_IDS, tmp, 1) != VS_ERR_ARG || vs_flash_store_write(0, tmp, 65) != VS_ERR_ARG) {
        return fail("an out-of-range id or length was accepted", 0);
    }
    for (int step = 0; step < WRITES; step++) { /* (1) round trips through compactions */
        const uint8_t id = (uint8_t)(rand() % (int)IDS);
        random_record(shadow[id], &shadow_len[id]);
        if (vs_flash_store_write(id, shadow[id], (size_t)shadow_len[id]) != VS_OK) {
            return fail("write", step);
        }
        if (!all_match(-1)) {
            return fail("read-back", step);
        }
    }
    const unsigned compactions = erases_of_store;
    if (compactions < 20u) {
        return fail("too few compactions to mean anything", WRITES);
    }
    int cut_in_compaction = 0;
    for (int cut = 0; cut < CUTS; cut++) { /* (2) power cuts */
        const uint8_t id = (uint8_t)(rand() % (int)IDS);
        uint8_t rec[64];
        int len;
        random_record(rec, &len);
        const unsigned erases_before = erases_of_store;
        budget = rand() % 600; /* a record costs <= 76 units, a compaction ~16 erase units + live records */
        const int rc = vs_flash_store_write(id, rec, (size_t)len);
        const int was_cut = !powered;
        cut_in_compaction += was_cut && erases_of_store != erases_before;
        budget = -1;
        powered = 1; /* power back: contents as the cut left them */
        if (!was_cut && rc != VS_OK) {
            return fail("write without a cut failed", cut);
        }
        if (!all_match(id)) {
            return fail("another record changed", cut);
        }
        if (matches(id, rec, len)) {
            memcpy(shadow[id], rec, (size_t)len);
            shadow_len[id] = len;
        } else if (!matches(id, shadow[id], shadow_len[id])) {
            return fail("the cut record is neither old nor new", cut);
        }
        random_record(shadow[id], &shadow_len[id]); /* and the store keeps working */
        if (vs_flash_store_write(id, shadow[id], (size_t)shadow_len[id]) != VS_OK || !all_match(-1)) {
            return fail("write after a cut", cut);
        }
    }
    if (cut_in_compaction < 10) {
        return fail("too few cuts landed inside a compaction", CUTS);
    }
    /* the model-slot io: erase, NOR writes, mapping */
    const vs_model_update_io_t *io = vs_flash_model_io();
    static const uint8_t data[5] = {1, 2, 3, 4, 5};
    if (io->slot_bytes != SLOT || io->erase(io->ctx, 1) != VS_OK || io->write(io->ctx, 1, 10, data, 5) != VS_OK ||
        memcmp(io->map(io->ctx, 1) + 10, data, 5) != 0 || io->write(io->ctx, 1, SLOT - 2u, data, 5) != VS_ERR_ARG ||
        io->erase(io->ctx, 2) != VS_ERR_ARG) {
        return fail("slot io", 0);
    }
    printf("flash_store ok %d %d %u (cuts inside a compaction: %d)\n", WRITES, CUTS, compactions, cut_in_compaction);
    return 0;
}
