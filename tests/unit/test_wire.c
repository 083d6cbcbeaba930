/* test_wire: compaction messages survive encoding, and malformed bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "wire.h"

static uint64_t g_seed;
static uint64_t g_state;

static uint64_t rnd(void)
{
    uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static uint8_t *rnd_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

/* Mostly short keys, sometimes the longest allowed. */
static size_t rnd_key_len(void)
{
    return rnd_below(20) == 0 ? MC_KEY_MAX : 1 + rnd_below(40);
}

static void rnd_key(mc_key *k, bool may_be_empty)
{
    if (may_be_empty && rnd_below(3) == 0) {
        k->p = NULL;
        k->len = 0;
        return;
    }
    k->len = rnd_key_len();
    k->p = rnd_bytes(k->len);
}

static void rnd_meta(mc_seg_meta *m)
{
    m->segno = rnd();
    m->level = (uint8_t)rnd_below(MC_LEVELS_MAX);
    m->nitems = rnd();
    m->ndeletes = rnd();
    m->bytes = rnd();
    m->min_seq = rnd();
    m->max_seq = rnd();
    m->min_key_len = rnd_key_len();
    m->min_key = rnd_bytes(m->min_key_len);
    m->max_key_len = rnd_key_len();
    m->max_key = rnd_bytes(m->max_key_len);
}

static void rnd_request(mc_request *r)
{
    memset(r, 0, sizeof *r);
    r->id = rnd();
    r->upper_level = (uint8_t)rnd();
    r->out_level = (uint8_t)rnd();
    r->flags = (uint32_t)rnd();
    r->segment_size = rnd();
    r->ninputs = rnd_below(14);
    r->nuppers = rnd_below(r->ninputs + 1);
    r->inputs = calloc(r->ninputs + 1, sizeof *r->inputs);
    assert_non_null(r->inputs);
    for (size_t i = 0; i < r->ninputs; i++)
        rnd_meta(&r->inputs[i]);
    rnd_key(&r->lo, true);
    rnd_key(&r->hi, true);
    rnd_key(&r->split, true);
    /* Sorted, disjoint runs (sometimes adjacent), some of a billion segnos. */
    r->nruns = rnd_below(6);
    r->runs = calloc(r->nruns + 1, sizeof *r->runs);
    assert_non_null(r->runs);
    uint64_t next = 1 + (rnd() >> 14);
    for (size_t i = 0; i < r->nruns; i++) {
        r->runs[i].first = next + rnd_below(3) * rnd_below(1000);
        r->runs[i].count = 1 + (rnd_below(2) ? rnd_below(3) : rnd_below((size_t)1 << 30));
        next = r->runs[i].first + r->runs[i].count;
    }
    r->nguards = rnd_below(6);
    r->guards = calloc(r->nguards + 1, sizeof *r->guards);
    assert_non_null(r->guards);
    for (size_t i = 0; i < r->nguards; i++) {
        rnd_key(&r->guards[i].lo, false);
        rnd_key(&r->guards[i].hi, false);
        r->guards[i].min_seq = rnd();
    }
}

static void rnd_response(mc_response *r)
{
    memset(r, 0, sizeof *r);
    r->id = rnd();
    r->status = (int32_t)rnd_below((size_t)MC_EPROTO + 1);
    r->sys_errno = (int32_t)rnd();
    size_t msg_len = rnd_below(sizeof r->msg);
    for (size_t i = 0; i < msg_len; i++)
        r->msg[i] = (char)(' ' + rnd_below(95));
    r->noutputs = rnd_below(14);
    r->outputs = calloc(r->noutputs + 1, sizeof *r->outputs);
    assert_non_null(r->outputs);
    for (size_t i = 0; i < r->noutputs; i++)
        rnd_meta(&r->outputs[i]);
    r->stats.items_in = rnd();
    r->stats.bytes_in = rnd();
    r->stats.items_out = rnd();
    r->stats.bytes_out = rnd();
    r->stats.deletes_dropped = rnd();
    r->stats.overwrites_dropped = rnd();
    r->stats.duplicates_dropped = rnd();
    r->stats.seconds = (double)rnd_below(1000000) / 1000.0;
}

