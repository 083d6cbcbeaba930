/* manifest_io: the manifest as an HDF5 file, loading through CURRENT and the atomic commit (manifest_io.h). */
#include "manifest_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fault.h"
#include "h5util.h"
#include "manifest_base.h"
#include "manifest_journal.h"
#include "store.h"

#define CHUNK_MAX ((uint64_t)128 * 1024)   /* elements per chunk */
#define BATCH ((size_t)65536)              /* entries per read or write call */
#define CURRENT_MAX 64

/* The per-entry integer datasets, in file order. */
typedef struct column {
    const char *name;
    mc_h5_type type;
    size_t off;   /* of the field in mc_seg_meta (uint8_t for MC_H5_U8, else uint64_t) */
} column;

static const column columns[] = {
    {"segno", MC_H5_U64, offsetof(mc_seg_meta, segno)},
    {"level", MC_H5_U8, offsetof(mc_seg_meta, level)},
    {"nitems", MC_H5_U64, offsetof(mc_seg_meta, nitems)},
    {"ndeletes", MC_H5_U64, offsetof(mc_seg_meta, ndeletes)},
    {"bytes", MC_H5_U64, offsetof(mc_seg_meta, bytes)},
    {"min_seq", MC_H5_U64, offsetof(mc_seg_meta, min_seq)},
    {"max_seq", MC_H5_U64, offsetof(mc_seg_meta, max_seq)},
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* The two key datasets: bytes plus offsets (n+1, first 0, last = length). */
typedef struct keycol {
    const char *name, *offsets_name;
    bool max;   /* max_key rather than min_key */
} keycol;

static const keycol keycols[] = {
    {"min_keys", "min_key_offsets", false},
    {"max_keys", "max_key_offsets", true},
};
#define NKEYCOLS 2

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

static void key_of(const mc_seg_meta *e, bool max, const uint8_t **p, size_t *len)
{
    *p = max ? e->max_key : e->min_key;
    *len = max ? e->max_key_len : e->min_key_len;
}

static uint64_t chunk_for(uint64_t len)
{
    return len == 0 ? 1 : (len < CHUNK_MAX ? len : CHUNK_MAX);
}

static void manifest_name(uint64_t generation, char *out, size_t len)
{
    snprintf(out, len, "manifest/%016llx.h5", ull(generation));
}

void mc_manifest_file_path(const char *store, uint64_t generation, char *out, size_t len)
{
    char name[40];
    manifest_name(generation, name, sizeof name);
    snprintf(out, len, "%s/%s", store, name);
}

/* ---- CURRENT ---- */

/* "manifest/<16 lowercase hex>.h5" exactly. */
static bool parse_manifest_name(const char *name, uint64_t *generation)
{
    if (strlen(name) != 28 || strncmp(name, "manifest/", 9) != 0 || strcmp(name + 25, ".h5") != 0)
        return false;
    return mc_parse_hex16(name + 9, generation);
}

mc_status mc_manifest_current_generation(const char *store, uint64_t *generation, mc_err *err)
{
    char path[MC_PATH_MAX], text[CURRENT_MAX + 1];
    snprintf(path, sizeof path, "%s/CURRENT", store);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return mc_err_set(err, MC_ENOENT, e, "%s: not an mpicompact store (no CURRENT)", store);
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: open: %s", path, strerror(e));
    }
    size_t n = 0;
    ssize_t r = 0;
    while (n < CURRENT_MAX && ((r = read(fd, text + n, CURRENT_MAX - n)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            n += (size_t)r;
    int e = errno;
    close(fd);
    if (r < 0)
        return mc_err_set(err, MC_EIO, e, "%s: read: %s", path, strerror(e));
    text[n] = '\0';
    if (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    if (strlen(text) != n || !parse_manifest_name(text, generation)) {
        for (char *c = text; c < text + n; c++)
            if (*c < 0x20 || *c > 0x7e)
                *c = '?';
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: does not name a manifest file (\"%s\")", path, text);
    }
    return MC_OK;
}

/* ---- load ---- */

/* Opened datasets of a manifest and their lengths. */
typedef struct dsets {
    hid_t col[NCOLUMNS], keys[NKEYCOLS], offs[NKEYCOLS];
    uint64_t n, keys_len[NKEYCOLS];
} dsets;

static void dsets_init(dsets *d)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        d->col[i] = H5I_INVALID_HID;
    for (size_t i = 0; i < NKEYCOLS; i++)
        d->keys[i] = d->offs[i] = H5I_INVALID_HID;
}

static void dsets_close(dsets *d)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        mc_h5_dset_close(&d->col[i]);
    for (size_t i = 0; i < NKEYCOLS; i++) {
        mc_h5_dset_close(&d->keys[i]);
        mc_h5_dset_close(&d->offs[i]);
    }
}

static mc_status dsets_open(hid_t file, const char *path, dsets *d, mc_err *err)
{
    mc_status st;
    uint64_t len;
    for (size_t i = 0; i < NCOLUMNS; i++) {
        if ((st = mc_h5_dset_open(file, path, columns[i].name, columns[i].type, &d->col[i], &len, err)) != MC_OK)
            return st;
        if (i == 0)
            d->n = len;
        else if (len != d->n)
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s has %llu elements, segno has %llu", path,
                              columns[i].name, ull(len), ull(d->n));
    }
    for (size_t k = 0; k < NKEYCOLS; k++) {
        if ((st = mc_h5_dset_open(file, path, keycols[k].name, MC_H5_U8, &d->keys[k], &d->keys_len[k], err)) !=
                MC_OK ||
            (st = mc_h5_dset_open(file, path, keycols[k].offsets_name, MC_H5_U64, &d->offs[k], &len, err)) != MC_OK)
            return st;
        if (len != d->n + 1)
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s has %llu elements, expected %llu", path,
                              keycols[k].offsets_name, ull(len), ull(d->n + 1));
    }
    return MC_OK;
}

