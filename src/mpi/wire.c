/* wire: encoding, decoding and transport of compaction messages (wire.h). */
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "manifest_wire.h"

#define REQUEST_MAGIC 0x3151434du   /* "MCQ1" */
#define RESPONSE_MAGIC 0x3152434du  /* "MCR1" */
/* Smallest encodings, to bound counts by the bytes left before allocating. */
#define MIN_META_BYTES 74u  /* 7 u64 fields and two 1-byte keys with lengths */
#define MIN_KEY_BYTES 8u
#define MIN_GUARD_BYTES (2 * MIN_KEY_BYTES + 8u)
#define RUN_BYTES 16u        /* a segno run: first, count */

/* ---- encoding ---- */

static mc_status put_u8(mc_buf *b, uint8_t v, mc_err *err)
{
    return mc_buf_append(b, &v, 1, err);
}

static mc_status put_u32(mc_buf *b, uint32_t v, mc_err *err)
{
    uint8_t le[4];
    for (int i = 0; i < 4; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    return mc_buf_append(b, le, sizeof le, err);
}

static mc_status put_f64(mc_buf *b, double v, mc_err *err)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return mc_buf_append_u64(b, bits, err);
}

static mc_status put_key(mc_buf *b, const mc_key *k, mc_err *err)
{
    mc_status st = mc_buf_append_u64(b, k->len, err);
    if (st == MC_OK && k->len)
        st = mc_buf_append(b, k->p, k->len, err);
    return st;
}

#define TRY(expr)              \
    do {                       \
        st = (expr);           \
        if (st != MC_OK)       \
            return st;         \
    } while (0)

mc_status mc_wire_encode_request(const mc_request *req, mc_buf *out, mc_err *err)
{
    mc_status st;
    TRY(put_u32(out, REQUEST_MAGIC, err));
    TRY(mc_buf_append_u64(out, req->id, err));
    TRY(put_u8(out, req->upper_level, err));
    TRY(put_u8(out, req->out_level, err));
    TRY(put_u32(out, req->flags, err));
    TRY(mc_buf_append_u64(out, req->segment_size, err));
    TRY(mc_buf_append_u64(out, req->nuppers, err));
    TRY(mc_buf_append_u64(out, req->ninputs, err));
    for (size_t i = 0; i < req->ninputs; i++)
        TRY(mc_seg_meta_encode(out, &req->inputs[i], err));
    TRY(put_key(out, &req->lo, err));
    TRY(put_key(out, &req->hi, err));
    TRY(put_key(out, &req->split, err));
    /* Output segnos as the request holds them: the total count, the number
     * of runs, then (first, length) per run. */
    TRY(mc_buf_append_u64(out, mc_request_segno_count(req), err));
    TRY(mc_buf_append_u64(out, req->nruns, err));
    for (size_t i = 0; i < req->nruns; i++) {
        TRY(mc_buf_append_u64(out, req->runs[i].first, err));
        TRY(mc_buf_append_u64(out, req->runs[i].count, err));
    }
    TRY(mc_buf_append_u64(out, req->nguards, err));
    for (size_t i = 0; i < req->nguards; i++) {
        TRY(put_key(out, &req->guards[i].lo, err));
        TRY(put_key(out, &req->guards[i].hi, err));
        TRY(mc_buf_append_u64(out, req->guards[i].min_seq, err));
    }
    return MC_OK;
}

mc_status mc_wire_encode_response(const mc_response *resp, mc_buf *out, mc_err *err)
{
    mc_status st;
    size_t msg_len = strnlen(resp->msg, sizeof resp->msg - 1);
    TRY(put_u32(out, RESPONSE_MAGIC, err));
    TRY(mc_buf_append_u64(out, resp->id, err));
    TRY(put_u32(out, (uint32_t)resp->status, err));
    TRY(put_u32(out, (uint32_t)resp->sys_errno, err));
    TRY(put_u32(out, (uint32_t)msg_len, err));
    TRY(mc_buf_append(out, resp->msg, msg_len, err));
    TRY(mc_buf_append_u64(out, resp->noutputs, err));
    for (size_t i = 0; i < resp->noutputs; i++)
        TRY(mc_seg_meta_encode(out, &resp->outputs[i], err));
    const mc_compact_stats *s = &resp->stats;
    TRY(mc_buf_append_u64(out, s->items_in, err));
    TRY(mc_buf_append_u64(out, s->bytes_in, err));
    TRY(mc_buf_append_u64(out, s->items_out, err));
    TRY(mc_buf_append_u64(out, s->bytes_out, err));
    TRY(mc_buf_append_u64(out, s->deletes_dropped, err));
    TRY(mc_buf_append_u64(out, s->overwrites_dropped, err));
    TRY(mc_buf_append_u64(out, s->duplicates_dropped, err));
    TRY(put_f64(out, s->seconds, err));
    return MC_OK;
}

