/*
 * iis3dwb.h - ST IIS3DWB wide-band vibration accelerometer (3-axis, 16-bit, ODR 26.667 kHz, flat to 6.3 kHz)
 * on SPI1 of the STM32F405. Register map and timings from ST's IIS3DWB datasheet ("Register mapping" and
 * "Register description" sections) and application note AN5444 Rev 1; used only in the board build (HW=1).
 *
 * Wiring (configurable in iis3dwb.c): SPI1 SCK PA5, MISO PA6, MOSI PA7 (AF5), CS PA4 (GPIO), SPI mode 3,
 * up to 10 MHz (datasheet SPI slave timing: t_c(SPC) >= 100 ns).
 *
 * The node reads one axis (the one mounted along the bearing's radial direction, Z here) at the node's
 * sample rate: the timer ISR samples the newest output word, so the sensor's 26.667 kHz stream is decimated
 * by sample-and-hold. The sensor's flat band ends at 6.3 kHz (AN5444 section 1), above the 6 kHz Nyquist
 * limit of the default 12 kHz FeatureParams, so tones between 6 and 6.3 kHz alias; a node configured for
 * 26667 Hz would read every sample through the sensor FIFO (3 KB, 512 samples) instead.
 */
#ifndef IIS3DWB_H
#define IIS3DWB_H

#include <stdint.h>

#define IIS3DWB_REG_WHO_AM_I 0x0Fu /* reads 0x7B */
#define IIS3DWB_WHO_AM_I_VALUE 0x7Bu
#define IIS3DWB_REG_CTRL1_XL 0x10u /* XL_EN[7:5] = 101b: on at 26.667 kHz; FS_XL[3:2] */
#define IIS3DWB_REG_CTRL3_C 0x12u  /* BDU b6, IF_INC b2, SW_RESET b0 */
#define IIS3DWB_REG_CTRL4_C 0x13u  /* I2C_disable b2 */
#define IIS3DWB_REG_CTRL6_C 0x15u  /* XL_AXIS_SEL[1:0]: 00 XYZ, 01 X, 10 Y, 11 Z */
#define IIS3DWB_REG_OUTZ_L_A 0x2Cu
#define IIS3DWB_SPI_READ 0x80u /* bit 7 of the address byte: read */

/* FS_XL = 01b: +-16 g, sensitivity 0.488 mg/LSB (datasheet, mechanical characteristics) - the same scale as the RAW_CHUNK
 * captures of the virtual nodes (16 g / 32767). */
#define IIS3DWB_FS_16G (1u << 2)
#define IIS3DWB_SCALE_G_PER_LSB 0.000488f

/* Configure SPI1 + CS and the sensor (polled SPI). Returns 0, or -1 when WHO_AM_I is wrong (no sensor). */
int iis3dwb_init(void);

/* The 3-byte SPI transaction that reads OUTZ (address + 2 data bytes), for the DMA sampler. */
extern const uint8_t iis3dwb_read_z_cmd[3];

void iis3dwb_cs_low(void);
void iis3dwb_cs_high(void);

#endif /* IIS3DWB_H */
