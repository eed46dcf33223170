/* vibsentry wire protocol: encoder, frame decoder and streaming decoder (docs/protocol.md).
 *
 * The layouts come from specs/protocol.toml: every fixed-layout message (SCORE, ALARM, ACK, ...) is encoded and
 * decoded by generated code (vs_protocol_fixed.inc, included below), and the hand-written cases here (strings,
 * arrays, optional values) use the generated offsets, sizes and field rules. */
#include "vs/vs_protocol.h"

#include <string.h>

#include "vs/vs_cobs.h"
#include "vs/vs_crc.h"

/* ---------------------------------------------------------------------------------------------------------
 * Little-endian field access. memcpy keeps this correct on big-endian hosts' float layout too, because only
 * the integer image of the float is reordered.
 * ------------------------------------------------------------------------------------------------------- */

static uint16_t vs_rd_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static uint32_t vs_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t vs_rd_u64(const uint8_t *p)
{
    return (uint64_t)vs_rd_u32(p) | ((uint64_t)vs_rd_u32(p + 4) << 32);
}

static float vs_rd_f32(const uint8_t *p)
{
    const uint32_t u = vs_rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Serialiser: every byte goes through the CRC and straight into the COBS writer. */
typedef struct {
    vs_cobs_writer_t w;
    uint32_t crc;
} vs_ser_t;

static void vs_put(vs_ser_t *s, const uint8_t *p, size_t n)
{
    s->crc = vs_crc32_update(s->crc, p, n);
    for (size_t i = 0; i < n; i++) {
        vs_cobs_writer_put(&s->w, p[i]);
    }
}

static void vs_put_u8(vs_ser_t *s, uint8_t v)
{
    vs_put(s, &v, 1);
}

static void vs_put_u16(vs_ser_t *s, uint16_t v)
{
    const uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vs_put(s, b, 2);
}

static void vs_put_i16(vs_ser_t *s, int16_t v)
{
    vs_put_u16(s, (uint16_t)v);
}

static void vs_put_u32(vs_ser_t *s, uint32_t v)
{
    const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    vs_put(s, b, 4);
}

static void vs_put_u64(vs_ser_t *s, uint64_t v)
{
    vs_put_u32(s, (uint32_t)v);
    vs_put_u32(s, (uint32_t)(v >> 32));
}

static void vs_put_f32(vs_ser_t *s, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    vs_put_u32(s, u);
}

static int vs_is_ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)p[i];
        if (c < 0x20U || c > 0x7EU) {
            return 0;
        }
    }
    return 1;
}

static size_t vs_sample_size(uint8_t fmt)
{
    return fmt == VS_PROTO_FMT_I16 ? 2U : 4U;
}

static int vs_samples_ok(uint8_t fmt, uint16_t count)
{
    if (fmt == VS_PROTO_FMT_I16) {
        return count <= VS_PROTO_MAX_SAMPLES_I16;
    }
    if (fmt == VS_PROTO_FMT_F32) {
        return count <= VS_PROTO_MAX_SAMPLES_F32;
    }
    return 0;
}

#include "vs_protocol_fixed.inc"

/* Header version a frame is written in: header.version when it names a supported version, VS_PROTO_VERSION
 * when it is 0 (a zero-initialised message), 0 (invalid) otherwise. */
static uint8_t vs_wire_version(const vs_proto_header_t *h)
{
    if (h->version == 0U) {
        return (uint8_t)VS_PROTO_VERSION;
    }
    return (h->version >= VS_PROTO_MIN_VERSION && h->version <= VS_PROTO_VERSION) ? h->version : 0U;
}

/* Bytes of HELLO's tail in a frame of this version (it exists from VS_PROTO_HELLO_TAIL_SINCE on). */
static size_t vs_hello_tail(uint8_t version)
{
    return version >= VS_PROTO_HELLO_TAIL_SINCE ? VS_PROTO_HELLO_TAIL_SIZE : 0U;
}

/* ---------------------------------------------------------------------------------------------------------
 * Encoder
 * ------------------------------------------------------------------------------------------------------- */

