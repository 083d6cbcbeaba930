/* log: diagnostics on stderr with elapsed time and rank in the prefix,
 * "[+12.3s r3] message". Library code never prints; the MPI layer does,
 * through these. mc_log_error() also takes an mc_err. */
#ifndef MC_LOG_H
#define MC_LOG_H

#include "cli.h"

void mc_log(const mc_cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mc_log_err(const mc_cli_ctx *ctx, const mc_err *err);
/* "mpicompact: message" without prefix: usage errors, rank 0 only. */
void mc_log_usage(const mc_cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
