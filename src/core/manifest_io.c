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

/* Checks an entry read from PATH and adds it to M. */
static mc_status load_entry(mc_manifest *m, const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    if (e->ndeletes > e->nitems || e->min_seq > e->max_seq)
        return mc_err_set(err, MC_ECORRUPT, 0,
                          "%s: entry %llu (segment %llu): inconsistent counts (nitems %llu, ndeletes %llu) or seqs "
                          "(%llu..%llu)",
                          path, ull(index), ull(e->segno), ull(e->nitems), ull(e->ndeletes), ull(e->min_seq),
                          ull(e->max_seq));
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

/* Root attributes: format, version, parameters, counters; creates *OUT. */
static mc_status load_header(hid_t file, const char *path, uint64_t generation, mc_manifest **out, mc_err *err)
{
    char format[64];
    uint64_t version, gen, next_segno, next_seq;
    mc_params p;
    mc_status st = mc_h5_attr_read_str(file, path, "format", format, sizeof format, err);
    if (st != MC_OK)
        return st;
    if (strcmp(format, MC_MANIFEST_FORMAT) != 0)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: not an mpicompact manifest (format \"%s\")", path, format);
    if ((st = mc_h5_attr_read_u64(file, path, "version", &version, err)) != MC_OK)
        return st;
    if (version > MC_MANIFEST_VERSION)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: manifest format version %llu is newer than this program supports (%u)",
                          path, ull(version), MC_MANIFEST_VERSION);
    if (version < 1)
        return mc_err_set(err, MC_EFORMAT, 0, "%s: manifest format version %llu is not supported", path, ull(version));
    if ((st = mc_h5_attr_read_u64(file, path, "generation", &gen, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "next_segno", &next_segno, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "next_seq", &next_seq, err)) != MC_OK ||
        (st = mc_h5_attr_read_u64(file, path, "segment_size", &p.segment_size, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "fanout", &p.fanout, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "l0_limit", &p.l0_limit, err)) != MC_OK ||
        (st = read_u32_attr(file, path, "levels", &p.levels, err)) != MC_OK)
        return st;
    if (gen != generation)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: generation attribute is %llu, but CURRENT names generation %llu",
                          path, ull(gen), ull(generation));
    if (next_segno < 1 || next_seq < 1)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: next_segno %llu / next_seq %llu must be at least 1", path,
                          ull(next_segno), ull(next_seq));
    mc_err inner;
    if (mc_params_check(&p, &inner) != MC_OK)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: bad store parameters: %s", path, inner.msg);
    if ((st = mc_manifest_create(&p, out, err)) != MC_OK)
        return st;
    mc_manifest_set_generation(*out, gen);
    mc_manifest_set_next_segno(*out, next_segno);
    mc_manifest_set_next_seq(*out, next_seq);
    return MC_OK;
}

mc_status mc_manifest_load(const char *store, mc_manifest **out, mc_err *err)
{
    *out = NULL;
    char path[MC_PATH_MAX], name[40];
    hid_t file = H5I_INVALID_HID;
    mc_manifest *m = NULL;
    dsets d;
    batch b;
    dsets_init(&d);
    memset(&b, 0, sizeof b);
    uint64_t generation;
    mc_status st = mc_manifest_current_generation(store, &generation, err);
    if (st != MC_OK)
        goto cleanup;
    manifest_name(generation, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", store, name);
    if ((st = mc_h5_open_ro(path, &file, err)) != MC_OK || (st = load_header(file, path, generation, &m, err)) != MC_OK ||
        (st = dsets_open(file, path, &d, err)) != MC_OK || (st = batch_alloc(&b, path, err)) != MC_OK)
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
            if ((st = load_entry(m, path, start + i, &e, err)) != MC_OK)
                goto cleanup;
        }
        start += cnt;
    } while (start < d.n);
    *out = m;
    m = NULL;
cleanup:
    batch_free(&b);
    dsets_close(&d);
    mc_h5_close(&file);
    mc_manifest_destroy(&m);
    return st;
}

/* ---- commit ---- */

/* Walks the entries in manifest order. */
typedef struct cursor {
    const mc_manifest *m;
    unsigned level;
    size_t i;
} cursor;

