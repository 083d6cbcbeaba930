/* remover: background unlinks of dropped segments (remover.h). */
#include "remover.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "err.h"
#include "store.h"

/* C11 threads (<threads.h>), the standard's own. */
#define BATCH 64   /* segnos the thread takes per lock */

struct mc_remover {
    const char *store;
    thrd_t thread;
    mtx_t mu;
    cnd_t work;     /* queued or stopping: the thread wakes */
    cnd_t space;    /* the ring has room: a push wakes */
    cnd_t idle;     /* nothing queued or in hand: a drain wakes */
    uint64_t *ring;
    size_t cap, head, n;     /* n queued from head */
    size_t in_hand;          /* taken by the thread, not yet tried */
    bool stop;
    uint64_t tried;
    mc_err errors[MC_REMOVER_ERRORS_KEPT];
    size_t nerrors;          /* kept in errors[] */
    size_t nfailed;          /* failures since the last collect, kept or not */
};

static int run(void *arg)
{
    mc_remover *r = arg;
    uint64_t batch[BATCH];
    mtx_lock(&r->mu);
    for (;;) {
        while (r->n == 0 && !r->stop)
            cnd_wait(&r->work, &r->mu);
        if (r->n == 0)
            break;   /* stopping, and nothing left */
        size_t k = r->n < BATCH ? r->n : BATCH;
        for (size_t i = 0; i < k; i++)
            batch[i] = r->ring[(r->head + i) % r->cap];
        r->head = (r->head + k) % r->cap;
        r->n -= k;
        r->in_hand = k;
        cnd_broadcast(&r->space);
        mtx_unlock(&r->mu);
        for (size_t i = 0; i < k; i++) {
            mc_err e;
            mc_err_clear(&e);
            bool failed = mc_store_remove_dropped_segment(r->store, batch[i], &e) != MC_OK;
            mtx_lock(&r->mu);
            r->tried++;
            r->in_hand--;
            if (failed) {
                if (r->nerrors < MC_REMOVER_ERRORS_KEPT)
                    r->errors[r->nerrors++] = e;
                r->nfailed++;
            }
            mtx_unlock(&r->mu);
        }
        mtx_lock(&r->mu);
        if (r->n == 0)
            cnd_broadcast(&r->idle);
    }
    cnd_broadcast(&r->idle);
    mtx_unlock(&r->mu);
    return 0;
}

/* Frees R, its lock and conditions (no thread runs). */
static void free_remover(mc_remover *r)
{
    cnd_destroy(&r->idle);
    cnd_destroy(&r->space);
    cnd_destroy(&r->work);
    mtx_destroy(&r->mu);
    free(r->ring);
    free(r);
}

mc_status mc_remover_create(const char *store, size_t capacity, mc_remover **out, mc_err *err)
{
    *out = NULL;
    mc_remover *r = calloc(1, sizeof *r);
    if (r)
        r->ring = calloc(capacity ? capacity : 1, sizeof *r->ring);
    if (!r || !r->ring) {
        if (r)
            free(r->ring);
        free(r);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory for a removal queue of %zu segments", capacity);
    }
    r->store = store;
    r->cap = capacity ? capacity : 1;
    if (mtx_init(&r->mu, mtx_plain) != thrd_success || cnd_init(&r->work) != thrd_success ||
        cnd_init(&r->space) != thrd_success || cnd_init(&r->idle) != thrd_success) {
        free(r->ring);
        free(r);   /* glibc's init cannot fail; nothing to destroy */
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "cannot set up the removal queue's lock");
    }
    /* The thread starts with every signal blocked: SIGTERM/SIGUSR1 (drain)
     * must reach the thread that waits for messages. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = thrd_create(&r->thread, run, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != thrd_success) {
        free_remover(r);
        return mc_err_set(err, MC_ENOMEM, e == thrd_nomem ? ENOMEM : EAGAIN,
                          "cannot start the thread that removes replaced segments");
    }
    *out = r;
    return MC_OK;
}

void mc_remover_push(mc_remover *r, uint64_t segno)
{
    mtx_lock(&r->mu);
    while (r->n == r->cap)
        cnd_wait(&r->space, &r->mu);
    r->ring[(r->head + r->n) % r->cap] = segno;
    r->n++;
    cnd_signal(&r->work);
    mtx_unlock(&r->mu);
}

void mc_remover_drain(mc_remover *r)
{
    mtx_lock(&r->mu);
    while (r->n > 0 || r->in_hand > 0)
        cnd_wait(&r->idle, &r->mu);
    mtx_unlock(&r->mu);
}

size_t mc_remover_collect(mc_remover *r, void (*log)(void *ctx, const mc_err *err), void *log_ctx)
{
    mc_err kept[MC_REMOVER_ERRORS_KEPT];
    mtx_lock(&r->mu);
    size_t nkept = r->nerrors, nfailed = r->nfailed;
    memcpy(kept, r->errors, nkept * sizeof kept[0]);
    r->nerrors = r->nfailed = 0;
    mtx_unlock(&r->mu);
    for (size_t i = 0; log && i < nkept; i++)
        log(log_ctx, &kept[i]);
    if (log && nfailed > nkept) {
        mc_err more;
        mc_err_set(&more, MC_EIO, 0,
                   "%s: %zu more replaced segment file(s) could not be removed; they stay as orphans "
                   "for the next writer",
                   r->store, nfailed - nkept);
        log(log_ctx, &more);
    }
    return nfailed;
}

uint64_t mc_remover_tried(mc_remover *r)
{
    mtx_lock(&r->mu);
    uint64_t t = r->tried;
    mtx_unlock(&r->mu);
    return t;
}

void mc_remover_destroy(mc_remover **pp)
{
    mc_remover *r = *pp;
    if (!r)
        return;
    mtx_lock(&r->mu);
    r->stop = true;
    cnd_signal(&r->work);
    mtx_unlock(&r->mu);
    thrd_join(r->thread, NULL);   /* the thread empties the ring before it ends */
    free_remover(r);
    *pp = NULL;
}
