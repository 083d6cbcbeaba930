/* test_isolate: mc_isolate_run() reports each way a child can end, exactly
 * once, and never leaves it running: a reply, a crash (a signal, an exit
 * without a reply, a reply followed by a crash), silence (stalled, killed),
 * and a long child that keeps reporting progress (not stopped). The child
 * cannot change the parent's memory. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_arrives),
        cmocka_unit_test(crash_is_reported),
        cmocka_unit_test(silence_is_stopped),
        cmocka_unit_test(progress_keeps_it_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
