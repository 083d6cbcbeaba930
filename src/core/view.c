/* view: the logical content of a store within a key range (view.h). */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "manifest_io.h"
#include "merge.h"
#include "runfile.h"
#include "store.h"

/* One level >= 1 read lazily: its overlapping segments in key order, one
 * open at a time. */
typedef struct level_src {
    const char *store;
    const mc_manifest *m;
    unsigned level;
    size_t next, end;
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    mc_seg_reader *r;
    mc_seg_reader *done;    /* the last finished segment that returned an item: kept open
                             * until the next one finishes, as its last item must stay
                             * valid until the second call after it (merge.h) */
    bool yielded;           /* R returned an item */
    mc_range_source rs;
} level_src;

/* A key bound the view owns (the caller's, or the last key after a resume). */
typedef struct bound {
    mc_buf key;
    bool set;
} bound;

struct mc_view {
    const char *store;
    const mc_manifest *m;   /* the generation read: the caller's, or OWNED after a resume */
    mc_manifest *owned;
    uint64_t generation, epoch;
    bound lo, hi, from;     /* FROM: resume point, excluded (the last key returned) */
    bool skip_from;         /* the next item may be FROM itself */
    mc_buf last;            /* the last key returned */
    bool emitted;
    int resumes;
    /* Sources of the current build. */
    mc_seg_reader **readers;   /* level-0 segments opened directly */
    mc_range_source *ranges;
    size_t nreaders;
    mc_runfile **runs;         /* level-0 groups merged into temporary runs */
    size_t nruns;
    level_src *levels;
    size_t nlevels;
    mc_merge_source *sources;
    mc_merge *merge;
    size_t nsegments;
    uint64_t conflicts_done;   /* of merges already finished */
};

static mc_status oom(const mc_view *v, mc_err *err)
{
    return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory reading the store", v->store);
}

static mc_status bound_set(bound *b, const uint8_t *key, size_t len, mc_err *err)
{
    b->set = key != NULL;
    b->key.n = 0;
    return key ? mc_buf_append(&b->key, key, len, err) : MC_OK;
}

static const uint8_t *bound_key(const bound *b)
{
    return b->set ? b->key.p : NULL;
}

/* Opens the segment META names and checks it is that segment. */
static mc_status open_segment(const char *store, const mc_seg_meta *meta, mc_seg_reader **out, mc_err *err)
{
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, meta->segno, path);
    errno = 0;
    mc_status st = mc_seg_reader_open(path, out, err);
    if (st != MC_OK) {
        int e = errno;
        /* A limit of the environment, not damage to the file. */
        if (e == EMFILE || e == ENFILE)
            return mc_err_set(err, MC_ELIMIT, e, "%s: cannot open: %s (raise the limit, e.g. ulimit -n)", path,
                              strerror(e));
        return st;
    }
    /* A file that is not the segment the manifest lists (e.g. another valid
     * segment copied over it) must not be read as if it were. */
    if ((st = mc_seg_reader_check_meta(*out, path, meta, err)) != MC_OK)
        mc_seg_reader_close(out);
    return st;
}

static mc_status level_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    level_src *s = ctx;
    for (;;) {
        if (!s->r) {
            if (s->next == s->end) {
                *eof = true;
                return MC_OK;
            }
            const mc_seg_meta *meta = mc_manifest_level_at(s->m, s->level, s->next++);
            mc_status st = open_segment(s->store, meta, &s->r, err);
            if (st != MC_OK)
                return st;
            s->rs = (mc_range_source){.reader = s->r, .lo = s->lo, .lo_len = s->lo_len, .hi = s->hi,
                                      .hi_len = s->hi_len};
            s->yielded = false;
        }
        mc_status st = mc_range_source_next(&s->rs, item, eof, err);
        if (st == MC_OK && !*eof)
            s->yielded = true;
        if (st != MC_OK || !*eof)
            return st;
        /* This one is done: the next in key order. */
        if (s->yielded) {
            mc_seg_reader_close(&s->done);
            s->done = s->r;
            s->r = NULL;
        } else {
            mc_seg_reader_close(&s->r);
        }
    }
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

