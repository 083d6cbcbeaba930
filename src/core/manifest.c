/* manifest: in-memory index of live segments: per-level sorted arrays (gap
 * buffers), a key-range index of level 0 and a segno hash (manifest.h). */
#include "manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ivtree.h"
#include "manifest_base.h"
#include "manifest_journal.h"
#include "mix.h"

/* Entries: each is one allocation, the descriptor followed by its two keys
 * (mc_seg_meta_dup); the levels and the hash point at them. */
typedef struct slot {
    uint64_t segno;   /* a copy, so that probing does not touch the entries */
    mc_seg_meta *e;
} slot;

/* A level is a gap buffer: entries [0, gap) at v[0..gap), entries [gap, n)
 * at v[gap + cap - n ..cap). Edits move the gap to where they happen, so a
 * run of edits that walks along the level (picks and moves follow cursors)
 * costs O(1) each instead of a memmove of the whole level. */
typedef struct level {
    mc_seg_meta **v;   /* level 0: ascending segno; deeper: ascending min_key */
    size_t n, cap, gap;
    uint64_t bytes, items;
} level;

static mc_seg_meta *lat(const level *l, size_t i)
{
    return l->v[i < l->gap ? i : i + (l->cap - l->n)];
}

/* Moves the gap to start at POS (0 <= POS <= n). */
static void gap_move(level *l, size_t pos)
{
    size_t g = l->cap - l->n;
    if (pos < l->gap)
        memmove(l->v + pos + g, l->v + pos, (l->gap - pos) * sizeof *l->v);
    else if (pos > l->gap)
        memmove(l->v + l->gap, l->v + l->gap + g, (pos - l->gap) * sizeof *l->v);
    l->gap = pos;
}

struct mc_manifest {
    mc_params params;
    uint64_t generation, next_segno, next_seq;
    level lv[MC_LEVELS_MAX];
    mc_ivtree l0;         /* level 0 by key range */
    slot *hash;           /* open addressing, linear probing, e NULL = empty */
    size_t hcap, hcount;  /* hcap a power of two, hcount <= hcap / 2 */
    uint64_t total_bytes;
    uint64_t content_epoch;   /* 0: unknown (a version-1 manifest) */
    bool content_changed;     /* since the last commit (mc_manifest_note_content_change) */
    mc_journal journal;       /* changes since the last commit, edit chain (manifest_io.c) */
    bool poisoned;            /* mc_manifest_poison: never commit this state */
};

/* ---- parameters ---- */

void mc_params_default(mc_params *p)
{
    p->fanout = 10;
    p->l0_limit = 4;
    p->levels = MC_LEVELS_DEFAULT;
    p->segment_size = (uint64_t)64 << 20;
}

mc_status mc_params_check(const mc_params *p, mc_err *err)
{
    if (p->fanout < 2)
        return mc_err_set(err, MC_EINVAL, 0, "fanout %u is too small (at least 2)", p->fanout);
    if (p->l0_limit < 1)
        return mc_err_set(err, MC_EINVAL, 0, "level-0 limit must be at least 1");
    if (p->levels < 2 || p->levels > MC_LEVELS_MAX)
        return mc_err_set(err, MC_EINVAL, 0, "%u levels: must be between 2 and %u", p->levels,
                          MC_LEVELS_MAX);
    if (p->segment_size < 1)
        return mc_err_set(err, MC_EINVAL, 0, "segment size must be at least 1 byte");
    return MC_OK;
}

bool mc_params_equal(const mc_params *a, const mc_params *b)
{
    return a->fanout == b->fanout && a->l0_limit == b->l0_limit && a->levels == b->levels &&
           a->segment_size == b->segment_size;
}

uint64_t mc_params_level_limit(const mc_params *p, unsigned level)
{
    if (level + 1 >= p->levels)
        return UINT64_MAX;
    uint64_t limit = p->segment_size;
    for (unsigned i = 0; i < level; i++) {
        if (limit > UINT64_MAX / p->fanout)
            return UINT64_MAX;
        limit *= p->fanout;
    }
    return limit;
}

