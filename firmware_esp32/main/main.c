/*
 * vibsentry node on ESP32-S3 / ESP32-C3: vs_node configured from menuconfig (Kconfig.projbuild) and from the
 * bundle's generated C (firmware_esp32/model, see components/vibsentry_core/CMakeLists.txt). All ESP-IDF calls
 * are in vs_port_idf.c.
 */
#include "sdkconfig.h"
#include "vs/vs_node.h"
#include "vs_port_idf.h"

#if VS_HAVE_MODEL
#include "vs_app_config.h" /* gen_app_config.py: alarm rule, model hash, firmware version */
#include "vs_model_data.h"
static const uint8_t model_hash[32] = VS_APP_MODEL_HASH;
#else
#define VS_APP_FW_VERSION "esp32-0.1.0"
#define VS_APP_ALARM_THRESHOLD 1.0e30f /* no model: plumbing only, never alarm */
#define VS_APP_ALARM_CLEAR_THRESHOLD 1.0e30f
#define VS_APP_ALARM_K 1u
#define VS_APP_ALARM_N 1u
#define VS_APP_FEATURES_EVERY 10u
#define VS_APP_RAW_CAPTURE_SAMPLES 12000u /* 1 s at 12 kHz, streamed past the 2,048-sample ring */
#endif

static vs_node_t node; /* ~25 KB: static, not on a task stack */

void app_main(void);

void app_main(void)
{
    vs_node_config_t cfg = {0};
    cfg.node_id = CONFIG_VS_NODE_ID;
    cfg.fw_version = VS_APP_FW_VERSION;
    cfg.machine = CONFIG_VS_MACHINE_NAME;
    cfg.trigger_rms_g = (float)CONFIG_VS_TRIGGER_RMS_MG / 1000.0f;
    cfg.heartbeat_frames = CONFIG_VS_HEARTBEAT_FRAMES;
    cfg.alarm.threshold = VS_APP_ALARM_THRESHOLD;
    cfg.alarm.clear_threshold = VS_APP_ALARM_CLEAR_THRESHOLD;
    cfg.alarm.k = VS_APP_ALARM_K;
    cfg.alarm.n = VS_APP_ALARM_N;
#if VS_HAVE_MODEL
    cfg.model = &vs_model;
    cfg.norm_mean = vs_model_norm_mean;
    cfg.norm_std = vs_model_norm_std;
    cfg.model_hash = model_hash;
#endif
    cfg.status_period_ms = CONFIG_VS_STATUS_PERIOD_MS;
    cfg.hello_every_status = 10u;
    cfg.features_every = VS_APP_FEATURES_EVERY;
    cfg.raw_capture_samples = VS_APP_RAW_CAPTURE_SAMPLES;
    if (vs_node_init(&node, &cfg) != VS_OK) {
        return; /* the image does not match its model: nothing can run (the gateway sees the node missing) */
    }
    (void)vs_idf_start(&node);
}
