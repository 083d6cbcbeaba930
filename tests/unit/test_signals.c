/* test_signals: the drain/leave flags of signals.c. A signal that arrives
 * before mc_signals_install() is carried over, also one that lands in the
 * middle of mc_signals_install() (between its steps): this test wraps
 * sigaction() (a definition here takes precedence over libc's for the calls
 * in signals.c) and raise()s a signal right before the Nth handler change.
 * The ready file (MPICOMPACT_READY_FILE) is created by mc_signals_early(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "signals.h"

/* -1: no injection; N >= 0: raise(inject_sig) right before the Nth call. */
static int inject_at = -1;
static int inject_sig;
static int calls;

int sigaction(int sig, const struct sigaction *restrict act, struct sigaction *restrict old)
{
    static int (*real)(int, const struct sigaction *restrict, struct sigaction *restrict);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "sigaction");
    if (act && calls++ == inject_at)
        raise(inject_sig);
    return real(sig, act, old);
}

/* Every case starts from the early handlers with no flag set. */
static int setup(void **state)
{
    (void)state;
    inject_at = -1;
    mc_signals_early();
    mc_signals_install(true);   /* folds (and clears) what earlier cases left */
    mc_signals_restore();
    mc_drain_requested = 0;
    mc_leave_requested = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    inject_at = -1;
    mc_signals_restore();       /* back to the early handlers: never fatal */
    return 0;
}

/* install with SIG raised right before its Nth handler change. */
static void install_with(bool coordinator, int sig, int n)
{
    inject_sig = sig;
    calls = 0;
    inject_at = n;
    mc_signals_install(coordinator);
    inject_at = -1;
}

static void early_signal_carried_over(void **state)
{
    (void)state;
    raise(SIGUSR1);
    mc_signals_install(true);
    assert_int_equal(mc_drain_requested, 1);
    assert_int_equal(mc_leave_requested, 0);
}

static void early_leave_carried_over_on_worker(void **state)
{
    (void)state;
    raise(SIGUSR2);
    raise(SIGUSR1);             /* workers ignore drain signals */
    mc_signals_install(false);
    assert_int_equal(mc_leave_requested, 1);
    assert_int_equal(mc_drain_requested, 0);
}

static void early_leave_ignored_on_coordinator(void **state)
{
    (void)state;
    raise(SIGUSR2);
    mc_signals_install(true);
    assert_int_equal(mc_leave_requested, 0);
    assert_int_equal(mc_drain_requested, 0);
}

static void no_signal_no_flag(void **state)
{
    (void)state;
    mc_signals_install(true);
    assert_int_equal(mc_drain_requested, 0);
    raise(SIGTERM);
    assert_int_equal(mc_drain_requested, 1);
}

/* The issue: a signal between reading the early flags and replacing the
 * handlers was lost. Whatever handler change it precedes, it counts. */
static void signal_during_install_coordinator(void **state)
{
    (void)state;
    for (int sig = 0; sig < 2; sig++) {
        for (int n = 0; n < 3; n++) {
            mc_signals_restore();
            mc_drain_requested = 0;
            install_with(true, sig ? SIGTERM : SIGUSR1, n);
            if (mc_drain_requested != 1)
                fail_msg("%s before handler change %d of install: drain lost",
                         sig ? "SIGTERM" : "SIGUSR1", n);
        }
    }
}

static void signal_during_install_worker(void **state)
{
    (void)state;
    for (int n = 0; n < 3; n++) {
        mc_signals_restore();
        mc_leave_requested = 0;
        install_with(false, SIGUSR2, n);
        if (mc_leave_requested != 1)
            fail_msg("SIGUSR2 before handler change %d of install: leave lost", n);
    }
}

static void ready_file_created(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[256], base[300], path[340];
    snprintf(dir, sizeof dir, "%s/test_signals.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(base, sizeof base, "%s/ready", dir);
    snprintf(path, sizeof path, "%s.%ld", base, (long)getpid());
    setenv("MPICOMPACT_READY_FILE", base, 1);
    mc_signals_early();
    unsetenv("MPICOMPACT_READY_FILE");
    struct stat st;
    int rc = stat(path, &st);
    unlink(path);
    rmdir(dir);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First, while no early flag was ever set in this process. */
        cmocka_unit_test_setup_teardown(signal_during_install_coordinator, setup, teardown),
        cmocka_unit_test_setup_teardown(signal_during_install_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(early_signal_carried_over, setup, teardown),
        cmocka_unit_test_setup_teardown(early_leave_carried_over_on_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(early_leave_ignored_on_coordinator, setup, teardown),
        cmocka_unit_test_setup_teardown(no_signal_no_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(ready_file_created, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
