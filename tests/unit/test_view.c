/* Unit tests for view: level-0 segments beyond what a view opens at once
 * (merged through temporary runs) against a model, and the snapshot rule
 * when a commit removes a file the view has not opened yet (view.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_rng.h"
#include "manifest_io.h"
#include "store.h"
#include "view.h"

static char base_dir[1024];
static int store_counter;

typedef struct tkv {
    char key[16];
    char value[24];
    uint64_t seq;
    uint8_t kind;
} tkv;

static void new_store(char *store, size_t len)
{
    snprintf(store, len, "%s/store%d", base_dir, store_counter++);
    mc_params p;
    mc_params_default(&p);
    p.levels = 3;
    mc_err err = {0};
    if (mc_store_init(store, &p, &err) != MC_OK)
        fail_msg("store init: %s", err.msg);
}

/* Writes ITEMS (sorted, unique keys) as a new segment of M at LEVEL and adds it. */
static uint64_t add_segment(const char *store, mc_manifest *m, unsigned level, const tkv *items, size_t n)
{
    uint64_t segno = mc_manifest_alloc_segnos(m, 1);
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, segno, path);
    mc_seg_writer *w = NULL;
    mc_seg_meta meta = {0};
    mc_err err = {0};
    if (mc_seg_writer_create(path, segno, &w, &err) != MC_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        mc_item it = {(const uint8_t *)items[i].key, strlen(items[i].key), (const uint8_t *)items[i].value,
                      strlen(items[i].value), items[i].seq, items[i].kind};
        if (mc_seg_writer_add(w, &it, &err) != MC_OK)
            fail_msg("%s", err.msg);
    }
    if (mc_seg_writer_finish(&w, &meta, &err) != MC_OK)
        fail_msg("%s", err.msg);
    meta.level = (uint8_t)level;
    assert_int_equal(mc_manifest_add(m, &meta, &err), MC_OK);
    mc_seg_meta_clear(&meta);
    return segno;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const tkv *)a)->key, ((const tkv *)b)->key);
}

/* Reads the view over [lo, hi] into "key=value\n" lines. */
static void read_view(const char *store, const mc_manifest *m, const char *lo, const char *hi, char *out,
                      size_t cap)
{
    mc_view *v = NULL;
    mc_err err = {0};
    if (mc_view_open(store, m, (const uint8_t *)lo, lo ? strlen(lo) : 0, (const uint8_t *)hi, hi ? strlen(hi) : 0,
                     &v, &err) != MC_OK)
        fail_msg("%s", err.msg);
    size_t n = 0;
    out[0] = '\0';
    for (bool eof = false;;) {
        mc_item it;
        if (mc_view_next(v, &it, &eof, &err) != MC_OK)
            fail_msg("%s", err.msg);
        if (eof)
            break;
        n += (size_t)snprintf(out + n, cap - n, "%.*s=%.*s\n", (int)it.key_len, (const char *)it.key,
                              (int)it.value_len, (const char *)it.value);
        assert_true(n < cap);
    }
    mc_view_close(&v);
}

/* N0 overlapping level-0 segments of random keys, over a level 1: every
 * key's newest version wins, deletes hide (across groups of runs too). */
static void check_many_l0(size_t n0)
{
    char store[1100];
    new_store(store, sizeof store);
    mc_err err = {0};
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    enum { NKEYS = 120 };
    tkv model[NKEYS];
    memset(model, 0, sizeof model);
    uint64_t seq = 1;
    tkv l1[NKEYS];
    for (int k = 0; k < NKEYS; k++) {
        l1[k] = (tkv){.seq = seq++};
        snprintf(l1[k].key, sizeof l1[k].key, "k%03d", k);
        snprintf(l1[k].value, sizeof l1[k].value, "base%d", k);
        model[k] = l1[k];
    }
    add_segment(store, m, 1, l1, NKEYS);
    for (size_t s = 0; s < n0; s++) {
        tkv items[4];
        size_t n = 0;
        for (size_t j = 0; j < 4; j++) {
            int k = (int)rnd_below(NKEYS);
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup = dup || strcmp(items[i].key, model[k].key) == 0;
            if (dup)
                continue;
            tkv t = {.seq = seq++, .kind = rnd_below(4) == 0 ? MC_KIND_DELETE : MC_KIND_PUT};
            snprintf(t.key, sizeof t.key, "k%03d", k);
            if (t.kind == MC_KIND_PUT)
                snprintf(t.value, sizeof t.value, "s%zu-%d", s, k);
            items[n++] = t;
            model[k] = t;
        }
        qsort(items, n, sizeof *items, cmp_key);
        add_segment(store, m, 0, items, n);
    }
    mc_manifest_set_next_seq(m, seq);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    static char want[16384], got[16384];
    const char *ranges[][2] = {{NULL, NULL}, {"k020", "k060"}, {"k100", NULL}, {"k0501", "k0502"}};
    for (size_t r = 0; r < 4; r++) {
        const char *lo = ranges[r][0], *hi = ranges[r][1];
        size_t n = 0;
        want[0] = '\0';
        for (int k = 0; k < NKEYS; k++)
            if (model[k].kind == MC_KIND_PUT && (!lo || strcmp(model[k].key, lo) >= 0) &&
                (!hi || strcmp(model[k].key, hi) <= 0))
                n += (size_t)snprintf(want + n, sizeof want - n, "%s=%s\n", model[k].key, model[k].value);
        read_view(store, m, lo, hi, got, sizeof got);
        assert_string_equal(got, want);
    }
    mc_manifest_destroy(&m);
}

