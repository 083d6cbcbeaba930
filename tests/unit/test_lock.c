/* test_lock: one writer per store: the holder named, stale local locks taken over, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

static char store[256], lock_path[300];
static char host[256];

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void read_text(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* No LOCK.stale-* or LOCK.takeover left behind in the store. */
static void assert_no_stale_files(void)
{
    DIR *d = opendir(store);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        assert_null(strstr(e->d_name, "LOCK.stale"));
        assert_null(strstr(e->d_name, "LOCK.takeover"));
    }
    closedir(d);
}

/* A pid that surely does not exist: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return pid;
}

static void test_acquire_release(void **state)
{
    (void)state;
    mc_lock *a = NULL, *b = NULL;
    mc_err err;
    setenv("SLURM_JOB_ID", "4242", 1);
    assert_int_equal(mc_lock_acquire(store, "compact --full", &a, &err), MC_OK);
    assert_non_null(a);
    char text[1024], want[1024];
    read_text(lock_path, text, sizeof text);
    snprintf(want, sizeof want, "host=%s pid=%ld jobid=4242 command=compact --full started=", host, (long)getpid());
    assert_true(strncmp(text, want, strlen(want)) == 0);
    /* started=YYYY-MM-DDTHH:MM:SSZ and one newline */
    assert_int_equal(strlen(text), strlen(want) + 20 + 1);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_int_equal(text[strlen(want) + 10], 'T');

    /* A second writer is refused, and told who holds the lock. */
    assert_int_equal(mc_lock_acquire(store, "gen", &b, &err), MC_ELOCKED);
    assert_null(b);
    snprintf(want, sizeof want, "%s: locked by host=%s pid=%ld jobid=4242 command=compact --full since ", store, host,
             (long)getpid());
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    snprintf(want, sizeof want, "; if that job is gone, remove %s/LOCK", store);
    assert_non_null(strstr(err.msg, want));

    mc_lock_release(&a);
    assert_null(a);
    assert_false(exists(lock_path));
    mc_lock_release(&a);   /* NULL is fine */

    unsetenv("SLURM_JOB_ID");
    assert_int_equal(mc_lock_acquire(store, "gen", &b, &err), MC_OK);
    read_text(lock_path, text, sizeof text);
    assert_non_null(strstr(text, " jobid=- command=gen started="));
    mc_lock_release(&b);
    assert_false(exists(lock_path));
}

/* Writes a lock line of this host naming PID to PATH; TEXT gets it. */
static void write_lock_of(const char *path, pid_t pid, char *text, size_t len)
{
    snprintf(text, len, "host=%s pid=%ld jobid=77 command=compact started=2020-01-01T00:00:00Z\n", host, (long)pid);
    write_text(path, text);
}

/* LOCK names this process; no aside or takeover file is left; released. */
static void assert_mine_then_release(mc_lock **l)
{
    char text[1024], want[300];
    read_text(lock_path, text, sizeof text);
    snprintf(want, sizeof want, "host=%s pid=%ld ", host, (long)getpid());
    assert_true(strncmp(text, want, strlen(want)) == 0);
    assert_no_stale_files();
    mc_lock_release(l);
    assert_false(exists(lock_path));
}

static void test_stale_taken_over(void **state)
{
    (void)state;
    char text[1024];
    mc_lock *l = NULL;
    mc_err err;
    write_lock_of(lock_path, dead_pid(), text, sizeof text);
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_OK);
    assert_mine_then_release(&l);
}

/* A LOCK.stale-PID left by a crash between moving a stale lock aside and
 * unlinking it (or brought back by a power loss) goes with the next lock. */
static void test_leftover_aside_removed(void **state)
{
    (void)state;
    char aside[1100];
    snprintf(aside, sizeof aside, "%s.stale-%ld", lock_path, (long)dead_pid());
    write_text(aside, "host=elsewhere pid=1 jobid=- command=compact started=2020-01-01T00:00:00Z\n");
    mc_lock *l = NULL;
    mc_err err;
    assert_int_equal(mc_lock_acquire(store, "compact", &l, &err), MC_OK);
    assert_no_stale_files();
    assert_true(exists(lock_path));
    mc_lock_release(&l);
}

