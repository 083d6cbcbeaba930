/* cmdline: the subcommands' option parsing, identical on every rank.
 *
 * Options are "--name VALUE", "--name=VALUE" or a flag "--name"; they may
 * stand anywhere among the positional arguments; "--" ends the options.
 * Parsing is a pure function of argv, so every rank reaches the same verdict
 * without talking; only rank 0 prints the problem and the command's usage
 * line (mc_cli_usage()). */
#ifndef MC_CMDLINE_H
#define MC_CMDLINE_H

#include "cli.h"

#define MC_CMDLINE_MAX_OPTS 24
#define MC_EXIT_HELP 100   /* internal: help was printed; mc_cli_run() exits MC_EXIT_OK */

/* One option of a command: what the parser accepts and what `COMMAND
 * --help` (and, checked by tests/mpi/test_help.sh, the man page) says of
 * it: one table is the single source of both. */
typedef struct mc_opt_spec {
    const char *name;       /* without the leading "--"; NULL ends a table */
    bool has_arg;
    const char *arg;        /* the value's placeholder in help ("N", "SIZE") */
    const char *def;        /* the default, as help prints it ("10", "off") */
    const char *help;       /* what it does, one line */
} mc_opt_spec;

typedef struct mc_cmdline {
    const char *value[MC_CMDLINE_MAX_OPTS];   /* by spec index; NULL = not given; "" for a given flag */
    int npos;
    char **pos;                               /* positional arguments (malloc'ed array, borrowed strings) */
} mc_cmdline;

/* Parses ARGV[1..] (ARGV[0] is the command) against SPECS. Between MIN_POS
 * and MAX_POS (-1: no limit) positionals. MC_EXIT_OK, or MC_EXIT_USAGE
 * after rank 0 printed the problem and the usage, or MC_EXIT_HELP after
 * rank 0 printed the command's help to ctx->out (an argument "--help" or
 * "-h" before any "--"): the command returns it, mc_cli_run() exits 0. */
int mc_cmdline_parse(const mc_cli_ctx *ctx, int argc, char **argv, const mc_opt_spec *specs,
                     int min_pos, int max_pos, mc_cmdline *out);
void mc_cmdline_free(mc_cmdline *cl);

/* Rank 0 prints "mpicompact: MESSAGE" and COMMAND's usage; returns MC_EXIT_USAGE. */
int mc_usage_error(const mc_cli_ctx *ctx, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Option values: a usage error (rank 0 prints it) when VALUE is malformed.
 * A NULL VALUE (option not given) leaves *out untouched and succeeds. */
int mc_opt_u64(const mc_cli_ctx *ctx, const char *command, const char *option, const char *value, uint64_t *out);
int mc_opt_size(const mc_cli_ctx *ctx, const char *command, const char *option, const char *value, uint64_t *out);
/* --progress-interval: seconds above 0, fractions allowed. */
int mc_opt_interval(const mc_cli_ctx *ctx, const char *command, const char *value, double *out);

#endif