/* Checks the field rules an encoder must enforce; returns the payload size or a negative code. */
int vs_proto_payload_size(const vs_proto_msg_t *msg)
{
    int fixed;
    if (msg == NULL) {
        return VS_PROTO_E_ARG;
    }
    if (vs_wire_version(&msg->header) == 0U) {
        return VS_PROTO_E_INVALID;
    }
    fixed = vs_gen_fixed_size(msg->header.type);
    if (fixed >= 0) {
        return vs_gen_fixed_valid(msg) ? fixed : VS_PROTO_E_INVALID;
    }
    switch (msg->header.type) {
    case VS_MSG_HELLO: {
        const vs_proto_hello_t *m = &msg->u.hello;
        if (!vs_gen_valid_hello(m) || m->fw_version_len > VS_PROTO_MAX_STRING ||
            m->machine_len > VS_PROTO_MAX_STRING || !vs_is_ascii(m->fw_version, m->fw_version_len) ||
            !vs_is_ascii(m->machine, m->machine_len)) {
            return VS_PROTO_E_INVALID;
        }
        return (int)VS_PROTO_HELLO_FIXED_SIZE + 2 + m->fw_version_len + m->machine_len +
               (int)vs_hello_tail(vs_wire_version(&msg->header));
    }
    case VS_MSG_STATUS:
        return vs_gen_valid_status(&msg->u.status) ? (int)VS_PROTO_STATUS_SIZE : VS_PROTO_E_INVALID;
    case VS_MSG_FEATURES:
        return vs_gen_valid_features(&msg->u.features)
                   ? (int)VS_PROTO_FEATURES_FIXED_SIZE + 4 * (int)msg->u.features.count
                   : VS_PROTO_E_INVALID;
    case VS_MSG_RAW_CHUNK: {
        const vs_proto_raw_chunk_t *m = &msg->u.raw_chunk;
        if (!vs_gen_valid_raw_chunk(m) || !vs_samples_ok(m->sample_format, m->count)) {
            return VS_PROTO_E_INVALID;
        }
        return (int)VS_PROTO_RAW_CHUNK_FIXED_SIZE + (int)(vs_sample_size(m->sample_format) * m->count);
    }
    case VS_MSG_REPLAY_SAMPLES: {
        const vs_proto_replay_t *m = &msg->u.replay;
        if (!vs_gen_valid_replay_samples(m) || !vs_samples_ok(m->sample_format, m->count)) {
            return VS_PROTO_E_INVALID;
        }
        return (int)VS_PROTO_REPLAY_SAMPLES_FIXED_SIZE + (int)(vs_sample_size(m->sample_format) * m->count);
    }
    case VS_MSG_MODEL_CHUNK:
        return vs_gen_valid_model_chunk(&msg->u.model_chunk)
                   ? (int)VS_PROTO_MODEL_CHUNK_FIXED_SIZE + (int)msg->u.model_chunk.count
                   : VS_PROTO_E_INVALID;
    case VS_MSG_MODEL_MANIFEST:
        return vs_gen_valid_model_manifest(&msg->u.model_manifest)
                   ? (int)VS_PROTO_MODEL_MANIFEST_FIXED_SIZE + (int)msg->u.model_manifest.count
                   : VS_PROTO_E_INVALID;
    default:
        return VS_PROTO_E_UNKNOWN_TYPE;
    }
}

static void vs_put_samples(vs_ser_t *s, uint8_t fmt, uint16_t count, const vs_proto_samples_t *smp)
{
    vs_put_u16(s, count);
    for (uint16_t i = 0; i < count; i++) {
        if (fmt == VS_PROTO_FMT_I16) {
            vs_put_u16(s, (uint16_t)smp->i16[i]);
        } else {
            vs_put_f32(s, smp->f32[i]);
        }
    }
}

