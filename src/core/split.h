/* split: one compaction cut into key-range slices that run on several
 * workers at once, and their results joined back into one unit (RocksDB's
 * subcompactions, spread across ranks).
 *
 * A slice is an ordinary request: the parent's uppers, the lowers that lie
 * in its range, a key range [lo, hi] (the parent's flags, split key and
 * guards). The slices' ranges partition the parent's: slice i ends at a key
 * K and slice i+1 starts at K + "\0", the next key after K in key order, so
 * every key belongs to exactly one slice. Boundaries balance the bytes of
 * all the inputs, uppers and lowers (the quantiles of their distribution
 * over the key space, keysplit.h), a cut inside a lower moved to its end
 * (each lower lies wholly in one slice). Each slice gets its own fresh run
 * of segnos, enough for the worst case (every upper byte landing in it).
 * The parent is applied only when every slice has succeeded: mc_split_join
 * builds the parent's request and response as if one worker had done it all,
 * so the usual validation and mc_manifest_apply hold the whole unit. */
#ifndef MC_SPLIT_H
#define MC_SPLIT_H

#include "request.h"

/* Cuts PARENT into at most WANT (>= 1) slices; *n gets how many (1 when it
 * cannot be cut: then the one slice is a copy of the parent with new
 * segnos). Segnos come from M. Slice ids are left 0 for the caller. *slices
 * is a malloc'ed array; free each with mc_request_clear, then the array. */
mc_status mc_split_request(const mc_request *parent, size_t want, mc_manifest *m,
                           mc_request **slices, size_t *n, mc_err *err);

/* Builds in *joined_req a copy of PARENT whose segno runs are all the
 * slices' runs (sorted: one per slice), and in *joined_resp the slices' outputs (in slice order) and summed
 * statistics, with PARENT's id. RESPS[i] answers SLICES[i] and has status
 * MC_OK. */
mc_status mc_split_join(const mc_request *parent, const mc_request *slices, const mc_response *resps,
                        size_t n, mc_request *joined_req, mc_response *joined_resp, mc_err *err);

#endif
