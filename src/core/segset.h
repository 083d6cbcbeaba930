/* segset: every version of the keys in [lo, hi] held by a chosen set of a
 * manifest's segments, merged: one item per key, the highest seq, deletes
 * included (merge.h).
 *
 * The set is the segments that meet [lo, hi] (level 0 by range check,
 * deeper levels by mc_manifest_level_overlaps) and whose max_seq is at least
 * MIN_SEQ (1: all). Each segment is opened through PATH_FN, so a caller may
 * read a file through a descriptor it holds (store_view.c) instead of its
 * name in the store. Readers are checked against the manifest's descriptor
 * (mc_seg_reader_check_meta). Memory: one reader window per segment of the
 * set. For the live content of a store as the CLI reads it, see view.h;
 * this module serves the library's store API and `add`'s count of shadowed
 * items, which need deletes and pinned files. */
#ifndef MC_SEGSET_H
#define MC_SEGSET_H

#include "manifest.h"

typedef struct mc_segset mc_segset;

/* Writes the path to open for META into OUT (MC_PATH_MAX bytes). */
typedef void (*mc_segset_path_fn)(void *ctx, const mc_seg_meta *meta, char *out);

/* LO/HI NULL: unbounded; both inclusive; borrowed until close. PATH_FN
 * NULL: the segment's path in STORE. */
mc_status mc_segset_open(const char *store, const mc_manifest *m, const uint8_t *lo, size_t lo_len,
                         const uint8_t *hi, size_t hi_len, uint64_t min_seq, mc_segset_path_fn path_fn,
                         void *path_ctx, mc_segset **out, mc_err *err);
/* Next key's winning version (a put or a delete), or *eof. Valid until the
 * next call. */
mc_status mc_segset_next(mc_segset *s, mc_item *item, bool *eof, mc_err *err);
size_t mc_segset_count(const mc_segset *s);
void mc_segset_close(mc_segset **s);   /* accepts NULL */

#endif
