/* Unit tests for merge: the k-way merge against a sort-and-dedupe model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "test_rng.h"

#include "merge.h"



typedef struct version {
    uint8_t key[24];
    size_t key_len;
    uint8_t value[8];
    size_t value_len;
    uint64_t seq;
    uint8_t kind;
} version;

/* A source over an array that copies each item into one of two scratch
 * buffers in turn and poisons the other, as a segment reader may reuse its
 * windows: the merge must not use an item after asking its source for the
 * second one after it (merge.h). */
typedef struct vec_source {
    const version *v;
    size_t n, pos;
    version scratch[2];
    unsigned turn;
} vec_source;

static mc_status vec_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    (void)err;
    vec_source *s = ctx;
    version *sc = &s->scratch[s->turn];
    s->turn ^= 1;
    memset(sc, 0xee, sizeof *sc);
    if (s->pos == s->n) {
        *eof = true;
        return MC_OK;
    }
    *eof = false;
    *sc = s->v[s->pos++];
    *item = (mc_item){sc->key, sc->key_len, sc->value, sc->value_len, sc->seq, sc->kind};
    return MC_OK;
}

static int key_cmp_v(const version *a, const version *b)
{
    return mc_key_cmp(a->key, a->key_len, b->key, b->key_len);
}

/* The model's order: key, then the winner first (seq desc, delete first,
 * larger value first). */
static int model_cmp(const void *pa, const void *pb)
{
    const version *a = pa, *b = pb;
    int c = key_cmp_v(a, b);
    if (c)
        return c;
    if (a->seq != b->seq)
        return a->seq > b->seq ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind == MC_KIND_DELETE ? -1 : 1;
    return -mc_key_cmp(a->value, a->value_len, b->value, b->value_len);
}

static bool same_content(const version *a, const version *b)
{
    return a->kind == b->kind && a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0;
}

/* Short keys (many prefixes and collisions, the empty key among them), keys
 * around the merge's 8-byte prefix cache that often share their first 7
 * bytes, keys around 16 bytes that share their first 15 (the merge compares
 * bytes 8..15 as a second integer), and keys whose first 8 bytes are all
 * 0xff (the prefix a source at its end has). */
static void random_key(version *v)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 0xff};
    size_t i = 0, shared = 0;
    uint8_t fill = 0;
    switch (rnd_below(6)) {
    case 0:
    case 1:
        v->key_len = rnd_below(5);
        break;
    case 2:
    case 3:
        v->key_len = 6 + rnd_below(7);
        shared = 7, fill = 'p';
        break;
    case 4:
        v->key_len = 14 + rnd_below(7);
        shared = 15, fill = 'q';
        break;
    default:
        v->key_len = 8 + rnd_below(5);
        shared = 8, fill = 0xff;
        break;
    }
    for (; i < shared && i < v->key_len; i++)
        v->key[i] = fill;
    for (; i < v->key_len; i++)
        v->key[i] = alphabet[rnd_below(sizeof alphabet)];
}

static void random_content(version *v)
{
    v->kind = rnd_below(4) == 0 ? MC_KIND_DELETE : MC_KIND_PUT;
    v->value_len = v->kind == MC_KIND_DELETE ? 0 : rnd_below(sizeof v->value + 1);
    for (size_t i = 0; i < v->value_len; i++)
        v->value[i] = (uint8_t)rnd();
}

