/* picker: chooses compactions from the manifest, tracks what is in flight (picker.h). */
#include "picker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "err.h"
#include "ivtree.h"
#include "segment_mem.h"

/* ---- a sparse set of segnos: open addressing, linear probing, 0 = empty ---- */

typedef struct segset {
    uint64_t *v;
    size_t cap, n;   /* cap a power of two or 0; n <= cap / 2 */
} segset;

static size_t set_slot(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static bool set_has(const segset *s, uint64_t k)
{
    if (!s->n)
        return false;
    for (size_t i = set_slot(k, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == k)
            return true;
        if (s->v[i] == 0)
            return false;
    }
}

static void set_put(uint64_t *v, size_t cap, uint64_t k)
{
    size_t i = set_slot(k, cap);
    while (v[i] != 0 && v[i] != k)
        i = (i + 1) & (cap - 1);
    v[i] = k;
}

static mc_status set_add(segset *s, uint64_t k, mc_err *err)
{
    if (set_has(s, k))
        return MC_OK;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory growing the busy set");
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                set_put(nv, ncap, s->v[i]);
        free(s->v);
        s->v = nv;
        s->cap = ncap;
    }
    set_put(s->v, s->cap, k);
    s->n++;
    return MC_OK;
}

/* Deletion by backward shift keeps probe chains intact without tombstones. */
static void set_del(segset *s, uint64_t k)
{
    if (!s->n)
        return;
    size_t mask = s->cap - 1, i = set_slot(k, s->cap);
    while (s->v[i] != k) {
        if (s->v[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    s->v[i] = 0;
    s->n--;
    for (size_t j = (i + 1) & mask; s->v[j] != 0; j = (j + 1) & mask) {
        size_t home = set_slot(s->v[j], s->cap);
        /* Move v[j] into the hole when its home is not in (i, j] cyclically. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            s->v[i] = s->v[j];
            s->v[j] = 0;
            i = j;
        }
    }
}

static void set_free(segset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- in-flight requests ---- */

/* A key region some in-flight request will write at LEVEL. */
typedef struct region {
    unsigned level;
    mc_key lo, hi;
} region;

typedef struct flight {
    uint64_t id;
    bool dead;               /* released: a hole until p->fl is compacted */
    unsigned upper_level;
    size_t upper_count;
    uint64_t upper_bytes;
    size_t nregions;
    region regions[2];   /* the span at out_level; a sticky leftover at upper_level >= 1 */
} flight;

struct mc_picker {
    mc_manifest *m;
    mc_params params;
    bool full;
    size_t max_guards;
    uint64_t mem_budget;    /* per merge */
    size_t max_fds;         /* inputs of one merge */
    unsigned bottom;
    segset busy, quarantined;
    segset inbatch;         /* scratch: the uppers of the batch being gathered */
    const mc_seg_meta **ups;   /* scratch: those uppers */
    size_t nups, capups;
    mc_ivtree regions[MC_LEVELS_MAX];   /* in-flight regions per level (disjoint) */
    uint64_t l0_cursor;     /* level 0: the search resumes after this segno */
    bool yielded;           /* the last mc_picker_next stopped at its move budget */
    size_t pend_count[MC_LEVELS_MAX];
    uint64_t pend_bytes[MC_LEVELS_MAX];
    size_t q_count[MC_LEVELS_MAX];
    uint64_t q_bytes[MC_LEVELS_MAX];
    mc_key cursor[MC_LEVELS_MAX];   /* p == NULL: from the start */
    flight *fl;             /* in ascending id (ids only grow), with holes */
    size_t nfl, capfl, nholes;
    uint64_t next_id, moves;
};

static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return mc_key_cmp(a, al, b, bl);
}

static bool taken(const mc_picker *p, uint64_t segno)
{
    return set_has(&p->busy, segno) || set_has(&p->quarantined, segno);
}

static bool stop_at_first(void *ctx, const mc_interval *iv)
{
    (void)ctx, (void)iv;
    return false;
}

/* True when [lo, hi] intersects a region an in-flight request writes at
 * LEVEL: O(log n), the regions of a level being indexed (ivtree.h). */
static bool region_conflict(const mc_picker *p, unsigned level, const uint8_t *lo, size_t lo_len,
                            const uint8_t *hi, size_t hi_len)
{
    return !mc_ivtree_overlaps(&p->regions[level], lo, lo_len, hi, hi_len, stop_at_first, NULL);
}

static mc_interval region_interval(const flight *f, size_t r)
{
    const region *g = &f->regions[r];
    mc_interval iv = {.lo = g->lo.p, .lo_len = g->lo.len, .hi = g->hi.p, .hi_len = g->hi.len,
                      .id = f->id * 2 + r};
    return iv;
}

static void flight_clear(flight *f)
{
    for (size_t r = 0; r < f->nregions; r++) {
        mc_key_clear(&f->regions[r].lo);
        mc_key_clear(&f->regions[r].hi);
    }
    memset(f, 0, sizeof *f);
}

mc_status mc_picker_create(mc_manifest *m, const mc_picker_opts *opts, mc_picker **out, mc_err *err)
{
    *out = NULL;
    mc_picker *p = calloc(1, sizeof *p);
    if (!p)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory");
    p->m = m;
    p->params = *mc_manifest_params(m);
    p->full = opts && opts->full;
    p->max_guards = opts && opts->max_guards ? opts->max_guards : 1024;
    p->mem_budget = opts && opts->mem_budget ? opts->mem_budget : MC_MERGE_MEM_BUDGET;
    p->max_fds = opts && opts->max_fds ? opts->max_fds : mc_merge_fd_limit();
    for (unsigned l = 0; l < MC_LEVELS_MAX; l++)
        mc_ivtree_init(&p->regions[l]);
    p->bottom = p->params.levels - 1;
    if (p->full) {
        int deepest = mc_manifest_deepest_level(m);
        unsigned b = deepest < 1 ? 1u : (unsigned)deepest;
        p->bottom = b < p->bottom ? b : p->bottom;
    }
    *out = p;
    return MC_OK;
}

void mc_picker_destroy(mc_picker **pp)
{
    if (!pp || !*pp)
        return;
    mc_picker *p = *pp;
    set_free(&p->busy);
    set_free(&p->quarantined);
    set_free(&p->inbatch);
    free(p->ups);
    for (unsigned l = 0; l < MC_LEVELS_MAX; l++) {
        mc_key_clear(&p->cursor[l]);
        mc_ivtree_fini(&p->regions[l]);
    }
    for (size_t i = 0; i < p->nfl; i++)
        flight_clear(&p->fl[i]);
    free(p->fl);
    free(p);
    *pp = NULL;
}

/* ---- level scores ---- */

/* Segments and bytes of LEVEL that picks may still take. */
static void level_free(const mc_picker *p, unsigned l, uint64_t *count, uint64_t *bytes)
{
    uint64_t c = mc_manifest_level_count(p->m, l), b = mc_manifest_level_bytes(p->m, l);
    uint64_t used_c = p->pend_count[l] + p->q_count[l], used_b = p->pend_bytes[l] + p->q_bytes[l];
    *count = c > used_c ? c - used_c : 0;
    *bytes = b > used_b ? b - used_b : 0;
}

/* How far over its limit level L is once COUNT segments of BYTES remain
 * (> 1: over). Full mode: every level above the bottom has limit 0. */
static double level_score(const mc_picker *p, unsigned l, uint64_t count, uint64_t bytes)
{
    if (p->full)
        return count ? 1.0 + (double)bytes / (double)p->params.segment_size : 0.0;
    if (l == 0)
        return (double)count / (double)p->params.l0_limit;
    return (double)bytes / (double)mc_params_level_limit(&p->params, l);
}

/* ---- merge width ---- */

size_t mc_merge_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1u << 20;
    return rl.rlim_cur > MC_MERGE_FD_RESERVE + 16 ? (size_t)(rl.rlim_cur - MC_MERGE_FD_RESERVE) : 16;
}

void mc_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);   /* best effort: the width follows what is granted */
    }
}

