/* cmd_verify: `mpicompact verify STORE`: every invariant and checksum, segments split across ranks. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "mpiutil.h"
#include "store.h"
#include "store_session.h"

/* Problems as lines in a buffer. */
static void problem(mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(mc_buf *b, const char *fmt, ...)
{
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    line[len++] = '\n';
    mc_buf_append(b, line, len, NULL);   /* out of memory only loses a line */
}

static bool key_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return mc_key_cmp(a, al, b, bl) == 0;
}

/* Compares what the file holds with the manifest's entry. */
static void compare(mc_buf *probs, const char *path, const mc_seg_meta *want, const mc_seg_meta *got)
{
    static const char *names[] = {"segno", "nitems", "ndeletes", "bytes", "min_seq", "max_seq"};
    const uint64_t w[] = {want->segno, want->nitems, want->ndeletes, want->bytes, want->min_seq, want->max_seq};
    const uint64_t g[] = {got->segno, got->nitems, got->ndeletes, got->bytes, got->min_seq, got->max_seq};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (w[i] != g[i])
            problem(probs, "%s: %s is %" PRIu64 " in the file but %" PRIu64 " in the manifest", path, names[i],
                    g[i], w[i]);
    if (!key_eq(want->min_key, want->min_key_len, got->min_key, got->min_key_len))
        problem(probs, "%s: the smallest key differs from the manifest's", path);
    if (!key_eq(want->max_key, want->max_key_len, got->max_key, got->max_key_len))
        problem(probs, "%s: the largest key differs from the manifest's", path);
}

/* Entries k = rank, rank + size, ... in manifest order. */
static uint64_t verify_share(const mc_cli_ctx *ctx, const char *store, const mc_manifest *m, mc_buf *probs)
{
    uint64_t items = 0, k = 0;
    const mc_params *p = mc_manifest_params(m);
    for (unsigned l = 0; l < p->levels; l++) {
        size_t n = mc_manifest_level_count(m, l);
        for (size_t i = 0; i < n; i++, k++) {
            if (k % (uint64_t)ctx->size != (uint64_t)ctx->rank)
                continue;
            const mc_seg_meta *want = mc_manifest_level_at(m, l, i);
            char path[MC_PATH_MAX];
            mc_store_seg_path(store, want->segno, path);
            mc_seg_meta got = {0};
            mc_err err;
            mc_err_clear(&err);
            if (mc_seg_validate(path, &got, &err) != MC_OK) {
                if (strstr(err.msg, path))
                    problem(probs, "%s", err.msg);
                else
                    problem(probs, "%s: %s", path, err.msg);
            } else {
                compare(probs, path, want, &got);
                items += got.nitems;
            }
            mc_seg_meta_clear(&got);
        }
    }
    return items;
}

static void orphan_found(void *ctx, const char *path)
{
    problem(ctx, "%s: orphan (a file the manifest does not name)", path);
}

int mc_cmd_verify(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, NULL, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    const char *store = cl.pos[0];
    mc_manifest *m = NULL;
    mc_buf probs = {0};
    void *all = NULL;
    uint64_t *lens = NULL;
    if (mc_manifest_load_bcast(ctx, store, &m) != MC_EXIT_OK) {
        if (ctx->rank == 0)
            fprintf(ctx->out, "verify: FAILED: the manifest of %s does not load\n", store);
        rc = MC_EXIT_FAIL;
        goto cleanup;
    }
    if (ctx->rank == 0) {
        mc_err err;
        mc_err_clear(&err);
        if (mc_store_list_orphans(store, m, orphan_found, &probs, &err) != MC_OK)
            problem(&probs, "%s", err.msg);
    }
    uint64_t items = verify_share(ctx, store, m, &probs), total_items = 0;
    MPI_Reduce(&items, &total_items, 1, MPI_UINT64_T, MPI_SUM, 0, ctx->comm);
    bool ok = mc_gather_bytes(probs.p, probs.n, &all, &lens, 0, ctx->comm) == MPI_SUCCESS;
    if (ctx->rank == 0) {
        uint64_t nprob = 0, total = 0;
        for (int r = 0; ok && r < ctx->size; r++)
            total += lens[r];
        for (char *line = all, *end = (char *)all + total; ok && line < end;) {
            char *nl = memchr(line, '\n', (size_t)(end - line));
            if (!nl)
                nl = end;
            mc_log(ctx, "verify: %.*s", (int)(nl - line), line);
            nprob++;
            line = nl + 1;
        }
        if (!ok)
            fprintf(ctx->out, "verify: FAILED: could not collect the results\n");
        else if (nprob)
            fprintf(ctx->out, "verify: FAILED: %" PRIu64 " problem(s) in %s\n", nprob, store);
        else
            fprintf(ctx->out, "verify: OK: %zu segments, %" PRIu64 " items\n", mc_manifest_count(m), total_items);
        ok = ok && nprob == 0;
    }
    rc = mc_bcast_u64_quiet(ok, 0, ctx->comm) ? MC_EXIT_OK : MC_EXIT_FAIL;
cleanup:
    free(all);
    free(lens);
    mc_buf_free(&probs);
    mc_manifest_destroy(&m);
    mc_cmdline_free(&cl);
    return rc;
}