/* Buffers for one batch of entries. */
typedef struct batch {
    uint64_t *col[NCOLUMNS];   /* MC_H5_U8 columns use the first bytes */
    uint64_t *offs[NKEYCOLS];  /* BATCH + 1 */
    mc_buf keys[NKEYCOLS];
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        free(b->col[i]);
    for (size_t k = 0; k < NKEYCOLS; k++) {
        free(b->offs[k]);
        mc_buf_free(&b->keys[k]);
    }
}

static mc_status batch_alloc(batch *b, const char *path, mc_err *err)
{
    memset(b, 0, sizeof *b);
    bool ok = true;
    for (size_t i = 0; i < NCOLUMNS; i++)
        ok = ok && (b->col[i] = malloc(BATCH * sizeof(uint64_t))) != NULL;
    for (size_t k = 0; k < NKEYCOLS; k++)
        ok = ok && (b->offs[k] = malloc((BATCH + 1) * sizeof(uint64_t))) != NULL;
    if (!ok) {
        batch_free(b);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory for manifest buffers", path);
    }
    return MC_OK;
}

static void column_get(const column *c, const uint64_t *buf, size_t i, mc_seg_meta *e)
{
    if (c->type == MC_H5_U8)
        *((uint8_t *)e + c->off) = ((const uint8_t *)buf)[i];
    else
        memcpy((uint8_t *)e + c->off, &buf[i], sizeof(uint64_t));
}

static void column_put(const column *c, uint64_t *buf, size_t i, const mc_seg_meta *e)
{
    if (c->type == MC_H5_U8)
        ((uint8_t *)buf)[i] = *((const uint8_t *)e + c->off);
    else
        memcpy(&buf[i], (const uint8_t *)e + c->off, sizeof(uint64_t));
}

/* Reads entries [start, start+cnt) into B and checks the offsets. */
static mc_status batch_read(const dsets *d, const char *path, uint64_t start, size_t cnt, batch *b, mc_err *err)
{
    mc_status st;
    for (size_t i = 0; i < NCOLUMNS; i++)
        if ((st = mc_h5_dset_read(d->col[i], path, columns[i].name, columns[i].type, start, cnt, b->col[i], err)) !=
            MC_OK)
            return st;
    for (size_t k = 0; k < NKEYCOLS; k++) {
        const char *oname = keycols[k].offsets_name;
        uint64_t *o = b->offs[k];
        if ((st = mc_h5_dset_read(d->offs[k], path, oname, MC_H5_U64, start, cnt + 1, o, err)) != MC_OK)
            return st;
        if (start == 0 && o[0] != 0)
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: first offset is %llu, not 0", path, oname,
                              ull(o[0]));
        for (size_t i = 0; i < cnt; i++) {
            uint64_t len = o[i + 1] - o[i];
            if (o[i + 1] < o[i] || len < 1 || len > MC_KEY_MAX || o[i + 1] > d->keys_len[k])
                return mc_err_set(err, MC_ECORRUPT, 0,
                                  "%s: dataset %s: bad offsets %llu..%llu at entry %llu (keys are 1..%zu bytes "
                                  "within %llu)",
                                  path, oname, ull(o[i]), ull(o[i + 1]), ull(start + i), MC_KEY_MAX,
                                  ull(d->keys_len[k]));
        }
        if (start + cnt == d->n && o[cnt] != d->keys_len[k])
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: last offset %llu is not the length of %s (%llu)",
                              path, oname, ull(o[cnt]), keycols[k].name, ull(d->keys_len[k]));
        b->keys[k].n = 0;
        if ((st = mc_buf_reserve(&b->keys[k], (size_t)(o[cnt] - o[0]), err)) != MC_OK)
            return st;
        if ((st = mc_h5_dset_read(d->keys[k], path, keycols[k].name, MC_H5_U8, o[0], o[cnt] - o[0], b->keys[k].p,
                                  err)) != MC_OK)
            return st;
    }
    return MC_OK;
}

mc_status mc_manifest_entry_check(const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    if (e->ndeletes > e->nitems || e->min_seq > e->max_seq)
        return mc_err_set(err, MC_ECORRUPT, 0,
                          "%s: entry %llu (segment %llu): inconsistent counts (nitems %llu, ndeletes %llu) or seqs "
                          "(%llu..%llu)",
                          path, ull(index), ull(e->segno), ull(e->nitems), ull(e->ndeletes), ull(e->min_seq),
                          ull(e->max_seq));
    return MC_OK;
}