uint64_t mc_merge_input_cost(const mc_seg_meta *e)
{
    return mc_seg_input_mem(e->nitems, e->bytes);
}

/* ---- building a request ---- */

/* Level-0 outputs of a merge that only narrows level 0 (a round of the
 * merge tree) are not cut at segment_size: one segment per slice, so that
 * the next round opens one file per merged group. */
#define L0_RUN_SEGMENT_SIZE (UINT64_MAX / 4)

typedef struct cand {
    unsigned level, out_level;
    const mc_seg_meta **ups;   /* the uppers (level 0: gathered, segno order; else one) */
    size_t nups;
    const uint8_t *ulo, *uhi;  /* the uppers' key range */
    size_t ulo_len, uhi_len;
    size_t first, ntake;       /* lowers: out level entries [first, first + ntake) */
    bool sticky;
    uint64_t segment_size;
} cand;

static const mc_seg_meta *lower_at(const mc_picker *p, const cand *c, size_t j)
{
    return mc_manifest_level_at(p->m, c->out_level, c->first + j);
}

static mc_status add_guard(mc_request *req, size_t *cap, const mc_seg_meta *e, mc_err *err)
{
    if (req->nguards == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        mc_guard *ng = realloc(req->guards, ncap * sizeof *ng);
        if (!ng)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory collecting guards");
        req->guards = ng;
        *cap = ncap;
    }
    mc_guard *g = &req->guards[req->nguards];
    memset(g, 0, sizeof *g);
    req->nguards++;
    g->min_seq = e->min_seq;
    mc_status st = mc_key_set(&g->lo, e->min_key, e->min_key_len, err);
    if (st == MC_OK)
        st = mc_key_set(&g->hi, e->max_key, e->max_key_len, err);
    return st;
}