static void vs_put_payload(vs_ser_t *s, const vs_proto_msg_t *msg)
{
    if (vs_gen_fixed_put(s, msg)) {
        return;
    }
    switch (msg->header.type) {
    case VS_MSG_HELLO: {
        const vs_proto_hello_t *m = &msg->u.hello;
        vs_put_u8(s, m->protocol_version);
        vs_put_u32(s, m->boot_counter);
        vs_put_f32(s, m->sample_rate_hz);
        vs_put(s, m->feature_hash, VS_PROTO_HASH_SIZE);
        vs_put(s, m->model_hash, VS_PROTO_HASH_SIZE);
        vs_put_u8(s, m->fw_version_len);
        vs_put(s, (const uint8_t *)m->fw_version, m->fw_version_len);
        vs_put_u8(s, m->machine_len);
        vs_put(s, (const uint8_t *)m->machine, m->machine_len);
        if (vs_hello_tail(vs_wire_version(&msg->header)) != 0U) {
            vs_put_u8(s, m->reset_reason);
            vs_put_u8(s, m->model_slot);
            vs_put_u8(s, m->model_state);
        }
        break;
    }
    case VS_MSG_STATUS: {
        const vs_proto_status_t *m = &msg->u.status;
        vs_put_u32(s, m->uptime_s);
        vs_put_u32(s, m->frames_analysed);
        vs_put_u32(s, m->frames_skipped);
        vs_put_u32(s, m->tx_frames);
        vs_put_u32(s, m->rx_frames);
        vs_put_u32(s, m->rx_errors);
        vs_put_u8(s, m->alarm_state);
        vs_put_u8(s, m->flags);
        /* Absent values go out as all-zero bits, as the spec requires. */
        vs_put_f32(s, (m->flags & VS_PROTO_STATUS_HAS_BATTERY) ? m->battery_v : 0.0f);
        vs_put_f32(s, (m->flags & VS_PROTO_STATUS_HAS_TEMPERATURE) ? m->temperature_c : 0.0f);
        break;
    }
    case VS_MSG_FEATURES: {
        const vs_proto_features_t *m = &msg->u.features;
        vs_put_u8(s, m->kind);
        vs_put_u32(s, m->frame_index);
        vs_put_u16(s, m->count);
        for (uint16_t i = 0; i < m->count; i++) {
            vs_put_f32(s, m->values[i]);
        }
        break;
    }
    case VS_MSG_RAW_CHUNK: {
        const vs_proto_raw_chunk_t *m = &msg->u.raw_chunk;
        vs_put_u32(s, m->capture_id);
        vs_put_u16(s, m->chunk_index);
        vs_put_u16(s, m->chunk_count);
        vs_put_f32(s, m->sample_rate_hz);
        vs_put_u8(s, m->sample_format);
        vs_put_f32(s, m->scale_g_per_lsb);
        vs_put_samples(s, m->sample_format, m->count, &m->samples);
        break;
    }
    case VS_MSG_REPLAY_SAMPLES: {
        const vs_proto_replay_t *m = &msg->u.replay;
        vs_put_u32(s, m->block_index);
        vs_put_f32(s, m->sample_rate_hz);
        vs_put_u8(s, m->sample_format);
        vs_put_f32(s, m->scale_g_per_lsb);
        vs_put_samples(s, m->sample_format, m->count, &m->samples);
        break;
    }
    case VS_MSG_MODEL_CHUNK:
        vs_put_u32(s, msg->u.model_chunk.offset);
        vs_put_u16(s, msg->u.model_chunk.count);
        vs_put(s, msg->u.model_chunk.data, msg->u.model_chunk.count);
        break;
    case VS_MSG_MODEL_MANIFEST:
        vs_put(s, msg->u.model_manifest.signature, VS_PROTO_SIGNATURE_SIZE);
        vs_put_u16(s, msg->u.model_manifest.count);
        vs_put(s, msg->u.model_manifest.manifest, msg->u.model_manifest.count);
        break;
    default:
        break; /* unreachable: vs_proto_payload_size rejected the type */
    }
}

