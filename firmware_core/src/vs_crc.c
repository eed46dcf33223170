/* CRC-32/ISO-HDLC with a nibble table: 64 bytes of flash instead of 1 KB for the byte-wise table; the
 * protocol's frames are at most 1044 bytes, so the extra shift per byte costs little. */
#include "vs/vs_crc.h"

static const uint32_t vs_crc_nibble[16] = {
    0x00000000U, 0x1DB71064U, 0x3B6E20C8U, 0x26D930ACU, 0x76DC4190U, 0x6B6B51F4U, 0x4DB26158U, 0x5005713CU,
    0xEDB88320U, 0xF00F9344U, 0xD6D6A3E8U, 0xCB61B38CU, 0x9B64C2B0U, 0x86D3D2D4U, 0xA00AE278U, 0xBDBDF21CU,
};

uint32_t vs_crc32_update(uint32_t crc, const uint8_t *data, size_t len)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) {
        c ^= data[i];
        c = (c >> 4) ^ vs_crc_nibble[c & 15U];
        c = (c >> 4) ^ vs_crc_nibble[c & 15U];
    }
    return ~c;
}

uint32_t vs_crc32(const uint8_t *data, size_t len)
{
    return vs_crc32_update(0U, data, len);
}
