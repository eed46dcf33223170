/*
 * The ESP-IDF port (see vs_port_idf.h). Every ESP-IDF and FreeRTOS call of the node lives in this file.
 * API references: ESP-IDF v5.2 Programming Guide - UART (uart_driver_install, uart_param_config, uart_set_pin,
 * uart_read_bytes, uart_write_bytes, uart_wait_tx_done, uart_get_buffered_data_len), ADC Continuous Mode
 * (adc_continuous_new_handle, adc_continuous_config, adc_continuous_register_event_callbacks,
 * adc_continuous_start, adc_continuous_read), SPI Master (spi_bus_initialize, spi_bus_add_device,
 * spi_device_polling_transmit), Task Watchdog (esp_task_wdt_add, esp_task_wdt_reset), NVS (nvs_flash_init,
 * nvs_open, nvs_get_blob, nvs_set_blob, nvs_commit), esp_timer_get_time, esp_reset_reason, and FreeRTOS
 * direct-to-task notifications (vTaskNotifyGiveFromISR, xTaskNotifyGive, ulTaskNotifyTake) and
 * uxTaskGetStackHighWaterMark.
 */
#include "vs_port_idf.h"

#include <string.h>

#include "driver/uart.h"
#include "esp_log.h"
#include "esp_system.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "freertos/task.h"
#include "nvs.h"
#include "nvs_flash.h"
#include "sdkconfig.h"
#include "vs/vs_platform_clock.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_platform_sampler.h"
#include "vs/vs_platform_sleep.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_uart.h"
#include "vs/vs_platform_watchdog.h"
#if CONFIG_VS_SAMPLER_ADC
#include "esp_adc/adc_continuous.h"
#else
#include "driver/spi_master.h"
#endif

static const char *TAG = "vs_node";
#define UART_PORT ((uart_port_t)CONFIG_VS_UART_PORT)
#define UART_RX_BUF 4096 /* the driver's RX ring: holds several whole frames (VS_PROTO_MAX_WIRE = 1050 B) */
#define NODE_STACK 8192  /* bytes (ESP-IDF FreeRTOS stacks are in bytes); features + model need ~3 KB */
#define BLOCK 256        /* samples per push: 21 ms at 12 kHz, far inside the node ring's 85 ms */

static vs_node_t *the_node;
static TaskHandle_t node_task;
static TaskHandle_t sampler_task;
static volatile int sampling;
static uint32_t rx_dropped;

/* ---- clock, watchdog, reset reason, console --------------------------------------------------------- */
uint64_t vs_platform_clock_us(void)
{
    return (uint64_t)esp_timer_get_time();
}

void vs_platform_watchdog_feed(void)
{
    (void)esp_task_wdt_reset();
}

uint8_t vs_platform_reset_reason(void)
{
    switch (esp_reset_reason()) {
    case ESP_RST_POWERON:
        return VS_RESET_POWER_ON;
    case ESP_RST_EXT:
        return VS_RESET_PIN;
    case ESP_RST_SW:
    case ESP_RST_PANIC:
        return VS_RESET_SOFTWARE;
    case ESP_RST_INT_WDT:
    case ESP_RST_TASK_WDT:
    case ESP_RST_WDT:
        return VS_RESET_WATCHDOG;
    case ESP_RST_BROWNOUT:
        return VS_RESET_BROWNOUT;
    default:
        return VS_RESET_UNKNOWN;
    }
}

void vs_platform_console_write(const char *s)
{
    ESP_LOGI(TAG, "%s", s);
}

uint32_t vs_platform_stack_high_water(void)
{
    /* uxTaskGetStackHighWaterMark: the least free stack ever seen, in bytes on ESP-IDF. */
    return (uint32_t)(NODE_STACK - uxTaskGetStackHighWaterMark(NULL));
}

uint32_t vs_platform_stack_size(void)
{
    /* The node task's stack depth given to xTaskCreate (bytes on ESP-IDF): what the high-water mark above
     * is measured against. vs_node calls both from that task. */
    return NODE_STACK;
}

void vs_platform_exit(int code)
{
    (void)code;
    esp_restart();
}