static void assert_bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    assert_int_equal(alen, blen);
    if (alen)
        assert_memory_equal(a, b, alen);
}

static void assert_meta_equal(const mc_seg_meta *a, const mc_seg_meta *b)
{
    assert_int_equal(a->segno, b->segno);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->nitems, b->nitems);
    assert_int_equal(a->ndeletes, b->ndeletes);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->min_seq, b->min_seq);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_bytes_equal(a->min_key, a->min_key_len, b->min_key, b->min_key_len);
    assert_bytes_equal(a->max_key, a->max_key_len, b->max_key, b->max_key_len);
}

static void assert_request_equal(const mc_request *a, const mc_request *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->upper_level, b->upper_level);
    assert_int_equal(a->out_level, b->out_level);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->segment_size, b->segment_size);
    assert_int_equal(a->nuppers, b->nuppers);
    assert_int_equal(a->ninputs, b->ninputs);
    for (size_t i = 0; i < a->ninputs; i++)
        assert_meta_equal(&a->inputs[i], &b->inputs[i]);
    assert_bytes_equal(a->lo.p, a->lo.len, b->lo.p, b->lo.len);
    assert_bytes_equal(a->hi.p, a->hi.len, b->hi.p, b->hi.len);
    assert_bytes_equal(a->split.p, a->split.len, b->split.p, b->split.len);
    assert_int_equal(a->nruns, b->nruns);
    for (size_t i = 0; i < a->nruns; i++) {
        assert_int_equal(a->runs[i].first, b->runs[i].first);
        assert_int_equal(a->runs[i].count, b->runs[i].count);
    }
    assert_int_equal(a->nguards, b->nguards);
    for (size_t i = 0; i < a->nguards; i++) {
        assert_bytes_equal(a->guards[i].lo.p, a->guards[i].lo.len, b->guards[i].lo.p, b->guards[i].lo.len);
        assert_bytes_equal(a->guards[i].hi.p, a->guards[i].hi.len, b->guards[i].hi.p, b->guards[i].hi.len);
        assert_int_equal(a->guards[i].min_seq, b->guards[i].min_seq);
    }
}

static void assert_response_equal(const mc_response *a, const mc_response *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->sys_errno, b->sys_errno);
    assert_string_equal(a->msg, b->msg);
    assert_int_equal(a->noutputs, b->noutputs);
    for (size_t i = 0; i < a->noutputs; i++)
        assert_meta_equal(&a->outputs[i], &b->outputs[i]);
    assert_int_equal(a->stats.items_in, b->stats.items_in);
    assert_int_equal(a->stats.bytes_in, b->stats.bytes_in);
    assert_int_equal(a->stats.items_out, b->stats.items_out);
    assert_int_equal(a->stats.bytes_out, b->stats.bytes_out);
    assert_int_equal(a->stats.deletes_dropped, b->stats.deletes_dropped);
    assert_int_equal(a->stats.overwrites_dropped, b->stats.overwrites_dropped);
    assert_int_equal(a->stats.duplicates_dropped, b->stats.duplicates_dropped);
    assert_true(a->stats.seconds == b->stats.seconds);
}

static void encode_request(const mc_request *r, mc_buf *b)
{
    mc_err err;
    memset(b, 0, sizeof *b);
    assert_int_equal(mc_wire_encode_request(r, b, &err), MC_OK);
}

static void encode_response(const mc_response *r, mc_buf *b)
{
    mc_err err;
    memset(b, 0, sizeof *b);
    assert_int_equal(mc_wire_encode_response(r, b, &err), MC_OK);
}

static void test_request_round_trip(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        mc_request in, out;
        mc_buf b;
        mc_err err;
        rnd_request(&in);
        encode_request(&in, &b);
        assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_OK);
        assert_request_equal(&in, &out);
        mc_request_clear(&in);
        mc_request_clear(&out);
        mc_buf_free(&b);
    }
}

static void test_response_round_trip(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        mc_response in, out;
        mc_buf b;
        mc_err err;
        rnd_response(&in);
        encode_response(&in, &b);
        assert_int_equal(mc_wire_decode_response(b.p, b.n, &out, &err), MC_OK);
        assert_response_equal(&in, &out);
        mc_response_clear(&in);
        mc_response_clear(&out);
        mc_buf_free(&b);
    }
}

