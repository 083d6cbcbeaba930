/* manifest_wire: a manifest and segment descriptors as bytes (manifest_wire.h). */
#include "manifest_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define MANIFEST_MAGIC 0x4d43464du   /* "MFCM" little-endian */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static mc_status get_u64(reader *r, uint64_t *v, mc_err *err)
{
    if (r->end - r->p < 8)
        return mc_err_set(err, MC_EPROTO, 0, "truncated message (need 8 bytes, %td left)", r->end - r->p);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    *v = x;
    return MC_OK;
}

/* A length-prefixed key of 1..MC_KEY_MAX bytes, malloc'ed. */
static mc_status get_key(reader *r, uint8_t **key, size_t *len, mc_err *err)
{
    uint64_t n = 0;
    mc_status st = get_u64(r, &n, err);
    if (st != MC_OK)
        return st;
    if (n < 1 || n > MC_KEY_MAX || (uint64_t)(r->end - r->p) < n)
        return mc_err_set(err, MC_EPROTO, 0, "bad key length %llu in message", (unsigned long long)n);
    *key = mc_memdup(r->p, (size_t)n);
    if (!*key)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory decoding a key");
    *len = (size_t)n;
    r->p += n;
    return MC_OK;
}

mc_status mc_seg_meta_encode(mc_buf *b, const mc_seg_meta *m, mc_err *err)
{
    const uint64_t fields[] = {m->segno, m->level, m->nitems, m->ndeletes, m->bytes, m->min_seq, m->max_seq};
    mc_status st = MC_OK;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && st == MC_OK; i++)
        st = mc_buf_append_u64(b, fields[i], err);
    if (st == MC_OK)
        st = mc_buf_append_u64(b, m->min_key_len, err);
    if (st == MC_OK)
        st = mc_buf_append(b, m->min_key, m->min_key_len, err);
    if (st == MC_OK)
        st = mc_buf_append_u64(b, m->max_key_len, err);
    if (st == MC_OK)
        st = mc_buf_append(b, m->max_key, m->max_key_len, err);
    return st;
}

mc_status mc_seg_meta_decode(const uint8_t **p, const uint8_t *end, mc_seg_meta *meta, mc_err *err)
{
    reader r = {*p, end};
    mc_seg_meta m = {0};
    uint64_t level = 0;
    mc_status st = get_u64(&r, &m.segno, err);
    if (st == MC_OK)
        st = get_u64(&r, &level, err);
    if (st == MC_OK && level >= MC_LEVELS_MAX)
        st = mc_err_set(err, MC_EPROTO, 0, "segment %llu: bad level %llu in message",
                        (unsigned long long)m.segno, (unsigned long long)level);
    m.level = (uint8_t)level;
    if (st == MC_OK)
        st = get_u64(&r, &m.nitems, err);
    if (st == MC_OK)
        st = get_u64(&r, &m.ndeletes, err);
    if (st == MC_OK)
        st = get_u64(&r, &m.bytes, err);
    if (st == MC_OK)
        st = get_u64(&r, &m.min_seq, err);
    if (st == MC_OK)
        st = get_u64(&r, &m.max_seq, err);
    if (st == MC_OK)
        st = get_key(&r, &m.min_key, &m.min_key_len, err);
    if (st == MC_OK)
        st = get_key(&r, &m.max_key, &m.max_key_len, err);
    if (st != MC_OK) {
        mc_seg_meta_clear(&m);
        return st;
    }
    *meta = m;
    *p = r.p;
    return MC_OK;
}

mc_status mc_manifest_encode(const mc_manifest *m, mc_buf *b, mc_err *err)
{
    const mc_params *pa = mc_manifest_params(m);
    const uint64_t head[] = {
        MANIFEST_MAGIC, pa->fanout, pa->l0_limit, pa->levels, pa->segment_size,
        mc_manifest_generation(m), mc_manifest_next_segno(m), mc_manifest_next_seq(m), mc_manifest_count(m),
    };
    mc_status st = MC_OK;
    for (size_t i = 0; i < sizeof head / sizeof head[0] && st == MC_OK; i++)
        st = mc_buf_append_u64(b, head[i], err);
    for (unsigned l = 0; l < pa->levels && st == MC_OK; l++) {
        size_t n = mc_manifest_level_count(m, l);
        for (size_t i = 0; i < n && st == MC_OK; i++)
            st = mc_seg_meta_encode(b, mc_manifest_level_at(m, l, i), err);
    }
    return st;
}

mc_status mc_manifest_decode(const uint8_t *p, size_t len, mc_manifest **out, mc_err *err)
{
    reader r = {p, p + len};
    uint64_t head[9];
    mc_manifest *m = NULL;
    mc_seg_meta meta = {0};
    mc_status st = MC_OK;
    for (size_t i = 0; i < 9 && st == MC_OK; i++)
        st = get_u64(&r, &head[i], err);
    if (st != MC_OK)
        goto cleanup;
    if (head[0] != MANIFEST_MAGIC || head[1] > UINT32_MAX || head[2] > UINT32_MAX || head[3] > UINT32_MAX) {
        st = mc_err_set(err, MC_EPROTO, 0, "not an encoded manifest");
        goto cleanup;
    }
    mc_params pa = {.fanout = (uint32_t)head[1], .l0_limit = (uint32_t)head[2], .levels = (uint32_t)head[3],
                    .segment_size = head[4]};
    st = mc_manifest_create(&pa, &m, err);
    if (st != MC_OK)
        goto cleanup;
    mc_manifest_set_generation(m, head[5]);
    mc_manifest_set_next_segno(m, head[6]);
    mc_manifest_set_next_seq(m, head[7]);
    for (uint64_t i = 0; i < head[8]; i++) {
        st = mc_seg_meta_decode(&r.p, r.end, &meta, err);
        if (st == MC_OK)
            st = mc_manifest_add(m, &meta, err);
        mc_seg_meta_clear(&meta);
        if (st != MC_OK)
            goto cleanup;
    }
    if (r.p != r.end) {
        st = mc_err_set(err, MC_EPROTO, 0, "%td trailing bytes after an encoded manifest", r.end - r.p);
        goto cleanup;
    }
    *out = m;
    m = NULL;
cleanup:
    mc_manifest_destroy(&m);
    return st;
}
