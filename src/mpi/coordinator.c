/* coordinator: rank 0's pick / scatter / gather / commit loop (coordinator.h). */
#include "coordinator.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fault.h"
#include "lifecycle.h"
#include "log.h"
#include "manifest_io.h"
#include "mpiutil.h"
#include "compact_sched.h"
#include "signals.h"
#include "store.h"
#include "wire.h"
#include "worker.h"

#define WAIT_SLICE 0.2              /* seconds: longest wait before housekeeping */
#define GRACE_MIN 10.0              /* seconds in-flight work gets after a drain */
#define PROGRESS_SLICE 0.1          /* seconds between progress snapshots */
#define RECV_FAILURES_MAX 20        /* failed receives in a row before rank 0 gives up */


/* Units (picked compactions) and flights (their slices on their way to a
 * rank) live in lifecycle.h, which also owns every removal of output files. */
typedef mc_unit unit;
typedef mc_flight flight;

typedef struct send_slot {
    MPI_Request req;
    mc_buf buf;
} send_slot;

typedef struct coord {
    uint64_t *live;         /* per rank: bytes merged by its running compaction (PROGRESS) */
    uint64_t merged;        /* input bytes of every successful run answered so far (slices too) */
    const mc_cli_ctx *ctx;
    const char *store;
    mc_manifest *m;
    const mc_coord_opts *opts;
    mc_report *rep;
    mc_progress *progress;

    mc_sched s;             /* picker, units and flights, queued deletions, commits */
    unsigned *load;         /* per rank: requests sent there and not answered */
    unsigned *node_busy;    /* per host (opts->cores): ranks compacting there; NULL: no cap */
    unsigned *node_tally;   /* per host: scratch for idle_ranks */
    bool *gone;             /* per rank: said farewell */
    size_t nlive;           /* ranks that take work, rank 0 included */
    int rotor;              /* next worker rank to try */
    size_t running;         /* requests being run (sent or local) */

    double t0, last_progress;

    send_slot *sends;
    size_t nsends, cap_sends;
    mc_buf msg;

    bool stop_picking, draining, abandoned, failed, fatal, local_busy, ending;
    flight *local;          /* the flight rank 0 is running, or NULL */
    double drain_start, grace;
    double busy;            /* coordinator work, seconds */
    unsigned recv_failures; /* failed receives in a row */
    mc_err err;
} coord;

static double now(void)
{
    return MPI_Wtime();
}

static void go_fatal(coord *c)
{
    mc_log_err(c->ctx, &c->err);
    c->fatal = true;
    c->stop_picking = true;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*p, ncap * size);
    if (!q)
        return false;
    *p = q;
    *cap = ncap;
    return true;
}

/* "12,13,40" (truncated) for messages. */
static void format_inputs(const mc_request *req, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < req->ninputs && n + 24 < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%llu", i ? "," : "",
                              (unsigned long long)req->inputs[i].segno);
}

/* Failed removals of the scheduler and the lifecycle, logged. */
static void sched_log(void *ctx, const mc_err *err)
{
    coord *c = ctx;
    mc_log_err(c->ctx, err);
}

/* No new work (drain, --strict): flights waiting to be sent are dropped,
 * except the slices of a unit already under way, which still go out so that
 * the work done on its other slices is not thrown away. */
static void drop_waiting(coord *c)
{
    mc_lc_end_doomed_waiting(&c->s.lc);
    for (size_t i = c->s.lc.nflights; i-- > 0;) {
        flight *f = c->s.lc.flights[i];
        if (f->rank < 0 && !mc_lc_unit_under_way(&c->s.lc, f->u))
            mc_lc_flight_drop(&c->s.lc, i);
    }
}

static bool rank_busy(const coord *c, int rank)
{
    return rank == 0 ? c->local_busy : c->load[rank] > 0;
}

