/* progress: bar and log lines for compact on rank 0 (progress.h). */
#include "progress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "units.h"

struct mc_progress {
    mc_progress_mode mode;  /* resolved: never AUTO */
    double interval;        /* seconds between prints */
    FILE *f;
    double t0, last;
    double known;           /* bytes read + pending at the first snapshot: the work known at the start */
    bool started;
    bool drawn;             /* a bar line is on screen */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool mc_progress_parse(const char *s, mc_progress_mode *out)
{
    static const struct { const char *name; mc_progress_mode mode; } modes[] = {
        { "auto", MC_PROGRESS_AUTO }, { "bar", MC_PROGRESS_BAR },
        { "log", MC_PROGRESS_LOG }, { "none", MC_PROGRESS_NONE },
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return true;
        }
    }
    return false;
}

void mc_progress_snap_levels(mc_progress_snap *snap, const mc_manifest *m)
{
    int deepest = mc_manifest_deepest_level(m);
    unsigned n = deepest < 0 ? 1u : (unsigned)deepest + 1;
    if (n > MC_LEVELS_MAX)
        n = MC_LEVELS_MAX;
    snap->nlevels = n;
    for (unsigned l = 0; l < n; l++)
        snap->level_segments[l] = mc_manifest_level_count(m, l);
}

mc_status mc_progress_create(mc_progress_mode mode, double interval, FILE *f, mc_progress **out, mc_err *err)
{
    mc_progress *p = calloc(1, sizeof *p);
    if (!p)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory for the progress display");
    if (mode == MC_PROGRESS_AUTO)
        mode = isatty(fileno(f)) ? MC_PROGRESS_BAR : MC_PROGRESS_LOG;
    p->mode = mode;
    p->interval = interval > 0 ? interval
                  : mode == MC_PROGRESS_BAR ? MC_PROGRESS_BAR_INTERVAL : MC_PROGRESS_LOG_INTERVAL;
    p->f = f;
    p->t0 = p->last = now_seconds();
    *out = p;
    return MC_OK;
}

void mc_progress_destroy(mc_progress **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

/* "3/10/40" */
static void format_levels(const mc_progress_snap *s, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned l = 0; l < s->nlevels && n < size; l++)
        n += (size_t)snprintf(out + n, size - n, "%s%zu", l ? "/" : "", s->level_segments[l]);
}

/* "12s", "3m04s", "1h02m", or "?" */
void mc_progress_eta(double rate, uint64_t pending, char *out, size_t size)
{
    if (rate <= 0) {
        snprintf(out, size, "?");
        return;
    }
    double eta = (double)pending / rate;
    if (eta > 360000)
        snprintf(out, size, "?");
    else if (eta < 60)
        snprintf(out, size, "%.0fs", eta);
    else if (eta < 3600)
        snprintf(out, size, "%dm%02ds", (int)eta / 60, (int)eta % 60);
    else
        snprintf(out, size, "%dh%02dm", (int)eta / 3600, (int)eta % 3600 / 60);
}

static void print(mc_progress *p, const mc_progress_snap *s, double t, bool final)
{
    char levels[256], eta[32], rbuf[32], bbuf[32], pct[16];
    double elapsed = t - p->t0;
    double rate = elapsed > 0 ? (double)s->bytes_read / elapsed : 0;
    format_levels(s, levels, sizeof levels);
    /* Percent and ETA of the work known at the start (a compaction may
     * read more than the estimate: then 99% until the end). */
    double done = (double)s->bytes_read, left = p->known - done;
    if (left < (double)s->pending_bytes && done >= p->known)
        left = (double)s->pending_bytes;
    double percent = p->known > 0 ? 100.0 * done / p->known : 0.0;
    snprintf(pct, sizeof pct, "%.0f%%", final ? 100.0 : percent > 99 ? 99.0 : percent);
    mc_progress_eta(rate, (uint64_t)(left > 0 ? left : 0), eta, sizeof eta);
    if (p->mode == MC_PROGRESS_BAR) {
        fprintf(p->f, "\r\033[Kcompact [levels %s] done %llu inflight %llu%s %s %s eta %s%s",
                levels, (unsigned long long)s->done, (unsigned long long)s->inflight,
                s->failed ? " FAILED" : "", pct, mc_fmt_rate(rate, rbuf, sizeof rbuf), final ? "0s" : eta,
                final ? "\n" : "");
        p->drawn = !final;
    } else {
        char stamp[32];
        time_t wall = time(NULL);
        struct tm tm;
        localtime_r(&wall, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(p->f, "%s compact: levels %s done %llu inflight %llu failed %llu read %s %s %s eta %s%s\n",
                stamp, levels, (unsigned long long)s->done, (unsigned long long)s->inflight,
                (unsigned long long)s->failed, mc_fmt_bytes(s->bytes_read, bbuf, sizeof bbuf), pct,
                mc_fmt_rate(rate, rbuf, sizeof rbuf), final ? "0s" : eta, final ? " (finished)" : "");
    }
    fflush(p->f);
}

/* The first snapshot fixes the work known at the start. */
static void note_start(mc_progress *p, const mc_progress_snap *snap)
{
    if (!p->started) {
        p->started = true;
        p->known = (double)snap->bytes_read + (double)snap->pending_bytes;
    }
}

void mc_progress_update(mc_progress *p, const mc_progress_snap *snap)
{
    if (!p || p->mode == MC_PROGRESS_NONE)
        return;
    note_start(p, snap);
    double t = now_seconds();
    if (t - p->last < p->interval)
        return;
    p->last = t;
    print(p, snap, t, false);
}

void mc_progress_finish(mc_progress *p, const mc_progress_snap *snap)
{
    if (!p || p->mode == MC_PROGRESS_NONE)
        return;
    note_start(p, snap);
    print(p, snap, now_seconds(), true);
}
