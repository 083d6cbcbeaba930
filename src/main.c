/* mpicompact: MPI start-up around mc_cli_run(). */
#include <mpi.h>
#include <stdio.h>
#include "cli.h"

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rc = mc_cli_run(argc, argv, MPI_COMM_WORLD, stdout);
    fflush(stdout);
    MPI_Finalize();
    return rc;
}
