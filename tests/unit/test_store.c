/* test_store: store creation, segment paths and names, orphan listing and removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manifest_io.h"
#include "store.h"

static char tmpdir[256];
static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void in_tmp(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%.200s", tmpdir, name);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static void test_init(void **state)
{
    (void)state;
    char store[600], path[700];
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    p.fanout = 4;
    p.segment_size = 12345;

    /* An existing directory, even empty, is refused and left alone. */
    assert_int_equal(mc_store_init(tmpdir, &p, &err), MC_EEXIST);
    assert_non_null(strstr(err.msg, tmpdir));
    /* A missing parent. */
    in_tmp(store, sizeof store, "no/such/parent");
    assert_int_not_equal(mc_store_init(store, &p, &err), MC_OK);
    in_tmp(path, sizeof path, "no");
    assert_false(exists(path));
    /* Bad parameters create nothing. */
    in_tmp(store, sizeof store, "s_init");
    mc_params bad = p;
    bad.fanout = 1;
    assert_int_equal(mc_store_init(store, &bad, &err), MC_EINVAL);
    assert_false(exists(store));

    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
    for (unsigned i = 0; i < 256; i++) {
        snprintf(path, sizeof path, "%s/seg/%02x", store, i);
        assert_true(is_dir(path));
    }
    snprintf(path, sizeof path, "%s/seg/100", store);
    assert_false(exists(path));
    snprintf(path, sizeof path, "%s/manifest/0000000000000001.h5", store);
    assert_true(exists(path));
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    assert_int_equal(mc_manifest_generation(m), 1);
    assert_int_equal(mc_manifest_next_segno(m), 1);
    assert_int_equal(mc_manifest_next_seq(m), 1);
    assert_int_equal(mc_manifest_count(m), 0);
    assert_int_equal(mc_manifest_params(m)->fanout, 4);
    assert_int_equal(mc_manifest_params(m)->segment_size, 12345);
    /* A fresh store has no orphans. */
    size_t n = 99;
    assert_int_equal(mc_store_remove_orphans(store, m, &n, &err), MC_OK);
    assert_int_equal(n, 0);
    mc_manifest_destroy(&m);
    /* And a second init refuses it. */
    assert_int_equal(mc_store_init(store, &p, &err), MC_EEXIST);
    snprintf(path, sizeof path, "%s/CURRENT", store);
    assert_true(exists(path));
}