/* Checks an entry read from PATH and adds it to M. */
static mc_status load_entry(mc_manifest *m, const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    mc_status st0 = mc_manifest_entry_check(path, index, e, err);
    if (st0 != MC_OK)
        return st0;
    mc_err inner;
    mc_status st = mc_manifest_add(m, e, &inner);
    if (st != MC_OK)
        return mc_err_set(err, st == MC_ENOMEM ? MC_ENOMEM : MC_ECORRUPT, inner.sys_errno, "%s: entry %llu: %s", path,
                          ull(index), inner.msg);
    return MC_OK;
}

static mc_status read_u32_attr(hid_t file, const char *path, const char *name, uint32_t *v, mc_err *err)
{
    uint64_t x;
    mc_status st = mc_h5_attr_read_u64(file, path, name, &x, err);
    if (st != MC_OK)
        return st;
    if (x > UINT32_MAX)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is too large (%llu)", path, name, ull(x));
    *v = (uint32_t)x;
    return MC_OK;
}

typedef mc_manifest_header header;

/* Reads and checks the root attributes of the manifest file of GENERATION. */
static mc_status read_header(hid_t file, const char *path, uint64_t generation, header *h, mc_err *err)
{
    char format[64];
    memset(h, 0, sizeof *h);
    mc_status st = mc_h5_attr_read_str(file, path, "format", format, sizeof format, err);
    if (st != MC_OK)
        return st;
    if (strcmp(format, MC_MANIFEST_FORMAT) != 0)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: not an mpicompact manifest (format \"%s\")", path, format);
    if ((st = mc_h5_attr_read_u64(file, path, "version", &h->version, err)) != MC_OK)
        return st;
    if (h->version > MC_MANIFEST_VERSION)
        return mc_err_set(err, MC_EFORMAT, 0,
                          "%s: manifest format version %llu is newer than this program supports (%u): use a newer "
                          "mpicompact",
                          path, ull(h->version), MC_MANIFEST_VERSION);
    if (h->version < 1)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: manifest format version %llu is not supported", path,
                          ull(h->version));
    if ((st = mc_h5_attr_read_u64(file, path, "generation", &h->generation, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "next_segno", &h->next_segno, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "next_seq", &h->next_seq, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "segment_size", &h->p.segment_size, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "fanout", &h->p.fanout, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "l0_limit", &h->p.l0_limit, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "levels", &h->p.levels, err)) != MC_OK)
        return st;
    /* Version 1 is a full list without these (docs/FORMAT.md 3.5). */
    if (h->version >= 2 && ((st = mc_h5_attr_read_u64(file, path, "parent", &h->parent, err)) != MC_OK ||
                            (st = mc_h5_attr_read_u64(file, path, "content_epoch", &h->epoch, err)) != MC_OK))
        return st;
    if (h->generation != generation)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: generation attribute is %llu, but its name says %llu", path,
                          ull(h->generation), ull(generation));
    if (h->parent >= h->generation)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: parent generation %llu is not older than the file's (%llu)",
                          path, ull(h->parent), ull(h->generation));
    if (h->next_segno < 1 || h->next_seq < 1)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: next_segno %llu / next_seq %llu must be at least 1", path,
                          ull(h->next_segno), ull(h->next_seq));
    mc_err inner;
    if (mc_params_check(&h->p, &inner) != MC_OK)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: bad store parameters: %s", path, inner.msg);
    return MC_OK;
}

/* Opens the manifest file of GENERATION and reads its header; PATH
 * (MC_PATH_MAX) gets its path. A missing file is MC_ENOENT naming it. */
static mc_status open_generation(const char *store, uint64_t generation, char *path, hid_t *file, header *h,
                                 mc_err *err)
{
    char name[40];
    manifest_name(generation, name, sizeof name);
    snprintf(path, MC_PATH_MAX, "%s/%s", store, name);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return mc_err_set(err, MC_ENOENT, ENOENT, "%s: manifest file missing", path);
    mc_status st = mc_h5_open_ro(path, file, err);
    if (st == MC_OK && (st = read_header(*file, path, generation, h, err)) != MC_OK)
        mc_h5_close(file);
    return st;
}

mc_status mc_manifest_chain_read(const char *store, uint64_t head, uint64_t **out, size_t *nout, mc_err *err)
{
    *out = NULL;
    *nout = 0;
    uint64_t *g = NULL;
    size_t n = 0, cap = 0;
    char path[MC_PATH_MAX];
    mc_status st = MC_OK;
    for (uint64_t gen = head; gen != 0;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            uint64_t *ng = realloc(g, cap * sizeof *ng);
            if (!ng) {
                st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory reading the manifest chain", store);
                goto cleanup;
            }
            g = ng;
        }
        g[n++] = gen;
        hid_t file = H5I_INVALID_HID;
        header h;
        if ((st = open_generation(store, gen, path, &file, &h, err)) != MC_OK)
            goto cleanup;
        mc_h5_close(&file);
        gen = h.parent;
    }
    for (size_t i = 0; i < n / 2; i++) {   /* base first */
        uint64_t t = g[i];
        g[i] = g[n - 1 - i];
        g[n - 1 - i] = t;
    }
    *out = g;
    *nout = n;
    g = NULL;
cleanup:
    free(g);
    return st;
}

/* Checks an entry read from PATH and adds it to the manifest CTX. */
static mc_status add_entry(void *ctx, const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    return load_entry(ctx, path, index, e, err);
}

/* Reads the per-entry datasets of an open manifest file and hands every
 * entry to SINK (the entry's keys point into a buffer reused after it). */