int vs_proto_encode(const vs_proto_msg_t *msg, uint8_t *out, size_t cap, size_t *out_len)
{
    vs_ser_t s;
    int size;
    uint8_t crc[4];
    if (out_len == NULL) {
        return VS_PROTO_E_ARG;
    }
    *out_len = 0;
    if (msg == NULL || out == NULL) {
        return VS_PROTO_E_ARG;
    }
    size = vs_proto_payload_size(msg);
    if (size < 0) {
        return size;
    }
    vs_cobs_writer_init(&s.w, out, cap);
    s.crc = 0U;
    vs_put_u8(&s, vs_wire_version(&msg->header));
    vs_put_u8(&s, msg->header.type);
    vs_put_u16(&s, msg->header.node_id);
    vs_put_u32(&s, msg->header.seq);
    vs_put_u64(&s, msg->header.timestamp_us);
    vs_put_payload(&s, msg);
    crc[0] = (uint8_t)s.crc;
    crc[1] = (uint8_t)(s.crc >> 8);
    crc[2] = (uint8_t)(s.crc >> 16);
    crc[3] = (uint8_t)(s.crc >> 24);
    for (size_t i = 0; i < 4U; i++) {
        vs_cobs_writer_put(&s.w, crc[i]);
    }
    if (vs_cobs_writer_finish(&s.w, 1, out_len) != VS_COBS_OK) {
        *out_len = 0;
        return VS_PROTO_E_BUFFER;
    }
    return VS_OK;
}

/* ---------------------------------------------------------------------------------------------------------
 * Decoder. Check order (and therefore the error reported) follows docs/protocol.md section 2 exactly, so the
 * C and Python counters agree on any input: length before invalid inside each payload.
 * ------------------------------------------------------------------------------------------------------- */

static int vs_get_samples(const uint8_t *p, size_t n, size_t fixed, uint8_t fmt, uint16_t *count,
                          vs_proto_samples_t *smp)
{
    const uint16_t c = vs_rd_u16(p + fixed - 2U);
    if (n - fixed != vs_sample_size(fmt) * c) {
        return VS_PROTO_E_LENGTH;
    }
    if (!vs_samples_ok(fmt, c)) {
        return VS_PROTO_E_INVALID;
    }
    for (uint16_t i = 0; i < c; i++) {
        if (fmt == VS_PROTO_FMT_I16) {
            smp->i16[i] = (int16_t)vs_rd_u16(p + fixed + 2U * i);
        } else {
            smp->f32[i] = vs_rd_f32(p + fixed + 4U * i);
        }
    }
    *count = c;
    return VS_OK;
}

static int vs_zero4(const uint8_t *p)
{
    return p[0] == 0U && p[1] == 0U && p[2] == 0U && p[3] == 0U;
}

static int vs_decode_hello(uint8_t version, const uint8_t *p, size_t n, vs_proto_hello_t *m)
{
    const size_t f = VS_PROTO_HELLO_FIXED_SIZE; /* fw_version's length byte */
    const size_t tail = vs_hello_tail(version);
    size_t q, r;
    uint8_t n_fw, n_m;
    if (n < f + 1U) {
        return VS_PROTO_E_LENGTH;
    }
    n_fw = p[f];
    q = f + 1U + n_fw;
    if (q + 1U > n) {
        return VS_PROTO_E_LENGTH;
    }
    n_m = p[q];
    r = q + 1U + n_m; /* end of machine, start of the tail */
    if (r + tail != n) {
        return VS_PROTO_E_LENGTH;
    }
    if (n_fw > VS_PROTO_MAX_STRING || n_m > VS_PROTO_MAX_STRING || !vs_is_ascii((const char *)&p[f + 1U], n_fw) ||
        !vs_is_ascii((const char *)&p[q + 1U], n_m)) {
        return VS_PROTO_E_INVALID;
    }
    m->protocol_version = p[VS_PROTO_HELLO_OFF_PROTOCOL_VERSION];
    m->boot_counter = vs_rd_u32(p + VS_PROTO_HELLO_OFF_BOOT_COUNTER);
    m->sample_rate_hz = vs_rd_f32(p + VS_PROTO_HELLO_OFF_SAMPLE_RATE_HZ);
    memcpy(m->feature_hash, p + VS_PROTO_HELLO_OFF_FEATURE_HASH, VS_PROTO_HASH_SIZE);
    memcpy(m->model_hash, p + VS_PROTO_HELLO_OFF_MODEL_HASH, VS_PROTO_HASH_SIZE);
    m->fw_version_len = n_fw;
    memcpy(m->fw_version, p + f + 1U, n_fw);
    m->fw_version[n_fw] = '\0';
    m->machine_len = n_m;
    memcpy(m->machine, p + q + 1U, n_m);
    m->machine[n_m] = '\0';
    /* A version-1 HELLO has no tail: unknown reset reason, built-in slot, no model state (all 0). */
    m->reset_reason = tail ? p[r + VS_PROTO_HELLO_TAIL_OFF_RESET_REASON] : (uint8_t)VS_PROTO_RESET_UNKNOWN;
    m->model_slot = tail ? p[r + VS_PROTO_HELLO_TAIL_OFF_MODEL_SLOT] : (uint8_t)VS_PROTO_SLOT_BUILTIN;
    m->model_state = tail ? p[r + VS_PROTO_HELLO_TAIL_OFF_MODEL_STATE] : (uint8_t)VS_PROTO_MODEL_NONE;
    return vs_gen_valid_hello(m) ? VS_OK : VS_PROTO_E_INVALID;
}

