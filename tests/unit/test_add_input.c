/* test_add_input: add's inputs resolved to real paths; files inside the store's own directories refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "add_input.h"
#include "store.h"

static char root[256];

static void path_of(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", root, rel);
}

static void make_dir(const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    assert_int_equal(mkdir(p, 0777), 0);
}

static void make_file(const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

static void make_link(const char *target_rel, const char *rel)
{
    char t[512], p[512];
    path_of(t, sizeof t, target_rel);
    path_of(p, sizeof p, rel);
    assert_int_equal(symlink(t, p), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s/mc_add_input.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return -1;
    make_dir("s");
    make_dir("s/seg");
    make_dir("s/seg/00");
    make_dir("s/manifest");
    make_dir("s/other");
    make_dir("out");
    make_file("s/seg/in.h5");
    make_file("s/seg/00/in.h5");
    make_file("s/manifest/in.h5");
    make_file("s/in.h5");
    make_file("s/other/in.h5");
    make_file("out/in.h5");
    make_link("s/seg/in.h5", "out/link.h5");
    make_link("s", "slink");
    make_link("out/in.h5", "s/seg/00/to-outside.h5");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* NAME relative to root (or absolute when it starts with '/'); STORE too. */
static void expect(const char *store_rel, const char *name_rel, mc_status want, const char *needle)
{
    char store[512], name[512], resolved[MC_PATH_MAX];
    path_of(store, sizeof store, store_rel);
    if (name_rel[0] == '/')
        snprintf(name, sizeof name, "%s", name_rel);
    else
        path_of(name, sizeof name, name_rel);
    mc_err err = {0};
    mc_status st = mc_add_input_resolve(store, name, resolved, &err);
    if (st != want)
        fail_msg("%s: status %d, want %d (%s)", name, st, want, err.msg);
    if (st == MC_OK) {
        assert_non_null(realpath(name, store));
        assert_string_equal(resolved, store);
        return;
    }
    if (!strstr(err.msg, name) || !strstr(err.msg, needle))
        fail_msg("%s: message \"%s\" lacks the name or \"%s\"", name, err.msg, needle);
}

static void test_outside_accepted(void **state)
{
    (void)state;
    expect("s", "out/in.h5", MC_OK, NULL);
    expect("s", "s/other/in.h5", MC_OK, NULL);       /* the sweep does not touch other directories */
    expect("s", "out/../out/in.h5", MC_OK, NULL);
    expect("s", "s/seg/00/to-outside.h5", MC_OK, NULL);   /* a link in seg/ to a file outside: the file is outside */
    expect("no-store", "out/in.h5", MC_OK, NULL);     /* nothing to protect */
}

static void test_inside_refused(void **state)
{
    (void)state;
    expect("s", "s/seg/in.h5", MC_EINVAL, "inside the store");
    expect("s", "s/seg/00/in.h5", MC_EINVAL, "seg/");
    expect("s", "s/manifest/in.h5", MC_EINVAL, "manifest/");
    expect("s", "s/in.h5", MC_EINVAL, "top directory");
    expect("s", "s/seg/00/../in.h5", MC_EINVAL, "seg/");
    expect("s", "out/link.h5", MC_EINVAL, "seg/");          /* a symlink into seg/ */
    expect("s", "slink/seg/in.h5", MC_EINVAL, "seg/");      /* the store through a symlink */
    expect("slink", "s/seg/in.h5", MC_EINVAL, "seg/");      /* ... named through the symlink */
    expect("s/../s", "s/manifest/in.h5", MC_EINVAL, "manifest/");
}

static void test_not_regular(void **state)
{
    (void)state;
    expect("s", "out", MC_EINVAL, "directory");
    expect("s", "s/seg", MC_EINVAL, "directory");
    expect("s", "/dev/null", MC_EINVAL, "not a regular file");
    expect("s", "out/missing.h5", MC_ENOENT, "No such file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outside_accepted),
        cmocka_unit_test(test_inside_refused),
        cmocka_unit_test(test_not_regular),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
