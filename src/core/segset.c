/* segset: a merge over the segments of a manifest that meet a key range (segset.h). */
#include "segset.h"

#include <errno.h>
#include <stdlib.h>

#include "err.h"
#include "merge.h"
#include "store.h"

struct mc_segset {
    size_t n;
    mc_seg_reader **readers;
    mc_range_source *ranges;
    mc_merge_source *sources;
    mc_merge *merge;
};

static bool meets(const mc_seg_meta *meta, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    return !(lo && mc_key_cmp(meta->max_key, meta->max_key_len, lo, lo_len) < 0) &&
           !(hi && mc_key_cmp(meta->min_key, meta->min_key_len, hi, hi_len) > 0);
}

/* The number of segments in the set; their descriptors into OUT when not NULL. */
static size_t count_set(const mc_manifest *m, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                        size_t hi_len, uint64_t min_seq, const mc_seg_meta **out)
{
    size_t n = 0;
    if (lo && hi && mc_key_cmp(lo, lo_len, hi, hi_len) > 0)
        return 0;
    for (unsigned l = 0; l < mc_manifest_params(m)->levels; l++) {
        size_t first = 0, end = mc_manifest_level_count(m, l);
        if (l > 0)
            mc_manifest_level_overlaps(m, l, lo, lo_len, hi, hi_len, &first, &end);
        for (size_t i = first; i < end; i++) {
            const mc_seg_meta *meta = mc_manifest_level_at(m, l, i);
            if (meta->max_seq >= min_seq && meets(meta, lo, lo_len, hi, hi_len)) {
                if (out)
                    out[n] = meta;
                n++;
            }
        }
    }
    return n;
}

mc_status mc_segset_open(const char *store, const mc_manifest *m, const uint8_t *lo, size_t lo_len,
                         const uint8_t *hi, size_t hi_len, uint64_t min_seq, mc_segset_open_fn open_fn,
                         void *open_ctx, mc_segset **out, mc_err *err)
{
    *out = NULL;
    mc_status st = MC_OK;
    size_t n = count_set(m, lo, lo_len, hi, hi_len, min_seq, NULL);
    mc_segset *s = calloc(1, sizeof *s);
    const mc_seg_meta **metas = calloc(n + 1, sizeof *metas);
    if (s) {
        s->readers = calloc(n + 1, sizeof *s->readers);
        s->ranges = calloc(n + 1, sizeof *s->ranges);
        s->sources = calloc(n + 1, sizeof *s->sources);
    }
    if (!s || !metas || !s->readers || !s->ranges || !s->sources) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening %zu segments", store, n);
        goto cleanup;
    }
    count_set(m, lo, lo_len, hi, hi_len, min_seq, metas);
    for (size_t i = 0; i < n && st == MC_OK; i++) {
        char path[MC_PATH_MAX];
        mc_store_seg_path(store, metas[i]->segno, path);
        st = open_fn ? open_fn(open_ctx, metas[i], path, &s->readers[i], err)
                     : mc_seg_reader_open(path, &s->readers[i], err);
        if (st == MC_OK)
            st = mc_seg_reader_check_meta(s->readers[i], path, metas[i], err);
        if (st != MC_OK) {
            mc_seg_reader_close(&s->readers[i]);
            break;
        }
        s->n++;
        s->ranges[i] = (mc_range_source){
            .reader = s->readers[i], .lo = lo, .lo_len = lo_len, .hi = hi, .hi_len = hi_len};
        s->sources[i] = (mc_merge_source){.next = mc_range_source_next, .ctx = &s->ranges[i]};
    }
    if (st == MC_OK)
        st = mc_merge_create(s->sources, s->n, &s->merge, err);
cleanup:
    free(metas);
    if (st != MC_OK)
        mc_segset_close(&s);
    *out = s;
    return st;
}

mc_status mc_segset_next(mc_segset *s, mc_item *item, bool *eof, mc_err *err)
{
    return mc_merge_next(s->merge, item, eof, err);
}

size_t mc_segset_count(const mc_segset *s)
{
    return s->n;
}

void mc_segset_close(mc_segset **sp)
{
    mc_segset *s = sp ? *sp : NULL;
    if (!s)
        return;
    mc_merge_destroy(&s->merge);
    for (size_t i = 0; i < s->n; i++)
        mc_seg_reader_close(&s->readers[i]);
    free(s->readers);
    free(s->ranges);
    free(s->sources);
    free(s);
    *sp = NULL;
}
