/* segset: every version of the keys in [lo, hi] held by a chosen set of a
 * manifest's segments, merged: one item per key, the highest seq, deletes
 * included (merge.h).
 *
 * The set is the segments that meet [lo, hi] (level 0 by range check,
 * deeper levels by mc_manifest_level_overlaps) and whose max_seq is at least
 * MIN_SEQ (1: all). Each segment is opened through OPEN_FN, so a caller may
 * read a file it holds open (segment_pin.h, store_view.c) instead of
 * opening its name in the store. Readers are checked against the manifest's descriptor
 * (mc_seg_reader_check_meta). Memory: one reader window per segment of the
 * set. For the live content of a store as the CLI reads it, see view.h;
 * this module serves the library's store API and `add`'s count of shadowed
 * items, which need deletes and pinned files. */
#ifndef MC_SEGSET_H
#define MC_SEGSET_H

#include "manifest.h"

typedef struct mc_segset mc_segset;

/* Opens a reader on segment META, whose file in the store is PATH. */
typedef mc_status (*mc_segset_open_fn)(void *ctx, const mc_seg_meta *meta, const char *path, mc_seg_reader **out,
                                       mc_err *err);

/* LO/HI NULL: unbounded; both inclusive; borrowed until close. OPEN_FN
 * NULL: mc_seg_reader_open() of the segment's path in STORE. */
mc_status mc_segset_open(const char *store, const mc_manifest *m, const uint8_t *lo, size_t lo_len,
                         const uint8_t *hi, size_t hi_len, uint64_t min_seq, mc_segset_open_fn open_fn,
                         void *open_ctx, mc_segset **out, mc_err *err);
/* Next key's winning version (a put or a delete), or *eof. Valid until the
 * next call. */
mc_status mc_segset_next(mc_segset *s, mc_item *item, bool *eof, mc_err *err);
size_t mc_segset_count(const mc_segset *s);
void mc_segset_close(mc_segset **s);   /* accepts NULL */

#endif
