/* buf: growable byte buffer, key order, segment descriptors (buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

mc_status mc_buf_reserve_exact(mc_buf *b, size_t cap, mc_err *err)
{
    if (cap <= b->cap)
        return MC_OK;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->p = p;
    b->cap = cap;
    return MC_OK;
}

mc_status mc_buf_reserve(mc_buf *b, size_t cap, mc_err *err)
{
    if (cap <= b->cap)
        return MC_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < cap)
        ncap = ncap > SIZE_MAX / 2 ? cap : ncap * 2;
    return mc_buf_reserve_exact(b, ncap, err);
}

mc_status mc_buf_append(mc_buf *b, const void *data, size_t len, mc_err *err)
{
    if (len > SIZE_MAX - b->n)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "buffer size overflow");
    mc_status st = mc_buf_reserve(b, b->n + len, err);
    if (st != MC_OK)
        return st;
    if (len)
        memcpy(b->p + b->n, data, len);
    b->n += len;
    return MC_OK;
}

mc_status mc_buf_append_u64(mc_buf *b, uint64_t v, mc_err *err)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    return mc_buf_append(b, le, sizeof le, err);
}

void mc_buf_free(mc_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

uint8_t *mc_memdup(const void *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    if (q && len)
        memcpy(q, p, len);
    return q;
}

int mc_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return a_len < b_len ? -1 : (a_len > b_len ? 1 : 0);
}

void mc_seg_meta_clear(mc_seg_meta *meta)
{
    if (!meta)
        return;
    free(meta->min_key);
    free(meta->max_key);
    memset(meta, 0, sizeof *meta);
}

mc_status mc_seg_meta_copy(mc_seg_meta *dst, const mc_seg_meta *src, mc_err *err)
{
    mc_seg_meta tmp = *src;
    tmp.min_key = mc_memdup(src->min_key, src->min_key_len);
    tmp.max_key = mc_memdup(src->max_key, src->max_key_len);
    if (!tmp.min_key || !tmp.max_key) {
        free(tmp.min_key);
        free(tmp.max_key);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory copying segment %llu's descriptor",
                          (unsigned long long)src->segno);
    }
    *dst = tmp;
    return MC_OK;
}
