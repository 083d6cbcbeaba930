/* compaction: runs one compaction request against the store, without MPI.
 *
 * Opens the inputs, merges them (merge.h), drops what the request allows,
 * writes outputs under the request's allocated segnos, taken in run order
 * (split at segment_size), and fills the response with their descriptors
 * and the statistics. On any failure it removes every file it created under the
 * allocated segnos (final and temporary) and returns the error; the caller
 * turns it into an error response carrying the request id.
 * Fault point "merge_fail" (fault.h) fails the merge on purpose. */
#ifndef MC_COMPACTION_H
#define MC_COMPACTION_H

#include "request.h"

typedef struct mc_compact_hooks {
    /* Called every 4 MiB of merged data or every 0.1 s, whichever comes
     * first (a single slow read may still delay it); a non-zero return
     * cancels the compaction (MC_ECANCELED). May be NULL. */
    int (*poll)(void *ctx);
    void *ctx;
    /* Called right before each poll with the input bytes (key + value)
     * merged so far by this compaction, for live progress. May be NULL. */
    void (*merged)(void *ctx, uint64_t bytes);
} mc_compact_hooks;

/* RESP is filled (id, status MC_OK, outputs, stats) on success; on failure
 * it holds the id, status and message too. */
mc_status mc_compact_run(const char *store, const mc_request *req,
                         const mc_compact_hooks *hooks, mc_response *resp, mc_err *err);

#endif
