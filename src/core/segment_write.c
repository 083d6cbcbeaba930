/* segment_write: the streaming segment writer (mc_seg_writer_*, include/mpicompact.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fault.h"
#include "h5util.h"
#include "segment_mem.h"
#include "store.h"

/* Each dataset is buffered in CHUNK_BYTES; the first time a buffer fills the
 * dataset is created with chunks of that many bytes, and every later flush
 * writes exactly one whole chunk. A dataset that never fills is created at
 * finish with one chunk of its exact length, so tiny segments stay tiny.
 * Small chunks (segment_mem.h) keep what a reader holds per input small: a
 * merge holds one reader per input. */
#define CHUNK_BYTES ((size_t)MC_SEG_CHUNK_BYTES)
/* Writeback of what was written is started every WRITEBACK_BYTES, so the
 * disk works while the merge goes on and the fsync at finish is short. */
#define WRITEBACK_BYTES ((uint64_t)8 << 20)

typedef struct column {
    const char *name;
    mc_h5_type type;
    mc_buf buf;   /* at most CHUNK_BYTES pending bytes (room for 4 more: the checksum) */
    hid_t dset;   /* H5I_INVALID_HID until created */
    uint64_t chunk_elems;   /* of the dataset, once created */
} column;

struct mc_seg_writer {
    char *path, *tmp;
    uint64_t segno;
    hid_t file;
    column cols[MC_SEG_NDSETS];
    uint64_t nitems, ndeletes, key_bytes, value_bytes, min_seq, max_seq;
    uint8_t *min_key;
    size_t min_key_len;
    /* The last key added: the tail of the keys column's buffer, or, when
     * the push that added it flushed that buffer, a copy in last_key (so
     * an item costs no copy of its key besides the one into the column). */
    bool last_in_buf;
    size_t last_len;
    mc_buf last_key;
    uint64_t unflushed;   /* bytes written since writeback was last started */
    bool failed;   /* an I/O error happened: only abort/finish (which fails) remain */
};

/* Creates the dataset (if needed) and writes the buffered elements as one
 * chunk, checksummed by us and written directly (no copy inside HDF5). */
static mc_status column_flush(mc_seg_writer *w, column *c, mc_err *err)
{
    uint64_t n = c->buf.n / (size_t)c->type;
    if (c->dset < 0) {
        c->chunk_elems = c->buf.n == CHUNK_BYTES ? CHUNK_BYTES / (size_t)c->type : (n ? n : 1);
        mc_status st = mc_h5_dset_create_direct(w->file, w->tmp, c->name, c->type, c->chunk_elems, &c->dset, err);
        if (st != MC_OK)
            return st;
    }
    if (n == 0)
        return MC_OK;
    mc_status st = mc_fault_check("seg_write", w->segno, w->tmp, err);
    if (st == MC_OK)
        st = mc_buf_reserve(&c->buf, c->chunk_elems * (size_t)c->type + 4, err);
    if (st == MC_OK)
        st = mc_h5_dset_append_chunk(c->dset, w->tmp, c->name, c->type, c->buf.p, n, c->chunk_elems, err);
    c->buf.n = 0;
    w->unflushed += c->chunk_elems * (size_t)c->type;
    if (st == MC_OK && w->unflushed >= WRITEBACK_BYTES) {
        mc_h5_start_writeback(w->file);
        w->unflushed = 0;
    }
    return st;
}

/* Appends LEN bytes (whole elements) to the column, flushing full chunks:
 * the slow path of column_push. */
static mc_status column_push_slow(mc_seg_writer *w, column *c, const void *data, size_t len, mc_err *err)
{
    if (len == 0)
        return MC_OK;   /* an empty value: nothing to copy (and the buffer may not exist yet) */
    const uint8_t *p = data;
    while (len > 0) {
        size_t room = CHUNK_BYTES - c->buf.n;
        size_t take = len < room ? len : room;
        mc_status st = mc_buf_append(&c->buf, p, take, err);
        if (st != MC_OK)
            return st;
        p += take;
        len -= take;
        if (c->buf.n == CHUNK_BYTES && (st = column_flush(w, c, err)) != MC_OK)
            return st;
    }
    return MC_OK;
}

/* Whether pushing LEN bytes to the column takes the slow path (it grows
 * the buffer or flushes it; LEN 0 copies nothing either way). */
static inline bool column_push_is_slow(const column *c, size_t len)
{
    return !(len < CHUNK_BYTES - c->buf.n && len <= c->buf.cap - c->buf.n);
}

/* Appends LEN bytes to the column. Inline: the common case, the bytes fit,
 * is one copy (of a constant size for the fixed-width columns). */
static inline mc_status column_push(mc_seg_writer *w, column *c, const void *data, size_t len, mc_err *err)
{
    if (column_push_is_slow(c, len))
        return column_push_slow(w, c, data, len, err);
    if (len) {   /* an empty value: nothing to copy (and the buffer may not exist yet) */
        memcpy(c->buf.p + c->buf.n, data, len);
        c->buf.n += len;
    }
    return MC_OK;
}

