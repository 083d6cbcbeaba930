/* picker: chooses compactions from the manifest, tracks what is in flight (picker.h). */
#include "picker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

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
    unsigned bottom;
    segset busy, quarantined;
    size_t pend_count[MC_LEVELS_MAX];
    uint64_t pend_bytes[MC_LEVELS_MAX];
    size_t q_count[MC_LEVELS_MAX];
    uint64_t q_bytes[MC_LEVELS_MAX];
    mc_key cursor[MC_LEVELS_MAX];   /* p == NULL: from the start */
    flight *fl;
    size_t nfl, capfl;
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

/* True when [lo, hi] intersects a region an in-flight request writes at LEVEL. */
static bool region_conflict(const mc_picker *p, unsigned level, const uint8_t *lo, size_t lo_len,
                            const uint8_t *hi, size_t hi_len)
{
    for (size_t i = 0; i < p->nfl; i++)
        for (size_t r = 0; r < p->fl[i].nregions; r++) {
            const region *g = &p->fl[i].regions[r];
            if (g->level == level && mc_ranges_overlap(g->lo.p, g->lo.len, g->hi.p, g->hi.len, lo, lo_len, hi, hi_len))
                return true;
        }
    return false;
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
    for (unsigned l = 0; l < MC_LEVELS_MAX; l++)
        mc_key_clear(&p->cursor[l]);
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

/* ---- building a request ---- */

#define MAX_L0_UPPERS 64   /* uppers of one level-0 request, the first included */

typedef struct cand {
    unsigned level;
    const mc_seg_meta *upper;            /* the first upper (oldest in level 0) */
    const mc_seg_meta *more[MAX_L0_UPPERS - 1];  /* level 0: further uppers it overlaps */
    size_t nmore;
    const uint8_t *ulo, *uhi;            /* the uppers' key range */
    size_t ulo_len, uhi_len;
    size_t first, ntake;     /* lowers: out level entries [first, first + ntake) */
    bool sticky;
} cand;

static const mc_seg_meta *upper_at(const cand *c, size_t i)
{
    return i == 0 ? c->upper : c->more[i - 1];
}

static const mc_seg_meta *lower_at(const mc_picker *p, const cand *c, size_t j)
{
    return mc_manifest_level_at(p->m, c->level + 1, c->first + j);
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

static bool among_inputs(const mc_request *req, uint64_t segno)
{
    for (size_t i = 0; i < req->ninputs; i++)
        if (req->inputs[i].segno == segno)
            return true;
    return false;
}

/* Guard candidate E: outside the inputs, intersecting [lo, hi], and possibly
 * older than some item of the inputs. */
static bool guard_wanted(const mc_request *req, const mc_seg_meta *e, const uint8_t *lo, size_t lo_len,
                         const uint8_t *hi, size_t hi_len, uint64_t max_seq)
{
    return e->min_seq < max_seq && !among_inputs(req, e->segno) &&
           mc_ranges_overlap(e->min_key, e->min_key_len, e->max_key, e->max_key_len, lo, lo_len, hi, hi_len);
}

/* Every segment outside the inputs that could hold an older version of a key
 * in the inputs' whole key range (not just the span: a sticky leftover's
 * keys lie past the split, where lowers not taken still live). */
static mc_status collect_guards(const mc_picker *p, mc_request *req, mc_err *err)
{
    const uint8_t *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0, cap = 0;
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
    mc_status st = MC_OK;
    bool too_many = false;
    for (unsigned l = 0; l < p->params.levels && !too_many && st == MC_OK; l++) {
        size_t first = 0, end = mc_manifest_level_count(p->m, l);
        if (l > 0)
            mc_manifest_level_overlaps(p->m, l, lo, lo_len, hi, hi_len, &first, &end);
        for (size_t i = first; i < end && st == MC_OK; i++) {
            const mc_seg_meta *e = mc_manifest_level_at(p->m, l, i);
            if (!guard_wanted(req, e, lo, lo_len, hi, hi_len, max_seq))
                continue;
            if (req->nguards >= p->max_guards) {
                too_many = true;
                break;
            }
            st = add_guard(req, &cap, e, err);
        }
    }
    if (too_many) {
        for (size_t i = 0; i < req->nguards; i++) {
            mc_key_clear(&req->guards[i].lo);
            mc_key_clear(&req->guards[i].hi);
        }
        free(req->guards);
        req->guards = NULL;
        req->nguards = 0;
        req->flags |= MC_REQ_KEEP_DELETES;
    }
    return st;
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
    p->pend_count[req->upper_level] += f.upper_count;
    p->pend_bytes[req->upper_level] += f.upper_bytes;
    p->fl[p->nfl++] = f;
    return MC_OK;
cleanup:
    for (size_t i = 0; i < req->ninputs; i++)
        set_del(&p->busy, req->inputs[i].segno);
    flight_clear(&f);
    return st;
}

static mc_status build_request(mc_picker *p, const cand *c, unsigned out_level, mc_request **out, mc_err *err)
{
    mc_status st = MC_OK;
    mc_key span_lo = {0}, span_hi = {0};
    mc_request *req = calloc(1, sizeof *req);
    if (!req || !(req->inputs = calloc(1 + c->nmore + c->ntake, sizeof *req->inputs))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory building a request");
        goto cleanup;
    }
    req->upper_level = (uint8_t)c->level;
    req->out_level = (uint8_t)out_level;
    req->segment_size = p->params.segment_size;
    req->nuppers = 1 + c->nmore;
    for (size_t j = 0; j < req->nuppers + c->ntake; j++, req->ninputs++) {
        const mc_seg_meta *e = j < req->nuppers ? upper_at(c, j) : lower_at(p, c, j - req->nuppers);
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
    req->nsegnos = mc_request_max_outputs(req);
    if (!(req->segnos = malloc(req->nsegnos * sizeof *req->segnos))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "picker: out of memory allocating segnos");
        goto cleanup;
    }
    req->id = p->next_id + 1;
    if ((st = track(p, req, &span_lo, &span_hi, err)) != MC_OK)
        goto cleanup;
    p->next_id++;
    uint64_t first = mc_manifest_alloc_segnos(p->m, req->nsegnos);
    for (size_t i = 0; i < req->nsegnos; i++)
        req->segnos[i] = first + i;
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

#define MAX_L0_LOWER_FACTOR 4

static void set_upper_range(cand *c)
{
    c->ulo = c->upper->min_key, c->ulo_len = c->upper->min_key_len;
    c->uhi = c->upper->max_key, c->uhi_len = c->upper->max_key_len;
}

/* Level 0: the oldest free upper takes along every other free level-0
 * segment (oldest first) that overlaps the uppers' growing range, so that
 * the level below is rewritten once for all of them, not once each
 * (LevelDB does the same). At most MAX_L0_UPPERS. Seqs decide which version
 * wins, so leaving an older overlapping segment behind is safe. */
static void gather_l0_uppers(const mc_picker *p, cand *c)
{
    size_t n = mc_manifest_level_count(p->m, 0);
    for (size_t i = 0; i < n && c->nmore + 1 < MAX_L0_UPPERS; i++) {
        const mc_seg_meta *e = mc_manifest_level_at(p->m, 0, i);
        if (e == c->upper || taken(p, e->segno) ||
            !mc_ranges_overlap(e->min_key, e->min_key_len, e->max_key, e->max_key_len, c->ulo, c->ulo_len, c->uhi,
                               c->uhi_len))
            continue;
        c->more[c->nmore++] = e;
        if (kcmp(e->min_key, e->min_key_len, c->ulo, c->ulo_len) < 0)
            c->ulo = e->min_key, c->ulo_len = e->min_key_len;
        if (kcmp(e->max_key, e->max_key_len, c->uhi, c->uhi_len) > 0)
            c->uhi = e->max_key, c->uhi_len = e->max_key_len;
    }
}

/* Upper E of level L: skip, move it down, or build its request. */
static mc_status try_upper(mc_picker *p, unsigned l, const mc_seg_meta *e, try_result *res, mc_request **out,
                           mc_err *err)
{
    *res = TRY_SKIP;
    if (taken(p, e->segno))
        return MC_OK;
    unsigned out_level = l + 1;
    cand c = {.level = l, .upper = e};
    set_upper_range(&c);
    if (l == 0)
        gather_l0_uppers(p, &c);
    size_t end = 0;
    mc_manifest_level_overlaps(p->m, out_level, c.ulo, c.ulo_len, c.uhi, c.uhi_len, &c.first, &end);
    size_t n = end - c.first, max_take = (size_t)p->params.fanout + 1;
    if (c.nmore)
        max_take *= MAX_L0_LOWER_FACTOR;   /* several uppers: their lowers too (cut in slices later) */
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
    if (region_conflict(p, out_level, lo, lo_len, hi, hi_len))
        return MC_OK;
    if (c.sticky && l >= 1 && region_conflict(p, l, hi, hi_len, e->max_key, e->max_key_len))
        return MC_OK;
    if (n == 0 && c.nmore == 0 && !(out_level == p->bottom && e->ndeletes > 0)) {
        mc_status st = mc_manifest_relevel(p->m, e->segno, out_level, err);
        if (st != MC_OK)
            return st;
        p->moves++;
        *res = TRY_MOVED;
        return MC_OK;
    }
    mc_status st = build_request(p, &c, out_level, out, err);
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

static mc_status search_level(mc_picker *p, unsigned l, try_result *res, mc_request **out, mc_err *err)
{
    *res = TRY_SKIP;
    size_t n = mc_manifest_level_count(p->m, l);
    size_t start = l == 0 ? 0 : cursor_start(p, l);
    for (size_t k = 0; k < n; k++) {
        const mc_seg_meta *e = mc_manifest_level_at(p->m, l, (start + k) % n);
        if (taken(p, e->segno))
            continue;
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
        cand c = {.level = b, .upper = e};
        set_upper_range(&c);
        return build_request(p, &c, b, out, err);
    }
    return MC_OK;
}

mc_status mc_picker_next(mc_picker *p, mc_request **out, mc_err *err)
{
    *out = NULL;
    for (;;) {
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
        if (res == TRY_MOVED)
            continue;   /* the levels changed: score them again */
        return p->full ? search_rewrite(p, out, err) : MC_OK;
    }
}

/* ---- completion ---- */

static flight *find_flight(mc_picker *p, uint64_t id)
{
    for (size_t i = 0; i < p->nfl; i++)
        if (p->fl[i].id == id)
            return &p->fl[i];
    return NULL;
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
    flight_clear(f);
    *f = p->fl[--p->nfl];
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
    return p->nfl;
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