typedef struct guard_scan {
    const segset *inputs;
    mc_request *req;
    uint64_t max_seq;
    size_t max_guards, cap;
    bool too_many;
    mc_status st;
    mc_err *err;
} guard_scan;

/* E intersects the inputs' range: a guard when it is not an input and may be
 * older than some item of the inputs. Stops the scan past MAX_GUARDS. */
static bool guard_visit(void *ctx, const mc_seg_meta *e)
{
    guard_scan *g = ctx;
    if (e->min_seq > g->max_seq || set_has(g->inputs, e->segno))
        return true;
    if (g->req->nguards >= g->max_guards) {
        g->too_many = true;
        return false;
    }
    g->st = add_guard(g->req, &g->cap, e, g->err);
    return g->st == MC_OK;
}

/* Every segment outside the inputs that could hold an older version of a key
 * in the inputs' whole key range (not just the span: a sticky leftover's
 * keys lie past the split, where lowers not taken still live). Level 0 by
 * its key-range index, deeper levels by binary search: O(log n + guards). */
static mc_status collect_guards(mc_picker *p, mc_request *req, mc_err *err)
{
    const uint8_t *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0;
    uint64_t max_seq = 0;
    bool deletes = false;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = &req->inputs[i];
        deletes |= e->ndeletes > 0;
        if (!lo || kcmp(e->min_key, e->min_key_len, lo, lo_len) < 0)
            lo = e->min_key, lo_len = e->min_key_len;
        if (!hi || kcmp(e->max_key, e->max_key_len, hi, hi_len) > 0)
            hi = e->max_key, hi_len = e->max_key_len;
        if (e->max_seq > max_seq)
            max_seq = e->max_seq;
    }
    if (!deletes)
        return MC_OK;
    guard_scan g = {.inputs = &p->inbatch, .req = req, .max_seq = max_seq, .max_guards = p->max_guards,
                    .st = MC_OK, .err = err};
    for (size_t i = 0; i < req->ninputs && g.st == MC_OK; i++)
        g.st = set_add(&p->inbatch, req->inputs[i].segno, err);
    if (g.st == MC_OK)
        mc_manifest_l0_overlaps(p->m, lo, lo_len, hi, hi_len, guard_visit, &g);
    for (unsigned l = 1; l < p->params.levels && !g.too_many && g.st == MC_OK; l++) {
        size_t first = 0, end = 0;
        mc_manifest_level_overlaps(p->m, l, lo, lo_len, hi, hi_len, &first, &end);
        for (size_t i = first; i < end && guard_visit(&g, mc_manifest_level_at(p->m, l, i)); i++)
            ;
    }
    for (size_t i = 0; i < req->ninputs; i++)
        set_del(&p->inbatch, req->inputs[i].segno);
    if (g.too_many) {
        for (size_t i = 0; i < req->nguards; i++) {
            mc_key_clear(&req->guards[i].lo);
            mc_key_clear(&req->guards[i].hi);
        }
        free(req->guards);
        req->guards = NULL;
        req->nguards = 0;
        req->flags |= MC_REQ_KEEP_DELETES;
    }
    return g.st;
}

/* Records REQ as in flight: busy inputs, pending, regions. */
static mc_status track(mc_picker *p, const mc_request *req, const mc_key *span_lo, const mc_key *span_hi,
                       mc_err *err)
{
    if (p->nfl == p->capfl) {
        size_t ncap = p->capfl ? p->capfl * 2 : 16;
        flight *nf = realloc(p->fl, ncap * sizeof *nf);
        if (!nf)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory tracking requests");
        p->fl = nf;
        p->capfl = ncap;
    }
    flight f = {.id = req->id, .upper_level = req->upper_level, .upper_count = req->nuppers};
    for (size_t i = 0; i < req->nuppers; i++)
        f.upper_bytes += req->inputs[i].bytes;
    mc_status st = MC_OK;
    f.regions[0].level = req->out_level;
    f.nregions = 1;
    if ((st = mc_key_set(&f.regions[0].lo, span_lo->p, span_lo->len, err)) != MC_OK ||
        (st = mc_key_set(&f.regions[0].hi, span_hi->p, span_hi->len, err)) != MC_OK)
        goto cleanup;
    if ((req->flags & MC_REQ_STICKY) && req->upper_level >= 1) {
        const mc_seg_meta *u = &req->inputs[0];
        f.regions[1].level = req->upper_level;
        f.nregions = 2;
        if ((st = mc_key_set(&f.regions[1].lo, req->split.p, req->split.len, err)) != MC_OK ||
            (st = mc_key_set(&f.regions[1].hi, u->max_key, u->max_key_len, err)) != MC_OK)
            goto cleanup;
    }
    for (size_t i = 0; i < req->ninputs; i++)
        if ((st = set_add(&p->busy, req->inputs[i].segno, err)) != MC_OK)
            goto cleanup;
    for (size_t r = 0; r < f.nregions; r++) {
        mc_interval iv = region_interval(&f, r);
        if ((st = mc_ivtree_insert(&p->regions[f.regions[r].level], &iv, err)) != MC_OK)
            goto cleanup;
    }
    p->pend_count[req->upper_level] += f.upper_count;
    p->pend_bytes[req->upper_level] += f.upper_bytes;
    p->fl[p->nfl++] = f;
    return MC_OK;
cleanup:
    for (size_t i = 0; i < req->ninputs; i++)
        set_del(&p->busy, req->inputs[i].segno);
    for (size_t r = 0; r < f.nregions; r++) {
        mc_interval iv = region_interval(&f, r);
        mc_ivtree_erase(&p->regions[f.regions[r].level], &iv);
    }
    flight_clear(&f);
    return st;
}

