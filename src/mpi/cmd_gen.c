/* cmd_gen: `mpicompact gen STORE ...`: synthetic level-0 segments, written in parallel, one commit. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "gen.h"
#include "log.h"
#include "manifest_wire.h"
#include "mpiutil.h"
#include "parse.h"
#include "store.h"
#include "store_session.h"
#include "taskprogress.h"
#include "units.h"

enum { O_SEGMENTS, O_ITEMS, O_KEY, O_VALUE, O_DIST, O_OVERWRITE, O_DELETE, O_SEED, O_PROGRESS_INTERVAL };
static const mc_opt_spec specs[] = {
    [O_SEGMENTS] = {"segments", true, "N", "required", "level-0 segments to write (N >= 1)"},
    [O_ITEMS] = {"items", true, "N", "required", "items per segment (N >= 1)"},
    [O_KEY] = {"key-size", true, "MIN[:MAX]", "16", "key length in bytes (1..4096), drawn per key"},
    [O_VALUE] = {"value-size", true, "MIN[:MAX]", "100", "value length in bytes (0..16Mi), drawn per item"},
    [O_DIST] = {"dist", true, "uniform|zipf|sequential", "uniform", "key distribution"},
    [O_OVERWRITE] = {"overwrite", true, "F", "0", "fraction of items that overwrite a key of an earlier segment"},
    [O_DELETE] = {"delete", true, "F", "0", "fraction of items that delete such a key"},
    [O_SEED] = {"seed", true, "S", "1", "random seed"},
    [O_PROGRESS_INTERVAL] = {"progress-interval", true, "SECONDS", "5", "seconds between progress lines of long runs (rank 0's share)"},
    {NULL, false, NULL, NULL, NULL},
};

/* Options into *o; MC_EXIT_USAGE (printed) when anything is wrong. */
static int parse_opts(const mc_cli_ctx *ctx, const mc_cmdline *cl, mc_gen_opts *o)
{
    mc_err err;
    mc_gen_opts_default(o);
    if (!cl->value[O_SEGMENTS] || !cl->value[O_ITEMS])
        return mc_usage_error(ctx, "gen", "--segments and --items are required");
    int rc;
    if ((rc = mc_opt_u64(ctx, "gen", "--segments", cl->value[O_SEGMENTS], &o->segments)) != MC_EXIT_OK ||
        (rc = mc_opt_u64(ctx, "gen", "--items", cl->value[O_ITEMS], &o->items)) != MC_EXIT_OK ||
        (rc = mc_opt_u64(ctx, "gen", "--seed", cl->value[O_SEED], &o->seed)) != MC_EXIT_OK)
        return rc;
    uint64_t lo, hi;
    if (cl->value[O_KEY]) {
        if (mc_parse_range("--key-size", cl->value[O_KEY], &lo, &hi, &err) != MC_OK)
            return mc_usage_error(ctx, "gen", "%s", err.msg);
        o->key_min = lo > SIZE_MAX ? SIZE_MAX : (size_t)lo;
        o->key_max = hi > SIZE_MAX ? SIZE_MAX : (size_t)hi;
    }
    if (cl->value[O_VALUE]) {
        if (mc_parse_range("--value-size", cl->value[O_VALUE], &lo, &hi, &err) != MC_OK)
            return mc_usage_error(ctx, "gen", "%s", err.msg);
        o->value_min = lo > SIZE_MAX ? SIZE_MAX : (size_t)lo;
        o->value_max = hi > SIZE_MAX ? SIZE_MAX : (size_t)hi;
    }
    if (cl->value[O_DIST]) {
        const char *d = cl->value[O_DIST];
        if (strcmp(d, "uniform") == 0)
            o->dist = MC_DIST_UNIFORM;
        else if (strcmp(d, "zipf") == 0)
            o->dist = MC_DIST_ZIPF;
        else if (strcmp(d, "sequential") == 0)
            o->dist = MC_DIST_SEQUENTIAL;
        else
            return mc_usage_error(ctx, "gen", "--dist: expected uniform, zipf or sequential, got \"%s\"", d);
    }
    if (cl->value[O_OVERWRITE] && mc_parse_fraction("--overwrite", cl->value[O_OVERWRITE], &o->overwrite, &err) != MC_OK)
        return mc_usage_error(ctx, "gen", "%s", err.msg);
    if (cl->value[O_DELETE] && mc_parse_fraction("--delete", cl->value[O_DELETE], &o->del, &err) != MC_OK)
        return mc_usage_error(ctx, "gen", "%s", err.msg);
    if (mc_gen_opts_check(o, &err) != MC_OK)
        return mc_usage_error(ctx, "gen", "%s", err.msg);
    return MC_EXIT_OK;
}

/* This rank's share: segments j = rank, rank + size, ...; descriptors
 * appended to OUT. Stops at the first failure (logged). */
static bool write_share(const mc_cli_ctx *ctx, const char *store, const mc_gen_opts *o,
                        uint64_t first_segno, uint64_t first_seq, double interval, mc_buf *out)
{
    mc_task_progress tp;
    uint64_t share = (o->segments + (uint64_t)ctx->size - 1) / (uint64_t)ctx->size;
    mc_task_progress_start(&tp, ctx, "gen", "segments", share, interval);
    for (uint64_t j = (uint64_t)ctx->rank; j < o->segments; j += (uint64_t)ctx->size) {
        char path[MC_PATH_MAX];
        mc_store_seg_path(store, first_segno + j, path);
        mc_seg_meta meta = {0};
        mc_err err;
        mc_err_clear(&err);
        mc_status st = mc_gen_segment(o, j, first_seq, path, first_segno + j, &meta, &err);
        if (st == MC_OK)
            st = mc_seg_meta_encode(out, &meta, &err);
        uint64_t bytes = meta.bytes;
        mc_seg_meta_clear(&meta);
        if (st != MC_OK) {
            mc_log_err(ctx, &err);
            return false;
        }
        mc_task_progress_step(&tp, 1, bytes);
    }
    return true;
}

