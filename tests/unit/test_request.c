/* Unit tests for request: worker check, coordinator validation, all-or-nothing apply, copy.
 * Deterministic (no random input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "fault.h"
#include "manifest_io.h"
#include "request.h"
#include "store.h"

static mc_seg_meta meta(uint64_t segno, unsigned level, const char *lo, const char *hi, uint64_t min_seq,
                        uint64_t max_seq)
{
    mc_seg_meta e = {.segno = segno, .level = (uint8_t)level, .nitems = 10, .ndeletes = 1, .bytes = 100,
                     .min_seq = min_seq, .max_seq = max_seq};
    e.min_key = mc_memdup(lo, strlen(lo));
    e.min_key_len = strlen(lo);
    e.max_key = mc_memdup(hi, strlen(hi));
    e.max_key_len = strlen(hi);
    return e;
}

static void set_key(mc_key *k, const char *s)
{
    assert_int_equal(mc_key_set(k, (const uint8_t *)s, strlen(s), NULL), MC_OK);
}

/* Request 7: upper 10 at level 1 ["d", "p"], lowers 20 ["a","e"], 21 ["g","k"],
 * 22 ["m","z"] at level 2; output segnos in two runs, 100..101 and 103..105
 * (a unit joined from two slices). */
static void good_request(mc_request *r)
{
    memset(r, 0, sizeof *r);
    r->id = 7;
    r->upper_level = 1;
    r->out_level = 2;
    r->segment_size = 1000;
    r->nuppers = 1;
    r->ninputs = 4;
    r->inputs = calloc(4, sizeof *r->inputs);
    assert_non_null(r->inputs);
    r->inputs[0] = meta(10, 1, "d", "p", 50, 60);
    r->inputs[1] = meta(20, 2, "a", "e", 1, 10);
    r->inputs[2] = meta(21, 2, "g", "k", 11, 20);
    r->inputs[3] = meta(22, 2, "m", "z", 21, 30);
    r->nruns = 2;
    r->runs = calloc(2, sizeof *r->runs);
    assert_non_null(r->runs);
    r->runs[0] = (mc_segno_run){.first = 100, .count = 2};
    r->runs[1] = (mc_segno_run){.first = 103, .count = 3};
}

/* good_request() without its lowers: a rewrite in place of upper 10. */
static void rewrite_request(mc_request *r)
{
    good_request(r);
    r->out_level = 1;
    for (size_t i = 1; i < r->ninputs; i++)
        mc_seg_meta_clear(&r->inputs[i]);
    r->ninputs = 1;
}

static void test_check_accepts(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    mc_err err = {0};
    assert_int_equal(mc_request_check(&r, &err), MC_OK);
    mc_request w;
    rewrite_request(&w);
    assert_int_equal(mc_request_check(&w, &err), MC_OK);
    mc_request_clear(&w);
    mc_request_clear(&r);
}

typedef void (*mutate_fn)(mc_request *r);

