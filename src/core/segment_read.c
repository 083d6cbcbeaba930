/* segment_read: the streaming, checking segment reader (mc_seg_reader_*, include/mpicompact.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "h5util.h"
#include "segment_mem.h"
#include "segment_raw.h"

/* A window holds up to WINDOW_ITEMS items and about WINDOW_BYTES of key and
 * value bytes (at least one item, however large), copied out of the
 * datasets' checked chunks, so every chunk is read and checksummed once. The
 * key and value bytes of the previous window are kept in a second buffer,
 * so that an item stays valid until the second next() after it
 * (what a merge source must give, merge.h). Small, because a merge holds
 * one reader per input (segment_mem.h). */
#define WINDOW_ITEMS ((uint64_t)1024)
#define WINDOW_BYTES ((uint64_t)64 << 10)
/* Read-ahead: the kernel is asked to fetch the next READ_AHEAD bytes of the
 * file ahead of the window, placed by the item position (the writer lays
 * chunks out in item order, all datasets advancing together), refreshed when
 * half of it has been used. Page cache, not the process's memory. */
#define READ_AHEAD ((uint64_t)4 << 20)
/* Per item in memory: two offsets, a seq, a kind. */
#define ITEM_BYTES ((uint64_t)(8 + 8 + 8 + 1))
/* The reader's own bookkeeping besides its buffers (struct, path, last key,
 * allocator headers) and the merge's and compaction's per input. */
#define READER_FIXED ((uint64_t)4096 + 4096)

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Chunks a segment of mpicompact's holds: its data and 25 bytes an item in
 * chunks of MC_SEG_CHUNK_BYTES, and the last chunk of each dataset. */
static uint64_t chunks_of(uint64_t nitems, uint64_t data_bytes)
{
    return data_bytes / MC_SEG_CHUNK_BYTES + nitems / (MC_SEG_CHUNK_BYTES / ITEM_BYTES) + MC_SEG_NDSETS;
}

/* A streamed input of NITEMS items and DATA_BYTES key and value bytes: one
 * chunk per dataset, no larger than the dataset (the writer gives a
 * dataset under one chunk a chunk of its exact length), the keys' and
 * values' together no larger than their bytes; two windows of at most
 * WINDOW_BYTES each (reserved exactly); the window's item arrays; and
 * either the chunk tables (read without HDF5) or HDF5's open file. */
static uint64_t streamed_mem(uint64_t nitems, uint64_t data_bytes)
{
    const uint64_t chunk = MC_SEG_CHUNK_MAX + 4;
    uint64_t n = min64(nitems, UINT64_MAX / 16), b = min64(data_bytes, UINT64_MAX / 16);
    uint64_t chunks = min64(2 * chunk, b + 8) + 3 * min64(chunk, 8 * n + 12) + min64(chunk, n + 4);
    uint64_t windows = 2 * (min64(WINDOW_BYTES, b) + 2);
    uint64_t tables = chunks_of(n, b) <= MC_SEG_RAW_CHUNKS_MAX ? 8 * chunks_of(n, b) : MC_SEG_H5_FILE_MEM;
    return tables + chunks + windows + (min64(n, WINDOW_ITEMS) + 1) * ITEM_BYTES + READER_FIXED;
}

/* A loaded input: its bytes, exactly reserved, and its item arrays. */
static uint64_t loaded_mem(uint64_t nitems, uint64_t data_bytes)
{
    if (nitems > UINT64_MAX / 64 || data_bytes > UINT64_MAX / 4)
        return UINT64_MAX;
    return data_bytes + 2 + (nitems + 1) * ITEM_BYTES + READER_FIXED;
}

bool mc_seg_input_loads(uint64_t nitems, uint64_t data_bytes)
{
    uint64_t loaded = loaded_mem(nitems, data_bytes);
    return loaded <= MC_SEG_LOAD_MAX && loaded <= streamed_mem(nitems, data_bytes);
}