static mc_status build_request(mc_picker *p, const cand *c, mc_request **out, mc_err *err)
{
    mc_status st = MC_OK;
    mc_key span_lo = {0}, span_hi = {0};
    mc_request *req = calloc(1, sizeof *req);
    if (!req || !(req->inputs = calloc(c->nups + c->ntake, sizeof *req->inputs))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory building a request");
        goto cleanup;
    }
    req->upper_level = (uint8_t)c->level;
    req->out_level = (uint8_t)c->out_level;
    req->segment_size = c->segment_size ? c->segment_size : p->params.segment_size;
    req->nuppers = c->nups;
    for (size_t j = 0; j < req->nuppers + c->ntake; j++, req->ninputs++) {
        const mc_seg_meta *e = j < req->nuppers ? c->ups[j] : lower_at(p, c, j - req->nuppers);
        if ((st = mc_seg_meta_copy(&req->inputs[j], e, err)) != MC_OK)
            goto cleanup;
    }
    const uint8_t *lo = c->ulo, *hi = c->uhi;
    size_t lo_len = c->ulo_len, hi_len = c->uhi_len;
    if (c->ntake) {
        const mc_seg_meta *a = lower_at(p, c, 0), *z = lower_at(p, c, c->ntake - 1);
        if (kcmp(a->min_key, a->min_key_len, lo, lo_len) < 0)
            lo = a->min_key, lo_len = a->min_key_len;
        if (c->sticky || kcmp(z->max_key, z->max_key_len, hi, hi_len) > 0)
            hi = z->max_key, hi_len = z->max_key_len;
        if (c->sticky) {
            req->flags |= MC_REQ_STICKY;
            if ((st = mc_key_set(&req->split, z->max_key, z->max_key_len, err)) != MC_OK)
                goto cleanup;
        }
    }
    if ((st = mc_key_set(&span_lo, lo, lo_len, err)) != MC_OK || (st = mc_key_set(&span_hi, hi, hi_len, err)) != MC_OK ||
        (st = collect_guards(p, req, err)) != MC_OK)
        goto cleanup;
    /* One run of segnos, taken from M once nothing can fail any more. */
    if (!(req->runs = malloc(sizeof *req->runs))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory allocating segnos");
        goto cleanup;
    }
    req->id = p->next_id + 1;
    if ((st = track(p, req, &span_lo, &span_hi, err)) != MC_OK)
        goto cleanup;
    p->next_id++;
    uint64_t nsegnos = mc_request_max_outputs(req);
    req->runs[0] = (mc_segno_run){.first = mc_manifest_alloc_segnos(p->m, nsegnos), .count = nsegnos};
    req->nruns = 1;
    *out = req;
    req = NULL;
cleanup:
    mc_key_clear(&span_lo);
    mc_key_clear(&span_hi);
    if (req) {
        mc_request_clear(req);
        free(req);
    }
    return st;
}

/* ---- searching ---- */

typedef enum { TRY_SKIP, TRY_PICKED, TRY_MOVED } try_result;

#define MAX_TRIES 256   /* free candidates one search of a level tries before giving up for now */
#define MAX_VISITS 4096 /* entries (busy ones too) one search of a level walks past */
#define MAX_MOVES 256   /* moves one mc_picker_next makes before it yields (mc_picker_yielded) */

static void hull_init(cand *c, const mc_seg_meta *e)
{
    c->ulo = e->min_key, c->ulo_len = e->min_key_len;
    c->uhi = e->max_key, c->uhi_len = e->max_key_len;
}