static void drop_sources(mc_view *v)
{
    if (v->merge)
        v->conflicts_done += mc_merge_conflicts(v->merge);
    mc_merge_destroy(&v->merge);
    for (size_t i = 0; i < v->nreaders; i++)
        mc_seg_reader_close(&v->readers[i]);
    for (size_t i = 0; i < v->nruns; i++)
        mc_runfile_destroy(&v->runs[i]);
    for (size_t i = 0; i < v->nlevels; i++) {
        mc_seg_reader_close(&v->levels[i].r);
        mc_seg_reader_close(&v->levels[i].done);
    }
    free(v->readers);
    free(v->ranges);
    free(v->runs);
    free(v->levels);
    free(v->sources);
    v->readers = NULL;
    v->ranges = NULL;
    v->runs = NULL;
    v->levels = NULL;
    v->sources = NULL;
    v->nreaders = v->nruns = v->nlevels = v->nsegments = 0;
}

/* Merges N sources (winners only, deletes kept: they must still hide older
 * versions elsewhere) into a new run *OUT. */
static mc_status merge_to_run(mc_view *v, const mc_merge_source *src, size_t n, mc_runfile **out, mc_err *err)
{
    mc_merge *mg = NULL;
    mc_status st = mc_runfile_create(out, err);
    if (st == MC_OK)
        st = mc_merge_create(src, n, &mg, err);
    for (bool eof = false; st == MC_OK;) {
        mc_item it;
        if ((st = mc_merge_next(mg, &it, &eof, err)) != MC_OK || eof)
            break;
        st = mc_runfile_add(*out, &it, err);
    }
    if (st == MC_OK)
        st = mc_runfile_rewind(*out, err);
    if (mg)
        v->conflicts_done += mc_merge_conflicts(mg);
    mc_merge_destroy(&mg);
    if (st != MC_OK)
        mc_runfile_destroy(out);
    return st;
}

/* Level 0 with more than MC_VIEW_OPEN_MAX segments: each group of that many
 * is merged into a run with its files closed after it, then groups of
 * MC_VIEW_RUNS_MAX runs into runs until at most that many are left. */
static mc_status build_runs(mc_view *v, const mc_seg_meta **l0, size_t n0, const uint8_t *lo, size_t lo_len,
                            const uint8_t *hi, size_t hi_len, mc_err *err)
{
    size_t cap = (n0 + MC_VIEW_OPEN_MAX - 1) / MC_VIEW_OPEN_MAX;
    mc_seg_reader *group[MC_VIEW_OPEN_MAX] = {0};
    mc_range_source ranges[MC_VIEW_OPEN_MAX];
    mc_merge_source src[MC_VIEW_RUNS_MAX > MC_VIEW_OPEN_MAX ? MC_VIEW_RUNS_MAX : MC_VIEW_OPEN_MAX];
    if (!(v->runs = calloc(cap, sizeof *v->runs)))
        return oom(v, err);
    mc_status st = MC_OK;
    for (size_t first = 0; first < n0 && st == MC_OK; first += MC_VIEW_OPEN_MAX) {
        size_t n = n0 - first < MC_VIEW_OPEN_MAX ? n0 - first : MC_VIEW_OPEN_MAX, opened = 0;
        for (; opened < n && (st = open_segment(v->store, l0[first + opened], &group[opened], err)) == MC_OK;
             opened++) {
            ranges[opened] = (mc_range_source){.reader = group[opened], .lo = lo, .lo_len = lo_len, .hi = hi,
                                               .hi_len = hi_len};
            src[opened] = (mc_merge_source){.next = mc_range_source_next, .ctx = &ranges[opened]};
        }
        if (st == MC_OK && (st = merge_to_run(v, src, n, &v->runs[v->nruns], err)) == MC_OK)
            v->nruns++;
        for (size_t i = 0; i < opened; i++)
            mc_seg_reader_close(&group[i]);
    }
    while (st == MC_OK && v->nruns > MC_VIEW_RUNS_MAX) {
        size_t w = 0;
        /* Every group is visited, so that after a failure the runs not yet
         * merged are destroyed too, not left open with their space. */
        for (size_t first = 0; first < v->nruns; first += MC_VIEW_RUNS_MAX) {
            size_t n = v->nruns - first < MC_VIEW_RUNS_MAX ? v->nruns - first : MC_VIEW_RUNS_MAX;
            for (size_t i = 0; i < n; i++)
                src[i] = (mc_merge_source){.next = mc_runfile_next, .ctx = v->runs[first + i]};
            mc_runfile *merged = NULL;
            if (st == MC_OK)
                st = merge_to_run(v, src, n, &merged, err);
            for (size_t i = 0; i < n; i++)
                mc_runfile_destroy(&v->runs[first + i]);
            if (merged)
                v->runs[w++] = merged;
        }
        v->nruns = w;
    }
    return st;
}

