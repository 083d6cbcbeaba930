/* cli: the mpicompact command line, callable in-process.
 *
 * mc_cli_run() is the whole program: main() is MPI_Init, this, MPI_Finalize.
 * COMM is the communicator the command runs on (MPI_COMM_WORLD from main,
 * anything in tests); OUT receives results (stdout), diagnostics go to
 * stderr. Every rank calls it with the same arguments; every rank returns
 * the same exit status (MC_EXIT_*). Nothing below calls exit() or MPI_Abort. */
#ifndef MC_CLI_H
#define MC_CLI_H

#include <mpi.h>
#include <stdio.h>
#include "mpicompact.h"

enum {
    MC_EXIT_OK = 0,
    MC_EXIT_FAIL = 1,       /* bad data, I/O error, failed compactions, lock held */
    MC_EXIT_USAGE = 2,      /* bad arguments */
    MC_EXIT_MORE = 3,       /* compact: stopped early (time limit, signal); more to do */
};

typedef struct mc_cli_ctx {
    MPI_Comm comm;
    int rank, size;
    FILE *out;              /* results; only rank 0 writes to it */
    double t0;              /* MPI_Wtime() at start, for log prefixes */
} mc_cli_ctx;

/* A subcommand: ARGV[0] is the subcommand's name. Returns MC_EXIT_*,
 * identical on every rank. */
typedef int (*mc_cmd_fn)(int argc, char **argv, const mc_cli_ctx *ctx);

int mc_cli_run(int argc, char **argv, MPI_Comm comm, FILE *out);
/* COMMAND's usage line ("get STORE KEY"), or NULL for an unknown command. */
const char *mc_cli_usage(const char *command);
/* COMMAND's one-line description, or NULL for an unknown command. */
const char *mc_cli_summary(const char *command);

int mc_cmd_init(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_gen(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_add(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_verify(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_digest(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_get(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_scan(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_stat(int argc, char **argv, const mc_cli_ctx *ctx);
int mc_cmd_ls(int argc, char **argv, const mc_cli_ctx *ctx);      /* cmd_inspect.c */
int mc_cmd_check(int argc, char **argv, const mc_cli_ctx *ctx);   /* cmd_inspect.c */
int mc_cmd_compact(int argc, char **argv, const mc_cli_ctx *ctx);   /* cmd_compact.c */

#endif
