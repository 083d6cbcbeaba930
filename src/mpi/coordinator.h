/* coordinator: rank 0 of `compact`: picks, scatters, gathers, commits.
 *
 * Rank 0 also compacts: when it is idle and there is work, it runs a
 * compaction itself (mc_worker_execute), and the compaction's poll hook
 * (every few MiB or 0.1 s) services messages, so workers never starve. With one rank
 * it does everything. No threads (HDF5 is not thread-safe here).
 *
 * Protocol (wire.h). For each request:
 *   - picked by mc_picker_next (inputs busy, output segnos allocated), given
 *     a wire id unique in the job, recorded in flight BEFORE it is sent;
 *     a worker holds at most opts.inflight requests (workers taken in
 *     rotation; --single: one request in the whole job);
 *   - on a success response: mc_response_validate against the
 *     coordinator's own copy, mc_manifest_apply, mc_picker_release; the
 *     inputs are deleted only after the next durable commit;
 *   - on an error or invalid response: every file under the request's
 *     allocated segnos is removed, and the same inputs are re-issued (new id,
 *     new segnos) to a different rank, up to opts.retries times; then they
 *     are quarantined (never picked again), reported, and the run ends with
 *     MC_EXIT_FAIL after finishing everything else. --strict: the first
 *     failure stops picking; in-flight work is drained and committed.
 *   - on FAREWELL from a worker: its requests are forgotten, their files
 *     removed (it no longer writes), and they are re-issued elsewhere.
 * Group commit: mc_manifest_commit when changes are pending (applied
 * results, moves) and no message is waiting and >= 0.5 s passed since the
 * last commit, or many deletes are queued, or at the end.
 * Drain (SIGTERM/SIGUSR1 on rank 0, or opts.time_limit): stop picking, wait
 * for in-flight work up to a grace of max(10 s, time_limit / 10), then
 * abandon the rest (workers get STOP and cancel), commit, and exit
 * MC_EXIT_MORE when work remains.
 * Units and flights, and every removal of output files, live in
 * lifecycle.h: its gate refuses segnos a manifest names or an applied unit
 * wrote; a stale flight that is dropped never touches its unit.
 * A receive that keeps failing (20 in a row) makes rank 0 MPI_Abort with a
 * message rather than spin on it.
 * Fault point "coordinator_crash": rank 0 calls _exit(9) right before a
 * commit (tests only: the restart must find the last committed state). */
#ifndef MC_COORDINATOR_H
#define MC_COORDINATOR_H

#include "cli.h"
#include "cores.h"
#include "manifest.h"
#include "progress.h"
#include "report.h"

typedef struct mc_coord_opts {
    bool full;              /* picker full mode: one bottom level, no deletes */
    bool single;            /* one compaction in flight in the whole job */
    bool strict;            /* stop at the first failure */
    unsigned inflight;      /* requests per worker, >= 1 */
    unsigned retries;       /* re-issues of a failed compaction */
    double time_limit;      /* seconds; 0 = none */
    mc_progress_mode progress;
    double progress_interval;   /* seconds between progress lines; 0: the mode's default */
    const mc_cores *cores;  /* hosts and their cores (borrowed): no more ranks of a host
                               compact at once than it has cores; NULL: no cap */
} mc_coord_opts;

/* Runs rank 0's side until the store is within its limits, the run is
 * drained, or it fails. M is the committed manifest of STORE (borrowed; it
 * is updated and committed as the run goes). Every worker gets STOP before
 * this returns. REPORT (initialised by the caller) is filled.
 * *COMMITTED is true when M equals the committed manifest at the end (so
 * orphans may be removed against it). Returns MC_EXIT_OK, MC_EXIT_FAIL or
 * MC_EXIT_MORE. */
int mc_coordinator_run(const mc_cli_ctx *ctx, const char *store, mc_manifest *m,
                       const mc_coord_opts *opts, mc_report *report, bool *committed);

#endif
