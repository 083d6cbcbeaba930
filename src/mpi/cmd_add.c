/* cmd_add: `mpicompact add STORE FILE...`: rank 0 copies the files into the store, all ranks validate the
 * copies in parallel, rank 0 registers them in level 0.
 *
 * Only rank 0 reads the files named on the command line, by their real paths
 * (add_input.h): ranks may see a path differently (working directories,
 * node-local /tmp, a file replaced meanwhile), so what is validated is the
 * copy in STORE/seg/ (all ranks see the store alike), and the file committed
 * is the file validated. Inputs inside the store are refused before the
 * session's orphan sweep could remove them. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "add.h"
#include "add_input.h"
#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "manifest_wire.h"
#include "mpiutil.h"
#include "segment_relabel.h"
#include "store.h"
#include "store_session.h"

/* What rank 0 tells every rank: the first segno, the store's real path and,
 * per file, whether its copy was made and the name rank 0 was given. The
 * strings point into WIRE. */
typedef struct add_plan {
    mc_buf wire;
    uint64_t first;
    int nfiles;
    const char *store;
    const char **names;
    uint8_t *copied;
} add_plan;

static void plan_free(add_plan *p)
{
    mc_buf_free(&p->wire);
    free(p->names);
    free(p->copied);
    memset(p, 0, sizeof *p);
}

/* The copy of file I: STORE/seg/../S.h5.tmp until it is installed. */
static void copy_path(const add_plan *p, int i, char *out)
{
    mc_add_copy_path(p->store, p->first + (uint64_t)i, out);
}

/* Logs ERR's message naming NAME where it named the copy COPY: the user
 * knows the file by the name given. */
static void log_rejected(const mc_cli_ctx *ctx, mc_err *err, const char *copy, const char *name)
{
    mc_add_name_input(err, copy, name);
    mc_log(ctx, "add: rejected: %s", err->msg);
}

/* Rank 0, before the session (whose orphan sweep must not meet an input):
 * the real path of every file; each refused one logged. */
static bool resolve_all(const mc_cli_ctx *ctx, const char *store, char **files, int nfiles,
                        char (*resolved)[MC_PATH_MAX])
{
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        mc_err err;
        mc_err_clear(&err);
        if (mc_add_input_resolve(store, files[i], resolved[i], &err) != MC_OK) {
            mc_log(ctx, "add: refused: %s", err.msg);
            bad++;
        }
    }
    if (bad)
        mc_log(ctx, "add: %d of %d file(s) refused; nothing was added", bad, nfiles);
    return bad == 0;
}

static mc_status put_str(mc_buf *b, const char *str, mc_err *err)
{
    return mc_buf_append(b, str, strlen(str) + 1, err);
}

/* Rank 0: copies every file to its segno's .tmp in the store and writes the
 * plan into P->wire. A file that cannot be copied is logged and marked. */
static bool copy_in(const mc_cli_ctx *ctx, const char *store, mc_manifest *m, char **files,
                    char (*resolved)[MC_PATH_MAX], int nfiles, add_plan *p)
{
    mc_err err;
    mc_err_clear(&err);
    char real[PATH_MAX];
    if (!realpath(store, real)) {
        int e = errno;
        mc_err_set(&err, mc_status_from_errno(e), e, "%s: %s", store, strerror(e));
        goto fail;
    }
    p->first = mc_manifest_alloc_segnos(m, (uint64_t)nfiles);
    p->store = real;
    if (mc_buf_append_u64(&p->wire, p->first, &err) != MC_OK ||
        mc_buf_append_u64(&p->wire, (uint64_t)nfiles, &err) != MC_OK || put_str(&p->wire, real, &err) != MC_OK)
        goto fail;
    for (int i = 0; i < nfiles; i++) {
        char tmp[MC_PATH_MAX + 8];
        copy_path(p, i, tmp);
        mc_err ferr;
        mc_err_clear(&ferr);
        uint8_t copied = mc_seg_copy_raw(resolved[i], tmp, p->first + (uint64_t)i, &ferr) == MC_OK;
        if (!copied)
            log_rejected(ctx, &ferr, resolved[i], files[i]);
        if (mc_buf_append(&p->wire, &copied, 1, &err) != MC_OK || put_str(&p->wire, files[i], &err) != MC_OK)
            goto fail;
    }
    p->store = NULL;
    return true;
fail:
    p->store = NULL;
    mc_log_err(ctx, &err);
    return false;
}

static uint64_t get_u64(const uint8_t *q)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)q[b] << (8 * b);
    return v;
}

/* A string at *Q before END; advances *Q. */
static const char *get_str(const uint8_t **q, const uint8_t *end)
{
    const uint8_t *nul = memchr(*q, 0, (size_t)(end - *q));
    if (!nul)
        return NULL;
    const char *str = (const char *)*q;
    *q = nul + 1;
    return str;
}

