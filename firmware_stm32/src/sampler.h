/*
 * sampler.h - the timer-paced sampler of the STM32 node.
 *
 * HW=1: TIM2 updates at the node's sample rate; each update interrupt starts a 3-byte SPI1 transaction by
 * DMA2 (stream 3 TX, stream 0 RX) that reads the IIS3DWB's Z output, and the DMA transfer-complete interrupt
 * stores the sample into a block; a full block of SAMPLER_BLOCK samples is handed to sampler_block_ready()
 * from that interrupt. The CPU spends ~40 instructions per sample instead of busy-waiting ~3 us on SPI.
 * HW=0 (QEMU): no sensor, no DMA; TIM2 still runs, at the block rate (sample rate / SAMPLER_BLOCK), and its
 * interrupt only counts ticks: the samples come from the host as REPLAY_SAMPLES frames.
 */
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stdint.h>

#include "vs_board.h"

#define SAMPLER_BLOCK 64u

/* Implemented by the application: called from interrupt context with a full block (int16 counts). */
void sampler_block_ready(const int16_t *samples, uint32_t count);

uint32_t sampler_ticks(void); /* TIM2 update interrupts since boot */

#endif /* SAMPLER_H */
