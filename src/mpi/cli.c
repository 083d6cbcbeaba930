/* cli: the mpicompact command line: dispatch of subcommands, help, version (cli.h). */
#include "cli.h"

#include <errno.h>
#include <string.h>

#include "cmdline.h"
#include "fault.h"
#include "h5version.h"
#include "log.h"
#include "mpiutil.h"

typedef struct command {
    const char *name;
    mc_cmd_fn fn;
    const char *usage;     /* after "mpicompact " */
    const char *summary;
} command;

static const command commands[] = {
    {"init", mc_cmd_init, "init STORE [--fanout N] [--l0-limit N] [--segment-size SIZE] [--levels N]",
     "create an empty store"},
    {"gen", mc_cmd_gen,
     "gen STORE --segments N --items N [--key-size MIN[:MAX]] [--value-size MIN[:MAX]] "
     "[--dist uniform|zipf|sequential] [--overwrite F] [--delete F] [--seed S] [--progress-interval SECONDS]",
     "write synthetic level-0 segments in parallel"},
    {"add", mc_cmd_add, "add STORE FILE... [--assign-seq]", "validate segment files and register them in level 0"},
    {"compact", mc_cmd_compact,
     "compact STORE [--full] [--time-limit SECONDS] [--inflight N] [--retries N] [--strict] [--single] "
     "[--progress auto|bar|log|none] [--progress-interval SECONDS] [--report FILE]",
     "compact until every level is within its limits"},
    {"verify", mc_cmd_verify, "verify STORE [--progress-interval SECONDS]", "check every invariant and checksum"},
    {"digest", mc_cmd_digest, "digest STORE [--progress-interval SECONDS]", "digest of the logical content (64 hex digits)"},
    {"get", mc_cmd_get, "get STORE KEY", "print the value of KEY"},
    {"scan", mc_cmd_scan,
     "scan STORE [--from KEY] [--to KEY] [--limit N] [--keys-only] [--count] [--format text|json]",
     "print live items in key order"},
    {"stat", mc_cmd_stat, "stat STORE [--json]", "levels, sizes, limits and pending compaction"},
    {"ls", mc_cmd_ls, "ls STORE [--level N]", "list the live segments (segno, level, counts, bytes, seqs, keys)"},
    {"check", mc_cmd_check, "check FILE...", "validate segment files without adding them"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const char *mc_cli_usage(const char *name)
{
    const command *c = find_command(name);
    return c ? c->usage : NULL;
}

const char *mc_cli_summary(const char *name)
{
    const command *c = find_command(name);
    return c ? c->summary : NULL;
}

/* `mpicompact --version`: ours, and the HDF5 and MPI libraries we run with. */
static void print_version(FILE *f)
{
    char h5[32], mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0, major = 0, minor = 0;
    mc_hdf5_version(h5, sizeof h5);
    MPI_Get_library_version(mpi, &len);
    MPI_Get_version(&major, &minor);
    mpi[strcspn(mpi, "\n")] = '\0';   /* Open MPI's string continues with repo details */
    fprintf(f, "mpicompact %s\n", mc_version());
    fprintf(f, "HDF5 %s (%s)\n", h5, mc_hdf5_is_parallel() ? "parallel" : "serial");
    fprintf(f, "MPI %d.%d: %s\n", major, minor, mpi);
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: mpicompact COMMAND STORE [OPTIONS]   (alone, or under mpirun/srun)\n"
               "       mpicompact COMMAND --help   options of COMMAND, their meaning and defaults\n"
               "       mpicompact --version\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  mpicompact %s\n", commands[i].usage);
    fprintf(f, "\nKeys on the command line: bytes as given, \\xHH for any byte, \\\\ for a backslash;\n"
               "a key starting with '-' as \\x2d... (as scan prints it) or after \"--\".\n"
               "Exit status: 0 ok, 1 failure (bad data, I/O, lock held), 2 bad arguments,\n"
               "3 compact stopped early with more to do. See docs/USAGE.md.\n");
}

/* Rank 0 flushes OUT and checks every write to it: a command whose output
 * did not get out failed (exit 1; a usage error stays 2), on every rank.
 * One check here covers every command, help and --version. */
static int check_output(const mc_cli_ctx *ctx, int rc)
{
    uint64_t bad = 0;
    if (ctx->rank == 0) {
        errno = 0;
        int flush_errno = fflush(ctx->out) != 0 ? errno : 0;
        if (flush_errno || ferror(ctx->out)) {
            bad = 1;
            if (flush_errno)
                mc_log(ctx, "error: writing the output failed: %s", strerror(flush_errno));
            else
                mc_log(ctx, "error: writing the output failed");
        }
    }
    if (mc_bcast_u64_quiet(bad, 0, ctx->comm) && (rc == MC_EXIT_OK || rc == MC_EXIT_MORE))
        rc = MC_EXIT_FAIL;
    return rc;
}

int mc_cli_run(int argc, char **argv, MPI_Comm comm, FILE *out)
{
    mc_cli_ctx ctx = {.comm = MPI_COMM_NULL, .out = out, .t0 = MPI_Wtime()};
    /* A private communicator: our messages never meet the caller's. */
    MPI_Comm_dup(comm, &ctx.comm);
    MPI_Comm_rank(ctx.comm, &ctx.rank);
    mc_fault_init(ctx.rank);   /* MPICOMPACT_FAULT (tests only) arms points of every command */
    MPI_Comm_size(ctx.comm, &ctx.size);
    int rc = MC_EXIT_USAGE;
    const char *name = argc > 1 ? argv[1] : NULL;
    if (!name) {
        if (ctx.rank == 0)
            print_help(stderr);
    } else if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        const command *c = argc > 2 ? find_command(argv[2]) : NULL;
        if (c) {
            char *help_argv[] = {argv[2], "--help", NULL};
            rc = c->fn(2, help_argv, &ctx);
        } else if (argc > 2) {
            rc = mc_usage_error(&ctx, "help", "unknown command \"%s\"", argv[2]);
        } else {
            if (ctx.rank == 0)
                print_help(out);
            rc = MC_EXIT_OK;
        }
    } else if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        if (ctx.rank == 0)
            print_version(out);
        rc = MC_EXIT_OK;
    } else {
        const command *c = find_command(name);
        rc = c ? c->fn(argc - 1, argv + 1, &ctx) : mc_usage_error(&ctx, name, "unknown command \"%s\"", name);
    }
    if (rc == MC_EXIT_HELP)
        rc = MC_EXIT_OK;
    rc = check_output(&ctx, rc);
    MPI_Comm_free(&ctx.comm);
    return rc;
}
