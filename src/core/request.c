/* request: compaction requests and responses, their checks, applying one (request.h). */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fault.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

void mc_key_clear(mc_key *k)
{
    if (!k)
        return;
    free(k->p);
    k->p = NULL;
    k->len = 0;
}

mc_status mc_key_set(mc_key *k, const uint8_t *p, size_t len, mc_err *err)
{
    uint8_t *q = mc_memdup(p, len);
    if (!q)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory copying a %zu-byte key", len);
    free(k->p);
    k->p = q;
    k->len = len;
    return MC_OK;
}

void mc_request_clear(mc_request *req)
{
    if (!req)
        return;
    for (size_t i = 0; req->inputs && i < req->ninputs; i++)
        mc_seg_meta_clear(&req->inputs[i]);
    free(req->inputs);
    mc_key_clear(&req->lo);
    mc_key_clear(&req->hi);
    mc_key_clear(&req->split);
    free(req->runs);
    for (size_t i = 0; req->guards && i < req->nguards; i++) {
        mc_key_clear(&req->guards[i].lo);
        mc_key_clear(&req->guards[i].hi);
    }
    free(req->guards);
    memset(req, 0, sizeof *req);
}

void mc_response_clear(mc_response *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; resp->outputs && i < resp->noutputs; i++)
        mc_seg_meta_clear(&resp->outputs[i]);
    free(resp->outputs);
    memset(resp, 0, sizeof *resp);
}

static mc_status key_copy(mc_key *dst, const mc_key *src, mc_err *err)
{
    if (!src->p)
        return MC_OK;
    return mc_key_set(dst, src->p, src->len, err);
}

mc_status mc_request_copy(mc_request *dst, const mc_request *src, mc_err *err)
{
    mc_request r = *src;
    r.inputs = NULL;
    r.lo = r.hi = r.split = (mc_key){0};
    r.runs = NULL;
    r.guards = NULL;
    r.ninputs = r.nruns = r.nguards = 0;
    mc_status st = MC_OK;
    if (src->ninputs && !(r.inputs = calloc(src->ninputs, sizeof *r.inputs)))
        goto oom;
    for (; r.ninputs < src->ninputs; r.ninputs++)
        if ((st = mc_seg_meta_copy(&r.inputs[r.ninputs], &src->inputs[r.ninputs], err)) != MC_OK)
            goto cleanup;
    if ((st = key_copy(&r.lo, &src->lo, err)) != MC_OK || (st = key_copy(&r.hi, &src->hi, err)) != MC_OK ||
        (st = key_copy(&r.split, &src->split, err)) != MC_OK)
        goto cleanup;
    if (src->nruns) {
        if (!(r.runs = malloc(src->nruns * sizeof *r.runs)))
            goto oom;
        memcpy(r.runs, src->runs, src->nruns * sizeof *r.runs);
        r.nruns = src->nruns;
    }
    if (src->nguards && !(r.guards = calloc(src->nguards, sizeof *r.guards)))
        goto oom;
    for (; r.nguards < src->nguards; r.nguards++) {
        const mc_guard *g = &src->guards[r.nguards];
        mc_guard *d = &r.guards[r.nguards];
        d->min_seq = g->min_seq;
        if ((st = key_copy(&d->lo, &g->lo, err)) != MC_OK || (st = key_copy(&d->hi, &g->hi, err)) != MC_OK) {
            mc_key_clear(&d->lo);
            goto cleanup;
        }
    }
    *dst = r;
    return MC_OK;
oom:
    st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory copying compaction request %llu", ull(src->id));
cleanup:
    mc_request_clear(&r);
    return st;
}

/* A guard matters only for keys inside [lo, hi]: the rest are dropped, in
 * place, keeping their order. */
mc_status mc_request_trim_guards(mc_request *req, mc_err *err)
{
    (void)err;
    size_t kept = 0;
    for (size_t i = 0; i < req->nguards; i++) {
        mc_guard *g = &req->guards[i];
        bool below = (req->flags & MC_REQ_HAS_LO) && mc_key_cmp(g->hi.p, g->hi.len, req->lo.p, req->lo.len) < 0;
        bool above = (req->flags & MC_REQ_HAS_HI) && mc_key_cmp(g->lo.p, g->lo.len, req->hi.p, req->hi.len) > 0;
        if (below || above) {
            mc_key_clear(&g->lo);
            mc_key_clear(&g->hi);
        } else {
            req->guards[kept++] = *g;
        }
    }
    req->nguards = kept;
    return MC_OK;
}

