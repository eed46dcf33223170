/*
 * vs_crc: CRC-32/ISO-HDLC, the frame check of the vibsentry wire protocol (docs/protocol.md, section 2).
 *
 * Parameters: width 32, polynomial 0x04C11DB7 (processed reflected, 0xEDB88320), init 0xFFFFFFFF,
 * refin = refout = true, xorout 0xFFFFFFFF, check value vs_crc32("123456789", 9) == 0xCBF43926.
 * Same value as Python's zlib.crc32.
 *
 * Table: 16 entries x 4 bytes = 64 bytes of flash (two lookups per byte), no RAM. Reentrant and ISR safe
 * (no state outside the arguments).
 */
#ifndef VS_CRC_H
#define VS_CRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Continue a CRC: pass 0 as `crc` for the first piece, then the previous return value (zlib convention).
 * `data` may be NULL only when `len` is 0. Returns the CRC of everything fed so far. */
uint32_t vs_crc32_update(uint32_t crc, const uint8_t *data, size_t len);

/* CRC of one buffer: vs_crc32_update(0, data, len). */
uint32_t vs_crc32(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* VS_CRC_H */