/* RANK's busy state may have changed from WAS: its host's count follows. */
static void busy_changed(coord *c, int rank, bool was)
{
    bool is = rank_busy(c, rank);
    if (!c->node_busy || was == is)
        return;
    unsigned *n = &c->node_busy[c->opts->cores->node_of[rank]];
    *n = is ? *n + 1 : *n - 1;
}

/* An idle RANK may start compacting: its host has a core no merge holds
 * (cores.h: more merges than cores only take turns on them). */
static bool host_has_core(const coord *c, int rank)
{
    if (!c->node_busy)
        return true;
    int node = c->opts->cores->node_of[rank];
    return c->node_busy[node] < c->opts->cores->cores[node];
}

static void stop_running(coord *c, flight *f)
{
    c->running--;
    if (f->rank > 0) {
        bool was = rank_busy(c, f->rank);
        c->load[f->rank]--;
        busy_changed(c, f->rank, was);
    }
}

/* ---- picking and sending ---- */

static void note_moves(coord *c)
{
    c->rep->moved = mc_sched_note_moves(&c->s);
}

/* Ranks with nothing to do right now (rank 0 when it is not compacting)
 * that may start (no more per host than it has cores free). */
static size_t idle_ranks(const coord *c)
{
    size_t n = 0;
    if (c->node_busy)
        memset(c->node_tally, 0, c->opts->cores->nnodes * sizeof *c->node_tally);
    for (int r = 0; r < c->ctx->size; r++) {
        if (rank_busy(c, r) || (r > 0 && c->gone[r]))
            continue;
        if (c->node_busy) {
            int node = c->opts->cores->node_of[r];
            if (c->node_busy[node] + c->node_tally[node] >= c->opts->cores->cores[node])
                continue;
            c->node_tally[node]++;
        }
        n++;
    }
    return n;
}

/* Work for RANK: a waiting flight it may run, or a new pick. A slice waits
 * for an idle rank while there is one: slices were cut for idle ranks, and
 * two slices queued on one rank run one after the other. */
static flight *take_work(coord *c, int rank)
{
    size_t idle = idle_ranks(c);
    bool leave_slices = rank_busy(c, rank) && idle > 0;
    flight *f = NULL;
    mc_status st = mc_sched_take(&c->s, rank, c->nlive, leave_slices, c->stop_picking, idle, c->opts->single,
                                 &f, &c->err);
    note_moves(c);
    if (st != MC_OK) {
        go_fatal(c);
        return NULL;
    }
    c->rep->slices = c->s.slices;
    return f;
}

static bool job_has_room(const coord *c)
{
    return !c->opts->single || c->running == 0;
}

static void test_sends(coord *c)
{
    for (size_t i = c->nsends; i-- > 0;) {
        int done = 0;
        MPI_Test(&c->sends[i].req, &done, MPI_STATUS_IGNORE);
        if (done) {
            mc_buf_free(&c->sends[i].buf);
            c->sends[i] = c->sends[--c->nsends];
        }
    }
}

static void send_request(coord *c, flight *f, int rank)
{
    /* In flight before it is sent: the answer may come before Isend returns. */
    mc_lc_flight_run(&c->s.lc, f, rank);
    c->running++;
    bool was = rank_busy(c, rank);
    c->load[rank]++;
    busy_changed(c, rank, was);
    if (!grow((void **)&c->sends, &c->cap_sends, c->nsends + 1, sizeof *c->sends)) {
        mc_err_set(&c->err, MC_ENOMEM, ENOMEM, "out of memory sending a compaction request");
        go_fatal(c);
        return;
    }
    send_slot *s = &c->sends[c->nsends];
    memset(s, 0, sizeof *s);
    if (mc_wire_encode_request(&f->sent, &s->buf, &c->err) != MC_OK) {
        mc_buf_free(&s->buf);
        go_fatal(c);
        return;
    }
    if (s->buf.n > INT_MAX) {
        mc_buf_free(&s->buf);
        mc_err_set(&c->err, MC_ELIMIT, 0, "compaction %llu: request of %zu bytes is over MPI's message limit",
                   (unsigned long long)f->sent.id, s->buf.n);
        go_fatal(c);
        return;
    }
    if (MPI_Isend(s->buf.p, (int)s->buf.n, MPI_BYTE, rank, MC_TAG_REQUEST, c->ctx->comm, &s->req) != MPI_SUCCESS) {
        mc_buf_free(&s->buf);
        mc_err_set(&c->err, MC_EIO, 0, "MPI_Isend of compaction %llu to rank %d failed",
                   (unsigned long long)f->sent.id, rank);
        go_fatal(c);
        return;
    }
    c->nsends++;
}

