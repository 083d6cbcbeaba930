/* gen: deterministic synthetic level-0 segments.
 *
 * Segment j of a gen run (0-based) is a pure function of the options, j and
 * first_seq (the store's next seq when the run starts): the same seed and
 * parameters on the same store state give the same segments, whatever the
 * number of ranks that write them. Item i of segment j has run number
 * g = j * items + i and seq first_seq + g; seqs are unique. Every random
 * draw of an item is taken at its seq, not at g, so a second run on the
 * same store (a later first_seq) writes other keys and values.
 * Keys: key index x -> key bytes by an invertible 64-bit mix of (seed, x)
 * (uniform, zipf) or big-endian x (sequential), padded to a length in
 * [key_min, key_max] drawn from x, so a key index always maps to the same
 * bytes. A new item's key index is its seq, so runs never reuse each other's
 * key indexes (keys of 8 bytes or more never collide across runs of one
 * seed; sequential keys of a later run sort after an earlier run's). An
 * overwrite (probability overwrite) or delete (probability del) targets a
 * key index written by an earlier segment of the same run (uniformly; zipf:
 * skewed to hot keys, the run's oldest), so segment 0 has none and no run
 * overwrites or deletes another run's keys. One version per key within a
 * segment (a repeated pick draws again, up to 8 times, then becomes a new
 * key). */
#ifndef MC_GEN_H
#define MC_GEN_H

#include "mpicompact.h"

typedef enum { MC_DIST_UNIFORM, MC_DIST_ZIPF, MC_DIST_SEQUENTIAL } mc_dist;

typedef struct mc_gen_opts {
    uint64_t segments, items;
    size_t key_min, key_max, value_min, value_max;
    mc_dist dist;
    double overwrite, del;
    uint64_t seed;
} mc_gen_opts;

void mc_gen_opts_default(mc_gen_opts *o);   /* 16-byte keys, 100-byte values, uniform */
mc_status mc_gen_opts_check(const mc_gen_opts *o, mc_err *err);
/* Segment J's items in strictly increasing key order, each passed to FN
 * (the item's pointers are valid during the call only); what
 * mc_gen_segment() writes. Keys that collide in a segment (possible only
 * with keys shorter than 8 bytes) keep the highest seq, so a segment may
 * hold fewer than o->items items then. */
typedef mc_status (*mc_gen_item_fn)(void *ctx, const mc_item *item, mc_err *err);
mc_status mc_gen_items(const mc_gen_opts *o, uint64_t j, uint64_t first_seq,
                       mc_gen_item_fn fn, void *ctx, mc_err *err);
/* Writes segment J to PATH as SEGNO; *meta describes it. */
mc_status mc_gen_segment(const mc_gen_opts *o, uint64_t j, uint64_t first_seq,
                         const char *path, uint64_t segno, mc_seg_meta *meta, mc_err *err);

#endif
