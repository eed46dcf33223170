/* The record store and model-slot io of the bare-metal ports on NOR flash (see vs_flash_store.h). */
#include "vs_flash_store.h"

#include "vs/vs_platform_store.h"
#include "vs/vs_status.h"

#define PAGE_MAGIC 0x31505356u /* "VSP1": programmed last, after the live records were copied */
#define PAGE_HEADER 12u        /* magic, seq, ~seq */
#define REC_TAG 0xA5u
#define REC_COMMIT 0x3CC3A55Au /* neither erased (all ones) nor reachable from a torn program of itself */
#define ERASED 0xFFFFFFFFu

/* Plain reads: flash changes only inside board_flash_erase/program, calls the compiler cannot see through. */
static uint32_t rd32(uintptr_t addr)
{
    return *(const uint32_t *)addr;
}

static const board_flash_region_t *page_region(int page)
{
    return board_flash_region((uint8_t)(VS_FLASH_STORE_0 + (uint8_t)page));
}

/* 1 and *seq when the page holds a complete header. */
static int page_seq(int page, uint32_t *seq)
{
    const uintptr_t b = page_region(page)->base;
    if (rd32(b) != PAGE_MAGIC || rd32(b + 4u) != ~rd32(b + 8u)) {
        return 0;
    }
    *seq = rd32(b + 4u);
    return 1;
}

/* The page in force (the valid one with the newer seq), -1 when none is (a blank chip). */
static int active_page(uint32_t *seq)
{
    uint32_t s0 = 0u, s1 = 0u;
    const int v0 = page_seq(0, &s0), v1 = page_seq(1, &s1);
    if (v0 && v1) {
        *seq = (int32_t)(s1 - s0) > 0 ? s1 : s0;
        return (int32_t)(s1 - s0) > 0 ? 1 : 0;
    }
    *seq = v1 ? s1 : s0;
    return v0 ? 0 : (v1 ? 1 : -1);
}

static uint32_t rec_bytes(uint32_t len)
{
    return 4u + ((len + 3u) & ~3u) + 4u;
}

static uint32_t rec_header(uint8_t id, uint8_t len)
{
    return REC_TAG | ((uint32_t)id << 8) | ((uint32_t)len << 16) | ((uint32_t)(uint8_t)~(id ^ len) << 24);
}

/* Walk a page: latest[id] = offset of the newest committed record of each id (0: none). Returns the offset
 * where the next record goes, or the page size when the page cannot take one (full, or a torn header after
 * which nothing can be trusted). */
static uint32_t scan(const board_flash_region_t *r, uint32_t latest[VS_FLASH_STORE_IDS])
{
    for (uint32_t i = 0; i < VS_FLASH_STORE_IDS; i++) {
        latest[i] = 0u;
    }
    uint32_t off = PAGE_HEADER;
    while (off + 4u <= r->size) {
        const uint32_t h = rd32(r->base + off);
        if (h == ERASED) {
            return off;
        }
        const uint8_t id = (uint8_t)(h >> 8), len = (uint8_t)(h >> 16);
        if (h != rec_header(id, len) || id >= VS_FLASH_STORE_IDS || len > VS_PLATFORM_STORE_RECORD_MAX) {
            return r->size;
        }
        const uint32_t n = rec_bytes(len);
        if (n > r->size - off) {
            return r->size;
        }
        if (rd32(r->base + off + n - 4u) == REC_COMMIT) {
            latest[id] = off;
        }
        off += n;
    }
    return r->size;
}

static int erased(uintptr_t addr, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 4u) {
        if (rd32(addr + i) != ERASED) {
            return 0;
        }
    }
    return 1;
}

/* Header, data, commit word: in that order, so a cut leaves the record uncommitted. */
static int append(const board_flash_region_t *r, uint32_t off, uint8_t id, const void *data, uint32_t len)
{
    const uint32_t h = rec_header(id, (uint8_t)len), commit = REC_COMMIT;
    int rc = board_flash_program(r->base + off, &h, 4u);
    if (rc == VS_OK && len != 0u) {
        rc = board_flash_program(r->base + off + 4u, data, len);
    }
    if (rc == VS_OK) {
        rc = board_flash_program(r->base + off + rec_bytes(len) - 4u, &commit, 4u);
    }
    return rc;
}

