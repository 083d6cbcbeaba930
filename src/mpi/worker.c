/* worker: the compaction loop of ranks >= 1 (worker.h). */
#include "worker.h"

#include "signals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fault.h"
#include "log.h"
#include "mpiutil.h"
#include "wire.h"


mc_status mc_worker_execute(const char *store, const mc_request *req,
                            const mc_compact_hooks *hooks, mc_response *resp)
{
    mc_err err;
    mc_err_clear(&err);
    double t0 = MPI_Wtime();
    memset(resp, 0, sizeof *resp);
    mc_status st = mc_request_check(req, &err);
    if (st == MC_OK)
        st = mc_compact_run(store, req, hooks, resp, &err);
    if (st != MC_OK) {
        mc_compact_stats stats = resp->stats;
        mc_response_clear(resp);
        memset(resp, 0, sizeof *resp);
        resp->stats = stats;
        resp->id = req->id;
        resp->status = (int32_t)st;
        resp->sys_errno = err.sys_errno;
        snprintf(resp->msg, sizeof resp->msg, "%.*s", (int)sizeof resp->msg - 1,
                 err.msg[0] ? err.msg : mc_strerror(st));
    }
    resp->stats.seconds = MPI_Wtime() - t0;
    return st;
}

/* The worker's state, shared with the compaction's poll hook. */
typedef struct worker {
    const mc_cli_ctx *ctx;
    const char *store;
    mc_request *queue;      /* FIFO of received requests */
    size_t qhead, qlen, qcap;
    bool leaving;           /* asked to leave, farewell not yet sent */
    bool gone;              /* farewell sent: ignore requests until STOP */
    bool stopped;           /* STOP received */
    uint64_t running_id;    /* the request being run, for PROGRESS */
    double last_progress;   /* when PROGRESS was last sent */
    mc_buf msg;
    mc_err err;
} worker;

/* The last way out: rank 0 cannot be told (even a farewell failed), so it
 * would wait for this rank forever. The committed store is unchanged; the
 * next run removes what this job left and takes over its stale LOCK. */
static void abort_job(worker *w, const char *what)
{
    mc_log_err(w->ctx, &w->err);
    mc_log(w->ctx, "worker: %s; rank 0 cannot be told: aborting the job", what);
    MPI_Abort(w->ctx->comm, 1);
}

/* A failure rank 0 must hear of, and we cannot answer for a request: leave
 * the job (farewell), so that rank 0 re-issues what this rank holds. */
static void fail_out(worker *w, const char *what)
{
    mc_log_err(w->ctx, &w->err);
    if (w->gone)
        abort_job(w, what);   /* already left: nothing more to tell rank 0 */
    mc_log(w->ctx, "worker: %s; leaving the job", what);
    w->leaving = true;
}

static void queue_drop_all(worker *w)
{
    for (size_t i = 0; i < w->qlen; i++)
        mc_request_clear(&w->queue[(w->qhead + i) % w->qcap]);
    w->qhead = w->qlen = 0;
}

static mc_status queue_push(worker *w, mc_request *req)
{
    if (w->qlen == w->qcap) {
        size_t ncap = w->qcap ? w->qcap * 2 : 4;
        mc_request *q = calloc(ncap, sizeof *q);
        if (!q)
            return mc_err_set(&w->err, MC_ENOMEM, ENOMEM, "out of memory queueing a compaction request");
        for (size_t i = 0; i < w->qlen; i++)
            q[i] = w->queue[(w->qhead + i) % w->qcap];
        free(w->queue);
        w->queue = q;
        w->qcap = ncap;
        w->qhead = 0;
    }
    w->queue[(w->qhead + w->qlen) % w->qcap] = *req;
    w->qlen++;
    memset(req, 0, sizeof *req);
    return MC_OK;
}

static mc_status send_response(worker *w, const mc_response *resp);

/* A request in w->msg that does not decode (w->err says why): when its
 * header still gives the id, the answer is an error for that id (rank 0
 * retries the compaction, elsewhere if it can) and true; false when not even
 * the id can be read, or the answer could not be sent. */