/* One random trial: NSRC sources, up to PER items each. */
static void trial(size_t nsrc, size_t per)
{
    size_t cap = nsrc * per;
    version *all = calloc(cap, sizeof *all);
    version **src = calloc(nsrc, sizeof *src);
    size_t *nsrc_items = calloc(nsrc, sizeof *nsrc_items);
    assert_non_null(all);
    assert_non_null(src);
    assert_non_null(nsrc_items);
    size_t nall = 0;
    for (size_t s = 0; s < nsrc; s++) {
        src[s] = calloc(per, sizeof **src);
        assert_non_null(src[s]);
        size_t n = 0;
        for (size_t i = 0; i < per; i++) {
            version v = {0};
            if (nall > 0 && rnd_below(3) == 0) {
                v = all[rnd_below(nall)];          /* same key in another source */
                if (rnd_below(2))
                    v.seq = 1 + rnd_below(50);     /* another version of it */
                if (rnd_below(8) == 0)
                    random_content(&v);            /* same (key, seq): a conflict */
            } else {
                random_key(&v);
                v.seq = 1 + rnd_below(50);
                random_content(&v);
            }
            /* keys strictly increasing within one source: drop duplicates */
            bool dup = false;
            for (size_t j = 0; j < n && !dup; j++)
                dup = key_cmp_v(&src[s][j], &v) == 0;
            if (dup)
                continue;
            src[s][n++] = v;
            all[nall++] = v;
        }
        qsort(src[s], n, sizeof **src, model_cmp);
        nsrc_items[s] = n;
    }
    /* model */
    qsort(all, nall, sizeof *all, model_cmp);
    uint64_t want_over = 0, want_conf = 0, want_dup = 0;
    version *winners = calloc(nall ? nall : 1, sizeof *winners);
    assert_non_null(winners);
    size_t nwin = 0;
    for (size_t i = 0; i < nall; i++) {
        if (nwin && key_cmp_v(&winners[nwin - 1], &all[i]) == 0) {
            const version *w = &winners[nwin - 1];
            if (w->seq != all[i].seq)
                want_over++;
            else if (!same_content(w, &all[i]))
                want_conf++;
            else
                want_dup++;
            continue;
        }
        winners[nwin++] = all[i];
    }
    /* merge */
    vec_source *vs = calloc(nsrc, sizeof *vs);
    mc_merge_source *ms = calloc(nsrc, sizeof *ms);
    assert_non_null(vs);
    assert_non_null(ms);
    for (size_t s = 0; s < nsrc; s++) {
        vs[s] = (vec_source){.v = src[s], .n = nsrc_items[s]};
        ms[s] = (mc_merge_source){vec_next, &vs[s]};
    }
    mc_merge *m = NULL;
    mc_err err = {0};
    assert_int_equal(mc_merge_create(ms, nsrc, &m, &err), MC_OK);
    size_t got = 0;
    for (;;) {
        mc_item it;
        bool eof = false;
        assert_int_equal(mc_merge_next(m, &it, &eof, &err), MC_OK);
        if (eof)
            break;
        assert_true(got < nwin);
        const version *w = &winners[got++];
        assert_int_equal(mc_key_cmp(it.key, it.key_len, w->key, w->key_len), 0);
        assert_int_equal(it.seq, w->seq);
        assert_int_equal(it.kind, w->kind);
        assert_int_equal(it.value_len, w->value_len);
        assert_memory_equal(it.value, w->value, w->value_len);
    }
    assert_int_equal(got, nwin);
    assert_int_equal(mc_merge_overwrites(m), want_over);
    assert_int_equal(mc_merge_conflicts(m), want_conf);
    assert_int_equal(mc_merge_duplicates(m), want_dup);
    /* every version read is returned or counted once */
    assert_int_equal(nall - nwin, mc_merge_overwrites(m) + mc_merge_conflicts(m) + mc_merge_duplicates(m));
    bool eof = false;
    mc_item it;
    assert_int_equal(mc_merge_next(m, &it, &eof, &err), MC_OK);   /* stays at the end */
    assert_true(eof);
    mc_merge_destroy(&m);
    assert_null(m);
    for (size_t s = 0; s < nsrc; s++)
        free(src[s]);
    free(src);
    free(nsrc_items);
    free(all);
    free(winners);
    free(vs);
    free(ms);
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (int t = 0; t < 300; t++)
        trial(1 + rnd_below(24), 1 + rnd_below(60));
}

static void test_many_sources_few_keys(void **state)
{
    (void)state;
    for (int t = 0; t < 50; t++)
        trial(64 + rnd_below(64), 4);   /* equal keys across many inputs */
}