/* Every rank: the plan's fields from P->wire. */
static bool plan_decode(add_plan *p)
{
    const uint8_t *q = p->wire.p, *end = q + p->wire.n;
    if (p->wire.n < 16 || get_u64(q + 8) > INT_MAX)
        return false;
    p->first = get_u64(q);
    p->nfiles = (int)get_u64(q + 8);
    q += 16;
    if (!(p->store = get_str(&q, end)))
        return false;
    p->names = calloc((size_t)p->nfiles + 1, sizeof *p->names);
    p->copied = calloc((size_t)p->nfiles + 1, 1);
    if (!p->names || !p->copied)
        return false;
    for (int i = 0; i < p->nfiles; i++) {
        if (q >= end)
            return false;
        p->copied[i] = *q++;
        if (!(p->names[i] = get_str(&q, end)))
            return false;
    }
    return q == end;
}
/* This rank's share of the copies (i = rank, rank + size, ...): each valid
 * one appended to OUT as (index, descriptor), and (without
 * MC_ADD_ASSIGN_SEQ) its items already shadowed by newer versions in the
 * store counted into SHADOWED[0]; each bad one logged with its reason, under
 * the name the user gave. The count is information, not a check: a file
 * whose count fails (the store's overlapping segments too many to open at
 * once, out of memory, a damaged store segment) is still added, logged and
 * counted in SHADOWED[1]. Returns the number of bad files (rank 0 also
 * counts those it could not copy). */
