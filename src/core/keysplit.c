/* keysplit: the key space cut into parts of about equal bytes (keysplit.h). */
#include "keysplit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct event {
    double x;
    double dslope;   /* change of density (bytes per unit) at x */
    double mass;     /* point mass at x */
} event;

static int event_cmp(const void *a, const void *b)
{
    double x = ((const event *)a)->x, y = ((const event *)b)->x;
    return x < y ? -1 : (x > y);
}

/* The 8 bytes of KEY after the first PLEN, big-endian, as a number. */
static double position(const uint8_t *key, size_t len, size_t plen)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (plen + i < len ? key[plen + i] : 0);
    return (double)v;
}

void mc_keysplit_clear(mc_keysplit *ks)
{
    for (size_t i = 0; ks->bound && i + 1 < ks->nparts; i++)
        free(ks->bound[i]);
    free(ks->bound);
    free(ks->bound_len);
    memset(ks, 0, sizeof *ks);
}

/* The segments to split: AT(CTX, i) for i < N, each i asked in increasing
 * order (twice over). */
typedef const mc_seg_meta *(*seg_at_fn)(void *ctx, size_t i);

static mc_status compute(seg_at_fn at, void *ctx, size_t n, size_t nparts, mc_keysplit *out, mc_err *err)
{
    memset(out, 0, sizeof *out);
    mc_status st = MC_OK;
    size_t nev = 0;
    event *ev = NULL;
    if (nparts < 1)
        nparts = 1;
    out->nparts = nparts;
    out->bound = calloc(nparts, sizeof *out->bound);
    out->bound_len = calloc(nparts, sizeof *out->bound_len);
    ev = malloc((2 * n + 1) * sizeof *ev);
    if (!out->bound || !out->bound_len || !ev) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory splitting the key space of %zu segments", n);
        goto cleanup;
    }
    /* The store's smallest and largest key, and their common prefix. */
    const mc_seg_meta *lo = NULL, *hi = NULL;
    for (size_t i = 0; i < n; i++) {
        const mc_seg_meta *s = at(ctx, i);
        if (!lo || mc_key_cmp(s->min_key, s->min_key_len, lo->min_key, lo->min_key_len) < 0)
            lo = s;
        if (!hi || mc_key_cmp(s->max_key, s->max_key_len, hi->max_key, hi->max_key_len) > 0)
            hi = s;
    }
    size_t plen = 0;
    while (lo && plen < lo->min_key_len && plen < hi->max_key_len && lo->min_key[plen] == hi->max_key[plen])
        plen++;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const mc_seg_meta *s = at(ctx, i);
        double a = position(s->min_key, s->min_key_len, plen), b = position(s->max_key, s->max_key_len, plen);
        double w = (double)s->bytes + 1;   /* +1: a segment of empty keys still counts */
        total += w;
        if (b > a) {
            ev[nev++] = (event){a, w / (b - a), 0};
            ev[nev++] = (event){b, -w / (b - a), 0};
        } else {
            ev[nev++] = (event){a, 0, w};
        }
    }
    qsort(ev, nev, sizeof *ev, event_cmp);
    /* Sweep: mass below x grows by density * dx between events. */
    double mass = 0, density = 0, x = nev ? ev[0].x : 0;
    size_t e = 0;
    for (size_t part = 1; part < nparts; part++) {
        double target = total * (double)part / (double)nparts, cut = x;
        for (;;) {
            double next = e < nev ? ev[e].x : x;
            double gain = density * (next - x);
            if (e >= nev || mass + gain >= target) {
                cut = density > 0 && mass < target ? x + (target - mass) / density : x;
                if (e < nev && cut > next)
                    cut = next;
                break;
            }
            mass += gain;
            x = next;
            density += ev[e].dslope;
            mass += ev[e].mass;
            e++;
            if (mass >= target) {
                cut = x;
                break;
            }
        }
        /* Boundary key: the prefix, then the cut as 8 big-endian bytes. */
        double c = floor(cut);
        uint64_t v = c <= 0 ? 0 : c >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)c;
        uint8_t *k = malloc(plen + 8);
        if (!k) {
            st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory splitting the key space");
            goto cleanup;
        }
        if (plen)
            memcpy(k, lo->min_key, plen);
        for (int i = 0; i < 8; i++)
            k[plen + (size_t)i] = (uint8_t)(v >> (56 - 8 * i));
        out->bound[part - 1] = k;
        out->bound_len[part - 1] = plen + 8;
        if (part > 1 && mc_key_cmp(k, plen + 8, out->bound[part - 2], out->bound_len[part - 2]) < 0) {
            memcpy(k, out->bound[part - 2], plen + 8);   /* keep them non-decreasing */
        }
    }
cleanup:
    free(ev);
    if (st != MC_OK)
        mc_keysplit_clear(out);
    return st;
}

/* The manifest's segments, level by level, i counting across levels: a
 * cursor, restarted when i goes back. */
typedef struct manifest_walk {
    const mc_manifest *m;
    unsigned level;
    size_t base;   /* index of the first entry of LEVEL */
} manifest_walk;

static const mc_seg_meta *manifest_at(void *ctx, size_t i)
{
    manifest_walk *w = ctx;
    if (i < w->base)
        w->level = 0, w->base = 0;
    while (i - w->base >= mc_manifest_level_count(w->m, w->level))
        w->base += mc_manifest_level_count(w->m, w->level++);
    return mc_manifest_level_at(w->m, w->level, i - w->base);
}

mc_status mc_keysplit_compute(const mc_manifest *m, size_t nparts, mc_keysplit *out, mc_err *err)
{
    manifest_walk w = {.m = m};
    return compute(manifest_at, &w, mc_manifest_count(m), nparts, out, err);
}

static const mc_seg_meta *array_at(void *ctx, size_t i)
{
    const mc_seg_meta *const *segs = ctx;
    return &(*segs)[i];
}

mc_status mc_keysplit_segs(const mc_seg_meta *segs, size_t n, size_t nparts, mc_keysplit *out, mc_err *err)
{
    return compute(array_at, &segs, n, nparts, out, err);
}
