/* cmd_verify: `mpicompact verify STORE`: every invariant and checksum, segments split across ranks. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "mpiutil.h"
#include "store.h"
#include "store_session.h"
#include "taskprogress.h"
#include "view.h"

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
static uint64_t verify_share(const mc_cli_ctx *ctx, const char *store, const mc_manifest *m, double interval,
                             mc_buf *probs)
{
    uint64_t items = 0, k = 0;
    const mc_params *p = mc_manifest_params(m);
    mc_task_progress tp;
    uint64_t share = ((uint64_t)mc_manifest_count(m) + (uint64_t)ctx->size - 1) / (uint64_t)ctx->size;
    mc_task_progress_start(&tp, ctx, "verify", "segments", share, interval);
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
            mc_task_progress_step(&tp, 1, want->bytes);
        }
    }
    return items;
}

/* Orphans go to PROBS, or to NOTES while a writer holds the lock: its
 * outputs in progress, and the inputs of a commit not yet unlinked, are
 * files the manifest does not name. */
typedef struct orphan_sink {
    mc_buf *probs, *notes;
    bool writer;
} orphan_sink;

static void orphan_found(void *ctx, const char *path)
{
    orphan_sink *o = ctx;
    if (o->writer)
        problem(o->notes, "%s: not named by the manifest (a writer holds the lock: its work in progress?)", path);
    else
        problem(o->probs, "%s: orphan (a file the manifest does not name)", path);
}

static bool writer_running(const char *store)
{
    char path[MC_PATH_MAX + 8];
    struct stat sb;
    snprintf(path, sizeof path, "%s/LOCK", store);
    return stat(path, &sb) == 0;
}

/* Logs each line of TEXT (LEN bytes) as "verify: LINE"; returns how many. */
static uint64_t log_lines(const mc_cli_ctx *ctx, const char *text, size_t len)
{
    uint64_t n = 0;
    for (const char *line = text, *end = text + len; line < end; n++) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        mc_log(ctx, "verify: %.*s", (int)(nl - line), line);
        line = nl + 1;
    }
    return n;
}

typedef enum { V_OK, V_FAILED, V_RETRY } verdict;

/* One pass over the manifest loaded now; rank 0 prints the outcome unless
 * it is V_RETRY: problems found while a commit moved the store to another
 * generation (files of the old one may be gone, view.h). Collective; the
 * verdict is the same on every rank. */
static verdict verify_once(const mc_cli_ctx *ctx, const char *store, bool last_attempt, double interval)
{
    mc_manifest *m = NULL;
    mc_buf probs = {0}, notes = {0};
    void *all = NULL;
    uint64_t *lens = NULL;
    verdict v = V_FAILED;
    if (mc_manifest_load_bcast(ctx, store, &m) != MC_EXIT_OK) {
        if (ctx->rank == 0)
            fprintf(ctx->out, "verify: FAILED: the manifest of %s does not load\n", store);
        return V_FAILED;
    }
    if (ctx->rank == 0) {
        mc_err err;
        mc_err_clear(&err);
        orphan_sink sink = {&probs, &notes, writer_running(store)};
        if (mc_store_list_orphans(store, m, orphan_found, &sink, &err) != MC_OK)
            problem(&probs, "%s", err.msg);
    }
    uint64_t items = verify_share(ctx, store, m, interval, &probs), total_items = 0;
    MPI_Reduce(&items, &total_items, 1, MPI_UINT64_T, MPI_SUM, 0, ctx->comm);
    bool ok = mc_gather_bytes(probs.p, probs.n, &all, &lens, 0, ctx->comm) == MPI_SUCCESS;
    uint64_t verdict_u = V_FAILED;
    if (ctx->rank == 0) {
        uint64_t total = 0;
        for (int r = 0; ok && r < ctx->size; r++)
            total += lens[r];
        if (ok && total && !last_attempt && mc_view_generation_moved(store, mc_manifest_generation(m))) {
            verdict_u = V_RETRY;
        } else {
            uint64_t nprob = ok ? log_lines(ctx, all, total) : 0;
            log_lines(ctx, (const char *)notes.p, notes.n);
            if (!ok)
                fprintf(ctx->out, "verify: FAILED: could not collect the results\n");
            else if (nprob)
                fprintf(ctx->out, "verify: FAILED: %" PRIu64 " problem(s) in %s\n", nprob, store);
            else
                fprintf(ctx->out, "verify: OK: %zu segments, %" PRIu64 " items\n", mc_manifest_count(m),
                        total_items);
            verdict_u = ok && nprob == 0 ? V_OK : V_FAILED;
        }
    }
    v = (verdict)mc_bcast_u64_quiet(verdict_u, 0, ctx->comm);
    free(all);
    free(lens);
    mc_buf_free(&probs);
    mc_buf_free(&notes);
    mc_manifest_destroy(&m);
    return v;
}

enum { O_PROGRESS_INTERVAL };
static const mc_opt_spec specs[] = {[O_PROGRESS_INTERVAL] = {"progress-interval", true, "SECONDS", "5", "seconds between progress lines of long runs (rank 0's share)"}, {NULL, false, NULL, NULL, NULL}};

int mc_cmd_verify(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    double interval = 0;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    if ((rc = mc_opt_interval(ctx, "verify", cl.value[O_PROGRESS_INTERVAL], &interval)) != MC_EXIT_OK) {
        mc_cmdline_free(&cl);
        return rc;
    }
    verdict v = V_RETRY;
    for (int attempt = 0; v == V_RETRY; attempt++)
        v = verify_once(ctx, cl.pos[0], attempt + 1 >= MC_VIEW_ATTEMPTS, interval);
    mc_cmdline_free(&cl);
    return v == V_OK ? MC_EXIT_OK : MC_EXIT_FAIL;
}
