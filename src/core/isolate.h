/* isolate: running one computation on untrusted input in a child process,
 * so that a crash or an endless loop inside a library (HDF5 parsing a
 * hostile file) costs an error message, not the calling process.
 *
 * mc_isolate_run() forks. The child runs FN(ARG, child), which reports
 * progress with mc_isolate_alive() and its result bytes with
 * mc_isolate_reply(); then the child _exit()s (no atexit handler, no stdio
 * flush, no library teardown runs in it). The parent waits and returns
 * exactly one outcome:
 *   MC_ISOLATE_DONE     the child replied and exited (with any status):
 *                       *REPLY holds the bytes;
 *   MC_ISOLATE_CRASHED  the child ended without replying, or was killed
 *                       by a signal even after replying (*SIGNO: the
 *                       signal, 0 if it exited);
 *   MC_ISOLATE_STALLED  the child sent nothing (neither progress nor its
 *                       reply) for STALL_MS milliseconds: it was killed (SIGKILL)
 *                       and reaped. A slow child that keeps reporting
 *                       progress is never stopped: the limit is on silence,
 *                       not on the total time.
 * The child is always reaped before mc_isolate_run returns; it never
 * outlives the parent (Linux: PR_SET_PDEATHSIG). An error of the parent
 * itself (no pipe, no fork) is a status other than MC_OK in ERR.
 *
 * Guarantees and requirements:
 *   - the child works on a copy of the parent's memory: nothing it does
 *     changes the parent's state (HDF5's caches and ids included);
 *   - FN must not call MPI, nor anything that talks to another process
 *     through state shared with the parent; file descriptors are shared, so
 *     FN must not move the file offsets of descriptors the parent uses;
 *   - in the child, fatal signals (SEGV, BUS, FPE, ILL, ABRT) and the
 *     termination signals the program handles (TERM, INT, HUP, USR1, USR2)
 *     take their default action: a crash is the child's death, reported to
 *     the parent, not a sanitizer's or the program's handler running in the
 *     copy.
 * Not thread-safe with other forks of the same process (one call at a
 * time), like the rest of the core library. */
#ifndef MC_ISOLATE_H
#define MC_ISOLATE_H

#include <sys/types.h>

#include "buf.h"

typedef struct mc_isolate_child mc_isolate_child;
typedef void (*mc_isolate_fn)(void *arg, mc_isolate_child *child);

typedef enum { MC_ISOLATE_DONE, MC_ISOLATE_CRASHED, MC_ISOLATE_STALLED } mc_isolate_outcome;

/* In the child: "still working". Cheap enough to call per item: it writes
 * to the parent at most every MC_ISOLATE_ALIVE_MS (a stall limit should be
 * well above that). CHILD may be NULL (no-op). */
#define MC_ISOLATE_ALIVE_MS 100
void mc_isolate_alive(mc_isolate_child *child);
/* In the child: the result, once; later calls are ignored. */
void mc_isolate_reply(mc_isolate_child *child, const void *data, size_t len);

/* OUT: *OUTCOME; *SIGNO (CRASHED); *REPLY (DONE: appended, caller frees).
 * STALL_MS >= 1. */
mc_status mc_isolate_run(mc_isolate_fn fn, void *arg, unsigned stall_ms, mc_isolate_outcome *outcome,
                         int *signo, mc_buf *reply, mc_err *err);

/* A background job: mc_isolate_exec() starts the program ARGV[0] with
 * ARGV by posix_spawn (no copy of the caller's page tables, and no
 * copy-on-write faults in the caller afterwards, which a fork of a large
 * process pays for every page it then writes), while the caller goes on.
 * The program gets default actions for every signal, none blocked, and the
 * write end of a pipe as descriptor MC_ISOLATE_JOB_FD. It calls
 * mc_isolate_job_child_start(parent pid, passed in ARGV) first (death with
 * the parent; every descriptor above MC_ISOLATE_JOB_FD closed) and
 * mc_isolate_job_child_done() when it succeeded (which _exits). A program
 * that cannot start is an error naming it, or, where posix_spawn cannot
 * tell (valgrind runs it as a fork), a job that ends without success. The caller
 * owns the job until mc_isolate_reap() reports it ended or
 * mc_isolate_kill() ends it: both reap the child and close its pipe. */
#define MC_ISOLATE_JOB_FD 3
typedef struct mc_isolate_job {
    int pid;   /* 0: none */
    int fd;    /* the child writes one byte on success, then ends */
} mc_isolate_job;
mc_status mc_isolate_exec(char *const argv[], mc_isolate_job *job, mc_err *err);
void mc_isolate_job_child_start(pid_t parent);
void mc_isolate_job_child_done(void);
/* True when JOB's child has ended (WAIT: blocks until it has); then *OK
 * says whether FN succeeded and JOB is reset. Success is the byte the
 * child wrote, not its exit status (valgrind may change that). */
bool mc_isolate_reap(mc_isolate_job *job, bool wait, bool *ok);
/* Kills the child (SIGKILL), reaps it and resets JOB; no-op for none. */
void mc_isolate_kill(mc_isolate_job *job);

#endif
