/*
 * vs_flash_sim.h - a host simulator of the NOR flash that holds the A/B model slots and of the small record
 * store that holds the update state (vs_model_update.h), with a power cut at any chosen byte.
 *
 * Flash semantics modelled (those of the STM32F4 embedded flash, RM0090 section 3.5-3.6): reads are memory
 * mapped; erase works on whole sectors and sets every byte to 0xFF; programming can only clear bits (the
 * simulator ANDs and reports VS_ERR_STATE when the result is not what was asked, i.e. programming a byte that
 * was not erased), so a driver that forgets an erase fails here as on the chip. Each slot is `sectors_per_slot`
 * sectors of `sector_bytes` (the F405's 128 KB sectors 5..11, RM0090 table 5, would be 1 x 128 KB per slot).
 *
 * Power: every programmed byte, every record byte and every 256 erased bytes spend one unit of `budget`; when
 * it reaches 0 the operation in progress stops where it is (a program leaves its first bytes written, an
 * erase leaves the first part of the sector erased and the rest as it was, a record write leaves its first
 * bytes new and the rest old) and every later write fails, as if the supply had gone. vs_flash_sim_power_on
 * starts a new life with the contents as they were left; `units` counts what a run spent, so a test can first
 * measure an update's cost, then cut at random points inside it.
 *
 * Caller-owned struct and memory (no allocation); host only, not thread-safe.
 */
#ifndef VS_FLASH_SIM_H
#define VS_FLASH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "vs/vs_model_update.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_FLASH_SIM_MAX_SLOT_BYTES (64u * 1024u)
#define VS_FLASH_SIM_RECORDS 8u
#define VS_FLASH_SIM_RECORD_MAX 64u /* = VS_PLATFORM_STORE_RECORD_MAX */
#define VS_FLASH_SIM_ERASE_BYTES_PER_UNIT 256u

typedef struct {
    uint8_t slot[2][VS_FLASH_SIM_MAX_SLOT_BYTES]; /* slot A, slot B (first member: aligned as the struct) */
    uint8_t rec[VS_FLASH_SIM_RECORDS][VS_FLASH_SIM_RECORD_MAX];
    uint32_t rec_len[VS_FLASH_SIM_RECORDS]; /* 0: never written */
    uint32_t slot_bytes, sector_bytes;
    int64_t budget;  /* units left before the power cut; < 0: no cut planned */
    int powered;     /* 0 after a cut until vs_flash_sim_power_on */
    uint64_t units;  /* units spent since init */
    uint32_t erases, programs, record_writes;
    vs_model_update_io_t io; /* filled by init: what vs_model_update_init takes */
} vs_flash_sim_t;

/** Blank flash (all 0xFF), no records, powered, no cut. slot_bytes <= VS_FLASH_SIM_MAX_SLOT_BYTES and a
 *  multiple of sector_bytes. VS_OK or VS_ERR_ARG. */
int vs_flash_sim_init(vs_flash_sim_t *sim, uint32_t slot_bytes, uint32_t sector_bytes);

/** Cut the power after `units` more units (< 0: never). */
void vs_flash_sim_cut_after(vs_flash_sim_t *sim, int64_t units);

/** Power comes back: contents as the cut left them, no cut planned. */
void vs_flash_sim_power_on(vs_flash_sim_t *sim);

/** The io table for vs_model_update_init (points into sim). */
const vs_model_update_io_t *vs_flash_sim_io(vs_flash_sim_t *sim);

/** Units spent since init (for bindings that cannot read the struct). */
uint64_t vs_flash_sim_units(const vs_flash_sim_t *sim);

/** sizeof(vs_flash_sim_t), for bindings that allocate it (ctypes). */
size_t vs_flash_sim_size(void);

#ifdef __cplusplus
}
#endif

#endif /* VS_FLASH_SIM_H */
