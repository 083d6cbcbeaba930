/* merge: k-way merge of sorted item streams, newest version per key.
 *
 * Sources yield items in strictly increasing key order. mc_merge_next()
 * returns, for each key, the version with the highest seq; every other
 * version of that key is counted as an overwrite and skipped. Two versions
 * with the same key and seq: if identical (kind and value) one is kept
 * and the others are counted as duplicates; otherwise one is chosen deterministically (delete over put, then
 * the larger value by mc_key_cmp) and counted as a conflict, so that the
 * result never depends on how items are split into sources. A loser tree
 * (or heap) over the sources: O(log k) per item, memory independent of the
 * streams' lengths. Deletes are returned like puts; the caller decides. */
#ifndef MC_MERGE_H
#define MC_MERGE_H

#include "mpicompact.h"

typedef struct mc_merge_source {
    /* Next item or *eof. The item must stay valid until the second call
     * after it on the same source (the merge fetches a source's next item
     * while the one it returns is still in use). Keys must increase
     * strictly: the merge checks it (MC_ECORRUPT). */
    mc_status (*next)(void *ctx, mc_item *item, bool *eof, mc_err *err);
    void *ctx;
} mc_merge_source;

typedef struct mc_merge mc_merge;

/* Borrows SOURCES (copied) and their contexts. */
mc_status mc_merge_create(const mc_merge_source *sources, size_t n, mc_merge **out, mc_err *err);
/* The returned item is valid until the next call. */
mc_status mc_merge_next(mc_merge *m, mc_item *item, bool *eof, mc_err *err);
uint64_t mc_merge_overwrites(const mc_merge *m);
uint64_t mc_merge_conflicts(const mc_merge *m);
uint64_t mc_merge_duplicates(const mc_merge *m);
void mc_merge_destroy(mc_merge **m);

/* A source over a segment reader limited to keys in [lo, hi] (NULL =
 * unbounded); seeks to LO when given. Owns nothing; the caller keeps the
 * reader and the keys alive. */
typedef struct mc_range_source {
    mc_seg_reader *reader;
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    bool started;
    uint64_t hi_prefix;   /* set when started: HI's first 8 bytes as an integer, so most items pass on one compare */
} mc_range_source;
mc_status mc_range_source_next(void *ctx, mc_item *item, bool *eof, mc_err *err);

#endif