uint64_t mc_request_max_outputs(const mc_request *req)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < req->ninputs; i++)
        bytes += req->inputs[i].bytes;
    uint64_t seg = req->segment_size ? req->segment_size : 1;
    return bytes / seg + req->ninputs + 3;
}

/* ---- allocated segnos: runs ---- */

mc_status mc_request_set_run(mc_request *req, uint64_t first, uint64_t count, mc_err *err)
{
    if (!req->runs && !(req->runs = malloc(sizeof *req->runs)))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory allocating segnos",
                          ull(req->id));
    req->runs[0] = (mc_segno_run){.first = first, .count = count};
    req->nruns = 1;
    return MC_OK;
}

uint64_t mc_request_segno_count(const mc_request *req)
{
    uint64_t n = 0;
    for (size_t i = 0; i < req->nruns; i++)
        n += req->runs[i].count;
    return n;
}

uint64_t mc_request_segno_at(const mc_request *req, uint64_t i)
{
    size_t k = 0;
    while (i >= req->runs[k].count)
        i -= req->runs[k++].count;
    return req->runs[k].first + i;
}

bool mc_request_owns_segno(const mc_request *req, uint64_t segno)
{
    size_t lo = 0, hi = req->nruns;   /* the first run starting above SEGNO is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (req->runs[mid].first <= segno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && segno - req->runs[lo - 1].first < req->runs[lo - 1].count;
}

_Static_assert(MC_REQUEST_MAX_SEGNOS == (uint64_t)1 << 40, "mc_segno_runs_fault's message says 2^40");

const char *mc_segno_runs_fault(const mc_segno_run *runs, size_t n, size_t *at)
{
    uint64_t total = 0;
    *at = MC_REQUEST_MAX_RUNS;   /* the first one too many */
    if (n > MC_REQUEST_MAX_RUNS)
        return "more runs than " STR(MC_REQUEST_MAX_RUNS);
    for (size_t i = 0; i < n; i++) {
        const mc_segno_run *r = &runs[i];
        *at = i;
        if (r->count == 0)
            return "an empty run";
        if (r->first == 0)
            return "segno 0";
        if (r->first > UINT64_MAX - r->count)
            return "a run past the largest segno";
        if (i > 0 && r->first < runs[i - 1].first + runs[i - 1].count)
            return "a run overlapping or before the previous one";
        /* Sorted and disjoint: the sum stays below UINT64_MAX. */
        if ((total += r->count) > MC_REQUEST_MAX_SEGNOS)
            return "more than 2^40 segnos in all";
    }
    return NULL;
}

/* ---- checks shared by the worker and the coordinator ---- */

static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return mc_key_cmp(a, al, b, bl);
}

static bool key_ok(const uint8_t *p, size_t len)
{
    return p && len >= 1 && len <= MC_KEY_MAX;
}

/* A descriptor's own consistency; WHAT names it in the message. */
static mc_status meta_check(const mc_seg_meta *e, uint64_t id, const char *what, mc_err *err)
{
    const char *bad = NULL;
    if (e->segno == 0)
        bad = "segno 0";
    else if (e->nitems == 0)
        bad = "no items";
    else if (e->ndeletes > e->nitems)
        bad = "more deletes than items";
    else if (!key_ok(e->min_key, e->min_key_len) || !key_ok(e->max_key, e->max_key_len))
        bad = "a key length outside 1..4096";
    else if (kcmp(e->min_key, e->min_key_len, e->max_key, e->max_key_len) > 0)
        bad = "min_key > max_key";
    else if (e->min_seq == 0 || e->min_seq > e->max_seq)
        bad = "a bad seq range";
    if (!bad)
        return MC_OK;
    return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: %s segment %llu has %s", ull(id), what,
                      ull(e->segno), bad);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* First duplicate in V[0..n) after sorting it in place, or 0. */
