/* cmdline: the subcommands' option parsing (cmdline.h). */
#include "cmdline.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"

int mc_usage_error(const mc_cli_ctx *ctx, const char *command, const char *fmt, ...)
{
    if (ctx->rank == 0) {
        char msg[1536];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        const char *usage = mc_cli_usage(command);
        fprintf(stderr, "mpicompact: %s\n", msg);
        if (usage)
            fprintf(stderr, "usage: mpicompact %s\n", usage);
        fprintf(stderr, "(mpicompact help: all commands)\n");
    }
    return MC_EXIT_USAGE;
}

/* `COMMAND --help`: the usage line, what the command does, every option
 * with its meaning and default. */
static void print_command_help(FILE *f, const char *cmd, const mc_opt_spec *specs)
{
    fprintf(f, "usage: mpicompact %s\n\n%s\n\noptions:\n", mc_cli_usage(cmd), mc_cli_summary(cmd));
    for (int i = 0; specs && specs[i].name; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", specs[i].name, specs[i].has_arg ? " " : "",
                 specs[i].has_arg ? specs[i].arg : "");
        if (strlen(left) > 26)
            fprintf(f, "  %s\n  %-26s %s (default: %s)\n", left, "", specs[i].help, specs[i].def);
        else
            fprintf(f, "  %-26s %s (default: %s)\n", left, specs[i].help, specs[i].def);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "print this help and exit");
    fprintf(f, "\nRun alone or under mpirun/srun with any number of ranks. See mpicompact(1).\n");
}

static int find_spec(const mc_opt_spec *specs, const char *name, size_t len)
{
    for (int i = 0; specs && specs[i].name; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return i;
    return -1;
}

int mc_cmdline_parse(const mc_cli_ctx *ctx, int argc, char **argv, const mc_opt_spec *specs,
                     int min_pos, int max_pos, mc_cmdline *out)
{
    memset(out, 0, sizeof *out);
    const char *cmd = argv[0];
    out->pos = calloc((size_t)argc + 1, sizeof *out->pos);
    if (!out->pos)
        return mc_usage_error(ctx, cmd, "out of memory parsing arguments");
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            if (ctx->rank == 0)
                print_command_help(ctx->out, cmd, specs);
            mc_cmdline_free(out);
            return MC_EXIT_HELP;
        }
    }
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            out->pos[out->npos++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (a[1] != '-')
            goto bad_option;
        const char *name = a + 2, *eq = strchr(name, '=');
        int s = find_spec(specs, name, eq ? (size_t)(eq - name) : strlen(name));
        if (s < 0)
            goto bad_option;
        if (!specs[s].has_arg) {
            if (eq) {
                mc_cmdline_free(out);
                return mc_usage_error(ctx, cmd, "option --%s takes no value", specs[s].name);
            }
            out->value[s] = "";
        } else if (eq) {
            out->value[s] = eq + 1;
        } else if (i + 1 < argc) {
            out->value[s] = argv[++i];
        } else {
            mc_cmdline_free(out);
            return mc_usage_error(ctx, cmd, "option --%s needs a value", specs[s].name);
        }
        continue;
    bad_option:
        mc_cmdline_free(out);
        return mc_usage_error(ctx, cmd, "unknown option \"%s\"", a);
    }
    if (out->npos < min_pos || (max_pos >= 0 && out->npos > max_pos)) {
        int n = out->npos;
        mc_cmdline_free(out);
        return mc_usage_error(ctx, cmd, n < min_pos ? "missing argument" : "too many arguments");
    }
    return MC_EXIT_OK;
}

void mc_cmdline_free(mc_cmdline *cl)
{
    free(cl->pos);
    cl->pos = NULL;
    cl->npos = 0;
}

typedef mc_status (*parse_fn)(const char *option, const char *s, uint64_t *out, mc_err *err);

static int opt_num(const mc_cli_ctx *ctx, const char *command, const char *option, const char *value,
                   uint64_t *out, parse_fn fn)
{
    if (!value)
        return MC_EXIT_OK;
    mc_err err;
    if (fn(option, value, out, &err) != MC_OK)
        return mc_usage_error(ctx, command, "%s", err.msg);
    return MC_EXIT_OK;
}

int mc_opt_u64(const mc_cli_ctx *ctx, const char *command, const char *option, const char *value, uint64_t *out)
{
    return opt_num(ctx, command, option, value, out, mc_parse_u64);
}

int mc_opt_interval(const mc_cli_ctx *ctx, const char *command, const char *value, double *out)
{
    mc_err err;
    if (value && (mc_parse_seconds("--progress-interval", value, out, &err) != MC_OK || *out <= 0))
        return mc_usage_error(ctx, command, "--progress-interval: \"%s\" is not a number of seconds above 0", value);
    return MC_EXIT_OK;
}

int mc_opt_size(const mc_cli_ctx *ctx, const char *command, const char *option, const char *value, uint64_t *out)
{
    return opt_num(ctx, command, option, value, out, mc_parse_size);
}