static void test_few_l0(void **state)
{
    (void)state;
    check_many_l0(MC_VIEW_OPEN_MAX / 2);
}

static void test_runs(void **state)
{
    (void)state;
    check_many_l0(2 * MC_VIEW_OPEN_MAX + 7);
}

/* A new store of three level-1 segments a0..a9, b0..b9, c0..c9 (values
 * v0..v29), committed; *M is its manifest, SEGNOS and ITEMS what it holds.
 * *V: a view over all of it, not yet read. */
static void three_segments(char *store, size_t len, mc_manifest **m, uint64_t segnos[3], tkv items[3][10],
                           mc_view **v)
{
    mc_err err = {0};
    new_store(store, len);
    assert_int_equal(mc_manifest_load(store, m, &err), MC_OK);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < 10; i++) {
            items[s][i] = (tkv){.seq = (uint64_t)(1 + s * 10 + i)};
            snprintf(items[s][i].key, sizeof items[s][i].key, "%c%d", 'a' + s, i);
            snprintf(items[s][i].value, sizeof items[s][i].value, "v%d", s * 10 + i);
        }
        segnos[s] = add_segment(store, *m, 1, items[s], 10);
    }
    mc_manifest_set_next_seq(*m, 31);
    assert_int_equal(mc_manifest_commit(store, *m, &err), MC_OK);
    assert_int_equal(mc_view_open(store, *m, NULL, 0, NULL, 0, v, &err), MC_OK);
}

/* A commit that rewrites segment OLD as a new one of the same items and
 * unlinks OLD's file, the way a compaction does; CHANGE also adds a level-0
 * segment with a new key (add/gen: the content changes). */
static void rewrite_segment(const char *store, uint64_t old, const tkv *items, bool change)
{
    mc_err err = {0};
    mc_manifest *w = NULL;
    assert_int_equal(mc_manifest_load(store, &w, &err), MC_OK);
    assert_int_equal(mc_manifest_remove(w, old, &err), MC_OK);
    add_segment(store, w, 1, items, 10);
    if (change) {
        tkv extra = {.key = "zz", .value = "new", .seq = 99};
        add_segment(store, w, 0, &extra, 1);
        mc_manifest_set_next_seq(w, 100);
        mc_manifest_note_content_change(w);
    }
    assert_int_equal(mc_manifest_commit(store, w, &err), MC_OK);
    assert_int_equal(mc_store_remove_segment(store, old, &err), MC_OK);
    mc_manifest_destroy(&w);
}

static void test_resume_after_compaction(void **state)
{
    (void)state;
    char store[1100];
    mc_err err = {0};
    mc_manifest *m = NULL;
    mc_view *v = NULL;
    uint64_t segnos[3];
    tkv items[3][10];
    three_segments(store, sizeof store, &m, segnos, items, &v);
    /* The view has read a0..a4 (only a* is open) when b* is compacted away. */
    uint64_t gen = mc_manifest_generation(m);
    int seen = 0;
    mc_item it;
    bool eof = false;
    for (; seen < 5; seen++)
        assert_int_equal(mc_view_next(v, &it, &eof, &err), MC_OK);
    rewrite_segment(store, segnos[1], items[1], false);
    for (;; seen++) {
        assert_int_equal(mc_view_next(v, &it, &eof, &err), MC_OK);
        if (eof)
            break;
        const tkv *t = &items[seen / 10][seen % 10];
        assert_int_equal(it.key_len, strlen(t->key));
        assert_memory_equal(it.key, t->key, it.key_len);
        assert_memory_equal(it.value, t->value, it.value_len);
    }
    assert_int_equal(seen, 30);   /* every key once, in order: one generation's content */
    assert_true(mc_view_generation(v) > gen);   /* it moved on to the compacted one */
    mc_view_close(&v);
    mc_manifest_destroy(&m);
}

static void test_content_changed(void **state)
{
    (void)state;
    char store[1100];
    mc_err err = {0};
    mc_manifest *m = NULL;
    mc_view *v = NULL;
    uint64_t segnos[3];
    tkv items[3][10];
    three_segments(store, sizeof store, &m, segnos, items, &v);
    mc_item it;
    bool eof = false;
    assert_int_equal(mc_view_next(v, &it, &eof, &err), MC_OK);
    rewrite_segment(store, segnos[2], items[2], true);   /* c* goes, and an add commits a new key */
    mc_status st = MC_OK;
    for (int i = 0; i < 40 && st == MC_OK && !eof; i++)
        st = mc_view_next(v, &it, &eof, &err);
    assert_int_equal(st, MC_ECANCELED);
    assert_non_null(strstr(err.msg, "content changed"));
    assert_non_null(strstr(err.msg, store));
    mc_view_close(&v);
    /* The caller starts over on the new generation: the new key is there. */
    mc_manifest_destroy(&m);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    static char got[4096];
    read_view(store, m, "c5", NULL, got, sizeof got);
    assert_string_equal(got, "c5=v25\nc6=v26\nc7=v27\nc8=v28\nc9=v29\nzz=new\n");
    mc_manifest_destroy(&m);
}

int main(void)
{
    test_rng_seed("test_view");
    const char *tmp = getenv("TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/mc_view_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_few_l0),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_resume_after_compaction),
        cmocka_unit_test(test_content_changed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base_dir);
    return rc;
}
