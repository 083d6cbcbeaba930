/* store_view: the read half of the store API (mc_store_*, include/mpicompact.h).
 *
 * mc_store_open() loads the committed manifest and pins every segment it
 * lists (segment_pin.h: the HDF5 file held open); a commit that unlinks
 * the files does not take them away. Each get and each iterator opens its
 * own readers on the pins (segset.h) over the segments that may hold its
 * keys, so iterators and gets never share a position. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "manifest_io.h"
#include "segment_pin.h"
#include "segset.h"
#include "store.h"
#include "view.h"

typedef struct pinned {
    uint64_t segno;
    mc_seg_pin *pin;
} pinned;

struct mc_store {
    char *path;
    mc_manifest *m;
    pinned *pins;          /* sorted by segno */
    size_t npins;
    uint8_t *buf;          /* mc_store_get()'s result: its key and value bytes */
    size_t buf_cap;
};

struct mc_store_iter {
    mc_store *s;
    mc_segset *set;
    uint8_t *lo, *hi;
    size_t lo_len, hi_len;
};

static void unpin_all(mc_store *s)
{
    for (size_t i = 0; i < s->npins; i++)
        mc_seg_pin_close(&s->pins[i].pin);
    free(s->pins);
    s->pins = NULL;
    s->npins = 0;
}

/* Pins every segment of s->m. */
static mc_status pin_all(mc_store *s, mc_err *err)
{
    size_t n = mc_manifest_count(s->m);
    s->pins = calloc(n + 1, sizeof *s->pins);
    if (!s->pins)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", s->path);
    for (unsigned l = 0; l < mc_manifest_params(s->m)->levels; l++) {
        for (size_t i = 0; i < mc_manifest_level_count(s->m, l); i++) {
            const mc_seg_meta *meta = mc_manifest_level_at(s->m, l, i);
            char path[MC_PATH_MAX];
            mc_store_seg_path(s->path, meta->segno, path);
            pinned *p = &s->pins[s->npins];
            p->segno = meta->segno;
            mc_status st = mc_seg_pin_open(path, &p->pin, err);
            if (st != MC_OK)
                return st;
            s->npins++;
        }
    }
    return MC_OK;
}

static int cmp_pin(const void *a, const void *b)
{
    uint64_t x = ((const pinned *)a)->segno, y = ((const pinned *)b)->segno;
    return x < y ? -1 : x > y;
}

/* segset's open function: a reader on META's pin. */
static mc_status open_pinned(void *ctx, const mc_seg_meta *meta, const char *path, mc_seg_reader **out, mc_err *err)
{
    mc_store *s = ctx;
    pinned key = {.segno = meta->segno};
    const pinned *p = bsearch(&key, s->pins, s->npins, sizeof *s->pins, cmp_pin);
    if (!p)   /* cannot happen: every segment of s->m is pinned */
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: segment %llu is not held open", path,
                          (unsigned long long)meta->segno);
    return mc_seg_pin_reader(p->pin, out, err);
}

mc_status mc_store_open(const char *path, mc_store **out, mc_err *err)
{
    mc_err_clear(err);
    *out = NULL;
    if (!path)
        return mc_err_set(err, MC_EINVAL, 0, "mc_store_open: no path");
    mc_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
    }
    mc_status st = MC_OK;
    /* A commit between loading the manifest and opening its files may have
     * removed some: start over on the new generation (view.h). */
    for (int attempt = 0; attempt < MC_VIEW_ATTEMPTS; attempt++) {
        st = mc_view_load_manifest(path, &s->m, err);
        if (st == MC_OK)
            st = pin_all(s, err);
        if (st == MC_OK || !s->m || !mc_view_generation_moved(path, mc_manifest_generation(s->m)))
            break;
        unpin_all(s);
        mc_manifest_destroy(&s->m);
        mc_err_clear(err);
    }
    if (st != MC_OK) {
        mc_store_close(&s);
        return st;
    }
    qsort(s->pins, s->npins, sizeof *s->pins, cmp_pin);
    *out = s;
    return MC_OK;
}

void mc_store_close(mc_store **sp)
{
    mc_store *s = sp ? *sp : NULL;
    if (!s)
        return;
    unpin_all(s);
    mc_manifest_destroy(&s->m);
    free(s->buf);
    free(s->path);
    free(s);
    *sp = NULL;
}