/* Every proper prefix, and the whole with one byte more, is refused; the
 * output is left cleared. */
static void test_truncated_and_trailing(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        mc_request req, dreq;
        mc_response resp, dresp;
        mc_buf b, c;
        mc_err err;
        rnd_request(&req);
        rnd_response(&resp);
        encode_request(&req, &b);
        encode_response(&resp, &c);
        for (size_t n = 0; n < b.n; n++) {
            assert_int_equal(mc_wire_decode_request(b.p, n, &dreq, &err), MC_EPROTO);
            assert_null(dreq.inputs);
            assert_int_equal(dreq.ninputs, 0);
        }
        for (size_t n = 0; n < c.n; n++) {
            assert_int_equal(mc_wire_decode_response(c.p, n, &dresp, &err), MC_EPROTO);
            assert_null(dresp.outputs);
        }
        assert_int_equal(mc_buf_append(&b, "x", 1, &err), MC_OK);
        assert_int_equal(mc_buf_append(&c, "x", 1, &err), MC_OK);
        assert_int_equal(mc_wire_decode_request(b.p, b.n, &dreq, &err), MC_EPROTO);
        assert_int_equal(mc_wire_decode_response(c.p, c.n, &dresp, &err), MC_EPROTO);
        /* A response is not a request and vice versa. */
        assert_int_equal(mc_wire_decode_request(c.p, c.n - 1, &dreq, &err), MC_EPROTO);
        assert_int_equal(mc_wire_decode_response(b.p, b.n - 1, &dresp, &err), MC_EPROTO);
        mc_request_clear(&req);
        mc_response_clear(&resp);
        mc_buf_free(&b);
        mc_buf_free(&c);
    }
}

/* A request cut short keeps its id readable once the header (magic, id) is
 * there: the worker answers it with an error; a shorter one or another
 * message kind has no id. */
static void test_request_id_of_malformed(void **state)
{
    (void)state;
    mc_request req;
    mc_response resp;
    mc_buf b, c;
    rnd_request(&req);
    rnd_response(&resp);
    encode_request(&req, &b);
    encode_response(&resp, &c);
    uint64_t id = 0;
    for (size_t n = 0; n <= b.n; n++) {
        bool ok = mc_wire_request_id(b.p, n, &id);
        assert_int_equal(ok, n >= 12);
        if (ok)
            assert_int_equal(id, req.id);
    }
    assert_false(mc_wire_request_id(c.p, c.n, &id));
    mc_request_clear(&req);
    mc_response_clear(&resp);
    mc_buf_free(&b);
    mc_buf_free(&c);
}

static void test_garbage(void **state)
{
    (void)state;
    for (int round = 0; round < 2000; round++) {
        size_t n = rnd_below(4096);
        uint8_t *p = rnd_bytes(n);
        mc_request req;
        mc_response resp;
        mc_err err;
        assert_int_equal(mc_wire_decode_request(p, n, &req, &err), MC_EPROTO);
        assert_int_equal(mc_wire_decode_response(p, n, &resp, &err), MC_EPROTO);
        /* Right magic, random rest. */
        if (n >= 4) {
            memcpy(p, "MCQ1", 4);
            assert_int_equal(mc_wire_decode_request(p, n, &req, &err), MC_EPROTO);
            memcpy(p, "MCR1", 4);
            assert_int_equal(mc_wire_decode_response(p, n, &resp, &err), MC_EPROTO);
        }
        free(p);
    }
}

/* Flipped bytes in a valid message: decoded or refused, never a crash or
 * a leak (run under ASan); the message names what is wrong. */
static void test_corrupted(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        mc_request req, out;
        mc_response resp, rout;
        mc_buf b, c;
        mc_err err;
        rnd_request(&req);
        rnd_response(&resp);
        encode_request(&req, &b);
        encode_response(&resp, &c);
        for (int k = 0; k < 4; k++) {
            b.p[rnd_below(b.n)] ^= (uint8_t)(1 + rnd_below(255));
            c.p[rnd_below(c.n)] ^= (uint8_t)(1 + rnd_below(255));
        }
        memset(&err, 0, sizeof err);
        mc_status st = mc_wire_decode_request(b.p, b.n, &out, &err);
        assert_true(st == MC_OK || st == MC_EPROTO);
        if (st == MC_EPROTO)
            assert_non_null(strstr(err.msg, "request"));
        mc_request_clear(&out);
        st = mc_wire_decode_response(c.p, c.n, &rout, &err);
        assert_true(st == MC_OK || st == MC_EPROTO);
        mc_response_clear(&rout);
        mc_request_clear(&req);
        mc_response_clear(&resp);
        mc_buf_free(&b);
        mc_buf_free(&c);
    }
}

