/* fuzz_wire: the compaction protocol's decoders, as a worker or the
 * coordinator meets a message. The first input byte picks the decoder
 * (mod 4): a request (then the worker's mc_request_check()), a response, a
 * manifest as broadcast to the ranks, one segment descriptor (as `gen` and
 * `add` gather them). What decodes must encode again: a request to the very
 * same bytes, the others to bytes that decode again. The decoders are pure
 * (no MPI call), so no MPI_Init. Seeds: messages encoded by the project
 * (seedgen.c) from real stores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzzutil.h"
#include "manifest_wire.h"
#include "wire.h"

static void fail(const char *what, const mc_err *err)
{
    fprintf(stderr, "fuzz_wire: %s: %s\n", what, err->msg);
    abort();
}

static void request(const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    mc_request req;
    memset(&req, 0xa5, sizeof req);   /* the decoder must not read what it is given */
    if (fz_check_err(mc_wire_decode_request(p, n, &req, &err), &err) != MC_OK)
        return;
    fz_check_err(mc_request_check(&req, &err), &err);
    (void)mc_request_max_outputs(&req);
    mc_buf b = {0};
    if (mc_wire_encode_request(&req, &b, &err) != MC_OK || b.n != n || memcmp(b.p, p, n) != 0)
        fail("a decoded request does not encode to the same bytes", &err);
    mc_buf_free(&b);
    mc_request copy = {0};
    if (mc_request_copy(&copy, &req, &err) != MC_OK)
        fail("copying a decoded request", &err);
    mc_request_clear(&copy);
    mc_request_clear(&req);
}

static void response(const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    mc_response resp, again;
    memset(&resp, 0xa5, sizeof resp);
    if (fz_check_err(mc_wire_decode_response(p, n, &resp, &err), &err) != MC_OK)
        return;
    mc_buf b = {0};
    if (mc_wire_encode_response(&resp, &b, &err) != MC_OK ||
        mc_wire_decode_response(b.p, b.n, &again, &err) != MC_OK || again.noutputs != resp.noutputs ||
        again.id != resp.id || again.status != resp.status)
        fail("a decoded response does not survive encoding", &err);
    mc_buf_free(&b);
    mc_response_clear(&again);
    mc_response_clear(&resp);
}

static void manifest(const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    mc_manifest *m = NULL, *again = NULL;
    if (fz_check_err(mc_manifest_decode(p, n, &m, &err), &err) != MC_OK)
        return;
    mc_buf b = {0};
    if (mc_manifest_encode(m, &b, &err) != MC_OK || mc_manifest_decode(b.p, b.n, &again, &err) != MC_OK ||
        mc_manifest_count(again) != mc_manifest_count(m))
        fail("a decoded manifest does not survive encoding", &err);
    mc_buf_free(&b);
    mc_manifest_destroy(&again);
    mc_manifest_destroy(&m);
}

static void seg_meta(const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    const uint8_t *q = p, *end = p + n;
    while (q < end) {
        mc_seg_meta meta = {0};
        const uint8_t *start = q;
        if (fz_check_err(mc_seg_meta_decode(&q, end, &meta, &err), &err) != MC_OK)
            break;
        if (q <= start || q > end)
            fail("a descriptor decoded without moving forward, or past the end", &err);
        mc_buf b = {0};
        if (mc_seg_meta_encode(&b, &meta, &err) != MC_OK || b.n != (size_t)(q - start) ||
            memcmp(b.p, start, b.n) != 0)
            fail("a decoded descriptor does not encode to the same bytes", &err);
        mc_buf_free(&b);
        mc_seg_meta_clear(&meta);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0: request(data + 1, size - 1); break;
    case 1: response(data + 1, size - 1); break;
    case 2: manifest(data + 1, size - 1); break;
    default: seg_meta(data + 1, size - 1); break;
    }
    return 0;
}