static void hull_add(cand *c, const mc_seg_meta *e)
{
    if (kcmp(e->min_key, e->min_key_len, c->ulo, c->ulo_len) < 0)
        c->ulo = e->min_key, c->ulo_len = e->min_key_len;
    if (kcmp(e->max_key, e->max_key_len, c->uhi, c->uhi_len) > 0)
        c->uhi = e->max_key, c->uhi_len = e->max_key_len;
}

static mc_status ups_push(mc_picker *p, const mc_seg_meta *e, mc_err *err)
{
    if (p->nups == p->capups) {
        size_t ncap = p->capups ? p->capups * 2 : 64;
        const mc_seg_meta **nu = realloc(p->ups, ncap * sizeof *nu);
        if (!nu)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory gathering level 0");
        p->ups = nu;
        p->capups = ncap;
    }
    mc_status st = set_add(&p->inbatch, e->segno, err);
    if (st == MC_OK)
        p->ups[p->nups++] = e;
    return st;
}

typedef struct gather {
    mc_picker *p;
    cand *c;
    uint64_t cost, cost_cap;
    size_t count_cap;
    bool capped;
    mc_status st;
    mc_err *err;
} gather;

static bool gather_visit(void *ctx, const mc_seg_meta *e)
{
    gather *g = ctx;
    mc_picker *p = g->p;
    if (taken(p, e->segno) || set_has(&p->inbatch, e->segno))
        return true;
    uint64_t cost = mc_merge_input_cost(e);
    if (p->nups >= g->count_cap || g->cost + cost > g->cost_cap) {
        g->capped = true;
        return false;
    }
    if ((g->st = ups_push(p, e, g->err)) != MC_OK)
        return false;
    g->cost += cost;
    hull_add(g->c, e);
    return true;
}

static int by_segno(const void *a, const void *b)
{
    uint64_t x = (*(const mc_seg_meta *const *)a)->segno, y = (*(const mc_seg_meta *const *)b)->segno;
    return x < y ? -1 : x > y;
}

/* Level 0: from upper E, every free level-0 segment overlapping the range of
 * those taken so far (the range grows as they come: a chain is one batch),
 * up to twice what one merge may hold, so that the caller knows whether one
 * pass holds them all. Each round asks the key-range index only for what
 * the range grew by: O(log n + answer) per round. p->ups gets them in segno
 * order (oldest first), *cost their summed input cost, *capped whether more
 * were left. */
static mc_status gather_l0(mc_picker *p, cand *c, const mc_seg_meta *e, uint64_t *cost, bool *capped, mc_err *err)
{
    p->nups = 0;
    hull_init(c, e);
    gather g = {.p = p, .c = c, .cost = mc_merge_input_cost(e), .cost_cap = 2 * p->mem_budget,
                .count_cap = 2 * p->max_fds, .st = ups_push(p, e, err), .err = err};
    const uint8_t *qlo[2] = {c->ulo, NULL}, *qhi[2] = {c->uhi, NULL};
    size_t qlo_len[2] = {c->ulo_len, 0}, qhi_len[2] = {c->uhi_len, 0}, nq = 1;
    while (g.st == MC_OK && !g.capped && nq > 0) {
        const uint8_t *plo = c->ulo, *phi = c->uhi;
        size_t plo_len = c->ulo_len, phi_len = c->uhi_len;
        for (size_t i = 0; i < nq && g.st == MC_OK && !g.capped; i++)
            mc_manifest_l0_overlaps(p->m, qlo[i], qlo_len[i], qhi[i], qhi_len[i], gather_visit, &g);
        nq = 0;
        if (kcmp(c->ulo, c->ulo_len, plo, plo_len) < 0) {
            qlo[nq] = c->ulo, qlo_len[nq] = c->ulo_len, qhi[nq] = plo, qhi_len[nq] = plo_len;
            nq++;
        }
        if (kcmp(c->uhi, c->uhi_len, phi, phi_len) > 0) {
            qlo[nq] = phi, qlo_len[nq] = phi_len, qhi[nq] = c->uhi, qhi_len[nq] = c->uhi_len;
            nq++;
        }
    }
    for (size_t i = 0; i < p->nups; i++)
        set_del(&p->inbatch, p->ups[i]->segno);
    qsort(p->ups, p->nups, sizeof *p->ups, by_segno);
    c->ups = p->ups;
    c->nups = p->nups;
    *cost = g.cost;
    *capped = g.capped;
    return g.st;
}

/* Outputs a round may leave (one per slice): the room the final pass keeps
 * for them, an eighth of the width, at least one. In files (ROUND_FDS) and
 * in memory (ROUND_MEM: an eighth of the budget, each output costing at
 * most what a large input does). */
static size_t round_fds(const mc_picker *p)
{
    return p->max_fds >= 16 ? p->max_fds / 8 : 1;
}

static size_t round_mem(const mc_picker *p)
{
    uint64_t n = p->mem_budget / 8 / mc_seg_input_mem_max();
    return n > p->max_fds ? p->max_fds : n ? (size_t)n : 1;
}

