/* libFuzzer target for the C protocol decoder (docs/protocol.md section 8).
 *
 * Build: clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ifirmware_core/include fuzz_protocol.c
 *        ../src/vs_protocol.c ../src/vs_cobs.c ../src/vs_crc.c
 *
 * Input byte 0 picks the piece size the stream is fed in (1..256 bytes); the rest is the byte stream.
 * Invariants checked (a violation aborts, which libFuzzer reports as a crash):
 *   - no out-of-bounds access or undefined behaviour anywhere (ASan/UBSan);
 *   - every byte is consumed and counted; the decoder's buffer never exceeds VS_PROTO_MAX_ENCODED;
 *   - every accepted message re-encodes (VS_OK, <= VS_PROTO_MAX_WIRE bytes) and that frame decodes to a
 *     message that re-encodes to the very same bytes;
 *   - vs_proto_decode_frame on the whole input (an exact-size heap copy) never touches bytes outside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vs_proto_decoder_t dec;
static vs_proto_msg_t msg, msg2;
static uint8_t enc1[VS_PROTO_MAX_WIRE], enc2[VS_PROTO_MAX_WIRE];

static void check_roundtrip(const vs_proto_msg_t *m)
{
    size_t n1 = 0, n2 = 0;
    if (vs_proto_encode(m, enc1, sizeof enc1, &n1) != VS_OK || n1 > VS_PROTO_MAX_WIRE || n1 < 2U) {
        abort();
    }
    memcpy(enc2, enc1, n1);
    if (vs_proto_decode_frame(enc2, n1, &msg2) != VS_OK) {
        abort();
    }
    if (vs_proto_encode(&msg2, enc2, sizeof enc2, &n2) != VS_OK || n2 != n1 || memcmp(enc1, enc2, n1) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk, pos = 1;
    uint32_t accepted = 0;
    uint8_t *copy;
    if (size == 0U) {
        return 0;
    }
    chunk = (size_t)data[0] + 1U;
    vs_proto_decoder_init(&dec);
    while (pos < size) {
        size_t piece = size - pos < chunk ? size - pos : chunk;
        while (piece > 0U) {
            int got = 0;
            size_t used = vs_proto_decoder_feed(&dec, data + pos, piece, &msg, &got);
            if (used == 0U || used > piece || dec.len > VS_PROTO_MAX_ENCODED) {
                abort();
            }
            pos += used;
            piece -= used;
            if (got) {
                accepted++;
                check_roundtrip(&msg);
            }
        }
    }
    if (dec.counters.bytes != size - 1U || dec.counters.frames != accepted) {
        abort();
    }
    copy = malloc(size - 1U + 1U);
    if (copy != NULL) {
        memcpy(copy, data + 1, size - 1U);
        if (vs_proto_decode_frame(copy, size - 1U, &msg) == VS_OK) {
            check_roundtrip(&msg);
        }
        free(copy);
    }
    return 0;
}
