/*
 * vs_bench_ed25519.c - instruction count and stack of one Ed25519 verification (vs_ed25519_verify) on the
 * emulated targets (QEMU mps2-an386 Cortex-M4F, QEMU virt RV32IMC), for benchmarks/bench_ed25519.py.
 *
 * Regions between vs_bench_mark() calls: 0 -> 1 empty (marker overhead), 1 -> 2 verification of RFC 8032
 * TEST SHA(abc) (a 64-byte message), 2 -> 3 SHA-512 of 1024 bytes (what a longer message adds per KB),
 * 3 -> 4 verification of the same signature with one bit flipped (a rejection costs the same work).
 * Prints VERIFY / REJECT status and, where the port paints its stack, the program's stack high-water mark.
 */
#include <stdint.h>

#include "vs/vs_ed25519.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_sha512.h"

void vs_bench_mark(uint32_t id);

__attribute__((noinline)) void vs_bench_mark(uint32_t id)
{
    __asm__ volatile("" : : "r"(id) : "memory");
}

/* RFC 8032 7.1 TEST SHA(abc): public key, message (SHA-512 of "abc"), signature. */
static const uint8_t PK[32] = {0xec, 0x17, 0x2b, 0x93, 0xad, 0x5e, 0x56, 0x3b, 0xf4, 0x93, 0x2c, 0x70, 0xe1, 0x24, 0x50, 0x34,
                               0xc3, 0x54, 0x67, 0xef, 0x2e, 0xfd, 0x4d, 0x64, 0xeb, 0xf8, 0x19, 0x68, 0x34, 0x67, 0xe2, 0xbf};
static const uint8_t MSG[64] = {
    0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31,
    0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a,
    0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8, 0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd,
    0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8, 0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f};
static uint8_t sig[64] = {
    0xdc, 0x2a, 0x44, 0x59, 0xe7, 0x36, 0x96, 0x33, 0xa5, 0x2b, 0x1b, 0xf2, 0x77, 0x83, 0x9a, 0x00,
    0x20, 0x10, 0x09, 0xa3, 0xef, 0xbf, 0x3e, 0xcb, 0x69, 0xbe, 0xa2, 0x18, 0x6c, 0x26, 0xb5, 0x89,
    0x09, 0x35, 0x1f, 0xc9, 0xac, 0x90, 0xb3, 0xec, 0xfd, 0xfb, 0xc7, 0xc6, 0x64, 0x31, 0xe0, 0x30,
    0x3d, 0xca, 0x17, 0x9c, 0x13, 0x8a, 0xc1, 0x7a, 0xd9, 0xbe, 0xf1, 0x17, 0x73, 0x31, 0xa7, 0x04};
static uint8_t kb[1024];

static void put_line(const char *tag, uint32_t v)
{
    char buf[40];
    static const char hex[] = "0123456789abcdef";
    int n = 0;
    while (n < 24 && tag[n] != '\0') {
        buf[n] = tag[n];
        n++;
    }
    buf[n++] = ' ';
    for (int i = 7; i >= 0; i--) {
        buf[n++] = hex[(v >> (4 * i)) & 0xfu];
    }
    buf[n++] = '\n';
    buf[n] = '\0';
    vs_platform_console_write(buf);
}

int main(void)
{
    uint8_t digest[VS_SHA512_DIGEST_BYTES];
    vs_bench_mark(0);
    vs_bench_mark(1);
    const int ok = vs_ed25519_verify(sig, MSG, sizeof MSG, PK);
    vs_bench_mark(2);
    vs_sha512(kb, sizeof kb, digest);
    vs_bench_mark(3);
    sig[40] ^= 0x01u;
    const int bad = vs_ed25519_verify(sig, MSG, sizeof MSG, PK);
    vs_bench_mark(4);
    put_line("VERIFY", (uint32_t)-ok);
    put_line("REJECT", (uint32_t)-bad);
    put_line("DIGEST0", digest[0]);
    put_line("STACK", vs_platform_stack_high_water());
    /* explicit exit: picolibc's crt0 on the RV32 probe would spin after main returns */
    vs_platform_exit((ok == VS_OK && bad == VS_ED25519_ERR_BAD_SIG) ? 0 : 1);
    return 0;
}