size_t mc_picker_max_slices(const mc_picker *p, const mc_request *req)
{
    if (req->segment_size != L0_RUN_SEGMENT_SIZE || req->out_level != 0)
        return SIZE_MAX;
    /* Fewer outputs than inputs, or the round would not narrow level 0 (a
     * round of 2 cut in 2 left 2: picked again forever); and no more than
     * the final pass left room for. */
    size_t room = round_fds(p) < round_mem(p) ? round_fds(p) : round_mem(p);
    size_t narrowing = req->ninputs > 1 ? req->ninputs - 1 : 1;
    return room < narrowing ? room : narrowing;
}

/* One pass cannot hold the gathered uppers (COST over the budget, or more
 * than max_fds of them): a round of the merge tree merges the oldest of them
 * into level 0, one segment per slice, taking only as many as the final
 * pass must shed (all it may hold when many more wait), so that the number
 * of rounds grows with the logarithm of the count, not the count. */
static void narrow_to_round(const mc_picker *p, cand *c, uint64_t cost, bool capped)
{
    /* What the final pass must shed, plus room for this round's outputs,
     * one per slice (round_fds, round_mem; mc_picker_max_slices keeps to
     * them). */
    uint64_t shed_cost = cost > p->mem_budget ? cost - p->mem_budget + p->mem_budget / 8 : 0;
    size_t shed_count = c->nups > p->max_fds ? c->nups - p->max_fds + round_fds(p) : 0;
    uint64_t taken_cost = 0;
    size_t n = 0;
    while (n < c->nups) {
        uint64_t k = mc_merge_input_cost(c->ups[n]);
        if (n >= 2 && (taken_cost + k > p->mem_budget || n >= p->max_fds))
            break;   /* one merge's width */
        if (n >= 2 && !capped && taken_cost >= shed_cost && n >= shed_count)
            break;   /* enough shed */
        taken_cost += k;
        n++;
    }
    c->nups = n;
    hull_init(c, c->ups[0]);
    for (size_t i = 1; i < n; i++)
        hull_add(c, c->ups[i]);
    c->out_level = 0;
    c->ntake = 0;
    c->sticky = false;
    c->segment_size = L0_RUN_SEGMENT_SIZE;
}

/* Upper E of level L: skip, move it down, or build its request. */
static mc_status try_upper(mc_picker *p, unsigned l, const mc_seg_meta *e, try_result *res, mc_request **out,
                           mc_err *err)
{
    *res = TRY_SKIP;
    cand c = {.level = l, .out_level = l + 1, .ups = &e, .nups = 1};
    hull_init(&c, e);
    uint64_t cost = mc_merge_input_cost(e);
    size_t max_take = (size_t)p->params.fanout + 1;
    if (l == 0) {
        /* An in-flight round of the merge tree over this range: its output
         * joins the final pass, which waits for it. */
        if (region_conflict(p, 0, e->min_key, e->min_key_len, e->max_key, e->max_key_len) ||
            region_conflict(p, 1, e->min_key, e->min_key_len, e->max_key, e->max_key_len))
            return MC_OK;
        bool capped = false;
        mc_status st = gather_l0(p, &c, e, &cost, &capped, err);
        if (st != MC_OK)
            return st;
        if (capped || cost > p->mem_budget || c.nups > p->max_fds) {
            narrow_to_round(p, &c, cost, capped);
            if ((st = build_request(p, &c, out, err)) == MC_OK)
                *res = TRY_PICKED;
            return st;
        }
        if (region_conflict(p, 0, c.ulo, c.ulo_len, c.uhi, c.uhi_len))
            return MC_OK;
        if (c.nups > 1) {
            /* Several uppers: as many lowers as the merge's width leaves room for. */
            uint64_t room = p->mem_budget > cost ? (p->mem_budget - cost) / mc_seg_input_mem_max() : 0;
            size_t fds = p->max_fds > c.nups ? p->max_fds - c.nups : 0;
            size_t width = room < fds ? (size_t)room : fds;
            max_take = width > max_take ? width : max_take;
        }
    }
    size_t end = 0;
    mc_manifest_level_overlaps(p->m, c.out_level, c.ulo, c.ulo_len, c.uhi, c.uhi_len, &c.first, &end);
    size_t n = end - c.first;
    c.ntake = n < max_take ? n : max_take;
    c.sticky = n > c.ntake;
    for (size_t j = 0; j < c.ntake; j++)
        if (taken(p, lower_at(p, &c, j)->segno))
            return MC_OK;
    /* The span the outputs at out_level will cover. */
    const uint8_t *lo = c.ulo, *hi = c.uhi;
    size_t lo_len = c.ulo_len, hi_len = c.uhi_len;
    if (c.ntake) {
        const mc_seg_meta *a = lower_at(p, &c, 0), *z = lower_at(p, &c, c.ntake - 1);
        if (kcmp(a->min_key, a->min_key_len, lo, lo_len) < 0)
            lo = a->min_key, lo_len = a->min_key_len;
        if (c.sticky || kcmp(z->max_key, z->max_key_len, hi, hi_len) > 0)
            hi = z->max_key, hi_len = z->max_key_len;
    }
    if (region_conflict(p, c.out_level, lo, lo_len, hi, hi_len))
        return MC_OK;
    if (c.sticky && l >= 1 && region_conflict(p, l, hi, hi_len, e->max_key, e->max_key_len))
        return MC_OK;
    if (n == 0 && c.nups == 1 && !(c.out_level == p->bottom && e->ndeletes > 0)) {
        mc_status st = mc_manifest_relevel(p->m, e->segno, c.out_level, err);
        if (st != MC_OK)
            return st;
        p->moves++;
        *res = TRY_MOVED;
        return MC_OK;
    }
    mc_status st = build_request(p, &c, out, err);
    if (st == MC_OK)
        *res = TRY_PICKED;
    return st;
}

