/* ctypes shim for the protocol parity tests (tests/protocol/test_protocol_c.py): the C codec driven with byte buffers.
 * Not part of the firmware. */
#include <string.h>

#include "vs/vs_crc.h"
#include "vs/vs_protocol.h"

int shim_reencode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);
int shim_random(uint32_t seed, uint8_t *out, size_t cap, size_t *out_len);
int shim_stream(const uint8_t *data, size_t len, size_t chunk, uint8_t *out, size_t cap, size_t *out_len,
                uint32_t *counters);
uint32_t shim_crc32(const uint8_t *data, size_t len);

static uint8_t shim_buf[VS_PROTO_MAX_WIRE + 64];
static vs_proto_msg_t shim_msg;

/* Decode one frame (copied: decoding is in place) and encode the message again. */
int shim_reencode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    int rc;
    *out_len = 0;
    if (len > sizeof shim_buf) {
        return VS_PROTO_E_OVERSIZE;
    }
    memcpy(shim_buf, in, len);
    rc = vs_proto_decode_frame(shim_buf, len, &shim_msg);
    if (rc != VS_OK) {
        return rc;
    }
    return vs_proto_encode(&shim_msg, out, cap, out_len);
}

static uint32_t shim_state;

static uint32_t shim_rand(void)
{
    /* xorshift32: the C side's own random source, independent of numpy. */
    shim_state ^= shim_state << 13;
    shim_state ^= shim_state >> 17;
    shim_state ^= shim_state << 5;
    return shim_state;
}

static uint32_t shim_below(uint32_t n)
{
    return shim_rand() % n;
}

static float shim_float(void)
{
    uint32_t u = shim_rand();
    float f;
    if ((u & 0x7F800000U) == 0x7F800000U && (u & 0x007FFFFFU) != 0U) {
        u &= 0xFF7FFFFFU; /* NaN -> finite: Python may quieten signalling NaNs on re-encode */
    }
    memcpy(&f, &u, sizeof f);
    return f;
}

static void shim_bytes(uint8_t *p, size_t n, uint8_t lo)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(lo + shim_below(256U - lo));
    }
}

static void shim_ascii(char *p, uint8_t *len)
{
    *len = (uint8_t)shim_below(VS_PROTO_MAX_STRING + 1U);
    for (uint8_t i = 0; i < *len; i++) {
        p[i] = (char)(0x20 + shim_below(0x5FU));
    }
}

static void shim_samples(uint8_t *fmt, uint16_t *count, vs_proto_samples_t *s)
{
    *fmt = (uint8_t)shim_below(2U);
    if (*fmt == VS_PROTO_FMT_I16) {
        *count = (uint16_t)shim_below(VS_PROTO_MAX_SAMPLES_I16 + 1U);
        for (uint16_t i = 0; i < *count; i++) {
            s->i16[i] = (int16_t)(uint16_t)shim_rand();
        }
    } else {
        *count = (uint16_t)shim_below(VS_PROTO_MAX_SAMPLES_F32 + 1U);
        for (uint16_t i = 0; i < *count; i++) {
            s->f32[i] = shim_float();
        }
    }
}

static const uint8_t shim_types[] = {
    VS_MSG_HELLO,       VS_MSG_STATUS,        VS_MSG_SCORE,          VS_MSG_ALARM,          VS_MSG_FEATURES,
    VS_MSG_RAW_CHUNK,   VS_MSG_ACK,           VS_MSG_NACK,           VS_MSG_SET_THRESHOLD,  VS_MSG_REQUEST_RAW,
    VS_MSG_REPLAY_SAMPLES, VS_MSG_MODEL_BEGIN, VS_MSG_MODEL_CHUNK,   VS_MSG_MODEL_COMMIT,   VS_MSG_HEALTH,
    VS_MSG_MODEL_STATUS, VS_MSG_BASELINE_PROGRESS, VS_MSG_MODEL_MANIFEST, VS_MSG_BASELINE_LEARN,
};

