/* Unit tests for split: slices partition the key space, each lower lands in
 * exactly one slice inside its range, segnos are fresh and disjoint, and a
 * join gives back the parent with every slice's segnos and outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "split.h"

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void set_range(mc_seg_meta *e, uint64_t segno, unsigned level, uint32_t lo, uint32_t hi, uint64_t bytes)
{
    uint8_t a[4] = {lo >> 24, lo >> 16, lo >> 8, lo}, z[4] = {hi >> 24, hi >> 16, hi >> 8, hi};
    *e = (mc_seg_meta){.segno = segno, .level = (uint8_t)level, .nitems = 1, .bytes = bytes,
                       .min_seq = 1, .max_seq = 1};
    e->min_key = mc_memdup(a, 4);
    e->min_key_len = 4;
    e->max_key = mc_memdup(z, 4);
    e->max_key_len = 4;
}

/* Which slice holds KEY; fails unless exactly one does. */
static size_t owner(const mc_request *s, size_t n, const uint8_t *key, size_t len)
{
    size_t found = n, count = 0;
    for (size_t i = 0; i < n; i++) {
        bool lo_ok = !(s[i].flags & MC_REQ_HAS_LO) || mc_key_cmp(key, len, s[i].lo.p, s[i].lo.len) >= 0;
        bool hi_ok = !(s[i].flags & MC_REQ_HAS_HI) || mc_key_cmp(key, len, s[i].hi.p, s[i].hi.len) <= 0;
        if (lo_ok && hi_ok) {
            found = i;
            count++;
        }
    }
    assert_int_equal(count, 1);
    return found;
}

static void random_parent(mc_request *req, mc_manifest *m, size_t nuppers, size_t nlowers)
{
    memset(req, 0, sizeof *req);
    req->id = 9;
    req->upper_level = 0;
    req->out_level = 1;
    req->segment_size = 1000;
    req->nuppers = nuppers;
    req->ninputs = nuppers + nlowers;
    req->inputs = calloc(req->ninputs, sizeof *req->inputs);
    uint64_t segno = mc_manifest_alloc_segnos(m, req->ninputs);
    for (size_t i = 0; i < nuppers; i++) {
        uint32_t a = (uint32_t)(rnd() % 1000), b = a + 1 + (uint32_t)(rnd() % 1000000);
        if (i == 0)
            a = 0, b = UINT32_MAX;   /* every lower overlaps the uppers */
        set_range(&req->inputs[i], segno++, 0, a, b, 5000);
    }
    uint32_t at = (uint32_t)(rnd() % 5000);
    for (size_t j = 0; j < nlowers; j++) {
        uint32_t a = at + 1 + (uint32_t)(rnd() % 1000), b = a + (uint32_t)(rnd() % 50000);
        set_range(&req->inputs[nuppers + j], segno++, 1, a, b, 1 + rnd() % 9000);
        at = b;
    }
    uint64_t need = mc_request_max_outputs(req);
    assert_int_equal(mc_request_set_run(req, mc_manifest_alloc_segnos(m, need), need, NULL), MC_OK);
}

static void one_trial(size_t nuppers, size_t nlowers, size_t want)
{
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    mc_err err = {0};
    assert_int_equal(mc_manifest_create(&p, &m, &err), MC_OK);
    mc_request parent;
    random_parent(&parent, m, nuppers, nlowers);
    uint64_t before = mc_manifest_next_segno(m);

    mc_request *s = NULL;
    size_t n = 0;
    assert_int_equal(mc_split_request(&parent, want, m, &s, &n, &err), MC_OK);
    assert_true(n >= 1 && n <= want);

    /* Every lower in exactly one slice, inside its range; uppers in all. */
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s[i].nuppers, nuppers);
        for (size_t u = 0; u < nuppers; u++)
            assert_int_equal(s[i].inputs[u].segno, parent.inputs[u].segno);
        for (size_t j = s[i].nuppers; j < s[i].ninputs; j++) {
            const mc_seg_meta *e = &s[i].inputs[j];
            assert_int_equal(owner(s, n, e->min_key, e->min_key_len), i);
            assert_int_equal(owner(s, n, e->max_key, e->max_key_len), i);
            seen++;
        }
        if (mc_request_check(&s[i], &err) != MC_OK)
            fail_msg("slice %zu of %zu: %s", i, n, err.msg);
        /* One run of fresh segnos, the worst case for the slice, right
         * after the parent's or the previous slice's. */
        assert_int_equal(s[i].nruns, 1);
        assert_int_equal(s[i].runs[0].count, mc_request_max_outputs(&s[i]));
        uint64_t expect = i ? s[i - 1].runs[0].first + s[i - 1].runs[0].count : before;
        assert_int_equal(s[i].runs[0].first, expect);
    }
    assert_int_equal(seen, nlowers);
    /* Random keys: each belongs to exactly one slice. */
    for (int t = 0; t < 2000; t++) {
        uint8_t key[6];
        size_t len = 1 + rnd() % sizeof key;
        for (size_t b = 0; b < len; b++)
            key[b] = (uint8_t)(b < 2 ? rnd() % 2 : rnd());
        owner(s, n, key, len);
    }
    /* Join: parent's id and inputs, all slices' segnos and outputs. */
    mc_response *resps = calloc(n, sizeof *resps);
    for (size_t i = 0; i < n; i++) {
        resps[i].noutputs = 1;
        resps[i].outputs = calloc(1, sizeof *resps[i].outputs);
        set_range(&resps[i].outputs[0], s[i].runs[0].first, 1, (uint32_t)i, (uint32_t)i, 7);
        resps[i].stats.bytes_out = 7;
    }
    mc_request jr;
    mc_response jp;
    assert_int_equal(mc_split_join(&parent, s, resps, n, &jr, &jp, &err), MC_OK);
    assert_int_equal(jp.id, parent.id);
    assert_int_equal(jp.noutputs, n);
    assert_int_equal(jp.stats.bytes_out, 7 * n);
    assert_int_equal(jr.ninputs, parent.ninputs);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += mc_request_segno_count(&s[i]);
    assert_int_equal(jr.nruns, n);   /* one run per slice, in slice order */
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(&jr.runs[i], &s[i].runs[0], sizeof jr.runs[i]);
    assert_int_equal(mc_request_segno_count(&jr), total);
    mc_request_clear(&jr);
    mc_response_clear(&jp);
    /* Slice 0 sent again (new segnos after every other slice's): the
     * joined runs are still sorted, and hold each slice's segnos. */
    uint64_t again = mc_manifest_alloc_segnos(m, 3);
    assert_int_equal(mc_request_set_run(&s[0], again, 3, NULL), MC_OK);
    resps[0].outputs[0].segno = again + 2;
    assert_int_equal(mc_split_join(&parent, s, resps, n, &jr, &jp, &err), MC_OK);
    assert_int_equal(jr.nruns, n);
    assert_null(mc_segno_runs_fault(jr.runs, jr.nruns, &(size_t){0}));
    for (size_t i = 0; i < n; i++)
        assert_true(mc_request_owns_segno(&jr, resps[i].outputs[0].segno));
    assert_false(mc_request_owns_segno(&jr, again + 3));
    mc_request_clear(&jr);
    mc_response_clear(&jp);
    for (size_t i = 0; i < n; i++) {
        mc_response_clear(&resps[i]);
        mc_request_clear(&s[i]);
    }
    free(resps);
    free(s);
    mc_request_clear(&parent);
    mc_manifest_destroy(&m);
}

