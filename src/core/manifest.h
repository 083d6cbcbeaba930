/* manifest: the in-memory list of live segments, indexed for the picker.
 *
 * It owns a copy of every entry (mc_seg_meta). Invariants, enforced by
 * mc_manifest_add/mc_manifest_relevel (MC_ECORRUPT otherwise):
 *   - segnos are unique and < next_segno;
 *   - level < params.levels;
 *   - in every level >= 1 the key ranges [min_key, max_key] do not overlap.
 * Level 0 is kept in ascending segno order (oldest first) and indexed by key
 * range (an interval tree), deeper levels in ascending key order, so that
 * overlap queries are O(log n + answer) everywhere.
 * A segno -> entry hash makes lookups O(1). Nothing here does I/O. */
#ifndef MC_MANIFEST_H
#define MC_MANIFEST_H

#include "mpicompact.h"

#define MC_LEVELS_DEFAULT 7u
#define MC_LEVELS_MAX 32u

typedef struct mc_params {
    uint32_t fanout;        /* >= 2 */
    uint32_t l0_limit;      /* level-0 limit in segments, >= 1 */
    uint32_t levels;        /* number of levels, 2..MC_LEVELS_MAX; the deepest has no limit */
    uint64_t segment_size;  /* target segment size, key+value bytes, >= 1 */
} mc_params;

/* The smallest segment size `init` accepts (docs/USAGE.md): below it HDF5's
 * own metadata (several KiB a file) outweighs a segment's data, and a
 * compaction reserves one output segno (a run: request.h) per segment size
 * of its input bytes. Not checked when a store is loaded: one made with a smaller
 * size by an older version is still read and compacted. */
#define MC_SEGMENT_SIZE_MIN 1024u
/* Defaults: fanout 10, l0 limit 4, 7 levels, 64 MiB. */
void mc_params_default(mc_params *p);
mc_status mc_params_check(const mc_params *p, mc_err *err);
bool mc_params_equal(const mc_params *a, const mc_params *b);
/* Byte limit of level L >= 1: segment_size * fanout^L, saturating at UINT64_MAX;
 * UINT64_MAX for the deepest level. */
uint64_t mc_params_level_limit(const mc_params *p, unsigned level);

typedef struct mc_manifest mc_manifest;

mc_status mc_manifest_create(const mc_params *params, mc_manifest **out, mc_err *err);
void mc_manifest_destroy(mc_manifest **m);
mc_status mc_manifest_clone(const mc_manifest *m, mc_manifest **out, mc_err *err);

/* A manifest whose in-memory state can no longer be trusted (an undo that
 * ran out of memory, request.c): mc_manifest_commit and the orphan sweep
 * refuse it from then on, so the store on disk keeps its last committed
 * generation and every file that generation names. */
void mc_manifest_poison(mc_manifest *m);
bool mc_manifest_poisoned(const mc_manifest *m);

const mc_params *mc_manifest_params(const mc_manifest *m);
uint64_t mc_manifest_generation(const mc_manifest *m);
void mc_manifest_set_generation(mc_manifest *m, uint64_t generation);
uint64_t mc_manifest_next_segno(const mc_manifest *m);
void mc_manifest_set_next_segno(mc_manifest *m, uint64_t next_segno);
uint64_t mc_manifest_next_seq(const mc_manifest *m);
void mc_manifest_set_next_seq(mc_manifest *m, uint64_t next_seq);
/* Reserve N consecutive numbers; returns the first. Segnos start at 1. */
uint64_t mc_manifest_alloc_segnos(mc_manifest *m, uint64_t n);
uint64_t mc_manifest_alloc_seqs(mc_manifest *m, uint64_t n);

/* META and its keys in one allocation (free() it), or NULL. */
mc_seg_meta *mc_seg_meta_dup(const mc_seg_meta *meta);

/* Copies META in. MC_EEXIST for a duplicate segno, MC_ECORRUPT for an
 * overlap in a level >= 1 or a bad level. */
