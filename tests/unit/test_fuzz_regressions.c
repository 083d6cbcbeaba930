/* test_fuzz_regressions: the inputs the fuzzers found (tests/fuzz/corpus/),
 * replayed in the ordinary build through the same entry points: each must
 * be refused with a message (no crash, no huge allocation, no HDF5 object
 * left open). tests/fuzz/run.sh replays them under ASan/UBSan too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../fuzz/fuzzutil.c"   /* the archive format of fuzz_manifest's inputs */
#include "manifest_io.h"

static char corpus[4096];
static const char *current;   /* the input being replayed */

static size_t load(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct stat sb;
    assert_int_equal(fstat(fileno(f), &sb), 0);
    *out = malloc((size_t)sb.st_size + 1);
    assert_non_null(*out);
    assert_int_equal(fread(*out, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
    fclose(f);
    return (size_t)sb.st_size;
}

/* Calls FN(path, data, len) for every input of HARNESS; returns how many. */
static int each_input(const char *harness, void (*fn)(const char *, const uint8_t *, size_t))
{
    char dir[4200], path[8400];
    snprintf(dir, sizeof dir, "%s/%s", corpus, harness);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *data = NULL;
        size_t len = load(path, &data);
        print_message("replaying %s\n", path);
        current = path;
        fn(path, data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static void refused(mc_status st, const mc_err *err)
{
    assert_int_not_equal(st, MC_OK);
    assert_true(err->msg[0] != '\0');
    assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    /* Refused by our own check of the chunk index, before HDF5 allocates. */
    if (strstr(current, "chunk-size"))
        assert_non_null(strstr(err->msg, "beyond the end of the file"));
}

static void segment(const char *path, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    mc_err err;
    mc_seg_meta meta = {0};
    refused(mc_seg_validate(path, &meta, &err), &err);
}

static void put(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
    fz_write(path, data, len);
}

static void manifest(const char *path, const uint8_t *data, size_t len)
{
    (void)path;
    char store[4096], mdir[4200];
    fz_path(store, "store");
    fz_clear(fz_dir());
    snprintf(mdir, sizeof mdir, "%s/manifest", store);
    assert_int_equal(mkdir(store, 0700), 0);
    assert_int_equal(mkdir(mdir, 0700), 0);
    fz_archive_each(data, len, put, store);
    mc_err err;
    mc_manifest *m = NULL;
    refused(mc_manifest_load(store, &m, &err), &err);
}

static void test_replay(void **state)
{
    (void)state;
    /* A 4 GiB allocation must not happen: make it fail rather than succeed lazily. */
    /* Under ASan (its shadow memory needs terabytes of address space) the
     * same bound comes from ASAN_OPTIONS=max_allocation_size_mb (tests/CMakeLists.txt). */
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit rl = {(rlim_t)1 << 31, (rlim_t)1 << 31};
    setrlimit(RLIMIT_AS, &rl);
#endif
    int n = each_input("fuzz_segment", segment) + each_input("fuzz_manifest", manifest);
    assert_true(n >= 2);
}

int main(void)
{
    const char *src = getenv("MC_SRC");
    snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus", src ? src : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