int vs_flash_store_read(uint8_t id, void *buf, size_t len)
{
    if (id >= VS_FLASH_STORE_IDS || (buf == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    uint32_t seq, latest[VS_FLASH_STORE_IDS];
    const int p = active_page(&seq);
    if (p < 0) {
        return 0;
    }
    const board_flash_region_t *r = page_region(p);
    (void)scan(r, latest);
    if (latest[id] == 0u) {
        return 0;
    }
    const uint32_t stored = (rd32(r->base + latest[id]) >> 16) & 0xFFu;
    const uint8_t *src = (const uint8_t *)(r->base + latest[id] + 4u);
    for (size_t i = 0; i < len && i < stored; i++) {
        ((uint8_t *)buf)[i] = src[i];
    }
    return (int)stored;
}

int vs_flash_store_write(uint8_t id, const void *data, size_t len)
{
    if (id >= VS_FLASH_STORE_IDS || len > VS_PLATFORM_STORE_RECORD_MAX || (data == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    uint32_t seq = 0u, latest[VS_FLASH_STORE_IDS] = {0};
    const int p = active_page(&seq);
    const uint32_t need = rec_bytes((uint32_t)len);
    if (p >= 0) {
        const board_flash_region_t *r = page_region(p);
        const uint32_t end = scan(r, latest);
        if (end < r->size && need <= r->size - end && erased(r->base + end, need)) {
            return append(r, end, id, data, (uint32_t)len);
        }
    }
    /* Page full (or none yet): the live records and the new one go to the other page, erased first. */
    const int q = p == 0 ? 1 : 0;
    const board_flash_region_t *r = p >= 0 ? page_region(p) : NULL;
    const board_flash_region_t *nr = page_region(q);
    int rc = board_flash_erase((uint8_t)(VS_FLASH_STORE_0 + (uint8_t)q));
    const uint32_t hdr[2] = {seq + 1u, ~(seq + 1u)};
    if (rc == VS_OK) {
        rc = board_flash_program(nr->base + 4u, hdr, sizeof hdr);
    }
    uint32_t off = PAGE_HEADER;
    for (uint8_t i = 0; rc == VS_OK && r != NULL && i < VS_FLASH_STORE_IDS; i++) {
        if (i != id && latest[i] != 0u) {
            const uint32_t n = (rd32(r->base + latest[i]) >> 16) & 0xFFu;
            rc = append(nr, off, i, (const void *)(r->base + latest[i] + 4u), n);
            off += rec_bytes(n);
        }
    }
    if (rc == VS_OK) {
        rc = append(nr, off, id, data, (uint32_t)len);
    }
    if (rc == VS_OK) {
        const uint32_t magic = PAGE_MAGIC;
        rc = board_flash_program(nr->base, &magic, 4u);
    }
    return rc;
}

/* ---- vs_model_update_io_t over the two slot regions and this store ------------------------------------ */
static int io_erase(void *ctx, uint8_t slot)
{
    (void)ctx;
    return slot > VS_FLASH_SLOT_B ? VS_ERR_ARG : board_flash_erase(slot);
}

static int io_write(void *ctx, uint8_t slot, uint32_t offset, const void *data, uint32_t len)
{
    (void)ctx;
    if (slot > VS_FLASH_SLOT_B) {
        return VS_ERR_ARG;
    }
    const board_flash_region_t *r = board_flash_region(slot);
    if (offset > r->size || len > r->size - offset || (data == NULL && len != 0u)) {
        return VS_ERR_ARG;
    }
    return len == 0u ? VS_OK : board_flash_program(r->base + offset, data, len);
}

static const uint8_t *io_map(void *ctx, uint8_t slot)
{
    (void)ctx;
    return slot > VS_FLASH_SLOT_B ? NULL : (const uint8_t *)board_flash_region(slot)->base;
}

static int io_store_read(void *ctx, uint8_t id, void *buf, uint32_t len)
{
    (void)ctx;
    return vs_flash_store_read(id, buf, len);
}

static int io_store_write(void *ctx, uint8_t id, const void *data, uint32_t len)
{
    (void)ctx;
    return vs_flash_store_write(id, data, len);
}

const vs_model_update_io_t *vs_flash_model_io(void)
{
    static vs_model_update_io_t io;
    const uint32_t a = board_flash_region(VS_FLASH_SLOT_A)->size, b = board_flash_region(VS_FLASH_SLOT_B)->size;
    io.ctx = NULL;
    io.slot_bytes = a < b ? a : b;
    io.erase = io_erase;
    io.write = io_write;
    io.map = io_map;
    io.store_read = io_store_read;
    io.store_write = io_store_write;
    return &io;
}
