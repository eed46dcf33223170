/*
 * vs_stack.h - stack painting for the bare-metal ports (firmware_stm32, firmware_rv32): the start-up code
 * fills the stack region with a pattern, and the high-water mark is the distance from the top to the lowest
 * word that no longer holds it. vs_node reports it in HEALTH (vs_platform_stack_high_water), next to the
 * region's size (vs_platform_stack_size).
 *
 * Bounds are linker symbols, compared as integers (C only orders pointers into one object).
 */
#ifndef VS_STACK_H
#define VS_STACK_H

#include <stdint.h>

#define VS_STACK_PAINT 0xC0FFEE11u

/* Paint [limit, top - keep): keep = bytes at the top in use by the caller's own frame. */
static inline void vs_stack_paint(uintptr_t limit, uintptr_t top, uintptr_t keep)
{
    for (uintptr_t a = limit; a + keep < top; a += sizeof(uint32_t)) {
        *(volatile uint32_t *)a = VS_STACK_PAINT;
    }
}

/* Bytes of stack ever used. */
static inline uint32_t vs_stack_high_water(uintptr_t limit, uintptr_t top)
{
    uintptr_t a = limit;
    while (a < top && *(const volatile uint32_t *)a == VS_STACK_PAINT) {
        a += sizeof(uint32_t);
    }
    return (uint32_t)(top - a);
}

#endif /* VS_STACK_H */