/* ---- decoding ---- */

typedef struct reader {
    const uint8_t *p, *end;
    const char *what;       /* "request" / "response", for messages */
} reader;

static mc_status bad(const reader *r, mc_err *err, const char *field)
{
    return mc_err_set(err, MC_EPROTO, 0, "malformed %s message: bad or truncated %s", r->what, field);
}

static mc_status get_bytes(reader *r, void *dst, size_t n, const char *field, mc_err *err)
{
    if ((size_t)(r->end - r->p) < n)
        return bad(r, err, field);
    if (n)
        memcpy(dst, r->p, n);
    r->p += n;
    return MC_OK;
}

static mc_status get_u8(reader *r, uint8_t *v, const char *field, mc_err *err)
{
    return get_bytes(r, v, 1, field, err);
}

static mc_status get_u32(reader *r, uint32_t *v, const char *field, mc_err *err)
{
    uint8_t le[4];
    mc_status st = get_bytes(r, le, sizeof le, field, err);
    if (st != MC_OK)
        return st;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)le[i] << (8 * i);
    return MC_OK;
}

static mc_status get_u64(reader *r, uint64_t *v, const char *field, mc_err *err)
{
    uint8_t le[8];
    mc_status st = get_bytes(r, le, sizeof le, field, err);
    if (st != MC_OK)
        return st;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v |= (uint64_t)le[i] << (8 * i);
    return MC_OK;
}

/* A count of elements of at least MIN_SIZE bytes each: must fit what is left. */
static mc_status get_count(reader *r, size_t *n, size_t min_size, const char *field, mc_err *err)
{
    uint64_t v;
    mc_status st = get_u64(r, &v, field, err);
    if (st != MC_OK)
        return st;
    if (v > (uint64_t)(r->end - r->p) / min_size)
        return bad(r, err, field);
    *n = (size_t)v;
    return MC_OK;
}

static mc_status get_key(reader *r, mc_key *k, const char *field, mc_err *err)
{
    uint64_t len;
    mc_status st = get_u64(r, &len, field, err);
    if (st != MC_OK)
        return st;
    if (len > MC_KEY_MAX || len > (uint64_t)(r->end - r->p))
        return bad(r, err, field);
    k->p = NULL;
    k->len = 0;
    if (len) {
        k->p = mc_memdup(r->p, (size_t)len);
        if (!k->p)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory decoding a %s message", r->what);
        k->len = (size_t)len;
        r->p += len;
    }
    return MC_OK;
}

static mc_status get_f64(reader *r, double *v, const char *field, mc_err *err)
{
    uint64_t bits;
    mc_status st = get_u64(r, &bits, field, err);
    if (st == MC_OK)
        memcpy(v, &bits, sizeof *v);
    return st;
}

static mc_status get_metas(reader *r, mc_seg_meta *metas, size_t n, const char *field, mc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        mc_status st = mc_seg_meta_decode(&r->p, r->end, &metas[i], err);
        if (st == MC_ENOMEM)
            return st;
        if (st != MC_OK)
            return bad(r, err, field);
    }
    return MC_OK;
}

static void *alloc_array(const reader *r, size_t n, size_t size, mc_err *err)
{
    void *a = calloc(n ? n : 1, size);
    if (!a)
        mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory decoding a %s message", r->what);
    return a;
}

static mc_status check_end(const reader *r, mc_err *err)
{
    return r->p == r->end ? MC_OK : bad(r, err, "end (trailing bytes)");
}