static mc_status read_entries(hid_t file, const char *path, mc_manifest_entry_fn sink, void *ctx, mc_err *err)
{
    dsets d;
    batch b;
    dsets_init(&d);
    memset(&b, 0, sizeof b);
    mc_status st;
    if ((st = dsets_open(file, path, &d, err)) != MC_OK || (st = batch_alloc(&b, path, err)) != MC_OK)
        goto cleanup;
    uint64_t start = 0;
    do {   /* at least once: an empty manifest's offsets are checked too */
        size_t cnt = (size_t)(d.n - start < BATCH ? d.n - start : BATCH);
        if ((st = batch_read(&d, path, start, cnt, &b, err)) != MC_OK)
            goto cleanup;
        for (size_t i = 0; i < cnt; i++) {
            mc_seg_meta e = {0};
            for (size_t c = 0; c < NCOLUMNS; c++)
                column_get(&columns[c], b.col[c], i, &e);
            for (size_t k = 0; k < NKEYCOLS; k++) {
                const uint64_t *o = b.offs[k];
                uint8_t *p = b.keys[k].p + (o[i] - o[0]);
                size_t len = (size_t)(o[i + 1] - o[i]);
                if (keycols[k].max) {
                    e.max_key = p;
                    e.max_key_len = len;
                } else {
                    e.min_key = p;
                    e.min_key_len = len;
                }
            }
            if ((st = sink(ctx, path, start + i, &e, err)) != MC_OK)
                goto cleanup;
        }
        start += cnt;
    } while (start < d.n);
cleanup:
    batch_free(&b);
    dsets_close(&d);
    return st;
}

/* Removes from M the segnos of dataset NAME of an edit: `removed` (each
 * must be live) or `segno` (the entries the edit replaces: all of them go
 * before any is added back, so that moves within a level, or out of a
 * range another segment moves into, never meet their old selves). */
static mc_status remove_listed(hid_t file, const char *path, mc_manifest *m, const char *name, bool must_exist,
                               mc_err *err)
{
    hid_t dset = H5I_INVALID_HID;
    uint64_t n = 0, *buf = NULL;
    mc_status st = mc_h5_dset_open(file, path, name, MC_H5_U64, &dset, &n, err);
    if (st != MC_OK)
        goto cleanup;
    if (!(buf = malloc(BATCH * sizeof *buf))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory reading dataset %s", path, name);
        goto cleanup;
    }
    for (uint64_t start = 0; start < n; start += BATCH) {
        size_t cnt = (size_t)(n - start < BATCH ? n - start : BATCH);
        if ((st = mc_h5_dset_read(dset, path, name, MC_H5_U64, start, cnt, buf, err)) != MC_OK)
            goto cleanup;
        for (size_t i = 0; i < cnt; i++)
            if (mc_manifest_remove(m, buf[i], NULL) != MC_OK && must_exist) {
                st = mc_err_set(err, MC_ECORRUPT, 0,
                                "%s: dataset %s: segment %llu is not live in the parent generation", path, name,
                                ull(buf[i]));
                goto cleanup;
            }
    }
cleanup:
    free(buf);
    mc_h5_dset_close(&dset);
    return st;
}

/* Applies the edit file GENERATION (whose parent is M's generation) to M and
 * records what it touched as the newest file of M's chain. */
static mc_status apply_edit(const char *store, uint64_t generation, mc_manifest *m, mc_err *err)
{
    char path[MC_PATH_MAX];
    hid_t file = H5I_INVALID_HID;
    header h;
    mc_journal *j = mc_manifest_journal(m);
    mc_status st = open_generation(store, generation, path, &file, &h, err);
    if (st != MC_OK)
        return st;
    if (h.parent != mc_manifest_generation(m) || !mc_params_equal(&h.p, mc_manifest_params(m)))
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: edit of generation %llu does not follow generation %llu (or "
                        "changes the store parameters)", path, ull(h.parent), ull(mc_manifest_generation(m)));
    if (st == MC_OK && h.next_segno < mc_manifest_next_segno(m))
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: next_segno %llu is below its parent's (%llu)", path,
                        ull(h.next_segno), ull(mc_manifest_next_segno(m)));
    if (st == MC_OK) {
        mc_manifest_set_next_segno(m, h.next_segno);
        st = remove_listed(file, path, m, "removed", true, err);
    }
    if (st == MC_OK)
        st = remove_listed(file, path, m, "segno", false, err);
    if (st == MC_OK)
        st = read_entries(file, path, add_entry, m, err);
    mc_h5_close(&file);
    if (st != MC_OK)
        return st;
    if (j->lost)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory recording the edit", path);
    mc_touch *t = j->pending;
    size_t n = j->npending;
    mc_touch_sort_unique(t, &n);
    j->pending = NULL;
    j->npending = j->pcap = 0;
    mc_manifest_set_generation(m, generation);
    mc_manifest_set_next_seq(m, h.next_seq);
    mc_manifest_set_content_epoch(m, h.epoch);
    return mc_journal_push(j, generation, t, n, err);
}

mc_status mc_manifest_load(const char *store, mc_manifest **out, mc_err *err)
{
    uint64_t generation;
    *out = NULL;
    mc_status st = mc_manifest_current_generation(store, &generation, err);
    return st == MC_OK ? mc_manifest_load_generation(store, generation, out, err) : st;
}