uint64_t mc_seg_input_mem(uint64_t nitems, uint64_t data_bytes)
{
    return mc_seg_input_loads(nitems, data_bytes) ? loaded_mem(nitems, data_bytes)
                                                   : streamed_mem(nitems, data_bytes);
}

uint64_t mc_seg_input_mem_max(void)
{
    return streamed_mem(UINT64_MAX, UINT64_MAX);
}

struct mc_seg_reader {
    char *path;
    hid_t file;
    hid_t dsets[MC_SEG_NDSETS];
    mc_h5_col cols[MC_SEG_NDSETS];   /* read in whole chunks, checked by us */
    mc_raw_col raw[MC_SEG_NDSETS];   /* the same without HDF5 (segment_raw.h) */
    int fd;                  /* raw reading: the file's descriptor, HDF5's file closed */
    uint64_t lens[MC_SEG_NDSETS];
    mc_seg_attrs attrs;
    uint64_t pos;            /* index of the next item next() returns */
    uint64_t end;            /* items [end, nitems) are never returned (loaded: past the range) */
    uint64_t wstart, wn;     /* the window holds items [wstart, wstart + wn) */
    uint64_t cap;            /* items the arrays below hold (offsets: cap + 1) */
    uint64_t *koff, *voff;
    uint64_t *seqs;
    uint8_t *kinds;
    bool loaded;             /* the window holds every item left; the file is closed */
    mc_buf win;              /* the window's key bytes, then its value bytes */
    uint8_t *vals;           /* where the value bytes start in win */
    mc_buf old_win;          /* the previous window's */
    mc_buf prev_key;         /* last key of the previous window */
    uint64_t file_size;
    uint64_t ahead_end;      /* read-ahead was asked up to this file offset */
    bool has_prev;
};

static mc_status read_dset(mc_seg_reader *r, int d, uint64_t start, uint64_t n, void *out, mc_err *err)
{
    if (r->fd >= 0)
        return mc_raw_col_read(&r->raw[d], r->path, mc_seg_dsets[d].name, start, n, out, err);
    return mc_h5_col_read(&r->cols[d], r->path, mc_seg_dsets[d].name, start, n, out, err);
}

static mc_status check_format(mc_seg_reader *r, mc_err *err)
{
    char format[64];
    mc_err sub = {0};
    uint64_t version = 0;
    mc_status st = mc_h5_attr_read_str(r->file, r->path, "format", format, sizeof format, &sub);
    if (st != MC_OK)
        return mc_err_set(err, MC_EFORMAT, 0, "%s (not an mpicompact segment)", sub.msg);
    if (strcmp(format, MC_SEG_FORMAT) != 0)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: attribute format is \"%s\", not \"%s\"", r->path, format,
                          MC_SEG_FORMAT);
    if ((st = mc_h5_attr_read_u64(r->file, r->path, "version", &version, err)) != MC_OK)
        return st;
    if (version > MC_SEG_VERSION)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: segment format version %llu is newer than supported %u",
                          r->path, (unsigned long long)version, MC_SEG_VERSION);
    if (version != MC_SEG_VERSION)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: segment format version %llu is not valid", r->path,
                          (unsigned long long)version);
    return MC_OK;
}