/* Fills the workers, in rotation, up to opts.inflight requests each. */
static void schedule_remote(coord *c)
{
    int nworkers = c->ctx->size - 1;
    bool sent = true;
    while (sent && nworkers > 0) {
        sent = false;
        for (int k = 0; k < nworkers && !c->fatal && !c->ending && job_has_room(c); k++) {
            int rank = 1 + (c->rotor - 1 + k) % nworkers;
            if (c->gone[rank] || c->load[rank] >= c->opts->inflight ||
                (c->load[rank] == 0 && !host_has_core(c, rank)))
                continue;
            flight *f = take_work(c, rank);
            if (!f)
                continue;
            send_request(c, f, rank);
            sent = true;
        }
    }
    if (nworkers > 0)
        c->rotor = 1 + c->rotor % nworkers;
}

/* ---- results ---- */

/* U's inputs stay as they are for good: listed in the report, doomed. */
static void unit_quarantine(coord *c, unit *u)
{
    for (size_t i = 0; i < u->orig->ninputs; i++)
        if (mc_report_add_quarantined(c->rep, u->orig->inputs[i].segno, &c->err) != MC_OK)
            go_fatal(c);
    mc_lc_unit_doom(&c->s.lc, u, true);
}

/* Every slice of U succeeded: apply them as one unit. */
static void unit_apply(coord *c, unit *u)
{
    mc_err e;
    mc_err_clear(&e);
    mc_compact_stats stats;
    if (mc_sched_apply(&c->s, u, &stats, &e) == MC_OK) {
        mc_report_add(c->rep, -1, &stats, true);   /* the unit's totals; workers counted per run */
        return;
    }
    char inputs[256];
    format_inputs(u->orig, inputs, sizeof inputs);
    mc_log(c->ctx, "compaction of segments %s cannot be applied: %s; its outputs are removed and its "
           "inputs quarantined", inputs, e.msg);
    c->rep->compactions_failed++;
    c->failed = true;
    unit_quarantine(c, u);
    mc_lc_unit_end_if_idle(&c->s.lc, u);
}

static void handle_failure(coord *c, size_t idx, int rank, const char *why)
{
    flight *f = c->s.lc.flights[idx];
    unit *u = f->u;
    char inputs[256];
    format_inputs(&f->sent, inputs, sizeof inputs);
    mc_lc_remove_outputs(&c->s.lc, &f->sent);
    u->failures++;
    mc_log(c->ctx, "compaction %llu (inputs %s) failed on rank %d (failure %u): %s",
           (unsigned long long)f->sent.id, inputs, rank, u->failures, why);
    if (c->opts->strict) {
        c->rep->compactions_failed++;
        c->failed = true;
        c->stop_picking = true;
        mc_log(c->ctx, "--strict: no new compactions; finishing those in flight");
        mc_lc_flight_drop(&c->s.lc, idx);
        drop_waiting(c);
        return;
    }
    if (u->failures <= c->opts->retries) {
        if (c->stop_picking) {
            mc_lc_flight_drop(&c->s.lc, idx);
            return;
        }
        c->rep->compactions_retried++;
        /* Issued again, unsplit, with a new id and new segnos, avoiding RANK. */
        if (mc_lc_unit_restart(&c->s.lc, u, rank, &c->err) != MC_OK) {
            mc_lc_unit_doom(&c->s.lc, u, false);
            go_fatal(c);
        }
        mc_lc_flight_end(&c->s.lc, mc_lc_index(&c->s.lc, f));
        return;
    }
    c->rep->compactions_failed++;
    c->failed = true;
    format_inputs(u->orig, inputs, sizeof inputs);
    mc_log(c->ctx, "segments %s quarantined after %u failed attempts; they stay as they are", inputs, u->failures);
    unit_quarantine(c, u);
    /* Its other slices waiting to run are dropped; running ones end when they answer. */
    mc_lc_flight_run(&c->s.lc, f, 0);   /* not waiting: ends last, below */
    mc_lc_end_waiting_of(&c->s.lc, u);
    mc_lc_flight_end(&c->s.lc, mc_lc_index(&c->s.lc, f));
}

