/* Unit tests for keysplit: balanced, ordered boundaries from a manifest alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "keysplit.h"

static unsigned seed;

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t rnd64(void)
{
    return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

static void add(mc_manifest *m, uint64_t segno, unsigned level, const uint8_t *prefix, size_t plen, uint64_t a,
                uint64_t b, uint64_t bytes)
{
    uint8_t lo[16], hi[16];
    if (plen) {
        memcpy(lo, prefix, plen);
        memcpy(hi, prefix, plen);
    }
    be64(a, lo + plen);
    be64(b, hi + plen);
    mc_seg_meta meta = {.segno = segno, .level = (uint8_t)level, .nitems = 10, .bytes = bytes,
                        .min_seq = segno, .max_seq = segno,
                        .min_key = lo, .min_key_len = plen + 8, .max_key = hi, .max_key_len = plen + 8};
    mc_err err;
    if (mc_manifest_next_segno(m) <= segno)
        mc_manifest_set_next_segno(m, segno + 1);
    assert_int_equal(mc_manifest_add(m, &meta, &err), MC_OK);
}

static uint64_t bound_value(const mc_keysplit *ks, size_t i, size_t plen)
{
    assert_int_equal(ks->bound_len[i], plen + 8);
    uint64_t v = 0;
    for (size_t b = 0; b < 8; b++)
        v = v << 8 | ks->bound[i][plen + b];
    return v;
}

static void check_ordered(const mc_keysplit *ks)
{
    for (size_t i = 1; i + 1 < ks->nparts; i++)
        assert_true(mc_key_cmp(ks->bound[i - 1], ks->bound_len[i - 1], ks->bound[i], ks->bound_len[i]) <= 0);
}

/* Level 0 only, every segment spanning nearly everything: even quarters. */
static void test_overlapping_level0(void **state)
{
    (void)state;
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&p, &m, NULL), MC_OK);
    const uint8_t prefix[] = "user:";
    for (uint64_t s = 1; s <= 40; s++)
        add(m, s, 0, prefix, 5, rnd64() % (UINT64_MAX / 1000), UINT64_MAX - rnd64() % (UINT64_MAX / 1000), 1000000);
    mc_keysplit ks;
    assert_int_equal(mc_keysplit_compute(m, 4, &ks, NULL), MC_OK);
    check_ordered(&ks);
    for (size_t i = 0; i < 3; i++) {
        assert_memory_equal(ks.bound[i], prefix, 5);   /* the common prefix is kept */
        double q = (double)bound_value(&ks, i, 5) / 18446744073709551616.0;
        assert_true(q > (double)(i + 1) / 4 - 0.02 && q < (double)(i + 1) / 4 + 0.02);
    }
    mc_keysplit_clear(&ks);
    mc_manifest_destroy(&m);
}

/* Disjoint level-1 segments, one holding half the bytes: it gets its share. */
static void test_skewed_level1(void **state)
{
    (void)state;
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&p, &m, NULL), MC_OK);
    const uint64_t step = UINT64_MAX / 10;
    for (uint64_t s = 0; s < 10; s++)
        add(m, s + 1, 1, NULL, 0, s * step, s * step + step - 1, s == 9 ? 9000 : 1000);   /* last: half */
    mc_keysplit ks;
    assert_int_equal(mc_keysplit_compute(m, 2, &ks, NULL), MC_OK);
    /* half the bytes lie in the last segment: the cut is at its start */
    uint64_t v = bound_value(&ks, 0, 0);
    assert_true(v >= 9 * step - step / 100 && v <= 9 * step + step / 100);
    mc_keysplit_clear(&ks);
    assert_int_equal(mc_keysplit_compute(m, 7, &ks, NULL), MC_OK);
    check_ordered(&ks);
    mc_keysplit_clear(&ks);
    mc_manifest_destroy(&m);
}

static void test_degenerate(void **state)
{
    (void)state;
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&p, &m, NULL), MC_OK);
    mc_keysplit ks;
    assert_int_equal(mc_keysplit_compute(m, 5, &ks, NULL), MC_OK);   /* empty store */
    check_ordered(&ks);
    mc_keysplit_clear(&ks);
    add(m, 1, 0, (const uint8_t *)"k", 1, 42, 42, 10);   /* one key */
    assert_int_equal(mc_keysplit_compute(m, 8, &ks, NULL), MC_OK);
    check_ordered(&ks);
    assert_int_equal(ks.nparts, 8);
    mc_keysplit_clear(&ks);
    assert_int_equal(mc_keysplit_compute(m, 1, &ks, NULL), MC_OK);   /* one part: no boundary */
    assert_int_equal(ks.nparts, 1);
    mc_keysplit_clear(&ks);
    mc_manifest_destroy(&m);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("test_keysplit: MC_SEED=%u\n", seed);
    srand(seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlapping_level0),
        cmocka_unit_test(test_skewed_level1),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