/* Decoding steps jump to cleanup on failure; the struct is cleared there. */
#define GET(expr)              \
    do {                       \
        st = (expr);           \
        if (st != MC_OK)       \
            goto cleanup;      \
    } while (0)
#define ALLOC(ptr, cnt)                                                \
    do {                                                               \
        (ptr) = alloc_array(&r, (cnt), sizeof *(ptr), err);             \
        if (!(ptr)) {                                                  \
            st = MC_ENOMEM;                                            \
            goto cleanup;                                              \
        }                                                              \
    } while (0)

/* The output segno runs: the total, the number of runs, then the runs.
 * Memory is bounded by MC_REQUEST_MAX_RUNS, whatever the total. */
static mc_status get_segno_runs(reader *r, mc_request *req, mc_err *err)
{
    uint64_t total = 0;
    size_t n = 0, at = 0;
    mc_status st = get_u64(r, &total, "segno count", err);
    if (st != MC_OK || (st = get_count(r, &n, RUN_BYTES, "segno run count", err)) != MC_OK)
        return st;
    if (n > MC_REQUEST_MAX_RUNS)
        return mc_err_set(err, MC_EPROTO, 0, "malformed request message: %zu segno runs (at most %d)", n,
                          MC_REQUEST_MAX_RUNS);
    if (!(req->runs = alloc_array(r, n, sizeof *req->runs, err)))
        return MC_ENOMEM;
    for (; req->nruns < n; req->nruns++) {
        mc_segno_run *run = &req->runs[req->nruns];
        if ((st = get_u64(r, &run->first, "segno", err)) != MC_OK ||
            (st = get_u64(r, &run->count, "segno run length", err)) != MC_OK)
            return st;
    }
    const char *fault = mc_segno_runs_fault(req->runs, req->nruns, &at);
    if (fault)
        return mc_err_set(err, MC_EPROTO, 0, "malformed request message: segno run %zu of %zu: %s", at, n, fault);
    if (total != mc_request_segno_count(req))
        return mc_err_set(err, MC_EPROTO, 0, "malformed request message: segno count %llu, its runs hold %llu",
                          (unsigned long long)total, (unsigned long long)mc_request_segno_count(req));
    return MC_OK;
}

mc_status mc_wire_decode_request(const uint8_t *p, size_t len, mc_request *req, mc_err *err)
{
    reader r = { p, p + len, "request" };
    mc_status st = MC_OK;
    uint32_t magic = 0;
    uint64_t nuppers = 0;
    size_t n = 0;
    memset(req, 0, sizeof *req);

    GET(get_u32(&r, &magic, "magic", err));
    if (magic != REQUEST_MAGIC) {
        st = bad(&r, err, "magic");
        goto cleanup;
    }
    GET(get_u64(&r, &req->id, "id", err));
    GET(get_u8(&r, &req->upper_level, "upper level", err));
    GET(get_u8(&r, &req->out_level, "output level", err));
    GET(get_u32(&r, &req->flags, "flags", err));
    GET(get_u64(&r, &req->segment_size, "segment size", err));
    GET(get_u64(&r, &nuppers, "upper count", err));
    GET(get_count(&r, &n, MIN_META_BYTES, "input count", err));
    if (nuppers > n) {
        st = bad(&r, err, "upper count");
        goto cleanup;
    }
    ALLOC(req->inputs, n);
    req->ninputs = n;
    req->nuppers = (size_t)nuppers;
    GET(get_metas(&r, req->inputs, req->ninputs, "input descriptor", err));
    GET(get_key(&r, &req->lo, "low key", err));
    GET(get_key(&r, &req->hi, "high key", err));
    GET(get_key(&r, &req->split, "split key", err));
    GET(get_segno_runs(&r, req, err));
    GET(get_count(&r, &n, MIN_GUARD_BYTES, "guard count", err));
    ALLOC(req->guards, n);
    req->nguards = n;
    for (size_t i = 0; i < req->nguards; i++) {
        GET(get_key(&r, &req->guards[i].lo, "guard low key", err));
        GET(get_key(&r, &req->guards[i].hi, "guard high key", err));
        GET(get_u64(&r, &req->guards[i].min_seq, "guard seq", err));
    }
    GET(check_end(&r, err));

cleanup:
    if (st != MC_OK)
        mc_request_clear(req);
    return st;
}