/* Takes over RESP (cleared). */
static void handle_response(coord *c, int rank, mc_response *resp)
{
    ssize_t found = mc_lc_find(&c->s.lc, resp->id);
    if (found < 0 || c->s.lc.flights[found]->rank != rank) {
        mc_log(c->ctx, "ignoring a response from rank %d for unknown compaction %llu",
               rank, (unsigned long long)resp->id);
        return;
    }
    size_t idx = (size_t)found;
    flight *f = c->s.lc.flights[idx];
    unit *u = f->u;
    stop_running(c, f);
    if (c->live)
        c->live[rank] = 0;
    if (resp->status == MC_OK)
        c->merged += resp->stats.bytes_in;
    mc_report_add(c->rep, rank, &resp->stats, false);   /* the rank's run; totals when applied */
    if (mc_lc_flight_stale(f)) {
        /* From an attempt that already failed (or a unit applied without it). */
        mc_lc_remove_outputs(&c->s.lc, &f->sent);
        mc_lc_flight_end(&c->s.lc, idx);
        return;
    }
    if (c->abandoned || c->fatal || u->doomed) {
        mc_lc_flight_abandon(&c->s.lc, idx);
        return;
    }
    mc_err e;
    mc_err_clear(&e);
    mc_status st = (mc_status)resp->status;
    unit *complete = NULL;
    if (st == MC_OK) {
        /* The slice is done: kept for the unit, applied with the last one. */
        st = mc_sched_slice_ok(&c->s, idx, resp, &complete, &e);
        if (st != MC_OK)
            mc_log(c->ctx, "rank %d's response for compaction %llu is invalid",
                   rank, (unsigned long long)resp->id);
    } else {
        snprintf(e.msg, sizeof e.msg, "%s", resp->msg);
    }
    if (st != MC_OK) {
        handle_failure(c, idx, rank, e.msg);
        return;
    }
    if (complete)
        unit_apply(c, complete);
}

static void handle_farewell(coord *c, int rank)
{
    if (rank <= 0 || c->gone[rank])
        return;
    c->gone[rank] = true;
    c->nlive--;
    if (c->live)
        c->live[rank] = 0;
    size_t n = 0;
    for (size_t i = c->s.lc.nflights; i-- > 0;) {
        flight *f = c->s.lc.flights[i];
        if (f->rank != rank)
            continue;
        stop_running(c, f);
        mc_lc_remove_outputs(&c->s.lc, &f->sent);   /* the worker has stopped writing */
        if (mc_lc_requeue(&c->s.lc, i, c->stop_picking)) {
            c->rep->compactions_reissued++;
            n++;
        }
    }
    mc_log(c->ctx, "rank %d left the job; %zu of its compactions go to other ranks", rank, n);
}

