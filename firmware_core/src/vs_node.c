/*
 * vs_node: the node application core (behaviour and memory contract in vs_node.h).
 *
 * One main-loop context runs everything here except the three ISR-side entry points (push_samples_*,
 * wake_from_isr), which touch only the sample ring's producer side, the ISR counters and the gap markers.
 */
#include "vs/vs_node.h"

#include <math.h>
#include <string.h>

#include "vs/vs_crc.h"
#include "vs/vs_platform_clock.h"
#include "vs/vs_platform_console.h"
#include "vs/vs_platform_sampler.h"
#include "vs/vs_platform_sleep.h"
#include "vs/vs_platform_store.h"
#include "vs/vs_platform_uart.h"
#include "vs/vs_platform_watchdog.h"

#define VS_NODE_MAGIC 0x564e4f44u       /* "VNOD" */
#define VS_NODE_BOOT_MAGIC 0x56424f54u  /* "VBOT": boot record */
#define VS_NODE_BOOT_VERSION 1u
#define HOP ((uint32_t)VS_FEAT_HOP_LENGTH)
#define FRAME ((uint32_t)VS_FEAT_FRAME_LENGTH)
#define NFEAT ((uint32_t)VS_FEAT_N_FEATURES)

#if (VS_NODE_RING_SAMPLES & (VS_NODE_RING_SAMPLES - 1U)) != 0U || VS_NODE_RING_SAMPLES < VS_PROTO_MAX_SAMPLES_I16
#error "VS_NODE_RING_SAMPLES must be a power of two >= VS_PROTO_MAX_SAMPLES_I16"
#endif
#if (VS_NODE_ARENA_BYTES % 4U) != 0U
#error "VS_NODE_ARENA_BYTES must be a multiple of 4"
#endif

/* Words shared between the sampling ISR (or task) and the main loop: C11-style atomics with GCC/Clang (plain
 * loads/stores plus a barrier where the order matters, so also race-free under ThreadSanitizer and across the
 * ESP32-S3's two cores), volatile accesses elsewhere (enough on one core). */
#if defined(__GNUC__)
#define SHARED_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SHARED_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#define SHARED_LOAD(p) (*(p))
#define SHARED_STORE(p, v) (*(p) = (v))
#endif

/* The platform's reset reasons are the protocol's (HELLO.reset_reason): checked at compile time. */
typedef char vs_node_reset_reasons_match[(VS_RESET_UNKNOWN == VS_PROTO_RESET_UNKNOWN &&
                                          VS_RESET_POWER_ON == VS_PROTO_RESET_POWER_ON &&
                                          VS_RESET_PIN == VS_PROTO_RESET_PIN &&
                                          VS_RESET_SOFTWARE == VS_PROTO_RESET_SOFTWARE &&
                                          VS_RESET_WATCHDOG == VS_PROTO_RESET_WATCHDOG &&
                                          VS_RESET_BROWNOUT == VS_PROTO_RESET_BROWN_OUT)
                                             ? 1
                                             : -1];

/* The persistent boot record (vs_platform_store, VS_STORE_RECORD_BOOT), little-endian fields, CRC-32 last. */
typedef struct {
    uint32_t magic, version, boot_counter, watchdog_resets, crc;
} boot_record_t;

/* --- small helpers ------------------------------------------------------------------------------------ */

static int printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= max || s[n] < 0x20 || s[n] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int finite_nonneg(float x)
{
    return x >= 0.0f && x <= 3.0e38f; /* false for NaN and +inf */
}

/* First block after a (re)start is FRAME mod HOP samples (when nonzero), so frame ends fall at FRAME + i*HOP
 * as in vibsentry.dsp's framing; every later block is one hop. */
static uint32_t block_len(const vs_node_t *node)
{
    if (node->stream_samples == 0u && (FRAME % HOP) != 0u) {
        return FRAME % HOP;
    }
    return HOP;
}

static int trigger_reinit(vs_node_t *node)
{
    const vs_node_config_t *c = &node->cfg;
    vs_trigger_config_t t;
    t.rms_threshold = c->trigger_rms_g;
    t.peak_threshold = c->trigger_peak_g;
    t.heartbeat_samples = c->heartbeat_frames * HOP;
    /* "no analysis within holdoff_frames frames after one": blocked while fewer than k*hop + 1 samples passed */
    t.holdoff_samples = c->holdoff_frames > 0u ? c->holdoff_frames * HOP + 1u : 0u;
    t.frame_length = FRAME;
    return vs_trigger_init(&node->trigger, &t, node->trigger_frame);
}

/* Framing restarts: the samples staged so far and the trigger's frame history belong to the old stream. */
static void restart_framing(vs_node_t *node)
{
    node->hop_fill = 0u;
    node->stream_samples = 0u;
    (void)trigger_reinit(node);
    node->counters.discontinuities++;
}

/* --- transmit ----------------------------------------------------------------------------------------- */

/* Encode node->work.io.msg (its header.type and payload set by the caller) and send it. */
static int emit(vs_node_t *node)
{
    size_t len = 0;
    uint64_t now = vs_platform_clock_us();
    /* The gateway takes a clock that runs backwards for a reboot: never let it, even if a port's clock jitters. */
    if (now < node->last_ts_us) {
        now = node->last_ts_us;
    }
    node->last_ts_us = now;
    node->work.io.msg.header.version = (uint8_t)VS_PROTO_VERSION;
    node->work.io.msg.header.node_id = node->cfg.node_id;
    node->work.io.msg.header.seq = node->seq;
    node->work.io.msg.header.timestamp_us = now;
    const int rc = vs_proto_encode(&node->work.io.msg, node->work.io.wire, sizeof node->work.io.wire, &len);
    if (rc != VS_OK) {
        return rc; /* a bug in the caller's fields; nothing half-sent */
    }
    vs_platform_uart_write(node->work.io.wire, len);
    node->seq++;
    node->counters.tx_frames++;
    return VS_OK;
}