mc_status mc_manifest_load_generation(const char *store, uint64_t generation, mc_manifest **out, mc_err *err)
{
    *out = NULL;
    char path[MC_PATH_MAX];
    hid_t file = H5I_INVALID_HID;
    mc_manifest *m = NULL;
    uint64_t *chain = NULL;
    size_t nchain = 0;
    header h;
    mc_status st = mc_manifest_chain_read(store, generation, &chain, &nchain, err);
    if (st != MC_OK)
        goto cleanup;
    if ((st = open_generation(store, chain[0], path, &file, &h, err)) != MC_OK ||
        (st = mc_manifest_create(&h.p, &m, err)) != MC_OK)
        goto cleanup;
    mc_manifest_set_generation(m, h.generation);
    mc_manifest_set_next_segno(m, h.next_segno);
    mc_manifest_set_next_seq(m, h.next_seq);
    mc_manifest_set_content_epoch(m, h.epoch);
    if ((st = read_entries(file, path, add_entry, m, err)) != MC_OK)
        goto cleanup;
    mc_h5_close(&file);
    mc_journal_reset(mc_manifest_journal(m), chain[0]);
    for (size_t i = 1; i < nchain; i++)
        if ((st = apply_edit(store, chain[i], m, err)) != MC_OK)
            goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    free(chain);
    mc_h5_close(&file);
    mc_manifest_destroy(&m);
    return st;
}

/* ---- commit ---- */

/* What one commit writes: the full list (a base) or an edit of PARENT. */
typedef struct plan {
    uint64_t generation, parent, epoch;
    const mc_touch *touched;   /* an edit: the segnos it covers, sorted */
    size_t ntouched;
} plan;

/* Walks the entries a file lists: for a base every entry in manifest order,
 * for an edit the touched segments that are live, by segno. */
/* Walks the entries a file lists: LIST in its order, or else every entry
 * of M in manifest order (a base). */
typedef struct cursor {
    const mc_manifest *m;
    const mc_seg_meta *const *list;
    size_t nlist;
    unsigned level;
    size_t i;
} cursor;

static const mc_seg_meta *cursor_next(cursor *c)
{
    if (c->list || !c->m)
        return c->i < c->nlist ? c->list[c->i++] : NULL;
    unsigned levels = mc_manifest_params(c->m)->levels;
    while (c->level < levels) {
        const mc_seg_meta *e = mc_manifest_level_at(c->m, c->level, c->i);
        if (e) {
            c->i++;
            return e;
        }
        c->level++;
        c->i = 0;
    }
    return NULL;
}

static mc_status write_header(hid_t file, const char *path, const header *h, mc_err *err)
{
    const mc_params *p = &h->p;
    mc_status st;
    if ((st = mc_h5_attr_write_str(file, path, "format", MC_MANIFEST_FORMAT, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "version", MC_MANIFEST_VERSION, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "generation", h->generation, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "parent", h->parent, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "content_epoch", h->epoch, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "next_segno", h->next_segno, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "next_seq", h->next_seq, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "segment_size", p->segment_size, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "fanout", p->fanout, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "l0_limit", p->l0_limit, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "levels", p->levels, err)) != MC_OK)
        return st;
    return MC_OK;
}

static mc_status create_dsets(hid_t file, const char *path, const cursor *from, dsets *d, mc_err *err)
{
    uint64_t n = 0, keys_len[NKEYCOLS] = {0};
    cursor c = *from;
    for (const mc_seg_meta *e; (e = cursor_next(&c)) != NULL; n++)
        for (size_t k = 0; k < NKEYCOLS; k++) {
            const uint8_t *p;
            size_t len;
            key_of(e, keycols[k].max, &p, &len);
            keys_len[k] += len;
        }
    mc_status st;
    for (size_t i = 0; i < NCOLUMNS; i++)
        if ((st = mc_h5_dset_create(file, path, columns[i].name, columns[i].type, chunk_for(n), &d->col[i], err)) !=
            MC_OK)
            return st;
    for (size_t k = 0; k < NKEYCOLS; k++)
        if ((st = mc_h5_dset_create(file, path, keycols[k].name, MC_H5_U8, chunk_for(keys_len[k]), &d->keys[k],
                                    err)) != MC_OK ||
            (st = mc_h5_dset_create(file, path, keycols[k].offsets_name, MC_H5_U64, chunk_for(n + 1), &d->offs[k],
                                    err)) != MC_OK)
            return st;
    return MC_OK;
}

static mc_status batch_write(const dsets *d, const char *path, size_t cnt, size_t noffs, const batch *b, mc_err *err)
{
    mc_status st;
    for (size_t i = 0; i < NCOLUMNS; i++)
        if ((st = mc_h5_dset_append(d->col[i], path, columns[i].name, columns[i].type, b->col[i], cnt, err)) != MC_OK)
            return st;
    for (size_t k = 0; k < NKEYCOLS; k++)
        if ((st = mc_h5_dset_append(d->keys[k], path, keycols[k].name, MC_H5_U8, b->keys[k].p, b->keys[k].n, err)) !=
                MC_OK ||
            (st = mc_h5_dset_append(d->offs[k], path, keycols[k].offsets_name, MC_H5_U64, b->offs[k], noffs, err)) !=
                MC_OK)
            return st;
    return MC_OK;
}