/* Sets up the sources over [from or lo, hi] on v->m. */
static mc_status build(mc_view *v, mc_err *err)
{
    const bound *lower = v->from.set ? &v->from : &v->lo;
    const uint8_t *lo = bound_key(lower), *hi = bound_key(&v->hi);
    size_t lo_len = lower->key.n, hi_len = v->hi.key.n;
    const mc_manifest *m = v->m;
    unsigned levels = mc_manifest_params(m)->levels;
    const mc_seg_meta **l0 = NULL;
    size_t n0 = 0, total0 = mc_manifest_level_count(m, 0);
    mc_status st = MC_OK;
    bool empty = lo && hi && mc_key_cmp(lo, lo_len, hi, hi_len) > 0;
    if (!(l0 = malloc((total0 ? total0 : 1) * sizeof *l0)) ||
        !(v->levels = calloc(levels, sizeof *v->levels))) {
        st = oom(v, err);
        goto cleanup;
    }
    for (size_t i = 0; i < total0 && !empty; i++) {
        const mc_seg_meta *meta = mc_manifest_level_at(m, 0, i);
        if (meets(meta, lo, lo_len, hi, hi_len))
            l0[n0++] = meta;
    }
    v->nsegments = n0;
    if (n0 > MC_VIEW_OPEN_MAX) {
        if ((st = build_runs(v, l0, n0, lo, lo_len, hi, hi_len, err)) != MC_OK)
            goto cleanup;
    } else if (n0) {
        if (!(v->readers = calloc(n0, sizeof *v->readers)) || !(v->ranges = calloc(n0, sizeof *v->ranges))) {
            st = oom(v, err);
            goto cleanup;
        }
        for (; v->nreaders < n0; v->nreaders++) {
            if ((st = open_segment(v->store, l0[v->nreaders], &v->readers[v->nreaders], err)) != MC_OK)
                goto cleanup;
            v->ranges[v->nreaders] = (mc_range_source){.reader = v->readers[v->nreaders], .lo = lo,
                                                       .lo_len = lo_len, .hi = hi, .hi_len = hi_len};
        }
    }
    for (unsigned l = 1; l < levels && !empty; l++) {
        size_t first, end;
        mc_manifest_level_overlaps(m, l, lo, lo_len, hi, hi_len, &first, &end);
        if (first < end) {
            v->levels[v->nlevels++] = (level_src){.store = v->store, .m = m, .level = l, .next = first,
                                                  .end = end, .lo = lo, .lo_len = lo_len, .hi = hi,
                                                  .hi_len = hi_len};
            v->nsegments += end - first;
        }
    }
    size_t n = v->nreaders + v->nruns + v->nlevels, k = 0;
    if (!(v->sources = malloc((n ? n : 1) * sizeof *v->sources))) {
        st = oom(v, err);
        goto cleanup;
    }
    for (size_t i = 0; i < v->nreaders; i++)
        v->sources[k++] = (mc_merge_source){.next = mc_range_source_next, .ctx = &v->ranges[i]};
    for (size_t i = 0; i < v->nruns; i++)
        v->sources[k++] = (mc_merge_source){.next = mc_runfile_next, .ctx = v->runs[i]};
    for (size_t i = 0; i < v->nlevels; i++)
        v->sources[k++] = (mc_merge_source){.next = level_next, .ctx = &v->levels[i]};
    st = mc_merge_create(v->sources, n, &v->merge, err);
cleanup:
    free(l0);
    return st;
}

