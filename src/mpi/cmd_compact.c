/* cmd_compact: the `compact` command: options, session, coordinator or worker. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "coordinator.h"
#include "err.h"
#include "fault.h"
#include "log.h"
#include "picker.h"
#include "parse.h"
#include "provenance.h"
#include "report.h"
#include "signals.h"
#include "store.h"
#include "store_session.h"
#include "units.h"
#include "worker.h"

enum { O_FULL, O_SINGLE, O_STRICT, O_INFLIGHT, O_RETRIES, O_TIME_LIMIT, O_PROGRESS, O_REPORT, O_PROGRESS_INTERVAL };
static const mc_opt_spec specs[] = {
    [O_FULL] = {"full", false, NULL, "off", "merge everything into one bottom level, no deletes left"},
    [O_SINGLE] = {"single", false, NULL, "off", "one compaction in flight in the whole job (baseline for benchmarks)"},
    [O_STRICT] = {"strict", false, NULL, "off", "stop at the first failed compaction, exit 1"},
    [O_INFLIGHT] = {"inflight", true, "N", "2", "requests a worker rank holds at once (N >= 1)"},
    [O_RETRIES] = {"retries", true, "N", "2", "re-issues of a failed compaction before its inputs are quarantined"},
    [O_TIME_LIMIT] = {"time-limit", true, "SECONDS", "none", "drain and exit 3 after SECONDS (fractions allowed)"},
    [O_PROGRESS] = {"progress", true, "auto|bar|log|none", "auto",
                    "progress on stderr from rank 0; auto: bar on a terminal, log otherwise"},
    [O_REPORT] = {"report", true, "FILE", "none", "write a JSON summary to FILE"},
    [O_PROGRESS_INTERVAL] = {"progress-interval", true, "SECONDS", "5 (log), 0.2 (bar)",
                             "seconds between progress lines (fractions allowed)"},
    {NULL, false, NULL, NULL, NULL},
};

typedef struct compact_args {
    const char *store;
    const char *report;
    mc_coord_opts opts;
} compact_args;

static int opt_count(const mc_cli_ctx *ctx, const char *option, const char *value, uint64_t min, unsigned *out)
{
    uint64_t v = *out;
    int rc = mc_opt_u64(ctx, "compact", option, value, &v);
    if (rc != MC_EXIT_OK)
        return rc;
    if (v < min || v > 1000000)
        return mc_usage_error(ctx, "compact", "%s: %s is out of range (%llu..1000000)", option, value,
                              (unsigned long long)min);
    *out = (unsigned)v;
    return MC_EXIT_OK;
}

/* A pure function of argv: every rank reaches the same verdict. */
static int parse_args(const mc_cli_ctx *ctx, int argc, char **argv, mc_cmdline *cl, compact_args *a)
{
    memset(a, 0, sizeof *a);
    a->opts.inflight = 2;
    a->opts.retries = 2;
    a->opts.progress = MC_PROGRESS_AUTO;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, cl);
    if (rc != MC_EXIT_OK)
        return rc;
    a->store = cl->pos[0];
    a->report = cl->value[O_REPORT];
    a->opts.full = cl->value[O_FULL] != NULL;
    a->opts.single = cl->value[O_SINGLE] != NULL;
    a->opts.strict = cl->value[O_STRICT] != NULL;
    if ((rc = opt_count(ctx, "--inflight", cl->value[O_INFLIGHT], 1, &a->opts.inflight)) != MC_EXIT_OK ||
        (rc = opt_count(ctx, "--retries", cl->value[O_RETRIES], 0, &a->opts.retries)) != MC_EXIT_OK)
        return rc;
    mc_err err;
    if (cl->value[O_TIME_LIMIT] &&
        mc_parse_seconds("--time-limit", cl->value[O_TIME_LIMIT], &a->opts.time_limit, &err) != MC_OK)
        return mc_usage_error(ctx, "compact", "%s", err.msg);
    if ((rc = mc_opt_interval(ctx, "compact", cl->value[O_PROGRESS_INTERVAL], &a->opts.progress_interval)) !=
        MC_EXIT_OK)
        return rc;
    if (cl->value[O_PROGRESS] && !mc_progress_parse(cl->value[O_PROGRESS], &a->opts.progress))
        return mc_usage_error(ctx, "compact", "--progress: \"%s\" is not auto, bar, log or none",
                              cl->value[O_PROGRESS]);
    if (a->report && !a->report[0])
        return mc_usage_error(ctx, "compact", "--report needs a file name");
    return MC_EXIT_OK;
}