static void m_flags(mc_request *r) { r->flags |= 1u << 9; }
static void m_dup_input(mc_request *r) { r->inputs[2].segno = 20; }
static void m_dup_alloc(mc_request *r) { r->runs[1].first = 101; }   /* runs overlap */
static void m_alloc_is_input(mc_request *r) { r->runs[0].first = 21; }
static void m_input_in_run(mc_request *r) { r->inputs[2].segno = 104; }
static void m_runs_unsorted(mc_request *r) { r->runs[0].first = 200; }
static void m_run_empty(mc_request *r) { r->runs[1].count = 0; }
static void m_run_segno_0(mc_request *r) { r->runs[0].first = 0; }
static void m_input_segno_0(mc_request *r) { r->inputs[1].segno = 0; }
static void m_run_overflow(mc_request *r) { r->runs[1].first = UINT64_MAX - 2; }
static void m_too_many_segnos(mc_request *r) { r->runs[1].count = MC_REQUEST_MAX_SEGNOS; }
static void m_too_many_runs(mc_request *r)
{
    size_t n = MC_REQUEST_MAX_RUNS + 1;
    mc_segno_run *runs = realloc(r->runs, n * sizeof *runs);
    assert_non_null(runs);
    for (size_t i = 0; i < n; i++)
        runs[i] = (mc_segno_run){.first = 1000 + 2 * i, .count = 1};
    r->runs = runs;
    r->nruns = n;
}
static void m_upper_level(mc_request *r) { r->inputs[0].level = 0; }
static void m_lower_level(mc_request *r) { r->inputs[2].level = 3; }
static void m_out_level(mc_request *r) { r->out_level = 3; }
static void m_segment_size(mc_request *r) { r->segment_size = 0; }
static void m_no_segnos(mc_request *r) { r->nruns = 0; }
static void m_no_uppers(mc_request *r) { r->nuppers = 0; }
static void m_unsorted(mc_request *r)
{
    mc_seg_meta t = r->inputs[1];
    r->inputs[1] = r->inputs[2];
    r->inputs[2] = t;
}
static void m_overlapping(mc_request *r)
{
    free(r->inputs[2].min_key);
    r->inputs[2].min_key = mc_memdup("e", 1);   /* touches 20's max "e" */
}
static void m_not_overlapping_upper(mc_request *r)
{
    r->nuppers = 1;
    free(r->inputs[0].max_key);
    r->inputs[0].max_key = mc_memdup("f", 1);   /* uppers ["d","f"]; lower 21 ["g","k"] */
    r->ninputs = 3;
    mc_seg_meta_clear(&r->inputs[3]);
}
static void m_outside_hi(mc_request *r)
{
    r->flags |= MC_REQ_HAS_HI;
    set_key(&r->hi, "y");
}
static void m_outside_lo(mc_request *r)
{
    r->flags |= MC_REQ_HAS_LO;
    set_key(&r->lo, "b");
}
static void m_sticky_no_split(mc_request *r) { r->flags |= MC_REQ_STICKY; }
static void m_past_split(mc_request *r)
{
    r->flags |= MC_REQ_STICKY;
    set_key(&r->split, "k");   /* lower 22 ["m","z"] lies past it */
}
static void m_bad_meta(mc_request *r) { r->inputs[1].min_seq = 11; }
static void m_empty_key(mc_request *r) { r->inputs[3].max_key_len = 0; }
static void m_bad_guard(mc_request *r)
{
    r->guards = calloc(1, sizeof *r->guards);
    r->nguards = 1;
    set_key(&r->guards[0].lo, "z");
    set_key(&r->guards[0].hi, "a");
}

static void test_check_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mutate_fn fn;
    } cases[] = {
        {"unknown flags", m_flags},          {"duplicate input", m_dup_input},
        {"duplicate alloc", m_dup_alloc},    {"alloc is input", m_alloc_is_input},
        {"input in a run", m_input_in_run},  {"runs unsorted", m_runs_unsorted},
        {"empty run", m_run_empty},          {"run at segno 0", m_run_segno_0},
        {"input segno 0", m_input_segno_0},  {"run overflows", m_run_overflow},
        {"too many segnos", m_too_many_segnos}, {"too many runs", m_too_many_runs},
        {"upper level", m_upper_level},      {"lower level", m_lower_level},
        {"out level", m_out_level},          {"segment size", m_segment_size},
        {"no segnos", m_no_segnos},          {"no uppers", m_no_uppers},
        {"unsorted lowers", m_unsorted},     {"overlapping lowers", m_overlapping},
        {"lower off upper", m_not_overlapping_upper},
        {"outside hi", m_outside_hi},        {"outside lo", m_outside_lo},
        {"sticky no split", m_sticky_no_split},
        {"past split", m_past_split},        {"bad seqs", m_bad_meta},
        {"empty key", m_empty_key},          {"bad guard", m_bad_guard},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mc_request r;
        good_request(&r);
        cases[i].fn(&r);
        mc_err err = {0};
        mc_status st = mc_request_check(&r, &err);
        if (st == MC_OK)
            fail_msg("request check accepted: %s", cases[i].name);
        assert_int_equal(st, MC_EPROTO);
        assert_non_null(strstr(err.msg, "compaction 7"));
        if (cases[i].fn == m_empty_key)
            r.inputs[3].max_key_len = 1;
        mc_request_clear(&r);
    }
}

