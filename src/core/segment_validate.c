/* segment_validate: the segment format's item rules and whole-file validation (mc_seg_validate). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "h5util.h"
#include "segment_validate.h"

const mc_seg_dset_def mc_seg_dsets[MC_SEG_NDSETS] = {
    [MC_SEG_KEYS] = {"keys", MC_H5_U8},
    [MC_SEG_KEY_OFFSETS] = {"key_offsets", MC_H5_U64},
    [MC_SEG_VALUES] = {"values", MC_H5_U8},
    [MC_SEG_VALUE_OFFSETS] = {"value_offsets", MC_H5_U64},
    [MC_SEG_SEQS] = {"seqs", MC_H5_U64},
    [MC_SEG_KINDS] = {"kinds", MC_H5_U8},
};

const char *mc_seg_item_problem(const mc_item *it, const uint8_t *prev, size_t prev_len, bool has_prev)
{
    if (it->key_len == 0)
        return "key is empty (keys are 1..4096 bytes)";
    if (it->key_len > MC_KEY_MAX)
        return "key is longer than the limit of 4096 bytes";
    if (!it->key)
        return "key pointer is NULL";
    if (it->value_len > MC_VALUE_MAX)
        return "value is longer than the limit of 16 MiB";
    if (it->value_len > 0 && !it->value)
        return "value pointer is NULL";
    if (it->kind != MC_KIND_PUT && it->kind != MC_KIND_DELETE)
        return "kind is neither 0 (put) nor 1 (delete)";
    if (it->kind == MC_KIND_DELETE && it->value_len != 0)
        return "a delete has a non-empty value";
    if (has_prev && mc_key_cmp(prev, prev_len, it->key, it->key_len) >= 0)
        return "keys not in increasing order";
    return NULL;
}

/* Seq 0 is never a version: stores start at next_seq = 1, and compaction
 * refuses it. */
static mc_status seq_zero(const char *path, uint64_t index, mc_err *err)
{
    return mc_err_set(err, MC_ECORRUPT, 0, "%s: item %llu: seq 0 is not allowed (seqs start at 1)", path,
                      (unsigned long long)index);
}

mc_status mc_seg_check_add_seqs(const char *path, const mc_seg_meta *meta, mc_err *err)
{
    if (meta->max_seq <= MC_ADD_SEQ_MAX)
        return MC_OK;
    return mc_err_set(err, MC_ECORRUPT, 0,
                      "%s: holds seq %llu, above the largest seq add accepts, %llu (2^63-1): the store's next seq "
                      "would leave no room for newer versions",
                      path, (unsigned long long)meta->max_seq, (unsigned long long)MC_ADD_SEQ_MAX);
}

mc_status mc_seg_validate(const char *path, mc_seg_meta *meta, mc_err *err)
{
    return mc_seg_validate_watched(path, NULL, NULL, meta, err);
}

mc_status mc_seg_validate_watched(const char *path, void (*on_item)(void *, const mc_item *), void *arg,
                                  mc_seg_meta *meta, mc_err *err)
{
    mc_status st = MC_OK;
    mc_seg_reader *r = NULL;
    mc_buf last = {0};
    mc_seg_meta m = {0};
    bool eof = false;
    if ((st = mc_seg_reader_open(path, &r, err)) != MC_OK)
        goto cleanup;
    const mc_seg_attrs *a = mc_seg_reader_attrs(r);
    for (;;) {
        mc_item it;
        if ((st = mc_seg_reader_next(r, &it, &eof, err)) != MC_OK)
            goto cleanup;
        if (eof)
            break;
        if (it.seq == 0) {
            st = seq_zero(path, m.nitems, err);
            goto cleanup;
        }
        if (on_item)
            on_item(arg, &it);
        if (m.nitems == 0) {
            m.min_key = mc_memdup(it.key, it.key_len);
            m.min_key_len = it.key_len;
            m.min_seq = m.max_seq = it.seq;
            if (!m.min_key) {
                st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
                goto cleanup;
            }
        }
        last.n = 0;
        if ((st = mc_buf_append(&last, it.key, it.key_len, err)) != MC_OK)
            goto cleanup;
        m.min_seq = it.seq < m.min_seq ? it.seq : m.min_seq;
        m.max_seq = it.seq > m.max_seq ? it.seq : m.max_seq;
        m.nitems++;
        m.ndeletes += it.kind == MC_KIND_DELETE;
        m.bytes += it.key_len + it.value_len;
    }
    if (m.nitems != a->nitems) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute nitems is %llu but the file holds %llu items", path,
                        (unsigned long long)a->nitems, (unsigned long long)m.nitems);
        goto cleanup;
    }
    if (m.min_seq != a->min_seq || m.max_seq != a->max_seq) {
        st = mc_err_set(err, MC_ECORRUPT, 0,
                        "%s: attributes min_seq/max_seq are %llu/%llu but the items' seqs range over %llu..%llu",
                        path, (unsigned long long)a->min_seq, (unsigned long long)a->max_seq,
                        (unsigned long long)m.min_seq, (unsigned long long)m.max_seq);
        goto cleanup;
    }
    m.segno = a->segno;
    m.level = 0;
    m.max_key = mc_memdup(last.p, last.n);
    m.max_key_len = last.n;
    if (!m.max_key) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    *meta = m;
    memset(&m, 0, sizeof m);
cleanup:
    mc_seg_meta_clear(&m);
    mc_buf_free(&last);
    mc_seg_reader_close(&r);
    return st;
}