static int vs_decode_status(const uint8_t *p, size_t n, vs_proto_status_t *m)
{
    if (n != VS_PROTO_STATUS_SIZE) {
        return VS_PROTO_E_LENGTH;
    }
    m->uptime_s = vs_rd_u32(p + VS_PROTO_STATUS_OFF_UPTIME_S);
    m->frames_analysed = vs_rd_u32(p + VS_PROTO_STATUS_OFF_FRAMES_ANALYSED);
    m->frames_skipped = vs_rd_u32(p + VS_PROTO_STATUS_OFF_FRAMES_SKIPPED);
    m->tx_frames = vs_rd_u32(p + VS_PROTO_STATUS_OFF_TX_FRAMES);
    m->rx_frames = vs_rd_u32(p + VS_PROTO_STATUS_OFF_RX_FRAMES);
    m->rx_errors = vs_rd_u32(p + VS_PROTO_STATUS_OFF_RX_ERRORS);
    m->alarm_state = p[VS_PROTO_STATUS_OFF_ALARM_STATE];
    m->flags = p[VS_PROTO_STATUS_OFF_FLAGS];
    m->battery_v = vs_rd_f32(p + VS_PROTO_STATUS_OFF_BATTERY_V);
    m->temperature_c = vs_rd_f32(p + VS_PROTO_STATUS_OFF_TEMPERATURE_C);
    /* An absent value must be all-zero bits so that decode -> encode is byte-exact. */
    if (!vs_gen_valid_status(m) ||
        (!(m->flags & VS_PROTO_STATUS_HAS_BATTERY) && !vs_zero4(p + VS_PROTO_STATUS_OFF_BATTERY_V)) ||
        (!(m->flags & VS_PROTO_STATUS_HAS_TEMPERATURE) && !vs_zero4(p + VS_PROTO_STATUS_OFF_TEMPERATURE_C))) {
        return VS_PROTO_E_INVALID;
    }
    return VS_OK;
}

/* A payload of `fixed` bytes ending in a u16 count, then count data bytes: the count, or VS_PROTO_E_LENGTH. */
static int vs_bytes_count(const uint8_t *p, size_t n, size_t fixed, uint16_t *count)
{
    if (n < fixed) {
        return VS_PROTO_E_LENGTH;
    }
    *count = vs_rd_u16(p + fixed - 2U);
    return n == fixed + (size_t)*count ? VS_OK : VS_PROTO_E_LENGTH;
}

