/* merge: k-way merge of sorted item streams by a binary heap (merge.h). */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct mc_merge {
    mc_merge_source *src;
    mc_item *cur;        /* current item of each source (valid while in the heap) */
    size_t n;
    size_t *heap;        /* source indices, top = smallest key, then newest */
    size_t nheap;
    size_t *advance;     /* sources whose item was consumed by the last call */
    size_t nadvance;
    bool started;
    uint64_t overwrites, conflicts, duplicates;
};

/* Total order of versions: key ascending, then seq descending, then the
 * deterministic tie-break of merge.h (delete first, then larger value). */
static int version_cmp(const mc_item *a, const mc_item *b)
{
    int c = mc_key_cmp(a->key, a->key_len, b->key, b->key_len);
    if (c != 0)
        return c;
    if (a->seq != b->seq)
        return a->seq > b->seq ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind == MC_KIND_DELETE ? -1 : 1;
    return -mc_key_cmp(a->value, a->value_len, b->value, b->value_len);
}

static bool heap_less(const mc_merge *m, size_t i, size_t j)
{
    int c = version_cmp(&m->cur[m->heap[i]], &m->cur[m->heap[j]]);
    if (c != 0)
        return c < 0;
    return m->heap[i] < m->heap[j];   /* identical versions: stable by source */
}

static void heap_swap(mc_merge *m, size_t i, size_t j)
{
    size_t t = m->heap[i];
    m->heap[i] = m->heap[j];
    m->heap[j] = t;
}

static void sift_down(mc_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->nheap && heap_less(m, l, best))
            best = l;
        if (r < m->nheap && heap_less(m, r, best))
            best = r;
        if (best == i)
            return;
        heap_swap(m, i, best);
        i = best;
    }
}

static void sift_up(mc_merge *m, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(m, i, parent))
            return;
        heap_swap(m, i, parent);
        i = parent;
    }
}

static size_t heap_pop(mc_merge *m)
{
    size_t top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    if (m->nheap)
        sift_down(m, 0);
    return top;
}

/* Pulls the next item of source S into the heap (nothing at its end). */
static mc_status refill(mc_merge *m, size_t s, mc_err *err)
{
    bool eof = false;
    mc_status st = m->src[s].next(m->src[s].ctx, &m->cur[s], &eof, err);
    if (st != MC_OK || eof)
        return st;
    m->heap[m->nheap] = s;
    sift_up(m, m->nheap++);
    return MC_OK;
}

mc_status mc_merge_create(const mc_merge_source *sources, size_t n, mc_merge **out, mc_err *err)
{
    *out = NULL;
    mc_merge *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->n = n;
    size_t alloc = n ? n : 1;
    m->src = malloc(alloc * sizeof *m->src);
    m->cur = calloc(alloc, sizeof *m->cur);
    m->heap = malloc(alloc * sizeof *m->heap);
    m->advance = malloc(alloc * sizeof *m->advance);
    if (!m->src || !m->cur || !m->heap || !m->advance)
        goto oom;
    if (n)
        memcpy(m->src, sources, n * sizeof *sources);
    *out = m;
    return MC_OK;
oom:
    mc_merge_destroy(&m);
    return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory creating a merge of %zu sources", n);
}

static bool same_version(const mc_item *a, const mc_item *b)
{
    return a->kind == b->kind && a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

mc_status mc_merge_next(mc_merge *m, mc_item *item, bool *eof, mc_err *err)
{
    mc_status st = MC_OK;
    *eof = false;
    /* The items returned last time stay valid until now: advance lazily. */
    if (!m->started) {
        m->started = true;
        for (size_t s = 0; s < m->n; s++)
            m->advance[m->nadvance++] = s;
    }
    while (m->nadvance) {
        st = refill(m, m->advance[--m->nadvance], err);
        if (st != MC_OK)
            return st;
    }
    if (m->nheap == 0) {
        *eof = true;
        return MC_OK;
    }
    size_t win = heap_pop(m);
    m->advance[m->nadvance++] = win;
    const mc_item *w = &m->cur[win];
    while (m->nheap && mc_key_cmp(m->cur[m->heap[0]].key, m->cur[m->heap[0]].key_len,
                                  w->key, w->key_len) == 0) {
        size_t s = heap_pop(m);
        m->advance[m->nadvance++] = s;
        const mc_item *o = &m->cur[s];
        if (o->seq != w->seq)
            m->overwrites++;
        else if (!same_version(o, w))
            m->conflicts++;
        else
            m->duplicates++;
    }
    *item = *w;
    return MC_OK;
}

uint64_t mc_merge_overwrites(const mc_merge *m)
{
    return m->overwrites;
}

uint64_t mc_merge_conflicts(const mc_merge *m)
{
    return m->conflicts;
}

uint64_t mc_merge_duplicates(const mc_merge *m)
{
    return m->duplicates;
}

void mc_merge_destroy(mc_merge **mp)
{
    if (!mp || !*mp)
        return;
    mc_merge *m = *mp;
    free(m->src);
    free(m->cur);
    free(m->heap);
    free(m->advance);
    free(m);
    *mp = NULL;
}

mc_status mc_range_source_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    mc_range_source *rs = ctx;
    *eof = false;
    if (!rs->started) {
        rs->started = true;
        if (rs->lo) {
            mc_status st = mc_seg_reader_seek(rs->reader, rs->lo, rs->lo_len, err);
            if (st != MC_OK)
                return st;
        }
    }
    mc_status st = mc_seg_reader_next(rs->reader, item, eof, err);
    if (st != MC_OK || *eof)
        return st;
    if (rs->hi && mc_key_cmp(item->key, item->key_len, rs->hi, rs->hi_len) > 0)
        *eof = true;
    return MC_OK;
}