/* ---- persistent records in NVS (namespace "vs", keys "r0", "r1") ---------------------------------------- */
int vs_platform_store_read(uint8_t id, void *buf, size_t len)
{
    char key[4] = {'r', (char)('0' + id), '\0', '\0'};
    nvs_handle_t h;
    if (id > 9u || nvs_open("vs", NVS_READONLY, &h) != ESP_OK) {
        return 0; /* never written (the namespace does not exist yet) */
    }
    uint8_t tmp[VS_PLATFORM_STORE_RECORD_MAX];
    size_t size = sizeof tmp;
    const esp_err_t err = nvs_get_blob(h, key, tmp, &size);
    nvs_close(h);
    if (err != ESP_OK) {
        return 0;
    }
    memcpy(buf, tmp, len < size ? len : size);
    return (int)size;
}

int vs_platform_store_write(uint8_t id, const void *data, size_t len)
{
    char key[4] = {'r', (char)('0' + id), '\0', '\0'};
    nvs_handle_t h;
    if (id > 9u || len > VS_PLATFORM_STORE_RECORD_MAX) {
        return VS_ERR_ARG;
    }
    if (nvs_open("vs", NVS_READWRITE, &h) != ESP_OK) {
        return VS_ERR_STATE;
    }
    esp_err_t err = nvs_set_blob(h, key, data, len);
    if (err == ESP_OK) {
        err = nvs_commit(h);
    }
    nvs_close(h);
    return err == ESP_OK ? VS_OK : VS_ERR_STATE;
}

/* ---- UART: the driver's own RX ring; the comms task wakes the node task ------------------------------- */
static QueueHandle_t uart_events;

void vs_platform_uart_write(const uint8_t *data, size_t len)
{
    (void)uart_write_bytes(UART_PORT, data, len);
    (void)uart_wait_tx_done(UART_PORT, portMAX_DELAY); /* blocking, as vs_platform_uart.h requires */
}

size_t vs_platform_uart_read(uint8_t *buf, size_t cap)
{
    const int n = uart_read_bytes(UART_PORT, buf, (uint32_t)cap, 0); /* timeout 0: never blocks */
    return n > 0 ? (size_t)n : 0u;
}

int vs_platform_uart_rx_pending(void)
{
    size_t n = 0;
    return uart_get_buffered_data_len(UART_PORT, &n) == ESP_OK && n > 0u;
}

uint32_t vs_platform_uart_rx_dropped(void)
{
    return rx_dropped;
}

static void comms_task(void *arg)
{
    (void)arg;
    uart_event_t ev;
    for (;;) {
        if (xQueueReceive(uart_events, &ev, portMAX_DELAY) != pdTRUE) {
            continue;
        }
        if (ev.type == UART_FIFO_OVF || ev.type == UART_BUFFER_FULL) {
            rx_dropped++; /* bytes lost; the protocol's CRC rejects the damaged frame */
            (void)uart_flush_input(UART_PORT);
            xQueueReset(uart_events);
        }
        if (node_task != NULL) {
            xTaskNotifyGive(node_task);
        }
    }
}

/* ---- sleep: block on the task notification; a notification given before the wait is latched ------------ */
void vs_platform_sleep_until_event(vs_platform_work_fn work_pending, const void *ctx)
{
    if (!work_pending(ctx)) {
        /* 50 ms cap: STATUS timing is clock-based and needs a periodic look even when nothing arrives. */
        (void)ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(50));
    }
}

/* ---- sampler ------------------------------------------------------------------------------------------ */
#if CONFIG_VS_SAMPLER_ADC
static adc_continuous_handle_t adc;
#define ADC_FRAME_BYTES (BLOCK * SOC_ADC_DIGI_RESULT_BYTES)

/* DMA "conversion frame done" callback: ISR context, only a notification. */
static bool IRAM_ATTR adc_frame_done(adc_continuous_handle_t h, const adc_continuous_evt_data_t *ev, void *ctx)
{
    (void)h;
    (void)ev;
    (void)ctx;
    BaseType_t woken = pdFALSE;
    vTaskNotifyGiveFromISR(sampler_task, &woken);
    return woken == pdTRUE;
}

static int sampler_setup(float rate_hz)
{
    adc_continuous_handle_cfg_t hcfg = {.max_store_buf_size = 4 * ADC_FRAME_BYTES, .conv_frame_size = ADC_FRAME_BYTES};
    if (adc_continuous_new_handle(&hcfg, &adc) != ESP_OK) {
        return VS_ERR_STATE;
    }
    adc_digi_pattern_config_t pattern = {
        .atten = ADC_ATTEN_DB_12, .channel = CONFIG_VS_ADC_CHANNEL, .unit = ADC_UNIT_1, .bit_width = 12};
    adc_continuous_config_t ccfg = {
        .pattern_num = 1,
        .adc_pattern = &pattern,
        .sample_freq_hz = (uint32_t)(rate_hz + 0.5f),
        .conv_mode = ADC_CONV_SINGLE_UNIT_1,
        .format = ADC_DIGI_OUTPUT_FORMAT_TYPE2,
    };
    adc_continuous_evt_cbs_t cbs = {.on_conv_done = adc_frame_done};
    if (adc_continuous_config(adc, &ccfg) != ESP_OK ||
        adc_continuous_register_event_callbacks(adc, &cbs, NULL) != ESP_OK) {
        return VS_ERR_STATE;
    }
    return VS_OK;
}