static int vs_decode_payload(uint8_t type, const uint8_t *p, size_t n, vs_proto_msg_t *msg)
{
    switch (type) {
    case VS_MSG_HELLO:
        return vs_decode_hello(msg->header.version, p, n, &msg->u.hello);
    case VS_MSG_STATUS:
        return vs_decode_status(p, n, &msg->u.status);
    case VS_MSG_FEATURES: {
        vs_proto_features_t *m = &msg->u.features;
        const size_t f = VS_PROTO_FEATURES_FIXED_SIZE;
        uint16_t c;
        if (n < f) {
            return VS_PROTO_E_LENGTH;
        }
        c = vs_rd_u16(p + VS_PROTO_FEATURES_OFF_COUNT);
        if (n != f + 4U * (size_t)c) {
            return VS_PROTO_E_LENGTH;
        }
        m->kind = p[VS_PROTO_FEATURES_OFF_KIND];
        m->frame_index = vs_rd_u32(p + VS_PROTO_FEATURES_OFF_FRAME_INDEX);
        m->count = c;
        if (!vs_gen_valid_features(m)) {
            return VS_PROTO_E_INVALID;
        }
        for (uint16_t i = 0; i < c; i++) {
            m->values[i] = vs_rd_f32(p + f + 4U * i);
        }
        return VS_OK;
    }
    case VS_MSG_RAW_CHUNK: {
        vs_proto_raw_chunk_t *m = &msg->u.raw_chunk;
        int rc;
        if (n < VS_PROTO_RAW_CHUNK_FIXED_SIZE) {
            return VS_PROTO_E_LENGTH;
        }
        m->sample_format = p[VS_PROTO_RAW_CHUNK_OFF_SAMPLE_FORMAT];
        rc = vs_get_samples(p, n, VS_PROTO_RAW_CHUNK_FIXED_SIZE, m->sample_format, &m->count, &m->samples);
        if (rc != VS_OK) {
            return rc;
        }
        m->capture_id = vs_rd_u32(p + VS_PROTO_RAW_CHUNK_OFF_CAPTURE_ID);
        m->chunk_index = vs_rd_u16(p + VS_PROTO_RAW_CHUNK_OFF_CHUNK_INDEX);
        m->chunk_count = vs_rd_u16(p + VS_PROTO_RAW_CHUNK_OFF_CHUNK_COUNT);
        m->sample_rate_hz = vs_rd_f32(p + VS_PROTO_RAW_CHUNK_OFF_SAMPLE_RATE_HZ);
        m->scale_g_per_lsb = vs_rd_f32(p + VS_PROTO_RAW_CHUNK_OFF_SCALE_G_PER_LSB);
        return vs_gen_valid_raw_chunk(m) ? VS_OK : VS_PROTO_E_INVALID;
    }
    case VS_MSG_REPLAY_SAMPLES: {
        vs_proto_replay_t *m = &msg->u.replay;
        int rc;
        if (n < VS_PROTO_REPLAY_SAMPLES_FIXED_SIZE) {
            return VS_PROTO_E_LENGTH;
        }
        m->sample_format = p[VS_PROTO_REPLAY_SAMPLES_OFF_SAMPLE_FORMAT];
        rc = vs_get_samples(p, n, VS_PROTO_REPLAY_SAMPLES_FIXED_SIZE, m->sample_format, &m->count, &m->samples);
        if (rc != VS_OK) {
            return rc;
        }
        m->block_index = vs_rd_u32(p + VS_PROTO_REPLAY_SAMPLES_OFF_BLOCK_INDEX);
        m->sample_rate_hz = vs_rd_f32(p + VS_PROTO_REPLAY_SAMPLES_OFF_SAMPLE_RATE_HZ);
        m->scale_g_per_lsb = vs_rd_f32(p + VS_PROTO_REPLAY_SAMPLES_OFF_SCALE_G_PER_LSB);
        return vs_gen_valid_replay_samples(m) ? VS_OK : VS_PROTO_E_INVALID;
    }
    case VS_MSG_MODEL_CHUNK: {
        vs_proto_model_chunk_t *m = &msg->u.model_chunk;
        const int rc = vs_bytes_count(p, n, VS_PROTO_MODEL_CHUNK_FIXED_SIZE, &m->count);
        if (rc != VS_OK) {
            return rc;
        }
        if (!vs_gen_valid_model_chunk(m)) {
            return VS_PROTO_E_INVALID;
        }
        m->offset = vs_rd_u32(p + VS_PROTO_MODEL_CHUNK_OFF_OFFSET);
        memcpy(m->data, p + VS_PROTO_MODEL_CHUNK_FIXED_SIZE, m->count);
        return VS_OK;
    }
    case VS_MSG_MODEL_MANIFEST: {
        vs_proto_model_manifest_t *m = &msg->u.model_manifest;
        const int rc = vs_bytes_count(p, n, VS_PROTO_MODEL_MANIFEST_FIXED_SIZE, &m->count);
        if (rc != VS_OK) {
            return rc;
        }
        if (!vs_gen_valid_model_manifest(m)) {
            return VS_PROTO_E_INVALID;
        }
        memcpy(m->signature, p + VS_PROTO_MODEL_MANIFEST_OFF_SIGNATURE, VS_PROTO_SIGNATURE_SIZE);
        memcpy(m->manifest, p + VS_PROTO_MODEL_MANIFEST_FIXED_SIZE, m->count);
        return VS_OK;
    }
    default:
        return vs_gen_fixed_get(type, p, n, msg);
    }
}

