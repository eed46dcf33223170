/*
 * vs_model_image.c - open (validate) and run a flat model image; format in docs/model_image.md.
 *
 * Each run decodes every op's parameter record into a vs_nn_*_params_t on the stack (pointers into the
 * image for weights, biases, multipliers, shifts, tables) and calls the same kernel dispatch as the
 * generated-C path (vs_model_op_run). Decoding is the same function at open time, where it also checks
 * every array against the image and every buffer size against the op's tensors, so run() never sees an
 * inconsistent record.
 */
#include "vs/vs_model_image.h"

#include <string.h>

#include "vs/vs_crc.h"

#define TENSOR_ENTRY_BYTES 12u
#define OP_ENTRY_BYTES 12u
#define Q_WORDS 9u

typedef union {
    vs_nn_fc_params_t fc;
    vs_nn_conv_params_t conv;
    vs_nn_pool_params_t pool;
    vs_nn_mean_params_t mean;
    vs_nn_add_params_t add;
    vs_nn_relu_params_t relu;
    vs_nn_lut_params_t lut;
    vs_nn_softmax_params_t softmax;
    vs_nn_copy_params_t copy;
    vs_nn_affine_params_t affine;
    vs_nn_requant_params_t requant;
} params_t;

/* Bytes each op reads from its input(s) and writes to its output, and its work (multiply-accumulates, or
 * elements for element-wise ops), from its decoded parameters. */