static void sampler_loop(void *arg)
{
    (void)arg;
    static uint8_t raw[ADC_FRAME_BYTES];
    static int16_t counts[BLOCK];
    const float scale = (float)CONFIG_VS_ADC_SCALE_UG_PER_LSB * 1e-6f;
    for (;;) {
        (void)ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
        uint32_t got = 0;
        while (sampling && adc_continuous_read(adc, raw, sizeof raw, &got, 0) == ESP_OK) {
            uint32_t n = 0;
            for (uint32_t i = 0; i + SOC_ADC_DIGI_RESULT_BYTES <= got && n < BLOCK; i += SOC_ADC_DIGI_RESULT_BYTES) {
                const adc_digi_output_data_t *d = (const adc_digi_output_data_t *)&raw[i];
                /* 12-bit unipolar result around mid-scale: the sensor's 0 g sits at 2048 counts. */
                counts[n++] = (int16_t)((int32_t)d->type2.data - 2048);
            }
            if (n > 0u) {
                (void)vs_node_push_samples_i16(the_node, counts, n, scale);
                if (node_task != NULL) {
                    xTaskNotifyGive(node_task);
                }
            }
        }
    }
}

int vs_platform_sampler_start(float sample_rate_hz)
{
    if (adc == NULL && sampler_setup(sample_rate_hz) != VS_OK) {
        return VS_ERR_STATE;
    }
    sampling = 1;
    return adc_continuous_start(adc) == ESP_OK ? VS_OK : VS_ERR_STATE;
}

void vs_platform_sampler_stop(void)
{
    sampling = 0;
    if (adc != NULL) {
        (void)adc_continuous_stop(adc);
    }
}
#else /* CONFIG_VS_SAMPLER_IIS3DWB: the register map of firmware_stm32/src/iis3dwb.h */
static spi_device_handle_t spi;
#define IIS3DWB_SCALE_G_PER_LSB 0.000488f /* +-16 g */
#define IIS3DWB_FIFO_WORDS 512              /* 3 KB FIFO, 7-byte words (tag + X/Y/Z or one axis) */

static uint8_t spi_reg(uint8_t reg, uint8_t value, int read)
{
    spi_transaction_t t = {.flags = SPI_TRANS_USE_TXDATA | SPI_TRANS_USE_RXDATA, .length = 16};
    t.tx_data[0] = (uint8_t)(read ? (0x80u | reg) : reg);
    t.tx_data[1] = value;
    (void)spi_device_polling_transmit(spi, &t);
    return t.rx_data[1];
}

static int sampler_setup(float rate_hz)
{
    (void)rate_hz; /* fixed 26.667 kHz ODR: the bundle must use sample_rate = 26667 */
    spi_bus_config_t bus = {.sclk_io_num = CONFIG_VS_SPI_SCLK_GPIO, .mosi_io_num = CONFIG_VS_SPI_MOSI_GPIO,
                            .miso_io_num = CONFIG_VS_SPI_MISO_GPIO, .quadwp_io_num = -1, .quadhd_io_num = -1,
                            .max_transfer_sz = IIS3DWB_FIFO_WORDS * 7 + 1};
    spi_device_interface_config_t dev = {.clock_speed_hz = 10 * 1000 * 1000, .mode = 3,
                                         .spics_io_num = CONFIG_VS_SPI_CS_GPIO, .queue_size = 1};
    if (spi_bus_initialize(SPI2_HOST, &bus, SPI_DMA_CH_AUTO) != ESP_OK ||
        spi_bus_add_device(SPI2_HOST, &dev, &spi) != ESP_OK) {
        return VS_ERR_STATE;
    }
    if (spi_reg(0x0F, 0, 1) != 0x7B) { /* WHO_AM_I */
        return VS_ERR_STATE;
    }
    (void)spi_reg(0x12, 0x44, 0); /* CTRL3_C: BDU, IF_INC */
    (void)spi_reg(0x13, 0x04, 0); /* CTRL4_C: I2C off */
    (void)spi_reg(0x15, 0x03, 0); /* CTRL6_C: Z axis only */
    (void)spi_reg(0x09, 0x0A, 0); /* FIFO_CTRL3: accelerometer batched at 26.667 kHz */
    (void)spi_reg(0x0A, 0x06, 0); /* FIFO_CTRL4: continuous mode */
    (void)spi_reg(0x10, 0xA4, 0); /* CTRL1_XL: on, +-16 g */
    return VS_OK;
}