bool mc_wire_request_id(const uint8_t *p, size_t len, uint64_t *id)
{
    reader r = { p, p + len, "request" };
    uint32_t magic = 0;
    return get_u32(&r, &magic, "magic", NULL) == MC_OK && magic == REQUEST_MAGIC &&
           get_u64(&r, id, "id", NULL) == MC_OK;
}

mc_status mc_wire_decode_response(const uint8_t *p, size_t len, mc_response *resp, mc_err *err)
{
    reader r = { p, p + len, "response" };
    mc_status st = MC_OK;
    uint32_t magic = 0, status = 0, sys_errno = 0, msg_len = 0;
    size_t n = 0;
    memset(resp, 0, sizeof *resp);

    GET(get_u32(&r, &magic, "magic", err));
    if (magic != RESPONSE_MAGIC) {
        st = bad(&r, err, "magic");
        goto cleanup;
    }
    GET(get_u64(&r, &resp->id, "id", err));
    GET(get_u32(&r, &status, "status", err));
    if (status > (uint32_t)MC_EPROTO) {
        st = bad(&r, err, "status");
        goto cleanup;
    }
    resp->status = (int32_t)status;
    GET(get_u32(&r, &sys_errno, "errno", err));
    resp->sys_errno = (int32_t)sys_errno;
    GET(get_u32(&r, &msg_len, "message length", err));
    if (msg_len >= sizeof resp->msg) {
        st = bad(&r, err, "message length");
        goto cleanup;
    }
    GET(get_bytes(&r, resp->msg, msg_len, "message", err));
    resp->msg[msg_len] = '\0';
    GET(get_count(&r, &n, MIN_META_BYTES, "output count", err));
    ALLOC(resp->outputs, n);
    resp->noutputs = n;
    GET(get_metas(&r, resp->outputs, resp->noutputs, "output descriptor", err));
    mc_compact_stats *s = &resp->stats;
    GET(get_u64(&r, &s->items_in, "stats", err));
    GET(get_u64(&r, &s->bytes_in, "stats", err));
    GET(get_u64(&r, &s->items_out, "stats", err));
    GET(get_u64(&r, &s->bytes_out, "stats", err));
    GET(get_u64(&r, &s->deletes_dropped, "stats", err));
    GET(get_u64(&r, &s->overwrites_dropped, "stats", err));
    GET(get_u64(&r, &s->duplicates_dropped, "stats", err));
    GET(get_f64(&r, &s->seconds, "stats", err));
    GET(check_end(&r, err));

cleanup:
    if (st != MC_OK)
        mc_response_clear(resp);
    return st;
}

/* ---- transport ---- */

mc_status mc_wire_recv(MPI_Comm comm, const MPI_Status *status, mc_buf *out, mc_err *err)
{
    int count = 0;
    MPI_Get_count(status, MPI_BYTE, &count);
    if (count < 0)
        return mc_err_set(err, MC_EPROTO, 0, "message from rank %d has no byte count", status->MPI_SOURCE);
    mc_status st = mc_buf_reserve(out, (size_t)count, err);
    if (st != MC_OK)
        return st;
    out->n = 0;
    int rc = MPI_Recv(out->p, count, MPI_BYTE, status->MPI_SOURCE, status->MPI_TAG, comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mc_err_set(err, MC_EIO, 0, "MPI_Recv from rank %d (tag %d) failed: error %d",
                          status->MPI_SOURCE, status->MPI_TAG, rc);
    out->n = (size_t)count;
    return MC_OK;
}

mc_status mc_wire_send(MPI_Comm comm, int dest, int tag, const void *p, size_t len, mc_err *err)
{
    if (len > INT_MAX)
        return mc_err_set(err, MC_ELIMIT, 0, "message to rank %d is too large (%zu bytes)", dest, len);
    int rc = MPI_Send(p, (int)len, MPI_BYTE, dest, tag, comm);
    if (rc != MPI_SUCCESS)
        return mc_err_set(err, MC_EIO, 0, "MPI_Send to rank %d (tag %d) failed: error %d", dest, tag, rc);
    return MC_OK;
}