/* Counts and lengths that promise more than the buffer holds are refused
 * before anything is allocated for them. */
static void test_huge_counts(void **state)
{
    (void)state;
    mc_request req;
    memset(&req, 0, sizeof req);
    req.id = 7;
    mc_buf b;
    encode_request(&req, &b);
    /* magic(4) id(8) levels(2) flags(4) segsize(8) nuppers(8) ninputs(8) */
    size_t ninputs_at = 4 + 8 + 2 + 4 + 8 + 8;
    mc_request out;
    mc_err err;
    uint64_t huge = UINT64_MAX / 2;
    memcpy(b.p + ninputs_at, &huge, 8);
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_EPROTO);
    /* nuppers > ninputs */
    memset(b.p + ninputs_at, 0, 8);
    b.p[ninputs_at - 8] = 1;
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_EPROTO);
    mc_buf_free(&b);

    mc_response resp;
    memset(&resp, 0, sizeof resp);
    encode_response(&resp, &b);
    /* status out of range */
    b.p[12] = 0xff;
    assert_int_equal(mc_wire_decode_response(b.p, b.n, &resp, &err), MC_EPROTO);
    b.p[12] = 0;
    /* message length beyond the message buffer */
    b.p[20] = 0x00;
    b.p[21] = 0x02;   /* 512 */
    assert_int_equal(mc_wire_decode_response(b.p, b.n, &resp, &err), MC_EPROTO);
    mc_buf_free(&b);
}

/* A request message whose segno section is WORDS[0..n) (total, run
 * count, then first/length pairs), the rest a valid empty request. */
static void request_with_segno_words(const uint64_t *words, size_t n, mc_buf *b)
{
    mc_request req;
    memset(&req, 0, sizeof req);
    req.id = 7;
    encode_request(&req, b);
    b->n -= 3 * 8;   /* total 0, no runs, no guards */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mc_buf_append_u64(b, words[i], NULL), MC_OK);
    assert_int_equal(mc_buf_append_u64(b, 0, NULL), MC_OK);
}

/* Decoding WORDS' segno section fails, the message naming WHAT. */
static void expect_runs_refused(const uint64_t *words, size_t n, const char *what)
{
    mc_buf b;
    request_with_segno_words(words, n, &b);
    mc_request out;
    mc_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_EPROTO);
    if (!strstr(err.msg, what))
        fail_msg("expected '%s' in: %s", what, err.msg);
    assert_null(out.runs);
    mc_buf_free(&b);
}

/* Hostile segno runs are refused by name; a huge count in one run decodes
 * without memory in proportion (a 2^40-entry array could not be allocated). */
