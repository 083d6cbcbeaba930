/* test_fault: MPICOMPACT_FAULT parsing, counting, modes (error, kill) and mc_fault_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"

static void arm(const char *spec, int rank)
{
    setenv("MPICOMPACT_FAULT", spec, 1);
    mc_fault_init(rank);
}

static void test_unset_never_fires(void **state)
{
    (void)state;
    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
    assert_false(mc_fault_hit("seg_write", 1));
    mc_err err;
    assert_int_equal(mc_fault_check("seg_write", 1, "x", &err), MC_OK);
}

static void test_after_times_segno_rank(void **state)
{
    (void)state;
    arm("seg_write:after=1:times=2:segno=5", 0);
    assert_false(mc_fault_hit("seg_write", 4));   /* other segno: not counted */
    assert_false(mc_fault_hit("seg_write", 5));   /* first hit passes */
    assert_true(mc_fault_hit("seg_write", 5));
    assert_true(mc_fault_hit("seg_write", 5));
    assert_false(mc_fault_hit("seg_write", 5));   /* times=2 used up */
    assert_false(mc_fault_hit("seg_fsync", 5));
    arm("dir_fsync:rank=1", 0);
    assert_false(mc_fault_hit("dir_fsync", MC_FAULT_ANY_SEGNO));
    arm("dir_fsync:rank=1;seg_rename:times=-1", 1);
    assert_true(mc_fault_hit("dir_fsync", MC_FAULT_ANY_SEGNO));
    for (int i = 0; i < 5; i++)
        assert_true(mc_fault_hit("seg_rename", 3));
}

static void test_mode_error_and_check(void **state)
{
    (void)state;
    arm("current_switch:mode=error", 0);
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_fault_check("current_switch", MC_FAULT_ANY_SEGNO, "STORE/CURRENT", &err), MC_EIO);
    assert_int_equal(err.sys_errno, EIO);
    assert_non_null(strstr(err.msg, "STORE/CURRENT"));
    assert_non_null(strstr(err.msg, "current_switch"));
    assert_int_equal(mc_fault_check("current_switch", MC_FAULT_ANY_SEGNO, "STORE/CURRENT", &err), MC_OK);
}

static void test_bad_specs_ignored(void **state)
{
    (void)state;
    arm("seg_write:mode=explode;seg_fsync:times=x;seg_create", 0);
    assert_false(mc_fault_hit("seg_write", 1));
    assert_false(mc_fault_hit("seg_fsync", 1));
    assert_true(mc_fault_hit("seg_create", 1));
}

/* mode=kill: the process that reaches the point dies of SIGKILL; before
 * that (after=1) the point passes. */
static void test_mode_kill(void **state)
{
    (void)state;
    arm("seg_rename:mode=kill:after=1", 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (mc_fault_hit("seg_rename", 7))
            _exit(3);   /* a kill-mode point must not report an error */
        mc_fault_hit("seg_rename", 7);
        _exit(4);       /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_never_fires),
        cmocka_unit_test(test_after_times_segno_rank),
        cmocka_unit_test(test_mode_error_and_check),
        cmocka_unit_test(test_bad_specs_ignored),
        cmocka_unit_test(test_mode_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