static void handle_message(coord *c, const MPI_Status *status, size_t *done_acks)
{
    if (mc_wire_recv(c->ctx->comm, status, &c->msg, &c->err) != MC_OK) {
        /* The message may still be waiting: a receive that keeps failing
         * must not keep rank 0 spinning on it. */
        go_fatal(c);
        if (++c->recv_failures >= RECV_FAILURES_MAX) {
            mc_log(c->ctx, "rank 0 cannot receive from rank %d (%u failures in a row); aborting the job; "
                   "the committed store is unchanged", status->MPI_SOURCE, c->recv_failures);
            MPI_Abort(c->ctx->comm, MC_EXIT_FAIL);
        }
        return;
    }
    c->recv_failures = 0;
    int rank = status->MPI_SOURCE;
    switch (status->MPI_TAG) {
    case MC_TAG_RESPONSE: {
        mc_response resp;
        if (mc_wire_decode_response(c->msg.p, c->msg.n, &resp, &c->err) != MC_OK) {
            mc_log(c->ctx, "rank %d sent a malformed response", rank);
            go_fatal(c);
            return;
        }
        handle_response(c, rank, &resp);
        mc_response_clear(&resp);
        break;
    }
    case MC_TAG_FAREWELL:
        handle_farewell(c, rank);
        break;
    case MC_TAG_DONE:
        if (done_acks)
            (*done_acks)++;
        break;
    case MC_TAG_PROGRESS:
        if (c->live && c->msg.n == 16 && rank > 0 && !c->gone[rank]) {
            uint64_t bytes = 0;
            for (int i = 0; i < 8; i++)
                bytes |= (uint64_t)((const uint8_t *)c->msg.p)[8 + i] << (8 * i);
            c->live[rank] = bytes;
        }
        break;
    default:
        mc_log(c->ctx, "ignoring a message with tag %d from rank %d", status->MPI_TAG, rank);
    }
}

/* Takes in every message already waiting. */
static void service(coord *c)
{
    test_sends(c);
    /* An urgent commit goes first (maybe_commit): what arrives meanwhile waits. */
    while (!c->fatal && !mc_sched_commit_urgent(&c->s)) {
        int flag = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->ctx->comm, &flag, &status);
        if (!flag)
            return;
        handle_message(c, &status, NULL);
    }
}

/* ---- commit, drain, progress ---- */

static void maybe_commit(coord *c, bool force)
{
    note_moves(c);
    double t = now();
    if (c->fatal || !mc_sched_commit_due(&c->s, t, force))
        return;
    if (!force && !mc_sched_commit_urgent(&c->s)) {
        int waiting = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->ctx->comm, &waiting, MPI_STATUS_IGNORE);
        if (waiting)
            return;   /* batch it with what is arriving */
    }
    if (mc_fault_hit("coordinator_crash", MC_FAULT_ANY_SEGNO)) {
        mc_log(c->ctx, "fault coordinator_crash: exiting before commit (test only)");
        _exit(9);
    }
    /* If CURRENT was switched but the commit failed, it may not be durable:
     * the queued inputs stay (the previous generation names them) and, the
     * run being fatal, no orphan sweep follows (*committed is false). */
    bool switched = false;
    mc_status st = mc_sched_commit(&c->s, t, &switched, &c->err);
    if (switched)
        c->rep->commits++;
    if (st != MC_OK)
        go_fatal(c);
}

static void check_limits(coord *c)
{
    double t = now();
    bool timed_out = c->opts->time_limit > 0 && t - c->t0 >= c->opts->time_limit;
    if (!c->draining && (mc_drain_requested || timed_out)) {
        c->draining = true;
        c->stop_picking = true;
        c->drain_start = t;
        c->grace = c->opts->time_limit / 10 > GRACE_MIN ? c->opts->time_limit / 10 : GRACE_MIN;
        drop_waiting(c);
        mc_log(c->ctx, "draining (%s): no new compactions; waiting up to %.0f s for %zu in flight",
               timed_out ? "time limit" : "signal", c->grace, c->running);
    }
    if (c->draining && !c->abandoned && c->running > 0 && t - c->drain_start > c->grace) {
        c->abandoned = true;
        mc_log(c->ctx, "drain grace over: abandoning %zu compactions in flight", c->running);
    }
}