static void test_hostile_runs(void **state)
{
    (void)state;
    const uint64_t zero_len[] = {3, 2, 5, 3, 10, 0};
    expect_runs_refused(zero_len, 6, "segno run 1 of 2: an empty run");
    const uint64_t overlap[] = {4, 2, 5, 3, 7, 1};
    expect_runs_refused(overlap, 6, "segno run 1 of 2: a run overlapping or before the previous one");
    const uint64_t unsorted[] = {2, 2, 10, 1, 5, 1};
    expect_runs_refused(unsorted, 6, "overlapping or before");
    const uint64_t overflow[] = {2, 1, UINT64_MAX - 1, 2};
    expect_runs_refused(overflow, 4, "past the largest segno");
    const uint64_t segno0[] = {3, 1, 0, 3};
    expect_runs_refused(segno0, 4, "segno 0");
    const uint64_t mismatch[] = {5, 1, 5, 3};
    expect_runs_refused(mismatch, 4, "segno count 5, its runs hold 3");
    const uint64_t no_runs[] = {5, 0};
    expect_runs_refused(no_runs, 2, "segno count 5, its runs hold 0");
    const uint64_t too_big[] = {((uint64_t)1 << 40) + 1, 1, 1, ((uint64_t)1 << 40) + 1};
    expect_runs_refused(too_big, 4, "more than 2^40 segnos");
    const uint64_t promised[] = {1, (uint64_t)1 << 60, 1, 1};   /* more runs than bytes */
    expect_runs_refused(promised, 4, "segno run count");

    /* MC_REQUEST_MAX_RUNS + 1 real runs */
    size_t nruns = MC_REQUEST_MAX_RUNS + 1, nwords = 2 + 2 * nruns;
    uint64_t *many = calloc(nwords, sizeof *many);
    assert_non_null(many);
    many[0] = nruns;
    many[1] = nruns;
    for (size_t i = 0; i < nruns; i++) {
        many[2 + 2 * i] = 1 + 2 * (uint64_t)i;
        many[3 + 2 * i] = 1;
    }
    expect_runs_refused(many, nwords, "4097 segno runs (at most 4096)");
    /* exactly the limit decodes */
    many[0] = many[1] = nruns - 1;
    mc_buf b;
    request_with_segno_words(many, nwords - 2, &b);
    mc_request out;
    mc_err err;
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_OK);
    assert_int_equal(out.nruns, MC_REQUEST_MAX_RUNS);
    mc_request_clear(&out);
    mc_buf_free(&b);
    free(many);

    /* 2^40 segnos in one run: decoded as one run */
    const uint64_t huge[] = {(uint64_t)1 << 40, 1, 1, (uint64_t)1 << 40};
    request_with_segno_words(huge, 4, &b);
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_OK);
    assert_int_equal(out.nruns, 1);
    assert_int_equal(mc_request_segno_count(&out), (uint64_t)1 << 40);
    mc_request_clear(&out);
    mc_buf_free(&b);
}

/* Issue: requests stay small. Inputs of 64 MiB at the smallest segment size
 * (1 KiB): 65,540 segnos, one run, and the segnos take 32 bytes of the
 * message, as for a request of one segno. */
static void test_tiny_segments_small_message(void **state)
{
    (void)state;
    mc_request req;
    memset(&req, 0, sizeof req);
    req.id = 5;
    req.upper_level = 0;
    req.out_level = 1;
    req.segment_size = 1024;
    req.nuppers = req.ninputs = 1;
    req.inputs = calloc(1, sizeof *req.inputs);
    assert_non_null(req.inputs);
    mc_seg_meta *in = &req.inputs[0];
    *in = (mc_seg_meta){.segno = 3, .nitems = 1 << 16, .bytes = (uint64_t)64 << 20, .min_seq = 1, .max_seq = 9};
    in->min_key = (uint8_t *)strdup("a");
    in->max_key = (uint8_t *)strdup("z");
    in->min_key_len = in->max_key_len = 1;
    uint64_t n = mc_request_max_outputs(&req);
    assert_true(n >= 65539);
    assert_int_equal(mc_request_set_run(&req, 100, n, NULL), MC_OK);
    mc_buf b, one;
    encode_request(&req, &b);
    mc_request_set_run(&req, 100, 1, NULL);
    encode_request(&req, &one);
    assert_int_equal(b.n, one.n);
    assert_true(b.n < 256);   /* header, one descriptor, 8 + 8 + 16 bytes of segnos, guards */
    mc_request out;
    mc_err err;
    assert_int_equal(mc_wire_decode_request(b.p, b.n, &out, &err), MC_OK);
    assert_int_equal(out.nruns, 1);
    assert_int_equal(out.runs[0].first, 100);
    assert_int_equal(out.runs[0].count, n);
    assert_int_equal(mc_request_check(&out, &err), MC_OK);
    mc_request_clear(&out);
    mc_request_clear(&req);
    mc_buf_free(&b);
    mc_buf_free(&one);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    g_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    g_state = g_seed;
    printf("test_wire: seed %llu (MC_SEED=%llu reproduces)\n", (unsigned long long)g_seed,
           (unsigned long long)g_seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_response_round_trip),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_request_id_of_malformed),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_hostile_runs),
        cmocka_unit_test(test_tiny_segments_small_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
