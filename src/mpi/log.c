/* log: diagnostics on stderr with elapsed time and rank in the prefix (log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static void vlog(const mc_cli_ctx *ctx, const char *what, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One fprintf per line, so lines of different ranks do not interleave. */
    fprintf(stderr, "[+%.1fs r%d] %s%s\n", MPI_Wtime() - ctx->t0, ctx->rank, what, msg);
}

void mc_log(const mc_cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, "", fmt, ap);
    va_end(ap);
}

static void log_plain(const mc_cli_ctx *ctx, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, what, fmt, ap);
    va_end(ap);
}

void mc_log_err(const mc_cli_ctx *ctx, const mc_err *err)
{
    log_plain(ctx, "error: ", "%s", err->msg[0] ? err->msg : mc_strerror(err->code));
}

void mc_log_usage(const mc_cli_ctx *ctx, const char *fmt, ...)
{
    if (ctx->rank != 0)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mpicompact: %s\n", msg);
}
