/* test_manifest: the in-memory manifest against a brute-force model, and its HDF5 commit/load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "h5util.h"
#include "manifest.h"
#include "manifest_base.h"
#include "manifest_fold.h"
#include "manifest_io.h"
#include "manifest_journal.h"
#include "store.h"

/* ---- seeded randomness ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

/* ---- a brute-force model ---- */

typedef struct ment {
    mc_seg_meta meta;   /* keys point into k */
    uint8_t k[2][8];
    bool live;
} ment;

typedef struct model {
    ment *v;
    size_t n;
} model;

static const uint8_t alphabet[] = {0x00, 0x01, 0x80, 0xff};

static size_t small_key(uint8_t *out)
{
    size_t len = 1 + below(3);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[below(sizeof alphabet)];
    return len;
}

static void random_meta(ment *e, uint64_t segno, unsigned level)
{
    memset(e, 0, sizeof *e);
    size_t a = small_key(e->k[0]), b = a;
    if (below(2))
        b = small_key(e->k[1]);
    else
        memcpy(e->k[1], e->k[0], a);
    if (mc_key_cmp(e->k[0], a, e->k[1], b) > 0) {
        uint8_t t[8];
        memcpy(t, e->k[0], 8);
        memcpy(e->k[0], e->k[1], 8);
        memcpy(e->k[1], t, 8);
        size_t tl = a;
        a = b;
        b = tl;
    }
    e->meta.segno = segno;
    e->meta.level = (uint8_t)level;
    e->meta.nitems = 1 + below(1000);
    e->meta.ndeletes = below(e->meta.nitems + 1);
    e->meta.bytes = below(1u << 20);
    e->meta.min_seq = 1 + below(100);
    e->meta.max_seq = e->meta.min_seq + below(100);
    e->meta.min_key = e->k[0];
    e->meta.min_key_len = a;
    e->meta.max_key = e->k[1];
    e->meta.max_key_len = b;
    e->live = true;
}

static bool model_conflict(const model *md, const mc_seg_meta *x, unsigned level)
{
    if (level == 0)
        return false;
    for (size_t i = 0; i < md->n; i++) {
        const mc_seg_meta *y = &md->v[i].meta;
        if (md->v[i].live && y->level == level && y->segno != x->segno &&
            mc_ranges_overlap(x->min_key, x->min_key_len, x->max_key, x->max_key_len, y->min_key, y->min_key_len,
                              y->max_key, y->max_key_len))
            return true;
    }
    return false;
}

static ment *model_find(model *md, uint64_t segno)
{
    for (size_t i = 0; i < md->n; i++)
        if (md->v[i].live && md->v[i].meta.segno == segno)
            return &md->v[i];
    return NULL;
}

static void assert_meta_equal(const mc_seg_meta *a, const mc_seg_meta *b)
{
    assert_int_equal(a->segno, b->segno);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->nitems, b->nitems);
    assert_int_equal(a->ndeletes, b->ndeletes);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->min_seq, b->min_seq);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_int_equal(a->min_key_len, b->min_key_len);
    assert_int_equal(a->max_key_len, b->max_key_len);
    assert_memory_equal(a->min_key, b->min_key, a->min_key_len);
    assert_memory_equal(a->max_key, b->max_key, a->max_key_len);
}

static void assert_params_equal(const mc_params *a, const mc_params *b)
{
    assert_int_equal(a->fanout, b->fanout);
    assert_int_equal(a->l0_limit, b->l0_limit);
    assert_int_equal(a->levels, b->levels);
    assert_int_equal(a->segment_size, b->segment_size);
}

/* Entry E of the model overlaps the query [lo, hi] (NULL: unbounded). */
static bool query_hits(const mc_seg_meta *e, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    if (lo && mc_key_cmp(e->max_key, e->max_key_len, lo, lo_len) < 0)
        return false;
    if (hi && mc_key_cmp(e->min_key, e->min_key_len, hi, hi_len) > 0)
        return false;
    return true;
}

static void check_model(const mc_manifest *m, model *md)
{
    const mc_params *p = mc_manifest_params(m);
    size_t total = 0;
    uint64_t total_bytes = 0;
    int deepest = -1;
    for (unsigned lvl = 0; lvl < p->levels; lvl++) {
        size_t cnt = 0;
        uint64_t bytes = 0, items = 0;
        for (size_t i = 0; i < md->n; i++) {
            const mc_seg_meta *e = &md->v[i].meta;
            if (!md->v[i].live || e->level != lvl)
                continue;
            cnt++;
            bytes += e->bytes;
            items += e->nitems;
            /* Its rank in the level's order is the number of entries before it. */
            size_t rank = 0;
            for (size_t j = 0; j < md->n; j++) {
                const mc_seg_meta *f = &md->v[j].meta;
                if (!md->v[j].live || f->level != lvl || j == i)
                    continue;
                bool before = lvl == 0 ? f->segno < e->segno
                                       : mc_key_cmp(f->min_key, f->min_key_len, e->min_key, e->min_key_len) < 0;
                rank += before;
            }
            const mc_seg_meta *got = mc_manifest_level_at(m, lvl, rank);
            assert_non_null(got);
            assert_meta_equal(got, e);
        }
        assert_int_equal(mc_manifest_level_count(m, lvl), cnt);
        assert_int_equal(mc_manifest_level_bytes(m, lvl), bytes);
        assert_int_equal(mc_manifest_level_items(m, lvl), items);
        assert_null(mc_manifest_level_at(m, lvl, cnt));
        total += cnt;
        total_bytes += bytes;
        if (cnt)
            deepest = (int)lvl;
        if (lvl == 0)
            continue;
        for (int q = 0; q < 8; q++) {
            uint8_t lo[8], hi[8];
            size_t lo_len = small_key(lo), hi_len = small_key(hi);
            bool lo_null = below(5) == 0, hi_null = below(5) == 0;
            size_t first, end;
            mc_manifest_level_overlaps(m, lvl, lo_null ? NULL : lo, lo_len, hi_null ? NULL : hi, hi_len, &first, &end);
            assert_true(first <= end && end <= cnt);
            for (size_t i = 0; i < cnt; i++) {
                bool hit = query_hits(mc_manifest_level_at(m, lvl, i), lo_null ? NULL : lo, lo_len,
                                      hi_null ? NULL : hi, hi_len);
                assert_int_equal(hit, i >= first && i < end);
            }
        }
    }
    assert_int_equal(mc_manifest_count(m), total);
    assert_int_equal(mc_manifest_total_bytes(m), total_bytes);
    assert_int_equal(mc_manifest_deepest_level(m), deepest);
    for (size_t i = 0; i < md->n; i++) {
        const mc_seg_meta *got = mc_manifest_find(m, md->v[i].meta.segno);
        if (md->v[i].live) {
            assert_non_null(got);
            assert_meta_equal(got, &md->v[i].meta);
        } else if (!model_find(md, md->v[i].meta.segno)) {
            assert_null(got);
        }
    }
}

