#include "vs/vs_cobs.h"

#include <string.h>

void vs_cobs_writer_init(vs_cobs_writer_t *w, uint8_t *dst, size_t cap)
{
    w->dst = dst;
    w->cap = cap;
    w->code_pos = 0;
    w->code = 1;
    w->err = VS_COBS_OK;
    /* The first block's code byte is reserved now and filled when the block closes. */
    if (cap < 1U) {
        w->err = VS_COBS_E_BUFFER;
        w->len = 0;
    } else {
        w->len = 1;
    }
}

static void vs_cobs_close_block(vs_cobs_writer_t *w)
{
    w->dst[w->code_pos] = w->code;
    if (w->len >= w->cap) {
        w->err = VS_COBS_E_BUFFER;
        return;
    }
    w->code_pos = w->len++;
    w->code = 1;
}

void vs_cobs_writer_put(vs_cobs_writer_t *w, uint8_t byte)
{
    if (w->err != VS_COBS_OK) {
        return;
    }
    if (byte == 0U) {
        vs_cobs_close_block(w);
        return;
    }
    if (w->len >= w->cap) {
        w->err = VS_COBS_E_BUFFER;
        return;
    }
    w->dst[w->len++] = byte;
    w->code++;
    if (w->code == 0xFFU) {
        vs_cobs_close_block(w);
    }
}

int vs_cobs_writer_finish(vs_cobs_writer_t *w, int delimit, size_t *out_len)
{
    *out_len = 0;
    if (w->err != VS_COBS_OK) {
        return w->err;
    }
    w->dst[w->code_pos] = w->code;
    if (delimit) {
        if (w->len >= w->cap) {
            w->err = VS_COBS_E_BUFFER;
            return w->err;
        }
        w->dst[w->len++] = 0U;
    }
    *out_len = w->len;
    return VS_COBS_OK;
}

int vs_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len)
{
    vs_cobs_writer_t w;
    vs_cobs_writer_init(&w, dst, cap);
    for (size_t i = 0; i < len; i++) {
        vs_cobs_writer_put(&w, src[i]);
    }
    return vs_cobs_writer_finish(&w, 0, out_len);
}

int vs_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len)
{
    size_t i = 0;
    size_t o = 0;
    *out_len = 0;
    if (len == 0U || memchr(src, 0, len) != NULL) {
        return VS_COBS_E_FORMAT;
    }
    while (i < len) {
        const size_t code = src[i++];
        const size_t n = code - 1U;
        if (n > len - i) {
            return VS_COBS_E_FORMAT;
        }
        if (n > cap - o) {
            return VS_COBS_E_BUFFER;
        }
        /* memmove: in-place decoding shifts data left by one byte per block. */
        memmove(&dst[o], &src[i], n);
        o += n;
        i += n;
        if (code != 0xFFU && i < len) {
            if (o >= cap) {
                return VS_COBS_E_BUFFER;
            }
            dst[o++] = 0U;
        }
    }
    *out_len = o;
    return VS_COBS_OK;
}