typedef struct {
    uint64_t in, in2, out, work;
} needs_t;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static float rdf32(const uint8_t *p)
{
    const uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Decoder state for one parameter record. */
typedef struct {
    const vs_model_image_t *img;
    const uint8_t *rec;
    uint32_t n_words;
    uint32_t next;
    int bad;
} reader_t;

static int32_t word(reader_t *r)
{
    if (r->next >= r->n_words) {
        r->bad = 1;
        return 0;
    }
    return (int32_t)rd32(r->rec + 4u * r->next++);
}

static uint16_t u16w(reader_t *r)
{
    const int32_t v = word(r);
    if (v < 0 || v > 0xffff) {
        r->bad = 1;
        return 0;
    }
    return (uint16_t)v;
}

static uint32_t u32w(reader_t *r)
{
    const int32_t v = word(r);
    if (v < 0) {
        r->bad = 1;
        return 0;
    }
    return (uint32_t)v;
}

/* An array of `bytes` bytes at the image offset in the next word; NULL (offset 0) only when `optional`. */
static const void *array(reader_t *r, uint64_t bytes, uint32_t align, int optional)
{
    const uint32_t off = (uint32_t)word(r);
    if (off == 0u && optional) {
        return NULL;
    }
    const uint32_t end = r->img->size - 4u; /* the CRC is not data */
    if (off < VS_MODEL_IMAGE_HEADER_BYTES || off % align != 0u || bytes == 0u || bytes > end ||
        off > end - bytes) {
        r->bad = 1;
        return NULL;
    }
    return r->img->data + off;
}

static void quant(reader_t *r, vs_nn_quant_t *q, uint32_t channels)
{
    q->input_offset = word(r);
    q->filter_offset = word(r);
    q->output_offset = word(r);
    q->act_min = word(r);
    q->act_max = word(r);
    const uint32_t m_word = r->next;
    r->next += 2u; /* multiplier and shift offsets: read after per_channel says how long they are */
    const int32_t per_channel = word(r);
    const int32_t single = word(r);
    if ((per_channel != 0 && per_channel != 1) || (single != 0 && single != 1) || channels == 0u) {
        r->bad = 1;
        return;
    }
    q->per_channel = (uint8_t)per_channel;
    q->single_rounding = (uint8_t)single;
    const uint32_t n = per_channel ? channels : 1u;
    const uint32_t after = r->next;
    r->next = m_word;
    q->multiplier = (const int32_t *)array(r, 4ull * n, 4u, 0);
    q->shift = (const int8_t *)array(r, n, 1u, 0);
    r->next = after;
}

/* Decode op `i`'s record into *p and the byte counts it touches; VS_OK or VS_IMAGE_ERR_FORMAT. */
static int decode(const vs_model_image_t *img, uint16_t i, uint8_t *code, params_t *p, needs_t *n)
{
    const uint8_t *e = img->data + rd32(img->data + 56u) + OP_ENTRY_BYTES * i;
    reader_t r = {img, NULL, e[1], 0u, 0};
    const uint32_t off = rd32(e + 8u);
    const uint32_t end = img->size - 4u;
    if (off < VS_MODEL_IMAGE_HEADER_BYTES || off % 4u != 0u || off > end || (end - off) / 4u < r.n_words) {
        return VS_IMAGE_ERR_FORMAT;
    }
    r.rec = img->data + off;
    *code = e[0];
    memset(p, 0, sizeof *p);
    memset(n, 0, sizeof *n);
    uint32_t want = 0;
    switch (*code) {
    case VS_NN_OP_FULLY_CONNECTED: {
        want = Q_WORDS + 5u;
        r.next = Q_WORDS + 2u;
        p->fc.batches = u16w(&r);
        p->fc.in_features = u16w(&r);
        p->fc.out_features = u16w(&r);
        r.next = 0;
        quant(&r, &p->fc.q, p->fc.out_features);
        p->fc.weights = (const int8_t *)array(&r, (uint64_t)p->fc.out_features * p->fc.in_features, 1u, 0);
        p->fc.bias = (const int32_t *)array(&r, 4ull * p->fc.out_features, 4u, 1);
        n->in = (uint64_t)p->fc.batches * p->fc.in_features;
        n->out = (uint64_t)p->fc.batches * p->fc.out_features;
        r.next = want;
        break;
    }
    case VS_NN_OP_CONV_2D:
    case VS_NN_OP_DEPTHWISE_CONV_2D: {
        vs_nn_conv_params_t *c = &p->conv;
        want = Q_WORDS + 19u;
        r.next = Q_WORDS + 2u;
        c->batches = u16w(&r);
        c->in_h = u16w(&r);
        c->in_w = u16w(&r);
        c->in_c = u16w(&r);
        c->out_h = u16w(&r);
        c->out_w = u16w(&r);
        c->out_c = u16w(&r);
        c->k_h = u16w(&r);
        c->k_w = u16w(&r);
        c->stride_h = u16w(&r);
        c->stride_w = u16w(&r);
        c->dilation_h = u16w(&r);
        c->dilation_w = u16w(&r);
        c->pad_top = u16w(&r);
        c->pad_left = u16w(&r);
        c->filter_in_c = u16w(&r);
        c->depth_multiplier = u16w(&r);
        r.next = 0;
        quant(&r, &c->q, c->out_c);
        const uint64_t taps = (uint64_t)c->k_h * c->k_w;
        const uint64_t fbytes = *code == VS_NN_OP_CONV_2D ? taps * c->out_c * c->filter_in_c : taps * c->out_c;
        c->filter = (const int8_t *)array(&r, fbytes, 1u, 0);
        c->bias = (const int32_t *)array(&r, 4ull * c->out_c, 4u, 1);
        n->in = (uint64_t)c->batches * c->in_h * c->in_w * c->in_c;
        n->out = (uint64_t)c->batches * c->out_h * c->out_w * c->out_c;
        r.next = want;
        break;
    }
    case VS_NN_OP_AVERAGE_POOL_2D: {
        vs_nn_pool_params_t *q = &p->pool;
        want = 14u;
        q->batches = u16w(&r);
        q->in_h = u16w(&r);
        q->in_w = u16w(&r);
        q->channels = u16w(&r);
        q->out_h = u16w(&r);
        q->out_w = u16w(&r);
        q->k_h = u16w(&r);
        q->k_w = u16w(&r);
        q->stride_h = u16w(&r);
        q->stride_w = u16w(&r);
        q->pad_top = u16w(&r);
        q->pad_left = u16w(&r);
        q->act_min = word(&r);
        q->act_max = word(&r);
        n->in = (uint64_t)q->batches * q->in_h * q->in_w * q->channels;
        n->out = (uint64_t)q->batches * q->out_h * q->out_w * q->channels;
        break;
    }
    case VS_NN_OP_MEAN:
        want = 7u;
        p->mean.outer = u32w(&r);
        p->mean.reduce = u32w(&r);
        p->mean.inner = u32w(&r);
        p->mean.input_zero_point = word(&r);
        p->mean.output_zero_point = word(&r);
        p->mean.multiplier = word(&r);
        p->mean.shift = word(&r);
        n->in = (uint64_t)p->mean.outer * p->mean.reduce * p->mean.inner;
        n->out = (uint64_t)p->mean.outer * p->mean.inner;
        break;
    case VS_NN_OP_ADD: {
        vs_nn_add_params_t *a = &p->add;
        want = 14u + 3u * VS_NN_MAX_DIMS;
        a->input1_offset = word(&r);
        a->input2_offset = word(&r);
        a->output_offset = word(&r);
        a->left_shift = word(&r);
        a->input1_multiplier = word(&r);
        a->input1_shift = word(&r);
        a->input2_multiplier = word(&r);
        a->input2_shift = word(&r);
        a->output_multiplier = word(&r);
        a->output_shift = word(&r);
        a->act_min = word(&r);
        a->act_max = word(&r);
        a->size = u32w(&r);
        const int32_t bc = word(&r);
        if (bc != 0 && bc != 1) {
            r.bad = 1;
        }
        a->broadcast = (uint8_t)(bc == 1);
        uint64_t elems = 1u, last1 = 0u, last2 = 0u;
        for (unsigned d = 0; d < VS_NN_MAX_DIMS; d++) {
            a->out_dims[d] = u16w(&r);
            elems *= a->out_dims[d];
        }
        for (unsigned d = 0; d < VS_NN_MAX_DIMS; d++) {
            a->in1_strides[d] = u32w(&r);
            last1 += (uint64_t)(a->out_dims[d] ? a->out_dims[d] - 1u : 0u) * a->in1_strides[d];
        }
        for (unsigned d = 0; d < VS_NN_MAX_DIMS; d++) {
            a->in2_strides[d] = u32w(&r);
            last2 += (uint64_t)(a->out_dims[d] ? a->out_dims[d] - 1u : 0u) * a->in2_strides[d];
        }
        if (a->broadcast && elems != a->size) {
            r.bad = 1;
        }
        n->out = a->size;
        n->in = a->broadcast ? last1 + 1u : a->size;
        n->in2 = a->broadcast ? last2 + 1u : a->size;
        break;
    }
    case VS_NN_OP_RELU:
        want = 7u;
        p->relu.size = u32w(&r);
        p->relu.input_zero_point = word(&r);
        p->relu.output_zero_point = word(&r);
        p->relu.multiplier = word(&r);
        p->relu.shift = word(&r);
        p->relu.act_min = word(&r);
        p->relu.act_max = word(&r);
        n->in = n->out = p->relu.size;
        break;
    case VS_NN_OP_LOGISTIC:
    case VS_NN_OP_TANH:
        want = 2u;
        p->lut.size = u32w(&r);
        p->lut.table = (const int8_t *)array(&r, 256u, 1u, 0);
        n->in = n->out = p->lut.size;
        break;
    case VS_NN_OP_SOFTMAX:
        want = 5u;
        p->softmax.outer = u32w(&r);
        p->softmax.depth = u32w(&r);
        p->softmax.input_multiplier = word(&r);
        p->softmax.input_left_shift = word(&r);
        p->softmax.diff_min = word(&r);
        n->in = n->out = (uint64_t)p->softmax.outer * p->softmax.depth;
        break;
    case VS_NN_OP_COPY:
        want = 1u;
        p->copy.bytes = u32w(&r);
        n->in = n->out = p->copy.bytes;
        break;
    case VS_NN_OP_QUANTIZE:
    case VS_NN_OP_DEQUANTIZE: {
        want = 3u;
        p->affine.size = u32w(&r);
        const uint32_t bits = (uint32_t)word(&r);
        memcpy(&p->affine.scale, &bits, sizeof bits);
        p->affine.zero_point = word(&r);
        const uint64_t s = p->affine.size;
        n->in = *code == VS_NN_OP_QUANTIZE ? 4u * s : s;
        n->out = *code == VS_NN_OP_QUANTIZE ? s : 4u * s;
        break;
    }
    case VS_NN_OP_REQUANTIZE:
        want = 5u;
        p->requant.size = u32w(&r);
        p->requant.input_zero_point = word(&r);
        p->requant.output_zero_point = word(&r);
        p->requant.multiplier = word(&r);
        p->requant.shift = word(&r);
        n->in = n->out = p->requant.size;
        break;
    default:
        return VS_IMAGE_ERR_FORMAT;
    }
    switch (*code) {
    case VS_NN_OP_FULLY_CONNECTED:
        n->work = n->out * p->fc.in_features;
        break;
    case VS_NN_OP_CONV_2D:
        n->work = n->out * p->conv.k_h * p->conv.k_w * p->conv.filter_in_c;
        break;
    case VS_NN_OP_DEPTHWISE_CONV_2D:
        n->work = n->out * p->conv.k_h * p->conv.k_w;
        break;
    case VS_NN_OP_AVERAGE_POOL_2D:
        n->work = n->out * p->pool.k_h * p->pool.k_w;
        break;
    default:
        n->work = n->in > n->out ? n->in : n->out;
        break;
    }
    return (r.bad || r.n_words != want || r.next != want) ? VS_IMAGE_ERR_FORMAT : VS_OK;
}

/* Value ranges the vs_nn kernels assume (shift exponents, int32 accumulators that must not overflow):
 * checked once at open, so a CRC-valid but inconsistent image is refused instead of reaching undefined
 * behaviour in a kernel (found by fuzz/fuzz_model_image.c). TFLite's converter never produces values outside
 * these ranges. */
#define MAX_DEPTH 16384 /* products summed per output: 2^14 * 255 * 255 + bias stays below 2^31 */
#define MAX_BIAS (1L << 30)

static int in_range(int32_t v, int32_t lo, int32_t hi)
{
    return v >= lo && v <= hi;
}

static int shift_ok(int32_t shift)
{
    return in_range(shift, -31, 30);
}

static int act_ok(int32_t lo, int32_t hi)
{
    return in_range(lo, -128, 127) && in_range(hi, -128, 127) && lo <= hi;
}

static int quant_ok(const vs_nn_quant_t *q, uint32_t channels)
{
    if (!in_range(q->input_offset, -255, 255) || !in_range(q->filter_offset, -255, 255) ||
        !in_range(q->output_offset, -255, 255) || !act_ok(q->act_min, q->act_max)) {
        return 0;
    }
    const uint32_t n = q->per_channel ? channels : 1u;
    for (uint32_t i = 0; i < n; i++) {
        if (q->multiplier[i] < 0 || !shift_ok(q->shift[i])) {
            return 0;
        }
    }
    return 1;
}

static int bias_ok(const int32_t *bias, uint32_t n)
{
    for (uint32_t i = 0; bias != NULL && i < n; i++) {
        if (!in_range(bias[i], -MAX_BIAS, MAX_BIAS)) {
            return 0;
        }
    }
    return 1;
}

static int ranges_ok(uint8_t code, const params_t *p)
{
    switch (code) {
    case VS_NN_OP_FULLY_CONNECTED:
        return p->fc.in_features <= MAX_DEPTH && quant_ok(&p->fc.q, p->fc.out_features) &&
               bias_ok(p->fc.bias, p->fc.out_features);
    case VS_NN_OP_CONV_2D:
    case VS_NN_OP_DEPTHWISE_CONV_2D: {
        const vs_nn_conv_params_t *c = &p->conv;
        const uint64_t depth = (uint64_t)c->k_h * c->k_w * (code == VS_NN_OP_CONV_2D ? c->filter_in_c : 1u);
        return depth <= MAX_DEPTH && quant_ok(&c->q, c->out_c) && bias_ok(c->bias, c->out_c);
    }
    case VS_NN_OP_AVERAGE_POOL_2D:
        return (uint32_t)p->pool.k_h * p->pool.k_w <= 65536u && act_ok(p->pool.act_min, p->pool.act_max);
    case VS_NN_OP_MEAN:
        return p->mean.reduce <= (1u << 22) && in_range(p->mean.input_zero_point, -128, 127) &&
               in_range(p->mean.output_zero_point, -128, 127) && p->mean.multiplier >= 0 && shift_ok(p->mean.shift);
    case VS_NN_OP_ADD: {
        const vs_nn_add_params_t *a = &p->add;
        return in_range(a->input1_offset, -255, 255) && in_range(a->input2_offset, -255, 255) &&
               in_range(a->output_offset, -255, 255) && in_range(a->left_shift, 0, 20) &&
               a->input1_multiplier >= 0 && a->input2_multiplier >= 0 && a->output_multiplier >= 0 &&
               shift_ok(a->input1_shift) && shift_ok(a->input2_shift) && shift_ok(a->output_shift) &&
               act_ok(a->act_min, a->act_max);
    }
    case VS_NN_OP_RELU:
        return in_range(p->relu.input_zero_point, -128, 127) && in_range(p->relu.output_zero_point, -128, 127) &&
               p->relu.multiplier >= 0 && shift_ok(p->relu.shift) && act_ok(p->relu.act_min, p->relu.act_max);
    case VS_NN_OP_SOFTMAX:
        return p->softmax.input_multiplier >= 0 && in_range(p->softmax.input_left_shift, 0, 31) &&
               p->softmax.diff_min <= 0;
    case VS_NN_OP_QUANTIZE:
    case VS_NN_OP_DEQUANTIZE:
        /* scale > 0 and finite (NaN fails the first test); the largest float is finite */
        return p->affine.scale > 0.0f && p->affine.scale <= 3.40282347e38f &&
               in_range(p->affine.zero_point, -128, 127);
    case VS_NN_OP_REQUANTIZE:
        return in_range(p->requant.input_zero_point, -128, 127) && in_range(p->requant.output_zero_point, -128, 127) &&
               p->requant.multiplier >= 0 && shift_ok(p->requant.shift);
    default:
        return 1; /* LOGISTIC, TANH (a table), COPY: nothing to range-check */
    }
}

/* Tensor `t`: arena offset / bytes / constant offset; VS_OK when it fits the arena or the image. */
static int tensor(const vs_model_image_t *img, int16_t t, uint32_t *offset, uint32_t *bytes, uint32_t *cst)
{
    if (t < 0 || t >= (int16_t)img->n_tensors) {
        return VS_IMAGE_ERR_FORMAT;
    }
    const uint8_t *e = img->data + rd32(img->data + 52u) + TENSOR_ENTRY_BYTES * (uint32_t)t;
    *offset = rd32(e);
    *bytes = rd32(e + 4u);
    *cst = rd32(e + 8u);
    if (*cst == 0u) {
        return (*offset % 4u == 0u && *bytes <= img->arena_bytes && *offset <= img->arena_bytes - *bytes)
                   ? VS_OK
                   : VS_IMAGE_ERR_FORMAT;
    }
    const uint32_t end = img->size - 4u;
    return (*cst >= VS_MODEL_IMAGE_HEADER_BYTES && *bytes <= end && *cst <= end - *bytes) ? VS_OK
                                                                                          : VS_IMAGE_ERR_FORMAT;
}

/* Table [off, off + count * entry) inside the image's data part, 4-byte aligned. */
static int table_fits(uint32_t size, uint32_t off, uint32_t count, uint32_t entry)
{
    const uint32_t end = size - 4u;
    return off >= VS_MODEL_IMAGE_HEADER_BYTES && off % 4u == 0u && off <= end && (end - off) / entry >= count;
}

int vs_model_image_open(vs_model_image_t *img, const void *data, size_t len)
{
    if (img == NULL || data == NULL || ((uintptr_t)data & 3u) != 0u) {
        return VS_ERR_ARG;
    }
    memset(img, 0, sizeof *img);
    const uint8_t *d = (const uint8_t *)data;
    if (len < VS_MODEL_IMAGE_HEADER_BYTES + 4u || rd32(d) != VS_MODEL_IMAGE_MAGIC) {
        return VS_IMAGE_ERR_MAGIC;
    }
    if (rd16(d + 4u) != VS_MODEL_IMAGE_VERSION) {
        return VS_IMAGE_ERR_VERSION;
    }
    const uint32_t size = rd32(d + 8u);
    if (rd16(d + 6u) != VS_MODEL_IMAGE_HEADER_BYTES || size > len || size < VS_MODEL_IMAGE_HEADER_BYTES + 4u ||
        size % 4u != 0u) {
        return VS_IMAGE_ERR_FORMAT;
    }
    if (vs_crc32(d, size - 4u) != rd32(d + size - 4u)) {
        return VS_IMAGE_ERR_CRC;
    }
    img->data = d;
    img->size = size;
    img->n_ops = rd16(d + 12u);
    img->n_tensors = rd16(d + 14u);
    img->arena_bytes = rd32(d + 16u);
    img->input_tensor = (int16_t)rd16(d + 20u);
    img->output_tensor = (int16_t)rd16(d + 22u);
    img->input_type = d[24];
    img->output_type = d[25];
    img->n_features = rd16(d + 26u);
    img->input_bytes = rd32(d + 28u);
    img->output_bytes = rd32(d + 32u);
    img->input_scale = rdf32(d + 36u);
    img->input_zero_point = (int32_t)rd32(d + 40u);
    img->output_scale = rdf32(d + 44u);
    img->output_zero_point = (int32_t)rd32(d + 48u);
    img->threshold = rdf32(d + 64u);
    img->clear_threshold = rdf32(d + 68u);
    img->alarm_k = rd16(d + 72u);
    img->alarm_n = rd16(d + 74u);
    img->score_kind = d[76];
    img->has_alarm = d[77];
    img->feature_hash = d + 80u;
    img->source_sha256 = d + 112u;
    const uint32_t norm = rd32(d + 60u);
    int ok = img->n_ops > 0u && table_fits(size, rd32(d + 52u), img->n_tensors, TENSOR_ENTRY_BYTES) &&
             table_fits(size, rd32(d + 56u), img->n_ops, OP_ENTRY_BYTES) &&
             (img->input_type == VS_NN_TYPE_S8 || img->input_type == VS_NN_TYPE_F32) &&
             (img->output_type == VS_NN_TYPE_S8 || img->output_type == VS_NN_TYPE_F32) && img->has_alarm <= 1u &&
             (img->score_kind == VS_MODEL_IMAGE_SCORE_AE_MSE || img->score_kind == VS_MODEL_IMAGE_SCORE_CLASSIFIER);
    if (ok && img->n_features > 0u) {
        ok = table_fits(size, norm, 2u * img->n_features, 4u);
        img->norm_mean = (const float *)(const void *)(d + norm);
        img->norm_std = img->norm_mean + img->n_features;
    }
    uint32_t off, bytes, cst;
    if (!ok || tensor(img, img->input_tensor, &off, &bytes, &cst) != VS_OK || cst != 0u ||
        img->input_bytes > bytes || tensor(img, img->output_tensor, &off, &bytes, &cst) != VS_OK || cst != 0u ||
        img->output_bytes > bytes) {
        memset(img, 0, sizeof *img);
        return VS_IMAGE_ERR_FORMAT;
    }
    uint64_t work = 0;
    for (uint16_t i = 0; i < img->n_ops; i++) {
        const uint8_t *e = d + rd32(d + 56u) + OP_ENTRY_BYTES * i;
        uint8_t code;
        params_t p;
        needs_t n;
        uint32_t in_bytes = 0, in2_bytes = 0, out_bytes = 0;
        int rc = decode(img, i, &code, &p, &n);
        if (rc == VS_OK && !ranges_ok(code, &p)) {
            rc = VS_IMAGE_ERR_FORMAT;
        }
        if (rc == VS_OK) {
            rc = tensor(img, (int16_t)rd16(e + 2u), &off, &in_bytes, &cst);
        }
        if (rc == VS_OK && code == VS_NN_OP_ADD) {
            rc = tensor(img, (int16_t)rd16(e + 4u), &off, &in2_bytes, &cst);
        }
        if (rc == VS_OK) {
            rc = tensor(img, (int16_t)rd16(e + 6u), &off, &out_bytes, &cst);
            if (rc == VS_OK && cst != 0u) {
                rc = VS_IMAGE_ERR_FORMAT; /* an op never writes into the image */
            }
        }
        if (rc != VS_OK || n.in > in_bytes || n.in2 > in2_bytes || n.out > out_bytes) {
            memset(img, 0, sizeof *img);
            return VS_IMAGE_ERR_FORMAT;
        }
        work += n.work;
    }
    img->work = work > 0xffffffffull ? 0xffffffffu : (uint32_t)work;
    return VS_OK;
}

static void *tensor_ptr(const vs_model_image_t *img, uint8_t *arena, int16_t t)
{
    uint32_t off, bytes, cst;
    if (tensor(img, t, &off, &bytes, &cst) != VS_OK) {
        return NULL;
    }
    /* constant operands (ADD) are only read: the kernels take inputs as const */
    return cst != 0u ? (void *)(uintptr_t)(img->data + cst) : arena + off;
}

int vs_model_image_run(const vs_model_image_t *img, void *arena, size_t arena_bytes, const void *input,
                       void *output)
{
    if (img == NULL || img->data == NULL || arena == NULL || input == NULL || output == NULL ||
        ((uintptr_t)arena & 3u) != 0u) {
        return VS_ERR_ARG;
    }
    if (arena_bytes < img->arena_bytes) {
        return VS_ERR_SIZE;
    }
    uint8_t *a = (uint8_t *)arena;
    memcpy(tensor_ptr(img, a, img->input_tensor), input, img->input_bytes);
    for (uint16_t i = 0; i < img->n_ops; i++) {
        const uint8_t *e = img->data + rd32(img->data + 56u) + OP_ENTRY_BYTES * i;
        uint8_t code;
        params_t p;
        needs_t n;
        if (decode(img, i, &code, &p, &n) != VS_OK) {
            return VS_IMAGE_ERR_FORMAT; /* open() accepted it: only if the image changed since */
        }
        const void *in2 = code == VS_NN_OP_ADD ? tensor_ptr(img, a, (int16_t)rd16(e + 4u)) : NULL;
        const int rc = vs_model_op_run(code, &p, tensor_ptr(img, a, (int16_t)rd16(e + 2u)), in2,
                                       tensor_ptr(img, a, (int16_t)rd16(e + 6u)));
        if (rc != VS_OK) {
            return rc == VS_MODEL_ERR_OP ? rc : VS_MODEL_ERR_KERNEL;
        }
    }
    memcpy(output, tensor_ptr(img, a, img->output_tensor), img->output_bytes);
    return VS_OK;
}

int vs_model_image_run_s8(const vs_model_image_t *img, void *arena, size_t arena_bytes, const int8_t *input,
                          int8_t *output)
{
    if (img == NULL) {
        return VS_ERR_ARG;
    }
    if (img->input_type != VS_NN_TYPE_S8 || img->output_type != VS_NN_TYPE_S8) {
        return VS_ERR_CONFIG;
    }
    return vs_model_image_run(img, arena, arena_bytes, input, output);
}
