/* cores: how many ranks of a `compact` job may merge at once without
 * sharing a core. Ranks on one host share its CPUs: merges beyond the cores
 * a host has only take turns on them, each holding its memory budget and
 * its inputs' page cache meanwhile (4 ranks on 2 cores were slower than 2).
 *
 * mc_cores_gather() is collective: each rank names its host
 * (MPI_Get_processor_name) and the CPUs it may run on (its affinity mask:
 * a Slurm cgroup or mpirun's binding). On rank 0, node_of[rank] is the
 * rank's host index and cores[node] the CPUs of the union of its ranks'
 * masks, or
 * MPICOMPACT_CORES (a positive integer: that many per host; tests and
 * benchmarks use it). Elsewhere both are NULL. Owns its arrays. */
#ifndef MC_CORES_H
#define MC_CORES_H

#include <stddef.h>

#include "cli.h"

typedef struct mc_cores {
    int *node_of;          /* per rank */
    unsigned *cores;       /* per host */
    size_t nnodes;
} mc_cores;

/* Collective. On failure (out of memory on rank 0) *out stays empty: no cap. */
void mc_cores_gather(const mc_cli_ctx *ctx, mc_cores *out);
void mc_cores_free(mc_cores *c);

#endif