/* Index of the first entry of level L (>= 1) past the cursor. */
static size_t cursor_start(const mc_picker *p, unsigned l)
{
    const mc_key *k = &p->cursor[l];
    if (!k->p)
        return 0;
    size_t first = 0, end = 0;
    mc_manifest_level_overlaps(p->m, l, k->p, k->len, NULL, 0, &first, &end);
    const mc_seg_meta *e = mc_manifest_level_at(p->m, l, first);
    if (e && kcmp(e->max_key, e->max_key_len, k->p, k->len) <= 0)
        first++;
    return first;
}

/* Level L from its cursor (level 0: the segno after the last one visited;
 * deeper: a key), wrapping once, trying at most MAX_TRIES free candidates
 * among at most MAX_VISITS entries: a search never walks a whole level to
 * decide. (With nothing in flight nothing is busy, so a search that finds
 * nothing has tried every candidate that could start.) */
static mc_status search_level(mc_picker *p, unsigned l, try_result *res, mc_request **out, mc_err *err)
{
    *res = TRY_SKIP;
    size_t n = mc_manifest_level_count(p->m, l);
    size_t start = l == 0 ? mc_manifest_level0_from(p->m, p->l0_cursor + 1) : cursor_start(p, l);
    size_t tries = 0;
    for (size_t k = 0; k < n && k < MAX_VISITS && tries < MAX_TRIES; k++) {
        const mc_seg_meta *e = mc_manifest_level_at(p->m, l, (start + k) % n);
        if (l == 0)
            p->l0_cursor = e->segno;   /* busy ones too: the next search starts past them */
        if (taken(p, e->segno))
            continue;
        tries++;
        if (l > 0) {
            mc_status st = mc_key_set(&p->cursor[l], e->max_key, e->max_key_len, err);
            if (st != MC_OK)
                return st;
        }
        mc_status st = try_upper(p, l, e, res, out, err);
        if (st != MC_OK || *res != TRY_SKIP)
            return st;
    }
    return MC_OK;
}

static bool levels_above_bottom_empty(const mc_picker *p)
{
    for (unsigned l = 0; l < p->bottom; l++)
        if (mc_manifest_level_count(p->m, l))
            return false;
    return true;
}

/* Full mode, last: rewrite a bottom segment that still holds deletes. */
static mc_status search_rewrite(mc_picker *p, mc_request **out, mc_err *err)
{
    if (!levels_above_bottom_empty(p))
        return MC_OK;
    unsigned b = p->bottom;
    size_t n = mc_manifest_level_count(p->m, b), start = cursor_start(p, b);
    for (size_t k = 0; k < n; k++) {
        const mc_seg_meta *e = mc_manifest_level_at(p->m, b, (start + k) % n);
        if (e->ndeletes == 0 || taken(p, e->segno) ||
            region_conflict(p, b, e->min_key, e->min_key_len, e->max_key, e->max_key_len))
            continue;
        mc_status st = mc_key_set(&p->cursor[b], e->max_key, e->max_key_len, err);
        if (st != MC_OK)
            return st;
        cand c = {.level = b, .out_level = b, .ups = &e, .nups = 1};
        hull_init(&c, e);
        return build_request(p, &c, out, err);
    }
    return MC_OK;
}