/* Applies NOPS random operations to M and MD, checking each result. */
static void random_ops(mc_manifest *m, model *md, size_t nops)
{
    unsigned levels = mc_manifest_params(m)->levels;
    mc_err err;
    for (size_t op = 0; op < nops; op++) {
        uint64_t r = below(100);
        if (r < 55 || md->n == 0) {   /* add */
            ment e;
            unsigned level = (unsigned)below(levels);
            uint64_t segno = mc_manifest_alloc_segnos(m, 1);
            int twist = (int)below(20);
            if (twist == 0)
                level = levels;
            random_meta(&e, segno, level);
            if (twist == 1 && md->n) {
                e.meta.segno = md->v[below(md->n)].meta.segno;
            } else if (twist == 2) {
                e.meta.segno = mc_manifest_next_segno(m) + below(3);
            }
            mc_status expect = MC_OK;
            if (level >= levels || e.meta.segno >= mc_manifest_next_segno(m))
                expect = MC_ECORRUPT;
            else if (model_find(md, e.meta.segno))
                expect = MC_EEXIST;
            else if (model_conflict(md, &e.meta, level))
                expect = MC_ECORRUPT;
            assert_int_equal(mc_manifest_add(m, &e.meta, &err), expect);
            if (expect == MC_OK) {
                md->v[md->n] = e;
                md->v[md->n].meta.min_key = md->v[md->n].k[0];
                md->v[md->n].meta.max_key = md->v[md->n].k[1];
                md->n++;
            }
        } else if (r < 75) {   /* remove, sometimes a segno not there */
            ment *e = &md->v[below(md->n)];
            mc_status expect = e->live ? MC_OK : MC_ENOENT;
            if (!e->live && model_find(md, e->meta.segno))
                expect = MC_OK;
            assert_int_equal(mc_manifest_remove(m, e->meta.segno, &err), expect);
            if (expect == MC_OK)
                model_find(md, e->meta.segno)->live = false;
        } else {   /* relevel */
            ment *e = &md->v[below(md->n)];
            unsigned level = (unsigned)below(levels + 1);
            ment *live = model_find(md, e->meta.segno);
            mc_status expect = MC_OK;
            if (!live)
                expect = MC_ENOENT;
            else if (level >= levels)
                expect = MC_ECORRUPT;
            else if (level != live->meta.level && model_conflict(md, &live->meta, level))
                expect = MC_ECORRUPT;
            assert_int_equal(mc_manifest_relevel(m, e->meta.segno, level, &err), expect);
            if (expect == MC_OK)
                live->meta.level = (uint8_t)level;
        }
        if (op % 64 == 0)
            check_model(m, md);
    }
    check_model(m, md);
}

static mc_manifest *new_manifest(unsigned levels)
{
    mc_params p;
    mc_params_default(&p);
    p.levels = levels;
    mc_manifest *m = NULL;
    mc_err err;
    assert_int_equal(mc_manifest_create(&p, &m, &err), MC_OK);
    return m;
}

static void test_random_vs_model(void **state)
{
    (void)state;
    for (int round = 0; round < 4; round++) {
        model md = {calloc(3000, sizeof(ment)), 0};
        mc_manifest *m = new_manifest(2 + (unsigned)below(4));
        random_ops(m, &md, 2500);
        print_message("round %d: %zu live segments, level 1 holds %zu\n", round, mc_manifest_count(m),
                      mc_manifest_level_count(m, 1));
        assert_true(mc_manifest_level_count(m, 1) > 0);
        mc_manifest_destroy(&m);
        assert_null(m);
        free(md.v);
    }
}

static void test_clone(void **state)
{
    (void)state;
    model md = {calloc(1000, sizeof(ment)), 0};
    mc_manifest *m = new_manifest(4), *c = NULL;
    mc_err err;
    random_ops(m, &md, 800);
    mc_manifest_set_generation(m, 77);
    mc_manifest_set_next_seq(m, 1234);
    assert_int_equal(mc_manifest_clone(m, &c, &err), MC_OK);
    assert_int_equal(mc_manifest_generation(c), 77);
    assert_int_equal(mc_manifest_next_seq(c), 1234);
    assert_int_equal(mc_manifest_next_segno(c), mc_manifest_next_segno(m));
    assert_params_equal(mc_manifest_params(c), mc_manifest_params(m));
    check_model(c, &md);
    /* Emptying the original leaves the clone intact; the clone stays editable. */
    for (size_t i = 0; i < md.n; i++)
        if (md.v[i].live)
            assert_int_equal(mc_manifest_remove(m, md.v[i].meta.segno, &err), MC_OK);
    assert_int_equal(mc_manifest_count(m), 0);
    assert_int_equal(mc_manifest_deepest_level(m), -1);
    check_model(c, &md);
    random_ops(c, &md, 300);
    mc_manifest_destroy(&m);
    mc_manifest_destroy(&c);
    mc_manifest_destroy(&c);   /* NULL is fine */
    free(md.v);
}

static mc_seg_meta range(uint64_t segno, unsigned level, const char *lo, const char *hi)
{
    mc_seg_meta e = {.segno = segno, .level = (uint8_t)level, .nitems = 1, .bytes = 10, .min_seq = 1, .max_seq = 1};
    e.min_key = (uint8_t *)lo;
    e.min_key_len = strlen(lo);
    e.max_key = (uint8_t *)hi;
    e.max_key_len = strlen(hi);
    return e;
}

/* Reserving the segno index keeps every entry findable, before and after
 * adds up to the reserved count and removals. */
static void test_reserve(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(2);
    mc_err err;
    mc_manifest_set_next_segno(m, 5001);
    for (uint64_t s = 1; s <= 100; s++) {
        mc_seg_meta e = range(s, 0, "a", "z");
        assert_int_equal(mc_manifest_add(m, &e, &err), MC_OK);
    }
    assert_int_equal(mc_manifest_reserve(m, 5000, &err), MC_OK);
    assert_int_equal(mc_manifest_reserve(m, 10, &err), MC_OK);   /* smaller: nothing to do */
    for (uint64_t s = 101; s <= 5000; s++) {
        mc_seg_meta e = range(s, 0, "a", "z");
        assert_int_equal(mc_manifest_add(m, &e, &err), MC_OK);
    }
    for (uint64_t s = 1; s <= 5000; s += 3)
        assert_int_equal(mc_manifest_remove(m, s, &err), MC_OK);
    for (uint64_t s = 1; s <= 5000; s++) {
        const mc_seg_meta *e = mc_manifest_find(m, s);
        if (s % 3 == 1) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->segno, s);
        }
    }
    assert_int_equal(mc_manifest_count(m), 5000 - 1667);
    mc_manifest_destroy(&m);
}