static void test_empty(void **state)
{
    (void)state;
    mc_merge *m = NULL;
    mc_err err = {0};
    assert_int_equal(mc_merge_create(NULL, 0, &m, &err), MC_OK);
    mc_item it;
    bool eof = false;
    assert_int_equal(mc_merge_next(m, &it, &eof, &err), MC_OK);
    assert_true(eof);
    mc_merge_destroy(&m);
    mc_merge_destroy(&m);   /* NULL is fine */
}

/* The same versions split differently over sources give the same result,
 * including for conflicting (key, seq) pairs. */
static void test_conflict_is_deterministic(void **state)
{
    (void)state;
    version a = {.key = "k", .key_len = 1, .value = "aa", .value_len = 2, .seq = 5, .kind = MC_KIND_PUT};
    version b = a;
    b.value[0] = 'b';
    version d = a;
    d.kind = MC_KIND_DELETE;
    d.value_len = 0;
    const version *orders[2][3] = {{&a, &b, &d}, {&d, &b, &a}};
    for (int o = 0; o < 2; o++) {
        vec_source vs[3];
        mc_merge_source ms[3];
        for (int i = 0; i < 3; i++) {
            vs[i] = (vec_source){.v = orders[o][i], .n = 1};
            ms[i] = (mc_merge_source){vec_next, &vs[i]};
        }
        mc_merge *m = NULL;
        assert_int_equal(mc_merge_create(ms, 3, &m, NULL), MC_OK);
        mc_item it;
        bool eof = true;
        assert_int_equal(mc_merge_next(m, &it, &eof, NULL), MC_OK);
        assert_false(eof);
        assert_int_equal(it.kind, MC_KIND_DELETE);   /* delete over put */
        assert_int_equal(mc_merge_conflicts(m), 2);
        assert_int_equal(mc_merge_overwrites(m), 0);
        mc_merge_destroy(&m);
    }
}

/* A source whose keys do not increase is an error of the merge, at every
 * place the 8-byte prefix cache decides differently: a smaller prefix, an
 * equal key, and keys equal in their first 8 bytes (short and long). */
static void test_out_of_order_source(void **state)
{
    (void)state;
    static const struct {
        const char *first, *second;
    } cases[] = {{"b", "a"}, {"same", "same"}, {"abcdefgh2", "abcdefgh1"}, {"abcdefgh", "abcdefg"},
                 {"abc", "abc"}, {"abcdefghij", "abcdefghij"}, {"abcdefghijklmnop", "abcdefghijklmnoa"},
                 {"abcdefghijklmnop", "abcdefghijklmnop"}, {"abcdefghijklmnopq", "abcdefghijklmnop"},
                 {"abcdefghijklmnopq2", "abcdefghijklmnopq1"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        version v[2] = {{.key_len = strlen(cases[c].first), .seq = 2, .kind = MC_KIND_PUT},
                        {.key_len = strlen(cases[c].second), .seq = 1, .kind = MC_KIND_PUT}};
        memcpy(v[0].key, cases[c].first, v[0].key_len);
        memcpy(v[1].key, cases[c].second, v[1].key_len);
        version other = {.key = "zz", .key_len = 2, .seq = 3, .kind = MC_KIND_PUT};
        vec_source vs[2] = {{.v = v, .n = 2}, {.v = &other, .n = 1}};
        mc_merge_source ms[2] = {{vec_next, &vs[0]}, {vec_next, &vs[1]}};
        mc_merge *m = NULL;
        mc_err err = {0};
        assert_int_equal(mc_merge_create(ms, 2, &m, &err), MC_OK);
        mc_status st = MC_OK;
        for (int i = 0; i < 4 && st == MC_OK; i++) {
            mc_item it;
            bool eof = false;
            st = mc_merge_next(m, &it, &eof, &err);
            if (eof)
                break;
        }
        if (st != MC_ECORRUPT)
            fail_msg("case %zu (%s then %s): status %d, not MC_ECORRUPT", c, cases[c].first, cases[c].second, st);
        assert_non_null(strstr(err.msg, "out of order"));
        mc_merge_destroy(&m);
    }
}

int main(void)
{
    test_rng_seed("test_merge");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_many_sources_few_keys),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_conflict_is_deterministic),
        cmocka_unit_test(test_out_of_order_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
