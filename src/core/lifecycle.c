/* lifecycle: units and flights of rank 0, and the file-removal gate (lifecycle.h). */
#include "lifecycle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void mc_lc_init(mc_lc *lc, const mc_lc_ops *ops, void *ctx)
{
    memset(lc, 0, sizeof *lc);
    lc->ops = ops;
    lc->ctx = ctx;
}

static void unit_free(mc_unit *u)
{
    for (size_t i = 0; i < u->nparts; i++) {
        mc_request_clear(&u->parts[i]);
        mc_response_clear(&u->resps[i]);
    }
    free(u->parts);
    free(u->resps);
    if (u->orig)
        mc_request_clear(u->orig);
    free(u->orig);
    free(u);
}

void mc_lc_fini(mc_lc *lc)
{
    /* Units are reachable only through their flights: free each once. */
    for (size_t i = 0; i < lc->nflights; i++) {
        mc_unit *u = lc->flights[i]->u;
        if (u && --u->nlive == 0)
            unit_free(u);
        mc_request_clear(&lc->flights[i]->sent);
        free(lc->flights[i]);
    }
    free(lc->flights);
    memset(lc, 0, sizeof *lc);
}

/* ---- the gate ---- */

/* True when an applied unit still tracked allocated SEGNO. */
static bool applied_owns(const mc_lc *lc, uint64_t segno)
{
    for (size_t i = 0; i < lc->nflights; i++) {
        const mc_unit *u = lc->flights[i]->u;
        if (!u->applied)
            continue;
        for (size_t p = 0; p < u->nparts; p++)
            if (mc_request_owns_segno(&u->parts[p], segno))
                return true;
    }
    return false;
}

/* Removes SEGNO of REQ unless the gate refuses it; *FIRST keeps the first error. */
static void remove_output(mc_lc *lc, const mc_request *req, uint64_t segno, mc_status *first)
{
    mc_err e;
    mc_err_clear(&e);
    mc_status st;
    if (lc->ops->named(lc->ctx, segno) || applied_owns(lc, segno)) {
        lc->refused++;
        st = mc_err_set(&e, MC_EINVAL, 0,
                        "internal error: refusing to remove segment %llu of compaction %llu: "
                        "a manifest names it or an applied compaction wrote it",
                        (unsigned long long)segno, (unsigned long long)req->id);
    } else {
        st = lc->ops->remove(lc->ctx, segno, &e);
    }
    if (st != MC_OK) {
        lc->ops->log(lc->ctx, &e);
        if (*first == MC_OK)
            *first = st;
    }
}

/* Every segno of every run: whatever the flight may have written. */
mc_status mc_lc_remove_outputs(mc_lc *lc, const mc_request *req)
{
    mc_status first = MC_OK;
    for (size_t i = 0; i < req->nruns; i++)
        for (uint64_t k = 0; k < req->runs[i].count; k++)
            remove_output(lc, req, req->runs[i].first + k, &first);
    return first;
}

/* ---- units ---- */

static void unit_end(mc_lc *lc, mc_unit *u)
{
    if (u->doomed)
        lc->ndoomed--;
    if (u->quarantine)
        lc->ops->quarantine(lc->ctx, u->orig);
    else if (!u->applied)
        lc->ops->release(lc->ctx, u->orig);
    unit_free(u);
}

void mc_lc_unit_end_if_idle(mc_lc *lc, mc_unit *u)
{
    if (u->nlive == 0)
        unit_end(lc, u);
}

/* Forgets the finished slices of U's current attempt, removing their
 * outputs. Refused for an applied unit: those outputs are in the manifest. */
static void unit_forget_parts(mc_lc *lc, mc_unit *u)
{
    if (u->applied)
        return;
    for (size_t i = 0; i < u->nparts; i++) {
        if (u->parts[i].nruns)
            mc_lc_remove_outputs(lc, &u->parts[i]);
        mc_request_clear(&u->parts[i]);
        mc_response_clear(&u->resps[i]);
    }
    u->ndone = 0;
}

