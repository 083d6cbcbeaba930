/* test_store_api: the store API of include/mpicompact.h (mc_store_*,
 * mc_version) against an in-memory model: random segments added with
 * mc_store_add(), every key read back with mc_store_get() and the content
 * with bounded and unbounded iterators; MC_ADD_ASSIGN_SEQ; a view that keeps
 * reading after its files are unlinked; errors that name the file and
 * change nothing. Prints its seed (MC_SEED reruns it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpicompact.h"
#include "store.h"
#include "test_rng.h"

/* An API call that must succeed; on failure the message is printed. */
#define ASSERT_OK(call, err)                          \
    do {                                              \
        mc_status st_ = (call);                       \
        if (st_ != MC_OK)                             \
            print_error("%s\n", (err).msg);            \
        assert_int_equal(st_, MC_OK);                 \
    } while (0)

#define NKEYS 60
#define NFILES 6

static char tmpdir[256];

/* The model: per key the newest version added so far. */
typedef struct version {
    uint64_t seq;   /* 0: never written */
    uint8_t kind;
    char value[32];
} version;

static void key_of(int k, char *out)
{
    snprintf(out, 16, "key%03d", k);
}

static void make_store(const char *name, char *store)
{
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    snprintf(store, 600, "%s/%s", tmpdir, name);
    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
}

/* Writes a segment of the keys with WANT[k] set at PATH; records what was written in VS. */
static void write_file(const char *path, const bool *want, const uint64_t *seqs, const uint8_t *kinds,
                       version *vs)
{
    mc_seg_writer *w = NULL;
    mc_err err;
    assert_int_equal(mc_seg_writer_create(path, 1, &w, &err), MC_OK);
    for (int k = 0; k < NKEYS; k++) {
        if (!want[k])
            continue;
        char key[16];
        key_of(k, key);
        snprintf(vs[k].value, sizeof vs[k].value, "v%llu", (unsigned long long)seqs[k]);
        vs[k].seq = seqs[k];
        vs[k].kind = kinds[k];
        mc_item it = {.key = (const uint8_t *)key, .key_len = strlen(key), .seq = seqs[k], .kind = kinds[k],
                      .value = (const uint8_t *)vs[k].value,
                      .value_len = kinds[k] == MC_KIND_PUT ? strlen(vs[k].value) : 0};
        assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    }
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    mc_seg_meta_clear(&meta);
}

/* Every key through get, then [lo, hi] through an iterator, against MODEL. */
static void check_store(mc_store *s, const version *model, int lo, int hi)
{
    mc_err err;
    for (int k = 0; k < NKEYS; k++) {
        char key[16];
        key_of(k, key);
        mc_item it;
        bool found = true;
        ASSERT_OK(mc_store_get(s, (const uint8_t *)key, strlen(key), &it, &found, &err), err);
        bool live = model[k].seq && model[k].kind == MC_KIND_PUT;
        assert_int_equal(found, live);
        if (live) {
            assert_int_equal(it.seq, model[k].seq);
            assert_int_equal(it.value_len, strlen(model[k].value));
            assert_memory_equal(it.value, model[k].value, it.value_len);
        }
    }
    char lok[16], hik[16];
    key_of(lo, lok);
    key_of(hi, hik);
    mc_store_iter *iter = NULL;
    assert_int_equal(mc_store_iter_open(s, lo < 0 ? NULL : (const uint8_t *)lok, strlen(lok),
                                        hi < 0 ? NULL : (const uint8_t *)hik, strlen(hik), &iter, &err),
                     MC_OK);
    int expect = 0;
    for (;;) {
        mc_item it;
        bool eof = false;
        ASSERT_OK(mc_store_iter_next(iter, &it, &eof, &err), err);
        while (expect < NKEYS && (!model[expect].seq || model[expect].kind != MC_KIND_PUT ||
                                  (lo >= 0 && expect < lo) || (hi >= 0 && expect > hi)))
            expect++;
        if (eof) {
            assert_int_equal(expect, NKEYS);
            break;
        }
        assert_true(expect < NKEYS);
        char key[16];
        key_of(expect, key);
        assert_int_equal(it.key_len, strlen(key));
        assert_memory_equal(it.key, key, it.key_len);
        assert_int_equal(it.seq, model[expect].seq);
        expect++;
    }
    mc_store_iter_close(&iter);
    assert_null(iter);
    mc_store_iter_close(NULL);
}

static void test_version(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", MC_VERSION_MAJOR, MC_VERSION_MINOR, MC_VERSION_PATCH);
    assert_string_equal(mc_version(), want);
    assert_string_equal(mc_strerror(MC_ECORRUPT), "corrupt data");
}