static uint64_t sorted_duplicate(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, u64_cmp);
    for (size_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return v[i];
    return 0;
}

/* True when V[0..n) (sorted) holds X. */
static bool sorted_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x;
}

/* A sorted copy of REQ's input segnos, or NULL. */
static uint64_t *sorted_input_segnos(const mc_request *req)
{
    uint64_t *v = malloc((req->ninputs ? req->ninputs : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < req->ninputs; i++)
        v[i] = req->inputs[i].segno;
    qsort(v, req->ninputs, sizeof *v, u64_cmp);
    return v;
}

static bool below_lo(const mc_request *req, const uint8_t *k, size_t len)
{
    return (req->flags & MC_REQ_HAS_LO) && kcmp(k, len, req->lo.p, req->lo.len) < 0;
}

static bool above_hi(const mc_request *req, const uint8_t *k, size_t len)
{
    return (req->flags & MC_REQ_HAS_HI) && kcmp(k, len, req->hi.p, req->hi.len) > 0;
}

static mc_status check_shape(const mc_request *req, mc_err *err)
{
    uint64_t id = req->id;
    if (req->flags & ~MC_REQ_KNOWN_FLAGS)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: unknown flags 0x%x", ull(id),
                          (unsigned)(req->flags & ~MC_REQ_KNOWN_FLAGS));
    if (req->nuppers < 1 || req->nuppers > req->ninputs || !req->inputs)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: %zu uppers among %zu inputs", ull(id),
                          req->nuppers, req->ninputs);
    if (req->upper_level >= MC_LEVELS_MAX || req->out_level >= MC_LEVELS_MAX)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: level %u -> %u out of range", ull(id),
                          req->upper_level, req->out_level);
    bool lowers = req->ninputs > req->nuppers;
    bool down = req->out_level == req->upper_level + 1;
    if (!(down || (!lowers && req->out_level == req->upper_level)))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output level %u does not follow level %u%s",
                          ull(id), req->out_level, req->upper_level, lowers ? " with lower inputs" : "");
    if (req->segment_size == 0)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: segment size 0", ull(id));
    if (req->nruns == 0 || !req->runs)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: no output segnos allocated", ull(id));
    if ((req->flags & MC_REQ_HAS_LO) && !key_ok(req->lo.p, req->lo.len))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: bad lo key", ull(id));
    if ((req->flags & MC_REQ_HAS_HI) && !key_ok(req->hi.p, req->hi.len))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: bad hi key", ull(id));
    if ((req->flags & MC_REQ_HAS_LO) && above_hi(req, req->lo.p, req->lo.len))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: lo > hi", ull(id));
    if (req->flags & MC_REQ_STICKY) {
        if (!key_ok(req->split.p, req->split.len))
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: sticky without a split key", ull(id));
        if (req->out_level == req->upper_level)
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: sticky rewrite in place", ull(id));
    }
    for (size_t i = 0; i < req->nguards; i++) {
        const mc_guard *g = &req->guards[i];
        if (!key_ok(g->lo.p, g->lo.len) || !key_ok(g->hi.p, g->hi.len) ||
            kcmp(g->lo.p, g->lo.len, g->hi.p, g->hi.len) > 0)
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: guard %zu has a bad key range", ull(id), i);
    }
    return MC_OK;
}

/* Segnos unique among inputs and outputs: the runs keep their rules, no
 * input segno is 0, twice, or inside a run. */
static mc_status check_segnos(const mc_request *req, mc_err *err)
{
    size_t at = 0;
    const char *fault = mc_segno_runs_fault(req->runs, req->nruns, &at);
    if (fault)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output segno run %zu of %zu: %s", ull(req->id),
                          at, req->nruns, fault);
    uint64_t *v = sorted_input_segnos(req);
    if (!v)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory checking segnos", ull(req->id));
    mc_status st = MC_OK;
    if (req->ninputs && v[0] == 0)
        st = mc_err_set(err, MC_EPROTO, 0, "compaction %llu: segno 0", ull(req->id));
    for (size_t i = 0; i < req->ninputs && st == MC_OK; i++)
        if ((i > 0 && v[i] == v[i - 1]) || mc_request_owns_segno(req, v[i]))
            st = mc_err_set(err, MC_EPROTO, 0, "compaction %llu: segno %llu appears twice among inputs and outputs",
                            ull(req->id), ull(v[i]));
    free(v);
    return st;
}