void mc_lc_unit_doom(mc_lc *lc, mc_unit *u, bool quarantine)
{
    if (u->applied)
        return;
    if (!u->doomed) {
        unit_forget_parts(lc, u);
        lc->ndoomed++;
    }
    u->doomed = true;
    u->quarantine = u->quarantine || quarantine;
}

void mc_lc_unit_applied(mc_lc *lc, mc_unit *u)
{
    u->applied = true;
    mc_lc_unit_end_if_idle(lc, u);
}

/* ---- flights ---- */

static bool reserve(mc_lc *lc, size_t more)
{
    size_t need = lc->nflights + more;
    if (need <= lc->cap)
        return true;
    size_t ncap = lc->cap ? lc->cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    mc_flight **q = realloc(lc->flights, ncap * sizeof *q);
    if (!q)
        return false;
    lc->flights = q;
    lc->cap = ncap;
    return true;
}

/* Adds a waiting flight for slice PART of U; takes SLICE's content.
 * REQUIRES: reserve() made room; F allocated. */
static mc_flight *flight_add(mc_lc *lc, mc_flight *f, mc_unit *u, size_t part, mc_request *slice)
{
    f->u = u;
    f->part = part;
    f->attempt = u->attempt;
    f->sent = *slice;
    memset(slice, 0, sizeof *slice);
    f->sent.id = ++lc->next_id;
    f->rank = -1;
    f->avoid_rank = -1;
    lc->nwaiting++;
    u->nlive++;
    lc->flights[lc->nflights++] = f;
    return f;
}