static void test_overlap_rejected(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(3);
    mc_err err;
    mc_manifest_set_next_segno(m, 100);
    mc_seg_meta a = range(17, 1, "b", "d"), b = range(42, 1, "d", "f"), c = range(43, 1, "da", "e"),
                d = range(44, 1, "e", "g"), z = range(45, 0, "a", "z");
    assert_int_equal(mc_manifest_add(m, &a, &err), MC_OK);
    assert_int_equal(mc_manifest_add(m, &b, &err), MC_ECORRUPT);
    assert_non_null(strstr(err.msg, "17"));
    assert_non_null(strstr(err.msg, "42"));
    assert_non_null(strstr(err.msg, "level 1"));
    assert_int_equal(mc_manifest_add(m, &c, &err), MC_OK);   /* "d" < "da": touching is not overlapping */
    assert_int_equal(mc_manifest_add(m, &d, &err), MC_ECORRUPT);
    assert_non_null(strstr(err.msg, "43"));
    assert_non_null(strstr(err.msg, "44"));
    assert_int_equal(mc_manifest_add(m, &z, &err), MC_OK);   /* level 0 may overlap */
    assert_int_equal(mc_manifest_relevel(m, 45, 1, &err), MC_ECORRUPT);
    assert_int_equal(mc_manifest_relevel(m, 45, 2, &err), MC_OK);
    assert_int_equal(mc_manifest_find(m, 45)->level, 2);
    assert_int_equal(mc_manifest_add(m, &a, &err), MC_EEXIST);
    mc_seg_meta big = range(100, 0, "a", "a"), zero = range(0, 0, "a", "a"), bad = range(50, 3, "a", "a"),
                inverted = range(51, 0, "b", "a");
    assert_int_equal(mc_manifest_add(m, &big, &err), MC_ECORRUPT);
    assert_int_equal(mc_manifest_add(m, &zero, &err), MC_ECORRUPT);
    assert_int_equal(mc_manifest_add(m, &bad, &err), MC_ECORRUPT);
    assert_int_equal(mc_manifest_add(m, &inverted, &err), MC_ECORRUPT);
    assert_int_equal(mc_manifest_remove(m, 99, &err), MC_ENOENT);
    assert_int_equal(mc_manifest_count(m), 3);
    assert_int_equal(mc_manifest_alloc_segnos(m, 5), 100);
    assert_int_equal(mc_manifest_next_segno(m), 105);
    assert_int_equal(mc_manifest_alloc_seqs(m, 10), 1);
    assert_int_equal(mc_manifest_alloc_seqs(m, 1), 11);
    mc_manifest_destroy(&m);
}

static void test_params(void **state)
{
    (void)state;
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    assert_int_equal(p.fanout, 10);
    assert_int_equal(p.l0_limit, 4);
    assert_int_equal(p.levels, MC_LEVELS_DEFAULT);
    assert_int_equal(p.segment_size, 64u << 20);
    assert_int_equal(mc_params_check(&p, &err), MC_OK);
    assert_int_equal(mc_params_level_limit(&p, 1), 640ull << 20);
    assert_int_equal(mc_params_level_limit(&p, 2), 6400ull << 20);
    assert_true(mc_params_level_limit(&p, p.levels - 1) == UINT64_MAX);
    p.levels = MC_LEVELS_MAX;
    assert_true(mc_params_level_limit(&p, 11) == (64ull << 20) * 100000000000ull);
    assert_true(mc_params_level_limit(&p, 12) == UINT64_MAX);
    assert_true(mc_params_level_limit(&p, 20) == UINT64_MAX);   /* saturates */
    assert_true(mc_params_level_limit(&p, 30) == UINT64_MAX);
    mc_params bad = p;
    bad.fanout = 1;
    assert_int_equal(mc_params_check(&bad, &err), MC_EINVAL);
    bad = p;
    bad.l0_limit = 0;
    assert_int_equal(mc_params_check(&bad, &err), MC_EINVAL);
    bad = p;
    bad.levels = 1;
    assert_int_equal(mc_params_check(&bad, &err), MC_EINVAL);
    bad.levels = MC_LEVELS_MAX + 1;
    assert_int_equal(mc_params_check(&bad, &err), MC_EINVAL);
    bad = p;
    bad.segment_size = 0;
    assert_int_equal(mc_params_check(&bad, &err), MC_EINVAL);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&bad, &m, &err), MC_EINVAL);
    assert_null(m);

    const uint8_t *a = (const uint8_t *)"ab", *b = (const uint8_t *)"abc";
    assert_true(mc_ranges_overlap(a, 1, a, 2, a, 2, b, 3));    /* [a,ab] and [ab,abc] share ab */
    assert_false(mc_ranges_overlap(a, 1, a, 1, a, 2, b, 3));   /* "a" < "ab" */
    assert_true(mc_ranges_overlap(a, 1, b, 3, a, 2, a, 2));    /* containment */
}

/* A million segments: building, lookups and overlap queries stay fast. */
static void test_scale(void **state)
{
    (void)state;
    const size_t n = 1000000;
    mc_manifest *m = new_manifest(4);
    mc_err err;
    mc_manifest_set_next_segno(m, n + 1);
    clock_t t0 = clock();
    for (size_t i = 0; i < n; i++) {
        uint8_t lo[8], hi[8];
        for (int b = 0; b < 8; b++)
            lo[b] = hi[b] = (uint8_t)((i * 4) >> (56 - 8 * b));
        hi[7] |= 2;
        mc_seg_meta e = {.segno = i + 1, .level = (uint8_t)(i % 10 == 0 ? 0 : 1), .nitems = 2, .bytes = 3,
                         .min_key = lo, .min_key_len = 8, .max_key = hi, .max_key_len = 8};
        assert_int_equal(mc_manifest_add(m, &e, &err), MC_OK);
    }
    double build = (double)(clock() - t0) / CLOCKS_PER_SEC;
    t0 = clock();
    size_t n1 = mc_manifest_level_count(m, 1);
    assert_int_equal(n1, n - n / 10);
    for (size_t q = 0; q < 200000; q++) {
        uint64_t segno = 1 + below(n);
        const mc_seg_meta *e = mc_manifest_find(m, segno);
        assert_non_null(e);
        assert_int_equal(e->segno, segno);
        size_t first, end;
        mc_manifest_level_overlaps(m, 1, e->min_key, 8, e->max_key, 8, &first, &end);
        assert_int_equal(end - first, e->level == 1 ? 1 : 0);
        if (e->level == 1)
            assert_ptr_equal(mc_manifest_level_at(m, 1, first), e);
    }
    double query = (double)(clock() - t0) / CLOCKS_PER_SEC;
    t0 = clock();
    for (size_t i = 0; i < 1000; i++) {   /* churn in the middle */
        uint64_t segno = 2 + 10 * below(n / 10 - 1);
        if (!mc_manifest_find(m, segno))
            continue;
        if (below(2))
            assert_int_equal(mc_manifest_remove(m, segno, &err), MC_OK);
        else
            assert_int_equal(mc_manifest_relevel(m, segno, 2, &err), MC_OK);
    }
    double churn = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(mc_manifest_level_count(m, 0) + mc_manifest_level_count(m, 1) + mc_manifest_level_count(m, 2),
                     mc_manifest_count(m));
    assert_int_equal(mc_manifest_total_bytes(m), 3 * mc_manifest_count(m));
    print_message("1M segments: build %.2fs, 200k find+overlap %.2fs, 1000 remove/relevel %.2fs\n", build, query,
                  churn);
    mc_manifest_destroy(&m);
}