/* A valid response to good_request(): outputs 101 ["a","h"] and 103 ["i","z"]. */
static void good_response(mc_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->id = 7;
    resp->noutputs = 2;
    resp->outputs = calloc(2, sizeof *resp->outputs);
    assert_non_null(resp->outputs);
    resp->outputs[0] = meta(101, 2, "a", "h", 1, 60);
    resp->outputs[1] = meta(103, 2, "i", "z", 5, 55);
}

static void test_validate(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    mc_response resp;
    mc_err err = {0};
    good_response(&resp);
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_OK);
    mc_response_clear(&resp);

    /* empty output is valid */
    mc_response empty = {.id = 7};
    assert_int_equal(mc_response_validate(&r, &empty, &err), MC_OK);

    for (int c = 0; c < 13; c++) {
        good_response(&resp);
        mc_seg_meta *o = &resp.outputs[1];
        switch (c) {
        case 0: o->segno = 99; break;                               /* foreign segno */
        case 1: o->segno = 101; break;                              /* used twice */
        case 2: o->level = 1; break;                                /* wrong level */
        case 3: free(o->min_key); o->min_key = mc_memdup("h", 1); break;   /* overlap */
        case 4: resp.id = 8; break;                                 /* other id */
        case 5: resp.status = MC_EIO; break;                        /* error response */
        case 6: o->max_seq = 61; break;                             /* seqs outside inputs */
        case 7: o->nitems = 0; break;                               /* empty segment */
        case 8: free(o->max_key); o->max_key = mc_memdup("zz", 2); o->max_key_len = 2; break;
        case 9: o->level = 0; break;
        case 10: o->min_seq = 70; break;                            /* min > max */
        case 11: o->segno = 102; break;                             /* between the runs */
        case 12: o->segno = 106; break;                             /* just past the last run */
        }
        mc_status st = mc_response_validate(&r, &resp, &err);
        if (st == MC_OK)
            fail_msg("response validation accepted case %d", c);
        assert_int_equal(st, MC_EPROTO);
        mc_response_clear(&resp);
    }

    /* sticky: outputs at level 2 up to the split, leftovers at level 1 past it */
    r.flags |= MC_REQ_STICKY;
    set_key(&r.split, "z");
    good_response(&resp);
    free(resp.outputs[1].max_key);
    resp.outputs[1].max_key = mc_memdup("y", 1);
    resp.outputs[1].max_key_len = 1;
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_OK);
    mc_response_clear(&resp);
    mc_key_clear(&r.split);
    set_key(&r.split, "k");
    good_response(&resp);   /* 103 ["i","z"] at level 2 runs past "k" */
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_EPROTO);
    resp.outputs[1].level = 1;   /* as a leftover it starts before "k": still wrong */
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_EPROTO);
    free(resp.outputs[1].min_key);
    resp.outputs[1].min_key = mc_memdup("l", 1);
    free(resp.outputs[0].max_key);
    resp.outputs[0].max_key = mc_memdup("k", 1);
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_OK);
    mc_response_clear(&resp);
    mc_request_clear(&r);
}

