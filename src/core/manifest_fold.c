/* manifest_fold: a base from a generation's files, without the index (manifest_fold.h). */
#include "manifest_fold.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "manifest_io.h"

/* What an edit says about one segno: its entry, or NULL for "removed". */
typedef struct record {
    uint64_t segno;
    uint64_t order;   /* 2 * position in the chain, +1 for a listed entry */
    mc_seg_meta *e;
} record;

typedef struct list {
    mc_seg_meta **v;
    size_t n, cap;
} list;

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? 2 * *cap : 1024;
    void *nv = realloc(*v, ncap * size);
    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

/* Entries with their keys, bump-allocated in blocks (a million entries:
 * a million mallocs and frees cost the child a third of its time). */
typedef struct arena {
    uint8_t **blocks;
    size_t nblocks, cap;
    size_t used, size;   /* in the newest block */
} arena;

#define ARENA_BLOCK ((size_t)4 << 20)

static mc_seg_meta *arena_dup(arena *a, const mc_seg_meta *src)
{
    size_t need = sizeof *src + src->min_key_len + src->max_key_len;
    need = (need + 7) & ~(size_t)7;
    if (a->nblocks == 0 || a->size - a->used < need) {
        size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        if (!grow((void **)&a->blocks, &a->cap, a->nblocks, sizeof *a->blocks))
            return NULL;
        if (!(a->blocks[a->nblocks] = malloc(size)))
            return NULL;
        a->nblocks++;
        a->used = 0;
        a->size = size;
    }
    mc_seg_meta *e = (mc_seg_meta *)(a->blocks[a->nblocks - 1] + a->used);
    a->used += need;
    *e = *src;
    e->min_key = (uint8_t *)(e + 1);
    e->max_key = e->min_key + src->min_key_len;
    memcpy(e->min_key, src->min_key, src->min_key_len);
    memcpy(e->max_key, src->max_key, src->max_key_len);
    return e;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->nblocks; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

typedef struct fold {
    arena mem;                 /* every entry below */
    record *rec;
    size_t nrec, caprec;
    uint64_t order;
    list base, edits;          /* entries kept from the base; surviving edit entries */
    const record *touched;     /* the records sorted by segno, while reading the base */
    size_t ntouched;
} fold;

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

static mc_status oom(const char *path, mc_err *err)
{
    return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory folding the manifest", path);
}


static mc_status push_record(fold *f, const char *path, uint64_t segno, uint64_t order, mc_seg_meta *e, mc_err *err)
{
    if (!grow((void **)&f->rec, &f->caprec, f->nrec, sizeof *f->rec))
        return oom(path, err);
    f->rec[f->nrec++] = (record){segno, order, e};
    return MC_OK;
}

static mc_status push_entry(list *l, const char *path, mc_seg_meta *e, mc_err *err)
{
    if (!grow((void **)&l->v, &l->cap, l->n, sizeof *l->v))
        return oom(path, err);
    l->v[l->n++] = e;
    return MC_OK;
}

static mc_status edit_entry(void *ctx, const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    fold *f = ctx;
    mc_status st = mc_manifest_entry_check(path, index, e, err);
    if (st != MC_OK)
        return st;
    mc_seg_meta *copy = arena_dup(&f->mem, e);
    if (!copy)
        return oom(path, err);
    return push_record(f, path, e->segno, f->order + 1, copy, err);
}

static bool touched(const fold *f, uint64_t segno)
{
    size_t lo = 0, hi = f->ntouched;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->touched[mid].segno < segno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->ntouched && f->touched[lo].segno == segno;
}

static mc_status base_entry(void *ctx, const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err)
{
    fold *f = ctx;
    mc_status st = mc_manifest_entry_check(path, index, e, err);
    if (st != MC_OK || touched(f, e->segno))
        return st;
    mc_seg_meta *copy = arena_dup(&f->mem, e);
    return copy ? push_entry(&f->base, path, copy, err) : oom(path, err);
}

static int by_segno_order(const void *a, const void *b)
{
    const record *x = a, *y = b;
    if (x->segno != y->segno)
        return x->segno < y->segno ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Manifest order: by level, then level 0 by segno, deeper levels by min_key. */
static int manifest_cmp(const mc_seg_meta *a, const mc_seg_meta *b)
{
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->level == 0)
        return a->segno < b->segno ? -1 : a->segno > b->segno;
    return mc_key_cmp(a->min_key, a->min_key_len, b->min_key, b->min_key_len);
}

static int by_manifest_order(const void *a, const void *b)
{
    return manifest_cmp(*(mc_seg_meta *const *)a, *(mc_seg_meta *const *)b);
}

/* Reads the edits chain[1..n): records, and the newest header in *H. */
static mc_status read_edits(const char *store, const uint64_t *chain, size_t n, fold *f, mc_manifest_header *h,
                            mc_err *err)
{
    for (size_t i = 1; i < n; i++) {
        mc_manifest_header eh;
        uint64_t *removed = NULL;
        size_t nremoved = 0;
        f->order = 2 * (uint64_t)i;
        mc_status st = mc_manifest_file_read(store, chain[i], &eh, &removed, &nremoved, edit_entry, f, err);
        if (st == MC_OK && (eh.parent != h->generation || !mc_params_equal(&eh.p, &h->p)))
            st = mc_err_set(err, MC_ECORRUPT, 0, "%s: edit %llu does not follow generation %llu (or changes the store "
                            "parameters)", store, ull(chain[i]), ull(h->generation));
        for (size_t k = 0; k < nremoved && st == MC_OK; k++)
            st = push_record(f, store, removed[k], f->order, NULL, err);
        free(removed);
        if (st != MC_OK)
            return st;
        *h = eh;
    }
    return MC_OK;
}

/* Keeps the newest record of each segno in f->rec (sorted by segno) and
 * moves the surviving entries to f->edits. */
static mc_status newest_records(fold *f, const char *path, mc_err *err)
{
    qsort(f->rec, f->nrec, sizeof *f->rec, by_segno_order);
    size_t w = 0;
    for (size_t i = 0; i < f->nrec; i++) {
        if (i + 1 < f->nrec && f->rec[i + 1].segno == f->rec[i].segno)
            continue;   /* an older version */
        f->rec[w++] = f->rec[i];
    }
    f->nrec = w;
    for (size_t i = 0; i < f->nrec; i++)
        if (f->rec[i].e) {
            mc_status st = push_entry(&f->edits, path, f->rec[i].e, err);
            f->rec[i].e = NULL;
            if (st != MC_OK)
                return st;
        }
    qsort(f->edits.v, f->edits.n, sizeof *f->edits.v, by_manifest_order);
    return MC_OK;
}

/* Sorts f->base into manifest order unless it is (a base of mpicompact's
 * always is; FORMAT.md lets other writers list entries in any order). */
static void base_in_order(fold *f)
{
    for (size_t i = 1; i < f->base.n; i++)
        if (manifest_cmp(f->base.v[i - 1], f->base.v[i]) >= 0) {
            qsort(f->base.v, f->base.n, sizeof *f->base.v, by_manifest_order);
            return;
        }
}

/* Merges f->base and f->edits (both in manifest order) into *OUT,
 * checking what a load would: levels, next_segno, overlaps in levels >= 1. */
static mc_status merge_lists(fold *f, const char *path, const mc_manifest_header *h, mc_seg_meta ***out,
                             size_t *nout, uint64_t *bytes, mc_err *err)
{
    size_t n = f->base.n + f->edits.n, i = 0, j = 0;
    mc_seg_meta **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return oom(path, err);
    *bytes = 0;
    for (size_t k = 0; k < n; k++) {
        bool from_base = j == f->edits.n || (i < f->base.n && manifest_cmp(f->base.v[i], f->edits.v[j]) < 0);
        mc_seg_meta *e = from_base ? f->base.v[i++] : f->edits.v[j++];
        const mc_seg_meta *prev = k ? v[k - 1] : NULL;
        const char *bad = NULL;
        if (e->level >= h->p.levels)
            bad = "level out of range";
        else if (e->segno == 0 || e->segno >= h->next_segno)
            bad = "segno not below next_segno";
        else if (mc_key_cmp(e->min_key, e->min_key_len, e->max_key, e->max_key_len) > 0)
            bad = "min_key > max_key";
        else if (prev && prev->level == e->level &&
                 (e->level == 0 ? prev->segno == e->segno
                                : mc_key_cmp(prev->max_key, prev->max_key_len, e->min_key, e->min_key_len) >= 0))
            bad = e->level == 0 ? "segno listed twice" : "overlaps the segment before it in its level";
        if (bad) {
            free(v);
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: folding: segment %llu: %s", path, ull(e->segno), bad);
        }
        v[k] = e;
        *bytes += e->bytes;
    }
    *out = v;
    *nout = n;
    return MC_OK;
}


mc_status mc_manifest_fold(const char *store, uint64_t generation, const char *out, uint64_t expect_count,
                           uint64_t expect_bytes, mc_err *err)
{
    fold f = {0};
    uint64_t *chain = NULL, *none = NULL, bytes = 0;
    size_t nchain = 0, nnone = 0, n = 0;
    mc_seg_meta **all = NULL;
    mc_manifest_header h, bh;
    mc_status st = mc_manifest_chain_read(store, generation, &chain, &nchain, err);
    if (st != MC_OK)
        return st;
    /* The base's header first (the edits must follow it), then the edits,
     * then the base's entries (filtered by what the edits touched). */
    f.touched = NULL;
    if ((st = mc_manifest_file_read(store, chain[0], &bh, &none, &nnone, NULL, NULL, err)) == MC_OK) {
        h = bh;
        st = read_edits(store, chain, nchain, &f, &h, err);
    }
    if (st == MC_OK && (st = newest_records(&f, out, err)) == MC_OK) {
        f.touched = f.rec;
        f.ntouched = f.nrec;
        free(none);
        none = NULL;
        st = mc_manifest_file_read(store, chain[0], &bh, &none, &nnone, base_entry, &f, err);
    }
    if (st == MC_OK && h.generation != generation)
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: the chain of generation %llu ends at %llu", store, ull(generation),
                        ull(h.generation));
    if (st == MC_OK) {
        base_in_order(&f);
        st = merge_lists(&f, out, &h, &all, &n, &bytes, err);
    }
    if (st == MC_OK && (n != expect_count || bytes != expect_bytes))
        st = mc_err_set(err, MC_ECORRUPT, 0,
                        "%s: generation %llu folds to %zu segments of %llu bytes, but the manifest holds %llu of %llu",
                        store, ull(generation), n, ull(bytes), ull(expect_count), ull(expect_bytes));
    if (st == MC_OK)
        st = mc_manifest_write_base_list(out, &h, (const mc_seg_meta *const *)all, n, err);
    free(all);
    free(none);
    free(chain);
    free(f.rec);
    free(f.base.v);
    free(f.edits.v);
    arena_free(&f.mem);
    return st;
}