static void send_reply(vs_node_t *node, uint8_t acked_type, uint32_t acked_seq, uint8_t nack_reason)
{
    memset(&node->work.io.msg.u.ack, 0, sizeof node->work.io.msg.u.ack);
    node->work.io.msg.header.type = nack_reason == 0u ? (uint8_t)VS_MSG_ACK : (uint8_t)VS_MSG_NACK;
    node->work.io.msg.u.ack.acked_type = acked_type;
    node->work.io.msg.u.ack.acked_seq = acked_seq;
    node->work.io.msg.u.ack.reason = nack_reason;
    if (nack_reason == 0u) {
        node->counters.acks++;
    } else {
        node->counters.nacks[nack_reason < VS_NODE_NACK_REASONS ? nack_reason : 0u]++;
    }
    (void)emit(node);
}

static void send_hello(vs_node_t *node)
{
    vs_proto_hello_t *h = &node->work.io.msg.u.hello;
    memset(h, 0, sizeof *h);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_HELLO;
    h->protocol_version = (uint8_t)VS_PROTO_VERSION;
    h->boot_counter = node->counters.boot_counter;
    h->sample_rate_hz = VS_FEAT_SAMPLE_RATE;
    memcpy(h->feature_hash, vs_features_hash(), VS_PROTO_HASH_SIZE);
    memcpy(h->model_hash, node->model_hash, VS_PROTO_HASH_SIZE);
    h->fw_version_len = (uint8_t)strlen(node->fw_version);
    memcpy(h->fw_version, node->fw_version, h->fw_version_len);
    h->machine_len = (uint8_t)strlen(node->machine);
    memcpy(h->machine, node->machine, h->machine_len);
    h->reset_reason = node->counters.reset_reason;
    h->model_slot = (uint8_t)VS_PROTO_SLOT_BUILTIN;
    h->model_state = node->cfg.model != NULL ? (uint8_t)VS_PROTO_MODEL_ACTIVE : (uint8_t)VS_PROTO_MODEL_NONE;
    if (node->update_enabled && node->update.rec.active != VS_PROTO_SLOT_BUILTIN) {
        h->model_slot = node->update.rec.active;
        h->model_state = node->update.rec.state;
    } else if (node->update_enabled && node->update.rec.state == VS_PROTO_MODEL_REVERTED) {
        h->model_state = (uint8_t)VS_PROTO_MODEL_REVERTED; /* back on the built-in model */
    }
    (void)emit(node);
}

/* MODEL_STATUS (docs/protocol.md): after HELLO, BEGIN, COMMIT, a refused update step, a TRIAL outcome. */
static void send_model_status(vs_node_t *node)
{
    vs_proto_model_status_t *ms = &node->work.io.msg.u.model_status;
    memset(ms, 0, sizeof *ms);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_MODEL_STATUS;
    vs_model_update_status(&node->update, &ms->model_slot, &ms->model_state, &ms->counter, ms->model_hash,
                           &ms->trial_frames, &ms->trial_target, &ms->staged_bytes, &ms->staged_total,
                           &ms->last_error);
    if (ms->model_slot == VS_PROTO_SLOT_BUILTIN) {
        memcpy(ms->model_hash, node->model_hash, VS_PROTO_HASH_SIZE);
        if (ms->model_state != VS_PROTO_MODEL_REVERTED) {
            ms->model_state = node->cfg.model != NULL ? (uint8_t)VS_PROTO_MODEL_ACTIVE : (uint8_t)VS_PROTO_MODEL_NONE;
        }
    }
    (void)emit(node);
}

/* The scoring changed (boot, COMMIT, revert, baseline learned or cleared): the alarm rule of what scores now -
 * the configured rule (or SET_THRESHOLD's), an image's own rule, with a baseline's thresholds - from OK. */
static void apply_rule(vs_node_t *node)
{
    const vs_model_image_t *img = node->update_enabled ? vs_model_update_active(&node->update) : NULL;
    vs_alarm_rule_t rule = node->cfg.alarm;
    if (img != NULL && img->has_alarm) {
        rule.threshold = img->threshold;
        rule.clear_threshold = img->clear_threshold;
        rule.k = (uint8_t)img->alarm_k;
        rule.n = (uint8_t)img->alarm_n;
    }
    if (node->baseline.have) {
        rule.threshold = node->baseline.rec.threshold;
        rule.clear_threshold = node->baseline.rec.clear_threshold;
    }
    if (vs_alarm_init(&node->alarm, &rule) != VS_OK) {
        (void)vs_alarm_init(&node->alarm, &node->cfg.alarm); /* an image's rule vs_alarm refuses: keep ours */
    }
}

/* The model that scores changed (boot, COMMIT, revert): take its hash and alarm rule. */
static void model_switched(vs_node_t *node)
{
    const vs_model_image_t *img = vs_model_update_active(&node->update);
    if (img != NULL) {
        memcpy(node->model_hash, node->update.model_hash, VS_PROTO_HASH_SIZE);
    } else if (node->cfg.model_hash != NULL) {
        memcpy(node->model_hash, node->cfg.model_hash, VS_PROTO_HASH_SIZE);
    }
    apply_rule(node);
}

static void send_baseline_progress(vs_node_t *node)
{
    node->work.io.msg.header.type = (uint8_t)VS_MSG_BASELINE_PROGRESS;
    vs_baseline_progress(&node->baseline, &node->work.io.msg.u.baseline_progress);
    (void)emit(node);
}

/* HEALTH: the counters STATUS has no room for (docs/protocol.md), right after every STATUS. */
static void send_health(vs_node_t *node)
{
    vs_proto_health_t *h = &node->work.io.msg.u.health;
    const vs_node_counters_t *c = &node->counters;
    memset(h, 0, sizeof *h);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_HEALTH;
    h->boot_counter = c->boot_counter;
    h->watchdog_resets = c->watchdog_resets;
    h->blocks = c->blocks;
    h->ring_overruns = c->ring_overruns;
    h->overrun_samples = c->overrun_samples;
    h->replay_blocks = c->replay_blocks;
    h->replay_gaps = c->replay_gaps;
    h->discontinuities = c->discontinuities;
    h->rx_foreign = c->rx_foreign;
    h->acks = c->acks;
    memcpy(h->nacks, c->nacks, sizeof h->nacks);
    h->raw_captures = c->raw_captures;
    h->alarm_raises = c->alarm_raises;
    h->alarm_clears = c->alarm_clears;
    h->ring_high_water = c->ring_high_water;
    h->ring_capacity = VS_NODE_RING_SAMPLES;
    h->stack_high_water = c->stack_high_water;
    h->stack_size = vs_platform_stack_size();
    (void)emit(node);
}