mc_status mc_picker_next(mc_picker *p, mc_request **out, mc_err *err)
{
    *out = NULL;
    p->yielded = false;
    for (size_t moves = 0;;) {
        unsigned order[MC_LEVELS_MAX];
        double score[MC_LEVELS_MAX];
        size_t norder = 0;
        for (unsigned l = 0; l < p->bottom; l++) {
            uint64_t count, bytes;
            level_free(p, l, &count, &bytes);
            score[l] = level_score(p, l, count, bytes);
            if (score[l] <= 1.0)
                continue;
            size_t i = norder++;   /* insertion sort, highest score first */
            while (i > 0 && score[order[i - 1]] < score[l]) {
                order[i] = order[i - 1];
                i--;
            }
            order[i] = l;
        }
        try_result res = TRY_SKIP;
        for (size_t i = 0; i < norder && res == TRY_SKIP; i++) {
            mc_status st = search_level(p, order[i], &res, out, err);
            if (st != MC_OK)
                return st;
        }
        if (res == TRY_PICKED)
            return MC_OK;
        if (res == TRY_MOVED) {
            /* The levels changed: score them again; the cursors resume the search. */
            if (++moves >= MAX_MOVES) {
                p->yielded = true;
                return MC_OK;
            }
            continue;
        }
        return p->full ? search_rewrite(p, out, err) : MC_OK;
    }
}

bool mc_picker_yielded(const mc_picker *p)
{
    return p->yielded;
}

/* ---- completion ---- */

/* Binary search: p->fl is in ascending id (holes keep theirs). */
static flight *find_flight(mc_picker *p, uint64_t id)
{
    size_t lo = 0, hi = p->nfl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->fl[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nfl && p->fl[lo].id == id && !p->fl[lo].dead ? &p->fl[lo] : NULL;
}

/* Drops the holes when they outnumber the live entries: O(1) amortized. */
static void compact_flights(mc_picker *p)
{
    if (p->nholes * 2 <= p->nfl)
        return;
    size_t n = 0;
    for (size_t i = 0; i < p->nfl; i++)
        if (!p->fl[i].dead)
            p->fl[n++] = p->fl[i];
    p->nfl = n;
    p->nholes = 0;
}

static void finish(mc_picker *p, const mc_request *req, bool quarantine)
{
    flight *f = find_flight(p, req->id);
    if (!f)
        return;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = &req->inputs[i];
        set_del(&p->busy, e->segno);
        /* Out of memory here leaves the segment merely unquarantined. */
        if (quarantine && e->level < MC_LEVELS_MAX && set_add(&p->quarantined, e->segno, NULL) == MC_OK) {
            p->q_count[e->level]++;
            p->q_bytes[e->level] += e->bytes;
        }
    }
    p->pend_count[f->upper_level] -= f->upper_count;
    p->pend_bytes[f->upper_level] -= f->upper_bytes;
    for (size_t r = 0; r < f->nregions; r++) {
        mc_interval iv = region_interval(f, r);
        mc_ivtree_erase(&p->regions[f->regions[r].level], &iv);
    }
    uint64_t id = f->id;
    flight_clear(f);
    f->id = id;   /* a hole keeps its id: the array stays in order */
    f->dead = true;
    p->nholes++;
    compact_flights(p);
}

void mc_picker_release(mc_picker *p, const mc_request *req)
{
    finish(p, req, false);
}

void mc_picker_quarantine(mc_picker *p, const mc_request *req)
{
    finish(p, req, true);
}

size_t mc_picker_inflight(const mc_picker *p)
{
    return p->nfl - p->nholes;
}

uint64_t mc_picker_moves(const mc_picker *p)
{
    return p->moves;
}

static bool bottom_has_free_deletes(const mc_picker *p)
{
    size_t n = mc_manifest_level_count(p->m, p->bottom);
    for (size_t i = 0; i < n; i++) {
        const mc_seg_meta *e = mc_manifest_level_at(p->m, p->bottom, i);
        if (e->ndeletes && !set_has(&p->quarantined, e->segno))
            return true;
    }
    return false;
}

bool mc_picker_wants_more(const mc_picker *p)
{
    for (unsigned l = 0; l < p->bottom; l++) {
        uint64_t c = mc_manifest_level_count(p->m, l), b = mc_manifest_level_bytes(p->m, l);
        c -= p->q_count[l] < c ? p->q_count[l] : c;
        b -= p->q_bytes[l] < b ? p->q_bytes[l] : b;
        if (level_score(p, l, c, b) > 1.0)
            return true;
    }
    return p->full && bottom_has_free_deletes(p);
}

uint64_t mc_picker_pending_bytes(const mc_picker *p)
{
    uint64_t total = 0;
    for (unsigned l = 0; l < p->bottom; l++) {
        uint64_t c = mc_manifest_level_count(p->m, l), b = mc_manifest_level_bytes(p->m, l);
        if (p->full) {
            total += b;
        } else if (l == 0) {
            if (c > p->params.l0_limit)
                total += (uint64_t)((double)b * (double)(c - p->params.l0_limit) / (double)c);
        } else {
            uint64_t limit = mc_params_level_limit(&p->params, l);
            total += b > limit ? b - limit : 0;
        }
    }
    return total;
}