static bool refuse_malformed(worker *w)
{
    mc_response resp;
    memset(&resp, 0, sizeof resp);
    if (!mc_wire_request_id(w->msg.p, w->msg.n, &resp.id))
        return false;
    mc_log(w->ctx, "worker: compaction %llu refused: %s", (unsigned long long)resp.id, w->err.msg);
    resp.status = MC_EPROTO;
    snprintf(resp.msg, sizeof resp.msg, "rank %d received a malformed request: %.400s", w->ctx->rank, w->err.msg);
    return send_response(w, &resp) == MC_OK;
}

/* Takes in one message rank 0 sent (STATUS from a probe). */
static void take_message(worker *w, const MPI_Status *status)
{
    mc_status st = mc_wire_recv(w->ctx->comm, status, &w->msg, &w->err);
    if (st == MC_OK && status->MPI_TAG == MC_TAG_REQUEST)
        st = mc_fault_check("recv_request", MC_FAULT_ANY_SEGNO, "request from rank 0", &w->err);
    if (st != MC_OK && status->MPI_TAG == MC_TAG_STOP) {
        /* STOP carries nothing: the probe told us enough. */
        mc_log_err(w->ctx, &w->err);
        w->stopped = true;
        return;
    }
    if (st != MC_OK) {
        /* A request may be lost: we cannot answer it. */
        fail_out(w, "a message from rank 0 could not be received");
        return;
    }
    if (status->MPI_TAG == MC_TAG_STOP) {
        w->stopped = true;
        return;
    }
    if (status->MPI_TAG != MC_TAG_REQUEST || w->gone || w->leaving)
        return;   /* ignored: we said (or are saying) farewell */
    if (mc_fault_hit("corrupt_request", MC_FAULT_ANY_SEGNO) && w->msg.n > 12)
        w->msg.n = 12 + (w->msg.n - 12) / 2;   /* header kept, the rest cut short */
    mc_request req;
    st = mc_wire_decode_request(w->msg.p, w->msg.n, &req, &w->err);
    if (st == MC_EPROTO && refuse_malformed(w))
        return;
    if (st == MC_OK)
        st = queue_push(w, &req);
    mc_request_clear(&req);
    if (st != MC_OK)
        fail_out(w, "cannot take a request");   /* without it we cannot answer it */
}

/* Receives every message already waiting; with BLOCK, first waits for one
 * (or for the leave signal). Stops at STOP (later messages are none). */
static void pump(worker *w, bool block)
{
    MPI_Status status;
    if (block && !mc_wait_message(w->ctx->comm, 0, MPI_ANY_TAG, &status,
                                  w->gone ? NULL : &mc_leave_requested, -1.0))
        return;
    int flag = block;
    while (!w->stopped && !w->leaving) {   /* leaving: the farewell comes first */
        /* After a long time away (a slow read), one Iprobe may only drive
         * the progress engine without matching what has just arrived. */
        for (int i = 0; !flag && i < 3; i++)
            MPI_Iprobe(0, MPI_ANY_TAG, w->ctx->comm, &flag, &status);
        if (!flag)
            return;
        take_message(w, &status);
        flag = 0;
    }
}

/* Poll hook of a running compaction: keep receiving; cancel on STOP or leave. */
static int poll_hook(void *ctx)
{
    worker *w = ctx;
    pump(w, false);
    if (mc_leave_requested)
        w->leaving = true;
    return w->stopped || w->leaving;
}

/* Merged hook of a running compaction: tell rank 0 how far it got, at most
 * every MC_PROGRESS_SEND_INTERVAL (best effort: a failed send is ignored). */
static void merged_hook(void *ctx, uint64_t bytes)
{
    worker *w = ctx;
    double t = MPI_Wtime();
    if (w->gone || w->leaving || w->stopped || t - w->last_progress < MC_PROGRESS_SEND_INTERVAL)
        return;
    w->last_progress = t;
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(w->running_id >> (8 * i));
        b[8 + i] = (uint8_t)(bytes >> (8 * i));
    }
    mc_err err;
    mc_wire_send(w->ctx->comm, 0, MC_TAG_PROGRESS, b, sizeof b, &err);
}