static const mc_seg_meta *cursor_next(cursor *c)
{
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

static mc_status write_header(hid_t file, const char *path, const mc_manifest *m, uint64_t generation, mc_err *err)
{
    const mc_params *p = mc_manifest_params(m);
    mc_status st;
    if ((st = mc_h5_attr_write_str(file, path, "format", MC_MANIFEST_FORMAT, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "version", MC_MANIFEST_VERSION, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "generation", generation, err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "next_segno", mc_manifest_next_segno(m), err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "next_seq", mc_manifest_next_seq(m), err)) != MC_OK ||
        (st = mc_h5_attr_write_u64(file, path, "segment_size", p->segment_size, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "fanout", p->fanout, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "l0_limit", p->l0_limit, err)) != MC_OK ||
        (st = mc_h5_attr_write_u32(file, path, "levels", p->levels, err)) != MC_OK)
        return st;
    return MC_OK;
}

static mc_status create_dsets(hid_t file, const char *path, const mc_manifest *m, dsets *d, mc_err *err)
{
    uint64_t n = mc_manifest_count(m), keys_len[NKEYCOLS] = {0};
    cursor c = {m, 0, 0};
    for (const mc_seg_meta *e; (e = cursor_next(&c)) != NULL;)
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

/* Writes the entries of M in manifest order. */
static mc_status write_entries(const char *path, const mc_manifest *m, const dsets *d, mc_err *err)
{
    batch b;
    mc_status st = batch_alloc(&b, path, err);
    if (st != MC_OK)
        return st;
    cursor c = {m, 0, 0};
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
        first = false;
    }
cleanup:
    batch_free(&b);
    return st;
}

/* Writes M as generation GENERATION to PATH (complete, fsynced, closed). */
static mc_status write_manifest(const char *path, const mc_manifest *m, uint64_t generation, mc_err *err)
{
    hid_t file = H5I_INVALID_HID;
    dsets d;
    dsets_init(&d);
    mc_status st = mc_h5_create(path, &file, err);
    if (st != MC_OK)
        goto cleanup;
    if ((st = write_header(file, path, m, generation, err)) != MC_OK ||
        (st = mc_fault_check("manifest_write", MC_FAULT_ANY_SEGNO, path, err)) != MC_OK ||
        (st = create_dsets(file, path, m, &d, err)) != MC_OK || (st = write_entries(path, m, &d, err)) != MC_OK)
        goto cleanup;
    dsets_close(&d);
    st = mc_h5_close_sync_at(file, path, "manifest_fsync", MC_FAULT_ANY_SEGNO, err);
    file = H5I_INVALID_HID;   /* closed either way */
cleanup:
    dsets_close(&d);
    mc_h5_close(&file);
    return st;
}

static mc_status rename_file(const char *from, const char *to, mc_err *err)
{
    if (rename(from, to) != 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: rename to %s: %s", from, to, strerror(errno));
    return MC_OK;
}

mc_status mc_manifest_commit(const char *store, mc_manifest *m, mc_err *err)
{
    uint64_t old = mc_manifest_generation(m), gen = old + 1;
    char name[40], path[MC_PATH_MAX], tmp[MC_PATH_MAX + 8], mdir[MC_PATH_MAX], cur[MC_PATH_MAX],
        cur_tmp[MC_PATH_MAX + 8], text[CURRENT_MAX];
    enum { NOTHING, TMP_WRITTEN, RENAMED, SWITCHED } done = NOTHING;
    mc_status st = MC_OK;
    if (strlen(store) > MC_PATH_MAX - 64)
        return mc_err_set(err, MC_EINVAL, 0, "%s: path too long", store);
    manifest_name(gen, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", store, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(mdir, sizeof mdir, "%s/manifest", store);
    snprintf(cur, sizeof cur, "%s/CURRENT", store);
    snprintf(cur_tmp, sizeof cur_tmp, "%s.tmp", cur);
    snprintf(text, sizeof text, "%s\n", name);

    done = TMP_WRITTEN;   /* from here a partial temporary may exist */
    if ((st = write_manifest(tmp, m, gen, err)) != MC_OK || (st = rename_file(tmp, path, err)) != MC_OK)
        goto cleanup;
    done = RENAMED;
    if ((st = mc_fsync_dir(mdir, err)) != MC_OK || (st = mc_write_file_sync(cur_tmp, text, false, err)) != MC_OK ||
        (st = mc_fault_check("current_switch", MC_FAULT_ANY_SEGNO, cur, err)) != MC_OK ||
        (st = rename_file(cur_tmp, cur, err)) != MC_OK)
        goto cleanup;
    /* CURRENT names the new generation: the commit is done, whatever follows. */
    done = SWITCHED;
    mc_manifest_set_generation(m, gen);
    if ((st = mc_fsync_dir(store, err)) != MC_OK) {
        /* The switch may not survive a power loss, so the previous
         * generation's manifest stays too (the next writer removes it). */
        if (err) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            mc_err_set(err, st, err->sys_errno, "%s: generation %llu is committed (CURRENT names it) but may not "
                       "be durable: %s", store, ull(gen), why);
        }
        goto cleanup;
    }
    if (old > 0) {
        /* The commit is complete: a failure to delete only leaves an orphan. */
        manifest_name(old, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", store, name);
        unlink(path);
    }
cleanup:
    if (st != MC_OK) {
        unlink(tmp);
        unlink(cur_tmp);
        if (done == RENAMED)   /* CURRENT never named it; SWITCHED: it does, keep it */
            unlink(path);
    }
    return st;
}