static uint64_t validate_share(const mc_cli_ctx *ctx, const mc_manifest *m, const add_plan *p, unsigned flags,
                               mc_buf *out, uint64_t shadowed[2])
{
    uint64_t bad = 0;
    for (int i = 0; i < p->nfiles; i++)
        bad += ctx->rank == 0 && !p->copied[i];
    for (int i = ctx->rank; i < p->nfiles; i += ctx->size) {
        if (!p->copied[i])
            continue;
        char tmp[MC_PATH_MAX + 8];
        copy_path(p, i, tmp);
        mc_seg_meta meta = {0};
        mc_err err;
        mc_err_clear(&err);
        uint64_t n = 0;
        mc_status st = mc_add_validate(tmp, flags, &meta, &err);
        if (st == MC_OK && !(flags & MC_ADD_ASSIGN_SEQ) &&
            mc_add_count_shadowed(p->store, m, tmp, &meta, &n, &err) != MC_OK) {
            mc_log(ctx, "add: %s: its items shadowed by the store were not counted: %s", p->names[i], err.msg);
            mc_err_clear(&err);
            n = 0;
            shadowed[1]++;
        }
        shadowed[0] += n;
        if (st == MC_OK) {
            st = mc_buf_append_u64(out, (uint64_t)i, &err);
            if (st == MC_OK)
                st = mc_seg_meta_encode(out, &meta, &err);
        }
        mc_seg_meta_clear(&meta);
        if (st != MC_OK) {
            log_rejected(ctx, &err, tmp, p->names[i]);
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

/* Rank 0: gives every validated copy its segno (and, under
 * MC_ADD_ASSIGN_SEQ, its new seq), renames it into place and adds it to the
 * manifest (add.h). */
static bool install_all(const mc_cli_ctx *ctx, mc_manifest *m, const add_plan *p, unsigned flags,
                        mc_seg_meta *metas)
{
    mc_err err;
    mc_err_clear(&err);
    mc_status st = MC_OK;
    for (int i = 0; i < p->nfiles && st == MC_OK; i++) {
        uint64_t segno = p->first + (uint64_t)i;
        st = mc_add_install(p->store, m, segno, flags, &metas[i], &err);
        if (st == MC_OK && (flags & MC_ADD_ASSIGN_SEQ))
            mc_log(ctx, "add: %s -> segment %" PRIu64 " (%" PRIu64 " items, seq %" PRIu64 ")", p->names[i], segno,
                   metas[i].nitems, metas[i].max_seq);
        else if (st == MC_OK)
            mc_log(ctx, "add: %s -> segment %" PRIu64 " (%" PRIu64 " items)", p->names[i], segno, metas[i].nitems);
    }
    if (st != MC_OK) {
        mc_log_err(ctx, &err);
        return false;
    }
    return true;
}

/* Rank 0: the copies (made or half-made) of a failed add. */
static void remove_copies(const mc_cli_ctx *ctx, const add_plan *p)
{
    for (int i = 0; ctx->rank == 0 && i < p->nfiles; i++)
        mc_store_remove_segment(p->store, p->first + (uint64_t)i, NULL);
}

/* Rank 0 resolves and copies the inputs; every rank learns the plan. */
static int share_plan(const mc_cli_ctx *ctx, const char *store, mc_session *s, char **files,
                      char (*resolved)[MC_PATH_MAX], int nfiles, add_plan *p)
{
    bool ok = true;
    if (ctx->rank == 0)
        ok = copy_in(ctx, store, s->m, files, resolved, nfiles, p);
    if (!mc_bcast_u64_quiet(ok, 0, ctx->comm))   /* others wait quietly while rank 0 copies */
        return MC_EXIT_FAIL;
    if (ctx->size > 1) {
        void *buf = p->wire.p;
        uint64_t len = p->wire.n;
        int mrc = mc_bcast_bytes(&buf, &len, 0, ctx->comm);
        if (ctx->rank != 0) {
            p->wire.p = buf;
            p->wire.n = p->wire.cap = buf ? (size_t)len : 0;
        }
        if (mrc != MPI_SUCCESS)
            return MC_EXIT_FAIL;   /* a failed collective: every rank sees it */
    }
    ok = plan_decode(p);
    if (!ok)
        mc_log(ctx, "error: add: the list of files from rank 0 did not arrive intact");
    return mc_alltrue(ok, ctx->comm) ? MC_EXIT_OK : MC_EXIT_FAIL;
}

enum { O_ASSIGN_SEQ };
static const mc_opt_spec add_specs[] = {
    [O_ASSIGN_SEQ] = {"assign-seq", false, NULL, "off (seqs kept as written)",
                      "give each file one new seq above the store's, in order: added files win"},
    {NULL, false, NULL, NULL, NULL},
};

int mc_cmd_add(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, add_specs, 2, -1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    unsigned flags = cl.value[O_ASSIGN_SEQ] ? MC_ADD_ASSIGN_SEQ : 0;
    const char *store = cl.pos[0];
    char **files = cl.pos + 1;
    int nfiles = cl.npos - 1;
    mc_session s = {0};
    add_plan plan = {0};
    mc_buf mine = {0};
    void *all = NULL;
    uint64_t *lens = NULL, ncopied = 0, first = 0;
    mc_seg_meta *metas = NULL;
    char (*resolved)[MC_PATH_MAX] = NULL;
    rc = MC_EXIT_FAIL;
    bool ok = true;
    if (ctx->rank == 0) {
        resolved = calloc((size_t)nfiles, sizeof *resolved);
        ok = resolved && resolve_all(ctx, store, files, nfiles, resolved);
    }
    if (!mc_bcast_u64_quiet(ok, 0, ctx->comm))
        goto cleanup;
    if ((rc = mc_session_open(ctx, store, "add", &s)) != MC_EXIT_OK)
        goto cleanup;
    rc = MC_EXIT_FAIL;
    if (share_plan(ctx, store, &s, files, resolved, nfiles, &plan) != MC_EXIT_OK) {
        remove_copies(ctx, &plan);
        goto cleanup;
    }
    first = plan.first;
    ncopied = (uint64_t)plan.nfiles;   /* every segno from FIRST may have a file now */
    uint64_t shadowed[2] = {0, 0}, total_shadowed[2] = {0, 0};   /* items; files not counted */
    uint64_t bad = validate_share(ctx, s.m, &plan, flags, &mine, shadowed), total_bad = 0;
    MPI_Allreduce(&bad, &total_bad, 1, MPI_UINT64_T, MPI_SUM, ctx->comm);
    MPI_Allreduce(shadowed, total_shadowed, 2, MPI_UINT64_T, MPI_SUM, ctx->comm);
    if (total_bad) {
        remove_copies(ctx, &plan);
        if (ctx->rank == 0)
            mc_log(ctx, "add: %" PRIu64 " of %d file(s) failed validation; nothing was added", total_bad,
                   plan.nfiles);
        goto cleanup;
    }
    ok = mc_gather_bytes(mine.p, mine.n, &all, &lens, 0, ctx->comm) == MPI_SUCCESS;
    if (ok && ctx->rank == 0) {
        size_t total = 0;
        for (int r = 0; r < ctx->size; r++)
            total += (size_t)lens[r];
        metas = calloc((size_t)plan.nfiles, sizeof *metas);
        ok = metas && collect(ctx, all, total, plan.nfiles, metas);
        if (ok)
            ok = install_all(ctx, s.m, &plan, flags, metas);
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
    if (ctx->rank == 0) {
        mc_log(ctx, "add: %s: added %d segment(s), generation %" PRIu64, store, nfiles, mc_manifest_generation(s.m));
        if (!flags)
            mc_log(ctx, "add: %s%" PRIu64 " added item(s) shadowed by newer versions already in the store%s",
                   total_shadowed[1] ? "at least " : "", total_shadowed[0],
                   total_shadowed[0] ? " (their seqs are older: they stay invisible; --assign-seq makes added files win)"
                                     : "");
        if (!flags && total_shadowed[1])
            mc_log(ctx, "add: %" PRIu64 " file(s) not counted (see above)", total_shadowed[1]);
    }
    rc = MC_EXIT_OK;
cleanup:
    for (int i = 0; metas && i < nfiles; i++)   /* rank 0 only: nfiles == plan.nfiles */
        mc_seg_meta_clear(&metas[i]);
    free(metas);
    free(all);
    free(lens);
    free(resolved);
    mc_buf_free(&mine);
    plan_free(&plan);
    mc_session_close(&s);
    mc_cmdline_free(&cl);
    return rc;
}
