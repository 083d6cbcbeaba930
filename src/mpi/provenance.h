/* provenance: where, when, with what and on what a `compact` run ran, for
 * its JSON report (docs/COMPACT.md, "Report"): the tool, HDF5 and MPI
 * versions, ISO 8601 UTC start and end, the command line, ranks and hosts,
 * the store's path and parameters, and per-level counts before and after.
 *
 * mc_provenance_begin() is collective (every rank names its host);
 * everything else is rank 0's. Owns its strings. */
#ifndef MC_PROVENANCE_H
#define MC_PROVENANCE_H

#include "cli.h"
#include "json.h"
#include "manifest.h"

#define MC_REPORT_SCHEMA_VERSION 2

typedef struct mc_level_count {
    uint64_t segments, items, bytes;
} mc_level_count;

typedef struct mc_provenance {
    char started[32], ended[32];        /* "2026-12-03T08:00:00Z" */
    char hdf5_version[32];
    char mpi_library[256];              /* first line of MPI_Get_library_version */
    int mpi_major, mpi_minor;
    char *command_line;                 /* "mpicompact compact STORE ..." */
    int ranks;
    char *hosts;                        /* rank 0: distinct host names, '\0'-separated */
    size_t nhosts;
    char *store;                        /* absolute when it resolves */
    mc_params params;
    unsigned levels;
    mc_level_count before[32], after[32];
} mc_provenance;

/* Collective. ARGV[0] is the subcommand; M the manifest at the start (rank 0). */
void mc_provenance_begin(mc_provenance *p, const mc_cli_ctx *ctx, int argc, char **argv, const char *store,
                         const mc_manifest *m);
/* Rank 0, at the end: end time and the counts of the committed manifest M. */
void mc_provenance_end(mc_provenance *p, const mc_manifest *m);
/* The provenance members of the report object J is inside. */
void mc_provenance_json(mc_json *j, const mc_provenance *p);
void mc_provenance_free(mc_provenance *p);

#endif
