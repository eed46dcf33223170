/*
 * vs_bench_image.c - the same int8 model run two ways on the emulated targets, for
 * benchmarks/bench_model_image.py: generated C (vs_model_data.c, vs_model_run_s8) and the flat model image
 * (vs_bench_image.h, vs_model_image_open + vs_model_image_run_s8), on the same input.
 *
 * Regions between vs_bench_mark() calls: 0 -> 1 empty (marker overhead), 1 -> 2 generated-C inference,
 * 2 -> 3 vs_model_image_open (CRC and every structural check), 3 -> 4 image inference. Prints SAME 1 when the
 * two outputs are identical, and the stack high-water mark where the port paints the stack.
 */
#include <stdint.h>
#include <string.h>

#include "vs/vs_model.h"
#include "vs/vs_model_image.h"
#include "vs/vs_platform_console.h"
#include "vs_bench_image.h"
#include "vs_model_data.h"

void vs_bench_mark(uint32_t id);

__attribute__((noinline)) void vs_bench_mark(uint32_t id)
{
    __asm__ volatile("" : : "r"(id) : "memory");
}

static int32_t arena[VS_MODEL_ARENA_WORDS + 64u];
static int8_t in[VS_MODEL_INPUT_BYTES];
static int8_t out_c[VS_MODEL_OUTPUT_BYTES];
static int8_t out_image[VS_MODEL_OUTPUT_BYTES];
static vs_model_image_t img;

static void put_line(const char *tag, uint32_t v)
{
    char buf[11];
    static const char hex[] = "0123456789abcdef";
    buf[0] = ' ';
    for (int i = 0; i < 8; i++) {
        buf[1 + i] = hex[(v >> (28 - 4 * i)) & 0xfu];
    }
    buf[9] = '\n';
    buf[10] = '\0';
    vs_platform_console_write(tag);
    vs_platform_console_write(buf);
}

int main(void)
{
    for (unsigned i = 0; i < sizeof in; i++) {
        in[i] = (int8_t)(i * 37u + 11u); /* any int8 pattern: both paths see the same bytes */
    }
    vs_bench_mark(0);
    vs_bench_mark(1);
    const int rc_c = vs_model_run_s8(&vs_model, arena, sizeof arena, in, out_c);
    vs_bench_mark(2);
    const int rc_open = vs_model_image_open(&img, vs_bench_image_words, VS_BENCH_IMAGE_BYTES);
    vs_bench_mark(3);
    const int rc_img = vs_model_image_run_s8(&img, arena, sizeof arena, in, out_image);
    vs_bench_mark(4);
    const int same = rc_c == VS_OK && rc_open == VS_OK && rc_img == VS_OK && memcmp(out_c, out_image, sizeof out_c) == 0;
    put_line("RC_C", (uint32_t)-rc_c);
    put_line("RC_OPEN", (uint32_t)-rc_open);
    put_line("RC_IMAGE", (uint32_t)-rc_img);
    put_line("SAME", (uint32_t)same);
    put_line("STACK", vs_platform_stack_high_water());
    vs_platform_exit(same ? 0 : 1);
    return 0;
}