mc_status mc_request_check(const mc_request *req, mc_err *err)
{
    mc_status st = check_shape(req, err);
    if (st != MC_OK || (st = check_segnos(req, err)) != MC_OK)
        return st;
    uint64_t id = req->id;
    const uint8_t *ulo = NULL, *uhi = NULL;
    size_t ulo_len = 0, uhi_len = 0;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = &req->inputs[i];
        bool upper = i < req->nuppers;
        if ((st = meta_check(e, id, upper ? "upper" : "lower", err)) != MC_OK)
            return st;
        unsigned want = upper ? req->upper_level : req->out_level;
        if (e->level != want)
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: %s segment %llu is at level %u, not %u",
                              ull(id), upper ? "upper" : "lower", ull(e->segno), e->level, want);
        if (upper) {
            if (!ulo || kcmp(e->min_key, e->min_key_len, ulo, ulo_len) < 0)
                ulo = e->min_key, ulo_len = e->min_key_len;
            if (!uhi || kcmp(e->max_key, e->max_key_len, uhi, uhi_len) > 0)
                uhi = e->max_key, uhi_len = e->max_key_len;
            continue;
        }
        if (i > req->nuppers) {
            const mc_seg_meta *p = &req->inputs[i - 1];
            if (kcmp(p->max_key, p->max_key_len, e->min_key, e->min_key_len) >= 0)
                return mc_err_set(err, MC_EPROTO, 0,
                                  "compaction %llu: lower segments %llu and %llu are unsorted or overlap",
                                  ull(id), ull(p->segno), ull(e->segno));
        }
        if (!mc_ranges_overlap(e->min_key, e->min_key_len, e->max_key, e->max_key_len, ulo, ulo_len, uhi, uhi_len))
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: lower segment %llu does not overlap the uppers",
                              ull(id), ull(e->segno));
        if (below_lo(req, e->min_key, e->min_key_len) || above_hi(req, e->max_key, e->max_key_len))
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: lower segment %llu lies outside [lo, hi]",
                              ull(id), ull(e->segno));
        if ((req->flags & MC_REQ_STICKY) &&
            kcmp(e->max_key, e->max_key_len, req->split.p, req->split.len) > 0)
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: lower segment %llu extends past the split key",
                              ull(id), ull(e->segno));
    }
    return MC_OK;
}

/* ---- coordinator side ---- */

typedef struct span {
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    uint64_t min_seq, max_seq, nitems;
} span;

static span inputs_span(const mc_request *req)
{
    span s = {0};
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = &req->inputs[i];
        if (!s.lo || kcmp(e->min_key, e->min_key_len, s.lo, s.lo_len) < 0)
            s.lo = e->min_key, s.lo_len = e->min_key_len;
        if (!s.hi || kcmp(e->max_key, e->max_key_len, s.hi, s.hi_len) > 0)
            s.hi = e->max_key, s.hi_len = e->max_key_len;
        if (i == 0 || e->min_seq < s.min_seq)
            s.min_seq = e->min_seq;
        if (e->max_seq > s.max_seq)
            s.max_seq = e->max_seq;
        s.nitems += e->nitems;
    }
    return s;
}

static const mc_response *sort_resp;

static int output_cmp(const void *a, const void *b)
{
    const mc_seg_meta *x = &sort_resp->outputs[*(const size_t *)a];
    const mc_seg_meta *y = &sort_resp->outputs[*(const size_t *)b];
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    return kcmp(x->min_key, x->min_key_len, y->min_key, y->min_key_len);
}

