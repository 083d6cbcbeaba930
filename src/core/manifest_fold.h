/* manifest_fold: a base written from a generation's files without building
 * the in-memory manifest (no segno index, no level-0 interval tree, no
 * per-level gap buffers): what a background base child does (manifest_base.h).
 *
 * The chain of GENERATION is read file by file. Each edit's `removed`
 * segnos and listed entries become records (segno, position in the chain);
 * for each segno the newest record wins, and a segno an edit touched is
 * taken from the records, never from the base. What is left of the base
 * (sorted into manifest order when another writer listed it in another
 * order, which FORMAT.md allows) is merged with the surviving edit entries
 * (sorted) into manifest order and written as a base of GENERATION.
 * Checks on the way: every header as a load checks it, each edit follows
 * the file before it with the same parameters, entries pass the load's
 * entry checks, levels are in range, segnos are unique and below
 * next_segno, no two segments of a level >= 1 overlap, and the result has
 * EXPECT_COUNT entries of EXPECT_BYTES bytes in all (what the caller's
 * manifest of GENERATION holds). Any failure writes nothing usable: OUT may
 * hold a partial file, which the caller removes. */
#ifndef MC_MANIFEST_FOLD_H
#define MC_MANIFEST_FOLD_H

#include "manifest.h"

mc_status mc_manifest_fold(const char *store, uint64_t generation, const char *out, uint64_t expect_count,
                           uint64_t expect_bytes, mc_err *err);

#endif