static void send_status(vs_node_t *node, uint64_t now_us)
{
    vs_proto_status_t *s = &node->work.io.msg.u.status;
    const vs_node_counters_t *c = &node->counters;
    node->counters.stack_high_water = vs_platform_stack_high_water();
    node->counters.ring_high_water = node->ring.high_water;
    memset(s, 0, sizeof *s);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_STATUS;
    s->uptime_s = (uint32_t)(now_us / 1000000u);
    s->frames_analysed = c->analysed;
    s->frames_skipped = c->skipped;
    s->tx_frames = c->tx_frames;
    s->rx_frames = c->rx_frames;
    s->rx_errors = c->rx_errors;
    s->alarm_state = (uint8_t)vs_alarm_state(&node->alarm);
    (void)emit(node);
    send_health(node);
}

/* --- pre-trigger raw ring and captures ----------------------------------------------------------------- */

static int16_t to_raw(float g)
{
    float v = g / VS_NODE_RAW_SCALE_G;
    v = v != v ? 0.0f : v; /* NaN -> 0 before the int conversion (undefined in C otherwise) */
    v = v > 32767.0f ? 32767.0f : (v < -32767.0f ? -32767.0f : v);
    return (int16_t)(v >= 0.0f ? (int32_t)(v + 0.5f) : -(int32_t)(0.5f - v)); /* half away from zero */
}

/* A live capture's chunks must fit the ring: the one about to be overwritten is always complete. */
typedef char vs_node_raw_ring_holds_a_chunk[(VS_NODE_RAW_CAPACITY >= VS_NODE_RAW_CHUNK_SAMPLES &&
                                             VS_NODE_RAW_MAX_SAMPLES / VS_NODE_RAW_CHUNK_SAMPLES < 65535u)
                                                ? 1
                                                : -1];

static void capture_send_one(vs_node_t *node);

/* First sample (raw_head units) of the next chunk of the capture being sent. */
static uint32_t capture_next_first(const vs_node_t *node)
{
    return node->cap_start + (uint32_t)node->cap_chunk * VS_NODE_RAW_CHUNK_SAMPLES;
}

/* Samples in the next chunk: a full chunk, or what is left of the capture. */
static uint32_t capture_next_len(const vs_node_t *node)
{
    const uint32_t left = node->cap_count - (uint32_t)node->cap_chunk * VS_NODE_RAW_CHUNK_SAMPLES;
    return left < VS_NODE_RAW_CHUNK_SAMPLES ? left : VS_NODE_RAW_CHUNK_SAMPLES;
}

/* A live capture's next chunk has all its samples in raw[]. */
static int capture_ready(const vs_node_t *node)
{
    return node->cap_live && (int32_t)(node->raw_head - (capture_next_first(node) + capture_next_len(node))) >= 0;
}

static void raw_append(vs_node_t *node, const float *x, uint32_t n)
{
    if (node->raw_frozen) {
        return; /* a capture is being sent from these slots */
    }
    for (uint32_t i = 0; i < n; i++) {
        /* The slot about to be written holds sample raw_head - capacity: a live capture sends the chunk
         * starting there first (it is complete, the capacity being at least a chunk). */
        if (node->cap_live && (int32_t)(node->raw_head - VS_NODE_RAW_CAPACITY - capture_next_first(node)) >= 0) {
            capture_send_one(node);
        }
        node->raw[node->raw_head % VS_NODE_RAW_CAPACITY] = to_raw(x[i]);
        node->raw_head++;
    }
}

/* Start capture `id` of `count` samples (vs_node.h "Raw captures"): up to VS_NODE_RAW_CAPACITY the last
 * `count` recorded (fewer if fewer were), frozen; longer, the last min(recorded, capacity) and the ones that
 * follow, live. Returns the number of samples captured; 0 when a short one finds nothing recorded, or a
 * capture runs. */
static uint32_t capture_start(vs_node_t *node, uint32_t id, uint32_t count)
{
    /* cppcheck 2.x takes raw_head for always 0 here (it misses raw_append's increments): false positives. */
    const uint32_t have = node->raw_head < VS_NODE_RAW_CAPACITY ? node->raw_head : VS_NODE_RAW_CAPACITY;
    const uint32_t live = count > VS_NODE_RAW_CAPACITY ? 1u : 0u;
    // cppcheck-suppress knownConditionTrueFalse
    const uint32_t n = (live || count < have) ? count : have;
    // cppcheck-suppress knownConditionTrueFalse
    if (n == 0u || node->raw_frozen || node->cap_live) {
        return 0u;
    }
    node->raw_frozen = live ? 0u : 1u;
    node->cap_live = live;
    node->cap_id = id;
    // cppcheck-suppress knownConditionTrueFalse
    node->cap_start = node->raw_head - (live ? have : n);
    node->cap_count = n;
    node->cap_chunk = 0u;
    node->cap_chunks = (uint16_t)((n + VS_NODE_RAW_CHUNK_SAMPLES - 1u) / VS_NODE_RAW_CHUNK_SAMPLES);
    node->counters.raw_captures++;
    return n;
}

static void capture_send_one(vs_node_t *node)
{
    vs_proto_raw_chunk_t *r = &node->work.io.msg.u.raw_chunk;
    const uint32_t first = capture_next_first(node);
    const uint32_t n = capture_next_len(node);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_RAW_CHUNK;
    r->capture_id = node->cap_id;
    r->chunk_index = node->cap_chunk;
    r->chunk_count = node->cap_chunks;
    r->sample_rate_hz = VS_FEAT_SAMPLE_RATE;
    r->sample_format = (uint8_t)VS_PROTO_FMT_I16;
    r->scale_g_per_lsb = VS_NODE_RAW_SCALE_G;
    r->count = (uint16_t)n;
    // cppcheck-suppress knownConditionTrueFalse ; same false positive (cap_count comes from capture_start)
    for (uint32_t i = 0; i < n; i++) {
        r->samples.i16[i] = node->raw[(first + i) % VS_NODE_RAW_CAPACITY];
    }
    (void)emit(node);
    node->cap_chunk++;
    if (node->cap_chunk >= node->cap_chunks) {
        node->raw_frozen = 0u;
        node->cap_live = 0u;
    }
}