static mc_status read_attrs(mc_seg_reader *r, mc_err *err)
{
    mc_seg_attrs *a = &r->attrs;
    mc_status st;
    if ((st = mc_h5_attr_read_u64(r->file, r->path, "segno", &a->segno, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(r->file, r->path, "nitems", &a->nitems, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(r->file, r->path, "min_seq", &a->min_seq, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(r->file, r->path, "max_seq", &a->max_seq, err)) != MC_OK)
        return st;
    if (a->nitems == 0)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: segment holds no items (nitems = 0)", r->path);
    if (a->nitems > UINT64_MAX - 1)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute nitems is out of range", r->path);
    if (a->min_seq > a->max_seq)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute min_seq %llu is greater than max_seq %llu", r->path,
                          (unsigned long long)a->min_seq, (unsigned long long)a->max_seq);
    return MC_OK;
}

static mc_status open_dsets(mc_seg_reader *r, mc_err *err)
{
    uint64_t n = r->attrs.nitems;
    for (int d = 0; d < MC_SEG_NDSETS; d++) {
        mc_status st = mc_h5_dset_open(r->file, r->path, mc_seg_dsets[d].name, mc_seg_dsets[d].type,
                                       &r->dsets[d], &r->lens[d], err);
        if (st != MC_OK)
            return st;
        uint64_t want = (d == MC_SEG_KEY_OFFSETS || d == MC_SEG_VALUE_OFFSETS) ? n + 1 : n;
        if (d != MC_SEG_KEYS && d != MC_SEG_VALUES && r->lens[d] != want)
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s has %llu entries, expected %llu (nitems = %llu)",
                              r->path, mc_seg_dsets[d].name, (unsigned long long)r->lens[d],
                              (unsigned long long)want, (unsigned long long)n);
        mc_h5_col_init(&r->cols[d], r->dsets[d], mc_seg_dsets[d].type, r->lens[d]);
    }
    return MC_OK;
}

static void release_file(mc_seg_reader *r);

/* Reads on without HDF5 (segment_raw.h) when every dataset qualifies and
 * their chunk tables hold at most MC_SEG_RAW_CHUNKS_MAX chunks together:
 * the file's descriptor is kept, HDF5's file closed. Otherwise HDF5 keeps
 * the file open, as when nothing qualifies. */
static mc_status try_raw(mc_seg_reader *r, mc_err *err)
{
    struct stat sb;
    int fd = mc_h5_dup_fd(r->file);
    if (fd < 0)
        return MC_OK;
    mc_status st = MC_OK;
    bool all = fstat(fd, &sb) == 0;
    uint64_t chunks = 0;
    for (int d = 0; d < MC_SEG_NDSETS && all; d++) {
        if ((st = mc_raw_col_init(&r->raw[d], &r->cols[d], r->dsets[d], (uint64_t)sb.st_size,
                                  MC_SEG_RAW_CHUNKS_MAX - chunks, &all, r->path, err)) != MC_OK)
            break;
        chunks += r->raw[d].nchunks;
    }
    if (st != MC_OK || !all) {
        for (int d = 0; d < MC_SEG_NDSETS; d++)
            mc_raw_col_free(&r->raw[d]);
        close(fd);
        return st;
    }
    release_file(r);
    r->fd = fd;
    for (int d = 0; d < MC_SEG_NDSETS; d++)
        mc_raw_col_attach(&r->raw[d], fd);
    return MC_OK;
}

mc_status mc_seg_reader_open(const char *path, mc_seg_reader **out, mc_err *err)
{
    return mc_seg_reader_open_from(path, H5I_INVALID_HID, out, err);
}

mc_status mc_seg_reader_open_from(const char *path, hid_t open_file, mc_seg_reader **out, mc_err *err)
{
    mc_status st = MC_OK;
    *out = NULL;
    mc_seg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening a segment", path);
    r->file = H5I_INVALID_HID;
    r->fd = -1;
    for (int d = 0; d < MC_SEG_NDSETS; d++)
        r->dsets[d] = H5I_INVALID_HID;
    r->path = strdup(path);
    if (!r->path) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening a segment", path);
        goto cleanup;
    }
    st = open_file >= 0 ? mc_h5_reopen(open_file, path, &r->file, err) : mc_h5_open_ro(path, &r->file, err);
    if (st != MC_OK || (st = check_format(r, err)) != MC_OK ||
        (st = read_attrs(r, err)) != MC_OK || (st = open_dsets(r, err)) != MC_OK)
        goto cleanup;
    r->file_size = mc_h5_file_size(r->file);
    if ((st = try_raw(r, err)) != MC_OK)
        goto cleanup;
    r->end = r->attrs.nitems;
    *out = r;
    r = NULL;
cleanup:
    mc_seg_reader_close(&r);
    return st;
}