/* After a failure ST: when the generation moved and the content epoch did
 * not change, continue on the new generation after the last key returned
 * (view.h); otherwise ST, or MC_ECANCELED when the content changed. */
static mc_status recover(mc_view *v, mc_status st, mc_err *err)
{
    while (v->resumes < MC_VIEW_ATTEMPTS && mc_view_generation_moved(v->store, v->generation)) {
        v->resumes++;
        mc_manifest *nm = NULL;
        mc_err ignored;
        if (mc_view_load_manifest(v->store, &nm, &ignored) != MC_OK)
            return st;
        uint64_t g = mc_manifest_generation(nm);
        if (v->epoch == 0 || mc_manifest_content_epoch(nm) != v->epoch) {
            mc_manifest_destroy(&nm);
            if (v->emitted)
                return mc_err_set(err, MC_ECANCELED, 0,
                                  "%s: the content changed while it was read (generation %llu -> %llu: an add or "
                                  "gen committed); what was returned so far is from generation %llu: read again",
                                  v->store, (unsigned long long)v->generation, (unsigned long long)g,
                                  (unsigned long long)v->generation);
            return mc_err_set(err, MC_ECANCELED, 0,
                              "%s: the content changed while it was read (generation %llu -> %llu: an add or gen "
                              "committed): read again",
                              v->store, (unsigned long long)v->generation, (unsigned long long)g);
        }
        drop_sources(v);
        mc_manifest_destroy(&v->owned);
        v->owned = nm;
        v->m = nm;
        v->generation = g;
        if (v->emitted && (st = bound_set(&v->from, v->last.p, v->last.n, err)) != MC_OK)
            return st;
        v->skip_from = v->from.set;
        if ((st = build(v, err)) == MC_OK)
            return MC_OK;
    }
    return st;
}

mc_status mc_view_open(const char *store, const mc_manifest *m,
                       const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                       mc_view **out, mc_err *err)
{
    *out = NULL;
    mc_view *v = calloc(1, sizeof *v);
    if (!v)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory opening a view", store);
    v->store = store;
    v->m = m;
    v->generation = mc_manifest_generation(m);
    v->epoch = mc_manifest_content_epoch(m);
    mc_status st = bound_set(&v->lo, lo, lo_len, err);
    if (st == MC_OK)
        st = bound_set(&v->hi, hi, hi_len, err);
    if (st == MC_OK && (st = build(v, err)) != MC_OK)
        st = recover(v, st, err);
    if (st != MC_OK) {
        mc_view_close(&v);
        return st;
    }
    *out = v;
    return MC_OK;
}

mc_status mc_view_next(mc_view *v, mc_item *item, bool *eof, mc_err *err)
{
    for (;;) {
        mc_status st = mc_merge_next(v->merge, item, eof, err);
        if (st != MC_OK) {
            if ((st = recover(v, st, err)) != MC_OK)
                return st;
            continue;
        }
        if (*eof)
            return MC_OK;
        bool again = v->skip_from && mc_key_cmp(item->key, item->key_len, v->from.key.p, v->from.key.n) == 0;
        v->skip_from = false;
        if (again || item->kind == MC_KIND_DELETE)
            continue;
        v->last.n = 0;
        if ((st = mc_buf_append(&v->last, item->key, item->key_len, err)) != MC_OK)
            return st;
        v->emitted = true;
        return MC_OK;
    }
}

size_t mc_view_nsegments(const mc_view *v)
{
    return v->nsegments;
}

uint64_t mc_view_conflicts(const mc_view *v)
{
    return v->conflicts_done + (v->merge ? mc_merge_conflicts(v->merge) : 0);
}

uint64_t mc_view_generation(const mc_view *v)
{
    return v->generation;
}

void mc_view_close(mc_view **pv)
{
    mc_view *v = pv ? *pv : NULL;
    if (!v)
        return;
    drop_sources(v);
    mc_manifest_destroy(&v->owned);
    mc_buf_free(&v->lo.key);
    mc_buf_free(&v->hi.key);
    mc_buf_free(&v->from.key);
    mc_buf_free(&v->last);
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