static inline mc_status push_u64(mc_seg_writer *w, int col, uint64_t v, mc_err *err)
{
    return column_push(w, &w->cols[col], &v, sizeof v, err);
}

/* Drops the temporary file. Detaching it first sends what HDF5 still holds
 * dirty to memory when the handles close, not to a possibly full disk (a
 * failed H5Fclose leaves HDF5 unable to shut down). */
static void discard(mc_seg_writer *w)
{
    mc_h5_detach(w->file);
    for (int i = 0; i < MC_SEG_NDSETS; i++)
        mc_h5_dset_close(&w->cols[i].dset);
    mc_h5_close(&w->file);
    unlink(w->tmp);
}

static void writer_free(mc_seg_writer *w)
{
    for (int i = 0; i < MC_SEG_NDSETS; i++) {
        mc_h5_dset_close(&w->cols[i].dset);
        mc_buf_free(&w->cols[i].buf);
    }
    mc_h5_close(&w->file);
    mc_buf_free(&w->last_key);
    free(w->min_key);
    free(w->path);
    free(w->tmp);
    free(w);
}

mc_status mc_seg_writer_create(const char *path, uint64_t segno, mc_seg_writer **out, mc_err *err)
{
    mc_status st = MC_OK;
    *out = NULL;
    mc_seg_writer *w = calloc(1, sizeof *w);
    if (!w)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory creating a segment writer", path);
    w->file = H5I_INVALID_HID;
    for (int i = 0; i < MC_SEG_NDSETS; i++) {
        w->cols[i].name = mc_seg_dsets[i].name;
        w->cols[i].type = mc_seg_dsets[i].type;
        w->cols[i].dset = H5I_INVALID_HID;
    }
    w->segno = segno;
    w->path = strdup(path);
    if (w->path && asprintf(&w->tmp, "%s.tmp", path) < 0)
        w->tmp = NULL;
    if (!w->path || !w->tmp) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory creating a segment writer", path);
        goto cleanup;
    }
    if ((st = mc_fault_check("seg_create", segno, w->tmp, err)) != MC_OK ||
        (st = mc_h5_create(w->tmp, &w->file, err)) != MC_OK)
        goto cleanup;
    /* key_offsets and value_offsets start with 0. */
    if ((st = push_u64(w, MC_SEG_KEY_OFFSETS, 0, err)) != MC_OK || (st = push_u64(w, MC_SEG_VALUE_OFFSETS, 0, err)) != MC_OK)
        goto cleanup;
    *out = w;
    w = NULL;
cleanup:
    if (w) {
        if (w->file >= 0)
            discard(w);
        writer_free(w);
    }
    return st;
}

mc_status mc_seg_writer_add(mc_seg_writer *w, const mc_item *item, mc_err *err)
{
    if (w->failed)
        return mc_err_set(err, MC_EINVAL, 0, "%s: segment writer used after a failed write", w->tmp);
    const column *kc = &w->cols[MC_SEG_KEYS];
    const uint8_t *last = w->last_in_buf ? kc->buf.p + kc->buf.n - w->last_len : w->last_key.p;
    const char *problem = mc_seg_item_problem(item, last, w->last_len, w->nitems > 0);
    if (problem)
        return mc_err_set(err, MC_EINVAL, 0, "%s: item %llu: %s (key %zu bytes, value %zu bytes, kind %u)",
                          w->path, (unsigned long long)w->nitems, problem, item->key_len, item->value_len,
                          (unsigned)item->kind);
    mc_status st;
    w->failed = true;   /* until the item is fully buffered */
    if (w->nitems == 0) {
        if (!(w->min_key = mc_memdup(item->key, item->key_len)))
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", w->path);
        w->min_key_len = item->key_len;
    }
    /* A push that flushes the keys column takes the key out of its buffer:
     * keep a copy then. */
    w->last_in_buf = !column_push_is_slow(kc, item->key_len);
    w->last_len = item->key_len;
    w->last_key.n = 0;
    if ((!w->last_in_buf && (st = mc_buf_append(&w->last_key, item->key, item->key_len, err)) != MC_OK) ||
        (st = column_push(w, &w->cols[MC_SEG_KEYS], item->key, item->key_len, err)) != MC_OK ||
        (st = push_u64(w, MC_SEG_KEY_OFFSETS, w->key_bytes + item->key_len, err)) != MC_OK ||
        (st = column_push(w, &w->cols[MC_SEG_VALUES], item->value, item->value_len, err)) != MC_OK ||
        (st = push_u64(w, MC_SEG_VALUE_OFFSETS, w->value_bytes + item->value_len, err)) != MC_OK ||
        (st = push_u64(w, MC_SEG_SEQS, item->seq, err)) != MC_OK ||
        (st = column_push(w, &w->cols[MC_SEG_KINDS], &item->kind, 1, err)) != MC_OK)
        return st;
    w->failed = false;
    w->key_bytes += item->key_len;
    w->value_bytes += item->value_len;
    w->ndeletes += item->kind == MC_KIND_DELETE;
    if (w->nitems == 0 || item->seq < w->min_seq)
        w->min_seq = item->seq;
    if (w->nitems == 0 || item->seq > w->max_seq)
        w->max_seq = item->seq;
    w->nitems++;
    return MC_OK;
}

