/* fuzz_cli: the whole command line, through mc_cli_run() as main() calls
 * it (one rank, MPI_COMM_SELF). The input is the argument list, arguments
 * separated by NUL bytes (at most 24). So that nothing leaves the scratch
 * directory (the working directory here), an argument holding '/' makes the
 * input uninteresting; the directory is emptied after every input, so a
 * store exists only if `init` made it in that same input: every other
 * command parses all its options and then meets a missing store. Checks:
 * the exit status is one of MC_EXIT_*, and a usage error (2) comes with no
 * change on disk but `init`'s. Seeds: every usage line of the program and
 * the commands the tests run. */
#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzzutil.h"

#define MAX_ARGS 24

static FILE *devnull;

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Never finalized: MPI_Finalize unloads Open MPI's plugins, and the
     * leak check at exit could then not tell their allocations (lsan.supp)
     * from ours. */
    MPI_Init(NULL, NULL);
    devnull = fopen("/dev/null", "w");
    if (!devnull || chdir(fz_dir()) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096 || memchr(data, '/', size))
        return -1;   /* not added to the corpus */
    char *buf = malloc(size + 1), *args[MAX_ARGS + 2];
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    args[argc++] = "mpicompact";
    for (char *s = buf; argc <= MAX_ARGS && s <= buf + size; s += strlen(s) + 1)
        args[argc++] = s;
    args[argc] = NULL;
    int rc = mc_cli_run(argc, args, MPI_COMM_SELF, devnull);
    if (rc < MC_EXIT_OK || rc > MC_EXIT_MORE) {
        fprintf(stderr, "fuzz_cli: exit status %d is not one of MC_EXIT_*\n", rc);
        abort();
    }
    if (rc == MC_EXIT_USAGE && entries(".") != 0) {
        fprintf(stderr, "fuzz_cli: a usage error left files behind\n");
        abort();
    }
    clearerr(devnull);
    fz_clear(fz_dir());
    free(buf);
    return 0;
}