static void test_split_with_lowers(void **state)
{
    (void)state;
    for (int t = 0; t < 200; t++)
        one_trial(1 + rnd() % 4, rnd() % 30, 1 + rnd() % 8);
}

static void test_split_uppers_only(void **state)
{
    (void)state;
    for (int t = 0; t < 200; t++)
        one_trial(1 + rnd() % 6, 0, 2 + rnd() % 8);
}

/* PARENT (built by SETUP from random_parent's shape) cut into WANT slices
 * in a fresh manifest; CHECK looks at the N slices S. */
static void cut_and_check(size_t nuppers, size_t nlowers, size_t want, void (*setup)(mc_request *parent),
                          void (*check)(const mc_request *s, size_t n))
{
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    mc_err err = {0};
    assert_int_equal(mc_manifest_create(&p, &m, &err), MC_OK);
    mc_request parent;
    random_parent(&parent, m, nuppers, nlowers);
    setup(&parent);
    mc_request *s = NULL;
    size_t n = 0;
    assert_int_equal(mc_split_request(&parent, want, m, &s, &n, &err), MC_OK);
    check(s, n);
    for (size_t i = 0; i < n; i++)
        mc_request_clear(&s[i]);
    free(s);
    mc_request_clear(&parent);
    mc_manifest_destroy(&m);
}

/* Ten lowers of equal size under an upper of almost no bytes, in four
 * slices: each slice gets 2 or 3 of them (cuts at lower ends). */
static void even_lowers(mc_request *parent)
{
    parent->inputs[0].bytes = 1;
    for (size_t j = 1; j < parent->ninputs; j++)
        parent->inputs[j].bytes = 100;
}

static void even_slices(const mc_request *s, size_t n)
{
    assert_int_equal(n, 4);
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t got = s[i].ninputs - s[i].nuppers;
        assert_true(got >= 2 && got <= 3);
        sum += got;
    }
    assert_int_equal(sum, 10);
}

static void test_even_lowers_even_slices(void **state)
{
    (void)state;
    cut_and_check(1, 10, 4, even_lowers, even_slices);
}

/* Slices balanced by data, not by the key space: one upper spans the whole
 * key space with few bytes, nine hold most of the bytes within its first
 * thousandth. Two slices cut inside that thousandth (even steps of the
 * key space would cut in the middle: one slice with almost everything). */
#define DENSE_END (UINT32_MAX / 1000)

static void dense_start(mc_request *parent)
{
    uint64_t first = parent->inputs[0].segno;
    mc_seg_meta_clear(&parent->inputs[0]);
    set_range(&parent->inputs[0], first, 0, 0, UINT32_MAX, 1000);
    for (size_t i = 1; i < parent->ninputs; i++) {
        mc_seg_meta_clear(&parent->inputs[i]);
        set_range(&parent->inputs[i], first + i, 0, 0, DENSE_END, 10000);
    }
}

static void cut_in_dense(const mc_request *s, size_t n)
{
    assert_int_equal(n, 2);
    uint8_t k[4] = {(uint8_t)(DENSE_END >> 24), (uint8_t)(DENSE_END >> 16), (uint8_t)(DENSE_END >> 8),
                    (uint8_t)DENSE_END};
    assert_true(s[0].flags & MC_REQ_HAS_HI);
    assert_true(mc_key_cmp(s[0].hi.p, s[0].hi.len, k, 4) < 0);
}

static void test_slices_follow_the_data(void **state)
{
    (void)state;
    cut_and_check(10, 0, 2, dense_start, cut_in_dense);
}

static void test_no_split_when_one_wanted(void **state)
{
    (void)state;
    one_trial(3, 10, 1);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("test_split: seed %llu (MC_SEED=%llu reproduces)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_with_lowers),
        cmocka_unit_test(test_split_uppers_only),
        cmocka_unit_test(test_even_lowers_even_slices),
        cmocka_unit_test(test_slices_follow_the_data),
        cmocka_unit_test(test_no_split_when_one_wanted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
