/* taskprogress: rank 0's share progress for gen, verify and digest (taskprogress.h). */
#include "taskprogress.h"

#include <inttypes.h>

#include "log.h"
#include "progress.h"
#include "units.h"

void mc_task_progress_start(mc_task_progress *p, const mc_cli_ctx *ctx, const char *what, const char *unit,
                            uint64_t total, double interval)
{
    *p = (mc_task_progress){.ctx = ctx, .what = what, .unit = unit, .total = total,
                            .interval = interval > 0 ? interval : MC_TASK_PROGRESS_INTERVAL};
    p->t0 = p->last = MPI_Wtime();
}

void mc_task_progress_step(mc_task_progress *p, uint64_t units, uint64_t bytes)
{
    p->done += units;
    p->bytes += bytes;
    double t = MPI_Wtime();
    if (p->ctx->rank != 0 || t - p->last < p->interval)
        return;
    p->last = t;
    double elapsed = t - p->t0, frac = p->total ? (double)p->done / (double)p->total : 0.0;
    if (frac > 0.99)
        frac = 0.99;
    char count[64], size[32], rate[32], eta[32];
    if (p->unit)
        snprintf(count, sizeof count, "%" PRIu64 "/%" PRIu64 " %s", p->done, p->total, p->unit);
    else
        snprintf(count, sizeof count, "%s of ~%s", mc_fmt_bytes(p->done, size, sizeof size),
                 mc_fmt_bytes(p->total, rate, sizeof rate));
    double per_second = elapsed > 0 ? (double)p->done / elapsed : 0;
    mc_progress_eta(per_second, p->total > p->done ? p->total - p->done : 0, eta, sizeof eta);
    mc_log(p->ctx, "%s: rank 0's share: %s (%.0f%%), %s, %s, eta %s", p->what, count, 100 * frac,
           mc_fmt_bytes(p->bytes, size, sizeof size), mc_fmt_rate(elapsed > 0 ? (double)p->bytes / elapsed : 0,
                                                                    rate, sizeof rate), eta);
}
