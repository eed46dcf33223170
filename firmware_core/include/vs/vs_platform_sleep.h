/*
 * vs_platform_sleep.h - sleep until an interrupt may have produced work, without losing a wake-up.
 *
 * The race this contract closes: the main loop checks "nothing to do", an interrupt then pushes samples, and
 * the loop goes to sleep anyway - the samples wait until the next, unrelated interrupt. A port therefore
 * implements vs_platform_sleep_until_event as
 *
 *     disable interrupts (Cortex-M: cpsid i / PRIMASK=1; RV32: clear mstatus.MIE)
 *     if (!work_pending(ctx)) wait_for_interrupt();   // Cortex-M WFI, RV32 wfi
 *     enable interrupts (cpsie i; set mstatus.MIE)     // the pending ISR runs here
 *
 * It is race-free because an interrupt that becomes pending while interrupts are masked still ends WFI
 * (ARMv7-M Architecture Reference Manual, B1.5.19 "Wait For Interrupt": WFI wakes on any pending interrupt
 * that would preempt if PRIMASK were 0; RISC-V Privileged Spec 3.3.3: wfi resumes when an interrupt is pending
 * regardless of mstatus.MIE). The check runs with interrupts masked, so it sees every push that happened
 * before WFI. The port's periodic tick (SysTick / mtimecmp) must be enabled so time-based work (STATUS) wakes
 * the loop too. On the host the fake returns at once (the test drives time). ESP-IDF: block on a task
 * notification given by the ISR (FreeRTOS keeps the notification, so it has no such race).
 *
 * work_pending is called with interrupts disabled: it must only read memory (vs_node_has_work does).
 */
#ifndef VS_PLATFORM_SLEEP_H
#define VS_PLATFORM_SLEEP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*vs_platform_work_fn)(const void *ctx);

/* Sleep until an interrupt, unless work_pending(ctx) is nonzero (checked with interrupts masked). */
void vs_platform_sleep_until_event(vs_platform_work_fn work_pending, const void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* VS_PLATFORM_SLEEP_H */
