/* Unit tests for gen: determinism, fractions, unique seqs, sorted keys, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "digest.h"
#include "gen.h"

static uint64_t seed;

/* What a segment's item stream looked like. */
typedef struct seen {
    mc_digest d;            /* keys, values, seqs and kinds */
    uint64_t n, deletes, overwrites;
    uint64_t min_seq, max_seq;
    mc_buf prev_key;
    bool sorted;
    /* keys written by earlier segments of the run (to count overwrites) */
    mc_buf *keys;
    size_t nkeys, cap;
    size_t nkeys_before;
} seen;

static bool known_before(const seen *s, const uint8_t *k, size_t len)
{
    for (size_t i = 0; i < s->nkeys_before; i++)
        if (s->keys[i].n == len && memcmp(s->keys[i].p, k, len) == 0)
            return true;
    return false;
}

static mc_status record(void *ctx, const mc_item *it, mc_err *err)
{
    seen *s = ctx;
    if (s->n > 0 && mc_key_cmp(s->prev_key.p, s->prev_key.n, it->key, it->key_len) >= 0)
        s->sorted = false;
    s->prev_key.n = 0;
    assert_int_equal(mc_buf_append(&s->prev_key, it->key, it->key_len, err), MC_OK);
    uint8_t meta[9];
    memcpy(meta, &it->seq, 8);
    meta[8] = it->kind;
    mc_digest_add(&s->d, it->key, it->key_len, it->value, it->value_len);
    mc_digest_add(&s->d, meta, sizeof meta, NULL, 0);
    if (it->kind == MC_KIND_DELETE) {
        assert_int_equal(it->value_len, 0);
        s->deletes++;
    } else if (s->keys && known_before(s, it->key, it->key_len))
        s->overwrites++;
    if (s->n == 0 || it->seq < s->min_seq)
        s->min_seq = it->seq;
    if (s->n == 0 || it->seq > s->max_seq)
        s->max_seq = it->seq;
    s->n++;
    if (s->keys) {
        if (s->nkeys == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 1024;
            s->keys = realloc(s->keys, s->cap * sizeof *s->keys);
            assert_non_null(s->keys);
        }
        memset(&s->keys[s->nkeys], 0, sizeof s->keys[0]);
        assert_int_equal(mc_buf_append(&s->keys[s->nkeys++], it->key, it->key_len, err), MC_OK);
    }
    return MC_OK;
}

static void run_segment(const mc_gen_opts *o, uint64_t j, uint64_t first_seq, seen *s)
{
    mc_digest_init(&s->d);
    s->n = s->deletes = s->overwrites = 0;
    s->sorted = true;
    s->nkeys_before = s->nkeys;
    mc_err err;
    assert_int_equal(mc_gen_items(o, j, first_seq, record, s, &err), MC_OK);
}

static void seen_free(seen *s)
{
    mc_buf_free(&s->prev_key);
    for (size_t i = 0; i < s->nkeys; i++)
        mc_buf_free(&s->keys[i]);
    free(s->keys);
}

static void test_deterministic_and_sorted(void **state)
{
    (void)state;
    const mc_dist dists[] = {MC_DIST_UNIFORM, MC_DIST_ZIPF, MC_DIST_SEQUENTIAL};
    for (size_t d = 0; d < 3; d++) {
        mc_gen_opts o;
        mc_gen_opts_default(&o);
        o.segments = 6;
        o.items = 500;
        o.key_min = 8;
        o.key_max = 40;
        o.value_min = 0;
        o.value_max = 64;
        o.dist = dists[d];
        o.overwrite = 0.3;
        o.del = 0.2;
        o.seed = seed;
        for (uint64_t j = 0; j < o.segments; j++) {
            seen a = {0}, b = {0};
            run_segment(&o, j, 1000, &a);
            run_segment(&o, j, 1000, &b);
            assert_true(a.sorted);
            assert_int_equal(a.n, o.items);
            assert_memory_equal(&a.d, &b.d, sizeof a.d);
            /* seqs are exactly this segment's block */
            assert_int_equal(a.min_seq, 1000 + j * o.items);
            assert_int_equal(a.max_seq, 1000 + (j + 1) * o.items - 1);
            if (j == 0)
                assert_int_equal(a.deletes, 0);
            /* another seed gives other content */
            o.seed ^= 0x5555;
            seen c = {0};
            run_segment(&o, j, 1000, &c);
            o.seed ^= 0x5555;
            assert_memory_not_equal(&a.d, &c.d, sizeof a.d);
            seen_free(&a);
            seen_free(&b);
            seen_free(&c);
        }
    }
}