/* One line per live segment, in manifest order: what apply must not change on failure. */
static char *snapshot(const mc_manifest *m)
{
    mc_buf b = {0};
    char line[256];
    for (unsigned l = 0; l < mc_manifest_params(m)->levels; l++)
        for (size_t i = 0; i < mc_manifest_level_count(m, l); i++) {
            const mc_seg_meta *e = mc_manifest_level_at(m, l, i);
            int n = snprintf(line, sizeof line, "%u %llu %.*s %.*s %llu\n", l, (unsigned long long)e->segno,
                             (int)e->min_key_len, (const char *)e->min_key, (int)e->max_key_len,
                             (const char *)e->max_key, (unsigned long long)e->bytes);
            assert_int_equal(mc_buf_append(&b, line, (size_t)n, NULL), MC_OK);
        }
    assert_int_equal(mc_buf_append(&b, "", 1, NULL), MC_OK);
    return (char *)b.p;
}

/* The manifest good_request() was picked from, plus two segments that are not inputs. */
static mc_manifest *store_for_good(void)
{
    mc_request good;
    good_request(&good);
    const mc_request *r = &good;
    mc_params p;
    mc_params_default(&p);
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&p, &m, NULL), MC_OK);
    mc_manifest_set_next_segno(m, 200);
    for (size_t i = 0; i < r->ninputs; i++)
        assert_int_equal(mc_manifest_add(m, &r->inputs[i], NULL), MC_OK);
    mc_seg_meta other = meta(30, 2, "zz", "zzz", 1, 2);   /* not an input */
    assert_int_equal(mc_manifest_add(m, &other, NULL), MC_OK);
    mc_seg_meta_clear(&other);
    mc_seg_meta l0 = meta(31, 0, "a", "z", 70, 80);
    assert_int_equal(mc_manifest_add(m, &l0, NULL), MC_OK);
    mc_seg_meta_clear(&l0);
    mc_request_clear(&good);
    return m;
}

static void expect_apply_fails(mc_request *r, mc_response *resp)
{
    mc_manifest *m = store_for_good();
    char *before = snapshot(m);
    mc_err err = {0};
    assert_int_not_equal(mc_manifest_apply(m, r, resp, &err), MC_OK);
    assert_true(err.msg[0] != '\0');
    char *after = snapshot(m);
    assert_string_equal(before, after);
    free(before);
    free(after);
    mc_manifest_destroy(&m);
}

static void test_apply(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    mc_response resp;
    good_response(&resp);
    mc_manifest *m = store_for_good();
    mc_err err = {0};
    assert_int_equal(mc_manifest_apply(m, &r, &resp, &err), MC_OK);
    assert_int_equal(mc_manifest_count(m), 4);
    assert_null(mc_manifest_find(m, 10));
    assert_null(mc_manifest_find(m, 22));
    assert_non_null(mc_manifest_find(m, 101));
    assert_int_equal(mc_manifest_level_count(m, 1), 0);
    assert_int_equal(mc_manifest_level_count(m, 2), 3);
    mc_manifest_destroy(&m);

    /* an input missing from the manifest */
    r.inputs[2].segno = 25;
    expect_apply_fails(&r, &resp);
    r.inputs[2].segno = 21;
    /* an input at another level than the manifest says */
    r.inputs[0].level = 0;
    expect_apply_fails(&r, &resp);
    r.inputs[0].level = 1;
    /* an output overlapping a segment that is not an input */
    free(resp.outputs[1].max_key);
    resp.outputs[1].max_key = mc_memdup("zzz", 3);
    resp.outputs[1].max_key_len = 3;
    expect_apply_fails(&r, &resp);
    /* outputs overlapping each other (not validated): fails mid-way, undone */
    free(resp.outputs[1].max_key);
    resp.outputs[1].max_key = mc_memdup("z", 1);
    resp.outputs[1].max_key_len = 1;
    free(resp.outputs[1].min_key);
    resp.outputs[1].min_key = mc_memdup("b", 1);
    expect_apply_fails(&r, &resp);
    /* an output segno already live */
    resp.outputs[1].segno = 31;
    expect_apply_fails(&r, &resp);
    mc_response_clear(&resp);
    mc_request_clear(&r);
}

/* An undo that cannot put an input back (out of memory; the fault point
 * apply_restore stands for it) poisons the manifest: it has lost a live
 * segment, so it is never committed and never drives an orphan sweep. */