/* Outputs at a level >= 1 must not overlap each other. */
static mc_status check_output_overlaps(const mc_request *req, const mc_response *resp, mc_err *err)
{
    if (resp->noutputs < 2)
        return MC_OK;
    size_t *idx = malloc(resp->noutputs * sizeof *idx);
    if (!idx)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory validating", ull(req->id));
    for (size_t i = 0; i < resp->noutputs; i++)
        idx[i] = i;
    sort_resp = resp;   /* qsort has no context argument in C11 */
    qsort(idx, resp->noutputs, sizeof *idx, output_cmp);
    sort_resp = NULL;
    mc_status st = MC_OK;
    for (size_t i = 1; i < resp->noutputs && st == MC_OK; i++) {
        const mc_seg_meta *p = &resp->outputs[idx[i - 1]], *e = &resp->outputs[idx[i]];
        if (p->level == e->level && e->level >= 1 &&
            kcmp(p->max_key, p->max_key_len, e->min_key, e->min_key_len) >= 0)
            st = mc_err_set(err, MC_EPROTO, 0, "compaction %llu: outputs %llu and %llu overlap at level %u",
                            ull(req->id), ull(p->segno), ull(e->segno), e->level);
    }
    free(idx);
    return st;
}

static mc_status check_output(const mc_request *req, const mc_seg_meta *o, const span *in, mc_err *err)
{
    uint64_t id = req->id;
    mc_status st = meta_check(o, id, "output", err);
    if (st != MC_OK)
        return st;
    if (!mc_request_owns_segno(req, o->segno))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output segno %llu was not allocated to it",
                          ull(id), ull(o->segno));
    bool sticky = req->flags & MC_REQ_STICKY;
    bool leftover = sticky && o->level == req->upper_level;
    if (o->level != req->out_level && !leftover)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output %llu at level %u, expected %u", ull(id),
                          ull(o->segno), o->level, req->out_level);
    if (below_lo(req, o->min_key, o->min_key_len) || above_hi(req, o->max_key, o->max_key_len) ||
        kcmp(o->min_key, o->min_key_len, in->lo, in->lo_len) < 0 ||
        kcmp(o->max_key, o->max_key_len, in->hi, in->hi_len) > 0)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output %llu lies outside the inputs' key range",
                          ull(id), ull(o->segno));
    if (sticky && !leftover && kcmp(o->max_key, o->max_key_len, req->split.p, req->split.len) > 0)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output %llu extends past the split key", ull(id),
                          ull(o->segno));
    if (leftover && kcmp(o->min_key, o->min_key_len, req->split.p, req->split.len) <= 0)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: leftover %llu starts at or before the split key",
                          ull(id), ull(o->segno));
    if (o->min_seq < in->min_seq || o->max_seq > in->max_seq)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output %llu has seqs outside the inputs'", ull(id),
                          ull(o->segno));
    return MC_OK;
}

mc_status mc_response_validate(const mc_request *req, const mc_response *resp, mc_err *err)
{
    uint64_t id = req->id;
    if (resp->id != id)
        return mc_err_set(err, MC_EPROTO, 0, "response for compaction %llu matched to request %llu",
                          ull(resp->id), ull(id));
    if (resp->status != MC_OK)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: response carries an error (%s: %s)", ull(id),
                          mc_strerror((mc_status)resp->status), resp->msg);
    uint64_t nsegnos = mc_request_segno_count(req);
    if (resp->noutputs > nsegnos || (resp->noutputs && !resp->outputs))
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: %zu outputs for %llu allocated segnos", ull(id),
                          resp->noutputs, ull(nsegnos));
    if (resp->noutputs == 0)
        return MC_OK;
    span in = inputs_span(req);
    uint64_t items = 0;
    mc_status st = MC_OK;
    for (size_t i = 0; i < resp->noutputs && st == MC_OK; i++) {
        st = check_output(req, &resp->outputs[i], &in, err);
        items += resp->outputs[i].nitems;
    }
    if (st != MC_OK)
        return st;
    if (items > in.nitems)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: %llu items out of %llu in", ull(id), ull(items),
                          ull(in.nitems));
    uint64_t *v = malloc(resp->noutputs * sizeof *v);
    if (!v)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory validating", ull(id));
    for (size_t i = 0; i < resp->noutputs; i++)
        v[i] = resp->outputs[i].segno;
    uint64_t dup = sorted_duplicate(v, resp->noutputs);
    free(v);
    if (dup)
        return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output segno %llu used twice", ull(id), ull(dup));
    return check_output_overlaps(req, resp, err);
}

