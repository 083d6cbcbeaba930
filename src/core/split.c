/* split: slicing a compaction by key range and joining the results (split.h). */
#include "split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "keysplit.h"

/* Boundary keys: slice i covers (b[i-1], b[i]] with b[-1] = parent lo and
 * b[n-1] = parent hi. */
typedef struct bounds {
    mc_key *keys;
    size_t n;
} bounds;

static void bounds_clear(bounds *b)
{
    for (size_t i = 0; i < b->n; i++)
        mc_key_clear(&b->keys[i]);
    free(b->keys);
    b->keys = NULL;
    b->n = 0;
}

static mc_status bounds_push(bounds *b, const uint8_t *p, size_t len, mc_err *err)
{
    if (len >= MC_KEY_MAX)
        return MC_OK; /* its successor (K + "\0") would not be a valid key bound */
    if (b->n && mc_key_cmp(b->keys[b->n - 1].p, b->keys[b->n - 1].len, p, len) >= 0)
        return MC_OK; /* keep them strictly increasing */
    mc_key *k = realloc(b->keys, (b->n + 1) * sizeof *k);
    if (!k)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory splitting a compaction");
    b->keys = k;
    b->keys[b->n] = (mc_key){0};
    mc_status st = mc_key_set(&b->keys[b->n], p, len, err);
    if (st == MC_OK)
        b->n++;
    return st;
}

/* K may end a slice: inside the parent's range and below its end. */
static bool in_parent(const mc_request *parent, const uint8_t *k, size_t len)
{
    if ((parent->flags & MC_REQ_HAS_LO) && mc_key_cmp(k, len, parent->lo.p, parent->lo.len) < 0)
        return false;
    if ((parent->flags & MC_REQ_HAS_HI) && mc_key_cmp(k, len, parent->hi.p, parent->hi.len) >= 0)
        return false;
    return true;
}

/* Boundaries balancing every input's bytes over WANT slices: the
 * quantiles of the inputs' byte distribution (keysplit.h: each input's
 * bytes spread over its own key range, so a level 0 of whole-range and
 * narrow segments, or a few wide uppers over many lowers, is cut where the
 * data is, not at even steps of the key space). A cut inside a lower moves
 * to that lower's end, so that each lower lies wholly in one slice. */
static mc_status data_bounds(const mc_request *parent, size_t want, bounds *b, mc_err *err)
{
    mc_keysplit ks;
    mc_status st = mc_keysplit_segs(parent->inputs, parent->ninputs, want, &ks, err);
    if (st != MC_OK)
        return st;
    /* The inputs' smallest and largest keys: a cut outside leaves a slice empty. */
    const mc_seg_meta *lo = &parent->inputs[0], *hi = &parent->inputs[0];
    for (size_t i = 1; i < parent->ninputs; i++) {
        const mc_seg_meta *e = &parent->inputs[i];
        if (mc_key_cmp(e->min_key, e->min_key_len, lo->min_key, lo->min_key_len) < 0)
            lo = e;
        if (mc_key_cmp(e->max_key, e->max_key_len, hi->max_key, hi->max_key_len) > 0)
            hi = e;
    }
    const mc_seg_meta *lw = parent->inputs + parent->nuppers;
    size_t nl = parent->ninputs - parent->nuppers, j = 0;
    for (size_t i = 0; i + 1 < ks.nparts && st == MC_OK; i++) {
        const uint8_t *k = ks.bound[i];
        size_t len = ks.bound_len[i];
        while (j < nl && mc_key_cmp(lw[j].max_key, lw[j].max_key_len, k, len) < 0)
            j++;   /* lowers are sorted and disjoint: j is the first not wholly below K */
        if (j < nl && mc_key_cmp(lw[j].min_key, lw[j].min_key_len, k, len) <= 0)
            k = lw[j].max_key, len = lw[j].max_key_len;
        if (mc_key_cmp(k, len, lo->min_key, lo->min_key_len) < 0 ||
            mc_key_cmp(k, len, hi->max_key, hi->max_key_len) >= 0)
            continue;
        if (in_parent(parent, k, len))
            st = bounds_push(b, k, len, err);
    }
    mc_keysplit_clear(&ks);
    return st;
}

/* K + "\0": the first key after K. */
static mc_status key_set_successor(mc_key *dst, const mc_key *k, mc_err *err)
{
    uint8_t *p = malloc(k->len + 1);
    if (!p)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory splitting a compaction");
    memcpy(p, k->p, k->len);
    p[k->len] = 0;
    mc_key_clear(dst);
    dst->p = p;
    dst->len = k->len + 1;
    return MC_OK;
}

static bool lower_in(const mc_seg_meta *e, const mc_key *lo, const mc_key *hi)
{
    if (lo && mc_key_cmp(e->max_key, e->max_key_len, lo->p, lo->len) < 0)
        return false;
    if (hi && mc_key_cmp(e->min_key, e->min_key_len, hi->p, hi->len) > 0)
        return false;
    return true;
}