/* Rank 0: the gathered descriptors into the manifest (with the numbers they
 * were written under reserved). Returns the key+value bytes added. */
static bool register_all(const mc_cli_ctx *ctx, mc_manifest *m, const mc_gen_opts *o, const uint8_t *p,
                         size_t len, uint64_t first_segno, uint64_t first_seq, uint64_t *bytes, uint64_t *items)
{
    mc_err err;
    mc_err_clear(&err);
    mc_status st = MC_OK;
    if (mc_manifest_alloc_segnos(m, o->segments) != first_segno ||
        mc_manifest_alloc_seqs(m, o->segments * o->items) != first_seq)
        st = mc_err_set(&err, MC_ECORRUPT, 0, "gen: segnos or seqs moved while the store was locked");
    const uint8_t *end = p + len;
    uint64_t n = 0;
    while (st == MC_OK && p < end) {
        mc_seg_meta meta = {0};
        st = mc_seg_meta_decode(&p, end, &meta, &err);
        if (st == MC_OK)
            st = mc_manifest_add(m, &meta, &err);
        *bytes += meta.bytes;
        *items += meta.nitems;
        mc_seg_meta_clear(&meta);
        n++;
    }
    if (st == MC_OK && n != o->segments)
        st = mc_err_set(&err, MC_EPROTO, 0, "gen: gathered %" PRIu64 " descriptors, expected %" PRIu64, n,
                        o->segments);
    if (st != MC_OK)
        mc_log_err(ctx, &err);
    return st == MC_OK;
}

static void remove_share(const char *store, const mc_cli_ctx *ctx, const mc_gen_opts *o, uint64_t first_segno)
{
    for (uint64_t j = (uint64_t)ctx->rank; j < o->segments; j += (uint64_t)ctx->size)
        mc_store_remove_segment(store, first_segno + j, NULL);
}

int mc_cmd_gen(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    const char *store = cl.pos[0];
    mc_gen_opts o;
    mc_session s = {0};
    mc_buf mine = {0};
    void *all = NULL;
    uint64_t *lens = NULL;
    double interval = 0;
    if ((rc = parse_opts(ctx, &cl, &o)) != MC_EXIT_OK ||
        (rc = mc_opt_interval(ctx, "gen", cl.value[O_PROGRESS_INTERVAL], &interval)) != MC_EXIT_OK)
        goto cleanup;
    if ((rc = mc_session_open(ctx, store, "gen", &s)) != MC_EXIT_OK)
        goto cleanup;
    double t0 = MPI_Wtime();
    uint64_t first_segno = mc_manifest_next_segno(s.m), first_seq = mc_manifest_next_seq(s.m);
    if (first_segno > UINT64_MAX - o.segments || first_seq > UINT64_MAX - o.segments * o.items) {
        if (ctx->rank == 0)
            mc_log(ctx, "error: %s: segment numbers or seqs would overflow", store);
        rc = MC_EXIT_FAIL;
        goto cleanup;
    }
    if (ctx->rank == 0)
        mc_log(ctx, "gen: %s: writing %" PRIu64 " segments of %" PRIu64 " items on %d rank(s)", store,
               o.segments, o.items, ctx->size);
    bool ok = mc_alltrue(write_share(ctx, store, &o, first_segno, first_seq, interval, &mine), ctx->comm);
    uint64_t bytes = 0, items = 0;
    if (ok) {
        ok = mc_gather_bytes(mine.p, mine.n, &all, &lens, 0, ctx->comm) == MPI_SUCCESS;
        if (ok && ctx->rank == 0) {
            size_t total = 0;
            for (int r = 0; r < ctx->size; r++)
                total += (size_t)lens[r];
            ok = register_all(ctx, s.m, &o, all, total, first_segno, first_seq, &bytes, &items);
        }
        ok = mc_bcast_u64_quiet(ok, 0, ctx->comm) != 0;
    }
    if (ok)
        ok = mc_session_commit(ctx, &s) == MC_EXIT_OK;
    if (!ok && s.switched) {   /* committed, not durable: CURRENT names them, keep them */
        if (ctx->rank == 0)
            mc_log(ctx, "gen: %s: failed after the commit: the %" PRIu64 " segments are in generation %" PRIu64
                   ", which may not survive a crash", store, o.segments, mc_manifest_generation(s.m));
        rc = MC_EXIT_FAIL;
        goto cleanup;
    }
    if (!ok) {
        remove_share(store, ctx, &o, first_segno);   /* nothing of this run stays */
        if (ctx->rank == 0)
            mc_log(ctx, "gen: %s: failed; nothing was added", store);
        rc = MC_EXIT_FAIL;
        goto cleanup;
    }
    if (ctx->rank == 0) {
        double secs = MPI_Wtime() - t0;
        char size[32], rate[32];
        mc_log(ctx, "gen: %s: %" PRIu64 " segments, %" PRIu64 " items, %s in %.2f s (%s), generation %" PRIu64,
               store, o.segments, items, mc_fmt_bytes(bytes, size, sizeof size), secs,
               mc_fmt_rate(secs > 0 ? (double)bytes / secs : 0.0, rate, sizeof rate), mc_manifest_generation(s.m));
    }
    rc = MC_EXIT_OK;
cleanup:
    free(all);
    free(lens);
    mc_buf_free(&mine);
    mc_session_close(&s);
    mc_cmdline_free(&cl);
    return rc;
}
