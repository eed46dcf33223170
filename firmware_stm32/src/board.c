/*
 * STM32F405 board services: clock tree (HW=1), SysTick time base, reset cause, boot counter, IWDG (HW=1).
 */
#include "board.h"
#include "stm32f4_regs.h"
#include "vs/vs_platform_watchdog.h"

/* ---- clock ------------------------------------------------------------------------------------------- */
void board_clock_init(void)
{
#if HW
    /* HSE 8 MHz crystal -> PLL: VCO = 8 / M(8) x N(336) = 336 MHz, SYSCLK = VCO / P(2) = 168 MHz,
     * USB/SDIO = VCO / Q(7) = 48 MHz (RM0090 7.3.2 RCC_PLLCFGR; limits in DS8626 Table 15). Flash needs 5 wait
     * states at 168 MHz and 2.7-3.6 V (RM0090 Table 10), set before switching. AHB = 168, APB1 = /4 = 42 MHz,
     * APB2 = /2 = 84 MHz (RCC_CFGR PPRE1 = 101b, PPRE2 = 100b). */
    RCC_CR |= RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY)) {
    }
    RCC_PLLCFGR = 8u | (336u << 6) | (0u << 16) /* P = 2 */ | (1u << 22) /* HSE */ | (7u << 24);
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | 5u;
    RCC_CFGR = (5u << 10) | (4u << 13) | 2u; /* PPRE1 /4, PPRE2 /2, SW = PLL */
    while (((RCC_CFGR >> 2) & 3u) != 2u) {
    }
#endif
}

/* ---- SysTick: 1 kHz, processor clock (CLKSOURCE = 1) ------------------------------------------------- */
#define TICKS_PER_MS (BOARD_CORE_HZ / 1000u)
static volatile uint32_t ms_count;

void SysTick_Handler(void)
{
    ms_count++;
}

void board_systick_init(void)
{
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE */
}

uint64_t board_time_us(void)
{
    /* A consistent (milliseconds, SysTick value) pair: retry when the handler ran between the two reads; when
     * the tick is pending but its handler has not run (we may run with PRIMASK set), the counter has wrapped
     * and that millisecond is over. */
    uint32_t ms, val, pending;
    do {
        ms = ms_count;
        val = SYST_CVR;
        pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
        if (pending) {
            val = SYST_CVR;
        }
    } while (ms != ms_count);
    if (pending) {
        ms++;
    }
    return (uint64_t)ms * 1000u + (uint64_t)(TICKS_PER_MS - 1u - val) / (TICKS_PER_MS / 1000u);
}

/* ---- reset cause ----------------------------------------------------------------------------------------- */
#define WARM_MAGIC 0x56534E31u /* "VSN1" */
static uint8_t reset_cause = 0xFFu;

volatile board_persist_t *board_persist(void)
{
#if HW
    static int open;
    if (!open) {
        RCC_APB1ENR |= RCC_APB1ENR_PWREN;
        PWR_CR |= PWR_CR_DBP; /* backup domain write access (RM0090 5.4.1) */
        RCC_AHB1ENR |= RCC_AHB1ENR_BKPSRAMEN;
        (void)RCC_AHB1ENR;
        open = 1;
    }
    return (volatile board_persist_t *)(uintptr_t)BKPSRAM_BASE;
#else
    return (volatile board_persist_t *)(uintptr_t)SRAM2_BASE;
#endif
}

uint8_t board_reset_cause(void)
{
    if (reset_cause != 0xFFu) {
        return reset_cause;
    }
#if HW
    const uint32_t csr = RCC_CSR;
    RCC_CSR |= RCC_CSR_RMVF; /* clear the flags so the next reset reports only its own cause */
    if (csr & (RCC_CSR_IWDGRSTF | RCC_CSR_WWDGRSTF)) {
        reset_cause = VS_RESET_WATCHDOG;
    } else if (csr & RCC_CSR_BORRSTF) {
        reset_cause = VS_RESET_BROWNOUT;
    } else if (csr & RCC_CSR_PORRSTF) {
        reset_cause = VS_RESET_POWER_ON;
    } else if (csr & RCC_CSR_SFTRSTF) {
        reset_cause = VS_RESET_SOFTWARE;
    } else {
        reset_cause = VS_RESET_PIN;
    }
#else
    volatile board_persist_t *p = board_persist();
    reset_cause = p->warm_magic == WARM_MAGIC ? VS_RESET_SOFTWARE : VS_RESET_POWER_ON;
    p->warm_magic = WARM_MAGIC;
#endif
    return reset_cause;
}

void board_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_SYSRESETREQ;
    for (;;) {
    }
}

#if HW
static int watchdog_running;
#endif

/* ---- IWDG (HW=1): LSI ~32 kHz / 64 = 500 Hz, reload 1000 -> ~2 s (RM0090 21.3.3, Table 107). -------- */
void board_watchdog_start(void)
{
#if HW
    IWDG_KR = IWDG_KEY_START;
    IWDG_KR = IWDG_KEY_UNLOCK;
    IWDG_PR = 4u; /* /64 */
    IWDG_RLR = 1000u;
    while (IWDG_SR != 0u) { /* PVU/RVU: the new values reached the LSI domain */
    }
    IWDG_KR = IWDG_KEY_FEED;
    watchdog_running = 1;
#endif
}

void board_watchdog_slow(int slow)
{
#if HW
    if (!watchdog_running) {
        return;
    }
    while (IWDG_SR != 0u) { /* a previous PR update still on its way to the LSI domain (RM0090 21.4.4) */
    }
    IWDG_KR = IWDG_KEY_FEED;
    IWDG_KR = IWDG_KEY_UNLOCK;
    IWDG_PR = slow ? 6u : 4u; /* /256: reload 1000 -> ~8 s; /64: ~2 s */
    IWDG_KR = IWDG_KEY_FEED;
#else
    (void)slow;
#endif
}

void board_watchdog_feed(void)
{
#if HW
    IWDG_KR = IWDG_KEY_FEED;
#endif
}

/* ---- NVIC ---------------------------------------------------------------------------------------------- */
void board_nvic_enable(uint32_t irq, uint8_t priority)
{
    NVIC_IPR_BYTE(irq) = (uint8_t)(priority << 4); /* the F4 implements the top 4 priority bits */
    NVIC_ICPR(irq >> 5) = 1u << (irq & 31u);
    NVIC_ISER(irq >> 5) = 1u << (irq & 31u);
}