/* Writes the entries cursor FROM walks, starting the writeback of each
 * batch (a base of a million entries is about 100 MB: written back at the
 * final fsync in one burst, it would queue a concurrent commit's small
 * fsync behind it, as RocksDB's bytes_per_sync avoids). */
static mc_status write_entries(hid_t file, const char *path, const cursor *from, const dsets *d, mc_err *err)
{
    batch b;
    mc_status st = batch_alloc(&b, path, err);
    if (st != MC_OK)
        return st;
    cursor c = *from;
    uint64_t key_end[NKEYCOLS] = {0};
    bool first = true, done = false;
    while (!done) {
        size_t cnt = 0, noffs = 0;
        for (size_t k = 0; k < NKEYCOLS; k++)
            b.keys[k].n = 0;
        if (first)   /* the leading 0 of each offsets dataset */
            for (size_t k = 0; k < NKEYCOLS; k++)
                b.offs[k][0] = 0;
        noffs = first ? 1 : 0;
        const mc_seg_meta *e = NULL;
        while (cnt < BATCH && (e = cursor_next(&c)) != NULL) {
            for (size_t i = 0; i < NCOLUMNS; i++)
                column_put(&columns[i], b.col[i], cnt, e);
            for (size_t k = 0; k < NKEYCOLS; k++) {
                const uint8_t *p;
                size_t len;
                key_of(e, keycols[k].max, &p, &len);
                if ((st = mc_buf_append(&b.keys[k], p, len, err)) != MC_OK)
                    goto cleanup;
                key_end[k] += len;
                b.offs[k][noffs] = key_end[k];
            }
            noffs++;
            cnt++;
        }
        done = e == NULL;
        if ((st = batch_write(d, path, cnt, noffs, &b, err)) != MC_OK)
            goto cleanup;
        if (!done)
            mc_h5_start_writeback(file);
        first = false;
    }
cleanup:
    batch_free(&b);
    return st;
}

/* The `removed` dataset (empty in a base). */
static mc_status write_removed(hid_t file, const char *path, const uint64_t *v, size_t n, mc_err *err)
{
    hid_t dset = H5I_INVALID_HID;
    mc_status st = mc_h5_dset_create(file, path, "removed", MC_H5_U64, chunk_for(n), &dset, err);
    if (st == MC_OK)
        st = mc_h5_dset_append(dset, path, "removed", MC_H5_U64, v, n, err);
    mc_h5_dset_close(&dset);
    return st;
}

/* Writes the file with header H listing what cursor FROM walks and the
 * segnos REMOVED[0..NREMOVED) to PATH (complete, fsynced, closed). */
static mc_status write_file(const char *path, const header *h, const cursor *from, const uint64_t *removed,
                            size_t nremoved, mc_err *err)
{
    hid_t file = H5I_INVALID_HID;
    dsets d;
    dsets_init(&d);
    mc_status st = mc_h5_create(path, &file, err);
    if (st != MC_OK)
        goto cleanup;
    if ((st = write_header(file, path, h, err)) != MC_OK ||
        (st = mc_fault_check("manifest_write", MC_FAULT_ANY_SEGNO, path, err)) != MC_OK ||
        (st = create_dsets(file, path, from, &d, err)) != MC_OK || (st = write_entries(file, path, from, &d, err)) != MC_OK ||
        (st = write_removed(file, path, removed, nremoved, err)) != MC_OK)
        goto cleanup;
    dsets_close(&d);
    st = mc_h5_close_sync_at(file, path, "manifest_fsync", MC_FAULT_ANY_SEGNO, err);
    file = H5I_INVALID_HID;   /* closed either way */
cleanup:
    dsets_close(&d);
    mc_h5_close(&file);
    return st;
}

/* Writes M as the file PL describes to PATH (complete, fsynced, closed).
 * An edit looks each touched segno up once: the live ones are its
 * entries, the others that were live in its parent its `removed`. */
static mc_status write_manifest(const char *path, const mc_manifest *m, const plan *pl, mc_err *err)
{
    header h = {.generation = pl->generation, .parent = pl->parent, .epoch = pl->epoch,
                .next_segno = mc_manifest_next_segno(m), .next_seq = mc_manifest_next_seq(m),
                .p = *mc_manifest_params(m)};
    cursor c = {.m = m};
    if (pl->parent == 0)
        return write_file(path, &h, &c, NULL, 0, err);
    size_t n = pl->ntouched, nlive = 0, nremoved = 0;
    const mc_seg_meta **live = malloc((n ? n : 1) * sizeof *live);
    uint64_t *removed = malloc((n ? n : 1) * sizeof *removed);
    mc_status st;
    if (!live || !removed) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory for an edit of %zu segments", path, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            const mc_seg_meta *e = mc_manifest_find(m, pl->touched[i].segno);
            if (e)
                live[nlive++] = e;
            else if (pl->touched[i].was_live)   /* added and removed within the span: not named */
                removed[nremoved++] = pl->touched[i].segno;
        }
        c.list = live;
        c.nlist = nlive;
        st = write_file(path, &h, &c, removed, nremoved, err);
    }
    free(live);
    free(removed);
    return st;
}