static void test_fractions(void **state)
{
    (void)state;
    const mc_dist dists[] = {MC_DIST_UNIFORM, MC_DIST_ZIPF};
    for (size_t d = 0; d < 2; d++) {
        mc_gen_opts o;
        mc_gen_opts_default(&o);
        o.segments = 5;
        o.items = 2000;
        o.dist = dists[d];
        o.overwrite = 0.25;
        o.del = 0.15;
        o.seed = seed;
        seen s = {0};
        s.keys = malloc(sizeof *s.keys);
        s.cap = 1;
        uint64_t items = 0, dels = 0, ovw = 0;
        for (uint64_t j = 0; j < o.segments; j++) {
            run_segment(&o, j, 1, &s);
            if (j == 0)
                continue;
            items += s.n;
            dels += s.deletes;
            ovw += s.overwrites;
        }
        double fd = (double)dels / (double)items, fo = (double)ovw / (double)items;
        printf("dist %zu: delete fraction %.3f (asked 0.15), overwrite fraction %.3f (asked 0.25)\n", d, fd, fo);
        /* zipf repeats hot keys within a segment more often, which turns
         * some picks into new keys: allow more slack there */
        double slack = o.dist == MC_DIST_ZIPF ? 0.05 : 0.03;
        assert_true(fd > 0.15 - slack && fd < 0.15 + 0.03);
        assert_true(fo > 0.25 - slack && fo < 0.25 + 0.03);
        seen_free(&s);
    }
}

static void test_opts_check(void **state)
{
    (void)state;
    mc_gen_opts o;
    mc_gen_opts_default(&o);
    mc_err err;
    assert_int_equal(mc_gen_opts_check(&o, &err), MC_EINVAL);   /* no segments/items */
    o.segments = 1;
    o.items = 1;
    assert_int_equal(mc_gen_opts_check(&o, &err), MC_OK);
    o.overwrite = 0.7;
    o.del = 0.4;
    assert_int_equal(mc_gen_opts_check(&o, &err), MC_EINVAL);
    o.overwrite = o.del = 0;
    o.key_min = 0;
    assert_int_equal(mc_gen_opts_check(&o, &err), MC_EINVAL);
    o.key_min = 1;
    o.key_max = MC_KEY_MAX + 1;
    assert_int_equal(mc_gen_opts_check(&o, &err), MC_EINVAL);
}

/* Short keys collide: a segment keeps one version per key, still sorted. */
static void test_short_keys(void **state)
{
    (void)state;
    mc_gen_opts o;
    mc_gen_opts_default(&o);
    o.segments = 2;
    o.items = 1000;
    o.key_min = o.key_max = 1;
    o.seed = seed;
    seen s = {0};
    run_segment(&o, 1, 1, &s);
    assert_true(s.sorted);
    assert_true(s.n <= 256 && s.n > 0);
    seen_free(&s);
}

