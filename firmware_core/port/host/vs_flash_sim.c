/*
 * vs_flash_sim.c - NOR flash + record store simulator with power cuts; see vs_flash_sim.h.
 */
#include "vs_flash_sim.h"

#include <string.h>

#include "vs/vs_status.h"

/* Spend one unit; 0 when the power is (now) gone. */
static int spend(vs_flash_sim_t *sim)
{
    if (!sim->powered) {
        return 0;
    }
    if (sim->budget == 0) {
        sim->powered = 0;
        return 0;
    }
    if (sim->budget > 0) {
        sim->budget--;
    }
    sim->units++;
    return 1;
}

static int sim_erase(void *ctx, uint8_t slot)
{
    vs_flash_sim_t *sim = ctx;
    if (slot > 1u) {
        return VS_ERR_ARG;
    }
    sim->erases++;
    /* Sector by sector, in pieces: a cut leaves the first part of the current sector erased. */
    for (uint32_t at = 0; at < sim->slot_bytes; at += VS_FLASH_SIM_ERASE_BYTES_PER_UNIT) {
        if (!spend(sim)) {
            return VS_ERR_STATE;
        }
        memset(&sim->slot[slot][at], 0xFF, VS_FLASH_SIM_ERASE_BYTES_PER_UNIT);
    }
    return VS_OK;
}

static int sim_write(void *ctx, uint8_t slot, uint32_t offset, const void *data, uint32_t len)
{
    vs_flash_sim_t *sim = ctx;
    const uint8_t *d = data;
    if (slot > 1u || offset > sim->slot_bytes || len > sim->slot_bytes - offset || (d == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    sim->programs++;
    for (uint32_t i = 0; i < len; i++) {
        if (!spend(sim)) {
            return VS_ERR_STATE;
        }
        uint8_t *cell = &sim->slot[slot][offset + i];
        *cell &= d[i]; /* NOR: programming only clears bits */
        if (*cell != d[i]) {
            return VS_ERR_STATE; /* the byte was not erased: a driver bug, refused as a failed verify */
        }
    }
    return VS_OK;
}

static const uint8_t *sim_map(void *ctx, uint8_t slot)
{
    vs_flash_sim_t *sim = ctx;
    return slot > 1u ? NULL : sim->slot[slot];
}

static int sim_store_read(void *ctx, uint8_t id, void *buf, uint32_t len)
{
    const vs_flash_sim_t *sim = ctx;
    if (id >= VS_FLASH_SIM_RECORDS || (buf == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    const uint32_t have = sim->rec_len[id];
    memcpy(buf, sim->rec[id], have < len ? have : len);
    return (int)have;
}

static int sim_store_write(void *ctx, uint8_t id, const void *data, uint32_t len)
{
    vs_flash_sim_t *sim = ctx;
    const uint8_t *d = data;
    if (id >= VS_FLASH_SIM_RECORDS || len > VS_FLASH_SIM_RECORD_MAX || (d == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    if (!sim->powered) {
        return VS_ERR_STATE;
    }
    sim->record_writes++;
    sim->rec_len[id] = len; /* the length goes first: a torn record has the new length and mixed bytes */
    for (uint32_t i = 0; i < len; i++) {
        if (!spend(sim)) {
            return VS_ERR_STATE;
        }
        sim->rec[id][i] = d[i];
    }
    return VS_OK;
}

int vs_flash_sim_init(vs_flash_sim_t *sim, uint32_t slot_bytes, uint32_t sector_bytes)
{
    if (sim == NULL || slot_bytes == 0u || slot_bytes > VS_FLASH_SIM_MAX_SLOT_BYTES || sector_bytes == 0u ||
        slot_bytes % sector_bytes != 0u || sector_bytes % VS_FLASH_SIM_ERASE_BYTES_PER_UNIT != 0u) {
        return VS_ERR_ARG;
    }
    memset(sim, 0, sizeof *sim);
    memset(sim->slot, 0xFF, sizeof sim->slot);
    sim->slot_bytes = slot_bytes;
    sim->sector_bytes = sector_bytes;
    sim->budget = -1;
    sim->powered = 1;
    sim->io.ctx = sim;
    sim->io.slot_bytes = slot_bytes;
    sim->io.erase = sim_erase;
    sim->io.write = sim_write;
    sim->io.map = sim_map;
    sim->io.store_read = sim_store_read;
    sim->io.store_write = sim_store_write;
    return VS_OK;
}

void vs_flash_sim_cut_after(vs_flash_sim_t *sim, int64_t units)
{
    sim->budget = units < 0 ? -1 : units;
}

void vs_flash_sim_power_on(vs_flash_sim_t *sim)
{
    sim->powered = 1;
    sim->budget = -1;
}

const vs_model_update_io_t *vs_flash_sim_io(vs_flash_sim_t *sim)
{
    return &sim->io;
}

uint64_t vs_flash_sim_units(const vs_flash_sim_t *sim)
{
    return sim->units;
}

size_t vs_flash_sim_size(void)
{
    return sizeof(vs_flash_sim_t);
}