const mc_seg_attrs *mc_seg_reader_attrs(const mc_seg_reader *r)
{
    return &r->attrs;
}

/* Offsets OFF[0..n] of items [pos, pos+n) into a byte dataset of LEN bytes.
 * D is an offsets dataset; D - 1 is the byte dataset it indexes. */
static mc_status check_offsets(const mc_seg_reader *r, int d, const uint64_t *off, uint64_t pos, uint64_t n,
                               uint64_t len, mc_err *err)
{
    const char *name = mc_seg_dsets[d].name;
    if (pos == 0 && off[0] != 0)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: first offset is %llu, not 0", r->path, name,
                          (unsigned long long)off[0]);
    for (uint64_t i = 0; i < n; i++)
        if (off[i + 1] < off[i])
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: offsets decrease at entry %llu", r->path,
                              name, (unsigned long long)(pos + i + 1));
    if (off[n] > len)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: entry %llu (%llu) is beyond the %llu bytes of %s",
                          r->path, name, (unsigned long long)(pos + n), (unsigned long long)off[n],
                          (unsigned long long)len, mc_seg_dsets[d - 1].name);
    if (pos + n == r->attrs.nitems && off[n] != len)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: last offset is %llu but %s holds %llu bytes",
                          r->path, name, (unsigned long long)off[n], mc_seg_dsets[d - 1].name,
                          (unsigned long long)len);
    return MC_OK;
}

static mc_item window_item(const mc_seg_reader *r, uint64_t i)
{
    return (mc_item){
        .key = r->win.p + (r->koff[i] - r->koff[0]),
        .key_len = r->koff[i + 1] - r->koff[i],
        .value = r->vals + (r->voff[i] - r->voff[0]),
        .value_len = r->voff[i + 1] - r->voff[i],
        .seq = r->seqs[i],
        .kind = r->kinds[i],
    };
}

static mc_status item_corrupt(const mc_seg_reader *r, uint64_t index, const char *problem, mc_err *err)
{
    return mc_err_set(err, MC_ECORRUPT, 0, "%s: item %llu: %s", r->path, (unsigned long long)index, problem);
}

/* Checks the items of the loaded window against the format's rules. */
static mc_status check_window(mc_seg_reader *r, mc_err *err)
{
    const uint8_t *prev = r->prev_key.p;
    size_t prev_len = r->prev_key.n;
    bool has_prev = r->has_prev;
    for (uint64_t i = 0; i < r->wn; i++) {
        mc_item it = window_item(r, i);
        const char *problem = mc_seg_item_problem(&it, prev, prev_len, has_prev);
        if (problem)
            return item_corrupt(r, r->wstart + i, problem, err);
        if (it.seq < r->attrs.min_seq || it.seq > r->attrs.max_seq) {
            char what[160];
            snprintf(what, sizeof what, "seq %llu is outside [min_seq, max_seq] = [%llu, %llu]",
                     (unsigned long long)it.seq, (unsigned long long)r->attrs.min_seq,
                     (unsigned long long)r->attrs.max_seq);
            return item_corrupt(r, r->wstart + i, what, err);
        }
        prev = it.key;
        prev_len = it.key_len;
        has_prev = true;
    }
    r->prev_key.n = 0;
    r->has_prev = true;
    return mc_buf_append(&r->prev_key, prev, prev_len, err);
}

/* Asks for the file's bytes ahead of item POS (READ_AHEAD). */
static void read_ahead(mc_seg_reader *r, uint64_t pos)
{
    if (r->file_size == 0)
        return;
    uint64_t at = (uint64_t)((double)r->file_size * ((double)pos / (double)r->attrs.nitems));
    if (at + READ_AHEAD / 2 <= r->ahead_end && at + READ_AHEAD / 2 >= r->ahead_end - READ_AHEAD)
        return;   /* enough asked ahead already */
    uint64_t from = at > r->ahead_end || at + READ_AHEAD < r->ahead_end ? at : r->ahead_end;
    r->ahead_end = at + READ_AHEAD;
    if (r->fd >= 0)
        (void)posix_fadvise(r->fd, (off_t)from, (off_t)(r->ahead_end - from), POSIX_FADV_WILLNEED);
    else
        mc_h5_read_ahead(r->file, from, r->ahead_end - from);
}