/* Rank 0 after the run: every rank has stopped writing. */
static int finish_rank0(const mc_cli_ctx *ctx, const compact_args *a, mc_session *s,
                        mc_report *rep, int rc, bool committed)
{
    mc_err err;
    if (committed) {
        size_t n = 0;
        if (mc_store_remove_orphans(a->store, s->m, &n, &err) != MC_OK) {
            mc_log_err(ctx, &err);
            rc = MC_EXIT_FAIL;
        } else if (n) {
            mc_log(ctx, "removed %zu files the manifest does not name", n);
        }
        rep->orphans_removed += n;
    }
    rep->exit_status = rc;
    if (rep->prov)
        mc_provenance_end(rep->prov, s->m);
    if (a->report && mc_report_write(a->report, rep, &err) != MC_OK) {
        mc_log_err(ctx, &err);
        rc = rep->exit_status = MC_EXIT_FAIL;
    }
    char in[32], out[32], rate[32];
    mc_log(ctx, "compact: %llu compactions (%llu retried, %llu failed), %llu moved, %s read, "
           "%s written in %.2f s (%s), %llu commits; exit %d",
           (unsigned long long)rep->compactions_done, (unsigned long long)rep->compactions_retried,
           (unsigned long long)rep->compactions_failed, (unsigned long long)rep->moved,
           mc_fmt_bytes(rep->bytes_read, in, sizeof in), mc_fmt_bytes(rep->bytes_written, out, sizeof out),
           rep->wall_seconds, mc_fmt_rate(rep->wall_seconds > 0 ? (double)rep->bytes_read / rep->wall_seconds : 0,
                                          rate, sizeof rate),
           (unsigned long long)rep->commits, rc);
    return rc;
}

int mc_cmd_compact(int argc, char **argv, const mc_cli_ctx *ctx)
{
    compact_args a;
    mc_cmdline cl;
    mc_err err;
    mc_err_clear(&err);
    int rc = parse_args(ctx, argc, argv, &cl, &a);
    if (rc != MC_EXIT_OK) {
        mc_cmdline_free(&cl);
        return rc;
    }
    mc_fault_init(ctx->rank);
    mc_raise_fd_limit();   /* a merge opens one file per input: its width may use them all */
    /* Before anything slow: a drain signal during start-up is not fatal. */
    mc_signals_install(ctx->rank == 0);

    mc_session s;
    rc = mc_session_open(ctx, a.store, "compact", &s);
    if (rc != MC_EXIT_OK) {
        mc_signals_restore();
        mc_cmdline_free(&cl);
        return rc;
    }

    mc_provenance prov;
    mc_provenance_begin(&prov, ctx, argc, argv, a.store, s.m);   /* collective: hosts */
    mc_cores cores;
    mc_cores_gather(ctx, &cores);   /* collective: hosts and their cores */
    a.opts.cores = &cores;
    if (ctx->rank == 0) {
        mc_report rep;
        bool committed = false;
        if (mc_report_init(&rep, ctx->size, &err) != MC_OK) {
            /* Workers still need their STOP: run with a minimal report. */
            mc_log_err(ctx, &err);
            memset(&rep, 0, sizeof rep);
            rc = MC_EXIT_FAIL;
        }
        rep.orphans_removed = s.orphans_removed;
        rep.prov = &prov;
        int run_rc = mc_coordinator_run(ctx, a.store, s.m, &a.opts, &rep, &committed);
        if (rc == MC_EXIT_OK)
            rc = run_rc;
        rc = finish_rank0(ctx, &a, &s, &rep, rc, committed);
        mc_report_free(&rep);
    } else {
        mc_worker_run(ctx, a.store);
    }
    mc_cores_free(&cores);
    mc_provenance_free(&prov);
    mc_session_close(&s);
    mc_cmdline_free(&cl);
    MPI_Bcast(&rc, 1, MPI_INT, 0, ctx->comm);
    mc_signals_restore();
    return rc;
}
