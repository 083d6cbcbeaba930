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

#endif