/* Room for N items in the window's arrays. */
static mc_status reserve_items(mc_seg_reader *r, uint64_t n, mc_err *err)
{
    if (n <= r->cap)
        return MC_OK;
    if (n > (SIZE_MAX / sizeof(uint64_t)) - 1)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory for %llu items", r->path, (unsigned long long)n);
    uint64_t *koff = realloc(r->koff, (n + 1) * sizeof *koff);
    if (koff)
        r->koff = koff;
    uint64_t *voff = realloc(r->voff, (n + 1) * sizeof *voff);
    if (voff)
        r->voff = voff;
    uint64_t *seqs = realloc(r->seqs, n * sizeof *seqs);
    if (seqs)
        r->seqs = seqs;
    uint8_t *kinds = realloc(r->kinds, n);
    if (kinds)
        r->kinds = kinds;
    if (!koff || !voff || !seqs || !kinds)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory for %llu items", r->path, (unsigned long long)n);
    r->cap = n;
    return MC_OK;
}

/* Loads the window starting at r->pos: items up to r->end, at most
 * WINDOW_ITEMS of them and about WINDOW_BYTES of data unless WHOLE. */
static mc_status refill(mc_seg_reader *r, bool whole, mc_err *err)
{
    mc_status st;
    uint64_t pos = r->pos, n = r->end - pos;
    if (!whole) {
        read_ahead(r, pos);
        n = n < WINDOW_ITEMS ? n : WINDOW_ITEMS;
    }
    r->wn = 0;
    uint64_t room = whole ? n : r->attrs.nitems < WINDOW_ITEMS ? r->attrs.nitems : WINDOW_ITEMS;
    if ((st = reserve_items(r, room, err)) != MC_OK)
        return st;
    if ((st = read_dset(r, MC_SEG_KEY_OFFSETS, pos, n + 1, r->koff, err)) != MC_OK ||
        (st = read_dset(r, MC_SEG_VALUE_OFFSETS, pos, n + 1, r->voff, err)) != MC_OK ||
        (st = check_offsets(r, MC_SEG_KEY_OFFSETS, r->koff, pos, n, r->lens[MC_SEG_KEYS], err)) != MC_OK ||
        (st = check_offsets(r, MC_SEG_VALUE_OFFSETS, r->voff, pos, n, r->lens[MC_SEG_VALUES], err)) != MC_OK)
        return st;
    /* Shrink to about WINDOW_BYTES of data, keeping at least one item. */
    uint64_t m = whole ? n : 1;
    while (m < n && (r->koff[m + 1] - r->koff[0]) + (r->voff[m + 1] - r->voff[0]) <= WINDOW_BYTES)
        m++;
    /* Lengths before allocating, so a corrupt offset cannot ask for terabytes. */
    for (uint64_t i = 0; i < m; i++) {
        uint64_t klen = r->koff[i + 1] - r->koff[i], vlen = r->voff[i + 1] - r->voff[i];
        if (klen > MC_KEY_MAX)
            return item_corrupt(r, pos + i, "key is longer than the limit of 4096 bytes", err);
        if (vlen > MC_VALUE_MAX)
            return item_corrupt(r, pos + i, "value is longer than the limit of 16 MiB", err);
    }
    uint64_t kbytes = r->koff[m] - r->koff[0], vbytes = r->voff[m] - r->voff[0];
    mc_buf t = r->old_win;
    r->old_win = r->win;
    r->win = t;
    /* Reserved exactly (segment_mem.h counts it so): a whole load its
     * bytes; a streamed window at least a full window's, so that it grows
     * once (more only for a single item larger than a window). Two bytes
     * more, so item pointers are never NULL. */
    uint64_t need = kbytes + vbytes + 2;
    if (!whole) {
        uint64_t all = r->lens[MC_SEG_KEYS] + r->lens[MC_SEG_VALUES];
        uint64_t full = (all < WINDOW_BYTES ? all : WINDOW_BYTES) + 2;
        need = need > full ? need : full;
    }
    if ((st = mc_buf_reserve_exact(&r->win, need, err)) != MC_OK)
        return st;
    r->vals = r->win.p + kbytes + 1;
    if ((st = read_dset(r, MC_SEG_KEYS, r->koff[0], kbytes, r->win.p, err)) != MC_OK ||
        (st = read_dset(r, MC_SEG_VALUES, r->voff[0], vbytes, r->vals, err)) != MC_OK ||
        (st = read_dset(r, MC_SEG_SEQS, pos, m, r->seqs, err)) != MC_OK ||
        (st = read_dset(r, MC_SEG_KINDS, pos, m, r->kinds, err)) != MC_OK)
        return st;
    r->win.n = kbytes + vbytes + 2;
    r->wstart = pos;
    r->wn = m;
    if ((st = check_window(r, err)) != MC_OK)
        r->wn = 0;
    return st;
}