/* ---- applying ---- */

/* Everything apply can check before changing M. */
static mc_status apply_precheck(const mc_manifest *m, const mc_request *req, const mc_response *resp, mc_err *err)
{
    uint64_t id = req->id;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = mc_manifest_find(m, req->inputs[i].segno);
        if (!e || e->level != req->inputs[i].level)
            return mc_err_set(err, MC_EPROTO, 0, "compaction %llu: input segment %llu is not at level %u of the "
                              "manifest", ull(id), ull(req->inputs[i].segno), req->inputs[i].level);
    }
    size_t ninputs = req->ninputs;
    uint64_t *inputs = sorted_input_segnos(req);
    if (!inputs)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory applying", ull(id));
    for (size_t i = 0; i < resp->noutputs; i++) {
        const mc_seg_meta *o = &resp->outputs[i];
        mc_status st = MC_OK;
        if (mc_manifest_find(m, o->segno))
            st = mc_err_set(err, MC_EEXIST, 0, "compaction %llu: output segno %llu is already in the manifest",
                            ull(id), ull(o->segno));
        else if (o->level >= mc_manifest_params(m)->levels)
            st = mc_err_set(err, MC_EPROTO, 0, "compaction %llu: output %llu at level %u beyond the store's "
                            "levels", ull(id), ull(o->segno), o->level);
        if (st != MC_OK) {
            free(inputs);
            return st;
        }
        if (o->level == 0)
            continue;
        size_t first = 0, end = 0;
        mc_manifest_level_overlaps(m, o->level, o->min_key, o->min_key_len, o->max_key, o->max_key_len, &first,
                                   &end);
        for (size_t j = first; j < end; j++) {
            const mc_seg_meta *e = mc_manifest_level_at(m, o->level, j);
            if (!sorted_has(inputs, ninputs, e->segno)) {
                free(inputs);
                return mc_err_set(err, MC_ECORRUPT, 0, "compaction %llu: output %llu would overlap segment %llu "
                                  "at level %u", ull(id), ull(o->segno), ull(e->segno), o->level);
            }
        }
    }
    free(inputs);
    return MC_OK;
}

mc_status mc_manifest_apply(mc_manifest *m, const mc_request *req, const mc_response *resp, mc_err *err)
{
    mc_status st = apply_precheck(m, req, resp, err);
    if (st != MC_OK)
        return st;
    mc_seg_meta *saved = calloc(req->ninputs ? req->ninputs : 1, sizeof *saved);
    size_t nsaved = 0, nremoved = 0, nadded = 0;
    if (!saved)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory applying", ull(req->id));
    for (; nsaved < req->ninputs; nsaved++)
        if ((st = mc_seg_meta_copy(&saved[nsaved], mc_manifest_find(m, req->inputs[nsaved].segno), err)) != MC_OK)
            goto cleanup;
    for (; nremoved < req->ninputs; nremoved++)
        if ((st = mc_manifest_remove(m, saved[nremoved].segno, err)) != MC_OK)
            goto cleanup;
    for (; nadded < resp->noutputs; nadded++)
        if ((st = mc_manifest_add(m, &resp->outputs[nadded], err)) != MC_OK)
            goto cleanup;
cleanup:
    if (st != MC_OK) {
        /* Undo in reverse order; both steps only restore what was there.
         * Putting an input back allocates: if that fails the manifest has
         * lost a live segment, and must never be committed or swept by
         * (fault point apply_restore stands for that failure). */
        while (nadded)
            mc_manifest_remove(m, resp->outputs[--nadded].segno, NULL);
        while (nremoved) {
            const mc_seg_meta *back = &saved[--nremoved];
            if (mc_fault_hit("apply_restore", back->segno) || mc_manifest_add(m, back, NULL) != MC_OK)
                mc_manifest_poison(m);
        }
    }
    for (size_t i = 0; i < nsaved; i++)
        mc_seg_meta_clear(&saved[i]);
    free(saved);
    return st;
}