mc_status mc_manifest_write_base(const char *path, const mc_manifest *m, mc_err *err)
{
    plan pl = {.generation = mc_manifest_generation(m), .epoch = mc_manifest_content_epoch(m)};
    return write_manifest(path, m, &pl, err);
}

mc_status mc_manifest_write_base_list(const char *path, const mc_manifest_header *h, const mc_seg_meta *const *list,
                                      size_t n, mc_err *err)
{
    header base = *h;
    base.parent = 0;
    cursor c = {.list = list, .nlist = n};
    return write_file(path, &base, &c, NULL, 0, err);
}

mc_status mc_manifest_file_read(const char *store, uint64_t generation, mc_manifest_header *h, uint64_t **removed,
                                size_t *nremoved, mc_manifest_entry_fn sink, void *ctx, mc_err *err)
{
    char path[MC_PATH_MAX];
    hid_t file = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    uint64_t n = 0;
    *removed = NULL;
    *nremoved = 0;
    mc_status st = open_generation(store, generation, path, &file, h, err);
    if (st != MC_OK)
        return st;
    if (h->version >= 2 && h->parent != 0 &&
        (st = mc_h5_dset_open(file, path, "removed", MC_H5_U64, &dset, &n, err)) == MC_OK) {
        if (n > SIZE_MAX / sizeof **removed || !(*removed = malloc((n ? n : 1) * sizeof **removed)))
            st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory reading dataset removed", path);
        else if (n == 0 || (st = mc_h5_dset_read(dset, path, "removed", MC_H5_U64, 0, n, *removed, err)) == MC_OK)
            *nremoved = (size_t)n;
        mc_h5_dset_close(&dset);
    }
    if (st == MC_OK && sink)
        st = read_entries(file, path, sink, ctx, err);
    mc_h5_close(&file);
    if (st != MC_OK) {
        free(*removed);
        *removed = NULL;
        *nremoved = 0;
    }
    return st;
}