/* Decode a COBS body of len bytes (no 0x00 delimiter) in place. */
static int vs_decode_body(uint8_t *buf, size_t len, vs_proto_msg_t *msg)
{
    size_t n;
    uint32_t crc;
    if (len > VS_PROTO_MAX_ENCODED) {
        return VS_PROTO_E_OVERSIZE;
    }
    if (vs_cobs_decode(buf, len, buf, len, &n) != VS_COBS_OK) {
        return VS_PROTO_E_COBS;
    }
    if (n < VS_PROTO_MIN_FRAME) {
        return VS_PROTO_E_LENGTH;
    }
    if (n > VS_PROTO_MAX_FRAME) {
        return VS_PROTO_E_OVERSIZE;
    }
    crc = vs_rd_u32(buf + n - VS_PROTO_CRC_SIZE);
    if (crc != vs_crc32(buf, n - VS_PROTO_CRC_SIZE)) {
        return VS_PROTO_E_CRC;
    }
    if (buf[0] < VS_PROTO_MIN_VERSION || buf[0] > VS_PROTO_VERSION) {
        return VS_PROTO_E_VERSION;
    }
    msg->header.version = buf[0];
    msg->header.type = buf[1];
    msg->header.node_id = vs_rd_u16(buf + 2);
    msg->header.seq = vs_rd_u32(buf + 4);
    msg->header.timestamp_us = vs_rd_u64(buf + 8);
    return vs_decode_payload(buf[1], buf + VS_PROTO_HEADER_SIZE, n - VS_PROTO_HEADER_SIZE - VS_PROTO_CRC_SIZE,
                             msg);
}

int vs_proto_decode_frame(uint8_t *frame, size_t len, vs_proto_msg_t *msg)
{
    if (frame == NULL || msg == NULL) {
        return VS_PROTO_E_ARG;
    }
    if (len > 0U && frame[len - 1U] == 0U) {
        len--;
    }
    if (len == 0U) {
        return VS_PROTO_E_LENGTH;
    }
    return vs_decode_body(frame, len, msg);
}

void vs_proto_decoder_reset(vs_proto_decoder_t *d)
{
    d->len = 0;
    d->discarding = 0;
}

void vs_proto_decoder_init(vs_proto_decoder_t *d)
{
    memset(d, 0, sizeof *d);
}

int vs_proto_decoder_push(vs_proto_decoder_t *d, uint8_t byte, vs_proto_msg_t *msg)
{
    int rc;
    size_t len;
    d->counters.bytes++;
    if (byte != 0U) {
        if (d->discarding) {
            return 0;
        }
        if (d->len >= VS_PROTO_MAX_ENCODED) {
            d->discarding = 1;
            d->len = 0;
            d->counters.oversize++;
            return VS_PROTO_E_OVERSIZE;
        }
        d->buf[d->len++] = byte;
        return 0;
    }
    len = d->len;
    d->len = 0;
    if (d->discarding) {
        d->discarding = 0;
        return 0;
    }
    if (len == 0U) {
        return 0;
    }
    rc = vs_decode_body(d->buf, len, msg);
    if (rc != VS_OK) {
        vs_gen_count(&d->counters, rc);
        return rc;
    }
    d->counters.frames++;
    return 1;
}

size_t vs_proto_decoder_feed(vs_proto_decoder_t *d, const uint8_t *data, size_t len, vs_proto_msg_t *msg,
                             int *got)
{
    size_t i = 0;
    *got = 0;
    while (i < len) {
        if (vs_proto_decoder_push(d, data[i++], msg) == 1) {
            *got = 1;
            break;
        }
    }
    return i;
}

uint32_t vs_proto_decoder_errors(const vs_proto_decoder_t *d)
{
    return vs_gen_errors(&d->counters);
}
