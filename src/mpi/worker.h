/* worker: the ranks >= 1 of `compact`, and running one request anywhere.
 *
 * A worker loops: receive REQUESTs from rank 0 into a local queue (in
 * order), run them one at a time (mc_worker_execute), send a RESPONSE for
 * each (success or an error carrying the id), until STOP, answered by DONE
 * (after which it sends nothing).
 * Leaving (the design's client disconnect): on SIGUSR2, or when the fault
 * point "worker_leave" fires (checked after each finished compaction), the
 * worker cancels the compaction it is running (the compaction removes its
 * own files, through the poll hook), drops its queued requests without
 * answering them, sends FAREWELL, and from then on receives and ignores
 * requests until STOP. Because it says farewell only after it has stopped
 * writing, the coordinator may delete what the forgotten requests wrote.
 * SIGTERM and SIGUSR1 (Slurm's drain signals, which mpirun forwards to every
 * rank) are caught and ignored on workers: rank 0 drains the job and sends
 * STOP. Waiting never spins a core (mc_wait_message).
 * Failures never leave rank 0 waiting: a response that cannot be encoded or
 * sent is replaced by a short error response for the same id; a receive
 * that fails or a request that cannot be queued makes the worker leave
 * (farewell); when a farewell or DONE cannot be sent, or a receive fails
 * after the farewell, the worker calls MPI_Abort with a message. The loop
 * itself ends only at STOP. */
#ifndef MC_WORKER_H
#define MC_WORKER_H

#include "cli.h"
#include "compaction.h"

/* Checks REQ (mc_request_check) and runs it (mc_compact_run). RESP is always
 * filled: on failure it is an error response (id, status, errno, message,
 * no outputs). stats.seconds is the wall time spent here. Returns the
 * status. Used by the workers and by rank 0 when it compacts itself. */
mc_status mc_worker_execute(const char *store, const mc_request *req,
                            const mc_compact_hooks *hooks, mc_response *resp);

/* The worker loop on a rank >= 1, until STOP from rank 0 (answered by
 * DONE). Returns MC_OK (a failure it cannot report aborts the job). */
mc_status mc_worker_run(const mc_cli_ctx *ctx, const char *store);

#endif