static void test_apply_restore_fails(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    mc_response resp;
    good_response(&resp);
    /* outputs overlapping each other: the second add fails after the inputs
     * were removed */
    free(resp.outputs[1].min_key);
    resp.outputs[1].min_key = mc_memdup("b", 1);
    free(resp.outputs[1].max_key);
    resp.outputs[1].max_key = mc_memdup("z", 1);
    resp.outputs[1].max_key_len = 1;

    char dir[] = "/tmp/mc-test-request.XXXXXX", store[64];
    assert_non_null(mkdtemp(dir));
    snprintf(store, sizeof store, "%s/s", dir);
    mc_params p;
    mc_params_default(&p);
    mc_err err = {0};
    assert_int_equal(mc_store_init(store, &p, &err), MC_OK);
    mc_manifest *m = store_for_good();
    assert_int_equal(mc_manifest_commit(store, m, &err), MC_OK);
    uint64_t gen = mc_manifest_generation(m);

    setenv("MPICOMPACT_FAULT", "apply_restore:times=-1", 1);
    mc_fault_init(0);
    assert_int_not_equal(mc_manifest_apply(m, &r, &resp, &err), MC_OK);
    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
    assert_true(mc_manifest_poisoned(m));
    assert_int_not_equal(mc_manifest_commit(store, m, &err), MC_OK);
    assert_non_null(strstr(err.msg, "not committing"));
    assert_int_equal(mc_manifest_generation(m), gen);
    uint64_t on_disk = 0;
    assert_int_equal(mc_manifest_current_generation(store, &on_disk, &err), MC_OK);
    assert_int_equal(on_disk, gen);
    assert_int_not_equal(mc_store_remove_orphans(store, m, NULL, &err), MC_OK);
    assert_non_null(strstr(err.msg, "no orphan sweep"));
    mc_manifest_destroy(&m);

    /* the same failure without the fault: undone, not poisoned */
    m = store_for_good();
    assert_int_not_equal(mc_manifest_apply(m, &r, &resp, &err), MC_OK);
    assert_false(mc_manifest_poisoned(m));
    mc_manifest_destroy(&m);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    mc_response_clear(&resp);
    mc_request_clear(&r);
}

static void test_copy_and_max_outputs(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    r.flags = MC_REQ_STICKY | MC_REQ_HAS_LO;
    set_key(&r.split, "p");
    set_key(&r.lo, "a");
    r.nguards = 1;
    r.guards = calloc(1, sizeof *r.guards);
    set_key(&r.guards[0].lo, "b");
    set_key(&r.guards[0].hi, "c");
    r.guards[0].min_seq = 3;
    mc_request c;
    assert_int_equal(mc_request_copy(&c, &r, NULL), MC_OK);
    assert_int_equal(c.ninputs, 4);
    assert_ptr_not_equal(c.inputs, r.inputs);
    assert_int_equal(c.inputs[3].segno, 22);
    assert_memory_equal(c.inputs[3].max_key, "z", 1);
    assert_memory_equal(c.split.p, "p", 1);
    assert_memory_equal(c.guards[0].hi.p, "c", 1);
    assert_int_equal(c.guards[0].min_seq, 3);
    assert_int_equal(c.nruns, 2);
    assert_ptr_not_equal(c.runs, r.runs);
    assert_memory_equal(c.runs, r.runs, 2 * sizeof *r.runs);
    /* 400 input bytes, segment size 1000, 4 inputs: 0 + 4 + 3 */
    assert_int_equal(mc_request_max_outputs(&r), 7);
    r.segment_size = 7;
    assert_int_equal(mc_request_max_outputs(&r), 400 / 7 + 7);
    mc_request_clear(&r);
    mc_request_clear(&c);
    assert_null(c.inputs);
    mc_request_clear(&c);   /* twice is fine */
    mc_response_clear(NULL);
}