static void show_progress(coord *c, bool final)
{
    if (!c->progress)
        return;
    double t = now();
    if (!final && t - c->last_progress < PROGRESS_SLICE)
        return;
    c->last_progress = t;
    mc_progress_snap s;
    memset(&s, 0, sizeof s);
    mc_progress_snap_levels(&s, c->m);
    s.done = c->rep->compactions_done;
    s.inflight = c->running;
    s.failed = c->rep->compactions_failed;
    s.bytes_read = c->merged;   /* the report counts applied compactions only: it jumps */
    for (int r = 0; c->live && r < c->ctx->size; r++)
        s.bytes_read += c->live[r];   /* merged inside compactions still running */
    s.pending_bytes = mc_picker_pending_bytes(c->s.picker);
    if (final)
        mc_progress_finish(c->progress, &s);
    else
        mc_progress_update(c->progress, &s);
}

/* Everything rank 0 does between two waits (or two polls of its own run). */
static void housekeeping(coord *c)
{
    double t = now();
    service(c);
    check_limits(c);
    schedule_remote(c);
    maybe_commit(c, false);
    show_progress(c, false);
    c->busy += now() - t;
}

/* Cancels rank 0's run when the job is abandoned or its result would be
 * thrown away (its unit restarted, doomed or applied meanwhile). */
static int poll_hook(void *ctx)
{
    coord *c = ctx;
    housekeeping(c);
    return c->abandoned || c->fatal || mc_lc_flight_stale(c->local) || c->local->u->doomed;
}

/* Rank 0's own compaction: its live bytes for the progress display. */
static void local_merged(void *ctx, uint64_t bytes)
{
    coord *c = ctx;
    if (c->live)
        c->live[0] = bytes;
}

static void run_local(coord *c, flight *f)
{
    mc_lc_flight_run(&c->s.lc, f, 0);
    c->running++;
    c->local_busy = true;
    busy_changed(c, 0, false);
    c->local = f;
    mc_compact_hooks hooks = {.poll = poll_hook, .ctx = c, .merged = local_merged};
    mc_response resp;
    double busy_before = c->busy;
    mc_worker_execute(c->store, &f->sent, &hooks, &resp);
    /* Rank 0's compaction time without the coordinator work done in the hook. */
    resp.stats.seconds -= c->busy - busy_before;
    if (resp.stats.seconds < 0)
        resp.stats.seconds = 0;
    c->local_busy = false;
    busy_changed(c, 0, true);
    c->local = NULL;
    if (c->live)
        c->live[0] = 0;
    double t = now();
    handle_response(c, 0, &resp);
    c->busy += now() - t;
    mc_response_clear(&resp);
}

/* STOP to every worker, then take in everything they still send, up to
 * their DONE: afterwards no rank writes and no message is pending. */
static void stop_workers(coord *c)
{
    c->ending = true;
    c->stop_picking = true;
    size_t acks = 0, want = (size_t)c->ctx->size - 1;
    for (int r = 1; r < c->ctx->size; r++) {
        mc_err e;
        if (mc_wire_send(c->ctx->comm, r, MC_TAG_STOP, NULL, 0, &e) != MC_OK)
            mc_log_err(c->ctx, &e);
    }
    /* Results still arriving belong to abandoned work: dropped. */
    if (c->running > 0)
        c->abandoned = true;
    while (acks < want) {
        MPI_Status status;
        if (mc_wait_message(c->ctx->comm, MPI_ANY_SOURCE, MPI_ANY_TAG, &status, NULL, -1.0))
            handle_message(c, &status, &acks);
    }
    for (size_t i = 0; i < c->nsends; i++) {
        MPI_Wait(&c->sends[i].req, MPI_STATUS_IGNORE);
        mc_buf_free(&c->sends[i].buf);
    }
    c->nsends = 0;
}

