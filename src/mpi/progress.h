/* progress: what rank 0 shows on stderr while compact runs.
 *
 * Modes: bar (one line redrawn at most 5 times a second: segments per level,
 * compactions done / in flight, percent, rate, ETA), log (a timestamped line
 * every 5 s, e.g. "2026-11-27T12:00:00 compact: levels 3/10/40 done 12
 * inflight 3 failed 0 read 1.1 GiB 42% 94.1 MiB/s eta 40s", for batch logs),
 * none. Bytes read include what running compactions merged so far (workers
 * send PROGRESS messages, wire.h), so the numbers move during one long
 * compaction too. Percent and ETA: of the work known at the start (bytes
 * over their limits by the picker's estimate at the first snapshot); a run
 * that finds more shows 99% and the picker's estimate of what is left. auto = bar when
 * the stream is a terminal, log otherwise. Updates are cheap to call often:
 * they only print when due. */
#ifndef MC_PROGRESS_H
#define MC_PROGRESS_H

#include <stdio.h>

#include "manifest.h"

typedef enum {
    MC_PROGRESS_AUTO,
    MC_PROGRESS_NONE,
    MC_PROGRESS_BAR,
    MC_PROGRESS_LOG,
} mc_progress_mode;

/* "auto", "bar", "log", "none"; false for anything else. */
bool mc_progress_parse(const char *s, mc_progress_mode *out);

#define MC_PROGRESS_BAR_INTERVAL 0.2
#define MC_PROGRESS_LOG_INTERVAL 5.0

typedef struct mc_progress_snap {
    unsigned nlevels;                       /* levels shown (through the deepest non-empty) */
    size_t level_segments[MC_LEVELS_MAX];
    uint64_t done, inflight, failed;
    uint64_t bytes_read;                    /* logical bytes merged so far, running compactions included */
    uint64_t pending_bytes;                 /* estimate of what is left, for the ETA */
} mc_progress_snap;

/* Fills SNAP's level part from M. */
void mc_progress_snap_levels(mc_progress_snap *snap, const mc_manifest *m);

typedef struct mc_progress mc_progress;

/* Output goes to F (stderr), at most every INTERVAL seconds (0: the mode's
 * default, MC_PROGRESS_BAR_INTERVAL or MC_PROGRESS_LOG_INTERVAL). */
mc_status mc_progress_create(mc_progress_mode mode, double interval, FILE *f, mc_progress **out, mc_err *err);
void mc_progress_update(mc_progress *p, const mc_progress_snap *snap);
/* The final state, always printed (except mode none); ends the bar's line. */
void mc_progress_finish(mc_progress *p, const mc_progress_snap *snap);
void mc_progress_destroy(mc_progress **p);
/* "40s", "1m20s", "2h05m", or "?" when RATE (units per second) is 0: the
 * time PENDING units take at RATE. */
void mc_progress_eta(double rate, uint64_t pending, char *out, size_t size);

#endif
