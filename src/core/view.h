/* view: the logical content of a store within a key range, in key order.
 *
 * Merges the segments of the manifest that may hold a key in [lo, hi]
 * (merge.h: highest seq wins) and skips keys whose winner is a delete.
 * Errors name the segment file (the readers check as they go). Borrows the
 * manifest and the store path, which must outlive the view (the bounds are
 * copied).
 *
 * Bounded files and memory, whatever the store holds:
 *   - levels >= 1 (disjoint key ranges) are read lazily, one segment per
 *     level open at a time, in key order: a get opens about one segment
 *     per level;
 *   - level 0: up to MC_VIEW_OPEN_MAX overlapping segments are opened in
 *     mc_view_open(); beyond that, mc_view_open() merges them in groups of
 *     MC_VIEW_OPEN_MAX into anonymous temporary runs (runfile.h, in
 *     $TMPDIR; space about the size of the level-0 data in the range),
 *     closing each group's files before the next, then groups of
 *     MC_VIEW_RUNS_MAX runs until at most that many are left. Runs keep
 *     deletes (they must still hide older versions in other sources).
 * So a view holds at most MC_VIEW_OPEN_MAX + levels segment files and
 * MC_VIEW_RUNS_MAX runs open (well under the default limit of 1,024 open
 * files), and memory is one reader window per open file plus one buffer
 * per run.
 *
 * Snapshot rule. Readers take no lock; a commit may remove files of the
 * generation a view reads before the view opened them. A view never
 * returns a mix of generations:
 *   - when an open or a read fails and CURRENT names another generation,
 *     the view loads the new one and compares content epochs (manifest.h:
 *     add and gen advance it, compaction keeps it). Same epoch (the commit
 *     only reorganised the same logical content): the view drops all its
 *     sources and continues on the new generation with the keys after the
 *     last one it returned (nothing returned yet: from the start), so the
 *     sequence of keys is exactly one generation's content. This is tried
 *     up to MC_VIEW_ATTEMPTS times;
 *   - epoch changed (or unknown: a version-1 manifest): MC_ECANCELED with a
 *     message saying so. A reader that has consumed nothing of the view's
 *     output, or can throw it away (digest, verify), starts over on the new
 *     generation: mc_view_generation_moved() tells it so; one that has
 *     already printed (scan) fails with that message;
 *   - a failure under an unchanged generation is real damage and is
 *     returned as it is.
 * Segments and runs already open stay readable after a compaction unlinks
 * them (an open file survives its unlink). */
#ifndef MC_VIEW_H
#define MC_VIEW_H

#include "manifest.h"

typedef struct mc_view mc_view;

/* Level-0 segments a view opens at once (more go through runs); runs it
 * merges at once. */
#define MC_VIEW_OPEN_MAX 64
#define MC_VIEW_RUNS_MAX 128

/* LO/HI NULL: unbounded; both inclusive. */
mc_status mc_view_open(const char *store, const mc_manifest *m,
                       const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                       mc_view **out, mc_err *err);
/* Next live item (a put), or *eof. Valid until the next call. */
mc_status mc_view_next(mc_view *v, mc_item *item, bool *eof, mc_err *err);
/* Segments the view reads (of its current generation). */
size_t mc_view_nsegments(const mc_view *v);
/* The generation the view reads now (newer than its manifest's after a
 * resume, see above). */
uint64_t mc_view_generation(const mc_view *v);
/* Versions skipped so far: overwritten ones and same-seq conflicts (merge.h). */
uint64_t mc_view_conflicts(const mc_view *v);
void mc_view_close(mc_view **v);

/* Loads of the manifest plus reads on it before a reader gives up because
 * the store keeps committing under it. */
#define MC_VIEW_ATTEMPTS 100
/* CURRENT names a generation other than GENERATION (a commit happened
 * since, which may have removed files of GENERATION). False when CURRENT
 * cannot be read: the reader's own error is then the one to report. */
bool mc_view_generation_moved(const char *store, uint64_t generation);
/* mc_manifest_load() for readers: when the load fails because a commit
 * removed the manifest file CURRENT named a moment before, loads the new
 * generation (up to MC_VIEW_ATTEMPTS times). */
mc_status mc_view_load_manifest(const char *store, mc_manifest **out, mc_err *err);

#endif