bool mc_ranges_overlap(const uint8_t *a_lo, size_t a_lo_len, const uint8_t *a_hi, size_t a_hi_len,
                       const uint8_t *b_lo, size_t b_lo_len, const uint8_t *b_hi, size_t b_hi_len)
{
    return mc_key_cmp(a_lo, a_lo_len, b_hi, b_hi_len) <= 0 &&
           mc_key_cmp(b_lo, b_lo_len, a_hi, a_hi_len) <= 0;
}

/* ---- entries ---- */

mc_seg_meta *mc_seg_meta_dup(const mc_seg_meta *src)
{
    size_t extra = src->min_key_len + src->max_key_len;
    if (extra > SIZE_MAX - sizeof(mc_seg_meta))
        return NULL;
    mc_seg_meta *e = malloc(sizeof *e + extra);
    if (!e)
        return NULL;
    *e = *src;
    uint8_t *keys = (uint8_t *)(e + 1);
    e->min_key = keys;
    e->max_key = keys + src->min_key_len;
    if (src->min_key_len)
        memcpy(e->min_key, src->min_key, src->min_key_len);
    if (src->max_key_len)
        memcpy(e->max_key, src->max_key, src->max_key_len);
    return e;
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* ---- segno hash ---- */

static size_t hash_slot(uint64_t segno, size_t hcap)
{
    return (size_t)mc_mix64(segno) & (hcap - 1);
}

/* Index of SEGNO's slot, or of the empty slot where it would go. */
static size_t hash_probe(const mc_manifest *m, uint64_t segno)
{
    size_t i = hash_slot(segno, m->hcap);
    while (m->hash[i].e && m->hash[i].segno != segno)
        i = (i + 1) & (m->hcap - 1);
    return i;
}

static mc_status hash_reserve(mc_manifest *m, size_t count, mc_err *err)
{
    if (m->hcap && count <= m->hcap / 2)
        return MC_OK;
    size_t ncap = m->hcap ? m->hcap : 64;
    while (count > ncap / 2) {
        if (ncap > SIZE_MAX / 2 / sizeof(slot))
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: too many segments (%zu)", count);
        ncap *= 2;
    }
    slot *nh = calloc(ncap, sizeof *nh);
    if (!nh)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory growing the segno index");
    slot *old = m->hash;
    size_t ocap = m->hcap;
    m->hash = nh;
    m->hcap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].e)
            m->hash[hash_probe(m, old[i].segno)] = old[i];
    free(old);
    return MC_OK;
}