mc_status mc_lc_unit_start(mc_lc *lc, mc_request *orig, mc_request *slices, size_t n,
                           mc_flight **first, mc_err *err)
{
    *first = NULL;
    mc_unit *u = calloc(1, sizeof *u);
    mc_flight **fs = calloc(n, sizeof *fs);
    bool ok = u && fs && reserve(lc, n);
    if (ok) {
        u->parts = calloc(n, sizeof *u->parts);
        u->resps = calloc(n, sizeof *u->resps);
        ok = u->parts && u->resps;
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = (fs[i] = calloc(1, sizeof *fs[i])) != NULL;
    if (!ok) {
        for (size_t i = 0; fs && i < n; i++)
            free(fs[i]);
        free(fs);
        if (u) {
            free(u->parts);
            free(u->resps);
            free(u);
        }
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory tracking a compaction");
    }
    u->orig = orig;
    u->nparts = n;
    for (size_t i = 0; i < n; i++)
        flight_add(lc, fs[i], u, i, &slices[i]);
    *first = fs[0];
    free(fs);
    return MC_OK;
}

void mc_lc_flight_run(mc_lc *lc, mc_flight *f, int rank)
{
    if (f->rank < 0 && rank >= 0)
        lc->nwaiting--;
    f->rank = rank;
}

ssize_t mc_lc_find(const mc_lc *lc, uint64_t id)
{
    for (size_t i = 0; i < lc->nflights; i++)
        if (lc->flights[i]->sent.id == id)
            return (ssize_t)i;
    return -1;
}

size_t mc_lc_index(const mc_lc *lc, const mc_flight *f)
{
    size_t i = 0;
    while (lc->flights[i] != f)
        i++;
    return i;
}

bool mc_lc_flight_stale(const mc_flight *f)
{
    return f->attempt != f->u->attempt || f->u->applied;
}

void mc_lc_flight_end(mc_lc *lc, size_t idx)
{
    mc_flight *f = lc->flights[idx];
    mc_unit *u = f->u;
    if (f->rank < 0)
        lc->nwaiting--;
    mc_request_clear(&f->sent);
    free(f);
    lc->flights[idx] = lc->flights[--lc->nflights];
    if (lc->ops->ended)
        lc->ops->ended(lc->ctx);
    if (--u->nlive == 0 && (u->applied || u->doomed || u->ndone < u->nparts))
        unit_end(lc, u);
}

void mc_lc_flight_drop(mc_lc *lc, size_t idx)
{
    mc_flight *f = lc->flights[idx];
    /* A stale flight is not its unit's current work: dropping it says
     * nothing about the unit (which may be applied, or running again). */
    if (!mc_lc_flight_stale(f))
        mc_lc_unit_doom(lc, f->u, false);
    mc_lc_flight_end(lc, idx);
}

void mc_lc_flight_abandon(mc_lc *lc, size_t idx)
{
    mc_lc_remove_outputs(lc, &lc->flights[idx]->sent);
    mc_lc_flight_drop(lc, idx);
}

bool mc_lc_requeue(mc_lc *lc, size_t idx, bool no_more)
{
    mc_flight *f = lc->flights[idx];
    if (mc_lc_flight_stale(f)) {
        mc_lc_flight_end(lc, idx);
        return false;
    }
    if (no_more || f->u->doomed) {
        mc_lc_flight_drop(lc, idx);
        return false;
    }
    /* A new single run of as many segnos; SENT has a runs array to reuse. */
    uint64_t n = mc_request_segno_count(&f->sent);
    if (mc_request_set_run(&f->sent, lc->ops->alloc_segnos(lc->ctx, n), n, NULL) != MC_OK) {
        mc_lc_flight_drop(lc, idx);
        return false;
    }
    f->sent.id = ++lc->next_id;
    if (f->rank >= 0)
        lc->nwaiting++;
    f->rank = -1;
    return true;
}

mc_unit *mc_lc_part_done(mc_lc *lc, size_t idx, mc_response *resp)
{
    mc_flight *f = lc->flights[idx];
    mc_unit *u = f->u;
    u->parts[f->part] = f->sent;
    memset(&f->sent, 0, sizeof f->sent);
    u->resps[f->part] = *resp;
    memset(resp, 0, sizeof *resp);
    bool complete = ++u->ndone == u->nparts;
    mc_lc_flight_end(lc, idx);   /* frees U unless COMPLETE (or other flights refer to it) */
    return complete ? u : NULL;
}

bool mc_lc_unit_under_way(const mc_lc *lc, const mc_unit *u)
{
    if (u->ndone > 0)
        return true;
    for (size_t i = 0; i < lc->nflights; i++) {
        const mc_flight *f = lc->flights[i];
        if (f->u == u && f->rank >= 0 && !mc_lc_flight_stale(f))
            return true;
    }
    return false;
}

void mc_lc_end_waiting_of(mc_lc *lc, const mc_unit *u)
{
    for (size_t i = lc->nflights; i-- > 0;)
        if (lc->flights[i]->u == u && lc->flights[i]->rank < 0)
            mc_lc_flight_end(lc, i);
}

void mc_lc_end_doomed_waiting(mc_lc *lc)
{
    if (lc->ndoomed == 0 || lc->nwaiting == 0)
        return;
    for (size_t i = lc->nflights; i-- > 0;)
        if (lc->flights[i]->rank < 0 && lc->flights[i]->u->doomed)
            mc_lc_flight_end(lc, i);
}

mc_status mc_lc_unit_restart(mc_lc *lc, mc_unit *u, int avoid_rank, mc_err *err)
{
    mc_request again;
    memset(&again, 0, sizeof again);
    mc_flight *f = NULL;
    mc_status st = mc_request_copy(&again, u->orig, err);
    if (st == MC_OK && (!(f = calloc(1, sizeof *f)) || !reserve(lc, 1)))
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory restarting a compaction");
    if (st != MC_OK) {
        free(f);
        mc_request_clear(&again);
        return st;
    }
    unit_forget_parts(lc, u);
    u->attempt++;
    mc_lc_end_waiting_of(lc, u);
    uint64_t n = mc_request_segno_count(&again);
    mc_request_set_run(&again, lc->ops->alloc_segnos(lc->ctx, n), n, NULL);   /* reuses ORIG's copied run */
    u->nparts = 1;
    flight_add(lc, f, u, 0, &again)->avoid_rank = avoid_rank;
    return MC_OK;
}