static mc_status rename_file(const char *from, const char *to, mc_err *err)
{
    if (rename(from, to) != 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: rename to %s: %s", from, to, strerror(errno));
    return MC_OK;
}

/* The chain's newest file, or 0 when M has no usable journal. */
static uint64_t chain_head(const mc_journal *j)
{
    if (!j->tracking || j->lost || j->base_generation == 0)
        return 0;
    return j->nfiles ? j->files[j->nfiles - 1].generation : j->base_generation;
}

/* Decides between an edit and a base. For an edit, *TOUCHED (owned by the
 * caller) gets the segnos it covers: this commit's changes plus those of
 * the newest edit files no more than twice their size, which the new file
 * replaces (*NPOP of them), so that the sizes along the chain at least
 * double towards the base and the chain stays O(log n) files long. When
 * the edit would cover more than half the store, or the chain would grow
 * past MC_MANIFEST_CHAIN_MAX, a base is written instead (*TOUCHED NULL).
 * With background bases (manifest_base.h) folding stops at
 * MC_MANIFEST_BASE_MERGE_MAX entries and at the edit a child is making a
 * base of; a full chain then waits for that child rather than writing a
 * base here. */
static mc_status plan_commit(const char *store, mc_manifest *m, plan *pl, mc_touch **touched, size_t *npop,
                             mc_err *err)
{
    mc_journal *j = mc_manifest_journal(m);
    *touched = NULL;
    *npop = 0;
    pl->parent = 0;
    pl->touched = NULL;
    pl->ntouched = 0;
    if (chain_head(j) != mc_manifest_generation(m) || chain_head(j) == 0)
        return MC_OK;
    size_t merge_max = mc_manifest_base_merge_max(m);
    uint64_t keep = mc_manifest_base_pending(m);   /* never folded away while its base is written */
    size_t n = j->npending;
    mc_touch *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory planning a commit");
    if (n)
        memcpy(t, j->pending, n * sizeof *t);
    mc_touch_sort_unique(t, &n);
    size_t pop = 0;
    while (pop < j->nfiles) {
        const mc_edit_file *f = &j->files[j->nfiles - 1 - pop];
        if (f->n > 2 * n || (merge_max != SIZE_MAX && n + f->n > merge_max) || f->generation <= keep)
            break;
        mc_touch *u = NULL;
        mc_status st = mc_touch_union(f->t, f->n, t, n, &u, &n, err);
        free(t);
        if (st != MC_OK)
            return st;
        t = u;
        pop++;
    }
    if (n > MC_MANIFEST_EDIT_MIN && n > mc_manifest_count(m) / 2) {
        free(t);
        return MC_OK;
    }
    if (j->nfiles - pop + 1 > MC_MANIFEST_CHAIN_MAX) {
        free(t);
        if (keep && mc_manifest_base_collect(store, m, true))
            return plan_commit(store, m, pl, touched, npop, err);   /* the chain is short again */
        return MC_OK;
    }
    /* Keep only what the file names: live segments and removals. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (mc_manifest_find(m, t[i].segno) || t[i].was_live)
            t[w++] = t[i];
    *touched = t;
    *npop = pop;
    pl->parent = j->nfiles - pop ? j->files[j->nfiles - pop - 1].generation : j->base_generation;
    pl->touched = t;
    pl->ntouched = w;
    return MC_OK;
}

/* After the switch: the journal describes the new chain; *OBSOLETE (owned
 * by the caller, may be NULL) gets the manifest files the new chain no
 * longer needs: the edits the new one folded, or after a new base every
 * file of the previous chain (read from disk, so that a manifest without
 * a journal, e.g. a clone, leaves none behind). Never fails in a way that
 * matters: on out of memory the journal is marked lost (the next commit
 * writes a base) and obsolete files stay as orphans for the next sweep. */
static void advance_chain(const char *store, mc_manifest *m, uint64_t old, const plan *pl, mc_touch *touched,
                          size_t npop, uint64_t **obsolete, size_t *nobsolete)
{
    mc_journal *j = mc_manifest_journal(m);
    *obsolete = NULL;
    *nobsolete = 0;
    if (!pl->parent) {
        free(touched);
        if (old > 0 && mc_manifest_chain_read(store, old, obsolete, nobsolete, NULL) != MC_OK)
            *nobsolete = 0;
        mc_journal_reset(j, pl->generation);
        return;
    }
    if (npop && (*obsolete = malloc(npop * sizeof **obsolete)) != NULL) {
        *nobsolete = npop;
        for (size_t i = 0; i < npop; i++)
            (*obsolete)[i] = j->files[j->nfiles - 1 - i].generation;
    }
    for (size_t i = 0; i < npop; i++)
        mc_journal_pop(j);
    j->npending = 0;
    if (mc_journal_push(j, pl->generation, touched, pl->ntouched, NULL) != MC_OK)
        j->lost = true;
}

static void remove_generations(const char *store, const uint64_t *gens, size_t n)
{
    char name[40], path[MC_PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        manifest_name(gens[i], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", store, name);
        unlink(path);
    }
}

mc_status mc_manifest_commit(const char *store, mc_manifest *m, mc_err *err)
{
    uint64_t old = mc_manifest_generation(m), gen = old + 1, *obsolete = NULL;
    char name[40], path[MC_PATH_MAX], tmp[MC_PATH_MAX + 8], mdir[MC_PATH_MAX], cur[MC_PATH_MAX],
        cur_tmp[MC_PATH_MAX + 8], text[CURRENT_MAX];
    enum { NOTHING, TMP_WRITTEN, RENAMED, SWITCHED } done = NOTHING;
    mc_touch *touched = NULL;
    size_t npop = 0, nobsolete = 0;
    mc_status st = MC_OK;
    if (strlen(store) > MC_PATH_MAX - 64)
        return mc_err_set(err, MC_EINVAL, 0, "%s: path too long", store);
    if (mc_manifest_poisoned(m))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: not committing: the manifest in memory was left inconsistent "
                          "by an undo that ran out of memory; generation %llu on disk is unchanged", store,
                          (unsigned long long)old);
    uint64_t epoch = mc_manifest_content_epoch(m);
    plan pl = {.generation = gen,
               .epoch = epoch == 0 || mc_manifest_content_changed(m) ? epoch + 1 : epoch};
    mc_manifest_base_collect(store, m, false);   /* a finished background base joins the chain */
    if ((st = plan_commit(store, m, &pl, &touched, &npop, err)) != MC_OK)
        return st;
    if (!pl.parent)
        mc_manifest_base_cancel(m);   /* this base replaces the whole chain */
    manifest_name(gen, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", store, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(mdir, sizeof mdir, "%s/manifest", store);
    snprintf(cur, sizeof cur, "%s/CURRENT", store);
    snprintf(cur_tmp, sizeof cur_tmp, "%s.tmp", cur);
    snprintf(text, sizeof text, "%s\n", name);

    done = TMP_WRITTEN;   /* from here a partial temporary may exist */
    if ((st = write_manifest(tmp, m, &pl, err)) != MC_OK || (st = rename_file(tmp, path, err)) != MC_OK)
        goto cleanup;
    done = RENAMED;
    if ((st = mc_fsync_dir(mdir, err)) != MC_OK || (st = mc_write_file_sync(cur_tmp, text, false, err)) != MC_OK ||
        (st = mc_fault_check("current_switch", MC_FAULT_ANY_SEGNO, cur, err)) != MC_OK ||
        (st = rename_file(cur_tmp, cur, err)) != MC_OK)
        goto cleanup;
    /* CURRENT names the new generation: the commit is done, whatever follows. */
    done = SWITCHED;
    mc_manifest_set_generation(m, gen);
    mc_manifest_set_content_epoch(m, pl.epoch);
    mc_manifest_clear_content_change(m);
    advance_chain(store, m, old, &pl, touched, npop, &obsolete, &nobsolete);
    touched = NULL;
    if ((st = mc_fsync_dir(store, err)) != MC_OK) {
        /* The switch may not survive a power loss, so the files of the
         * previous chain stay too (the next writer's sweep removes them). */
        if (err) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            mc_err_set(err, st, err->sys_errno, "%s: generation %llu is committed (CURRENT names it) but may not "
                       "be durable: %s", store, ull(gen), why);
        }
        goto cleanup;
    }
    /* The commit is complete: a failure to delete only leaves an orphan. */
    remove_generations(store, obsolete, nobsolete);
    mc_manifest_base_after_switch(store, m);
cleanup:
    if (st != MC_OK) {
        unlink(tmp);
        unlink(cur_tmp);
        if (done == RENAMED)   /* CURRENT never named it; SWITCHED: it does, keep it */
            unlink(path);
    }
    free(touched);
    free(obsolete);
    return st;
}