mc_status mc_seg_reader_next(mc_seg_reader *r, mc_item *item, bool *eof, mc_err *err)
{
    *eof = false;
    if (r->pos >= r->end) {
        *eof = true;
        return MC_OK;
    }
    if (r->pos < r->wstart || r->pos >= r->wstart + r->wn) {
        mc_status st = refill(r, false, err);
        if (st != MC_OK)
            return st;
    }
    uint64_t i = r->pos - r->wstart;
    *item = window_item(r, i);
    r->pos++;
    /* A merge asks this reader again only after items of its other inputs,
     * by when the window has left the cache: ask now for what the next item
     * reads (a prefetch never faults; each index is at most one past its
     * array's end). */
    __builtin_prefetch(&r->koff[i + 2]);
    __builtin_prefetch(&r->voff[i + 2]);
    __builtin_prefetch(&r->seqs[i + 1]);
    __builtin_prefetch(&r->kinds[i + 1]);
    return MC_OK;
}

/* Key I into BUF, for the binary search: offsets and length checked. */
static mc_status read_key(mc_seg_reader *r, uint64_t i, mc_buf *buf, mc_err *err)
{
    uint64_t off[2];
    mc_status st = read_dset(r, MC_SEG_KEY_OFFSETS, i, 2, off, err);
    if (st != MC_OK)
        return st;
    if (off[1] < off[0] || off[1] > r->lens[MC_SEG_KEYS])
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset key_offsets: entries %llu..%llu are out of order or "
                          "beyond the keys", r->path, (unsigned long long)i, (unsigned long long)(i + 1));
    if (off[1] - off[0] > MC_KEY_MAX || off[1] == off[0])
        return item_corrupt(r, i, "key length is outside 1..4096 bytes", err);
    if ((st = mc_buf_reserve(buf, off[1] - off[0], err)) != MC_OK)
        return st;
    buf->n = off[1] - off[0];
    return read_dset(r, MC_SEG_KEYS, off[0], buf->n, buf->p, err);
}

/* *AT = the first item whose key is >= KEY (AFTER: > KEY), by a binary
 * search of the file. */