static void test_not_stale(void **state)
{
    (void)state;
    char text[1024];
    mc_lock *l = NULL;
    mc_err err;
    /* A live process on this host (our parent). */
    snprintf(text, sizeof text, "host=%s pid=%ld jobid=- command=gen started=2020-01-01T00:00:00Z\n", host,
             (long)getppid());
    write_text(lock_path, text);
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_null(l);
    /* A dead pid, but on another host: we cannot know, so it stays. */
    snprintf(text, sizeof text, "host=%s-elsewhere pid=%ld jobid=9 command=gen started=2020-01-01T00:00:00Z\n", host,
             (long)dead_pid());
    write_text(lock_path, text);
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_non_null(strstr(err.msg, "-elsewhere"));
    assert_non_null(strstr(err.msg, "jobid=9"));
    read_text(lock_path, text, sizeof text);
    assert_non_null(strstr(text, "-elsewhere"));   /* untouched */
    /* Unreadable content: locked, and the message shows it. */
    write_text(lock_path, "garbage\n");
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_non_null(strstr(err.msg, "garbage"));
    write_text(lock_path, "");
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_no_stale_files();
    unlink(lock_path);
}

/* A pid beyond what pid_t holds is not a pid of this host: the lock is not
 * judged stale (it was, when the pid was cut to pid_t and 2^32 + a dead
 * pid named that dead pid; found by review of the LOCK fuzz harness). */
static void test_pid_out_of_range(void **state)
{
    (void)state;
    char text[1024];
    mc_lock *l = NULL;
    mc_err err;
    snprintf(text, sizeof text, "host=%s pid=%lld jobid=- command=gen started=2020-01-01T00:00:00Z\n", host,
             (long long)dead_pid() + 4294967296LL);
    write_text(lock_path, text);
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_null(l);
    read_text(lock_path, text, sizeof text);
    assert_non_null(strstr(text, "command=gen"));   /* untouched */
    unlink(lock_path);
}

/* A lock naming a zombie of this host (exited, not reaped: what a container
 * whose init does not reap leaves) is stale: kill(pid, 0) alone says alive. */
static void test_zombie_is_stale(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* Wait for the exit but leave the child unreaped: a zombie from here on. */
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    assert_int_equal(kill(pid, 0), 0);
    char text[1024];
    snprintf(text, sizeof text, "host=%s pid=%ld jobid=5 command=compact started=2020-01-01T00:00:00Z\n", host,
             (long)pid);
    write_text(lock_path, text);
    mc_lock *l = NULL;
    mc_err err;
    mc_status st = mc_lock_acquire(store, "add", &l, &err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (st != MC_OK)
        fail_msg("a lock held by a zombie was not taken over: %s", err.msg);
    read_text(lock_path, text, sizeof text);
    char want[300];
    snprintf(want, sizeof want, "host=%s pid=%ld ", host, (long)getpid());
    assert_true(strncmp(text, want, strlen(want)) == 0);
    assert_no_stale_files();
    mc_lock_release(&l);
    assert_false(exists(lock_path));
}

/* An empty LOCK (a writer died between creating and writing it) is stale
 * once it is more than a few seconds old; a fresh one is held, and the
 * message says why. */
static void test_empty_lock(void **state)
{
    (void)state;
    mc_lock *l = NULL;
    mc_err err;
    write_text(lock_path, "");
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_null(l);
    assert_non_null(strstr(err.msg, "empty"));
    assert_non_null(strstr(err.msg, lock_path));
    struct timeval old[2];
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= 60;
    old[1] = old[0];
    assert_int_equal(utimes(lock_path, old), 0);
    if (mc_lock_acquire(store, "add", &l, &err) != MC_OK)
        fail_msg("an empty lock a minute old was not taken over: %s", err.msg);
    char text[1024], want[300];
    read_text(lock_path, text, sizeof text);
    snprintf(want, sizeof want, "host=%s pid=%ld ", host, (long)getpid());
    assert_true(strncmp(text, want, strlen(want)) == 0);
    assert_no_stale_files();
    mc_lock_release(&l);
    assert_false(exists(lock_path));
}

static void test_release_keeps_foreign_lock(void **state)
{
    (void)state;
    mc_lock *l = NULL;
    mc_err err;
    assert_int_equal(mc_lock_acquire(store, "verify", &l, &err), MC_OK);
    /* Someone removed our lock by hand and another job took it. */
    write_text(lock_path, "host=other pid=1 jobid=- command=gen started=2020-01-01T00:00:00Z\n");
    mc_lock_release(&l);
    assert_true(exists(lock_path));
    unlink(lock_path);
}

static void test_missing_store(void **state)
{
    (void)state;
    char path[400];
    mc_lock *l = NULL;
    mc_err err;
    snprintf(path, sizeof path, "%s/nope", store);
    assert_int_equal(mc_lock_acquire(path, "gen", &l, &err), MC_ENOENT);
    assert_null(l);
    assert_non_null(strstr(err.msg, path));
}

/* After a test that may fail holding a LOCK: the next test starts without. */
/* Takeovers of a stale lock are one at a time, under LOCK.takeover: while
 * a live writer holds it, another is refused and the stale LOCK is left as
 * it is; one left by a dead writer is removed and the takeover goes on. */
static void test_takeover_serialized(void **state)
{
    (void)state;
    char stale[1024], taker[1024], tpath[400], text[1024];
    mc_lock *l = NULL;
    mc_err err;
    snprintf(tpath, sizeof tpath, "%s/LOCK.takeover", store);
    write_lock_of(lock_path, dead_pid(), stale, sizeof stale);
    write_lock_of(tpath, getppid(), taker, sizeof taker);   /* alive */
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_ELOCKED);
    assert_null(l);
    read_text(lock_path, text, sizeof text);
    assert_string_equal(text, stale);
    read_text(tpath, text, sizeof text);
    assert_string_equal(text, taker);

    write_lock_of(tpath, dead_pid(), taker, sizeof taker);
    assert_int_equal(mc_lock_acquire(store, "add", &l, &err), MC_OK);
    assert_mine_then_release(&l);
}

