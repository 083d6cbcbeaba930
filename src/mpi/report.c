/* report: summing a compact run and writing it as JSON (report.h). */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "provenance.h"
#include "store.h"

mc_status mc_report_init(mc_report *r, int nranks, mc_err *err)
{
    memset(r, 0, sizeof *r);
    size_t n = nranks > 0 ? (size_t)nranks : 1;
    r->workers = calloc(n, sizeof *r->workers);
    if (!r->workers)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory for the report of %zu ranks", n);
    r->nworkers = n;
    for (size_t i = 0; i < n; i++)
        r->workers[i].rank = (int)i;
    return MC_OK;
}

void mc_report_free(mc_report *r)
{
    free(r->workers);
    free(r->quarantined);
    memset(r, 0, sizeof *r);
}

void mc_report_add(mc_report *r, int rank, const mc_compact_stats *s, bool ok)
{
    if (rank >= 0 && (size_t)rank < r->nworkers) {
        r->workers[rank].busy_seconds += s->seconds;
        r->workers[rank].compactions++;
    }
    if (!ok)
        return;
    r->bytes_read += s->bytes_in;
    r->bytes_written += s->bytes_out;
    r->items_read += s->items_in;
    r->items_written += s->items_out;
    r->deletes_dropped += s->deletes_dropped;
    r->overwrites_dropped += s->overwrites_dropped;
    r->duplicates_dropped += s->duplicates_dropped;
    r->compactions_done++;
}

mc_status mc_report_add_quarantined(mc_report *r, uint64_t segno, mc_err *err)
{
    uint64_t *q = realloc(r->quarantined, (r->nquarantined + 1) * sizeof *q);
    if (!q)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory recording quarantined segment %llu",
                          (unsigned long long)segno);
    r->quarantined = q;
    q[r->nquarantined++] = segno;
    return MC_OK;
}

double mc_report_write_amplification(const mc_report *r)
{
    return r->initial_bytes ? (double)r->bytes_written / (double)r->initial_bytes : 0.0;
}

double mc_report_mb_per_s(const mc_report *r)
{
    return r->wall_seconds > 0 ? (double)r->bytes_read / 1e6 / r->wall_seconds : 0.0;
}

static void write_json(FILE *f, const mc_report *r)
{
    mc_json j;
    mc_json_init(&j, f, true);
    mc_json_object_begin(&j, NULL);
    if (r->prov)
        mc_provenance_json(&j, r->prov);
    mc_json_str(&j, "command", "compact");
    mc_json_i64(&j, "exit_status", r->exit_status);
    mc_json_f64(&j, "wall_seconds", r->wall_seconds);
    mc_json_u64(&j, "initial_bytes", r->initial_bytes);
    mc_json_u64(&j, "bytes_read", r->bytes_read);
    mc_json_u64(&j, "bytes_written", r->bytes_written);
    mc_json_u64(&j, "items_read", r->items_read);
    mc_json_u64(&j, "items_written", r->items_written);
    mc_json_u64(&j, "compactions_done", r->compactions_done);
    mc_json_u64(&j, "compactions_retried", r->compactions_retried);
    mc_json_u64(&j, "compactions_reissued", r->compactions_reissued);
    mc_json_u64(&j, "compactions_failed", r->compactions_failed);
    mc_json_u64(&j, "moved", r->moved);
    mc_json_u64(&j, "deletes_dropped", r->deletes_dropped);
    mc_json_u64(&j, "overwrites_dropped", r->overwrites_dropped);
    mc_json_u64(&j, "duplicates_dropped", r->duplicates_dropped);
    mc_json_f64(&j, "write_amplification", mc_report_write_amplification(r));
    mc_json_u64(&j, "commits", r->commits);
    mc_json_u64(&j, "slices", r->slices);
    mc_json_u64(&j, "orphans_removed", r->orphans_removed);
    mc_json_f64(&j, "mb_per_s", mc_report_mb_per_s(r));
    mc_json_f64(&j, "coordinator_busy_seconds", r->coordinator_busy_seconds);
    mc_json_array_begin(&j, "workers");
    for (size_t i = 0; i < r->nworkers; i++) {
        mc_json_object_begin(&j, NULL);
        mc_json_i64(&j, "rank", r->workers[i].rank);
        mc_json_f64(&j, "busy_seconds", r->workers[i].busy_seconds);
        mc_json_u64(&j, "compactions", r->workers[i].compactions);
        mc_json_object_end(&j);
    }
    mc_json_array_end(&j);
    mc_json_array_begin(&j, "quarantined");
    for (size_t i = 0; i < r->nquarantined; i++)
        mc_json_u64(&j, NULL, r->quarantined[i]);
    mc_json_array_end(&j);
    mc_json_object_end(&j);
    mc_json_finish(&j);
}

mc_status mc_report_write(const char *path, const mc_report *r, mc_err *err)
{
    char tmp[MC_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return mc_err_set(err, MC_EINVAL, 0, "%s: report path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: cannot create report: %s",
                          tmp, strerror(errno));
    write_json(f, r);
    bool bad = ferror(f) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        saved = errno;
    }
    if (bad) {
        unlink(tmp);
        return mc_err_set(err, mc_status_from_errno(saved), saved, "%s: writing the report failed: %s",
                          tmp, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return mc_err_set(err, mc_status_from_errno(saved), saved, "%s: cannot rename report into place: %s",
                          path, strerror(saved));
    }
    return MC_OK;
}