mc_status mc_manifest_add(mc_manifest *m, const mc_seg_meta *meta, mc_err *err);
mc_status mc_manifest_remove(mc_manifest *m, uint64_t segno, mc_err *err);
/* Moves a segment to another level (the move-without-rewrite path). */
mc_status mc_manifest_relevel(mc_manifest *m, uint64_t segno, unsigned level, mc_err *err);
const mc_seg_meta *mc_manifest_find(const mc_manifest *m, uint64_t segno);
/* Sizes the segno index for NSEGMENTS segments now, so that adds up to that
 * count never rehash (a rehash of millions of entries inside one apply
 * takes about a second). */
mc_status mc_manifest_reserve(mc_manifest *m, size_t nsegments, mc_err *err);

size_t mc_manifest_count(const mc_manifest *m);
uint64_t mc_manifest_total_bytes(const mc_manifest *m);
size_t mc_manifest_level_count(const mc_manifest *m, unsigned level);
uint64_t mc_manifest_level_bytes(const mc_manifest *m, unsigned level);
uint64_t mc_manifest_level_items(const mc_manifest *m, unsigned level);
/* I-th entry of LEVEL: level 0 in ascending segno, deeper in ascending key. */
const mc_seg_meta *mc_manifest_level_at(const mc_manifest *m, unsigned level, size_t i);
/* Levels >= 1: the entries overlapping [lo, hi] (inclusive) are the indices
 * [*first, *end). LO NULL means -infinity, HI NULL +infinity. */
void mc_manifest_level_overlaps(const mc_manifest *m, unsigned level,
                                const uint8_t *lo, size_t lo_len,
                                const uint8_t *hi, size_t hi_len,
                                size_t *first, size_t *end);
/* Index in level 0 of the first entry with segno >= SEGNO (O(log n)). */
size_t mc_manifest_level0_from(const mc_manifest *m, uint64_t segno);
/* Calls VISIT for each level-0 entry whose key range intersects [lo, hi]
 * (NULL: unbounded), in ascending min_key, until VISIT returns false
 * (then returns false). O(log n + answer): a key-range index (ivtree.h).
 * VISIT must not change the manifest. */
bool mc_manifest_l0_overlaps(const mc_manifest *m, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                             size_t hi_len, bool (*visit)(void *ctx, const mc_seg_meta *e), void *ctx);
/* Deepest level holding a segment, or -1 when the store is empty. */
int mc_manifest_deepest_level(const mc_manifest *m);

/* The content epoch (docs/FORMAT.md): it changes with every commit that
 * may change the logical content (add, gen) and stays with commits that
 * only reorganise it (compaction, moves), so a reader can tell whether a
 * newer generation still holds what it was reading. 0 = unknown (read from
 * a version-1 manifest). A writer that changes the content calls
 * mc_manifest_note_content_change() before committing; the commit
 * (manifest_io.h) then advances the epoch and clears the note. */
uint64_t mc_manifest_content_epoch(const mc_manifest *m);
void mc_manifest_set_content_epoch(mc_manifest *m, uint64_t epoch);
void mc_manifest_note_content_change(mc_manifest *m);
bool mc_manifest_content_changed(const mc_manifest *m);
void mc_manifest_clear_content_change(mc_manifest *m);

/* The change journal for incremental commits (manifest_journal.h), owned by
 * M and used by manifest_io.c. A clone starts without one (its next commit
 * writes a full base). */
struct mc_journal;
struct mc_journal *mc_manifest_journal(mc_manifest *m);

/* Two ranges [a_lo, a_hi] and [b_lo, b_hi] intersect. */
bool mc_ranges_overlap(const uint8_t *a_lo, size_t a_lo_len, const uint8_t *a_hi, size_t a_hi_len,
                       const uint8_t *b_lo, size_t b_lo_len, const uint8_t *b_hi, size_t b_hi_len);

#endif
