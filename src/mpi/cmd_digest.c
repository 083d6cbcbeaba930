/* cmd_digest: `mpicompact digest STORE`: order-independent digest, key space split across ranks. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "digest.h"
#include "err.h"
#include "keysplit.h"
#include "log.h"
#include "mpiutil.h"
#include "store_session.h"
#include "view.h"
#include "taskprogress.h"

typedef struct key_ref {
    const uint8_t *p;
    size_t len;
} key_ref;

/* This rank's half-open key range [lo, end) of about equal bytes
 * (keysplit.h); NULL bounds are infinite. */
static void my_range(const mc_cli_ctx *ctx, const mc_keysplit *ks, key_ref *lo, key_ref *end)
{
    size_t r = (size_t)ctx->rank;
    *lo = r > 0 ? (key_ref){ks->bound[r - 1], ks->bound_len[r - 1]} : (key_ref){NULL, 0};
    *end = r + 1 < ks->nparts ? (key_ref){ks->bound[r], ks->bound_len[r]} : (key_ref){NULL, 0};
}

/* This rank's share of M's content into *D; errors in *ERR, not logged. */
static mc_status digest_range(const mc_cli_ctx *ctx, const char *store, const mc_manifest *m, double interval,
                              mc_digest *d, mc_err *err)
{
    mc_task_progress tp;   /* in bytes: the share is about the store's bytes / ranks (keysplit.h) */
    mc_task_progress_start(&tp, ctx, "digest", NULL, mc_manifest_total_bytes(m) / (uint64_t)ctx->size, interval);
    key_ref lo, end;
    mc_keysplit ks = {0};
    mc_view *v = NULL;
    mc_status st = mc_keysplit_compute(m, (size_t)ctx->size, &ks, err);
    if (st != MC_OK)
        goto cleanup;
    my_range(ctx, &ks, &lo, &end);
    if (lo.p && end.p && mc_key_cmp(lo.p, lo.len, end.p, end.len) >= 0)
        goto cleanup;   /* an empty share (more ranks than segments) */
    st = mc_view_open(store, m, lo.p, lo.len, end.p, end.len, &v, err);
    for (bool eof = false; st == MC_OK;) {
        mc_item it;
        st = mc_view_next(v, &it, &eof, err);
        if (st != MC_OK || eof)
            break;
        if (end.p && mc_key_cmp(it.key, it.key_len, end.p, end.len) == 0)
            break;   /* the next rank's first key */
        mc_digest_add(d, it.key, it.key_len, it.value, it.value_len);
        mc_task_progress_step(&tp, it.key_len + it.value_len, it.key_len + it.value_len);
    }
cleanup:
    mc_view_close(&v);
    mc_keysplit_clear(&ks);
    return st;
}

/* Digests the committed content into *D on every rank (each its share).
 * When a rank fails and rank 0 sees that a commit moved the store to
 * another generation meanwhile (view.h), all ranks start over on it;
 * otherwise the failing ranks log their errors. Collective. */
static int digest_store(const mc_cli_ctx *ctx, const char *store, double interval, mc_digest *d)
{
    for (int attempt = 0;; attempt++) {
        mc_manifest *m = NULL;
        if (mc_manifest_load_bcast(ctx, store, &m) != MC_EXIT_OK)
            return MC_EXIT_FAIL;
        mc_err err;
        mc_err_clear(&err);
        mc_digest_init(d);
        mc_status st = digest_range(ctx, store, m, interval, d, &err);
        bool ok = mc_alltrue(st == MC_OK, ctx->comm);
        bool retry = false;
        if (!ok && ctx->rank == 0)
            retry = attempt + 1 < MC_VIEW_ATTEMPTS && mc_view_generation_moved(store, mc_manifest_generation(m));
        retry = mc_bcast_u64_quiet(retry, 0, ctx->comm) != 0;
        mc_manifest_destroy(&m);
        if (ok)
            return MC_EXIT_OK;
        if (!retry) {
            if (st != MC_OK)
                mc_log_err(ctx, &err);
            return MC_EXIT_FAIL;
        }
    }
}

enum { O_PROGRESS_INTERVAL };
static const mc_opt_spec specs[] = {[O_PROGRESS_INTERVAL] = {"progress-interval", true, "SECONDS", "5", "seconds between progress lines of long runs (rank 0's share)"}, {NULL, false, NULL, NULL, NULL}};

int mc_cmd_digest(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    double interval = 0;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    if ((rc = mc_opt_interval(ctx, "digest", cl.value[O_PROGRESS_INTERVAL], &interval)) != MC_EXIT_OK) {
        mc_cmdline_free(&cl);
        return rc;
    }
    const char *store = cl.pos[0];
    double t0 = MPI_Wtime();
    mc_digest d, total;
    mc_digest_init(&d);
    mc_digest_init(&total);
    bool ok = digest_store(ctx, store, interval, &d) == MC_EXIT_OK;
    uint64_t mine[5] = {d.lane[0], d.lane[1], d.lane[2], d.lane[3], d.count}, sum[5] = {0};
    MPI_Reduce(mine, sum, 5, MPI_UINT64_T, MPI_SUM, 0, ctx->comm);
    if (ok && ctx->rank == 0) {
        memcpy(total.lane, sum, sizeof total.lane);
        total.count = sum[4];
        char hex[65];
        mc_digest_hex(&total, hex);
        fprintf(ctx->out, "%s\n", hex);
        mc_log(ctx, "digest: %s: %" PRIu64 " live items in %.2f s", store, total.count, MPI_Wtime() - t0);
    }
    rc = ok ? MC_EXIT_OK : MC_EXIT_FAIL;
    mc_cmdline_free(&cl);
    return rc;
}