/* --- analysis ----------------------------------------------------------------------------------------- */

/* Score of node->feats (vs_node.h "Score"); fills zin with what the model saw. */
static float score_image(vs_node_t *node, const vs_model_image_t *img)
{
    for (uint32_t i = 0; i < NFEAT; i++) {
        float z = node->feats[i];
        if (img->n_features == NFEAT) {
            z = (z - img->norm_mean[i]) / img->norm_std[i];
        }
        /* the same quantizer as the built-in path (vs_model_quantize_input), so scores agree bit for bit */
        vs_nn_affine_params_t p;
        p.size = 1;
        p.scale = img->input_scale;
        p.zero_point = img->input_zero_point;
        (void)vs_nn_quantize_f32_s8(&p, &z, &node->model_in[i]);
        node->zin[i] = img->input_scale * (float)((int32_t)node->model_in[i] - img->input_zero_point);
    }
    if (vs_model_image_run_s8(img, node->arena, sizeof node->arena, node->model_in, node->model_out) != VS_OK) {
        return -1.0f;
    }
    float acc = 0.0f;
    for (uint32_t i = 0; i < NFEAT; i++) {
        const float y = img->output_scale * (float)((int32_t)node->model_out[i] - img->output_zero_point);
        const float d = y - node->zin[i];
        acc += d * d;
    }
    return acc / (float)NFEAT;
}

static float score_features(vs_node_t *node)
{
    const vs_node_config_t *c = &node->cfg;
    const vs_model_image_t *img = node->update_enabled ? vs_model_update_active(&node->update) : NULL;
    if (img != NULL) {
        return score_image(node, img);
    }
    const vs_model_t *m = c->model;
    for (uint32_t i = 0; i < NFEAT; i++) {
        float z = node->feats[i];
        if (c->norm_mean != NULL) {
            z = (z - c->norm_mean[i]) / c->norm_std[i];
        }
        if (m != NULL) {
            const int8_t q = vs_model_quantize_input(m, z);
            node->model_in[i] = q;
            z = m->input_scale * (float)((int32_t)q - m->input_zero_point);
        }
        node->zin[i] = z;
    }
    float acc = 0.0f;
    if (m != NULL) {
        if (vs_model_run_s8(m, node->arena, sizeof node->arena, node->model_in, node->model_out) != VS_OK) {
            return -1.0f; /* cannot happen after init's checks; a negative score is visibly wrong */
        }
        for (uint32_t i = 0; i < NFEAT; i++) {
            const float d = vs_model_dequantize_output(m, node->model_out[i]) - node->zin[i];
            acc += d * d;
        }
    } else {
        for (uint32_t i = 0; i < NFEAT; i++) {
            acc += node->zin[i] * node->zin[i];
        }
    }
    return acc / (float)NFEAT;
}

static void send_features(vs_node_t *node, uint32_t frame_index)
{
    vs_proto_features_t *f = &node->work.io.msg.u.features;
    node->work.io.msg.header.type = (uint8_t)VS_MSG_FEATURES;
    f->frame_index = frame_index;
#if VS_FEAT_HAS_LOGMEL
    f->kind = (uint8_t)VS_PROTO_FEAT_LOGMEL;
    f->count = (uint16_t)(VS_FEAT_N_MELS < VS_PROTO_MAX_FEATURE_VALUES ? VS_FEAT_N_MELS
                                                                        : VS_PROTO_MAX_FEATURE_VALUES);
#else
    f->kind = (uint8_t)VS_PROTO_FEAT_VECTOR;
    f->count = (uint16_t)(NFEAT < VS_PROTO_MAX_FEATURE_VALUES ? NFEAT : VS_PROTO_MAX_FEATURE_VALUES);
#endif
    memcpy(f->values, node->feats, (size_t)f->count * sizeof(float));
    (void)emit(node);
}

static void analyse(vs_node_t *node, uint32_t frame_index)
{
    const vs_node_config_t *c = &node->cfg;
    vs_trigger_copy_frame(&node->trigger, node->work.scratch);
    (void)vs_features_compute_f32(&node->features, node->work.scratch, node->work.scratch, node->feats);
    const float model_score = score_features(node);
    if (node->update_enabled &&
        vs_model_update_frame(&node->update, model_score >= 0.0f && model_score < INFINITY) != 0) {
        model_switched(node);
        send_model_status(node);
    }
    const float score = node->baseline.have ? vs_baseline_score(&node->baseline, node->feats) : model_score;
    node->last_score = score;
    const int event = vs_alarm_step_f32(&node->alarm, score);
    node->counters.analysed++;

    vs_proto_score_t *s = &node->work.io.msg.u.score;
    memset(s, 0, sizeof *s);
    node->work.io.msg.header.type = (uint8_t)VS_MSG_SCORE;
    s->score = score;
    s->threshold = node->alarm.rule.threshold;
    s->alarm_state = (uint8_t)vs_alarm_state(&node->alarm);
    s->class_index = -1;
#if VS_FEAT_HAS_STATS
    s->rms_g = node->feats[VS_FEAT_STATS_OFFSET + 1];
    s->peak_g = node->feats[VS_FEAT_STATS_OFFSET + 2];
#endif
#if VS_FEAT_HAS_VELOCITY_RMS
    s->velocity_rms_mm_s = node->feats[VS_FEAT_VELOCITY_INDEX];
#endif
    s->frame_index = frame_index;
    (void)emit(node);

    if (event != VS_ALARM_EVENT_NONE) {
        vs_proto_alarm_t *a = &node->work.io.msg.u.alarm;
        memset(a, 0, sizeof *a);
        node->work.io.msg.header.type = (uint8_t)VS_MSG_ALARM;
        a->event = event == VS_ALARM_EVENT_RAISE ? (uint8_t)VS_PROTO_EVENT_RAISE : (uint8_t)VS_PROTO_EVENT_CLEAR;
        a->score = score;
        a->threshold = node->alarm.rule.threshold;
        a->clear_threshold = node->alarm.rule.clear_threshold;
        a->k = node->alarm.rule.k;
        a->n = node->alarm.rule.n;
        a->frame_index = frame_index;
        (void)emit(node);
        if (event == VS_ALARM_EVENT_RAISE) {
            node->counters.alarm_raises++;
        } else {
            node->counters.alarm_clears++;
        }
    }
    node->analysed_since_features++;
    if (c->features_every > 0u && node->analysed_since_features >= c->features_every) {
        node->analysed_since_features = 0u;
        send_features(node, frame_index);
    }
    if (event == VS_ALARM_EVENT_RAISE && c->raw_capture_samples > 0u) {
        (void)capture_start(node, ++node->next_capture_id, c->raw_capture_samples);
    }
    /* Learning takes this frame's features; a learned baseline scores from the next frame on. */
    const int learned = vs_baseline_frame(&node->baseline, node->feats);
    if (learned != VS_BASELINE_EV_NONE) {
        if (learned == VS_BASELINE_EV_DONE) {
            apply_rule(node);
        }
        send_baseline_progress(node);
    }
}