static mc_status search_file(mc_seg_reader *r, const uint8_t *key, size_t key_len, bool after, uint64_t *at,
                             mc_err *err)
{
    mc_status st = MC_OK;
    mc_buf probe = {0};
    uint64_t lo = 0, hi = r->attrs.nitems;   /* answer in [lo, hi] */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((st = read_key(r, mid, &probe, err)) != MC_OK)
            goto cleanup;
        int c = mc_key_cmp(probe.p, probe.n, key, key_len);
        if (c < 0 || (after && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
cleanup:
    mc_buf_free(&probe);
    return st;
}

mc_status mc_seg_reader_seek(mc_seg_reader *r, const uint8_t *key, size_t key_len, mc_err *err)
{
    if (r->loaded) {
        /* In memory: the first loaded item >= KEY (the load began at or
         * after the range's low end, so nothing before the window). */
        uint64_t lo = 0, hi = r->wn;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            mc_item it = window_item(r, mid);
            if (mc_key_cmp(it.key, it.key_len, key, key_len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        r->pos = r->wstart + lo;
        return MC_OK;
    }
    uint64_t at = 0;
    mc_status st = search_file(r, key, key_len, false, &at, err);
    if (st != MC_OK)
        return st;
    r->pos = at;
    r->wstart = r->wn = 0;   /* next() refills at pos */
    r->has_prev = false;
    return MC_OK;
}

uint64_t mc_seg_reader_data_bytes(const mc_seg_reader *r)
{
    return r->lens[MC_SEG_KEYS] + r->lens[MC_SEG_VALUES];
}

/* Closes the file and everything of it the reader held. */
static void release_file(mc_seg_reader *r)
{
    for (int d = 0; d < MC_SEG_NDSETS; d++) {
        mc_h5_col_free(&r->cols[d]);
        mc_h5_dset_close(&r->dsets[d]);
    }
    mc_h5_close(&r->file);
}

/* Closes the raw descriptor and the chunk tables. */
static void release_raw(mc_seg_reader *r)
{
    for (int d = 0; d < MC_SEG_NDSETS; d++)
        mc_raw_col_free(&r->raw[d]);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

mc_status mc_seg_reader_load(mc_seg_reader *r, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                             mc_err *err)
{
    uint64_t first = 0, end = r->attrs.nitems;
    mc_status st;
    if ((lo && (st = search_file(r, lo, lo_len, false, &first, err)) != MC_OK) ||
        (hi && (st = search_file(r, hi, hi_len, true, &end, err)) != MC_OK))
        return st;
    r->pos = first;
    r->end = end > first ? end : first;
    r->wstart = first;
    r->wn = 0;
    r->has_prev = false;
    if (r->end > first && (st = refill(r, true, err)) != MC_OK)
        return st;
    mc_buf_free(&r->old_win);
    release_file(r);
    release_raw(r);
    r->loaded = true;
    return MC_OK;
}

void mc_seg_reader_close(mc_seg_reader **rp)
{
    if (!rp || !*rp)
        return;
    mc_seg_reader *r = *rp;
    *rp = NULL;
    release_file(r);
    release_raw(r);
    mc_buf_free(&r->win);
    mc_buf_free(&r->old_win);
    mc_buf_free(&r->prev_key);
    free(r->koff);
    free(r->voff);
    free(r->seqs);
    free(r->kinds);
    free(r->path);
    free(r);
}

mc_status mc_seg_reader_check_meta(const mc_seg_reader *r, const char *path, const mc_seg_meta *meta, mc_err *err)
{
    const mc_seg_attrs *a = mc_seg_reader_attrs(r);
    if (a->segno == meta->segno && a->nitems == meta->nitems && a->min_seq == meta->min_seq &&
        a->max_seq == meta->max_seq)
        return MC_OK;
    return mc_err_set(err, MC_ECORRUPT, 0,
                      "%s: does not match its manifest entry (file: segno %llu, %llu items, seqs %llu..%llu; "
                      "manifest: segno %llu, %llu items, seqs %llu..%llu)",
                      path, (unsigned long long)a->segno, (unsigned long long)a->nitems,
                      (unsigned long long)a->min_seq, (unsigned long long)a->max_seq,
                      (unsigned long long)meta->segno, (unsigned long long)meta->nitems,
                      (unsigned long long)meta->min_seq, (unsigned long long)meta->max_seq);
}
