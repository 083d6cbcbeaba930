/* mpiutil: agreement, quiet waiting and byte collectives across ranks (mpiutil.h). */
#include "mpiutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool mc_alltrue(bool mine, MPI_Comm comm)
{
    int in = mine ? 1 : 0, all = 0;
    MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_LAND, comm);
    return all != 0;
}

bool mc_wait_message(MPI_Comm comm, int source, int tag, MPI_Status *status,
                     volatile int *stop, double timeout)
{
    double start = MPI_Wtime();
    long nap_ns = 20 * 1000;
    for (;;) {
        int flag = 0;
        MPI_Iprobe(source, tag, comm, &flag, status);
        if (flag)
            return true;
        if (stop && *stop)
            return false;
        if (timeout >= 0 && MPI_Wtime() - start >= timeout)
            return false;
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        nap_ns = nap_ns * 2 > 2 * 1000 * 1000 ? 2 * 1000 * 1000 : nap_ns * 2;
    }
}

/* MPI counts are ints: move large buffers in pieces. */
#define PIECE ((uint64_t)1 << 30)

int mc_bcast_bytes(void **buf, uint64_t *len, int root, MPI_Comm comm)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    *len = mc_bcast_u64_quiet(rank == root ? *len : 0, root, comm);
    int ok = 1;
    if (rank != root) {
        *buf = malloc(*len ? *len : 1);
        ok = *buf != NULL;
    }
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, comm);
    if (!all_ok) {
        if (rank != root) {
            free(*buf);
            *buf = NULL;
        }
        return MPI_ERR_NO_MEM;
    }
    for (uint64_t off = 0; off < *len; off += PIECE) {
        uint64_t n = *len - off < PIECE ? *len - off : PIECE;
        int rc = MPI_Bcast((uint8_t *)*buf + off, (int)n, MPI_BYTE, root, comm);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    return MPI_SUCCESS;
}

uint64_t mc_bcast_u64_quiet(uint64_t v, int root, MPI_Comm comm)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (rank == root) {
        for (int r = 0; r < size; r++)
            if (r != root)
                MPI_Send(&v, 1, MPI_UINT64_T, r, MC_TAG_QUIET, comm);
        return v;
    }
    MPI_Status status;
    mc_wait_message(comm, root, MC_TAG_QUIET, &status, NULL, -1);
    if (MPI_Recv(&v, 1, MPI_UINT64_T, root, MC_TAG_QUIET, comm, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        /* No value and no way to tell ROOT (which goes on): ranks would
         * disagree and wait for each other forever. */
        fprintf(stderr, "rank %d: cannot receive a broadcast from rank %d; aborting the job\n", rank, root);
        MPI_Abort(comm, 1);
    }
    return v;
}

int mc_gather_bytes(const void *mine, uint64_t len, void **all, uint64_t **lens, int root, MPI_Comm comm)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *all = NULL;
    *lens = NULL;
    uint64_t *ls = NULL;
    uint8_t *buf = NULL;
    int ok = 1;
    if (rank == root) {
        ls = malloc((size_t)size * sizeof *ls);
        ok = ls != NULL;
    }
    MPI_Gather(&len, 1, MPI_UINT64_T, ls, 1, MPI_UINT64_T, root, comm);
    uint64_t total = 0;
    if (rank == root && ok) {
        for (int r = 0; r < size; r++)
            total += ls[r];
        buf = malloc(total ? total : 1);
        ok = buf != NULL;
    }
    /* Root tells whether it can take the data; ranks then send in pieces. */
    MPI_Bcast(&ok, 1, MPI_INT, root, comm);
    if (!ok) {
        free(ls);
        free(buf);
        return MPI_ERR_NO_MEM;
    }
    if (rank == root) {
        uint64_t off = 0;
        for (int r = 0; r < size; r++) {
            if (r == root) {
                if (len)
                    memcpy(buf + off, mine, len);
            } else {
                for (uint64_t o = 0; o < ls[r]; o += PIECE) {
                    uint64_t n = ls[r] - o < PIECE ? ls[r] - o : PIECE;
                    MPI_Recv(buf + off + o, (int)n, MPI_BYTE, r, MC_TAG_QUIET + 1, comm, MPI_STATUS_IGNORE);
                }
            }
            off += ls[r];
        }
        *all = buf;
        *lens = ls;
    } else {
        for (uint64_t o = 0; o < len; o += PIECE) {
            uint64_t n = len - o < PIECE ? len - o : PIECE;
            MPI_Send((const uint8_t *)mine + o, (int)n, MPI_BYTE, root, MC_TAG_QUIET + 1, comm);
        }
    }
    return MPI_SUCCESS;
}