/* Copies IT's key and value into s->buf: a get's result outlives its readers. */
static mc_status keep_item(mc_store *s, const mc_item *it, mc_item *item, mc_err *err)
{
    size_t need = it->key_len + it->value_len + 1;
    if (need > s->buf_cap) {
        uint8_t *b = realloc(s->buf, need);
        if (!b)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", s->path);
        s->buf = b;
        s->buf_cap = need;
    }
    memcpy(s->buf, it->key, it->key_len);
    if (it->value_len)
        memcpy(s->buf + it->key_len, it->value, it->value_len);
    *item = *it;
    item->key = s->buf;
    item->value = s->buf + it->key_len;
    return MC_OK;
}

static mc_status check_key(const mc_store *s, const char *what, const uint8_t *key, size_t len, mc_err *err)
{
    if (!key || len < 1 || len > MC_KEY_MAX)
        return mc_err_set(err, MC_EINVAL, 0, "%s: %s: a key is 1 to %zu bytes", s->path, what, MC_KEY_MAX);
    return MC_OK;
}

mc_status mc_store_get(mc_store *s, const uint8_t *key, size_t key_len, mc_item *item, bool *found, mc_err *err)
{
    mc_err_clear(err);
    *found = false;
    if (!s)
        return mc_err_set(err, MC_EINVAL, 0, "mc_store_get: no store");
    mc_status st = check_key(s, "get", key, key_len, err);
    if (st != MC_OK)
        return st;
    mc_segset *set = NULL;
    st = mc_segset_open(s->path, s->m, key, key_len, key, key_len, 1, open_pinned, s, &set, err);
    mc_item it;
    bool eof = true;
    if (st == MC_OK)
        st = mc_segset_next(set, &it, &eof, err);
    if (st == MC_OK && !eof && it.kind == MC_KIND_PUT) {
        st = keep_item(s, &it, item, err);
        *found = st == MC_OK;
    }
    mc_segset_close(&set);
    return st;
}

mc_status mc_store_iter_open(mc_store *s, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                             mc_store_iter **out, mc_err *err)
{
    mc_err_clear(err);
    *out = NULL;
    if (!s)
        return mc_err_set(err, MC_EINVAL, 0, "mc_store_iter_open: no store");
    mc_status st = MC_OK;
    if (lo)
        st = check_key(s, "iterator's low bound", lo, lo_len, err);
    if (st == MC_OK && hi)
        st = check_key(s, "iterator's high bound", hi, hi_len, err);
    if (st != MC_OK)
        return st;
    mc_store_iter *it = calloc(1, sizeof *it);
    if (it) {
        it->s = s;
        it->lo_len = lo ? lo_len : 0;
        it->hi_len = hi ? hi_len : 0;
        it->lo = lo ? malloc(lo_len) : NULL;
        it->hi = hi ? malloc(hi_len) : NULL;
    }
    if (!it || (lo && !it->lo) || (hi && !it->hi)) {
        mc_store_iter_close(&it);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", s->path);
    }
    if (lo)
        memcpy(it->lo, lo, lo_len);
    if (hi)
        memcpy(it->hi, hi, hi_len);
    st = mc_segset_open(s->path, s->m, it->lo, it->lo_len, it->hi, it->hi_len, 1, open_pinned, s, &it->set, err);
    if (st != MC_OK) {
        mc_store_iter_close(&it);
        return st;
    }
    *out = it;
    return MC_OK;
}

mc_status mc_store_iter_next(mc_store_iter *it, mc_item *item, bool *eof, mc_err *err)
{
    mc_err_clear(err);
    *eof = true;
    if (!it)
        return mc_err_set(err, MC_EINVAL, 0, "mc_store_iter_next: no iterator");
    mc_status st;
    do   /* deletes hide their key */
        st = mc_segset_next(it->set, item, eof, err);
    while (st == MC_OK && !*eof && item->kind != MC_KIND_PUT);
    return st;
}

void mc_store_iter_close(mc_store_iter **itp)
{
    mc_store_iter *it = itp ? *itp : NULL;
    if (!it)
        return;
    mc_segset_close(&it->set);
    free(it->lo);
    free(it->hi);
    free(it);
    *itp = NULL;
}