static void say_farewell(worker *w)
{
    queue_drop_all(w);
    w->leaving = false;
    w->gone = true;
    mc_log(w->ctx, "worker: leaving the job (farewell sent; outstanding requests abandoned)");
    if (mc_wire_send(w->ctx->comm, 0, MC_TAG_FAREWELL, NULL, 0, &w->err) != MC_OK)
        abort_job(w, "the farewell could not be sent");
}

static mc_status send_response(worker *w, const mc_response *resp)
{
    w->msg.n = 0;
    mc_status st = mc_wire_encode_response(resp, &w->msg, &w->err);
    if (st == MC_OK)
        st = mc_fault_check("send_response", MC_FAULT_ANY_SEGNO, "response to rank 0", &w->err);
    if (st == MC_OK)
        st = mc_wire_send(w->ctx->comm, 0, MC_TAG_RESPONSE, w->msg.p, w->msg.n, &w->err);
    return st;
}

/* Answers REQ with RESP. When that fails (out of memory, a response over
 * the MPI size limit, a transport error), a short error response for the
 * same id goes instead (rank 0 then removes whatever the run wrote and
 * retries; should the first one have arrived after all, the second is
 * ignored as unknown); when even that fails, the worker leaves the job. */
static void answer(worker *w, const mc_request *req, const mc_response *resp)
{
    if (send_response(w, resp) == MC_OK)
        return;
    mc_log_err(w->ctx, &w->err);
    mc_response short_resp;
    memset(&short_resp, 0, sizeof short_resp);
    short_resp.id = req->id;
    short_resp.status = (int32_t)(w->err.code != MC_OK ? w->err.code : MC_EIO);
    short_resp.sys_errno = w->err.sys_errno;
    snprintf(short_resp.msg, sizeof short_resp.msg, "rank %d could not send its response: %.400s",
             w->ctx->rank, w->err.msg);
    if (send_response(w, &short_resp) != MC_OK)
        fail_out(w, "cannot send a response");
}

static void run_one(worker *w)
{
    mc_request req = w->queue[w->qhead];
    memset(&w->queue[w->qhead], 0, sizeof req);
    w->qhead = (w->qhead + 1) % w->qcap;
    w->qlen--;

    mc_compact_hooks hooks = {.poll = poll_hook, .ctx = w, .merged = merged_hook};
    w->running_id = req.id;
    w->last_progress = MPI_Wtime();
    mc_response resp;
    mc_status st = mc_worker_execute(w->store, &req, &hooks, &resp);
    if (st == MC_ECANCELED && (w->stopped || w->leaving)) {
        /* Abandoned: no answer (a farewell or DONE follows); the compaction
         * removed its files. */
    } else {
        if (st != MC_OK)
            mc_log(w->ctx, "worker: compaction %llu failed: %s",
                   (unsigned long long)req.id, resp.msg);
        answer(w, &req, &resp);
        if (!w->leaving && mc_fault_hit("worker_leave", MC_FAULT_ANY_SEGNO))
            w->leaving = true;
    }
    mc_response_clear(&resp);
    mc_request_clear(&req);
}

mc_status mc_worker_run(const mc_cli_ctx *ctx, const char *store)
{
    worker w = { .ctx = ctx, .store = store };
    mc_err_clear(&w.err);

    /* Every way out of this loop is STOP; a failure leaves the job instead
     * (farewell) or aborts it (abort_job). */
    while (!w.stopped) {
        if (mc_leave_requested && !w.gone)
            w.leaving = true;
        if (w.leaving) {
            say_farewell(&w);
            continue;
        }
        if (w.qlen == 0 || w.gone) {
            pump(&w, true);
            continue;
        }
        run_one(&w);
        pump(&w, false);
    }
    mc_status st = mc_wire_send(ctx->comm, 0, MC_TAG_DONE, NULL, 0, &w.err);
    if (st != MC_OK)
        abort_job(&w, "DONE could not be sent");

    queue_drop_all(&w);
    free(w.queue);
    mc_buf_free(&w.msg);
    return st;
}
