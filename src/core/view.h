/* view: the logical content of a store within a key range, in key order.
 *
 * Opens a reader on every segment of the manifest that may hold a key in
 * [lo, hi] (level 0 by range check, deeper levels by binary search with
 * mc_manifest_level_overlaps), merges them (merge.h: highest seq wins) and
 * skips keys whose winner is a delete. Memory: one reader window per
 * overlapping segment, independent of the segments' lengths. Errors name
 * the segment file (the readers check as they go). Borrows the manifest
 * and the bounds, which must outlive the view. */
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

#endif