int shim_random(uint32_t seed, uint8_t *out, size_t cap, size_t *out_len)
{
    vs_proto_msg_t *m = &shim_msg;
    shim_state = seed * 2654435761U + 1U;
    memset(m, 0, sizeof *m);
    m->header.type = shim_types[shim_below(sizeof shim_types)];
    m->header.node_id = (uint16_t)shim_rand();
    m->header.seq = shim_rand();
    m->header.timestamp_us = ((uint64_t)shim_rand() << 32) | shim_rand();
    switch (m->header.type) {
    case VS_MSG_HELLO:
        m->u.hello.protocol_version = (uint8_t)shim_rand();
        m->u.hello.boot_counter = shim_rand();
        m->u.hello.sample_rate_hz = shim_float();
        shim_bytes(m->u.hello.feature_hash, VS_PROTO_HASH_SIZE, 0);
        shim_bytes(m->u.hello.model_hash, VS_PROTO_HASH_SIZE, 0);
        shim_ascii(m->u.hello.fw_version, &m->u.hello.fw_version_len);
        shim_ascii(m->u.hello.machine, &m->u.hello.machine_len);
        m->u.hello.reset_reason = (uint8_t)shim_below(6U);
        m->u.hello.model_slot = (uint8_t)shim_below(3U);
        m->u.hello.model_state = (uint8_t)shim_below(5U);
        /* Both header versions: a version-1 HELLO has no tail (its tail fields decode as 0). */
        m->header.version = (uint8_t)(1U + shim_below(2U));
        if (m->header.version == 1U) {
            m->u.hello.reset_reason = m->u.hello.model_slot = m->u.hello.model_state = 0U;
        }
        break;
    case VS_MSG_HEALTH: {
        vs_proto_health_t *h = &m->u.health;
        h->boot_counter = shim_rand();
        h->watchdog_resets = shim_rand();
        h->blocks = shim_rand();
        h->ring_overruns = shim_rand();
        h->overrun_samples = shim_rand();
        h->replay_blocks = shim_rand();
        h->replay_gaps = shim_rand();
        h->discontinuities = shim_rand();
        h->rx_foreign = shim_rand();
        h->acks = shim_rand();
        for (size_t i = 0; i < VS_PROTO_NACK_SLOTS; i++) {
            h->nacks[i] = shim_rand();
        }
        h->raw_captures = shim_rand();
        h->alarm_raises = shim_rand();
        h->alarm_clears = shim_rand();
        h->ring_high_water = shim_rand();
        h->ring_capacity = shim_rand();
        h->stack_high_water = shim_rand();
        h->stack_size = shim_rand();
        break;
    }
    case VS_MSG_MODEL_STATUS:
        m->u.model_status.model_slot = (uint8_t)shim_below(3U);
        m->u.model_status.model_state = (uint8_t)shim_below(5U);
        m->u.model_status.counter = shim_rand();
        shim_bytes(m->u.model_status.model_hash, VS_PROTO_HASH_SIZE, 0);
        m->u.model_status.trial_frames = shim_rand();
        m->u.model_status.trial_target = shim_rand();
        m->u.model_status.staged_bytes = shim_rand();
        m->u.model_status.staged_total = shim_rand();
        m->u.model_status.last_error = (uint8_t)shim_rand();
        break;
    case VS_MSG_BASELINE_PROGRESS:
        m->u.baseline_progress.state = (uint8_t)shim_below(5U);
        m->u.baseline_progress.frames_done = shim_rand();
        m->u.baseline_progress.frames_target = shim_rand();
        m->u.baseline_progress.threshold = shim_float();
        m->u.baseline_progress.baseline_crc = shim_rand();
        break;
    case VS_MSG_MODEL_MANIFEST:
        shim_bytes(m->u.model_manifest.signature, VS_PROTO_SIGNATURE_SIZE, 0);
        m->u.model_manifest.count = (uint16_t)shim_below(VS_PROTO_MAX_MANIFEST + 1U);
        shim_bytes(m->u.model_manifest.manifest, m->u.model_manifest.count, 0);
        break;
    case VS_MSG_BASELINE_LEARN:
        m->u.baseline_learn.action = (uint8_t)(1U + shim_below(3U));
        m->u.baseline_learn.n_frames = shim_rand();
        m->u.baseline_learn.threshold_k = shim_float();
        break;
    case VS_MSG_STATUS:
        m->u.status.uptime_s = shim_rand();
        m->u.status.frames_analysed = shim_rand();
        m->u.status.frames_skipped = shim_rand();
        m->u.status.tx_frames = shim_rand();
        m->u.status.rx_frames = shim_rand();
        m->u.status.rx_errors = shim_rand();
        m->u.status.alarm_state = (uint8_t)shim_below(2U);
        m->u.status.flags = (uint8_t)shim_below(4U);
        m->u.status.battery_v = shim_float(); /* sent only when its flag is set */
        m->u.status.temperature_c = shim_float();
        break;
    case VS_MSG_SCORE:
        m->u.score.score = shim_float();
        m->u.score.threshold = shim_float();
        m->u.score.alarm_state = (uint8_t)shim_below(2U);
        m->u.score.class_index = (int16_t)(uint16_t)shim_rand();
        m->u.score.rms_g = shim_float();
        m->u.score.peak_g = shim_float();
        m->u.score.velocity_rms_mm_s = shim_float();
        m->u.score.frame_index = shim_rand();
        break;
    case VS_MSG_ALARM:
        m->u.alarm.event = (uint8_t)(1U + shim_below(2U));
        m->u.alarm.score = shim_float();
        m->u.alarm.threshold = shim_float();
        m->u.alarm.clear_threshold = shim_float();
        m->u.alarm.k = (uint8_t)shim_rand();
        m->u.alarm.n = (uint8_t)shim_rand();
        m->u.alarm.frame_index = shim_rand();
        break;
    case VS_MSG_FEATURES:
        m->u.features.kind = (uint8_t)shim_below(5U);
        m->u.features.frame_index = shim_rand();
        m->u.features.count = (uint16_t)shim_below(VS_PROTO_MAX_FEATURE_VALUES + 1U);
        for (uint16_t i = 0; i < m->u.features.count; i++) {
            m->u.features.values[i] = shim_float();
        }
        break;
    case VS_MSG_RAW_CHUNK:
        m->u.raw_chunk.capture_id = shim_rand();
        m->u.raw_chunk.chunk_count = (uint16_t)(1U + shim_below(0xFFFFU));
        m->u.raw_chunk.chunk_index = (uint16_t)shim_below(m->u.raw_chunk.chunk_count);
        m->u.raw_chunk.sample_rate_hz = shim_float();
        m->u.raw_chunk.scale_g_per_lsb = shim_float();
        shim_samples(&m->u.raw_chunk.sample_format, &m->u.raw_chunk.count, &m->u.raw_chunk.samples);
        break;
    case VS_MSG_ACK:
    case VS_MSG_NACK:
        m->u.ack.acked_type = (uint8_t)shim_rand();
        m->u.ack.acked_seq = shim_rand();
        m->u.ack.reason = m->header.type == VS_MSG_NACK ? (uint8_t)shim_rand() : 0U;
        break;
    case VS_MSG_SET_THRESHOLD:
        m->u.set_threshold.threshold = shim_float();
        m->u.set_threshold.clear_threshold = shim_float();
        m->u.set_threshold.k = (uint8_t)shim_rand();
        m->u.set_threshold.n = (uint8_t)shim_rand();
        break;
    case VS_MSG_REQUEST_RAW:
        m->u.request_raw.capture_id = shim_rand();
        m->u.request_raw.n_samples = shim_rand();
        m->u.request_raw.sample_format = (uint8_t)shim_below(2U);
        break;
    case VS_MSG_REPLAY_SAMPLES:
        m->u.replay.block_index = shim_rand();
        m->u.replay.sample_rate_hz = shim_float();
        m->u.replay.scale_g_per_lsb = shim_float();
        shim_samples(&m->u.replay.sample_format, &m->u.replay.count, &m->u.replay.samples);
        break;
    case VS_MSG_MODEL_BEGIN:
        m->u.model_begin.total_size = shim_rand();
        shim_bytes(m->u.model_begin.sha256, VS_PROTO_HASH_SIZE, 0);
        m->u.model_begin.chunk_size = (uint16_t)(1U + shim_below(VS_PROTO_MAX_MODEL_CHUNK));
        break;
    case VS_MSG_MODEL_CHUNK:
        m->u.model_chunk.offset = shim_rand();
        m->u.model_chunk.count = (uint16_t)shim_below(VS_PROTO_MAX_MODEL_CHUNK + 1U);
        shim_bytes(m->u.model_chunk.data, m->u.model_chunk.count, (uint8_t)shim_below(2U));
        break;
    default:
        shim_bytes(m->u.model_commit.sha256, VS_PROTO_HASH_SIZE, 0);
        break;
    }
    return vs_proto_encode(m, out, cap, out_len);
}