static void main_loop(coord *c)
{
    for (;;) {
        housekeeping(c);
        if (c->fatal || c->abandoned)
            return;
        if (!c->local_busy && job_has_room(c) && host_has_core(c, 0)) {
            flight *f = take_work(c, 0);
            if (f) {
                run_local(c, f);
                continue;
            }
            if (c->fatal)
                return;
        }
        if (c->s.lc.nflights == 0 && (c->s.dry || c->stop_picking))
            return;   /* nothing running or waiting, and nothing to pick */
        if (!c->s.dry && !c->stop_picking && job_has_room(c))
            continue;   /* the picker yielded after a quota of moves: messages first, then more */
        MPI_Status status;
        if (mc_wait_message(c->ctx->comm, MPI_ANY_SOURCE, MPI_ANY_TAG, &status,
                            c->draining ? NULL : &mc_drain_requested, WAIT_SLICE)) {
            double t = now();
            handle_message(c, &status, NULL);
            c->busy += now() - t;
        }
    }
}

int mc_coordinator_run(const mc_cli_ctx *ctx, const char *store, mc_manifest *m,
                       const mc_coord_opts *opts, mc_report *report, bool *committed)
{
    coord cs = { .ctx = ctx, .store = store, .m = m, .opts = opts, .rep = report };
    coord *c = &cs;
    mc_err_clear(&c->err);
    size_t size = (size_t)ctx->size;
    c->nlive = size;
    c->rotor = 1;
    c->t0 = now();
    report->initial_bytes = mc_manifest_total_bytes(m);


    mc_picker_opts popts = { .full = opts->full };
    /* A narrower merge than the limits allow, to exercise the merge tree
     * on small stores (tests; docs/COMPACTION.md). */
    const char *fds = getenv("MPICOMPACT_MERGE_FDS");
    if (fds && strtoull(fds, NULL, 10) >= 2)
        popts.max_fds = (size_t)strtoull(fds, NULL, 10);
    c->s.last_commit = c->t0;
    c->load = calloc(size, sizeof *c->load);
    c->gone = calloc(size, sizeof *c->gone);
    c->live = calloc(size, sizeof *c->live);
    if (opts->cores && opts->cores->nnodes) {
        c->node_busy = calloc(opts->cores->nnodes, sizeof *c->node_busy);
        c->node_tally = calloc(opts->cores->nnodes, sizeof *c->node_tally);
    }
    if (!c->load || !c->gone || !c->live || (opts->cores && opts->cores->nnodes && (!c->node_busy || !c->node_tally))) {
        mc_err_set(&c->err, MC_ENOMEM, ENOMEM, "out of memory for %zu ranks' state", size);
        go_fatal(c);
    } else if (mc_sched_init(&c->s, store, m, &popts, sched_log, c, &c->err) != MC_OK ||
               mc_progress_create(opts->progress, opts->progress_interval, stderr, &c->progress, &c->err) != MC_OK) {
        go_fatal(c);
    }

    if (!c->fatal)
        main_loop(c);
    stop_workers(c);
    /* What is left was abandoned or never sent; every rank has stopped. */
    for (size_t i = c->s.lc.nflights; i-- > 0;) {
        flight *f = c->s.lc.flights[i];
        if (f->rank >= 0) {
            stop_running(c, f);
            mc_lc_flight_abandon(&c->s.lc, i);   /* a stale one leaves its unit alone */
        } else {
            mc_lc_flight_drop(&c->s.lc, i);
        }
    }
    if (c->s.picker) {
        maybe_commit(c, true);
        show_progress(c, true);
    }

    bool more = c->s.picker && mc_picker_wants_more(c->s.picker);
    int rc = MC_EXIT_OK;
    if (c->fatal || c->failed)
        rc = MC_EXIT_FAIL;
    else if (c->draining && more)
        rc = MC_EXIT_MORE;
    else if (more)
        mc_log(ctx, "compaction ended with levels still over their limits");
    *committed = !c->fatal && !c->s.dirty;
    report->wall_seconds = now() - c->t0;
    report->coordinator_busy_seconds = c->busy;

    mc_progress_destroy(&c->progress);
    mc_sched_fini(&c->s);
    free(c->load);
    free(c->node_busy);
    free(c->node_tally);
    free(c->gone);
    free(c->live);
    free(c->sends);
    mc_buf_free(&c->msg);
    return rc;
}
