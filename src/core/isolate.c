/* isolate: a computation in a forked child, its crash or silence reported;
 * background jobs in programs started by posix_spawn (isolate.h).
 *
 * The pipe from the child carries records: 'a' (alive, one byte) and
 * 'r' + 8-byte little-endian length + the reply. Any byte received restarts
 * the parent's stall clock. */
#include "isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "err.h"

struct mc_isolate_child {
    int fd;
    bool replied;
    int64_t last_alive;   /* ms */
};

/* Child: all of LEN bytes, or the child ends (the parent sees no reply). */
static void put_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(127);
        p += w;
        len -= (size_t)w;
    }
}

static int64_t ms_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A few milliseconds coarse, and a few nanoseconds to read. */
static int64_t now_coarse(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    return ms_of(CLOCK_MONOTONIC_COARSE);
#else
    return ms_of(CLOCK_MONOTONIC);
#endif
}

void mc_isolate_alive(mc_isolate_child *child)
{
    if (!child)
        return;
    int64_t t = now_coarse();
    if (t - child->last_alive < MC_ISOLATE_ALIVE_MS)
        return;
    child->last_alive = t;
    put_all(child->fd, "a", 1);
}

void mc_isolate_reply(mc_isolate_child *child, const void *data, size_t len)
{
    if (!child || child->replied)
        return;
    uint8_t head[9] = {'r'};
    for (int b = 0; b < 8; b++)
        head[1 + b] = (uint8_t)((uint64_t)len >> (8 * b));
    put_all(child->fd, head, sizeof head);
    put_all(child->fd, data, len);
    child->replied = true;
}

/* Child: default actions for crashes and for the signals the program
 * handles (isolate.h), and death with the parent. */
static void child_setup(pid_t parent)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2,
                               SIGPIPE};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent)   /* the parent died before prctl */
        _exit(127);
}

/* Parent: the reply in the records of IN, if complete. */
static bool find_reply(const mc_buf *in, mc_buf *reply, mc_err *err, mc_status *st)
{
    size_t i = 0;
    while (i < in->n && in->p[i] == 'a')
        i++;
    if (in->n - i < 9 || in->p[i] != 'r')
        return false;
    uint64_t len = 0;
    for (int b = 0; b < 8; b++)
        len |= (uint64_t)in->p[i + 1 + b] << (8 * b);
    if (len != in->n - i - 9)
        return false;
    *st = mc_buf_append(reply, in->p + i + 9, (size_t)len, err);
    return true;
}

static int64_t now_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

/* Parent: reads the child's records into IN until EOF (true) or silence for
 * STALL_MS (false). */
static bool read_until_eof(int fd, int64_t stall_ms, mc_buf *in, mc_status *st, mc_err *err)
{
    int64_t deadline = now_ms() + stall_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            continue;   /* the loop's clock decides */
        uint8_t chunk[4096];
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return true;   /* EOF (or an error: the child is gone for us) */
        if (*st == MC_OK)
            *st = mc_buf_append(in, chunk, (size_t)r, err);
        deadline = now_ms() + stall_ms;
    }
}

/* A pipe and a child: in the child (*PID 0, set up) FDS[1] is the write
 * end; in the parent FDS[0] is the read end. Each side closed the other. */
static mc_status fork_child(int fds[2], pid_t *pid, mc_err *err)
{
    if (pipe(fds) != 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "pipe: %s", strerror(e));
    }
    pid_t parent = getpid();
    *pid = fork();
    if (*pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return mc_err_set(err, mc_status_from_errno(e), e, "fork: %s", strerror(e));
    }
    if (*pid == 0) {
        close(fds[0]);
        child_setup(parent);
    } else {
        close(fds[1]);
    }
    return MC_OK;
}