/* One block (work.io.hop[0..len)) is complete: trigger, and analyse when the trigger says so. */
static int process_block(vs_node_t *node, uint32_t len)
{
    const int reasons = vs_trigger_push_f32(&node->trigger, node->work.io.hop, len);
    node->counters.hops++;
    node->stream_samples = node->stream_samples > 0xFFFFFFFFu - len ? 0xFFFFFFFFu : node->stream_samples + len;
    if (node->stream_samples < FRAME) {
        return 0; /* warm-up: no complete frame yet */
    }
    const uint32_t fi = node->frame_index++;
    node->counters.frames++;
    if (reasons > 0) {
        analyse(node, fi);
        return 1;
    }
    node->counters.skipped++;
    return 0;
}

/* Consumer side of a gap the ISR recorded: drop what precedes it and restart framing. */
static void handle_gap(vs_node_t *node)
{
    uint32_t seq, pos;
    do {
        seq = SHARED_LOAD(&node->gap_seq);
        pos = SHARED_LOAD(&node->gap_pos);
    } while (seq != SHARED_LOAD(&node->gap_seq)); /* the ISR updated both in between: read again */
    node->gap_seen = seq;
    int32_t ahead = (int32_t)(pos - node->ring.tail);
    while (ahead > 0) {
        float sink[32];
        const uint32_t k = (uint32_t)ahead < 32u ? (uint32_t)ahead : 32u;
        const uint32_t got = vs_ring_read_f32(&node->ring, node->ring_buf, sink, k);
        raw_append(node, sink, got);
        if (got == 0u) {
            break;
        }
        ahead -= (int32_t)got;
    }
    restart_framing(node);
}

static int drain_samples(vs_node_t *node)
{
    int analysed = 0;
    for (;;) {
        if (SHARED_LOAD(&node->gap_seq) != node->gap_seen) {
            handle_gap(node);
        }
        const uint32_t want = block_len(node) - node->hop_fill;
        const uint32_t got = vs_ring_read_f32(&node->ring, node->ring_buf, node->work.io.hop + node->hop_fill, want);
        if (got == 0u) {
            return analysed;
        }
        raw_append(node, node->work.io.hop + node->hop_fill, got);
        node->hop_fill += got;
        if (node->hop_fill == block_len(node)) {
            const uint32_t len = node->hop_fill;
            node->hop_fill = 0u;
            analysed += process_block(node, len);
        }
    }
}

/* --- commands ----------------------------------------------------------------------------------------- */

static uint8_t cmd_set_threshold(vs_node_t *node, const vs_proto_set_threshold_t *st)
{
    vs_alarm_rule_t rule;
    vs_alarm_t probe;
    rule.threshold = st->threshold;
    rule.clear_threshold = st->clear_threshold;
    rule.k = st->k;
    rule.n = st->n;
    if (vs_alarm_init(&probe, &rule) != VS_OK) {
        return (uint8_t)VS_PROTO_NACK_BAD_VALUE;
    }
    /* docs/protocol.md: the new rule applies from the next frame and the alarm state is kept. The newest
     * min(count, n) scores carry over (the ring's order does not matter to the rule, only which scores). */
    const vs_alarm_t *old = &node->alarm;
    const uint8_t keep = old->count < rule.n ? old->count : rule.n;
    for (uint8_t i = 0; i < keep; i++) {
        const uint8_t from = (uint8_t)((old->head + old->rule.n - 1u - i) % old->rule.n);
        probe.ring[i] = old->ring[from];
    }
    probe.count = keep;
    probe.head = (uint8_t)(keep % rule.n);
    probe.state = old->state;
    node->alarm = probe;
    node->cfg.alarm = rule;
    return 0u;
}

static uint8_t cmd_request_raw(vs_node_t *node, const vs_proto_request_raw_t *rq)
{
    if (rq->sample_format != VS_PROTO_FMT_I16) {
        return (uint8_t)VS_PROTO_NACK_UNSUPPORTED; /* the pre-trigger ring holds int16 only */
    }
    if (rq->n_samples == 0u) {
        return (uint8_t)VS_PROTO_NACK_BAD_VALUE;
    }
    if (rq->n_samples > VS_NODE_RAW_MAX_SAMPLES) {
        return (uint8_t)VS_PROTO_NACK_TOO_LARGE;
    }
    if (node->raw_frozen || node->cap_live) {
        return (uint8_t)VS_PROTO_NACK_BUSY;
    }
    return capture_start(node, rq->capture_id, rq->n_samples) > 0u ? 0u : (uint8_t)VS_PROTO_NACK_NOT_READY;
}

