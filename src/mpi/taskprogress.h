/* taskprogress: progress lines of gen, verify and digest on long runs.
 *
 * Those commands split their work evenly over the ranks without messages
 * between them, so rank 0 reports its own share, which moves like the whole
 * job's: "[+12.0s r0] verify: rank 0's share: 12/40 segments (30%), 1.2 GiB,
 * 98.1 MiB/s, eta 28s". A line every INTERVAL seconds (default
 * MC_TASK_PROGRESS_INTERVAL), the first after one interval: a short run
 * prints none. Other ranks' calls do nothing. */
#ifndef MC_TASKPROGRESS_H
#define MC_TASKPROGRESS_H

#include "cli.h"

#define MC_TASK_PROGRESS_INTERVAL 5.0

typedef struct mc_task_progress {
    const mc_cli_ctx *ctx;
    const char *what, *unit;   /* "verify", "segments"; UNIT NULL: progress in bytes */
    uint64_t total, done, bytes;
    double t0, last, interval;
} mc_task_progress;

/* TOTAL: units of rank 0's share (bytes when UNIT is NULL; an estimate is
 * fine: percent stops at 99). INTERVAL <= 0: the default. */
void mc_task_progress_start(mc_task_progress *p, const mc_cli_ctx *ctx, const char *what, const char *unit,
                            uint64_t total, double interval);
/* UNITS more done, BYTES more bytes handled (for the rate); prints when due. */
void mc_task_progress_step(mc_task_progress *p, uint64_t units, uint64_t bytes);

#endif
