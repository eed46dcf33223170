/* The bare-metal node application (see vs_app.h). */
#include "vs_app.h"

#include <stddef.h>

#include "vs/vs_platform_uart.h"
#include "vs_app_config.h"
#ifdef VS_APP_HAVE_MODEL
#include "vs_model_data.h"
#endif

vs_node_t vs_app_node;

/* Defaults = the virtual node's (`vibsentry simulate`): every frame analysed, STATUS every 10 s. `used`: the
 * linker must keep it even though the code reads it only through a volatile pointer. */
__attribute__((section(".vs_ident"), used)) const vs_app_ident_t vs_app_ident = {
    VS_APP_IDENT_MAGIC, 1u, 0u, 0.0f, 0.0f, 1u, 10000u, "node",
};

#ifdef VS_APP_HAVE_MODEL
static const uint8_t model_hash[32] = VS_APP_MODEL_HASH;
#endif

#if VS_APP_MODEL_UPDATE
#include "vs_flash_store.h"

__attribute__((section(".vs_keys"), used)) const vs_app_keys_t vs_app_keys = {VS_APP_KEYS_MAGIC, 0u, 0u, {{0}}};

/* Signed model updates into the flash slots (vs_flash_store.h) when the keys block holds a key. */
static void enable_model_update(void)
{
    const volatile vs_app_keys_t *k = &vs_app_keys; /* patched after linking: read it, do not fold it */
    if (k->magic != VS_APP_KEYS_MAGIC || k->n_keys == 0u || k->n_keys > VS_APP_MAX_KEYS) {
        return;
    }
    (void)vs_node_enable_model_update(&vs_app_node, vs_flash_model_io(), (const uint8_t(*)[32])vs_app_keys.keys,
                                      (uint8_t)k->n_keys, k->trial_frames != 0u ? k->trial_frames : 8u);
}
#endif

int vs_app_run(void (*start_watchdog)(void))
{
    /* Read through a volatile pointer: the section is patched after linking, the compiler must not fold the
     * initialiser's values into the code. */
    const volatile vs_app_ident_t *id = &vs_app_ident;
    vs_node_config_t cfg = {0};
    char machine[VS_PROTO_MAX_STRING + 1];
    size_t i;

    for (i = 0; i < VS_PROTO_MAX_STRING && id->machine[i] != '\0'; i++) {
        machine[i] = id->machine[i];
    }
    machine[i] = '\0';
    cfg.node_id = id->magic == VS_APP_IDENT_MAGIC ? id->node_id : 1u;
    cfg.fw_version = VS_APP_FW_VERSION;
    cfg.machine = machine;
    cfg.trigger_rms_g = id->trigger_rms_g;
    cfg.trigger_peak_g = id->trigger_peak_g;
    cfg.heartbeat_frames = id->heartbeat_frames;
    cfg.holdoff_frames = 0u;
    cfg.alarm.threshold = VS_APP_ALARM_THRESHOLD;
    cfg.alarm.clear_threshold = VS_APP_ALARM_CLEAR_THRESHOLD;
    cfg.alarm.k = VS_APP_ALARM_K;
    cfg.alarm.n = VS_APP_ALARM_N;
#ifdef VS_APP_HAVE_MODEL
    cfg.model = &vs_model;
    cfg.norm_mean = vs_model_norm_mean;
    cfg.norm_std = vs_model_norm_std;
    cfg.model_hash = model_hash;
#endif
    cfg.status_period_ms = id->status_period_ms;
    cfg.hello_every_status = 10u;
    cfg.features_every = VS_APP_FEATURES_EVERY;
    cfg.raw_capture_samples = VS_APP_RAW_CAPTURE_SAMPLES;

    int rc = vs_node_init(&vs_app_node, &cfg);
    if (rc != VS_OK) {
        return rc;
    }
#if VS_APP_MODEL_UPDATE
    enable_model_update();
#endif
    if (start_watchdog != NULL) {
        start_watchdog();
    }
    {
        /* A reset can cut a frame in half on the wire; this delimiter ends that fragment at the receiver so
         * the HELLO that follows is not merged into it and lost (docs/protocol.md section 1 allows it). */
        static const uint8_t delimiter = 0u;
        vs_platform_uart_write(&delimiter, 1u);
    }
    rc = vs_node_start(&vs_app_node);
    if (rc != VS_OK) {
        return rc;
    }
    vs_node_run(&vs_app_node);
    return VS_OK;
}
