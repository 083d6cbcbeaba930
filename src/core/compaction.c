/* compaction: runs one request: read, merge, drop, split, write (compaction.h). */
#include "compaction.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fault.h"
#include "merge.h"
#include "segment_mem.h"
#include "store.h"

/* The poll hook runs after POLL_BYTES merged or POLL_SECONDS passed,
 * whichever comes first, checked after each input is opened and at every
 * item an input yields (also while the merge fills from its inputs), so that
 * STOP, leave and drain are seen within a few reads on a slow filesystem
 * too (a read itself cannot be interrupted). */
#define POLL_BYTES ((uint64_t)4 << 20)
#define POLL_SECONDS 0.1

static double now(void);
static double now_coarse(void);

/* When the poll hook is due: shared by the merge loop and the inputs, so
 * that it also runs while the merge is still filling from slow inputs. */
typedef struct poller {
    const mc_compact_hooks *hooks;
    uint64_t id;            /* the request, for the message */
    uint64_t bytes;         /* merged since the last poll */
    uint64_t total;         /* merged in all */
    double last;
} poller;

/* Counts N bytes; runs the hook when due. MC_ECANCELED when it says so. */
static mc_status poll_tick(poller *p, uint64_t n, mc_err *err)
{
    p->bytes += n;
    p->total += n;
    double t = now_coarse();
    if (p->bytes < POLL_BYTES && t - p->last < POLL_SECONDS)
        return MC_OK;
    p->bytes = 0;
    p->last = t;
    if (p->hooks && p->hooks->merged)
        p->hooks->merged(p->hooks->ctx, p->total);
    if (p->hooks && p->hooks->poll && p->hooks->poll(p->hooks->ctx))
        return mc_err_set(err, MC_ECANCELED, 0, "compaction %llu: canceled", (unsigned long long)p->id);
    return MC_OK;
}

/* An input: a range source that counts what it yields. */
typedef struct input {
    mc_range_source rs;
    uint64_t items, bytes;
    poller *poll;
} input;

static mc_status input_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    input *in = ctx;
    mc_status st = mc_range_source_next(&in->rs, item, eof, err);
    if (st == MC_OK && !*eof) {
        in->items++;
        in->bytes += item->key_len + item->value_len;
        st = poll_tick(in->poll, 0, err);   /* time only: bytes count once merged */
    }
    return st;
}

/* Output segments for one level, one open at a time. */
typedef struct stream {
    unsigned level;
    mc_seg_writer *w;
} stream;

typedef struct run {
    const char *store;
    const mc_request *req;
    mc_response *resp;
    uint64_t used_segnos;   /* the first USED allocated segnos (in run order) were handed out */
    size_t cap_outputs;
    stream out, left;       /* out_level; sticky leftovers at upper_level */
    size_t *gorder;         /* guards by ascending lo */
    size_t gnext;
    size_t *active;         /* guards with lo <= the current key, not yet passed */
    size_t nactive;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The poll clock, read at every item: the coarse clock (a few ms of
 * resolution, plenty for POLL_SECONDS) only reads a word the kernel keeps. */
static double now_coarse(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static mc_status stream_finish(run *r, stream *s, mc_err *err)
{
    if (!s->w)
        return MC_OK;
    mc_response *resp = r->resp;
    if (resp->noutputs == r->cap_outputs) {
        size_t ncap = r->cap_outputs ? r->cap_outputs * 2 : 4;
        mc_seg_meta *no = realloc(resp->outputs, ncap * sizeof *no);
        if (!no)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory listing outputs",
                              (unsigned long long)r->req->id);
        resp->outputs = no;
        r->cap_outputs = ncap;
    }
    mc_seg_meta meta = {0};
    mc_status st = mc_seg_writer_finish(&s->w, &meta, err);
    if (st != MC_OK)
        return st;
    meta.level = (uint8_t)s->level;
    resp->stats.items_out += meta.nitems;
    resp->stats.bytes_out += meta.bytes;
    resp->outputs[resp->noutputs++] = meta;
    return MC_OK;
}

static mc_status stream_add(run *r, stream *s, const mc_item *item, mc_err *err)
{
    mc_status st;
    if (!s->w) {
        if (r->used_segnos == mc_request_segno_count(r->req))
            return mc_err_set(err, MC_ELIMIT, 0, "compaction %llu: all %llu allocated segnos used up",
                              (unsigned long long)r->req->id, (unsigned long long)r->used_segnos);
        char path[MC_PATH_MAX];
        uint64_t segno = mc_request_segno_at(r->req, r->used_segnos++);
        mc_store_seg_path(r->store, segno, path);
        if ((st = mc_seg_writer_create(path, segno, &s->w, err)) != MC_OK)
            return st;
    }
    if ((st = mc_seg_writer_add(s->w, item, err)) != MC_OK)
        return st;
    if (mc_seg_writer_bytes(s->w) >= r->req->segment_size)
        return stream_finish(r, s, err);
    return MC_OK;
}

/* ---- the delete rule ---- */

static const mc_request *sort_req;

static int guard_lo_cmp(const void *a, const void *b)
{
    const mc_guard *x = &sort_req->guards[*(const size_t *)a], *y = &sort_req->guards[*(const size_t *)b];
    return mc_key_cmp(x->lo.p, x->lo.len, y->lo.p, y->lo.len);
}

static mc_status guards_prepare(run *r, mc_err *err)
{
    size_t n = r->req->nguards;
    if (n == 0)
        return MC_OK;
    r->gorder = malloc(n * sizeof *r->gorder);
    r->active = malloc(n * sizeof *r->active);
    if (!r->gorder || !r->active)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory sorting guards",
                          (unsigned long long)r->req->id);
    for (size_t i = 0; i < n; i++)
        r->gorder[i] = i;
    sort_req = r->req;   /* qsort has no context argument in C11 */
    qsort(r->gorder, n, sizeof *r->gorder, guard_lo_cmp);
    sort_req = NULL;
    return MC_OK;
}

