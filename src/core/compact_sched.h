/* sched: the MPI-free part of rank 0's compaction loop, shared by the
 * coordinator (src/mpi/coordinator.c) and the simulator (bench/coordinator_sim).
 *
 * It owns the picker, the lifecycle of picked units (lifecycle.h), the
 * inputs waiting to be deleted after the next commit, and the commit
 * cadence. The caller moves flights to ranks and back (messages, or a
 * simulation) and decides how failures are retried; everything between a
 * pick and a durable commit goes through here:
 *   pick      mc_sched_take: a waiting flight a rank may run, or a new pick
 *             cut into slices (split.h), guards trimmed to each slice
 *   answer    mc_sched_slice_ok: a slice's response validated against the
 *             request sent, kept; the last slice applies the unit
 *   apply     mc_sched_apply: join, validate, mc_manifest_apply as one unit,
 *             picker release, inputs queued for deletion
 *   commit    mc_sched_commit_due / mc_sched_commit: the single call to
 *             mc_manifest_commit, then the queued inputs go to the remover
 *             (remover.h: one background thread unlinks them)
 *   finish    mc_sched_fini: waits for the remover, then frees
 * Invariants: an input file is unlinked only after a commit that no longer
 * names it; a unit's inputs are busy from pick until release; after
 * mc_sched_fini every input a commit dropped was unlinked (or its failure
 * logged). */
#ifndef MC_SCHED_H
#define MC_SCHED_H

#include "lifecycle.h"
#include "picker.h"
#include "remover.h"

#define MC_SCHED_COMMIT_INTERVAL 0.5      /* seconds between group commits (MPICOMPACT_COMMIT_INTERVAL) */
#define MC_SCHED_COMMIT_MAX_DELETES 16384 /* queued input deletions that force a commit */
#define MC_SCHED_COMMIT_MAX_CHANGES 16384 /* manifest changes that force one: a commit writes them (an edit) */
#define MC_SCHED_MAX_SLICES 64            /* most slices one compaction is cut into */

typedef struct mc_sched {
    const char *store;
    mc_manifest *m;
    mc_picker *picker;
    mc_lc lc;
    uint64_t *deletes;      /* inputs to unlink after the next commit */
    mc_remover *remover;    /* unlinks them after it, off the caller's thread */
    size_t ndeletes, cap_deletes;
    bool dirty;             /* the manifest differs from the committed one */
    bool dry;               /* the picker had nothing: ask again after a change */
    uint64_t moves_seen;
    double last_commit;     /* caller's clock */
    double commit_interval; /* seconds */
    uint64_t commits;       /* commits that switched CURRENT */
    uint64_t slices;        /* slices of the units cut in more than one */
    void (*log)(void *ctx, const mc_err *err);   /* failed removals; may be NULL */
    void *log_ctx;
} mc_sched;

/* Borrows STORE and M (both outlive S). LOG may be NULL; it is called on
 * the caller's thread only (the remover's failures are handed over).
 * Test switches from the environment: MPICOMPACT_COMMIT_INTERVAL (seconds
 * between group commits, more than 0; default MC_SCHED_COMMIT_INTERVAL)
 * and MPICOMPACT_MANIFEST_BG_MIN (manifest_base.h). */
mc_status mc_sched_init(mc_sched *s, const char *store, mc_manifest *m, const mc_picker_opts *popts,
                        void (*log)(void *ctx, const mc_err *err), void *log_ctx, mc_err *err);
/* Waits until the inputs dropped by commits are unlinked (failures logged),
 * then frees what is left (flights, picker) without removing other files.
 * Call it before the store lock is released. */
void mc_sched_fini(mc_sched *s);

/* How many slices to cut REQ into: one per idle rank, none smaller than a
 * quarter of SEGMENT_SIZE (the store's), at most MC_SCHED_MAX_SLICES and
 * MAX_SLICES (mc_picker_max_slices); 1 when SINGLE. The store's segment
 * size, not REQ's: a round of the merge tree (docs/COMPACTION.md) does not
 * cut its outputs, but is sliced as any merge of its bytes would be, within
 * the picker's cap (each slice leaves a level-0 segment). */
size_t mc_sched_slices_wanted(const mc_request *req, uint64_t segment_size, size_t max_slices, size_t idle,
                              bool single);

/* Work for RANK: a waiting flight it may run (not one that avoids RANK
 * unless NLIVE <= 1; not a slice of a cut unit when LEAVE_SLICES), else,
 * unless NO_PICK or dry, a new pick cut into mc_sched_slices_wanted(IDLE,
 * SINGLE) slices. *out = NULL: nothing. On error nothing is in flight for
 * the failed pick. */
mc_status mc_sched_take(mc_sched *s, int rank, size_t nlive, bool leave_slices, bool no_pick, size_t idle,
                        bool single, mc_flight **out, mc_err *err);

/* Flight IDX (current, unit not doomed) answered RESP with status OK:
 * validated against the request sent (error: nothing changed, the caller
 * handles the failure); kept; when it completes its unit, *complete is the
 * unit to give to mc_sched_apply. RESP is taken over (cleared) on success. */
mc_status mc_sched_slice_ok(mc_sched *s, size_t idx, mc_response *resp, mc_unit **complete, mc_err *err);

/* Every slice of U succeeded: join, validate and apply as one unit. On
 * success STATS gets the unit's totals, its inputs are released and queued
 * for deletion, and U is marked applied (it may be freed). On failure the
 * manifest is unchanged and U is the caller's to doom. */
mc_status mc_sched_apply(mc_sched *s, mc_unit *u, mc_compact_stats *stats, mc_err *err);

/* Picker moves since the last call (they make the manifest dirty). */
uint64_t mc_sched_note_moves(mc_sched *s);
/* A commit that must not wait: dirty and many deletes queued or many
 * changes to write. While it is, mc_sched_take picks nothing new (so that
 * no commit writes much more than MC_SCHED_COMMIT_MAX_CHANGES changes) and
 * the coordinator commits without waiting for arriving messages. */
bool mc_sched_commit_urgent(const mc_sched *s);
/* A commit is due at time NOW: FORCE (and dirty), or urgent, or dirty and
 * the commit interval since the last one. */
bool mc_sched_commit_due(const mc_sched *s, double now, bool force);
/* Commits the manifest (mc_manifest_commit), then hands the queued inputs
 * to the remover (unlinked in the background; failures logged at a later
 * commit or at mc_sched_fini). On error nothing is unlinked; *switched
 * tells whether CURRENT moved (the commit happened but may not be durable). */
mc_status mc_sched_commit(mc_sched *s, double now, bool *switched, mc_err *err);

#endif