static void sampler_loop(void *arg)
{
    (void)arg;
    static uint8_t rx[1 + IIS3DWB_FIFO_WORDS * 7];
    static int16_t counts[IIS3DWB_FIFO_WORDS];
    TickType_t last = xTaskGetTickCount();
    for (;;) {
        vTaskDelayUntil(&last, pdMS_TO_TICKS(5)); /* 133 samples per 5 ms, well below the 512-word FIFO */
        if (!sampling) {
            continue;
        }
        const uint32_t words = ((uint32_t)(spi_reg(0x3B, 0, 1) & 0x03u) << 8) | spi_reg(0x3A, 0, 1); /* FIFO_STATUS */
        if (words == 0u) {
            continue;
        }
        spi_transaction_t t = {.length = (1 + words * 7) * 8, .tx_buffer = NULL, .rx_buffer = rx};
        static uint8_t tx[1 + IIS3DWB_FIFO_WORDS * 7];
        tx[0] = 0x80u | 0x78u; /* FIFO_DATA_OUT_TAG, auto-increment through the 7-byte word */
        t.tx_buffer = tx;
        if (spi_device_polling_transmit(spi, &t) != ESP_OK) {
            continue;
        }
        for (uint32_t i = 0; i < words; i++) {
            const uint8_t *w = &rx[1 + i * 7];
            counts[i] = (int16_t)((uint16_t)w[5] | ((uint16_t)w[6] << 8)); /* Z in the word's last two bytes */
        }
        (void)vs_node_push_samples_i16(the_node, counts, words, IIS3DWB_SCALE_G_PER_LSB);
        if (node_task != NULL) {
            xTaskNotifyGive(node_task);
        }
    }
}

int vs_platform_sampler_start(float sample_rate_hz)
{
    if (spi == NULL && sampler_setup(sample_rate_hz) != VS_OK) {
        return VS_ERR_STATE;
    }
    sampling = 1;
    return VS_OK;
}

void vs_platform_sampler_stop(void)
{
    sampling = 0;
}
#endif

/* ---- tasks -------------------------------------------------------------------------------------------- */
static void node_loop(void *arg)
{
    vs_node_t *node = arg;
    (void)esp_task_wdt_add(NULL); /* vs_node feeds it after every healthy poll */
    if (vs_node_start(node) != VS_OK) {
        ESP_LOGE(TAG, "vs_node_start failed");
    }
    vs_node_run(node); /* never returns */
}

int vs_idf_start(vs_node_t *node)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        (void)nvs_flash_erase();
        err = nvs_flash_init();
    }
    if (err != ESP_OK) {
        return VS_ERR_STATE;
    }
    const uart_config_t ucfg = {
        .baud_rate = CONFIG_VS_UART_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
        .source_clk = UART_SCLK_DEFAULT,
    };
    if (uart_driver_install(UART_PORT, UART_RX_BUF, 0, 16, &uart_events, 0) != ESP_OK ||
        uart_param_config(UART_PORT, &ucfg) != ESP_OK ||
        uart_set_pin(UART_PORT, CONFIG_VS_UART_TX_GPIO, CONFIG_VS_UART_RX_GPIO, UART_PIN_NO_CHANGE,
                     UART_PIN_NO_CHANGE) != ESP_OK) {
        return VS_ERR_STATE;
    }
    the_node = node;
    /* Sampler and comms first: the node task starts the sampler (vs_node_start), whose ISR notifies the
     * sampler task. Both check node_task before notifying it. */
    if (xTaskCreate(sampler_loop, "vs_sampler", 4096, NULL, 6, &sampler_task) != pdPASS ||
        xTaskCreate(comms_task, "vs_comms", 3072, NULL, 5, NULL) != pdPASS ||
        xTaskCreate(node_loop, "vs_node", NODE_STACK, node, 4, &node_task) != pdPASS) {
        return VS_ERR_STATE;
    }
    return VS_OK;
}
