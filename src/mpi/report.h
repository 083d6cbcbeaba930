/* report: what a `compact` run did, summed on rank 0, and its JSON form.
 *
 * Byte counts are logical key+value bytes (what mc_seg_meta.bytes counts),
 * not file sizes. Field meanings and units are listed in docs/COMPACT.md;
 * mc_report_write() emits exactly these names. */
#ifndef MC_REPORT_H
#define MC_REPORT_H

#include "request.h"

struct mc_provenance;

typedef struct mc_report_worker {
    int rank;
    double busy_seconds;        /* wall time spent inside compactions */
    uint64_t compactions;       /* compactions it finished (success or error) */
} mc_report_worker;

typedef struct mc_report {
    double wall_seconds;
    uint64_t bytes_read, bytes_written, items_read, items_written;
    uint64_t compactions_done, compactions_retried, compactions_reissued, compactions_failed;
    uint64_t moved, deletes_dropped, overwrites_dropped, commits;
    uint64_t duplicates_dropped;   /* identical copies of a kept version */
    uint64_t slices;            /* slices run by compactions cut across ranks (0 when none was cut) */
    uint64_t initial_bytes;     /* logical bytes in the store when compact started */
    uint64_t orphans_removed;   /* at start and at the end */
    double coordinator_busy_seconds;
    size_t nworkers;            /* one entry per rank, rank 0 included */
    mc_report_worker *workers;
    size_t nquarantined;
    uint64_t *quarantined;      /* segnos of quarantined inputs */
    int exit_status;
    struct mc_provenance *prov;   /* provenance.h; NULL: the report has none */
} mc_report;

mc_status mc_report_init(mc_report *r, int nranks, mc_err *err);
void mc_report_free(mc_report *r);
/* Accounts one finished compaction run on RANK; counts its bytes and items
 * only when OK (the response was applied). */
void mc_report_add(mc_report *r, int rank, const mc_compact_stats *s, bool ok);
mc_status mc_report_add_quarantined(mc_report *r, uint64_t segno, mc_err *err);
/* bytes_written / initial_bytes (0 for an empty store): how many times the
 * store's data was rewritten by this run. */
double mc_report_write_amplification(const mc_report *r);
/* bytes_read in MB (10^6 bytes) per wall second. */
double mc_report_mb_per_s(const mc_report *r);
/* Writes the report as JSON to PATH (PATH.tmp, then rename). */
mc_status mc_report_write(const char *path, const mc_report *r, mc_err *err);

#endif
