/* keysplit: cutting a store's key space into parts of about equal bytes,
 * from the manifest alone (no segment is opened).
 *
 * Every key of the store shares the common prefix P of the store's smallest
 * and largest key; the next 8 bytes after P, read big-endian, place a key on
 * a number line. Each segment spreads its bytes evenly over the interval of
 * its min and max key there (a model: exact enough to balance, never needed
 * for correctness). The boundaries are the quantiles of that distribution,
 * written back as keys P + 8 bytes. Part i is [b[i-1], b[i]) with b[-1] =
 * -infinity and b[nparts-1] = +infinity; parts may be empty. A pure function
 * of the manifest (or of the segments given): every rank computes the same boundaries. Level-0 stores
 * (all segments spanning the whole key space) balance as well as deep ones. */
#ifndef MC_KEYSPLIT_H
#define MC_KEYSPLIT_H

#include "manifest.h"

typedef struct mc_keysplit {
    size_t nparts;
    uint8_t **bound;      /* nparts - 1 boundary keys (owned), non-decreasing */
    size_t *bound_len;
} mc_keysplit;

mc_status mc_keysplit_compute(const mc_manifest *m, size_t nparts, mc_keysplit *out, mc_err *err);
/* The same over the N segments SEGS (e.g. a compaction's inputs: its
 * slices balanced by their bytes, split.h) instead of a whole manifest. */
mc_status mc_keysplit_segs(const mc_seg_meta *segs, size_t n, size_t nparts, mc_keysplit *out, mc_err *err);
void mc_keysplit_clear(mc_keysplit *ks);

#endif
