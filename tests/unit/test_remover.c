/* test_remover: the background remover of dropped segments: every pushed
 * segno removed (final name only) by the time of a drain or destroy, a full
 * queue, failures handed to the caller's log, the seg_unlink fault point in
 * both modes on the remover's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "remover.h"
#include "store.h"

static char store[300];

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void seg_path(uint64_t segno, const char *suffix, char *out)
{
    char p[MC_PATH_MAX];
    mc_store_seg_path(store, segno, p);
    snprintf(out, MC_PATH_MAX + 8, "%s%s", p, suffix);
}

static void touch_seg(uint64_t segno, const char *suffix)
{
    char path[MC_PATH_MAX + 8];
    seg_path(segno, suffix, path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static bool seg_exists(uint64_t segno, const char *suffix)
{
    char path[MC_PATH_MAX + 8];
    seg_path(segno, suffix, path);
    return exists(path);
}

/* A log callback that keeps what it is given. */
typedef struct logged {
    size_t n;
    char last[1024];
    bool named_fault;
} logged;

static void keep_log(void *ctx, const mc_err *err)
{
    logged *l = ctx;
    l->n++;
    snprintf(l->last, sizeof l->last, "%s", err->msg);
    if (strstr(err->msg, "seg_unlink"))
        l->named_fault = true;
}

static void test_destroy_drains(void **state)
{
    (void)state;
    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
    enum { N = 600 };
    for (uint64_t s = 1; s <= N; s++)
        touch_seg(s, "");
    touch_seg(5, ".tmp");   /* not the remover's: a dropped input's final name only */
    mc_remover *r = NULL;
    mc_err err;
    assert_int_equal(mc_remover_create(store, 64, &r, &err), MC_OK);
    for (uint64_t s = 1; s <= N; s++)
        mc_remover_push(r, s);
    sigset_t mask;   /* the caller's signal mask is left as it was */
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
    assert_false(sigismember(&mask, SIGTERM));
    mc_remover_push(r, N + 1);   /* absent: fine */
    mc_remover_destroy(&r);      /* drains before it joins */
    assert_null(r);
    for (uint64_t s = 1; s <= N; s++)
        assert_false(seg_exists(s, ""));
    assert_true(seg_exists(5, ".tmp"));
    mc_remover_destroy(&r);      /* NULL is fine */
}

/* A queue of one: nearly every push waits for the thread; none is lost. */
static void test_full_queue(void **state)
{
    (void)state;
    enum { N = 2000 };
    for (uint64_t s = 1000; s < 1000 + N; s++)
        touch_seg(s, "");
    mc_remover *r = NULL;
    mc_err err;
    assert_int_equal(mc_remover_create(store, 1, &r, &err), MC_OK);
    for (uint64_t s = 1000; s < 1000 + N; s++)
        mc_remover_push(r, s);
    mc_remover_drain(r);
    assert_int_equal(mc_remover_tried(r), N);
    for (uint64_t s = 1000; s < 1000 + N; s++)
        assert_false(seg_exists(s, ""));
    logged l = {0};
    assert_int_equal(mc_remover_collect(r, keep_log, &l), 0);
    assert_int_equal(l.n, 0);
    mc_remover_destroy(&r);
}

/* A name that cannot be unlinked (a directory): the failure reaches the log
 * on the caller's thread, kept ones one by one, the rest summed up. */
static void test_failures_logged(void **state)
{
    (void)state;
    enum { N = MC_REMOVER_ERRORS_KEPT + 3 };
    char path[MC_PATH_MAX + 8];
    for (uint64_t s = 5000; s < 5000 + N; s++) {
        seg_path(s, "", path);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    mc_remover *r = NULL;
    mc_err err;
    assert_int_equal(mc_remover_create(store, 4, &r, &err), MC_OK);
    mc_remover_push(r, 5000);
    mc_remover_drain(r);
    logged l = {0};
    assert_int_equal(mc_remover_collect(r, keep_log, &l), 1);
    assert_int_equal(l.n, 1);
    seg_path(5000, "", path);
    assert_non_null(strstr(l.last, path));
    assert_non_null(strstr(l.last, "remove"));
    assert_int_equal(mc_remover_collect(r, keep_log, &l), 0);   /* handed over once */
    for (uint64_t s = 5001; s < 5000 + N; s++)
        mc_remover_push(r, s);
    mc_remover_drain(r);
    l = (logged){0};
    assert_int_equal(mc_remover_collect(r, keep_log, &l), N - 1);
    assert_int_equal(l.n, MC_REMOVER_ERRORS_KEPT + 1);
    assert_non_null(strstr(l.last, "2 more"));
    assert_int_equal(mc_remover_collect(r, NULL, NULL), 0);
    mc_remover_destroy(&r);
    for (uint64_t s = 5000; s < 5000 + N; s++) {
        seg_path(s, "", path);
        assert_int_equal(rmdir(path), 0);
    }
}

/* seg_unlink in error mode, fired on the remover's thread: the file stays,
 * the error names the point; the other segnos go. */
static void test_fault_error(void **state)
{
    (void)state;
    setenv("MPICOMPACT_FAULT", "seg_unlink:segno=7001", 1);
    mc_fault_init(0);
    touch_seg(7000, "");
    touch_seg(7001, "");
    touch_seg(7002, "");
    mc_remover *r = NULL;
    mc_err err;
    assert_int_equal(mc_remover_create(store, 8, &r, &err), MC_OK);
    for (uint64_t s = 7000; s <= 7002; s++)
        mc_remover_push(r, s);
    mc_remover_drain(r);
    logged l = {0};
    assert_int_equal(mc_remover_collect(r, keep_log, &l), 1);
    assert_true(l.named_fault);
    mc_remover_destroy(&r);
    assert_false(seg_exists(7000, ""));
    assert_true(seg_exists(7001, ""));
    assert_false(seg_exists(7002, ""));
    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
}

/* seg_unlink in kill mode on the remover's thread kills the whole process
 * before the file goes. */
static void test_fault_kill(void **state)
{
    (void)state;
    touch_seg(8000, "");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("MPICOMPACT_FAULT", "seg_unlink:segno=8000:mode=kill", 1);
        mc_fault_init(0);
        mc_remover *r = NULL;
        mc_err err;
        if (mc_remover_create(store, 8, &r, &err) != MC_OK)
            _exit(3);
        mc_remover_push(r, 8000);
        mc_remover_destroy(&r);
        _exit(0);   /* not reached when the point fires */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_true(seg_exists(8000, ""));
}

static int setup_store(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/test_remover.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(store, sizeof store, "%s/store", dir);
    mc_params p;
    mc_err err;
    mc_params_default(&p);
    return mc_store_init(store, &p, &err) == MC_OK ? 0 : -1;
}

static int teardown_store(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(store, '/') - store), store);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_destroy_drains),
        cmocka_unit_test(test_full_queue),
        cmocka_unit_test(test_failures_logged),
        cmocka_unit_test(test_fault_error),
        cmocka_unit_test(test_fault_kill),
    };
    return cmocka_run_group_tests(tests, setup_store, teardown_store);
}
