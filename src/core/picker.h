/* picker: chooses compactions from the manifest alone (rank 0).
 *
 * Levels: level 0 is over its limit while count - pending > l0_limit; level
 * i >= 1 while bytes - pending_bytes > segment_size * fanout^i; the deepest
 * level (levels - 1) has no limit. Levels are tried most-over-limit first.
 * Candidate: an upper segment (level 0: from a segno cursor; deeper: a
 * rotating key cursor, wrapping once) plus every overlapping segment of the
 * next level, at most fanout + 1 of them (more: sticky, output stops at the
 * last lower taken). Level 0: the upper takes along every free level-0
 * segment overlapping the batch's growing range (found through the
 * manifest's key-range index) and every level-1 segment under them, as wide
 * as one merge may be (memory budget over per-input cost, file
 * descriptors); when more overlap than that, a round of a merge tree merges
 * some of them into level 0 first (docs/COMPACTION.md).
 * A candidate is skipped, and the search goes on in the level, when any
 * input is busy (input of an in-flight compaction, or quarantined) or when
 * its key span intersects the span of an in-flight compaction writing to the
 * same level: this is what lets several level-0 compactions run at once
 * safely. A search tries a bounded number of candidates; a call makes a
 * bounded number of moves (then mc_picker_yielded): no decision walks a
 * whole level.
 * An upper with no overlapping lowers moves down by relabelling (applied to
 * the manifest at once, no request), unless it holds deletes and the target
 * is the bottom level. Full mode (compact --full): every level above the
 * bottom (the deepest non-empty level, at least 1) has limit 0, and bottom
 * segments still holding deletes are rewritten in place.
 * Invariants: a segment is an input to at most one in-flight request;
 * pending counts return to zero when every request is released. */
#ifndef MC_PICKER_H
#define MC_PICKER_H

#include "request.h"

/* The width of one merge (docs/COMPACTION.md): each input costs a worker
 * what the segment reader says it costs (mc_seg_input_mem, segment_mem.h:
 * the same figure the compaction reads it by), and the inputs of one merge
 * may cost up to mem_budget together; it also opens at most one file per
 * input, within RLIMIT_NOFILE less MC_MERGE_FD_RESERVE. Beyond the budget a
 * worker holds a fixed overhead: its outputs' buffers, one input being
 * loaded (MC_SEG_LOAD_TRANSIENT) and the process itself. */
#define MC_MERGE_MEM_BUDGET ((uint64_t)512 << 20)
#define MC_MERGE_FD_RESERVE 64u

typedef struct mc_picker_opts {
    bool full;
    size_t max_guards;      /* more guards than this: keep deletes (0 = 1024) */
    uint64_t mem_budget;    /* input cost one merge may hold (0 = MC_MERGE_MEM_BUDGET) */
    size_t max_fds;         /* inputs one merge may open (0 = mc_merge_fd_limit()) */
} mc_picker_opts;

/* What one input of a merge costs a worker, in bytes (mc_seg_input_mem). */
uint64_t mc_merge_input_cost(const mc_seg_meta *e);
/* Inputs one merge may open: RLIMIT_NOFILE (soft) less MC_MERGE_FD_RESERVE. */
size_t mc_merge_fd_limit(void);
/* Raises the soft RLIMIT_NOFILE to the hard limit (best effort; compact
 * calls it on every rank before the width is chosen). */
void mc_raise_fd_limit(void);

typedef struct mc_picker mc_picker;

/* Borrows M, which must outlive the picker; the picker changes it only by
 * relabelling moves and allocating segnos. */
mc_status mc_picker_create(mc_manifest *m, const mc_picker_opts *opts, mc_picker **out, mc_err *err);
void mc_picker_destroy(mc_picker **p);

/* Next compaction that can start now, or *out = NULL. A request returned is
 * in flight (inputs busy, pending counted, segnos allocated, id assigned)
 * and owned by the caller (mc_request_clear + free). */
mc_status mc_picker_next(mc_picker *p, mc_request **out, mc_err *err);
/* The request is over (applied, failed or forgotten): inputs released,
 * pending decremented. Call after mc_manifest_apply() for a success. */
void mc_picker_release(mc_picker *p, const mc_request *req);
/* Like release, but the inputs stay busy for good (no later pick takes them). */
void mc_picker_quarantine(mc_picker *p, const mc_request *req);

/* True when the last mc_picker_next returned nothing only because it made
 * its quota of moves (call again: there may be more), not because nothing
 * can start now. */
bool mc_picker_yielded(const mc_picker *p);

/* Most slices REQ (a request this picker made) may be cut into: SIZE_MAX,
 * except for a round of the merge tree (its outputs are not cut at the
 * segment size, so each slice leaves one segment at level 0): fewer than
 * its inputs, so that every round narrows level 0, and within the room the
 * final pass keeps for a round's outputs. */
size_t mc_picker_max_slices(const mc_picker *p, const mc_request *req);

size_t mc_picker_inflight(const mc_picker *p);
uint64_t mc_picker_moves(const mc_picker *p);
/* True while some level is over its limit (full mode: not yet one bottom
 * level without deletes), ignoring quarantined segments. */
bool mc_picker_wants_more(const mc_picker *p);
/* Segments still to be compacted by the limits, for progress (estimate). */
uint64_t mc_picker_pending_bytes(const mc_picker *p);

#endif