/* ---- manifest_io ---- */

static char tmpdir[256];

static void store_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
}

static void make_store(const char *name, char *store, size_t len)
{
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    store_path(store, len, name);
    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void read_text(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void check_same(const mc_manifest *a, const mc_manifest *b)
{
    assert_int_equal(mc_manifest_generation(a), mc_manifest_generation(b));
    assert_int_equal(mc_manifest_next_segno(a), mc_manifest_next_segno(b));
    assert_int_equal(mc_manifest_next_seq(a), mc_manifest_next_seq(b));
    assert_params_equal(mc_manifest_params(a), mc_manifest_params(b));
    assert_int_equal(mc_manifest_count(a), mc_manifest_count(b));
    for (unsigned l = 0; l < mc_manifest_params(a)->levels; l++) {
        assert_int_equal(mc_manifest_level_count(a, l), mc_manifest_level_count(b, l));
        assert_int_equal(mc_manifest_level_bytes(a, l), mc_manifest_level_bytes(b, l));
        for (size_t i = 0; i < mc_manifest_level_count(a, l); i++)
            assert_meta_equal(mc_manifest_level_at(a, l, i), mc_manifest_level_at(b, l, i));
    }
}

/* N random entries with binary keys (0..40 byte suffixes); deeper levels get
 * a unique (level, index) prefix so that their ranges cannot overlap. */
static void fill_random(mc_manifest *m, size_t n)
{
    unsigned levels = mc_manifest_params(m)->levels;
    mc_err err;
    uint64_t first = mc_manifest_alloc_segnos(m, n + 10) + 5;
    for (size_t i = 0; i < n; i++) {
        uint8_t k[2][64];
        size_t len[2];
        unsigned level = (unsigned)below(levels);
        for (int j = 0; j < 2; j++) {
            size_t pre = 0;
            if (level > 0) {
                k[j][0] = (uint8_t)level;
                for (int b = 0; b < 4; b++)
                    k[j][1 + b] = (uint8_t)(i >> (24 - 8 * b));
                pre = 5;
            }
            len[j] = pre + below(41);
            if (len[j] == 0)
                len[j] = 1;
            for (size_t b = pre; b < len[j]; b++)
                k[j][b] = (uint8_t)(below(4) == 0 ? 0 : rnd());
        }
        int lo = mc_key_cmp(k[0], len[0], k[1], len[1]) <= 0 ? 0 : 1;
        uint64_t nitems = 1 + below(1u << 30);
        mc_seg_meta e = {.segno = first + i, .level = (uint8_t)level, .nitems = nitems, .ndeletes = below(nitems + 1),
                         .bytes = rnd(), .min_seq = below(1u << 20), .min_key = k[lo], .min_key_len = len[lo],
                         .max_key = k[1 - lo], .max_key_len = len[1 - lo]};
        e.max_seq = e.min_seq + below(1u << 20);
        assert_int_equal(mc_manifest_add(m, &e, &err), MC_OK);
    }
}

/* A segment whose keys start with its segno (big-endian): ranges of
 * different segments never overlap, so any level is a valid place. */
static void add_numbered(mc_manifest *m, unsigned level)
{
    mc_err err;
    uint8_t lo[12], hi[12];
    uint64_t segno = mc_manifest_alloc_segnos(m, 1 + below(3));
    for (int b = 0; b < 8; b++)
        lo[b] = hi[b] = (uint8_t)(segno >> (56 - 8 * b));
    memset(lo + 8, 0, 4);
    memset(hi + 8, 0xff, 4);
    mc_seg_meta e = {.segno = segno, .level = (uint8_t)level, .nitems = 1 + below(100), .bytes = below(1 << 20),
                     .min_seq = 1, .max_seq = 1 + below(100), .min_key = lo, .min_key_len = 8 + below(5),
                     .max_key = hi, .max_key_len = 12};
    assert_int_equal(mc_manifest_add(m, &e, &err), MC_OK);
}

static uint64_t random_live(const mc_manifest *m)
{
    size_t i = (size_t)below(mc_manifest_count(m));
    for (unsigned l = 0; l < mc_manifest_params(m)->levels; l++) {
        if (i < mc_manifest_level_count(m, l))
            return mc_manifest_level_at(m, l, i)->segno;
        i -= mc_manifest_level_count(m, l);
    }
    fail();
    return 0;
}

/* The files in STORE/manifest/ are exactly the committed chain. */
static size_t check_manifest_dir(const char *store)
{
    mc_err err;
    uint64_t gen = 0, *chain = NULL;
    size_t n = 0, files = 0;
    assert_int_equal(mc_manifest_current_generation(store, &gen, &err), MC_OK);
    assert_int_equal(mc_manifest_chain_read(store, gen, &chain, &n, &err), MC_OK);
    assert_int_equal(chain[n - 1], gen);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/manifest", store);
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        uint64_t g = 0;
        assert_true(mc_parse_hex16(de->d_name, &g));
        bool in_chain = false;
        for (size_t i = 0; i < n; i++)
            in_chain = in_chain || chain[i] == g;
        assert_true(in_chain);
        files++;
    }
    closedir(d);
    assert_int_equal(files, n);
    free(chain);
    return n;
}

/* Incremental commits (manifest_io.h): random adds, removes and moves,
 * committed one batch at a time; after each, loading the chain gives the
 * same manifest, manifest/ holds exactly the chain, and the chain stays
 * short. Now and then a batch big enough to make a new base. */
static void test_io_incremental(void **state)
{
    (void)state;
    char store[512];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store("inc", store, sizeof store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    unsigned levels = mc_manifest_params(m)->levels;
    uint64_t epoch = mc_manifest_content_epoch(m);
    assert_true(epoch >= 1);
    size_t longest = 0, bases = 0;
    for (int round = 0; round < 250; round++) {
        size_t adds = round % 97 == 50 ? 150 : (size_t)below(4);
        for (size_t i = 0; i < adds; i++)
            add_numbered(m, (unsigned)below(levels));
        for (uint64_t i = below(3); i > 0 && mc_manifest_count(m) > 0; i--)
            assert_int_equal(mc_manifest_remove(m, random_live(m), &err), MC_OK);
        if (mc_manifest_count(m) > 0 && below(2))
            assert_int_equal(mc_manifest_relevel(m, random_live(m), (unsigned)below(levels), &err), MC_OK);
        bool changed = below(4) == 0;
        if (changed)
            mc_manifest_note_content_change(m);
        if (below(10) == 0)
            mc_manifest_set_next_seq(m, mc_manifest_next_seq(m) + below(1000));
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
        assert_int_equal(mc_manifest_content_epoch(m), changed ? epoch + 1 : epoch);
        epoch = mc_manifest_content_epoch(m);
        assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
        check_same(m, back);
        assert_int_equal(mc_manifest_content_epoch(back), epoch);
        mc_manifest_destroy(&back);
        size_t n = check_manifest_dir(store);
        bases += n == 1;
        longest = n > longest ? n : longest;
        assert_true(n <= MC_MANIFEST_CHAIN_MAX + 1);
    }
    /* The doubling rule keeps chains near log2 of the store's size. */
    assert_true(longest <= 16);
    assert_true(bases >= 1);
    /* One edit moves a newer segment out of a level and an older one into
     * the same key range of it: loading removes every replaced entry
     * before adding any back (FORMAT.md 3.5), whatever their order. */
    uint8_t lo = 'm', hi = 'n';
    uint64_t older = mc_manifest_alloc_segnos(m, 1), newer = mc_manifest_alloc_segnos(m, 1);
    mc_seg_meta x = {.segno = older, .level = 1, .nitems = 1, .min_seq = 1, .max_seq = 1, .min_key = &lo,
                     .min_key_len = 1, .max_key = &hi, .max_key_len = 1};
    mc_seg_meta y = x;
    y.segno = newer;
    y.level = 2;
    assert_int_equal(mc_manifest_add(m, &x, &err), MC_OK);
    assert_int_equal(mc_manifest_add(m, &y, &err), MC_OK);
    for (int i = 0; i < 5; i++)   /* an edit too big to be folded into the next */
        add_numbered(m, 0);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    assert_int_equal(mc_manifest_relevel(m, newer, 3, &err), MC_OK);
    assert_int_equal(mc_manifest_relevel(m, older, 2, &err), MC_OK);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    assert_true(check_manifest_dir(store) > 1);   /* an edit */
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(m, back);
    mc_manifest_destroy(&back);
    /* A clone has no journal: its commit writes a base and the old chain goes. */
    mc_manifest *c = NULL;
    assert_int_equal(mc_manifest_clone(m, &c, &err), MC_OK);
    add_numbered(c, 0);
    assert_int_equal(mc_manifest_commit(store, c, &err), MC_OK);
    assert_int_equal(check_manifest_dir(store), 1);
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(c, back);
    mc_manifest_destroy(&back);
    mc_manifest_destroy(&c);
    mc_manifest_destroy(&m);
}


/* Whether GEN is one of the files an installed background base left out of
 * the chain (the next child removes them). */
static bool is_stale(mc_manifest *m, uint64_t gen)
{
    const mc_journal_bg *bg = &mc_manifest_journal(m)->bg;
    for (size_t i = 0; i < bg->nstale; i++)
        if (bg->stale[i] == gen)
            return true;
    return false;
}

/* With background bases: every file in STORE/manifest/ is of the committed
 * chain, or left out of it by an installed base and not yet removed, or
 * the running child's temporary (and of those, only the last). Returns
 * the chain's length. */
static size_t check_manifest_dir_bg(const char *store, mc_manifest *m)
{
    mc_err err;
    uint64_t gen = 0, *chain = NULL;
    size_t n = 0;
    assert_int_equal(mc_manifest_current_generation(store, &gen, &err), MC_OK);
    assert_int_equal(mc_manifest_chain_read(store, gen, &chain, &n, &err), MC_OK);
    assert_int_equal(chain[0], mc_manifest_journal(m)->base_generation);
    char dir[700], tmpname[64];
    snprintf(dir, sizeof dir, "%s/manifest", store);
    snprintf(tmpname, sizeof tmpname, "%016llx.h5.base.tmp", (unsigned long long)mc_manifest_base_pending(m));
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        if ((mc_manifest_base_pending(m) && strcmp(de->d_name, tmpname) == 0) || de->d_type == DT_DIR)
            continue;   /* the child's file; the failing store's directories */
        uint64_t g = 0;
        assert_true(mc_parse_hex16(de->d_name, &g));
        assert_string_equal(de->d_name + 16, ".h5");
        bool in_chain = false;
        for (size_t i = 0; i < n; i++)
            in_chain = in_chain || chain[i] == g;
        assert_true(in_chain || is_stale(m, g));
    }
    closedir(d);
    free(chain);
    return n;
}

/* mc_manifest_fold (the background child's work) against the loader:
 * random batches (adds, removes, moves between levels) committed as edits;
 * every few commits the current generation is folded, installed over its
 * edit as the parent does, and loading gives the same manifest. A fold
 * whose totals disagree with the caller's is refused. */
static void test_io_fold(void **state)
{
    (void)state;
    char store[512], tmp[700];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store("fold", store, sizeof store);
    snprintf(tmp, sizeof tmp, "%s/fold.tmp", store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    unsigned levels = mc_manifest_params(m)->levels;
    for (int i = 0; i < 500; i++)
        add_numbered(m, (unsigned)below(levels));
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    size_t folds = 0, edits_seen = 0;
    for (int round = 0; round < 60; round++) {
        for (uint64_t i = below(20); i > 0; i--)
            add_numbered(m, (unsigned)below(levels));
        for (uint64_t i = below(20); i > 0 && mc_manifest_count(m) > 0; i--)
            assert_int_equal(mc_manifest_remove(m, random_live(m), &err), MC_OK);
        for (uint64_t i = below(3); i > 0 && mc_manifest_count(m) > 0; i--)
            (void)mc_manifest_relevel(m, random_live(m), (unsigned)below(levels), NULL);   /* may overlap: refused */
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
        edits_seen += mc_manifest_journal(m)->nfiles;
        if (below(4) != 0)
            continue;
        uint64_t g = mc_manifest_generation(m);
        assert_int_equal(mc_manifest_fold(store, g, tmp, mc_manifest_count(m) + 1, mc_manifest_total_bytes(m), &err),
                         MC_ECORRUPT);
        assert_non_null(strstr(err.msg, "folds to"));
        assert_int_equal(mc_manifest_fold(store, g, tmp, mc_manifest_count(m), mc_manifest_total_bytes(m), &err),
                         MC_OK);
        char path[MC_PATH_MAX];
        mc_manifest_file_path(store, g, path, sizeof path);
        assert_int_equal(rename(tmp, path), 0);
        assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
        check_same(m, back);
        assert_int_equal(mc_manifest_journal(back)->nfiles, 0);   /* G is a base now */
        assert_int_equal(mc_manifest_content_epoch(back), mc_manifest_content_epoch(m));
        mc_manifest_destroy(&m);
        m = back;   /* its journal knows the new chain */
        back = NULL;
        folds++;
    }
    assert_true(folds >= 5);
    assert_true(edits_seen > 0);

    /* A base that lists its entries out of manifest order (docs/FORMAT.md
     * lets any writer do so) folds to the same manifest: rewrite the base
     * of the chain in reverse order, add an edit, fold, install, load. */
    uint64_t *chain = NULL;
    size_t nchain = 0, n = 0;
    assert_int_equal(mc_manifest_chain_read(store, mc_manifest_generation(m), &chain, &nchain, &err), MC_OK);
    const mc_seg_meta **rev = malloc((mc_manifest_count(m) + 1) * sizeof *rev);
    assert_non_null(rev);
    for (unsigned l = levels; l-- > 0;)
        for (size_t i = mc_manifest_level_count(m, l); i-- > 0;)
            rev[n++] = mc_manifest_level_at(m, l, i);
    mc_manifest_header h;
    uint64_t *removed = NULL;
    size_t nremoved = 0;
    char path[MC_PATH_MAX];
    assert_int_equal(mc_manifest_file_read(store, chain[0], &h, &removed, &nremoved, NULL, NULL, &err), MC_OK);
    free(removed);
    mc_manifest_file_path(store, chain[0], path, sizeof path);
    assert_int_equal(mc_manifest_write_base_list(tmp, &h, (const mc_seg_meta *const *)rev, n, &err), MC_OK);
    assert_int_equal(rename(tmp, path), 0);
    free(rev);
    free(chain);
    add_numbered(m, 1);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    uint64_t g = mc_manifest_generation(m);
    assert_int_equal(mc_manifest_fold(store, g, tmp, mc_manifest_count(m), mc_manifest_total_bytes(m), &err), MC_OK);
    mc_manifest_file_path(store, g, path, sizeof path);
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(m, back);
    mc_manifest_destroy(&back);
    mc_manifest_destroy(&m);
}

/* Background bases (manifest_base.h), on from 1 segment: 1,000 segments, then 150 random batches
 * committed one after another, now and then waiting for the child; after
 * every commit loading gives the same manifest and manifest/ holds the
 * chain plus what the base protocol allows. Bases must get installed, and
 * a second store whose children all fail must stay correct too (its
 * chain ends in a base written by a commit). */
static void run_background_bases(const char *name, bool children_fail)
{
    char store[512];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store(name, store, sizeof store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    mc_manifest_base_enable(m, 1, 0);
    unsigned levels = mc_manifest_params(m)->levels;
    for (int i = 0; i < 1000; i++)
        add_numbered(m, (unsigned)below(levels));
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    if (children_fail)   /* a directory where every child's file would go: H5Fcreate fails */
        for (uint64_t g = 1; g < 400; g++) {
            char path[700];
            snprintf(path, sizeof path, "%s/manifest/%016llx.h5.base.tmp", store, (unsigned long long)g);
            assert_int_equal(mkdir(path, 0755), 0);
        }
    size_t installed = 0, started = 0, longest = 0;
    for (int round = 0; round < 150; round++) {
        for (uint64_t i = below(30); i > 0; i--)
            add_numbered(m, (unsigned)below(levels));
        for (uint64_t i = below(30); i > 0 && mc_manifest_count(m) > 0; i--)
            assert_int_equal(mc_manifest_remove(m, random_live(m), &err), MC_OK);
        if (below(2))
            assert_int_equal(mc_manifest_relevel(m, random_live(m), (unsigned)below(levels), &err), MC_OK);
        if (below(3) == 0)
            mc_manifest_note_content_change(m);
        uint64_t pending = mc_manifest_base_pending(m);
        if (pending && below(4) == 0 && mc_manifest_base_collect(store, m, true)) {
            assert_int_equal(mc_manifest_journal(m)->base_generation, pending);
            installed++;
            pending = 0;
        }
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
        if (pending && !mc_manifest_base_pending(m) && mc_manifest_journal(m)->base_generation == pending)
            installed++;   /* collected by the commit */
        started += mc_manifest_base_pending(m) != 0 && mc_manifest_base_pending(m) != pending;
        assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
        check_same(m, back);
        assert_int_equal(mc_manifest_content_epoch(back), mc_manifest_content_epoch(m));
        mc_manifest_destroy(&back);
        size_t n = check_manifest_dir_bg(store, m);
        longest = n > longest ? n : longest;
        assert_true(n <= MC_MANIFEST_CHAIN_MAX + 1);
    }
    printf("%s: %zu started %zu installed\n", name, started, installed);
    /* About a child every 20-25 commits (MC_MANIFEST_BASE_CHAIN edits or
     * half the store), and after a failed one not before 24 more. */
    assert_true(started >= 3);
    if (children_fail)
        assert_int_equal(installed, 0);
    else
        assert_true(installed >= 3);
    /* Destroying kills a running child; what is left over is orphans. */
    mc_manifest_destroy(&m);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    assert_int_equal(mc_store_remove_orphans(store, m, NULL, &err), MC_OK);
    if (children_fail)
        for (uint64_t g = 1; g < 400; g++) {
            char path[700];
            snprintf(path, sizeof path, "%s/manifest/%016llx.h5.base.tmp", store, (unsigned long long)g);
            assert_int_equal(rmdir(path), 0);
        }
    assert_int_equal(check_manifest_dir(store), mc_manifest_journal(m)->nfiles + 1);
    mc_manifest_destroy(&m);
}

static int continue_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill((pid_t)(intptr_t)arg, SIGCONT);
    return 0;
}

/* A chain that reaches MC_MANIFEST_CHAIN_MAX while the child still works
 * (stopped here) makes the next commit wait for the child and install its
 * base rather than write one itself. */
static void test_io_background_chain_full(void)
{
    char store[512];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store("bgfull", store, sizeof store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    mc_manifest_base_enable(m, 1, 1);   /* no folding: one edit a commit */
    for (int i = 0; i < 500; i++)
        add_numbered(m, 0);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    mc_journal *j = mc_manifest_journal(m);
    while (!mc_manifest_base_pending(m)) {
        add_numbered(m, 1);
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    }
    uint64_t pending = mc_manifest_base_pending(m);
    pid_t child = (pid_t)j->bg.job.pid;
    uint64_t base = j->base_generation;
    assert_int_equal(kill(child, SIGSTOP), 0);
    while (j->nfiles < MC_MANIFEST_CHAIN_MAX) {
        add_numbered(m, 1);
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
        assert_int_equal(mc_manifest_base_pending(m), pending);
        assert_int_equal(j->base_generation, base);   /* nothing installed yet */
    }
    thrd_t t;
    assert_int_equal(thrd_create(&t, continue_later, (void *)(intptr_t)child), thrd_success);
    add_numbered(m, 1);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    thrd_join(t, NULL);
    assert_int_equal(j->base_generation, pending);
    assert_true(j->nfiles < MC_MANIFEST_CHAIN_MAX);
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(m, back);
    mc_manifest_destroy(&back);
    check_manifest_dir_bg(store, m);
    mc_manifest_destroy(&m);
}

static void test_io_background_bases(void **state)
{
    (void)state;
    run_background_bases("bg", false);
    run_background_bases("bgfail", true);
    test_io_background_chain_full();
}

static void test_io_round_trip(void **state)
{
    (void)state;
    char store[512], path[700], text[128];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store("rt", store, sizeof store);

    /* The empty store. */
    store_path(path, sizeof path, "rt/CURRENT");
    read_text(path, text, sizeof text);
    assert_string_equal(text, "manifest/0000000000000001.h5\n");
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    assert_int_equal(mc_manifest_count(m), 0);
    assert_int_equal(mc_manifest_generation(m), 1);
    assert_int_equal(mc_manifest_next_segno(m), 1);
    assert_int_equal(mc_manifest_next_seq(m), 1);
    mc_params def;
    mc_params_default(&def);
    assert_params_equal(mc_manifest_params(m), &def);

    /* Many entries (more than one write batch), then a few, then none. */
    size_t sizes[] = {70000, 3, 0};
    for (int round = 0; round < 3; round++) {
        uint64_t gen = mc_manifest_generation(m);
        mc_manifest *fresh = NULL;
        mc_params p = {.fanout = 2 + (uint32_t)below(20), .l0_limit = 1 + (uint32_t)below(9),
                       .levels = 2 + (uint32_t)below(MC_LEVELS_MAX - 1), .segment_size = 1 + below(1ull << 40)};
        assert_int_equal(mc_manifest_create(&p, &fresh, &err), MC_OK);
        mc_manifest_set_generation(fresh, gen);
        mc_manifest_set_next_segno(fresh, mc_manifest_next_segno(m));
        mc_manifest_set_next_seq(fresh, 1 + below(1ull << 50));
        fill_random(fresh, sizes[round]);
        mc_manifest_destroy(&m);
        m = fresh;
        assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
        assert_int_equal(mc_manifest_generation(m), gen + 1);
        char name[64];
        snprintf(name, sizeof name, "rt/manifest/%016llx.h5", (unsigned long long)gen);
        store_path(path, sizeof path, name);
        assert_false(exists(path));   /* the previous generation is gone */
        snprintf(name, sizeof name, "rt/manifest/%016llx.h5", (unsigned long long)gen + 1);
        store_path(path, sizeof path, name);
        assert_true(exists(path));
        store_path(path, sizeof path, "rt/CURRENT");
        read_text(path, text, sizeof text);
        char want[64];
        snprintf(want, sizeof want, "manifest/%016llx.h5\n", (unsigned long long)gen + 1);
        assert_string_equal(text, want);
        uint64_t cg = 0;
        assert_int_equal(mc_manifest_current_generation(store, &cg, &err), MC_OK);
        assert_int_equal(cg, gen + 1);
        assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
        check_same(m, back);
        mc_manifest_destroy(&back);
    }
    mc_manifest_destroy(&m);
}

/* A failed commit leaves CURRENT, the old manifest and M's generation alone. */
static void test_io_commit_failure(void **state)
{
    (void)state;
    char store[512], path[700], moved[700], text[128], cur_tmp[700];
    mc_err err;
    mc_manifest *m = NULL;
    make_store("fail", store, sizeof store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    fill_random(m, 10);
    store_path(path, sizeof path, "fail/manifest");
    store_path(moved, sizeof moved, "fail/manifest.away");
    assert_int_equal(rename(path, moved), 0);   /* manifest/ missing: the temporary cannot be created */
    assert_int_not_equal(mc_manifest_commit(store, m, &err), MC_OK);
    assert_non_null(strstr(err.msg, "0000000000000002.h5"));
    assert_int_equal(mc_manifest_generation(m), 1);
    assert_int_equal(rename(moved, path), 0);
    store_path(cur_tmp, sizeof cur_tmp, "fail/CURRENT.tmp");
    assert_int_equal(mkdir(cur_tmp, 0755), 0);   /* CURRENT.tmp cannot be written */
    assert_int_not_equal(mc_manifest_commit(store, m, &err), MC_OK);
    assert_non_null(strstr(err.msg, "CURRENT.tmp"));
    assert_int_equal(mc_manifest_generation(m), 1);
    store_path(path, sizeof path, "fail/manifest/0000000000000002.h5");
    assert_false(exists(path));
    store_path(path, sizeof path, "fail/manifest/0000000000000002.h5.tmp");
    assert_false(exists(path));
    store_path(path, sizeof path, "fail/CURRENT");
    read_text(path, text, sizeof text);
    assert_string_equal(text, "manifest/0000000000000001.h5\n");
    assert_int_equal(rmdir(cur_tmp), 0);
    mc_manifest *back = NULL;
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    assert_int_equal(mc_manifest_count(back), 0);
    mc_manifest_destroy(&back);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);   /* and it works once repaired */
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(m, back);
    mc_manifest_destroy(&back);
    mc_manifest_destroy(&m);
}

/* The fsync of the store directory after the CURRENT switch fails (fault
 * dir_fsync, its second hit in a commit): the commit is done (CURRENT and
 * M's generation say the new one, which loads), an error is returned, and
 * the previous generation's manifest stays (a power loss may bring it back).
 * A failure at the switch itself (fault current_switch) leaves everything
 * as it was. */
static void test_io_commit_after_switch_fails(void **state)
{
    (void)state;
    char store[512], path[700], text[128];
    mc_err err;
    mc_manifest *m = NULL, *back = NULL;
    make_store("after", store, sizeof store);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    fill_random(m, 10);

    setenv("MPICOMPACT_FAULT", "current_switch", 1);
    mc_fault_init(0);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_EIO);
    assert_int_equal(mc_manifest_generation(m), 1);
    store_path(path, sizeof path, "after/CURRENT");
    read_text(path, text, sizeof text);
    assert_string_equal(text, "manifest/0000000000000001.h5\n");
    store_path(path, sizeof path, "after/manifest/0000000000000002.h5");
    assert_false(exists(path));

    setenv("MPICOMPACT_FAULT", "dir_fsync:after=1", 1);   /* manifest/ passes, STORE fails */
    mc_fault_init(0);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_EIO);
    assert_non_null(strstr(err.msg, "may not be durable"));
    assert_int_equal(mc_manifest_generation(m), 2);
    store_path(path, sizeof path, "after/CURRENT");
    read_text(path, text, sizeof text);
    assert_string_equal(text, "manifest/0000000000000002.h5\n");
    store_path(path, sizeof path, "after/manifest/0000000000000001.h5");
    assert_true(exists(path));
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);
    check_same(m, back);
    mc_manifest_destroy(&back);

    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);   /* the next one goes on from there */
    assert_int_equal(mc_manifest_generation(m), 3);
    mc_manifest_destroy(&m);
}