uint64_t mc_seg_writer_nitems(const mc_seg_writer *w)
{
    return w->nitems;
}

uint64_t mc_seg_writer_bytes(const mc_seg_writer *w)
{
    return w->key_bytes + w->value_bytes;
}

/* Writes what the columns still buffer and the root attributes, and closes
 * the datasets. The data is on disk then (direct writes); the metadata
 * follows in mc_h5_close_sync(), which first makes sure it has room. */
static mc_status write_rest(mc_seg_writer *w, mc_err *err)
{
    mc_status st;
    if (w->last_in_buf) {   /* the last key leaves the buffer now (fill_meta's max_key) */
        const column *kc = &w->cols[MC_SEG_KEYS];
        w->last_key.n = 0;
        if ((st = mc_buf_append(&w->last_key, kc->buf.p + kc->buf.n - w->last_len, w->last_len, err)) != MC_OK)
            return st;
        w->last_in_buf = false;
    }
    for (int i = 0; i < MC_SEG_NDSETS; i++) {
        column *c = &w->cols[i];
        if ((st = column_flush(w, c, err)) != MC_OK)
            return st;
        mc_buf_free(&c->buf);
    }
    if ((st = mc_h5_attr_write_str(w->file, w->tmp, "format", MC_SEG_FORMAT, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(w->file, w->tmp, "version", MC_SEG_VERSION, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(w->file, w->tmp, "segno", w->segno, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(w->file, w->tmp, "nitems", w->nitems, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(w->file, w->tmp, "min_seq", w->min_seq, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(w->file, w->tmp, "max_seq", w->max_seq, err)) != MC_OK)
        return st;
    for (int i = 0; i < MC_SEG_NDSETS; i++)
        mc_h5_dset_close(&w->cols[i].dset);
    return MC_OK;
}

static mc_status fill_meta(const mc_seg_writer *w, mc_seg_meta *meta, mc_err *err)
{
    mc_seg_meta m = {
        .segno = w->segno,
        .level = 0,
        .nitems = w->nitems,
        .ndeletes = w->ndeletes,
        .bytes = w->key_bytes + w->value_bytes,
        .min_seq = w->min_seq,
        .max_seq = w->max_seq,
        .min_key = w->min_key,
        .min_key_len = w->min_key_len,
        .max_key = w->last_key.p,
        .max_key_len = w->last_key.n,
    };
    return mc_seg_meta_copy(meta, &m, err);
}

/* The directory part of PATH ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

mc_status mc_seg_writer_finish(mc_seg_writer **wp, mc_seg_meta *meta, mc_err *err)
{
    mc_seg_writer *w = *wp;
    *wp = NULL;
    mc_status st = MC_OK;
    char *dir = NULL;
    bool have_meta = false;
    if (w->failed) {
        st = mc_err_set(err, MC_EINVAL, 0, "%s: segment writer used after a failed write", w->tmp);
        goto cleanup;
    }
    if (w->nitems == 0) {
        st = mc_err_set(err, MC_EINVAL, 0, "%s: a segment needs at least one item", w->path);
        goto cleanup;
    }
    if ((st = write_rest(w, err)) != MC_OK)
        goto cleanup;
    hid_t file = w->file;
    w->file = H5I_INVALID_HID;
    if ((st = mc_h5_close_sync_at(file, w->tmp, "seg_fsync", w->segno, err)) != MC_OK)
        goto cleanup;
    if ((st = fill_meta(w, meta, err)) != MC_OK)
        goto cleanup;
    have_meta = true;
    if (!(dir = dir_of(w->path))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", w->path);
        goto cleanup;
    }
    if ((st = mc_fault_check("seg_rename", w->segno, w->tmp, err)) != MC_OK)
        goto cleanup;
    if (rename(w->tmp, w->path) != 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: rename to %s: %s", w->tmp, w->path, strerror(e));
        goto cleanup;
    }
    if ((st = mc_fsync_dir(dir, err)) != MC_OK)
        unlink(w->path);   /* not durable: do not leave it looking complete */
cleanup:
    if (st != MC_OK) {
        discard(w);
        if (have_meta)
            mc_seg_meta_clear(meta);
    }
    free(dir);
    writer_free(w);
    return st;
}

void mc_seg_writer_abort(mc_seg_writer **wp)
{
    if (!wp || !*wp)
        return;
    mc_seg_writer *w = *wp;
    *wp = NULL;
    discard(w);
    writer_free(w);
}