static void test_names(void **state)
{
    (void)state;
    char path[MC_PATH_MAX];
    mc_store_seg_path("S", 0x1234, path);
    assert_string_equal(path, "S/seg/34/0000000000001234.h5");
    mc_store_seg_path("a/b", UINT64_MAX, path);
    assert_string_equal(path, "a/b/seg/ff/ffffffffffffffff.h5");
    for (int i = 0; i < 1000; i++) {
        uint64_t segno = rnd() >> (rnd() % 64), back = 0;
        mc_store_seg_path("x", segno, path);
        assert_true(mc_store_parse_seg_name(path + strlen("x/seg/00/"), &back));
        assert_int_equal(back, segno);
    }
    uint64_t s = 0;
    assert_true(mc_store_parse_seg_name("00000000000000ab.h5", &s));
    assert_int_equal(s, 0xab);
    const char *bad[] = {"00000000000000AB.h5", "0000000000000ab.h5", "000000000000000ab.h5", "00000000000000ab.h5.tmp",
                         "00000000000000ab.h6", "00000000000000ab", "", "x000000000000000.h5", "00000000000000ab.h5 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(mc_store_parse_seg_name(bad[i], &s));
}

static void test_remove_segment(void **state)
{
    (void)state;
    char store[600], path[MC_PATH_MAX], tmp[MC_PATH_MAX + 8];
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    in_tmp(store, sizeof store, "s_rm");
    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
    mc_store_seg_path(store, 300, path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    touch(path);
    touch(tmp);
    assert_int_equal(mc_store_remove_segment(store, 300, &err), MC_OK);
    assert_false(exists(path));
    assert_false(exists(tmp));
    assert_int_equal(mc_store_remove_segment(store, 300, &err), MC_OK);   /* missing is fine */
    touch(tmp);
    assert_int_equal(mc_store_remove_segment(store, 300, &err), MC_OK);
    assert_false(exists(tmp));
    /* A dropped input: only its final name is removed (its temporary cannot exist). */
    touch(path);
    touch(tmp);
    assert_int_equal(mc_store_remove_dropped_segment(store, 300, &err), MC_OK);
    assert_false(exists(path));
    assert_true(exists(tmp));
    assert_int_equal(mc_store_remove_dropped_segment(store, 300, &err), MC_OK);   /* missing is fine */
}

/* Collects orphan paths (relative to the store) into a sorted list. */
typedef struct found {
    char names[32][256];
    size_t n;
    size_t store_len;
} found;

static void collect(void *ctx, const char *path)
{
    found *f = ctx;
    assert_true(f->n < 32);
    snprintf(f->names[f->n++], 256, "%s", path + f->store_len + 1);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void list(const char *store, const mc_manifest *m, found *f)
{
    mc_err err;
    memset(f, 0, sizeof *f);
    f->store_len = strlen(store);
    assert_int_equal(mc_store_list_orphans(store, m, collect, f, &err), MC_OK);
    qsort(f->names, f->n, sizeof f->names[0], cmp_names);
}

static void test_orphans(void **state)
{
    (void)state;
    char store[600], path[MC_PATH_MAX + 64];
    mc_params p;
    mc_err err;
    mc_manifest *m = NULL;
    mc_params_default(&p);
    in_tmp(store, sizeof store, "s_orph");
    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
    assert_int_equal(mc_manifest_load(store, &m, &err), MC_OK);
    /* Segments 1..300 allocated; 5 and 300 are live. */
    mc_manifest_alloc_segnos(m, 300);
    uint8_t k = 'k';
    mc_seg_meta a = {.segno = 5, .nitems = 1, .min_key = &k, .min_key_len = 1, .max_key = &k, .max_key_len = 1};
    mc_seg_meta b = a;
    b.segno = 300;
    assert_int_equal(mc_manifest_add(m, &a, &err), MC_OK);
    assert_int_equal(mc_manifest_add(m, &b, &err), MC_OK);
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);   /* generation 2 */

    /* Generation 2 is an edit of generation 1 (docs/FORMAT.md 3.5): both
     * files make up the committed manifest. */
    const char *kept[] = {"seg/05/0000000000000005.h5", "seg/2c/000000000000012c.h5", "manifest/0000000000000001.h5",
                          "manifest/0000000000000002.h5", "CURRENT", "LOCK", "LOCK.stale-123"};
    const char *orphan_files[] = {
        "CURRENT.tmp",
        "manifest/0000000000000003.h5",       /* renamed, CURRENT never switched */
        "manifest/0000000000000003.h5.tmp",   /* a crashed commit */
        "manifest/notes.txt",
        "seg/05/0000000000000005.h5.tmp",     /* a temporary */
        "seg/05/stray.txt",
        "seg/06/0000000000000005.h5",         /* right name, wrong shard */
        "seg/07/0000000000000007.h5",         /* not in the manifest */
        "seg/junk",
    };
    const char *orphan_dirs[] = {"seg/09/subdir"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        snprintf(path, sizeof path, "%s/%s", store, kept[i]);
        if (!exists(path))
            touch(path);
    }
    for (size_t i = 0; i < sizeof orphan_files / sizeof *orphan_files; i++) {
        snprintf(path, sizeof path, "%s/%s", store, orphan_files[i]);
        touch(path);
    }
    snprintf(path, sizeof path, "%s/%s", store, orphan_dirs[0]);
    assert_int_equal(mkdir(path, 0755), 0);

    found f;
    list(store, m, &f);
    size_t nfiles = sizeof orphan_files / sizeof *orphan_files;
    assert_int_equal(f.n, nfiles + 1);
    for (size_t i = 0, j = 0; i < f.n; i++) {
        if (strcmp(f.names[i], orphan_dirs[0]) == 0)
            continue;
        assert_string_equal(f.names[i], orphan_files[j++]);   /* both sorted */
    }

    /* A manifest that is not the committed one removes nothing. */
    size_t n = 99;
    mc_manifest_set_generation(m, 1);
    assert_int_equal(mc_store_remove_orphans(store, m, &n, &err), MC_EINVAL);
    assert_int_equal(n, 0);
    snprintf(path, sizeof path, "%s/%s", store, orphan_files[0]);
    assert_true(exists(path));
    mc_manifest_set_generation(m, 2);

    assert_int_equal(mc_store_remove_orphans(store, m, &n, &err), MC_OK);
    assert_int_equal(n, nfiles);
    for (size_t i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", store, orphan_files[i]);
        assert_false(exists(path));
    }
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        snprintf(path, sizeof path, "%s/%s", store, kept[i]);
        assert_true(exists(path));
    }
    snprintf(path, sizeof path, "%s/%s", store, orphan_dirs[0]);
    assert_true(is_dir(path));   /* directories are reported, never removed */
    list(store, m, &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.names[0], orphan_dirs[0]);
    mc_manifest *back = NULL;
    assert_int_equal(mc_manifest_load(store, &back, &err), MC_OK);   /* the store still loads */
    assert_int_equal(mc_manifest_count(back), 2);
    mc_manifest_destroy(&back);
    mc_manifest_destroy(&m);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_store.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const char *s = getenv("MC_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    rng = seed;
    printf("test_store: seed %llu (rerun with MC_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_remove_segment),
        cmocka_unit_test(test_orphans),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
