/*
 * The sampler's timer on RV32 virt: the CLINT machine timer fires at the block rate (sample rate / 64), as
 * TIM2 does in the STM32 QEMU build; without a sensor its interrupt only counts ticks and wakes the loop
 * (samples come as REPLAY_SAMPLES). It keeps running when the sampler is stopped so that time-based work
 * (STATUS) always has a wake-up source.
 */
#include "board.h"

#define BLOCK 64u

static volatile uint32_t ticks;
static uint32_t period = MTIME_HZ / 100u; /* 100 Hz until sampler_init sets the block rate */
static uint64_t next_deadline;

static void arm(uint64_t when)
{
    /* Writing the 64-bit compare register from a 32-bit core: high word to the maximum first so that no
     * intermediate value lies in the past (RISC-V privileged spec 3.2.1 shows this sequence). */
    CLINT_MTIMECMP_HI = 0xFFFFFFFFu;
    CLINT_MTIMECMP_LO = (uint32_t)when;
    CLINT_MTIMECMP_HI = (uint32_t)(when >> 32);
}

void timer_isr(void)
{
    ticks++;
    next_deadline += period;
    arm(next_deadline);
}

int sampler_init(uint32_t sample_rate_hz)
{
    period = (uint32_t)(((uint64_t)MTIME_HZ * BLOCK) / sample_rate_hz);
    return 0;
}

void sampler_start(void)
{
}

void sampler_stop(void)
{
}

void sampler_tick_start(void);
void sampler_tick_start(void)
{
    next_deadline = (uint64_t)board_time_us() * (MTIME_HZ / 1000000u) + period;
    arm(next_deadline);
    CSR_SET(mie, MIE_MTIE);
}
