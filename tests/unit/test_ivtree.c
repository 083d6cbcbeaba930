/* ivtree and the manifest's level-0 key-range index against a brute-force
 * scan: random intervals of random byte keys inserted and erased at random,
 * random queries (bounded and unbounded), the answers and their order
 * compared with a scan of everything; then the same through the manifest
 * (add, remove, relevel) with mc_manifest_l0_overlaps. Seed printed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ivtree.h"
#include "manifest.h"
#include "test_rng.h"

#define N 600

static size_t rin(size_t a, size_t b)
{
    return a + rnd_below(b - a + 1);
}

typedef struct item {
    uint8_t lo[4], hi[4];
    size_t lo_len, hi_len;
    bool in;
} item;

static void rand_key(uint8_t *k, size_t *len)
{
    *len = (size_t)rin(1, 4);
    for (size_t i = 0; i < *len; i++)
        k[i] = (uint8_t)rin(0, 3);   /* few values: many equal keys and prefixes */
}

static void rand_interval(item *it)
{
    uint8_t a[4], b[4];
    size_t al, bl;
    rand_key(a, &al);
    rand_key(b, &bl);
    if (mc_key_cmp(a, al, b, bl) > 0) {
        memcpy(it->lo, b, bl), it->lo_len = bl;
        memcpy(it->hi, a, al), it->hi_len = al;
    } else {
        memcpy(it->lo, a, al), it->lo_len = al;
        memcpy(it->hi, b, bl), it->hi_len = bl;
    }
}

typedef struct seen {
    uint64_t ids[N];
    size_t n, stop_after;
} seen;

static bool collect(void *ctx, const mc_interval *iv)
{
    seen *s = ctx;
    s->ids[s->n++] = iv->id;
    return s->n < s->stop_after;
}

static bool overlaps(const item *it, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    return (!lo || mc_key_cmp(it->hi, it->hi_len, lo, lo_len) >= 0) &&
           (!hi || mc_key_cmp(it->lo, it->lo_len, hi, hi_len) <= 0);
}

/* Brute force: the ids of items intersecting [lo, hi], in (lo, id) order. */
static size_t brute(const item *items, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                    uint64_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        if (items[i].in && overlaps(&items[i], lo, lo_len, hi, hi_len))
            out[n++] = i;
    for (size_t a = 1; a < n; a++)   /* insertion sort by (lo, id) */
        for (size_t b = a; b > 0; b--) {
            const item *x = &items[out[b - 1]], *y = &items[out[b]];
            int c = mc_key_cmp(x->lo, x->lo_len, y->lo, y->lo_len);
            if (c < 0 || (c == 0 && out[b - 1] < out[b]))
                break;
            uint64_t t = out[b - 1];
            out[b - 1] = out[b];
            out[b] = t;
        }
    return n;
}

static void random_query(uint8_t *lo, size_t *lo_len, uint8_t *hi, size_t *hi_len, bool *has_lo, bool *has_hi)
{
    item q;
    rand_interval(&q);
    memcpy(lo, q.lo, q.lo_len), *lo_len = q.lo_len;
    memcpy(hi, q.hi, q.hi_len), *hi_len = q.hi_len;
    *has_lo = rin(0, 5) != 0;
    *has_hi = rin(0, 5) != 0;
}