/* Stream data through a decoder in pieces of `chunk` bytes; append every accepted message, re-encoded, to out.
 * counters receives frames, bytes, oversize, cobs, length, crc, version, unknown_type, invalid. */
int shim_stream(const uint8_t *data, size_t len, size_t chunk, uint8_t *out, size_t cap, size_t *out_len,
                uint32_t *counters)
{
    static vs_proto_decoder_t dec;
    size_t pos = 0;
    int frames = 0;
    *out_len = 0;
    vs_proto_decoder_init(&dec);
    if (chunk == 0U) {
        chunk = 1U;
    }
    while (pos < len) {
        size_t piece = len - pos < chunk ? len - pos : chunk;
        const uint8_t *p = data + pos;
        pos += piece;
        while (piece > 0U) {
            int got = 0;
            size_t used = vs_proto_decoder_feed(&dec, p, piece, &shim_msg, &got);
            p += used;
            piece -= used;
            if (got) {
                size_t n = 0;
                int rc = vs_proto_encode(&shim_msg, out + *out_len, cap - *out_len, &n);
                if (rc != VS_OK) {
                    return rc;
                }
                *out_len += n;
                frames++;
            }
        }
    }
    counters[0] = dec.counters.frames;
    counters[1] = dec.counters.bytes;
    counters[2] = dec.counters.oversize;
    counters[3] = dec.counters.cobs;
    counters[4] = dec.counters.length;
    counters[5] = dec.counters.crc;
    counters[6] = dec.counters.version;
    counters[7] = dec.counters.unknown_type;
    counters[8] = dec.counters.invalid;
    return frames;
}

uint32_t shim_crc32(const uint8_t *data, size_t len)
{
    return vs_crc32(data, len);
}
