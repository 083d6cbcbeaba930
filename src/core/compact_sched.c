/* sched: picking, applying and committing for rank 0, without MPI (compact_sched.h). */
#include "compact_sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "manifest_base.h"
#include "manifest_io.h"
#include "manifest_journal.h"
#include "parse.h"
#include "split.h"
#include "store.h"

/* ---- lifecycle callbacks ---- */

/* Pending input deletions are still named by the committed manifest. */
static bool lc_named(void *ctx, uint64_t segno)
{
    mc_sched *s = ctx;
    if (mc_manifest_find(s->m, segno))
        return true;
    for (size_t i = 0; i < s->ndeletes; i++)
        if (s->deletes[i] == segno)
            return true;
    return false;
}

static mc_status lc_remove(void *ctx, uint64_t segno, mc_err *err)
{
    mc_sched *s = ctx;
    return mc_store_remove_segment(s->store, segno, err);
}

static void lc_release(void *ctx, const mc_request *orig)
{
    mc_sched *s = ctx;
    mc_picker_release(s->picker, orig);
    s->dry = false;
}

static void lc_quarantine(void *ctx, const mc_request *orig)
{
    mc_sched *s = ctx;
    mc_picker_quarantine(s->picker, orig);
    s->dry = false;
}

static uint64_t lc_alloc(void *ctx, size_t n)
{
    mc_sched *s = ctx;
    return mc_manifest_alloc_segnos(s->m, n);
}

static void lc_ended(void *ctx)
{
    mc_sched *s = ctx;
    s->dry = false;
}

static void lc_log(void *ctx, const mc_err *err)
{
    mc_sched *s = ctx;
    if (s->log)
        s->log(s->log_ctx, err);
}

static const mc_lc_ops lc_ops = {
    .named = lc_named,
    .remove = lc_remove,
    .release = lc_release,
    .quarantine = lc_quarantine,
    .alloc_segnos = lc_alloc,
    .ended = lc_ended,
    .log = lc_log,
};

mc_status mc_sched_init(mc_sched *s, const char *store, mc_manifest *m, const mc_picker_opts *popts,
                        void (*log)(void *ctx, const mc_err *err), void *log_ctx, mc_err *err)
{
    memset(s, 0, sizeof *s);
    s->store = store;
    s->m = m;
    s->log = log;
    s->log_ctx = log_ctx;
    mc_lc_init(&s->lc, &lc_ops, s);
    /* Compactions add outputs before their inputs go (an apply), and
     * splitting level 0 into deeper levels multiplies segments: room for
     * twice the store, so that the segno index does not double (a rehash of
     * the whole store) inside an apply; 16 bytes a slot, slots >= 2x count. */
    size_t n = mc_manifest_count(m);
    uint64_t bg_min = MC_MANIFEST_BASE_MIN_DEFAULT;
    mc_status st = mc_manifest_reserve(m, n > SIZE_MAX / 4 ? n : 2 * n, err);
    const char *env = getenv("MPICOMPACT_MANIFEST_BG_MIN");
    if (st == MC_OK && env)
        st = mc_parse_u64("MPICOMPACT_MANIFEST_BG_MIN", env, &bg_min, err);
    s->commit_interval = MC_SCHED_COMMIT_INTERVAL;
    if (st == MC_OK && (env = getenv("MPICOMPACT_COMMIT_INTERVAL")) != NULL)
        st = mc_parse_seconds("MPICOMPACT_COMMIT_INTERVAL", env, &s->commit_interval, err);
    if (st == MC_OK)
        mc_manifest_base_enable(m, bg_min > SIZE_MAX ? SIZE_MAX : (size_t)bg_min, 0);
    if (st == MC_OK)
        st = mc_picker_create(m, popts, &s->picker, err);
    if (st == MC_OK && (st = mc_remover_create(store, MC_REMOVER_CAPACITY, &s->remover, err)) != MC_OK)
        mc_picker_destroy(&s->picker);
    return st;
}

void mc_sched_fini(mc_sched *s)
{
    mc_manifest_base_cancel(s->m);   /* a base not yet in the chain is not worth the wait */
    if (s->remover) {
        mc_remover_drain(s->remover);
        mc_remover_collect(s->remover, s->log, s->log_ctx);
        mc_remover_destroy(&s->remover);
    }
    mc_lc_fini(&s->lc);
    mc_picker_destroy(&s->picker);
    free(s->deletes);
    s->deletes = NULL;
    s->ndeletes = s->cap_deletes = 0;
}

/* ---- picking ---- */

size_t mc_sched_slices_wanted(const mc_request *req, uint64_t segment_size, size_t max_slices, size_t idle,
                              bool single)
{
    if (single)
        return 1;
    uint64_t bytes = 0;
    for (size_t i = 0; i < req->ninputs; i++)
        bytes += req->inputs[i].bytes;
    uint64_t by_size = bytes / (segment_size / 4 + 1);
    size_t want = idle;
    if (by_size < want)
        want = (size_t)by_size;
    if (want > MC_SCHED_MAX_SLICES)
        want = MC_SCHED_MAX_SLICES;
    if (want > max_slices)
        want = max_slices;
    return want ? want : 1;
}

/* A new unit for the picked REQ (taken over), cut in slices; *first is its
 * first flight. On failure REQ is released and freed. */
static mc_status unit_start(mc_sched *s, mc_request *req, size_t want, mc_flight **first, mc_err *err)
{
    mc_request *slices = NULL;
    size_t n = 0;
    mc_status st = mc_split_request(req, want, s->m, &slices, &n, err);
    for (size_t i = 0; i < n && st == MC_OK; i++)
        if (n > 1)
            st = mc_request_trim_guards(&slices[i], err);
    if (st == MC_OK)
        st = mc_lc_unit_start(&s->lc, req, slices, n, first, err);
    if (st == MC_OK) {
        free(slices);
        if (n > 1)
            s->slices += n;
        return MC_OK;
    }
    for (size_t i = 0; i < n; i++)
        mc_request_clear(&slices[i]);
    free(slices);
    mc_picker_release(s->picker, req);
    mc_request_clear(req);
    free(req);
    return st;
}

