/*
 * fuzz_model_image.c - libFuzzer target for the two node-side decoders of a model update:
 * vs_model_image_open (+ a run of every image it accepts) and vs_model_manifest_parse.
 *
 * The first input byte picks the path: 0 = the rest as an image as it is; 1 = the rest as an image with its
 * size field and CRC-32 recomputed (what a buggy tool or an attacker holding the CRC would send), so the
 * structural checks behind the CRC are exercised; 2 = the rest as a signed-manifest JSON. Every accepted
 * image is run once on a zero input in an arena of exactly its arena_bytes (heap, so ASan sees overruns).
 * tests/firmware/test_model_image_fuzz.py builds it with clang -fsanitize=fuzzer,address,undefined and runs it with a
 * fixed seed and run count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_crc.h"
#include "vs/vs_model_image.h"
#include "vs/vs_model_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u || size > (1u << 20)) {
        return 0;
    }
    const uint8_t mode = data[0] % 3u;
    const size_t n = size - 1u;
    if (mode == 2u) {
        uint8_t *copy = malloc(n ? n : 1u);
        if (copy != NULL) {
            memcpy(copy, data + 1, n);
            vs_model_manifest_t m;
            (void)vs_model_manifest_parse(copy, n, &m);
            free(copy);
        }
        return 0;
    }
    const size_t padded = (n + 3u) & ~(size_t)3u;
    uint32_t *words = malloc(padded ? padded : 4u); /* malloc: 4-byte aligned, as the image requires */
    if (words == NULL) {
        return 0;
    }
    uint8_t *img_bytes = (uint8_t *)words;
    memcpy(img_bytes, data + 1, n);
    if (mode == 1u && n >= VS_MODEL_IMAGE_HEADER_BYTES + 4u && n % 4u == 0u) {
        put32(img_bytes + 8, (uint32_t)n);
        put32(img_bytes + n - 4u, vs_crc32(img_bytes, n - 4u));
    }
    vs_model_image_t img;
    /* run only models of bounded size and work: an accepted model may legitimately be huge or slow (a node
     * bounds that with its arena and, for time, its watchdog and the TRIAL revert) */
    if (vs_model_image_open(&img, img_bytes, n) == VS_OK && img.arena_bytes <= (64u << 10) &&
        img.input_bytes <= (64u << 10) && img.output_bytes <= (64u << 10) && img.work <= 2000000u) {
        void *arena = malloc(img.arena_bytes ? img.arena_bytes : 4u);
        void *in = calloc(1, img.input_bytes ? img.input_bytes : 1u);
        void *out = malloc(img.output_bytes ? img.output_bytes : 1u);
        if (arena != NULL && in != NULL && out != NULL) {
            (void)vs_model_image_run(&img, arena, img.arena_bytes, in, out);
        }
        free(arena);
        free(in);
        free(out);
    }
    free(words);
    return 0;
}
