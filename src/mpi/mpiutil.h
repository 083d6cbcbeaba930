/* mpiutil: agreement and quiet waiting across ranks.
 *
 * mc_alltrue(): every rank's verdict ANDed (mpiFileUtils' mfu_alltrue).
 * mc_wait_message(): waits for a message without spinning a core (Iprobe and
 * a nanosleep that backs off from 20 us to 2 ms), so an idle coordinator or
 * worker leaves the CPU to the ranks that merge. */
#ifndef MC_MPIUTIL_H
#define MC_MPIUTIL_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

bool mc_alltrue(bool mine, MPI_Comm comm);
/* Waits for a message matching (SOURCE, TAG) (MPI_ANY_* allowed). Returns
 * true with *status filled, or false when STOP (may be NULL) becomes true or
 * TIMEOUT seconds (< 0: none) pass. */
bool mc_wait_message(MPI_Comm comm, int source, int tag, MPI_Status *status,
                     volatile int *stop, double timeout);
/* Broadcast of a byte buffer whose size only ROOT knows; *buf is malloc'ed
 * on the other ranks. */
int mc_bcast_bytes(void **buf, uint64_t *len, int root, MPI_Comm comm);

/* Broadcast of one value without spinning: ROOT sends it to every rank
 * point to point (tag MC_TAG_QUIET), the others wait with mc_wait_message().
 * For ranks that may wait long while ROOT works (get, scan, stat, the start
 * of a writing command). */
#define MC_TAG_QUIET 32001   /* and 32002 (gather) */
/* A receive that fails aborts the job (with a message): the ranks could not
 * agree on anything afterwards. */
uint64_t mc_bcast_u64_quiet(uint64_t v, int root, MPI_Comm comm);
/* Gathers each rank's LEN bytes at ROOT: there *all (malloc'ed) holds the
 * concatenation in rank order and *lens (malloc'ed, size entries) each
 * rank's length; elsewhere both are NULL. Returns an MPI error code, or
 * MPI_ERR_NO_MEM when ROOT cannot allocate. */
int mc_gather_bytes(const void *mine, uint64_t len, void **all, uint64_t **lens, int root, MPI_Comm comm);

#endif