mc_status mc_sched_take(mc_sched *s, int rank, size_t nlive, bool leave_slices, bool no_pick, size_t idle,
                        bool single, mc_flight **out, mc_err *err)
{
    *out = NULL;
    mc_lc_end_doomed_waiting(&s->lc);
    for (size_t i = 0; i < s->lc.nflights && s->lc.nwaiting > 0; i++) {
        mc_flight *f = s->lc.flights[i];
        if (f->rank < 0 && (f->avoid_rank != rank || nlive <= 1) && !(leave_slices && f->u->nparts > 1)) {
            *out = f;
            return MC_OK;
        }
    }
    if (no_pick || s->dry || mc_sched_commit_urgent(s))
        return MC_OK;
    mc_request *req = NULL;
    mc_status st = mc_picker_next(s->picker, &req, err);
    mc_sched_note_moves(s);
    if (st != MC_OK)
        return st;
    if (!req) {
        s->dry = !mc_picker_yielded(s->picker);   /* yielded after its moves: more to come */
        return MC_OK;
    }
    size_t want = mc_sched_slices_wanted(req, mc_manifest_params(s->m)->segment_size,
                                         mc_picker_max_slices(s->picker, req), idle, single);
    return unit_start(s, req, want, out, err);
}

/* ---- answers and apply ---- */

mc_status mc_sched_slice_ok(mc_sched *s, size_t idx, mc_response *resp, mc_unit **complete, mc_err *err)
{
    *complete = NULL;
    mc_status st = mc_response_validate(&s->lc.flights[idx]->sent, resp, err);
    if (st != MC_OK)
        return st;
    *complete = mc_lc_part_done(&s->lc, idx, resp);
    return MC_OK;
}

static mc_status queue_deletes(mc_sched *s, const mc_request *req, mc_err *err)
{
    size_t need = s->ndeletes + req->ninputs;
    if (need > s->cap_deletes) {
        size_t ncap = s->cap_deletes ? s->cap_deletes * 2 : 64;
        while (ncap < need)
            ncap *= 2;
        uint64_t *nd = realloc(s->deletes, ncap * sizeof *nd);
        if (!nd)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory queueing %zu inputs for deletion",
                              req->ninputs);
        s->deletes = nd;
        s->cap_deletes = ncap;
    }
    for (size_t i = 0; i < req->ninputs; i++)
        s->deletes[s->ndeletes++] = req->inputs[i].segno;
    return MC_OK;
}

mc_status mc_sched_apply(mc_sched *s, mc_unit *u, mc_compact_stats *stats, mc_err *err)
{
    mc_request joined_req = {0};
    mc_response joined_resp = {0};
    const mc_request *req = &u->parts[0];
    const mc_response *resp = &u->resps[0];
    mc_status st = MC_OK;
    if (u->nparts > 1) {
        st = mc_split_join(u->orig, u->parts, u->resps, u->nparts, &joined_req, &joined_resp, err);
        if (st == MC_OK)
            st = mc_response_validate(&joined_req, &joined_resp, err);
        req = &joined_req;
        resp = &joined_resp;
    }
    /* Room for the deletions first: once applied, the unit cannot fail. */
    if (st == MC_OK && (st = queue_deletes(s, u->orig, err)) == MC_OK) {
        s->ndeletes -= u->orig->ninputs;
        st = mc_manifest_apply(s->m, req, resp, err);
    }
    if (st == MC_OK) {
        *stats = resp->stats;
        s->ndeletes += u->orig->ninputs;
        s->dirty = true;
        mc_picker_release(s->picker, u->orig);
        s->dry = false;
        mc_lc_unit_applied(&s->lc, u);   /* may free U */
    }
    mc_request_clear(&joined_req);
    mc_response_clear(&joined_resp);
    return st;
}

/* ---- commit ---- */

uint64_t mc_sched_note_moves(mc_sched *s)
{
    uint64_t moves = mc_picker_moves(s->picker);
    if (moves != s->moves_seen) {
        s->moves_seen = moves;
        s->dirty = true;
    }
    return moves;
}

bool mc_sched_commit_urgent(const mc_sched *s)
{
    return s->dirty && (s->ndeletes >= MC_SCHED_COMMIT_MAX_DELETES ||
                        mc_manifest_journal(s->m)->npending >= MC_SCHED_COMMIT_MAX_CHANGES);
}

bool mc_sched_commit_due(const mc_sched *s, double now, bool force)
{
    if (!s->dirty)
        return false;
    return force || mc_sched_commit_urgent(s) || now - s->last_commit >= s->commit_interval;
}

mc_status mc_sched_commit(mc_sched *s, double now, bool *switched, mc_err *err)
{
    uint64_t generation = mc_manifest_generation(s->m);
    mc_status st = mc_manifest_commit(s->store, s->m, err);
    *switched = mc_manifest_generation(s->m) != generation;
    if (*switched)
        s->commits++;
    if (st != MC_OK)
        return st;
    s->dirty = false;
    s->last_commit = now;
    /* Durable: the inputs it dropped may go. Failures of earlier removals
     * are logged here, on the caller's thread. */
    for (size_t i = 0; i < s->ndeletes; i++)
        mc_remover_push(s->remover, s->deletes[i]);
    s->ndeletes = 0;
    mc_remover_collect(s->remover, s->log, s->log_ctx);
    return MC_OK;
}
