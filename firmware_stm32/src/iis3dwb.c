/* IIS3DWB set-up over polled SPI1 (HW=1 only; see iis3dwb.h for the datasheet references). */
#include "iis3dwb.h"

#include "board.h"
#include "stm32f4_regs.h"

#if HW
const uint8_t iis3dwb_read_z_cmd[3] = {IIS3DWB_SPI_READ | IIS3DWB_REG_OUTZ_L_A, 0u, 0u};

void iis3dwb_cs_low(void)
{
    GPIOA_BSRR = 1u << (4u + 16u); /* BSRR upper half resets the pin (RM0090 8.4.7) */
}

void iis3dwb_cs_high(void)
{
    GPIOA_BSRR = 1u << 4u;
}

static uint8_t spi_xfer(uint8_t out)
{
    while (!(SPI1_SR & SPI_SR_TXE)) {
    }
    SPI1_DR = out;
    while (!(SPI1_SR & SPI_SR_RXNE)) {
    }
    return (uint8_t)SPI1_DR;
}

static uint8_t reg_read(uint8_t reg)
{
    iis3dwb_cs_low();
    (void)spi_xfer((uint8_t)(IIS3DWB_SPI_READ | reg));
    const uint8_t v = spi_xfer(0u);
    iis3dwb_cs_high();
    return v;
}

static void reg_write(uint8_t reg, uint8_t value)
{
    iis3dwb_cs_low();
    (void)spi_xfer(reg);
    (void)spi_xfer(value);
    while (SPI1_SR & SPI_SR_BSY) {
    }
    iis3dwb_cs_high();
}

static void delay_us(uint32_t us)
{
    const uint64_t end = board_time_us() + us;
    while (board_time_us() < end) {
    }
}

int iis3dwb_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_SPI1EN;
    (void)RCC_APB2ENR;
    /* PA4 output (CS, idle high); PA5/6/7 alternate function 5 = SPI1 (DS8626 Table 9), high speed. */
    iis3dwb_cs_high();
    GPIOA_MODER = (GPIOA_MODER & ~(0xFFu << 8)) | (1u << 8) | (2u << 10) | (2u << 12) | (2u << 14);
    GPIOA_OSPEEDR |= 0xFFu << 8;
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFFu << 20)) | (5u << 20) | (5u << 24) | (5u << 28);
    /* Master, mode 3 (CPOL = CPHA = 1, datasheet 6.2.1), software NSS, fPCLK2 / 8 = 10.5 MHz. */
    SPI1_CR1 = SPI_CR1_MSTR | SPI_CR1_CPOL | SPI_CR1_CPHA | SPI_CR1_BR_DIV8 | SPI_CR1_SSM | SPI_CR1_SSI;
    SPI1_CR1 |= SPI_CR1_SPE;

    delay_us(10000u); /* boot time after power-up: 10 ms (datasheet "turn-on time") */
    if (reg_read(IIS3DWB_REG_WHO_AM_I) != IIS3DWB_WHO_AM_I_VALUE) {
        return -1;
    }
    reg_write(IIS3DWB_REG_CTRL3_C, 0x01u); /* SW_RESET; self-clearing */
    while (reg_read(IIS3DWB_REG_CTRL3_C) & 0x01u) {
    }
    reg_write(IIS3DWB_REG_CTRL3_C, 0x44u); /* BDU: the two bytes of a sample come from the same ODR tick */
    reg_write(IIS3DWB_REG_CTRL4_C, 0x04u); /* I2C off: SPI only, no false I2C start on CS glitches */
    reg_write(IIS3DWB_REG_CTRL6_C, 0x03u); /* Z axis only */
    reg_write(IIS3DWB_REG_CTRL1_XL, (uint8_t)(0xA0u | IIS3DWB_FS_16G));
    return 0;
}
#endif