/* A delete may go unless some guard covers its key with an older min_seq.
 * Keys arrive in increasing order, so the guards are swept once. */
static bool delete_droppable(run *r, const mc_item *it)
{
    const mc_request *req = r->req;
    if (req->flags & MC_REQ_KEEP_DELETES)
        return false;
    while (r->gnext < req->nguards) {
        const mc_guard *g = &req->guards[r->gorder[r->gnext]];
        if (mc_key_cmp(g->lo.p, g->lo.len, it->key, it->key_len) > 0)
            break;
        r->active[r->nactive++] = r->gorder[r->gnext++];
    }
    bool covered = false;
    for (size_t i = 0; i < r->nactive;) {
        const mc_guard *g = &req->guards[r->active[i]];
        if (mc_key_cmp(g->hi.p, g->hi.len, it->key, it->key_len) < 0) {
            r->active[i] = r->active[--r->nactive];   /* passed for good */
            continue;
        }
        covered |= g->min_seq <= it->seq;   /* <=: a put at the same seq, which the delete hides (merge.h) */
        i++;
    }
    return !covered;
}

/* ---- the run ---- */

static mc_status merge_all(run *r, mc_merge *m, poller *poll, mc_err *err)
{
    const mc_request *req = r->req;
    bool sticky = req->flags & MC_REQ_STICKY;
    for (;;) {
        mc_item it;
        bool eof = false;
        mc_status st = mc_merge_next(m, &it, &eof, err);
        if (st != MC_OK)
            return st;
        if (eof)
            return MC_OK;
        if ((st = poll_tick(poll, it.key_len + it.value_len, err)) != MC_OK)
            return st;
        if (it.kind == MC_KIND_DELETE && delete_droppable(r, &it)) {
            r->resp->stats.deletes_dropped++;
            continue;
        }
        bool leftover = sticky && mc_key_cmp(it.key, it.key_len, req->split.p, req->split.len) > 0;
        if ((st = stream_add(r, leftover ? &r->left : &r->out, &it, err)) != MC_OK)
            return st;
    }
}

/* Asks the fault point once per input segno (fault.h). */
static bool fault_armed(const mc_request *req, uint64_t *segno)
{
    for (size_t i = 0; i < req->ninputs; i++)
        if (mc_fault_hit("merge_fail", req->inputs[i].segno)) {
            *segno = req->inputs[i].segno;
            return true;
        }
    return false;
}

/* MPICOMPACT_STREAM_ALL=1 streams every input (tests: the model-checked
 * compactions exercise both ways of reading; docs/COMPACTION.md). */
static bool stream_all(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *v = getenv("MPICOMPACT_STREAM_ALL");
        cached = v && strcmp(v, "1") == 0;
    }
    return cached;
}

/* An input that costs less loaded than streamed (segment_mem.h) is read
 * whole within the request's range now, and its file closed: a merge of
 * many small segments then holds their items, not an open HDF5 file each. */
static mc_status load_small(mc_seg_reader *reader, const mc_request *req, mc_err *err)
{
    if (stream_all() || !mc_seg_input_loads(mc_seg_reader_attrs(reader)->nitems, mc_seg_reader_data_bytes(reader)))
        return MC_OK;
    bool has_lo = req->flags & MC_REQ_HAS_LO, has_hi = req->flags & MC_REQ_HAS_HI;
    return mc_seg_reader_load(reader, has_lo ? req->lo.p : NULL, has_lo ? req->lo.len : 0,
                              has_hi ? req->hi.p : NULL, has_hi ? req->hi.len : 0, err);
}

