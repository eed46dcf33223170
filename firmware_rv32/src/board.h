/*
 * board.h - the RV32IMC port of the vibsentry node for QEMU's `virt` machine: the CI stand-in for the
 * ESP32-C3 (an RV32IMC core), running the same vs_node application as firmware_stm32 and firmware_esp32.
 *
 * Devices (QEMU hw/riscv/virt.c memory map): NS16550A UART at 0x1000 0000 (PLIC source 10), PLIC at
 * 0x0C00 0000, CLINT at 0x0200 0000 (mtime at 10 MHz), SiFive test finisher at 0x0010 0000 (reset).
 * Interrupts: machine mode, mtvec direct mode (trap.c). The CLINT timer paces the sampler at the block
 * rate and wakes the main loop; there is no accelerometer, so samples arrive as REPLAY_SAMPLES frames.
 * A real ESP32-C3 runs firmware_esp32 (ESP-IDF) instead: this port exists to run the node's RV32 code in CI.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "vs_board.h"

#ifndef HW
#define HW 0
#endif

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define REG8(addr) (*(volatile uint8_t *)(uintptr_t)(addr))

#define UART0_BASE 0x10000000u
#define UART0_IRQ 10u
#define PLIC_BASE 0x0C000000u
#define CLINT_MTIMECMP_LO REG32(0x02004000u)
#define CLINT_MTIMECMP_HI REG32(0x02004004u)
#define CLINT_MTIME_LO REG32(0x0200BFF8u)
#define CLINT_MTIME_HI REG32(0x0200BFFCu)
#define MTIME_HZ 10000000u
#define TEST_FINISHER REG32(0x00100000u)
#define TEST_FINISHER_RESET 0x7777u

/* Reset-surviving memory: 256 KB past the image's RAM region, a part of QEMU's DRAM no ELF segment covers
 * (QEMU's reset reloads the segments, zeroing their .bss, and leaves the rest of DRAM alone; a new QEMU
 * process starts from zeros). On an ESP32-C3, firmware_esp32 keeps these records in NVS instead. */
#define BOARD_PERSIST_ADDR 0x80180000u

/* Model slots and record store (vs_flash_store.h): `virt` has no flash the guest can program, so DRAM from
 * 0x8020 0000 (past the persist block, outside every ELF segment) stands in for it with NOR rules
 * (vs_flash_ram.c): 2 x 64 KB slots + 2 x 4 KB store pages. An ESP32-C3 would put them in two OTA-style data
 * partitions through esp_partition_erase_range / esp_partition_write and the store in NVS (firmware_esp32). */
#define BOARD_FLASH_NATIVE 0
#define BOARD_FLASH_RAM_BASE 0x80200000u
#define BOARD_FLASH_RAM_SLOT_BYTES (64u * 1024u)
#define BOARD_FLASH_RAM_PAGE_BYTES (4u * 1024u)

#define CSR_READ(name) ({ uint32_t v_; __asm__ volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define CSR_SET(name, bits) __asm__ volatile("csrs " #name ", %0" ::"r"(bits) : "memory")
#define CSR_CLEAR(name, bits) __asm__ volatile("csrc " #name ", %0" ::"r"(bits) : "memory")
#define CSR_WRITE(name, value) __asm__ volatile("csrw " #name ", %0" ::"r"(value) : "memory")
#define MSTATUS_MIE (1u << 3)
#define MIE_MTIE (1u << 7)
#define MIE_MEIE (1u << 11)

/* Mask / unmask interrupts (mstatus.MIE). wfi resumes when an interrupt is pending in mip & mie whatever
 * mstatus.MIE says (RISC-V privileged spec 3.3.3), so disable / check / wfi / enable loses no wake-up. */
static inline void board_irq_disable(void)
{
    CSR_CLEAR(mstatus, MSTATUS_MIE);
}
static inline void board_irq_enable(void)
{
    CSR_SET(mstatus, MSTATUS_MIE);
}
static inline void board_wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

void board_init(void); /* trap vector, PLIC, stack paint; call first in main */
void board_plic_enable(uint32_t source);
void timer_isr(void);  /* sampler.c: CLINT machine timer */
void uart_isr(void);   /* uart.c: PLIC source 10 */

#endif /* BOARD_H */
