/* mpicompact: MPI start-up around mc_cli_run(). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "manifest_base.h"
#include "signals.h"

int main(int argc, char **argv)
{
    int provided = 0;
    if (mc_manifest_base_child_requested(argc, argv))   /* rank 0's background base writer: no MPI */
        return mc_manifest_base_child_main(argc, argv);
    /* A drain signal while MPI starts (or after compact ends) is not fatal. */
    if (argc > 1 && strcmp(argv[1], "compact") == 0)
        mc_signals_early();
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rc = mc_cli_run(argc, argv, MPI_COMM_WORLD, stdout);
    fflush(stdout);
    MPI_Finalize();
    return rc;
}
