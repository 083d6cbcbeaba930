/* test_isolate: mc_isolate_run() reports each way a child can end, exactly
 * once, and never leaves it running: a reply, a crash (a signal, an exit
 * without a reply, a reply followed by a crash), silence (stalled, killed),
 * and a long child that keeps reporting progress (not stopped). The child
 * cannot change the parent's memory. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "isolate.h"

static int parent_value = 1;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void replies(void *arg, mc_isolate_child *child)
{
    parent_value = 2;   /* the child's copy only */
    mc_isolate_reply(child, arg, strlen(arg) + 1);
    mc_isolate_reply(child, "again", 6);   /* ignored */
}

static void segfaults(void *arg, mc_isolate_child *child)
{
    (void)arg;
    (void)child;
    raise(SIGSEGV);
}

static void exits_silently(void *arg, mc_isolate_child *child)
{
    (void)arg;
    (void)child;
}

static void replies_then_aborts(void *arg, mc_isolate_child *child)
{
    (void)arg;
    mc_isolate_reply(child, "x", 1);
    abort();
}

static void hangs(void *arg, mc_isolate_child *child)
{
    (void)arg;
    (void)child;
    for (;;)
        pause();
}

/* Busy for ARG ms, reporting progress all along. */
static void works_long(void *arg, mc_isolate_child *child)
{
    long ms = *(const long *)arg;
    for (long t = 0; t < ms; t += 10) {
        mc_isolate_alive(child);
        sleep_ms(10);
    }
    mc_isolate_reply(child, "done", 5);
}

static mc_isolate_outcome run(mc_isolate_fn fn, void *arg, unsigned stall_ms, int *signo, mc_buf *reply)
{
    mc_isolate_outcome outcome = MC_ISOLATE_DONE;
    mc_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(mc_isolate_run(fn, arg, stall_ms, &outcome, signo, reply, &err), MC_OK);
    return outcome;
}

static void reply_arrives(void **state)
{
    (void)state;
    int signo = -1;
    mc_buf reply = {0};
    assert_int_equal(run(replies, "hello", 5000, &signo, &reply), MC_ISOLATE_DONE);
    assert_int_equal(reply.n, 6);
    assert_string_equal((const char *)reply.p, "hello");
    assert_int_equal(signo, 0);
    assert_int_equal(parent_value, 1);
    mc_buf_free(&reply);
}

static void crash_is_reported(void **state)
{
    (void)state;
    int signo = 0;
    mc_buf reply = {0};
    assert_int_equal(run(segfaults, NULL, 5000, &signo, &reply), MC_ISOLATE_CRASHED);
    assert_int_equal(signo, SIGSEGV);
    assert_int_equal(reply.n, 0);
    assert_int_equal(run(exits_silently, NULL, 5000, &signo, &reply), MC_ISOLATE_CRASHED);
    assert_int_equal(signo, 0);
    /* A reply does not make a crash afterwards a success. */
    assert_int_equal(run(replies_then_aborts, NULL, 5000, &signo, &reply), MC_ISOLATE_CRASHED);
    assert_int_equal(signo, SIGABRT);
    assert_int_equal(reply.n, 0);
}

static void silence_is_stopped(void **state)
{
    (void)state;
    int signo = 0;
    mc_buf reply = {0};
    assert_int_equal(run(hangs, NULL, 300, &signo, &reply), MC_ISOLATE_STALLED);
    assert_int_equal(signo, SIGKILL);   /* killed and reaped */
    assert_int_equal(reply.n, 0);
}

/* The limit is on silence: a child busy for 4 stall limits finishes. */
static void progress_keeps_it_alive(void **state)
{
    (void)state;
    long ms = 2000;
    int signo = 0;
    mc_buf reply = {0};
    assert_int_equal(run(works_long, &ms, 500, &signo, &reply), MC_ISOLATE_DONE);
    assert_string_equal((const char *)reply.p, "done");
    mc_buf_free(&reply);
}

/* ---- background jobs ---- */

#define JOB_ARG "--test-isolate-job"

/* The job's side: this test program started again with JOB_ARG PARENT WHAT. */
static int job_main(char **argv)
{
    mc_isolate_job_child_start((pid_t)strtol(argv[2], NULL, 10));
    const char *what = argv[3];
    if (strcmp(what, "crashes") == 0)
        raise(SIGSEGV);
    if (strcmp(what, "sleeps") == 0)
        sleep(60);
    if (strcmp(what, "fails") != 0)
        mc_isolate_job_child_done();
    return 0;   /* exit status 0 either way: success is the byte, not the status */
}

static void start_job(const char *what, mc_isolate_job *job)
{
    char program[4096], parent[32];
    ssize_t n = readlink("/proc/self/exe", program, sizeof program - 1);
    assert_true(n > 0);
    program[n] = '\0';
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    char *argv[] = {program, JOB_ARG, parent, (char *)what, NULL};
    mc_err err;
    assert_int_equal(mc_isolate_exec(argv, job, &err), MC_OK);
    assert_true(job->pid > 0);
}

/* A background job's verdict is the byte it wrote; a crash or a clean exit
 * without it is a failure; a running job is not reaped without WAIT, and a
 * kill ends it at once; a program that cannot start is an error. */
static void background_jobs(void **state)
{
    (void)state;
    mc_isolate_job job = {0};
    bool ok = false;
    assert_false(mc_isolate_reap(&job, true, &ok));   /* none */
    start_job("succeeds", &job);
    assert_true(mc_isolate_reap(&job, true, &ok));
    assert_true(ok);
    assert_int_equal(job.pid, 0);
    start_job("fails", &job);
    assert_true(mc_isolate_reap(&job, true, &ok));
    assert_false(ok);
    start_job("crashes", &job);
    assert_true(mc_isolate_reap(&job, true, &ok));
    assert_false(ok);
    start_job("sleeps", &job);
    pid_t pid = (pid_t)job.pid;
    assert_false(mc_isolate_reap(&job, false, &ok));
    assert_int_equal(job.pid, pid);
    time_t t0 = time(NULL);
    mc_isolate_kill(&job);
    assert_true(time(NULL) - t0 < 30);
    assert_int_equal(job.pid, 0);
    assert_int_equal(kill(pid, 0), -1);   /* reaped: no such process */
    mc_isolate_kill(&job);                /* none: a no-op */
    char *missing[] = {"/nonexistent/program", NULL};
    mc_err err;
    if (mc_isolate_exec(missing, &job, &err) != MC_OK) {
        assert_non_null(strstr(err.msg, "/nonexistent/program"));
        assert_int_equal(job.pid, 0);
    } else {   /* posix_spawn could not tell (valgrind runs it as a fork): a failed job */
        assert_true(mc_isolate_reap(&job, true, &ok));
        assert_false(ok);
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], JOB_ARG) == 0)
        return job_main(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_arrives),
        cmocka_unit_test(crash_is_reported),
        cmocka_unit_test(silence_is_stopped),
        cmocka_unit_test(progress_keeps_it_alive),
        cmocka_unit_test(background_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