/* The run helpers on good_request()'s runs 100..101 and 103..105. */
static void test_segno_runs(void **state)
{
    (void)state;
    mc_request r;
    good_request(&r);
    assert_int_equal(mc_request_segno_count(&r), 5);
    static const uint64_t order[] = {100, 101, 103, 104, 105};
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(mc_request_segno_at(&r, i), order[i]);
    static const struct {
        uint64_t segno;
        bool owned;
    } probes[] = {{0, false}, {99, false}, {100, true}, {101, true}, {102, false},
                  {103, true}, {105, true}, {106, false}, {UINT64_MAX, false}};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        assert_int_equal(mc_request_owns_segno(&r, probes[i].segno), probes[i].owned);
    /* set_run: one run, the array reused */
    const mc_segno_run *before = r.runs;
    assert_int_equal(mc_request_set_run(&r, 7, 3, NULL), MC_OK);
    assert_ptr_equal(r.runs, before);
    assert_int_equal(r.nruns, 1);
    assert_int_equal(mc_request_segno_count(&r), 3);
    assert_int_equal(mc_request_segno_at(&r, 2), 9);
    assert_false(mc_request_owns_segno(&r, 10));
    mc_request_clear(&r);
    assert_int_equal(mc_request_segno_count(&r), 0);
    assert_false(mc_request_owns_segno(&r, 7));
    /* the rules, with the index of the first offending run */
    size_t at = 99;
    mc_segno_run ok[] = {{1, 2}, {3, 1}, {10, UINT64_C(1) << 39}};   /* adjacent runs are fine */
    assert_null(mc_segno_runs_fault(ok, 3, &at));
    mc_segno_run bad[] = {{1, 2}, {5, 1}, {4, 1}};
    assert_non_null(mc_segno_runs_fault(bad, 3, &at));
    assert_int_equal(at, 2);
    assert_non_null(mc_segno_runs_fault(bad, MC_REQUEST_MAX_RUNS + 1, &at));   /* counted before read */
    assert_int_equal(at, MC_REQUEST_MAX_RUNS);
}

/* Issue: requests stay small. Inputs of 64 MiB at the smallest segment size
 * (1 KiB) need 65,540 segnos: they are one run, and validation still
 * refuses an output outside it or one used twice. */
static void test_tiny_segments_one_run(void **state)
{
    (void)state;
    mc_request r;
    rewrite_request(&r);
    r.segment_size = 1024;
    r.inputs[0].bytes = (uint64_t)64 << 20;
    r.inputs[0].nitems = 1 << 16;
    uint64_t n = mc_request_max_outputs(&r);
    assert_true(n >= 65539);
    free(r.runs);
    r.runs = NULL;
    assert_int_equal(mc_request_set_run(&r, 1000, n, NULL), MC_OK);
    assert_int_equal(r.nruns, 1);
    mc_err err = {0};
    assert_int_equal(mc_request_check(&r, &err), MC_OK);

    mc_response resp;
    memset(&resp, 0, sizeof resp);
    resp.id = 7;
    resp.noutputs = 2;
    resp.outputs = calloc(2, sizeof *resp.outputs);
    assert_non_null(resp.outputs);
    resp.outputs[0] = meta(1000, 1, "d", "h", 50, 60);
    resp.outputs[1] = meta(1000 + n - 1, 1, "i", "p", 50, 60);   /* the last one allocated */
    assert_int_equal(mc_response_validate(&r, &resp, &err), MC_OK);
    const uint64_t refused[] = {999, 1000 /* used twice */, 1000 + n, 21};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        resp.outputs[1].segno = refused[i];
        assert_int_equal(mc_response_validate(&r, &resp, &err), MC_EPROTO);
        assert_non_null(strstr(err.msg, refused[i] == 1000 ? "used twice" : "not allocated"));
    }
    mc_response_clear(&resp);
    mc_request_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_restore_fails),
        cmocka_unit_test(test_copy_and_max_outputs),
        cmocka_unit_test(test_segno_runs),
        cmocka_unit_test(test_tiny_segments_one_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