/* Writers racing for a stale lock: in every round exactly one holds it.
 * Each child that gets the lock creates HELD while it holds it (O_EXCL:
 * a second holder fails there) and keeps it a moment before releasing. */
static void test_racing_takeovers(void **state)
{
    (void)state;
    enum { WRITERS = 6, ROUNDS = 60 };
    char stale[1024], held[400];
    snprintf(held, sizeof held, "%s/HELD", store);
    for (int round = 0; round < ROUNDS; round++) {
        write_lock_of(lock_path, dead_pid(), stale, sizeof stale);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t kids[WRITERS];
        for (int k = 0; k < WRITERS; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                char b;
                close(go[1]);
                if (read(go[0], &b, 1) < 0)
                    _exit(3);
                mc_lock *l = NULL;
                mc_err err;
                mc_status st = mc_lock_acquire(store, "compact", &l, &err);
                if (st != MC_OK)
                    _exit(st == MC_ELOCKED ? 1 : 3);
                int fd = open(held, O_CREAT | O_EXCL | O_WRONLY, 0644);
                if (fd < 0)
                    _exit(2);   /* someone else holds it too */
                close(fd);
                struct timespec ts = {0, 30 * 1000 * 1000};
                nanosleep(&ts, NULL);
                unlink(held);
                mc_lock_release(&l);
                _exit(0);
            }
        }
        close(go[0]);
        close(go[1]);   /* EOF: every child starts at once */
        int winners = 0;
        for (int k = 0; k < WRITERS; k++) {
            int status;
            assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
            assert_true(WIFEXITED(status));
            assert_true(WEXITSTATUS(status) <= 1);   /* 2: two holders; 3: another error */
            winners += WEXITSTATUS(status) == 0;
        }
        assert_true(winners >= 1);
        assert_false(exists(lock_path));
        assert_no_stale_files();
    }
}

static int remove_lock(void **state)
{
    (void)state;
    unlink(lock_path);
    return 0;
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(store, sizeof store, "%s/test_lock.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(store))
        return -1;
    snprintf(lock_path, sizeof lock_path, "%s/LOCK", store);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    /* No randomness here; the seed line keeps the test output uniform. */
    const char *s = getenv("MC_SEED");
    printf("test_lock: seed %s (not used: this test is deterministic)\n", s && *s ? s : "-");
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_release),
        cmocka_unit_test(test_stale_taken_over),
        cmocka_unit_test(test_leftover_aside_removed),
        cmocka_unit_test(test_not_stale),
        cmocka_unit_test(test_pid_out_of_range),
        cmocka_unit_test_teardown(test_zombie_is_stale, remove_lock),
        cmocka_unit_test_teardown(test_empty_lock, remove_lock),
        cmocka_unit_test(test_release_keeps_foreign_lock),
        cmocka_unit_test(test_missing_store),
        cmocka_unit_test(test_takeover_serialized),
        cmocka_unit_test(test_racing_takeovers),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
