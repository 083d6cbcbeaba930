/* mpishim: an LD_PRELOAD library for the end-to-end tests that makes one
 * rank slow or unreliable, to reproduce races that depend on a slow
 * filesystem or a failing transport.
 *
 * Environment (read at each call; unset = no effect):
 *   MC_SHIM_RANK=R          act only in the process whose OMPI_COMM_WORLD_RANK is R
 *                           ("all": in every rank)
 *   MC_SHIM_READ_DELAY=S    every pread/pread64 on that rank first sleeps S seconds
 *   MC_SHIM_READ_MIN=B      ...but only reads of at least B bytes (segment data,
 *                           not the small metadata reads of opening a file)
 *   MC_SHIM_RECV_FAIL=N     the Nth MPI_Recv on that rank (1 = first) returns
 *                           MPI_ERR_OTHER without receiving anything
 *   MC_SHIM_TRACE=1         print each MPI_Recv (number, tag) and slowed read of that
 *                           rank to stderr
 * Built by the tests with mpicc -shared -fPIC (tests/mpi/lib.sh build_shim). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int on_rank(void)
{
    const char *want = getenv("MC_SHIM_RANK");
    const char *mine = getenv("OMPI_COMM_WORLD_RANK");
    if (!want)
        return 0;
    if (strcmp(want, "all") == 0)
        return 1;
    if (!mine)
        mine = "0";   /* a singleton run */
    return strcmp(want, mine) == 0;
}

static void maybe_delay(size_t n)
{
    const char *d = getenv("MC_SHIM_READ_DELAY");
    if (!d || !on_rank())
        return;
    const char *min = getenv("MC_SHIM_READ_MIN");
    if (min && n < (size_t)atoll(min))
        return;
    if (getenv("MC_SHIM_TRACE"))
        fprintf(stderr, "mpishim: slow read of %zu bytes\n", n);
    double s = atof(d);
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real)
        real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
    maybe_delay(n);
    return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real)
        real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
    maybe_delay(n);
    return real(fd, buf, n, off);
}

int MPI_Recv(void *buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    static int calls;
    if (!on_rank())
        return PMPI_Recv(buf, count, type, source, tag, comm, status);
    const char *n = getenv("MC_SHIM_RECV_FAIL");
    ++calls;
    if (getenv("MC_SHIM_TRACE"))
        fprintf(stderr, "mpishim: MPI_Recv %d tag %d%s\n", calls, tag, n && calls == atoi(n) ? " (failing)" : "");
    if (n && calls == atoi(n))
        return MPI_ERR_OTHER;
    return PMPI_Recv(buf, count, type, source, tag, comm, status);
}
