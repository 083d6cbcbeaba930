/* view: the logical content of a store within a key range, in key order.
 *
 * Opens a reader on every segment of the manifest that may hold a key in
 * [lo, hi] (level 0 by range check, deeper levels by binary search with
 * mc_manifest_level_overlaps), merges them (merge.h: highest seq wins) and
 * skips keys whose winner is a delete. Memory: one reader window per
 * overlapping segment, independent of the segments' lengths. Errors name
 * the segment file (the readers check as they go). Borrows the manifest
 * and the bounds, which must outlive the view.
 *
 * Readers take no lock. Every segment is opened in mc_view_open(), before
 * the first item: once open, a compaction that commits and unlinks them
 * does not disturb the view (an open file stays readable), so a view is a
 * snapshot of its manifest's generation. Between loading the manifest and
 * opening the files, though, a commit may remove files the manifest names:
 * a reader whose load or open fails checks mc_view_generation_moved() and,
 * when it did move, starts over on the new generation (at most
 * MC_VIEW_ATTEMPTS times). A missing file under an unchanged generation is
 * real damage and reported as such. A view that opened files lazily would
 * lose the snapshot: scan would then have to resume after its last key. */
#ifndef MC_VIEW_H
#define MC_VIEW_H

#include "manifest.h"

typedef struct mc_view mc_view;

/* LO/HI NULL: unbounded; both inclusive. */
mc_status mc_view_open(const char *store, const mc_manifest *m,
                       const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                       mc_view **out, mc_err *err);
/* Next live item (a put), or *eof. Valid until the next call. */
mc_status mc_view_next(mc_view *v, mc_item *item, bool *eof, mc_err *err);
/* Segments the view reads. */
size_t mc_view_nsegments(const mc_view *v);
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