static uint8_t cmd_replay(vs_node_t *node, const vs_proto_replay_t *rp)
{
    const uint32_t n = rp->count;
    if (n == 0u || rp->sample_rate_hz != VS_FEAT_SAMPLE_RATE) {
        return (uint8_t)VS_PROTO_NACK_BAD_VALUE;
    }
    if (rp->sample_format == VS_PROTO_FMT_I16) {
        if (!(rp->scale_g_per_lsb > 0.0f) || !finite_nonneg(rp->scale_g_per_lsb)) {
            return (uint8_t)VS_PROTO_NACK_BAD_VALUE;
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            const float v = rp->samples.f32[i];
            if (!(v > -3.0e38f && v < 3.0e38f)) {
                return (uint8_t)VS_PROTO_NACK_BAD_VALUE; /* NaN/inf would poison every later frame */
            }
        }
    }
    /* The ring is empty here in replay mode: every command is followed by a drain (handle_command). */
    if (!node->replay_started) {
        /* From now on the host is the sampler: stop the sensor and drop what it left in the ring. */
        node->replay_started = 1u;
        SHARED_STORE(&node->stop_isr, 1u);
        vs_platform_sampler_stop();
        SHARED_STORE(&node->ring.tail, SHARED_LOAD(&node->ring.head));
        restart_framing(node);
    } else if (rp->block_index == 0u) {
        restart_framing(node); /* a replayer starting over */
    } else if (rp->block_index != node->replay_next) {
        node->replay_next = rp->block_index + 1u;
        node->counters.replay_gaps++;
        restart_framing(node);
        return (uint8_t)VS_PROTO_NACK_OUT_OF_ORDER;
    }
    node->replay_next = rp->block_index + 1u;
    const uint32_t put = rp->sample_format == VS_PROTO_FMT_I16
                             ? vs_ring_write_i16_scaled(&node->ring, node->ring_buf, rp->samples.i16, n,
                                                        rp->scale_g_per_lsb)
                             : (vs_ring_space(&node->ring) >= n
                                    ? vs_ring_write_f32(&node->ring, node->ring_buf, rp->samples.f32, n)
                                    : 0u);
    if (put != n) {
        return (uint8_t)VS_PROTO_NACK_BUSY; /* cannot happen: the ring (>= 500 samples) is empty here */
    }
    node->counters.replay_blocks++;
    return 0u;
}

static uint8_t cmd_baseline(vs_node_t *node, const vs_proto_baseline_learn_t *bl)
{
    uint8_t reason;
    switch (bl->action) {
    case VS_PROTO_BASELINE_START:
        if (node->update_enabled && node->update.staging) {
            return (uint8_t)VS_PROTO_NACK_BUSY; /* one long job at a time: the transfer finishes first */
        }
        return vs_baseline_start(&node->baseline, bl->n_frames, bl->threshold_k);
    case VS_PROTO_BASELINE_ABORT:
        return vs_baseline_abort(&node->baseline);
    default: /* CLEAR (the decoder refuses other actions) */
        reason = vs_baseline_clear(&node->baseline);
        if (reason == 0u) {
            apply_rule(node);
        }
        return reason;
    }
}

/* MODEL_*: vs_model_update does the work; the reply stays handle_command's (exactly one per command). */
static uint8_t cmd_model(vs_node_t *node, uint8_t type)
{
    const vs_proto_msg_t *m = &node->work.io.msg;
    switch (type) {
    case VS_MSG_MODEL_BEGIN:
        return vs_model_update_begin(&node->update, m->u.model_begin.total_size, m->u.model_begin.sha256,
                                     m->u.model_begin.chunk_size);
    case VS_MSG_MODEL_MANIFEST:
        return vs_model_update_manifest(&node->update, m->u.model_manifest.signature, m->u.model_manifest.manifest,
                                        m->u.model_manifest.count);
    case VS_MSG_MODEL_CHUNK:
        return vs_model_update_chunk(&node->update, m->u.model_chunk.offset, m->u.model_chunk.data,
                                     m->u.model_chunk.count);
    default:
        return vs_model_update_commit(&node->update, m->u.model_commit.sha256);
    }
}

static void handle_command(vs_node_t *node)
{
    const uint8_t type = node->work.io.msg.header.type;
    const uint32_t seq = node->work.io.msg.header.seq;
    uint8_t reason;
    if (node->work.io.msg.header.node_id != node->cfg.node_id && node->work.io.msg.header.node_id != VS_PROTO_BROADCAST_NODE) {
        node->counters.rx_foreign++;
        return;
    }
    if (node->last_cmd_valid && type == node->last_cmd_type && seq == node->last_cmd_seq) {
        node->counters.rx_duplicates++; /* a retry: the answer was lost, the command was not */
        send_reply(node, type, seq, node->last_reply_reason);
        return;
    }
    switch (type) {
    case VS_MSG_SET_THRESHOLD:
        reason = cmd_set_threshold(node, &node->work.io.msg.u.set_threshold);
        break;
    case VS_MSG_REQUEST_RAW:
        reason = cmd_request_raw(node, &node->work.io.msg.u.request_raw);
        break;
    case VS_MSG_REPLAY_SAMPLES:
        reason = cmd_replay(node, &node->work.io.msg.u.replay);
        break;
    case VS_MSG_MODEL_BEGIN:
    case VS_MSG_MODEL_MANIFEST:
    case VS_MSG_MODEL_CHUNK:
    case VS_MSG_MODEL_COMMIT:
        if (!node->update_enabled) {
            reason = (uint8_t)VS_PROTO_NACK_UNSUPPORTED;
            break;
        }
        if (type == VS_MSG_MODEL_BEGIN && node->baseline.learning) {
            reason = (uint8_t)VS_PROTO_NACK_BUSY;
            break;
        }
        reason = cmd_model(node, type);
        break;
    case VS_MSG_BASELINE_LEARN:
        reason = cmd_baseline(node, &node->work.io.msg.u.baseline_learn);
        break;
    default:
        /* MODEL_* (issue H adds the slots) and node->host messages sent to a node. */
        reason = (uint8_t)VS_PROTO_NACK_UNSUPPORTED;
        break;
    }
    node->last_cmd_valid = 1u;
    node->last_cmd_type = type;
    node->last_cmd_seq = seq;
    node->last_reply_reason = reason;
    send_reply(node, type, seq, reason);
    if (node->update_enabled && (type == VS_MSG_MODEL_BEGIN || type == VS_MSG_MODEL_COMMIT ||
                                 ((type == VS_MSG_MODEL_MANIFEST || type == VS_MSG_MODEL_CHUNK) && reason != 0u))) {
        if (type == VS_MSG_MODEL_COMMIT && reason == 0u) {
            model_switched(node);
        }
        send_model_status(node);
    }
    if (type == VS_MSG_BASELINE_LEARN && reason == 0u) {
        send_baseline_progress(node);
    }
    if (type == VS_MSG_REPLAY_SAMPLES) {
        /* Analyse now: node->work.io.msg is free again, and the next block finds an empty ring. */
        (void)drain_samples(node);
    }
}