static void test_add_get_iter(void **state)
{
    (void)state;
    char store[600], files[NFILES][700];
    const char *names[NFILES];
    version model[NKEYS] = {{0}};
    make_store("model", store);
    uint64_t next = 1;
    for (int f = 0; f < NFILES; f++) {
        bool want[NKEYS];
        uint64_t seqs[NKEYS];
        uint8_t kinds[NKEYS];
        version written[NKEYS] = {{0}};
        for (int k = 0; k < NKEYS; k++) {
            want[k] = rnd() % 3 == 0;
            seqs[k] = 1 + rnd() % 1000 * 16 + (uint64_t)f;   /* distinct per (key, file) */
            kinds[k] = rnd() % 5 == 0 ? MC_KIND_DELETE : MC_KIND_PUT;
        }
        want[f] = true;   /* no file is empty */
        snprintf(files[f], sizeof files[f], "%s/in%d.h5", tmpdir, f);
        write_file(files[f], want, seqs, kinds, written);
        for (int k = 0; k < NKEYS; k++)
            if (written[k].seq > model[k].seq)
                model[k] = written[k];
        names[f] = files[f];
        next++;
    }
    mc_err err;
    /* Two calls: two generations, three files each. */
    ASSERT_OK(mc_store_add(store, names, 3, 0, &err), err);
    assert_int_equal(mc_store_add(store, names + 3, NFILES - 3, 0, &err), MC_OK);
    mc_store *s = NULL;
    assert_int_equal(mc_store_open(store, &s, &err), MC_OK);
    check_store(s, model, -1, -1);
    int lo = (int)(rnd() % NKEYS), hi = lo + (int)(rnd() % 20);
    if (hi >= NKEYS)
        hi = NKEYS - 1;
    check_store(s, model, lo, hi);
    check_store(s, model, lo, -1);
    check_store(s, model, -1, hi);

    /* The view holds its files: unlinking every segment (what a compaction
     * does once it committed) leaves it readable. */
    char segdir[700];
    snprintf(segdir, sizeof segdir, "%s/seg", store);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.h5' -delete", segdir);
    assert_int_equal(system(cmd), 0);
    check_store(s, model, -1, -1);
    mc_store_close(&s);
    assert_null(s);
    mc_store_close(&s);
    mc_store_close(NULL);
}

/* A file whose only item is KEY=VALUE at SEQ. */
static void one_item(const char *path, const char *key, const char *value, uint64_t seq)
{
    mc_seg_writer *w = NULL;
    mc_err err;
    mc_seg_meta meta = {0};
    mc_item it = {.key = (const uint8_t *)key, .key_len = strlen(key), .value = (const uint8_t *)value,
                  .value_len = strlen(value), .seq = seq, .kind = MC_KIND_PUT};
    assert_int_equal(mc_seg_writer_create(path, 7, &w, &err), MC_OK);
    assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    mc_seg_meta_clear(&meta);
}

static void expect_item(const char *store, const char *key, const char *value, uint64_t seq)
{
    mc_store *s = NULL;
    mc_err err;
    mc_item it;
    bool found = false;
    assert_int_equal(mc_store_open(store, &s, &err), MC_OK);
    ASSERT_OK(mc_store_get(s, (const uint8_t *)key, strlen(key), &it, &found, &err), err);
    assert_true(found);
    assert_int_equal(it.value_len, strlen(value));
    assert_memory_equal(it.value, value, it.value_len);
    if (seq)
        assert_int_equal(it.seq, seq);
    mc_store_close(&s);
}

static void test_assign_seq(void **state)
{
    (void)state;
    char a[600], b[600], old[700], newer[700], third[700];
    mc_err err;
    snprintf(old, sizeof old, "%s/old.h5", tmpdir);
    snprintf(newer, sizeof newer, "%s/new.h5", tmpdir);
    snprintf(third, sizeof third, "%s/third.h5", tmpdir);
    one_item(old, "k", "first", 1000);
    one_item(newer, "k", "second", 5);
    one_item(third, "k", "third", 3);
    const char *first[] = {old}, *second[] = {newer}, *both[] = {newer, third};

    /* Seqs kept as written: the later file's older seq loses. */
    make_store("keep", a);
    assert_int_equal(mc_store_add(a, first, 1, 0, &err), MC_OK);
    assert_int_equal(mc_store_add(a, second, 1, 0, &err), MC_OK);
    expect_item(a, "k", "first", 1000);

    /* MC_ADD_ASSIGN_SEQ: each file gets a seq above the store's, in order. */
    make_store("assign", b);
    assert_int_equal(mc_store_add(b, first, 1, 0, &err), MC_OK);
    assert_int_equal(mc_store_add(b, second, 1, MC_ADD_ASSIGN_SEQ, &err), MC_OK);
    expect_item(b, "k", "second", 1001);
    assert_int_equal(mc_store_add(b, both, 2, MC_ADD_ASSIGN_SEQ, &err), MC_OK);
    expect_item(b, "k", "third", 1003);
    /* The inputs are left as they were. */
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_validate(newer, &meta, &err), MC_OK);
    assert_int_equal(meta.max_seq, 5);
    mc_seg_meta_clear(&meta);
}

static void test_errors(void **state)
{
    (void)state;
    char store[600], good[700], bad[700], missing[700];
    mc_err err;
    mc_store *s = (mc_store *)&err;
    snprintf(missing, sizeof missing, "%s/no-such-store", tmpdir);
    assert_int_not_equal(mc_store_open(missing, &s, &err), MC_OK);
    assert_null(s);
    assert_non_null(strstr(err.msg, missing));

    make_store("errors", store);
    snprintf(good, sizeof good, "%s/good.h5", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.h5", tmpdir);
    one_item(good, "g", "value", 9);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("not an HDF5 file\n", f);
    fclose(f);
    const char *files[] = {good, bad};
    assert_int_equal(mc_store_add(store, files, 1, 2, &err), MC_EINVAL);
    assert_int_not_equal(mc_store_add(store, files, 2, 0, &err), MC_OK);
    assert_non_null(strstr(err.msg, bad));
    /* Nothing was added, and no copy is left in the store. */
    assert_int_equal(mc_store_open(store, &s, &err), MC_OK);
    mc_item it;
    bool found = true;
    assert_int_equal(mc_store_get(s, (const uint8_t *)"g", 1, &it, &found, &err), MC_OK);
    assert_false(found);
    assert_int_equal(mc_store_get(s, (const uint8_t *)"", 0, &it, &found, &err), MC_EINVAL);
    mc_store_close(&s);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s/seg' -type f)\"", store);
    assert_int_equal(system(cmd), 0);
}

/* One temporary directory for the whole group, removed at the end. */
static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_store_api.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    test_rng_seed("test_store_api");
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version), cmocka_unit_test(test_add_get_iter),
        cmocka_unit_test(test_assign_seq), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
