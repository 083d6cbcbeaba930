/* cmd_add: `mpicompact add STORE FILE...`: validate foreign segments in parallel, register them in level 0. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "manifest_wire.h"
#include "mpiutil.h"
#include "segment_relabel.h"
#include "store.h"
#include "store_session.h"

/* This rank's share of the files (i = rank, rank + size, ...): each valid
 * one appended to OUT as (index, descriptor); each bad one logged with its
 * reason. Returns the number of bad files. */
static uint64_t validate_share(const mc_cli_ctx *ctx, int nfiles, char **files, mc_buf *out)
{
    uint64_t bad = 0;
    for (int i = ctx->rank; i < nfiles; i += ctx->size) {
        mc_seg_meta meta = {0};
        mc_err err;
        mc_err_clear(&err);
        mc_status st = mc_seg_validate(files[i], &meta, &err);
        if (st == MC_OK) {
            meta.level = 0;
            st = mc_buf_append_u64(out, (uint64_t)i, &err);
            if (st == MC_OK)
                st = mc_seg_meta_encode(out, &meta, &err);
        }
        mc_seg_meta_clear(&meta);
        if (st != MC_OK) {
            /* the validator's message names the file; make sure of it */
            if (strstr(err.msg, files[i]))
                mc_log(ctx, "add: rejected: %s", err.msg);
            else
                mc_log(ctx, "add: rejected: %s: %s", files[i], err.msg);
            bad++;
        }
    }
    return bad;
}

/* Rank 0: descriptors back in command-line order. */
static bool collect(const mc_cli_ctx *ctx, const uint8_t *p, size_t len, int nfiles, mc_seg_meta *metas)
{
    const uint8_t *end = p + len;
    mc_err err;
    mc_err_clear(&err);
    while (p < end) {
        if (end - p < 8)
            goto bad;
        uint64_t i = 0;
        for (int b = 0; b < 8; b++)
            i |= (uint64_t)p[b] << (8 * b);
        p += 8;
        if (i >= (uint64_t)nfiles || metas[i].min_key)
            goto bad;
        if (mc_seg_meta_decode(&p, end, &metas[i], &err) != MC_OK)
            goto bad;
    }
    for (int i = 0; i < nfiles; i++)
        if (!metas[i].min_key)
            goto bad;
    return true;
bad:
    mc_log(ctx, "error: add: descriptors of the validated files did not arrive intact%s%s",
           err.msg[0] ? ": " : "", err.msg);
    return false;
}

/* Rank 0: copies every file into the store under a new segno and adds it to
 * the manifest. *ncopied tells how many segnos from FIRST were written. */
static bool copy_all(const mc_cli_ctx *ctx, const char *store, mc_manifest *m, char **files, int nfiles,
                     mc_seg_meta *metas, uint64_t first, uint64_t *ncopied)
{
    mc_err err;
    mc_err_clear(&err);
    mc_status st = MC_OK;
    uint64_t next_seq = mc_manifest_next_seq(m);
    for (int i = 0; i < nfiles && st == MC_OK; i++) {
        char path[MC_PATH_MAX];
        uint64_t segno = first + (uint64_t)i;
        mc_store_seg_path(store, segno, path);
        *ncopied = (uint64_t)i + 1;
        st = mc_seg_copy_relabel(files[i], path, segno, &err);
        metas[i].segno = segno;
        metas[i].level = 0;
        if (st == MC_OK)
            st = mc_manifest_add(m, &metas[i], &err);
        if (st == MC_OK) {
            mc_log(ctx, "add: %s -> segment %" PRIu64 " (%" PRIu64 " items)", files[i], segno, metas[i].nitems);
            if (metas[i].max_seq >= next_seq)
                next_seq = metas[i].max_seq + 1;   /* later gens write newer seqs */
        }
    }
    if (st != MC_OK) {
        mc_log_err(ctx, &err);
        return false;
    }
    if (next_seq > mc_manifest_next_seq(m))
        mc_manifest_set_next_seq(m, next_seq);
    return true;
}

int mc_cmd_add(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, NULL, 2, -1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    const char *store = cl.pos[0];
    char **files = cl.pos + 1;
    int nfiles = cl.npos - 1;
    mc_session s = {0};
    mc_buf mine = {0};
    void *all = NULL;
    uint64_t *lens = NULL, ncopied = 0, first = 0;
    mc_seg_meta *metas = NULL;
    if ((rc = mc_session_open(ctx, store, "add", &s)) != MC_EXIT_OK)
        goto cleanup;
    rc = MC_EXIT_FAIL;
    uint64_t bad = validate_share(ctx, nfiles, files, &mine), total_bad = 0;
    MPI_Allreduce(&bad, &total_bad, 1, MPI_UINT64_T, MPI_SUM, ctx->comm);
    if (total_bad) {
        if (ctx->rank == 0)
            mc_log(ctx, "add: %" PRIu64 " of %d file(s) failed validation; nothing was added", total_bad, nfiles);
        goto cleanup;
    }
    bool ok = mc_gather_bytes(mine.p, mine.n, &all, &lens, 0, ctx->comm) == MPI_SUCCESS;
    if (ok && ctx->rank == 0) {
        size_t total = 0;
        for (int r = 0; r < ctx->size; r++)
            total += (size_t)lens[r];
        metas = calloc((size_t)nfiles, sizeof *metas);
        ok = metas && collect(ctx, all, total, nfiles, metas);
        if (ok) {
            first = mc_manifest_alloc_segnos(s.m, (uint64_t)nfiles);
            ok = copy_all(ctx, store, s.m, files, nfiles, metas, first, &ncopied);
        }
    }
    ok = mc_bcast_u64_quiet(ok, 0, ctx->comm) != 0;
    if (ok)
        ok = mc_session_commit(ctx, &s) == MC_EXIT_OK;
    if (!ok && s.switched) {   /* committed, not durable: CURRENT names the copies, keep them */
        if (ctx->rank == 0)
            mc_log(ctx, "add: %s: failed after the commit: the %d segment(s) are in generation %" PRIu64
                   ", which may not survive a crash", store, nfiles, mc_manifest_generation(s.m));
        goto cleanup;
    }
    if (!ok) {
        for (uint64_t i = 0; ctx->rank == 0 && i < ncopied; i++)
            mc_store_remove_segment(store, first + i, NULL);
        if (ctx->rank == 0)
            mc_log(ctx, "add: %s: failed; nothing was added", store);
        goto cleanup;
    }
    if (ctx->rank == 0)
        mc_log(ctx, "add: %s: added %d segment(s), generation %" PRIu64, store, nfiles, mc_manifest_generation(s.m));
    rc = MC_EXIT_OK;
cleanup:
    for (int i = 0; metas && i < nfiles; i++)
        mc_seg_meta_clear(&metas[i]);
    free(metas);
    free(all);
    free(lens);
    mc_buf_free(&mine);
    mc_session_close(&s);
    mc_cmdline_free(&cl);
    return rc;
}