/* Capacity must be reserved. */
static void hash_put(mc_manifest *m, mc_seg_meta *e)
{
    m->hash[hash_probe(m, e->segno)] = (slot){e->segno, e};
    m->hcount++;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void hash_remove(mc_manifest *m, uint64_t segno)
{
    size_t mask = m->hcap - 1;
    size_t i = hash_probe(m, segno);
    if (!m->hash[i].e)
        return;
    m->hash[i].e = NULL;
    m->hcount--;
    for (size_t j = (i + 1) & mask; m->hash[j].e; j = (j + 1) & mask) {
        size_t home = hash_slot(m->hash[j].segno, m->hcap);
        /* Move j into the hole i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->hash[i] = m->hash[j];
            m->hash[j].e = NULL;
            i = j;
        }
    }
}

/* ---- levels ---- */

static mc_status level_reserve(level *l, size_t n, mc_err *err)
{
    if (n <= l->cap)
        return MC_OK;
    size_t ncap = l->cap ? l->cap : 16;
    while (ncap < n)
        ncap *= 2;
    gap_move(l, l->n);   /* the gap at the end: the entries are v[0..n) */
    mc_seg_meta **v = realloc(l->v, ncap * sizeof *v);
    if (!v)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory growing a level to %zu segments",
                          ncap);
    l->v = v;
    l->cap = ncap;
    return MC_OK;
}

typedef struct keyref {
    const uint8_t *p;
    size_t len;
} keyref;

/* First index of L at which PAST becomes true (PAST is monotone along L). */
typedef bool (*past_fn)(const mc_seg_meta *e, const void *ctx);

static size_t partition_point(const level *l, past_fn past, const void *ctx)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (past(lat(l, mid), ctx))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static bool segno_ge(const mc_seg_meta *e, const void *ctx)
{
    return e->segno >= *(const uint64_t *)ctx;
}

static bool min_ge(const mc_seg_meta *e, const void *ctx)
{
    const keyref *k = ctx;
    return mc_key_cmp(e->min_key, e->min_key_len, k->p, k->len) >= 0;
}

static bool min_gt(const mc_seg_meta *e, const void *ctx)
{
    const keyref *k = ctx;
    return mc_key_cmp(e->min_key, e->min_key_len, k->p, k->len) > 0;
}

static bool max_ge(const mc_seg_meta *e, const void *ctx)
{
    const keyref *k = ctx;
    return mc_key_cmp(e->max_key, e->max_key_len, k->p, k->len) >= 0;
}

/* Where E belongs in level LVL (its index if it is there). */
static size_t level_slot(const level *l, unsigned lvl, const mc_seg_meta *e)
{
    if (lvl == 0)
        return partition_point(l, segno_ge, &e->segno);
    keyref k = {e->min_key, e->min_key_len};
    return partition_point(l, min_ge, &k);
}

/* Level >= 1: the segment of L that E's range overlaps, or NULL. */
static const mc_seg_meta *level_conflict(const level *l, const mc_seg_meta *e)
{
    keyref k = {e->min_key, e->min_key_len};
    size_t pos = l->n;   /* past the last entry: the common case of appending */
    if (pos > 0 && min_gt(lat(l, pos - 1), &k))
        pos = partition_point(l, min_gt, &k);
    if (pos > 0) {
        const mc_seg_meta *prev = lat(l, pos - 1);
        if (prev != e && mc_key_cmp(prev->max_key, prev->max_key_len, e->min_key, e->min_key_len) >= 0)
            return prev;
    }
    if (pos < l->n) {
        const mc_seg_meta *next = lat(l, pos);
        if (next != e && mc_key_cmp(next->min_key, next->min_key_len, e->max_key, e->max_key_len) <= 0)
            return next;
    }
    return NULL;
}

static bool after_last(const level *l, unsigned lvl, const mc_seg_meta *e)
{
    const mc_seg_meta *last = lat(l, l->n - 1);
    if (lvl == 0)
        return last->segno < e->segno;
    return mc_key_cmp(last->min_key, last->min_key_len, e->min_key, e->min_key_len) < 0;
}

/* Capacity must be reserved. */
static void level_insert(mc_manifest *m, mc_seg_meta *e)
{
    level *l = &m->lv[e->level];
    size_t pos = l->n;   /* appending is the common case (new segnos, loading in order) */
    if (pos > 0 && !after_last(l, e->level, e))
        pos = level_slot(l, e->level, e);
    gap_move(l, pos);
    l->v[l->gap++] = e;
    l->n++;
    l->bytes += e->bytes;
    l->items += e->nitems;
}

static void level_erase(mc_manifest *m, mc_seg_meta *e)
{
    level *l = &m->lv[e->level];
    size_t pos = level_slot(l, e->level, e);
    if (pos >= l->n || lat(l, pos) != e) {   /* cannot happen while the invariants hold */
        for (pos = 0; pos < l->n && lat(l, pos) != e; pos++)
            ;
        if (pos == l->n)
            return;
    }
    gap_move(l, pos + 1);
    l->gap--;
    l->n--;
    l->bytes -= e->bytes;
    l->items -= e->nitems;
}

static mc_interval l0_interval(const mc_seg_meta *e)
{
    mc_interval iv = {.lo = e->min_key, .lo_len = e->min_key_len, .hi = e->max_key, .hi_len = e->max_key_len,
                      .id = e->segno, .payload = e};
    return iv;
}

static mc_status l0_index(mc_manifest *m, const mc_seg_meta *e, mc_err *err)
{
    mc_interval iv = l0_interval(e);
    return mc_ivtree_insert(&m->l0, &iv, err);
}

static void l0_unindex(mc_manifest *m, const mc_seg_meta *e)
{
    mc_interval iv = l0_interval(e);
    mc_ivtree_erase(&m->l0, &iv);
}

static mc_status check_placement(const mc_manifest *m, const mc_seg_meta *e, unsigned lvl, mc_err *err)
{
    if (lvl >= m->params.levels)
        return mc_err_set(err, MC_ECORRUPT, 0, "manifest: segment %llu is at level %u, but the store has %u levels",
                          ull(e->segno), lvl, m->params.levels);
    if (lvl == 0)
        return MC_OK;
    const mc_seg_meta *other = level_conflict(&m->lv[lvl], e);
    if (other)
        return mc_err_set(err, MC_ECORRUPT, 0, "manifest: segments %llu and %llu overlap in level %u",
                          ull(other->segno), ull(e->segno), lvl);
    return MC_OK;
}

/* ---- the manifest ---- */

mc_status mc_manifest_create(const mc_params *params, mc_manifest **out, mc_err *err)
{
    *out = NULL;
    mc_status st = mc_params_check(params, err);
    if (st != MC_OK)
        return st;
    mc_manifest *m = calloc(1, sizeof *m);
    if (!m)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory");
    m->params = *params;
    m->next_segno = 1;
    m->next_seq = 1;
    mc_ivtree_init(&m->l0);
    *out = m;
    return MC_OK;
}

void mc_manifest_destroy(mc_manifest **pm)
{
    if (!pm || !*pm)
        return;
    mc_manifest *m = *pm;
    for (unsigned i = 0; i < MC_LEVELS_MAX; i++) {
        for (size_t j = 0; j < m->lv[i].n; j++)
            free(lat(&m->lv[i], j));
        free(m->lv[i].v);
    }
    mc_ivtree_fini(&m->l0);
    free(m->hash);
    mc_manifest_base_cancel(m);
    mc_journal_free(&m->journal);
    free(m);
    *pm = NULL;
}

mc_status mc_manifest_clone(const mc_manifest *m, mc_manifest **out, mc_err *err)
{
    mc_manifest *c = NULL;
    mc_status st = mc_manifest_create(&m->params, &c, err);
    if (st != MC_OK)
        goto cleanup;
    c->generation = m->generation;
    c->next_segno = m->next_segno;
    c->next_seq = m->next_seq;
    c->content_epoch = m->content_epoch;
    c->content_changed = m->content_changed;
    if ((st = hash_reserve(c, m->hcount, err)) != MC_OK)
        goto cleanup;
    for (unsigned i = 0; i < m->params.levels; i++) {
        const level *src = &m->lv[i];
        level *dst = &c->lv[i];
        if ((st = level_reserve(dst, src->n, err)) != MC_OK)
            goto cleanup;
        for (size_t j = 0; j < src->n; j++) {
            mc_seg_meta *e = mc_seg_meta_dup(lat(src, j));
            if (!e) {
                st = mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory cloning");
                goto cleanup;
            }
            if (i == 0 && (st = l0_index(c, e, err)) != MC_OK) {
                free(e);
                goto cleanup;
            }
            dst->v[dst->n++] = e;
            dst->gap = dst->n;
            hash_put(c, e);
        }
        dst->bytes = src->bytes;
        dst->items = src->items;
    }
    c->total_bytes = m->total_bytes;
    *out = c;
    c = NULL;
cleanup:
    mc_manifest_destroy(&c);
    return st;
}

void mc_manifest_poison(mc_manifest *m)
{
    m->poisoned = true;
}

bool mc_manifest_poisoned(const mc_manifest *m)
{
    return m->poisoned;
}

const mc_params *mc_manifest_params(const mc_manifest *m)
{
    return &m->params;
}

uint64_t mc_manifest_generation(const mc_manifest *m)
{
    return m->generation;
}

void mc_manifest_set_generation(mc_manifest *m, uint64_t generation)
{
    m->generation = generation;
}

uint64_t mc_manifest_next_segno(const mc_manifest *m)
{
    return m->next_segno;
}

void mc_manifest_set_next_segno(mc_manifest *m, uint64_t next_segno)
{
    m->next_segno = next_segno;
}

uint64_t mc_manifest_next_seq(const mc_manifest *m)
{
    return m->next_seq;
}

void mc_manifest_set_next_seq(mc_manifest *m, uint64_t next_seq)
{
    m->next_seq = next_seq;
}

uint64_t mc_manifest_alloc_segnos(mc_manifest *m, uint64_t n)
{
    uint64_t first = m->next_segno;
    m->next_segno += n;
    return first;
}

uint64_t mc_manifest_alloc_seqs(mc_manifest *m, uint64_t n)
{
    uint64_t first = m->next_seq;
    m->next_seq += n;
    return first;
}

mc_status mc_manifest_add(mc_manifest *m, const mc_seg_meta *meta, mc_err *err)
{
    if (meta->segno == 0 || meta->segno >= m->next_segno)
        return mc_err_set(err, MC_ECORRUPT, 0, "manifest: segment %llu is not in 1..next_segno-1 (next_segno %llu)",
                          ull(meta->segno), ull(m->next_segno));
    if (mc_manifest_find(m, meta->segno))
        return mc_err_set(err, MC_EEXIST, 0, "manifest: segment %llu is listed twice", ull(meta->segno));
    if (mc_key_cmp(meta->min_key, meta->min_key_len, meta->max_key, meta->max_key_len) > 0)
        return mc_err_set(err, MC_ECORRUPT, 0, "manifest: segment %llu has min_key > max_key", ull(meta->segno));
    mc_status st = check_placement(m, meta, meta->level, err);
    if (st != MC_OK)
        return st;
    if ((st = hash_reserve(m, m->hcount + 1, err)) != MC_OK ||
        (st = level_reserve(&m->lv[meta->level], m->lv[meta->level].n + 1, err)) != MC_OK)
        return st;
    mc_seg_meta *e = mc_seg_meta_dup(meta);
    if (!e)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory adding segment %llu", ull(meta->segno));
    if (e->level == 0 && (st = l0_index(m, e, err)) != MC_OK) {
        free(e);
        return st;
    }
    hash_put(m, e);
    level_insert(m, e);
    m->total_bytes += e->bytes;
    mc_journal_note(&m->journal, e->segno, false);
    return MC_OK;
}

mc_status mc_manifest_remove(mc_manifest *m, uint64_t segno, mc_err *err)
{
    mc_seg_meta *e = (mc_seg_meta *)mc_manifest_find(m, segno);
    if (!e)
        return mc_err_set(err, MC_ENOENT, 0, "manifest: no segment %llu to remove", ull(segno));
    if (e->level == 0)
        l0_unindex(m, e);
    level_erase(m, e);
    hash_remove(m, segno);
    m->total_bytes -= e->bytes;
    free(e);
    mc_journal_note(&m->journal, segno, true);
    return MC_OK;
}

mc_status mc_manifest_relevel(mc_manifest *m, uint64_t segno, unsigned lvl, mc_err *err)
{
    mc_seg_meta *e = (mc_seg_meta *)mc_manifest_find(m, segno);
    if (!e)
        return mc_err_set(err, MC_ENOENT, 0, "manifest: no segment %llu to move", ull(segno));
    if (lvl == e->level)
        return MC_OK;
    mc_status st = check_placement(m, e, lvl, err);
    if (st != MC_OK)
        return st;
    if ((st = level_reserve(&m->lv[lvl], m->lv[lvl].n + 1, err)) != MC_OK ||
        (lvl == 0 && (st = l0_index(m, e, err)) != MC_OK))
        return st;
    if (e->level == 0)
        l0_unindex(m, e);
    level_erase(m, e);
    e->level = (uint8_t)lvl;
    level_insert(m, e);
    mc_journal_note(&m->journal, segno, true);
    return MC_OK;
}

mc_status mc_manifest_reserve(mc_manifest *m, size_t nsegments, mc_err *err)
{
    return hash_reserve(m, nsegments, err);
}

const mc_seg_meta *mc_manifest_find(const mc_manifest *m, uint64_t segno)
{
    if (!m->hcap)
        return NULL;
    return m->hash[hash_probe(m, segno)].e;
}

size_t mc_manifest_count(const mc_manifest *m)
{
    return m->hcount;
}

uint64_t mc_manifest_total_bytes(const mc_manifest *m)
{
    return m->total_bytes;
}

size_t mc_manifest_level_count(const mc_manifest *m, unsigned lvl)
{
    return lvl < MC_LEVELS_MAX ? m->lv[lvl].n : 0;
}

uint64_t mc_manifest_level_bytes(const mc_manifest *m, unsigned lvl)
{
    return lvl < MC_LEVELS_MAX ? m->lv[lvl].bytes : 0;
}

uint64_t mc_manifest_level_items(const mc_manifest *m, unsigned lvl)
{
    return lvl < MC_LEVELS_MAX ? m->lv[lvl].items : 0;
}

const mc_seg_meta *mc_manifest_level_at(const mc_manifest *m, unsigned lvl, size_t i)
{
    if (lvl >= MC_LEVELS_MAX || i >= m->lv[lvl].n)
        return NULL;
    return lat(&m->lv[lvl], i);
}

size_t mc_manifest_level0_from(const mc_manifest *m, uint64_t segno)
{
    return partition_point(&m->lv[0], segno_ge, &segno);
}

typedef struct l0_visit {
    bool (*visit)(void *ctx, const mc_seg_meta *e);
    void *ctx;
} l0_visit;

static bool l0_visit_one(void *ctx, const mc_interval *iv)
{
    const l0_visit *v = ctx;
    return v->visit(v->ctx, iv->payload);
}

bool mc_manifest_l0_overlaps(const mc_manifest *m, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                             size_t hi_len, bool (*visit)(void *ctx, const mc_seg_meta *e), void *ctx)
{
    l0_visit v = {visit, ctx};
    return mc_ivtree_overlaps(&m->l0, lo, lo_len, hi, hi_len, l0_visit_one, &v);
}

/* Level 0 is not ordered by key: it always gets the empty range. */
void mc_manifest_level_overlaps(const mc_manifest *m, unsigned lvl, const uint8_t *lo, size_t lo_len,
                                const uint8_t *hi, size_t hi_len, size_t *first, size_t *end)
{
    *first = *end = 0;
    if (lvl == 0 || lvl >= MC_LEVELS_MAX)
        return;
    const level *l = &m->lv[lvl];
    keyref klo = {lo, lo_len}, khi = {hi, hi_len};
    size_t f = lo ? partition_point(l, max_ge, &klo) : 0;
    size_t e = hi ? partition_point(l, min_gt, &khi) : l->n;
    *first = f;
    *end = e < f ? f : e;
}

int mc_manifest_deepest_level(const mc_manifest *m)
{
    for (int i = (int)m->params.levels - 1; i >= 0; i--)
        if (m->lv[i].n)
            return i;
    return -1;
}

uint64_t mc_manifest_content_epoch(const mc_manifest *m)
{
    return m->content_epoch;
}

void mc_manifest_set_content_epoch(mc_manifest *m, uint64_t epoch)
{
    m->content_epoch = epoch;
}

void mc_manifest_note_content_change(mc_manifest *m)
{
    m->content_changed = true;
}

bool mc_manifest_content_changed(const mc_manifest *m)
{
    return m->content_changed;
}

void mc_manifest_clear_content_change(mc_manifest *m)
{
    m->content_changed = false;
}

mc_journal *mc_manifest_journal(mc_manifest *m)
{
    return &m->journal;
}
