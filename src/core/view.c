/* view: the logical content of a store within a key range (view.h). */
#include "view.h"

#include <errno.h>
#include <stdlib.h>

#include "err.h"
#include "manifest_io.h"
#include "merge.h"
#include "store.h"

struct mc_view {
    size_t n, cap;
    mc_seg_reader **readers;
    mc_range_source *ranges;
    mc_merge_source *sources;
    mc_merge *merge;
};

static mc_status add_segment(mc_view *v, const char *store, const mc_seg_meta *meta,
                             const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len, mc_err *err)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        mc_seg_reader **r = realloc(v->readers, cap * sizeof *r);
        if (r)
            v->readers = r;
        mc_range_source *rs = r ? realloc(v->ranges, cap * sizeof *rs) : NULL;
        if (rs)
            v->ranges = rs;
        if (!r || !rs)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening %zu segments", store, cap);
        v->cap = cap;
    }
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, meta->segno, path);
    mc_seg_reader *r = NULL;
    mc_status st = mc_seg_reader_open(path, &r, err);
    if (st != MC_OK)
        return st;
    /* A file that is not the segment the manifest lists (e.g. another valid
     * segment copied over it) must not be read as if it were. */
    if ((st = mc_seg_reader_check_meta(r, path, meta, err)) != MC_OK) {
        mc_seg_reader_close(&r);
        return st;
    }
    v->readers[v->n] = r;
    v->ranges[v->n] = (mc_range_source){.reader = r, .lo = lo, .lo_len = lo_len, .hi = hi, .hi_len = hi_len};
    v->n++;
    return MC_OK;
}

/* META's key range meets [lo, hi] (NULL = unbounded). */
static bool meets(const mc_seg_meta *meta, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    if (lo && mc_key_cmp(meta->max_key, meta->max_key_len, lo, lo_len) < 0)
        return false;
    if (hi && mc_key_cmp(meta->min_key, meta->min_key_len, hi, hi_len) > 0)
        return false;
    return true;
}

mc_status mc_view_open(const char *store, const mc_manifest *m,
                       const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                       mc_view **out, mc_err *err)
{
    mc_status st = MC_OK;
    mc_view *v = calloc(1, sizeof *v);
    if (!v)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening a view", store);
    unsigned levels = mc_manifest_params(m)->levels;
    bool empty = lo && hi && mc_key_cmp(lo, lo_len, hi, hi_len) > 0;
    for (unsigned l = 0; l < levels && !empty && st == MC_OK; l++) {
        size_t first = 0, end = mc_manifest_level_count(m, l);
        if (l > 0)
            mc_manifest_level_overlaps(m, l, lo, lo_len, hi, hi_len, &first, &end);
        for (size_t i = first; i < end && st == MC_OK; i++) {
            const mc_seg_meta *meta = mc_manifest_level_at(m, l, i);
            if (meets(meta, lo, lo_len, hi, hi_len))
                st = add_segment(v, store, meta, lo, lo_len, hi, hi_len, err);
        }
    }
    if (st != MC_OK)
        goto cleanup;
    v->sources = malloc((v->n ? v->n : 1) * sizeof *v->sources);
    if (!v->sources) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening a view", store);
        goto cleanup;
    }
    for (size_t i = 0; i < v->n; i++)
        v->sources[i] = (mc_merge_source){.next = mc_range_source_next, .ctx = &v->ranges[i]};
    st = mc_merge_create(v->sources, v->n, &v->merge, err);
    if (st != MC_OK)
        goto cleanup;
    *out = v;
    v = NULL;
cleanup:
    mc_view_close(&v);
    return st;
}

mc_status mc_view_next(mc_view *v, mc_item *item, bool *eof, mc_err *err)
{
    for (;;) {
        mc_status st = mc_merge_next(v->merge, item, eof, err);
        if (st != MC_OK || *eof || item->kind != MC_KIND_DELETE)
            return st;
    }
}

size_t mc_view_nsegments(const mc_view *v)
{
    return v->n;
}

uint64_t mc_view_conflicts(const mc_view *v)
{
    return mc_merge_conflicts(v->merge);
}

void mc_view_close(mc_view **pv)
{
    mc_view *v = pv ? *pv : NULL;
    if (!v)
        return;
    mc_merge_destroy(&v->merge);
    for (size_t i = 0; i < v->n; i++)
        mc_seg_reader_close(&v->readers[i]);
    free(v->readers);
    free(v->ranges);
    free(v->sources);
    free(v);
    *pv = NULL;
}

bool mc_view_generation_moved(const char *store, uint64_t generation)
{
    uint64_t now = 0;
    return mc_manifest_current_generation(store, &now, NULL) == MC_OK && now != generation;
}

mc_status mc_view_load_manifest(const char *store, mc_manifest **out, mc_err *err)
{
    mc_status st = MC_OK;
    for (int attempt = 0; attempt < MC_VIEW_ATTEMPTS; attempt++) {
        uint64_t before = 0;
        if ((st = mc_manifest_current_generation(store, &before, err)) != MC_OK)
            return st;
        if ((st = mc_manifest_load(store, out, err)) == MC_OK || !mc_view_generation_moved(store, before) ||
            attempt + 1 == MC_VIEW_ATTEMPTS)
            return st;
        mc_err_clear(err);
    }
    return st;
}