/* Slice I of PARENT between boundaries B. */
static mc_status make_slice(const mc_request *parent, const bounds *b, size_t i, mc_manifest *m,
                            mc_request *s, mc_err *err)
{
    mc_status st = mc_request_copy(s, parent, err);
    if (st != MC_OK)
        return st;
    s->id = 0;
    if (i > 0) {
        if ((st = key_set_successor(&s->lo, &b->keys[i - 1], err)) != MC_OK)
            return st;
        s->flags |= MC_REQ_HAS_LO;
    }
    if (i < b->n) {
        if ((st = mc_key_set(&s->hi, b->keys[i].p, b->keys[i].len, err)) != MC_OK)
            return st;
        s->flags |= MC_REQ_HAS_HI;
    }
    const mc_key *lo = (s->flags & MC_REQ_HAS_LO) ? &s->lo : NULL;
    const mc_key *hi = (s->flags & MC_REQ_HAS_HI) ? &s->hi : NULL;
    /* Keep the uppers and the lowers inside [lo, hi], in order. */
    size_t keep = s->nuppers;
    for (size_t j = s->nuppers; j < s->ninputs; j++) {
        if (lower_in(&s->inputs[j], lo, hi)) {
            if (keep != j) {
                s->inputs[keep] = s->inputs[j];
                memset(&s->inputs[j], 0, sizeof s->inputs[j]);
            }
            keep++;
        } else {
            mc_seg_meta_clear(&s->inputs[j]);
        }
    }
    s->ninputs = keep;
    /* Worst case: every upper byte lands in this slice. */
    uint64_t need = mc_request_max_outputs(s);
    return mc_request_set_run(s, mc_manifest_alloc_segnos(m, need), need, err);
}

mc_status mc_split_request(const mc_request *parent, size_t want, mc_manifest *m,
                           mc_request **slices, size_t *n, mc_err *err)
{
    bounds b = {0};
    mc_request *out = NULL;
    size_t made = 0;
    mc_status st = MC_OK;
    *slices = NULL;
    *n = 0;
    if (want > 1 && parent->nuppers >= 1) {
        if ((st = data_bounds(parent, want, &b, err)) != MC_OK)
            goto cleanup;
    }
    out = calloc(b.n + 1, sizeof *out);
    if (!out) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory splitting a compaction");
        goto cleanup;
    }
    for (made = 0; made <= b.n; made++) {
        if ((st = make_slice(parent, &b, made, m, &out[made], err)) != MC_OK) {
            made++;
            goto cleanup;
        }
    }
    *slices = out;
    *n = made;
    out = NULL;
cleanup:
    if (out) {
        for (size_t i = 0; i < made; i++)
            mc_request_clear(&out[i]);
        free(out);
    }
    bounds_clear(&b);
    return st;
}

static int run_cmp(const void *a, const void *b)
{
    uint64_t x = ((const mc_segno_run *)a)->first, y = ((const mc_segno_run *)b)->first;
    return x < y ? -1 : (x > y ? 1 : 0);
}

mc_status mc_split_join(const mc_request *parent, const mc_request *slices, const mc_response *resps,
                        size_t n, mc_request *joined_req, mc_response *joined_resp, mc_err *err)
{
    mc_request r = {0};
    mc_response a = {0};
    size_t nruns = 0, nout = 0;
    mc_status st = mc_request_copy(&r, parent, err);
    if (st != MC_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        nruns += slices[i].nruns;
        nout += resps[i].noutputs;
    }
    free(r.runs);
    r.runs = malloc((nruns ? nruns : 1) * sizeof *r.runs);
    a.outputs = calloc(nout ? nout : 1, sizeof *a.outputs);
    if (!r.runs || !a.outputs) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory joining %zu slices", n);
        goto fail;
    }
    r.nruns = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(r.runs + r.nruns, slices[i].runs, slices[i].nruns * sizeof *r.runs);
        r.nruns += slices[i].nruns;
        const mc_response *s = &resps[i];
        for (size_t j = 0; j < s->noutputs; j++) {
            if ((st = mc_seg_meta_copy(&a.outputs[a.noutputs], &s->outputs[j], err)) != MC_OK)
                goto fail;
            a.noutputs++;
        }
        a.stats.items_in += s->stats.items_in;
        a.stats.bytes_in += s->stats.bytes_in;
        a.stats.items_out += s->stats.items_out;
        a.stats.bytes_out += s->stats.bytes_out;
        a.stats.deletes_dropped += s->stats.deletes_dropped;
        a.stats.overwrites_dropped += s->stats.overwrites_dropped;
        a.stats.duplicates_dropped += s->stats.duplicates_dropped;
        a.stats.seconds += s->stats.seconds;
    }
    /* Sorted, as runs must be: a slice sent again got segnos after the others'. */
    qsort(r.runs, r.nruns, sizeof *r.runs, run_cmp);
    a.id = parent->id;
    a.status = MC_OK;
    *joined_req = r;
    *joined_resp = a;
    return MC_OK;
fail:
    mc_request_clear(&r);
    mc_response_clear(&a);
    return st;
}