/* Writes a manifest file by hand through h5util: VERSION, and the entries
 * (all in one batch) with 1-byte keys MIN[i]..MAX[i]. */
static void craft_manifest(const char *path, uint64_t generation, uint32_t version, size_t n,
                           const uint64_t *segno, const uint8_t *level, const uint8_t *min, const uint8_t *max)
{
    hid_t f;
    mc_err err;
    assert_int_equal(mc_h5_create(path, &f, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_str(f, path, "format", MC_MANIFEST_FORMAT, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "version", version, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "generation", generation, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "next_segno", 1000, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "next_seq", 1000, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "segment_size", 1 << 20, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "fanout", 10, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "l0_limit", 4, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "levels", 3, &err), MC_OK);
    uint64_t ones[8], offs[9];
    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    for (size_t i = 0; i <= n; i++)
        offs[i] = i;
    const char *u64s[] = {"nitems", "ndeletes", "bytes", "min_seq", "max_seq"};
    hid_t d;
    assert_int_equal(mc_h5_dset_create(f, path, "segno", MC_H5_U64, 4, &d, &err), MC_OK);
    assert_int_equal(mc_h5_dset_append(d, path, "segno", MC_H5_U64, segno, n, &err), MC_OK);
    mc_h5_dset_close(&d);
    assert_int_equal(mc_h5_dset_create(f, path, "level", MC_H5_U8, 4, &d, &err), MC_OK);
    assert_int_equal(mc_h5_dset_append(d, path, "level", MC_H5_U8, level, n, &err), MC_OK);
    mc_h5_dset_close(&d);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(mc_h5_dset_create(f, path, u64s[i], MC_H5_U64, 4, &d, &err), MC_OK);
        assert_int_equal(mc_h5_dset_append(d, path, u64s[i], MC_H5_U64, ones, n, &err), MC_OK);
        mc_h5_dset_close(&d);
    }
    const char *kn[] = {"min_keys", "max_keys"}, *on[] = {"min_key_offsets", "max_key_offsets"};
    const uint8_t *kv[] = {min, max};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(mc_h5_dset_create(f, path, kn[k], MC_H5_U8, 4, &d, &err), MC_OK);
        assert_int_equal(mc_h5_dset_append(d, path, kn[k], MC_H5_U8, kv[k], n, &err), MC_OK);
        mc_h5_dset_close(&d);
        assert_int_equal(mc_h5_dset_create(f, path, on[k], MC_H5_U64, 4, &d, &err), MC_OK);
        assert_int_equal(mc_h5_dset_append(d, path, on[k], MC_H5_U64, offs, n + 1, &err), MC_OK);
        mc_h5_dset_close(&d);
    }
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
}