/* The segment file: written twice, the descriptors are identical. */
static void test_segment_file(void **state)
{
    (void)state;
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mc_test_gen.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    mc_gen_opts o;
    mc_gen_opts_default(&o);
    o.segments = 3;
    o.items = 300;
    o.overwrite = 0.2;
    o.del = 0.1;
    o.seed = seed;
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    mc_seg_meta m1 = {0}, m2 = {0}, v = {0};
    mc_err err;
    assert_int_equal(mc_gen_segment(&o, 2, 77, p1, 5, &m1, &err), MC_OK);
    assert_int_equal(mc_gen_segment(&o, 2, 77, p2, 5, &m2, &err), MC_OK);
    assert_int_equal(m1.nitems, 300);
    assert_int_equal(m1.min_seq, 77 + 600);
    assert_int_equal(m1.max_seq, 77 + 899);
    assert_int_equal(m1.nitems, m2.nitems);
    assert_int_equal(m1.ndeletes, m2.ndeletes);
    assert_int_equal(m1.bytes, m2.bytes);
    assert_memory_equal(m1.min_key, m2.min_key, m1.min_key_len);
    assert_memory_equal(m1.max_key, m2.max_key, m1.max_key_len);
    assert_true(m1.ndeletes > 0);
    assert_int_equal(mc_seg_validate(p1, &v, &err), MC_OK);
    assert_int_equal(v.nitems, m1.nitems);
    assert_int_equal(v.segno, 5);
    mc_seg_meta_clear(&m1);
    mc_seg_meta_clear(&m2);
    mc_seg_meta_clear(&v);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

/* Keys of a run, key_max <= 40 bytes each. */
typedef struct keyset {
    uint8_t (*key)[40];
    size_t *len;
    size_t n, cap;
} keyset;

static mc_status collect(void *ctx, const mc_item *it, mc_err *err)
{
    (void)err;
    keyset *k = ctx;
    assert_true(it->key_len <= 40);
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 1024;
        k->key = realloc(k->key, k->cap * sizeof *k->key);
        k->len = realloc(k->len, k->cap * sizeof *k->len);
        assert_true(k->key && k->len);
    }
    memcpy(k->key[k->n], it->key, it->key_len);
    k->len[k->n++] = it->key_len;
    return MC_OK;
}

static void run_keys(const mc_gen_opts *o, uint64_t first_seq, keyset *k)
{
    mc_err err;
    for (uint64_t j = 0; j < o->segments; j++)
        assert_int_equal(mc_gen_items(o, j, first_seq, collect, k, &err), MC_OK);
}

static bool has_key(const keyset *k, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->len[i] == len && memcmp(k->key[i], key, len) == 0)
            return true;
    return false;
}

/* The same options at the next run's first seq (a second `gen` on the same
 * store) write none of the first run's keys, overwrites and deletes
 * included; at the same first seq they write the same ones. */
static void test_second_run_new_keys(void **state)
{
    (void)state;
    const mc_dist dists[] = {MC_DIST_UNIFORM, MC_DIST_ZIPF, MC_DIST_SEQUENTIAL};
    for (size_t d = 0; d < 3; d++) {
        mc_gen_opts o;
        mc_gen_opts_default(&o);
        o.segments = 3;
        o.items = 300;
        o.key_min = 8;
        o.key_max = 24;
        o.dist = dists[d];
        o.overwrite = 0.3;
        o.del = 0.2;
        o.seed = seed;
        uint64_t first = 1 + seed % 1000, next = first + o.segments * o.items;
        keyset a = {0}, b = {0}, again = {0};
        run_keys(&o, first, &a);
        run_keys(&o, next, &b);
        run_keys(&o, first, &again);
        assert_int_equal(again.n, a.n);
        for (size_t i = 0; i < a.n; i++)
            assert_true(again.len[i] == a.len[i] && memcmp(again.key[i], a.key[i], a.len[i]) == 0);
        for (size_t i = 0; i < b.n; i++)
            assert_false(has_key(&a, b.key[i], b.len[i]));
        keyset *all[] = {&a, &b, &again};
        for (size_t i = 0; i < 3; i++) {
            free(all[i]->key);
            free(all[i]->len);
        }
    }
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_gen: MC_SEED=%llu\n", (unsigned long long)seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_sorted),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_opts_check),
        cmocka_unit_test(test_short_keys),
        cmocka_unit_test(test_segment_file),
        cmocka_unit_test(test_second_run_new_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
