/* ivtree: a dynamic set of key intervals [lo, hi] (byte strings, mc_key_cmp
 * order) answering "which intervals intersect [a, b]" in O(log n + answer)
 * expected time: a treap ordered by (lo, id) where every node also knows the
 * largest hi of its subtree (an augmented interval tree).
 *
 * The tree borrows the key bytes: they must stay valid and unchanged while
 * the interval is in the tree (the manifest's entries, the picker's
 * regions). IDs tell equal intervals apart: (lo, id) must be unique. PAYLOAD
 * is handed back to the visitor. Out of memory is an error that returns. */
#ifndef MC_IVTREE_H
#define MC_IVTREE_H

#include "mpicompact.h"

typedef struct mc_ivnode mc_ivnode;

typedef struct mc_ivtree {
    mc_ivnode *root;
    size_t n;
    uint64_t rng;
} mc_ivtree;

typedef struct mc_interval {
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    uint64_t id;
    const void *payload;
} mc_interval;

void mc_ivtree_init(mc_ivtree *t);
void mc_ivtree_fini(mc_ivtree *t);
/* Copies IV (not its key bytes) in. */
mc_status mc_ivtree_insert(mc_ivtree *t, const mc_interval *iv, mc_err *err);
/* Removes the interval with IV's (lo, id); absent is a no-op. */
void mc_ivtree_erase(mc_ivtree *t, const mc_interval *iv);
/* Calls VISIT for every interval intersecting [lo, hi] (LO NULL: from the
 * start, HI NULL: to the end), in ascending (lo, id), until it returns false.
 * Returns false when VISIT stopped it. */
bool mc_ivtree_overlaps(const mc_ivtree *t, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                        bool (*visit)(void *ctx, const mc_interval *iv), void *ctx);

#endif
