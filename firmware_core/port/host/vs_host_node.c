/*
 * vs_host_node.c - vs_node for bindings that cannot mirror C structs (ctypes: vibsentry.nodes.cnode).
 *
 * vs_host_node_init takes the configuration as scalar arguments and vs_host_node_counter reads a counter by its
 * vs_node_counters_t field name, so the Python side never copies a struct layout that could drift from
 * vs_node.h. Host only (part of libvscore.so with the other fakes of port/host).
 */
#include <string.h>

#include "vs/vs_node.h"
#include "vs_host_fakes.h"

int vs_host_node_init(vs_node_t *node, uint16_t node_id, const char *fw_version, const char *machine,
                      float trigger_rms_g, float trigger_peak_g, uint32_t heartbeat_frames, uint32_t holdoff_frames,
                      float threshold, float clear_threshold, uint32_t k, uint32_t n, const vs_model_t *model,
                      const float *norm_mean, const float *norm_std, const uint8_t *model_hash,
                      uint32_t status_period_ms, uint32_t hello_every_status, uint32_t features_every,
                      uint32_t raw_capture_samples);
uint32_t vs_host_node_counter(const vs_node_t *node, const char *name);
int vs_host_node_n_features(void);
int vs_host_node_frame_length(void);
int vs_host_node_hop_length(void);
float vs_host_node_sample_rate(void);
uint32_t vs_host_node_ring_samples(void);
uint32_t vs_host_node_raw_capacity(void);
uint32_t vs_host_node_raw_max(void);

int vs_host_node_init(vs_node_t *node, uint16_t node_id, const char *fw_version, const char *machine,
                      float trigger_rms_g, float trigger_peak_g, uint32_t heartbeat_frames, uint32_t holdoff_frames,
                      float threshold, float clear_threshold, uint32_t k, uint32_t n, const vs_model_t *model,
                      const float *norm_mean, const float *norm_std, const uint8_t *model_hash,
                      uint32_t status_period_ms, uint32_t hello_every_status, uint32_t features_every,
                      uint32_t raw_capture_samples)
{
    vs_node_config_t c;
    if (k > 255u || n > 255u) {
        return VS_ERR_ARG;
    }
    memset(&c, 0, sizeof c);
    c.node_id = node_id;
    c.fw_version = fw_version;
    c.machine = machine;
    c.trigger_rms_g = trigger_rms_g;
    c.trigger_peak_g = trigger_peak_g;
    c.heartbeat_frames = heartbeat_frames;
    c.holdoff_frames = holdoff_frames;
    c.alarm.threshold = threshold;
    c.alarm.clear_threshold = clear_threshold;
    c.alarm.k = (uint8_t)k;
    c.alarm.n = (uint8_t)n;
    c.model = model;
    c.norm_mean = norm_mean;
    c.norm_std = norm_std;
    c.model_hash = model_hash;
    c.status_period_ms = status_period_ms;
    c.hello_every_status = hello_every_status;
    c.features_every = features_every;
    c.raw_capture_samples = raw_capture_samples;
    return vs_node_init(node, &c);
}

#define FIELD(f) {#f, offsetof(vs_node_counters_t, f)}

static const struct {
    const char *name;
    size_t offset;
} fields[] = {
    FIELD(boot_counter), FIELD(watchdog_resets), FIELD(blocks),          FIELD(ring_overruns),
    FIELD(overrun_samples), FIELD(hops),         FIELD(frames),          FIELD(analysed),
    FIELD(skipped),      FIELD(tx_frames),       FIELD(rx_frames),       FIELD(rx_errors),
    FIELD(rx_foreign),   FIELD(rx_duplicates),   FIELD(acks),            FIELD(replay_blocks),   FIELD(replay_gaps),
    FIELD(discontinuities), FIELD(raw_captures), FIELD(ring_high_water), FIELD(stack_high_water),
    FIELD(alarm_raises), FIELD(alarm_clears),
};

/* A u32 counter by field name; "reset_reason", and "nacks.<reason>" for nacks[reason]. UINT32_MAX when
 * unknown (a binding bug the caller checks for). */
uint32_t vs_host_node_counter(const vs_node_t *node, const char *name)
{
    const vs_node_counters_t *c = vs_node_counters(node);
    if (strcmp(name, "reset_reason") == 0) {
        return c->reset_reason;
    }
    if (strncmp(name, "nacks.", 6) == 0) {
        uint32_t r = 0;
        const char *d = name + 6;
        for (; *d >= '0' && *d <= '9' && r < VS_NODE_NACK_REASONS; d++) {
            r = r * 10u + (uint32_t)(*d - '0');
        }
        return *d == '\0' && d != name + 6 && r < VS_NODE_NACK_REASONS ? c->nacks[r] : 0xFFFFFFFFu;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(name, fields[i].name) == 0) {
            uint32_t v;
            memcpy(&v, (const uint8_t *)c + fields[i].offset, sizeof v);
            return v;
        }
    }
    return 0xFFFFFFFFu;
}

int vs_host_node_n_features(void)
{
    return VS_FEAT_N_FEATURES;
}

int vs_host_node_frame_length(void)
{
    return VS_FEAT_FRAME_LENGTH;
}

int vs_host_node_hop_length(void)
{
    return VS_FEAT_HOP_LENGTH;
}

float vs_host_node_sample_rate(void)
{
    return VS_FEAT_SAMPLE_RATE;
}

uint32_t vs_host_node_ring_samples(void)
{
    return VS_NODE_RING_SAMPLES;
}

uint32_t vs_host_node_raw_capacity(void)
{
    return VS_NODE_RAW_CAPACITY;
}

uint32_t vs_host_node_raw_max(void)
{
    return VS_NODE_RAW_MAX_SAMPLES;
}