static void test_io_rejects(void **state)
{
    (void)state;
    char store[512], path[700], want[1024];
    mc_err err;
    mc_manifest *m = NULL;
    make_store("bad", store, sizeof store);
    store_path(path, sizeof path, "bad/manifest/0000000000000001.h5");
    uint64_t segno[] = {3, 4, 5};
    uint8_t level[] = {0, 1, 1}, min[] = {'a', 'c', 'e'}, max[] = {'z', 'd', 'f'};

    /* A hand-written manifest loads (the format is what we say it is). */
    craft_manifest(path, 1, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    assert_int_equal(mc_manifest_count(m), 3);
    assert_int_equal(mc_manifest_level_count(m, 1), 2);
    assert_int_equal(mc_manifest_params(m)->levels, 3);
    mc_manifest_destroy(&m);

    /* Overlapping level-1 entries. */
    max[1] = 'e';
    craft_manifest(path, 1, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_ECORRUPT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "segments 4 and 5 overlap in level 1"));
    assert_null(m);
    max[1] = 'd';

    /* A duplicate segno, a level beyond the store's. */
    segno[2] = 4;
    craft_manifest(path, 1, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_ECORRUPT);
    segno[2] = 5;
    level[2] = 3;
    craft_manifest(path, 1, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_ECORRUPT);
    level[2] = 1;

    /* Wrong generation attribute. */
    craft_manifest(path, 9, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_ECORRUPT);

    /* A newer version. */
    craft_manifest(path, 1, 3, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_EFORMAT);
    snprintf(want, sizeof want,
             "%s: manifest format version 3 is newer than this program supports (2): use a newer mpicompact", path);
    assert_string_equal(err.msg, want);

    /* CURRENT that does not name a manifest. */
    char cur[700];
    store_path(cur, sizeof cur, "bad/CURRENT");
    const char *bad_current[] = {"", "\n", "manifest/xyz.h5\n", "manifest/000000000000000A.h5\n",
                                 "manifest/0000000000000001.h5\n\n", "manifest/0000000000000001.h5x",
                                 "../manifest/0000000000000001.h5", "manifest/00000000000000001.h5\n",
                                 "manifest/0000000000000001.h5 \n"};
    for (size_t i = 0; i < sizeof bad_current / sizeof *bad_current; i++) {
        write_text(cur, bad_current[i]);
        assert_int_equal(mc_manifest_load(store, &m, &err), MC_ECORRUPT);
        assert_non_null(strstr(err.msg, "CURRENT"));
    }
    write_text(cur, "manifest/0000000000000001.h5");   /* the newline is optional */
    craft_manifest(path, 1, 1, 3, segno, level, min, max);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    mc_manifest_destroy(&m);
    write_text(cur, "manifest/0000000000000007.h5\n");   /* names a missing file */
    assert_int_not_equal(mc_manifest_load(store, &m, &err), MC_OK);
    assert_non_null(strstr(err.msg, "0000000000000007.h5"));

    /* No CURRENT, no store. */
    unlink(cur);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_ENOENT);
    snprintf(want, sizeof want, "%s: not an mpicompact store (no CURRENT)", store);
    assert_string_equal(err.msg, want);
    store_path(path, sizeof path, "missing");
    assert_int_equal(mc_manifest_load(path, &m, &err), MC_ENOENT);
    assert_null(m);
}

static int rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_manifest.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    return rm_tree(tmpdir) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (mc_manifest_base_child_requested(argc, argv))   /* background bases of test_io_background_bases */
        return mc_manifest_base_child_main(argc, argv);
    const char *s = getenv("MC_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    rng = seed;
    printf("test_manifest: seed %llu (rerun with MC_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_overlap_rejected),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_io_round_trip),
        cmocka_unit_test(test_io_incremental),
        cmocka_unit_test(test_io_fold),
        cmocka_unit_test(test_io_background_bases),
        cmocka_unit_test(test_io_commit_failure),
        cmocka_unit_test(test_io_commit_after_switch_fails),
        cmocka_unit_test(test_io_rejects),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