/* --- public API --------------------------------------------------------------------------------------- */

int vs_node_init(vs_node_t *node, const vs_node_config_t *cfg)
{
    if (node == NULL || cfg == NULL) {
        return VS_ERR_ARG;
    }
    const char *fw = cfg->fw_version != NULL ? cfg->fw_version : "vs_node";
    const char *machine = cfg->machine != NULL ? cfg->machine : "";
    if (!printable(fw, VS_PROTO_MAX_STRING) || !printable(machine, VS_PROTO_MAX_STRING) ||
        !finite_nonneg(cfg->trigger_rms_g) || !finite_nonneg(cfg->trigger_peak_g) ||
        cfg->heartbeat_frames > 0xFFFFFFFFu / HOP - 1u || cfg->holdoff_frames > 0xFFFFFFFFu / HOP - 1u ||
        (cfg->norm_mean == NULL) != (cfg->norm_std == NULL)) {
        return VS_ERR_ARG;
    }
    if (cfg->norm_std != NULL) {
        for (uint32_t i = 0; i < NFEAT; i++) {
            if (!(cfg->norm_std[i] > 0.0f) || !finite_nonneg(cfg->norm_std[i])) {
                return VS_ERR_ARG;
            }
        }
    }
    if (cfg->raw_capture_samples > VS_NODE_RAW_MAX_SAMPLES) {
        return VS_ERR_SIZE;
    }
    if (cfg->model != NULL) {
        const vs_model_t *m = cfg->model;
        if (m->input_type != VS_NN_TYPE_S8 || m->output_type != VS_NN_TYPE_S8 || m->input_bytes != NFEAT ||
            m->output_bytes != NFEAT || !(m->input_scale > 0.0f)) {
            return VS_ERR_UNSUPPORTED; /* only int8 autoencoders of this feature vector */
        }
        if (m->arena_bytes > VS_NODE_ARENA_BYTES) {
            return VS_ERR_SIZE;
        }
    }
    memset(node, 0, sizeof *node);
    node->cfg = *cfg;
    memcpy(node->fw_version, fw, strlen(fw) + 1u);
    memcpy(node->machine, machine, strlen(machine) + 1u);
    node->cfg.fw_version = node->fw_version;
    node->cfg.machine = node->machine;
    if (cfg->model_hash != NULL) {
        memcpy(node->model_hash, cfg->model_hash, VS_PROTO_HASH_SIZE);
    }
    node->cfg.model_hash = node->model_hash;
    if (vs_alarm_init(&node->alarm, &cfg->alarm) != VS_OK || trigger_reinit(node) != VS_OK) {
        return VS_ERR_ARG;
    }
    if (vs_features_init(&node->features) != VS_OK) {
        return VS_ERR_CONFIG;
    }
    (void)vs_ring_init(&node->ring, VS_NODE_RING_SAMPLES);
    vs_proto_decoder_init(&node->decoder);
    vs_baseline_init(&node->baseline, vs_features_hash());
    node->magic = VS_NODE_MAGIC;
    return VS_OK;
}

/* Read the boot record, count this boot, write it back. A missing or damaged record starts again at 1. */
static void update_boot_record(vs_node_t *node)
{
    boot_record_t r;
    const int n = vs_platform_store_read((uint8_t)VS_STORE_RECORD_BOOT, &r, sizeof r);
    if (n != (int)sizeof r || r.magic != VS_NODE_BOOT_MAGIC || r.version != VS_NODE_BOOT_VERSION ||
        r.crc != vs_crc32((const uint8_t *)&r, offsetof(boot_record_t, crc))) {
        memset(&r, 0, sizeof r);
        r.magic = VS_NODE_BOOT_MAGIC;
        r.version = VS_NODE_BOOT_VERSION;
    }
    r.boot_counter++;
    if (node->counters.reset_reason == VS_RESET_WATCHDOG) {
        r.watchdog_resets++;
    }
    r.crc = vs_crc32((const uint8_t *)&r, offsetof(boot_record_t, crc));
    (void)vs_platform_store_write((uint8_t)VS_STORE_RECORD_BOOT, &r, sizeof r);
    node->counters.boot_counter = r.boot_counter;
    node->counters.watchdog_resets = r.watchdog_resets;
}

int vs_node_enable_model_update(vs_node_t *node, const vs_model_update_io_t *io, const uint8_t (*keys)[32],
                                uint8_t n_keys, uint32_t trial_frames)
{
    if (node == NULL || node->magic != VS_NODE_MAGIC || node->started) {
        return VS_ERR_STATE;
    }
    const int rc = vs_model_update_init(&node->update, io, keys, n_keys, vs_features_hash(), trial_frames,
                                        node->arena, (uint32_t)sizeof node->arena, NFEAT);
    node->update_enabled = rc == VS_OK;
    return rc;
}