static mc_status compact(run *r, const mc_compact_hooks *hooks, mc_err *err)
{
    const mc_request *req = r->req;
    size_t n = req->ninputs;
    mc_seg_reader **readers = calloc(n, sizeof *readers);
    input *inputs = calloc(n, sizeof *inputs);
    mc_merge_source *sources = calloc(n, sizeof *sources);
    mc_merge *m = NULL;
    mc_status st = MC_OK;
    poller poll = { .hooks = hooks, .id = req->id, .last = now_coarse() };
    if (!readers || !inputs || !sources) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "compaction %llu: out of memory", (unsigned long long)req->id);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        char path[MC_PATH_MAX];
        mc_store_seg_path(r->store, req->inputs[i].segno, path);
        if ((st = mc_seg_reader_open(path, &readers[i], err)) != MC_OK ||
            (st = mc_seg_reader_check_meta(readers[i], path, &req->inputs[i], err)) != MC_OK ||
            (st = load_small(readers[i], req, err)) != MC_OK ||
            (st = poll_tick(&poll, 0, err)) != MC_OK)   /* opening may read much on a slow filesystem */
            goto cleanup;
        inputs[i].rs.reader = readers[i];
        inputs[i].poll = &poll;
        if (req->flags & MC_REQ_HAS_LO) {
            inputs[i].rs.lo = req->lo.p;
            inputs[i].rs.lo_len = req->lo.len;
        }
        if (req->flags & MC_REQ_HAS_HI) {
            inputs[i].rs.hi = req->hi.p;
            inputs[i].rs.hi_len = req->hi.len;
        }
        sources[i] = (mc_merge_source){input_next, &inputs[i]};
    }
    uint64_t fault_segno = 0;
    bool fault = fault_armed(req, &fault_segno);
    if ((st = guards_prepare(r, err)) != MC_OK || (st = mc_merge_create(sources, n, &m, err)) != MC_OK ||
        (st = merge_all(r, m, &poll, err)) != MC_OK)
        goto cleanup;
    /* An injected failure strikes after the output is written, so that the
     * cleanup of real files is what gets exercised. */
    if (fault) {
        st = mc_err_set(err, MC_EFAULT, 0, "compaction %llu: injected fault merge_fail (input segment %llu)",
                        (unsigned long long)req->id, (unsigned long long)fault_segno);
        goto cleanup;
    }
    if ((st = stream_finish(r, &r->out, err)) != MC_OK || (st = stream_finish(r, &r->left, err)) != MC_OK)
        goto cleanup;
    r->resp->stats.overwrites_dropped = mc_merge_overwrites(m) + mc_merge_conflicts(m);
    r->resp->stats.duplicates_dropped = mc_merge_duplicates(m);
cleanup:
    for (size_t i = 0; inputs && i < n; i++) {
        r->resp->stats.items_in += inputs[i].items;
        r->resp->stats.bytes_in += inputs[i].bytes;
    }
    mc_merge_destroy(&m);
    for (size_t i = 0; readers && i < n; i++)
        mc_seg_reader_close(&readers[i]);
    free(readers);
    free(inputs);
    free(sources);
    return st;
}

/* HDF5 allocates a fresh buffer for every chunk it reads or filters (1 MiB
 * here): above glibc's mmap threshold each one is a new mapping whose pages
 * the kernel zeroes on first touch, and on a VM that hands freed memory
 * back to the host that costs as much as the copy itself. Keeping such
 * buffers in the heap makes them reused. Process-wide, set once. */
static void keep_freed_memory(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

mc_status mc_compact_run(const char *store, const mc_request *req, const mc_compact_hooks *hooks,
                         mc_response *resp, mc_err *err)
{
    keep_freed_memory();
    mc_err local = {0};
    if (!err)
        err = &local;
    double t0 = now();
    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    run r = {.store = store, .req = req, .resp = resp};
    r.out.level = req->out_level;
    r.left.level = req->upper_level;
    mc_status st = mc_request_check(req, err);
    if (st == MC_OK)
        st = compact(&r, hooks, err);
    if (st != MC_OK) {
        mc_seg_writer_abort(&r.out.w);
        mc_seg_writer_abort(&r.left.w);
        for (size_t i = 0; i < resp->noutputs; i++)
            mc_seg_meta_clear(&resp->outputs[i]);
        free(resp->outputs);
        resp->outputs = NULL;
        resp->noutputs = 0;
        /* Only the segnos this run handed out can hold its files: the others
         * are untouched (a malformed request might even name live ones). */
        for (uint64_t i = 0; i < r.used_segnos; i++)
            mc_store_remove_segment(store, mc_request_segno_at(req, i), NULL);
        resp->status = st;
        resp->sys_errno = err->sys_errno;
        size_t len = strnlen(err->msg, sizeof resp->msg - 1);   /* truncated to fit */
        memcpy(resp->msg, err->msg, len);
        resp->msg[len] = '\0';
    }
    free(r.gorder);
    free(r.active);
    resp->stats.seconds = now() - t0;
    return st;
}