static void test_against_scan(void **state)
{
    (void)state;
    test_rng_seed("test_against_scan");
    static item items[N];
    memset(items, 0, sizeof items);
    mc_ivtree t;
    mc_ivtree_init(&t);
    size_t live = 0;
    static uint64_t want[N];
    for (int step = 0; step < 20000; step++) {
        size_t i = (size_t)rin(0, N - 1);
        item *it = &items[i];
        mc_interval iv = {.lo = it->lo, .lo_len = it->lo_len, .hi = it->hi, .hi_len = it->hi_len, .id = i};
        if (it->in) {
            mc_ivtree_erase(&t, &iv);
            it->in = false;
            live--;
        } else {
            rand_interval(it);
            iv.lo = it->lo, iv.lo_len = it->lo_len, iv.hi = it->hi, iv.hi_len = it->hi_len;
            assert_int_equal(mc_ivtree_insert(&t, &iv, NULL), MC_OK);
            it->in = true;
            live++;
        }
        assert_int_equal(t.n, live);
        if (step % 7)
            continue;
        uint8_t lo[4], hi[4];
        size_t lo_len, hi_len;
        bool has_lo, has_hi;
        random_query(lo, &lo_len, hi, &hi_len, &has_lo, &has_hi);
        const uint8_t *qlo = has_lo ? lo : NULL, *qhi = has_hi ? hi : NULL;
        size_t nw = brute(items, qlo, lo_len, qhi, hi_len, want);
        seen s = {.stop_after = SIZE_MAX};
        assert_true(mc_ivtree_overlaps(&t, qlo, lo_len, qhi, hi_len, collect, &s));
        assert_int_equal(s.n, nw);
        for (size_t k = 0; k < nw; k++)
            assert_int_equal(s.ids[k], want[k]);
        if (nw > 1) {   /* a visitor that stops is not called again */
            seen s2 = {.stop_after = 1};
            assert_false(mc_ivtree_overlaps(&t, qlo, lo_len, qhi, hi_len, collect, &s2));
            assert_int_equal(s2.n, 1);
            assert_int_equal(s2.ids[0], want[0]);
        }
    }
    mc_ivtree_fini(&t);
}

static bool collect_meta(void *ctx, const mc_seg_meta *e)
{
    seen *s = ctx;
    s->ids[s->n++] = e->segno;
    return true;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The manifest keeps its level-0 index in step with add, remove and
 * relevel, and its levels (gap buffers) in order. */
static void test_manifest_level0(void **state)
{
    (void)state;
    test_rng_seed("test_manifest_level0");
    mc_params pr;
    mc_params_default(&pr);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&pr, &m, NULL), MC_OK);
    static item items[N];
    memset(items, 0, sizeof items);
    mc_manifest_alloc_segnos(m, N + 1);   /* segno = index + 1 */
    static uint64_t want[N];
    for (int step = 0; step < 6000; step++) {
        size_t i = (size_t)rin(0, N - 1);
        item *it = &items[i];
        if (it->in) {
            if (rin(0, 1))
                assert_int_equal(mc_manifest_remove(m, i + 1, NULL), MC_OK);
            else   /* deeper levels may refuse an overlap: then it stays */
                (void)mc_manifest_relevel(m, i + 1, (unsigned)rin(1, 6), NULL);
            it->in = mc_manifest_find(m, i + 1) && mc_manifest_find(m, i + 1)->level == 0;
            if (!it->in && mc_manifest_find(m, i + 1))
                assert_int_equal(mc_manifest_remove(m, i + 1, NULL), MC_OK);
        } else {
            rand_interval(it);
            mc_seg_meta e = {.segno = i + 1, .level = 0, .nitems = 1, .bytes = 1, .min_seq = 1, .max_seq = 1,
                             .min_key = it->lo, .min_key_len = it->lo_len, .max_key = it->hi,
                             .max_key_len = it->hi_len};
            assert_int_equal(mc_manifest_add(m, &e, NULL), MC_OK);
            it->in = true;
        }
        /* level 0 in ascending segno */
        size_t n0 = mc_manifest_level_count(m, 0);
        for (size_t k = 1; k < n0; k++)
            assert_true(mc_manifest_level_at(m, 0, k - 1)->segno < mc_manifest_level_at(m, 0, k)->segno);
        if (step % 5)
            continue;
        uint8_t lo[4], hi[4];
        size_t lo_len, hi_len;
        bool has_lo, has_hi;
        random_query(lo, &lo_len, hi, &hi_len, &has_lo, &has_hi);
        const uint8_t *qlo = has_lo ? lo : NULL, *qhi = has_hi ? hi : NULL;
        size_t nw = brute(items, qlo, lo_len, qhi, hi_len, want);
        for (size_t k = 0; k < nw; k++)
            want[k]++;   /* index -> segno */
        seen s = {.stop_after = SIZE_MAX};
        assert_true(mc_manifest_l0_overlaps(m, qlo, lo_len, qhi, hi_len, collect_meta, &s));
        assert_int_equal(s.n, nw);
        qsort(want, nw, sizeof *want, u64_cmp);
        qsort(s.ids, s.n, sizeof *s.ids, u64_cmp);
        for (size_t k = 0; k < nw; k++)
            assert_int_equal(s.ids[k], want[k]);
    }
    mc_manifest_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_scan),
        cmocka_unit_test(test_manifest_level0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