int vs_node_start(vs_node_t *node)
{
    if (node == NULL || node->magic != VS_NODE_MAGIC || node->started) {
        return VS_ERR_STATE;
    }
    node->counters.reset_reason = vs_platform_reset_reason();
    update_boot_record(node);
    const int baseline = vs_baseline_load(&node->baseline);
    if (node->update_enabled) {
        /* VS_RESET_* and VS_PROTO_RESET_* share their values (vs_platform_watchdog.h) */
        (void)vs_model_update_boot(&node->update, node->counters.reset_reason);
        model_switched(node);
    } else if (baseline == VS_BASELINE_LOAD_VALID) {
        apply_rule(node);
    }
    send_hello(node);
    if (node->update_enabled) {
        send_model_status(node);
    }
    if (baseline != VS_BASELINE_LOAD_NONE) {
        send_baseline_progress(node); /* DONE: in use; FAILED: a stored baseline failed its checks, ignored */
    }
    node->next_status_us = node->last_ts_us + (uint64_t)node->cfg.status_period_ms * 1000u;
    node->started = 1u;
    /* A sensor that does not answer is not fatal: the node still serves REPLAY_SAMPLES. */
    (void)vs_platform_sampler_start(VS_FEAT_SAMPLE_RATE);
    return VS_OK;
}

static int push_block(vs_node_t *node, uint32_t n, uint32_t put)
{
    if (put == n) {
        node->counters.blocks++;
        return VS_OK;
    }
    /* Dropped whole: remember where the stream has a hole so the consumer restarts framing there. */
    node->counters.ring_overruns++;
    node->counters.overrun_samples += n;
    SHARED_STORE(&node->gap_pos, SHARED_LOAD(&node->ring.head));
    SHARED_STORE(&node->gap_seq, node->gap_seq + 1u); /* after gap_pos: the consumer reads seq first */
    return VS_NODE_E_OVERRUN;
}

int vs_node_push_samples_i16(vs_node_t *node, const int16_t *counts, uint32_t n, float scale_g_per_lsb)
{
    if (node == NULL || counts == NULL || n == 0u || n > VS_NODE_RING_SAMPLES) {
        return VS_ERR_ARG;
    }
    if (node->magic != VS_NODE_MAGIC) {
        return VS_ERR_STATE; /* an ISR enabled before vs_node_init */
    }
    if (SHARED_LOAD(&node->stop_isr)) {
        return VS_OK;
    }
    return push_block(node, n, vs_ring_write_i16_scaled(&node->ring, node->ring_buf, counts, n, scale_g_per_lsb));
}

int vs_node_push_samples_f32(vs_node_t *node, const float *g, uint32_t n)
{
    if (node == NULL || g == NULL || n == 0u || n > VS_NODE_RING_SAMPLES) {
        return VS_ERR_ARG;
    }
    if (node->magic != VS_NODE_MAGIC) {
        return VS_ERR_STATE;
    }
    if (SHARED_LOAD(&node->stop_isr)) {
        return VS_OK;
    }
    const uint32_t put =
        vs_ring_space(&node->ring) >= n ? vs_ring_write_f32(&node->ring, node->ring_buf, g, n) : 0u;
    return push_block(node, n, put);
}

void vs_node_wake_from_isr(vs_node_t *node)
{
    if (node != NULL) {
        vs_trigger_wake_from_isr(&node->trigger);
    }
}

int vs_node_rx_bytes(vs_node_t *node, const uint8_t *bytes, size_t n)
{
    if (node == NULL || (bytes == NULL && n > 0u)) {
        return VS_ERR_ARG;
    }
    if (node->magic != VS_NODE_MAGIC || !node->started) {
        return VS_ERR_STATE;
    }
    for (size_t i = 0; i < n; i++) {
        const int r = vs_proto_decoder_push(&node->decoder, bytes[i], &node->work.io.msg);
        if (r == 1) {
            node->counters.rx_frames++;
            handle_command(node);
        } else if (r < 0) {
            node->counters.rx_errors++;
        }
    }
    return VS_OK;
}

int vs_node_poll(vs_node_t *node)
{
    if (node == NULL || node->magic != VS_NODE_MAGIC || !node->started) {
        return VS_ERR_STATE;
    }
    const uint32_t analysed_before = node->counters.analysed;
    uint8_t rx[VS_NODE_RX_CHUNK];
    size_t got;
    while ((got = vs_platform_uart_read(rx, sizeof rx)) > 0u) {
        (void)vs_node_rx_bytes(node, rx, got);
    }
    (void)drain_samples(node);
    if (node->cfg.status_period_ms > 0u) {
        const uint64_t now = vs_platform_clock_us();
        if (now >= node->next_status_us) {
            node->n_status++;
            if (node->cfg.hello_every_status > 0u && node->n_status % node->cfg.hello_every_status == 0u) {
                send_hello(node);
                if (node->update_enabled) {
                    send_model_status(node); /* a host that missed a state change learns it here */
                }
                if (node->baseline.have && !node->baseline.learning) {
                    send_baseline_progress(node);
                }
            }
            send_status(node, now);
            if (node->baseline.learning) {
                send_baseline_progress(node);
            }
            const uint64_t period = (uint64_t)node->cfg.status_period_ms * 1000u;
            node->next_status_us += period;
            if (node->next_status_us <= now) { /* the loop was stalled: no burst of catch-up STATUS */
                node->next_status_us = now + period;
            }
        }
    }
    if (node->raw_frozen || capture_ready(node)) {
        capture_send_one(node);
    }
    vs_platform_watchdog_feed();
    return (int)(node->counters.analysed - analysed_before);
}

int vs_node_has_work(const void *ctx)
{
    const vs_node_t *node = (const vs_node_t *)ctx;
    /* No clock read here: the port's periodic tick interrupt ends the sleep, and the next poll sends a STATUS
     * that is due. */
    return vs_ring_count(&node->ring) > 0u || node->raw_frozen || capture_ready(node) ||
           vs_platform_uart_rx_pending();
}

void vs_node_run(vs_node_t *node)
{
    for (;;) {
        (void)vs_node_poll(node);
        vs_platform_sleep_until_event(vs_node_has_work, node);
    }
}

const vs_node_counters_t *vs_node_counters(const vs_node_t *node)
{
    return &node->counters;
}

const float *vs_node_last_features(const vs_node_t *node)
{
    return node->feats;
}

float vs_node_last_score(const vs_node_t *node)
{
    return node->last_score;
}

size_t vs_node_instance_size(void)
{
    return sizeof(vs_node_t);
}
