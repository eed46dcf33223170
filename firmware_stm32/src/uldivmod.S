/*
 * uldivmod.S - a compact __aeabi_uldivmod (unsigned 64-bit division, ARM RTABI section 4.2: numerator in
 * r1:r0, denominator in r3:r2; quotient returned in r1:r0, remainder in r3:r2).
 *
 * Why: libgcc's version (__aeabi_uldivmod + __udivmoddi4) is ~730 bytes of flash, and the node divides 64-bit
 * numbers only once per STATUS (microseconds to seconds of uptime), so speed does not matter there but the
 * bytes do: with signed model updates the board image is within a few hundred bytes of its 64 KB budget.
 * This is restoring shift-and-subtract, one quotient bit per iteration (64 iterations, ~600 cycles).
 * A zero denominator returns quotient 2^64 - 1 and remainder = numerator (no __aeabi_ldiv0 trap).
 */
    .syntax unified
    .thumb
    .text
    .global __aeabi_uldivmod
    .type __aeabi_uldivmod, %function
    .thumb_func
__aeabi_uldivmod:
    push    {r4-r7, lr}
    movs    r4, #0              /* remainder r5:r4 */
    movs    r5, #0
    movs    r6, #64             /* bits left */
1:  lsls    r0, r0, #1          /* (remainder:numerator) <<= 1; the quotient bit enters at r0 bit 0 */
    adcs    r1, r1, r1
    adcs    r4, r4, r4
    adcs    r5, r5, r5
    bcs     2f                  /* the remainder overflowed 64 bits: it certainly exceeds the denominator */
    subs    r7, r4, r2
    sbcs    r12, r5, r3
    bcc     3f                  /* borrow: remainder < denominator, quotient bit 0 */
    b       4f
2:  subs    r7, r4, r2
    sbc     r12, r5, r3
4:  mov     r4, r7
    mov     r5, r12
    orr     r0, r0, #1
3:  subs    r6, r6, #1
    bne     1b
    mov     r2, r4
    mov     r3, r5
    pop     {r4-r7, pc}
    .size __aeabi_uldivmod, . - __aeabi_uldivmod
