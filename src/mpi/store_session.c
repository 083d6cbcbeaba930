/* store_session: lock, load, clean and share the manifest for a writing command (store_session.h). */
#include "store_session.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "manifest_io.h"
#include "manifest_wire.h"
#include "mpiutil.h"
#include "store.h"
#include "view.h"

/* Rank 0 encodes *m (when ok), every rank decodes: the shared part of
 * mc_session_open() and mc_manifest_load_bcast(). ROOT_OK is rank 0's
 * verdict so far. */
static int share_manifest(const mc_cli_ctx *ctx, bool root_ok, mc_manifest **m)
{
    mc_err err;
    mc_err_clear(&err);
    mc_buf b = {0};
    bool ok = root_ok;
    if (ctx->rank == 0 && ok && mc_manifest_encode(*m, &b, &err) != MC_OK) {
        mc_log_err(ctx, &err);
        ok = false;
    }
    ok = mc_bcast_u64_quiet(ok, 0, ctx->comm) != 0;
    if (!ok) {
        mc_buf_free(&b);
        return MC_EXIT_FAIL;
    }
    if (ctx->size == 1) {
        mc_buf_free(&b);
        return MC_EXIT_OK;
    }
    void *p = b.p;
    uint64_t len = b.n;
    bool mine = mc_bcast_bytes(&p, &len, 0, ctx->comm) == MPI_SUCCESS;
    if (mine && ctx->rank != 0) {
        if (mc_manifest_decode(p, (size_t)len, m, &err) != MC_OK) {
            mc_log_err(ctx, &err);
            mine = false;
        }
    }
    if (ctx->rank != 0)
        free(p);
    mc_buf_free(&b);
    if (!mc_alltrue(mine, ctx->comm)) {
        if (ctx->rank != 0)
            mc_manifest_destroy(m);
        return MC_EXIT_FAIL;
    }
    return MC_EXIT_OK;
}

int mc_session_open(const mc_cli_ctx *ctx, const char *store, const char *command, mc_session *s)
{
    memset(s, 0, sizeof *s);
    s->store = store;
    mc_err err;
    mc_err_clear(&err);
    bool ok = true;
    if (ctx->rank == 0) {
        mc_status st = mc_lock_acquire(store, command, &s->lock, &err);
        if (st == MC_OK)
            st = mc_manifest_load(store, &s->m, &err);
        if (st == MC_OK)
            st = mc_store_remove_orphans(store, s->m, &s->orphans_removed, &err);
        if (st != MC_OK) {
            mc_log_err(ctx, &err);
            ok = false;
        } else if (s->orphans_removed)
            mc_log(ctx, "%s: removed %zu orphan file(s) left by an earlier job", store, s->orphans_removed);
    }
    int rc = share_manifest(ctx, ok, &s->m);
    if (rc != MC_EXIT_OK)
        mc_session_close(s);
    return rc;
}

int mc_session_commit(const mc_cli_ctx *ctx, mc_session *s)
{
    uint64_t ok = 1, switched = 0;
    if (ctx->rank == 0) {
        mc_err err;
        mc_err_clear(&err);
        uint64_t before = mc_manifest_generation(s->m);
        /* The commands that commit through a session (add, gen) change the
         * content; compaction commits in the coordinator and keeps it. */
        mc_manifest_note_content_change(s->m);
        if (mc_manifest_commit(s->store, s->m, &err) != MC_OK) {
            mc_log_err(ctx, &err);
            ok = 0;
        }
        switched = mc_manifest_generation(s->m) != before;
    }
    uint64_t both = mc_bcast_u64_quiet(ok | switched << 1, 0, ctx->comm);
    s->switched = (both & 2) != 0;
    return (both & 1) ? MC_EXIT_OK : MC_EXIT_FAIL;
}

void mc_session_close(mc_session *s)
{
    mc_lock_release(&s->lock);
    mc_manifest_destroy(&s->m);
}

int mc_manifest_load_bcast(const mc_cli_ctx *ctx, const char *store, mc_manifest **m)
{
    *m = NULL;
    bool ok = true;
    if (ctx->rank == 0) {
        mc_err err;
        mc_err_clear(&err);
        if (mc_view_load_manifest(store, m, &err) != MC_OK) {   /* tolerates a racing commit */
            mc_log_err(ctx, &err);
            ok = false;
        }
    }
    return share_manifest(ctx, ok, m);
}