mc_status mc_isolate_run(mc_isolate_fn fn, void *arg, unsigned stall_ms, mc_isolate_outcome *outcome,
                         int *signo, mc_buf *reply, mc_err *err)
{
    *outcome = MC_ISOLATE_CRASHED;
    *signo = 0;
    int fds[2];
    pid_t pid = -1;
    mc_status fst = fork_child(fds, &pid, err);
    if (fst != MC_OK)
        return fst;
    if (pid == 0) {
        mc_isolate_child child = {.fd = fds[1], .replied = false, .last_alive = now_coarse()};
        fn(arg, &child);
        _exit(0);
    }
    mc_buf in = {0};
    mc_status st = MC_OK;
    bool eof = read_until_eof(fds[0], stall_ms ? (int64_t)stall_ms : 1, &in, &st, err);
    if (!eof)
        kill(pid, SIGKILL);
    close(fds[0]);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    /* Any exit status: valgrind gives a child that _exits with blocks it
     * inherited (HDF5's free lists, never torn down there) its error exit
     * status; a death by a signal after the reply is still a crash. */
    bool exited_cleanly = w == pid && WIFEXITED(status);
    if (w == pid && WIFSIGNALED(status))
        *signo = WTERMSIG(status);
    if (st == MC_OK) {
        if (!eof)
            *outcome = MC_ISOLATE_STALLED;
        else if (exited_cleanly && find_reply(&in, reply, err, &st))
            *outcome = MC_ISOLATE_DONE;
    }
    mc_buf_free(&in);
    return st;
}

/* ---- background jobs ---- */

mc_status mc_isolate_exec(char *const argv[], mc_isolate_job *job, mc_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "pipe: %s", strerror(e));
    }
    /* dup2 onto itself would keep close-on-exec: move the write end off. */
    if (fds[1] == MC_ISOLATE_JOB_FD) {
        int moved = fcntl(fds[1], F_DUPFD_CLOEXEC, MC_ISOLATE_JOB_FD + 1);
        close(fds[1]);
        fds[1] = moved;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int e = fds[1] < 0 ? errno : 0;
    if (!e && (e = posix_spawn_file_actions_init(&fa)) == 0) {
        if ((e = posix_spawn_file_actions_adddup2(&fa, fds[1], MC_ISOLATE_JOB_FD)) == 0 &&
            (e = posix_spawnattr_init(&attr)) == 0) {
            /* Default actions for every signal and none blocked: the child
             * does not inherit the parent's handling (isolate.h). */
            if ((e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
                (e = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
                (e = posix_spawnattr_setsigdefault(&attr, &all)) == 0) {
                pid_t pid;
                extern char **environ;
                if ((e = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ)) == 0)
                    job->pid = (int)pid;
            }
            posix_spawnattr_destroy(&attr);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (e) {
        close(fds[0]);
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot start: %s", argv[0], strerror(e));
    }
    job->fd = fds[0];
    return MC_OK;
}

void mc_isolate_job_child_start(pid_t parent)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* Descriptors the parent opened without close-on-exec (HDF5's files,
     * MPI's sockets) would stay open as long as the job runs. */
    close_range(MC_ISOLATE_JOB_FD + 1, ~0u, 0);
#endif
    if (getppid() != parent)   /* the parent died before prctl */
        _exit(127);
}

void mc_isolate_job_child_done(void)
{
    put_all(MC_ISOLATE_JOB_FD, "k", 1);
    /* At once: the parent reaps the job as soon as the byte arrives, and
     * must not wait out exit handlers (HDF5's teardown) there. */
    _exit(0);
}

/* Reaps the ended child and reads its verdict. */
static bool job_end(mc_isolate_job *job)
{
    int status;
    while (waitpid((pid_t)job->pid, &status, 0) < 0 && errno == EINTR)
        ;
    char b = 0;
    ssize_t r;
    while ((r = read(job->fd, &b, 1)) < 0 && errno == EINTR)
        ;
    close(job->fd);
    *job = (mc_isolate_job){0};
    return r == 1 && b == 'k';
}

bool mc_isolate_reap(mc_isolate_job *job, bool wait, bool *ok)
{
    *ok = false;
    if (!job->pid)
        return false;
    if (!wait) {
        /* The pipe's write end closes when the child ends (or execs: never). */
        struct pollfd pfd = {.fd = job->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            return false;
    }
    *ok = job_end(job);
    return true;
}

void mc_isolate_kill(mc_isolate_job *job)
{
    if (!job->pid)
        return;
    kill((pid_t)job->pid, SIGKILL);
    job_end(job);
}
