/* Unit tests for picker: random manifests compacted by simulated workers, and targeted cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "picker.h"
#include "compact_sched.h"
#include "segment_mem.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t rnd_in(uint64_t lo, uint64_t hi)   /* inclusive */
{
    return lo + rnd() % (hi - lo + 1);
}

/* Keys are 8-byte big-endian numbers, so key order is numeric order. */
static void put_key(uint8_t *k, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_key(const uint8_t *k, size_t len)
{
    assert_int_equal(len, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | k[i];
    return v;
}

static mc_seg_meta seg(uint64_t segno, unsigned level, uint64_t lo, uint64_t hi, uint64_t bytes, uint64_t ndeletes,
                       uint64_t min_seq, uint64_t max_seq)
{
    mc_seg_meta e = {.segno = segno, .level = (uint8_t)level, .nitems = bytes, .ndeletes = ndeletes,
                     .bytes = bytes, .min_seq = min_seq, .max_seq = max_seq};
    e.min_key = malloc(8);
    e.max_key = malloc(8);
    assert_non_null(e.min_key);
    assert_non_null(e.max_key);
    put_key(e.min_key, lo);
    put_key(e.max_key, hi);
    e.min_key_len = e.max_key_len = 8;
    return e;
}

static void add(mc_manifest *m, uint64_t segno, unsigned level, uint64_t lo, uint64_t hi, uint64_t bytes,
                uint64_t ndeletes, uint64_t seq)
{
    if (mc_manifest_next_segno(m) <= segno)
        mc_manifest_set_next_segno(m, segno + 1);
    mc_seg_meta e = seg(segno, level, lo, hi, bytes, ndeletes, seq, seq + 10);
    mc_err err = {0};
    if (mc_manifest_add(m, &e, &err) != MC_OK)
        fail_msg("add %llu: %s", (unsigned long long)segno, err.msg);
    mc_seg_meta_clear(&e);
}

static mc_manifest *new_manifest(uint32_t fanout, uint32_t l0_limit, uint32_t levels, uint64_t segment_size)
{
    mc_params p = {.fanout = fanout, .l0_limit = l0_limit, .levels = levels, .segment_size = segment_size};
    mc_manifest *m = NULL;
    assert_int_equal(mc_manifest_create(&p, &m, NULL), MC_OK);
    mc_manifest_set_next_segno(m, 1);
    return m;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* A random store: overlapping level 0, non-overlapping deeper levels. */
static mc_manifest *random_manifest(uint32_t levels)
{
    uint64_t segsize = 100;
    mc_manifest *m = new_manifest((uint32_t)rnd_in(2, 4), (uint32_t)rnd_in(1, 3), levels, segsize);
    uint64_t segno = 1, seq = 1;
    for (unsigned l = levels - 1; l >= 1; l--) {
        size_t n = (size_t)rnd_in(0, 12);
        uint64_t pts[24];
        for (size_t i = 0; i < 2 * n; i++)
            pts[i] = rnd_in(0, 100000);
        qsort(pts, 2 * n, sizeof *pts, u64_cmp);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && pts[2 * i] <= pts[2 * i - 1])
                continue;   /* equal endpoints would touch */
            add(m, segno++, l, pts[2 * i], pts[2 * i + 1], rnd_in(20, 200), rnd_in(0, 1) ? rnd_in(1, 5) : 0,
                seq);
            seq += 20;
        }
    }
    size_t n0 = (size_t)rnd_in(0, 25);
    for (size_t i = 0; i < n0; i++) {
        uint64_t lo = rnd_in(0, 100000), w = rnd_in(0, rnd_in(0, 1) ? 1000 : 60000);
        add(m, segno++, 0, lo, lo + w, rnd_in(20, 200), rnd_in(0, 1) ? rnd_in(1, 5) : 0, seq);
        seq += 20;
    }
    return m;
}

typedef struct span {
    uint64_t lo, hi;
} span;

/* The key span a request's outputs at out_level cover. */
static span out_span(const mc_request *r)
{
    span s = {UINT64_MAX, 0};
    for (size_t i = 0; i < r->ninputs; i++) {
        uint64_t lo = get_key(r->inputs[i].min_key, 8), hi = get_key(r->inputs[i].max_key, 8);
        s.lo = lo < s.lo ? lo : s.lo;
        s.hi = hi > s.hi ? hi : s.hi;
    }
    if (r->flags & MC_REQ_STICKY)
        s.hi = get_key(r->split.p, r->split.len);
    return s;
}

/* Appends outputs covering [lo, hi] at LEVEL, about BYTES in total. */
static void emit(mc_response *resp, const mc_request *r, size_t *next_segno, unsigned level, uint64_t lo,
                 uint64_t hi, uint64_t bytes, uint64_t ndeletes, uint64_t min_seq, uint64_t max_seq)
{
    uint64_t k = bytes / r->segment_size;
    k = k < 1 ? 1 : k;
    k = k > hi - lo + 1 ? hi - lo + 1 : k;
    for (uint64_t i = 0; i < k; i++) {
        uint64_t a = lo + (hi - lo + 1) * i / k, b = lo + (hi - lo + 1) * (i + 1) / k - 1;
        assert_true(*next_segno < mc_request_segno_count(r));
        uint64_t share = bytes / k ? bytes / k : 1;
        resp->outputs[resp->noutputs++] =
            seg(mc_request_segno_at(r, (*next_segno)++), level, a, b, share, ndeletes ? 1 : 0, min_seq, max_seq);
    }
}

/* What a worker could answer: outputs replacing the inputs over their span,
 * deletes gone where the request lets them go. */
static void synthetic_response(const mc_request *r, mc_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->id = r->id;
    resp->outputs = calloc(mc_request_segno_count(r), sizeof *resp->outputs);
    assert_non_null(resp->outputs);
    uint64_t bytes = 0, min_seq = UINT64_MAX, max_seq = 0, deletes = 0;
    for (size_t i = 0; i < r->ninputs; i++) {
        bytes += r->inputs[i].bytes;
        deletes += r->inputs[i].ndeletes;
        min_seq = r->inputs[i].min_seq < min_seq ? r->inputs[i].min_seq : min_seq;
        max_seq = r->inputs[i].max_seq > max_seq ? r->inputs[i].max_seq : max_seq;
    }
    bool keep = deletes && ((r->flags & MC_REQ_KEEP_DELETES) || r->nguards);
    span s = out_span(r);
    size_t used = 0;
    if (r->flags & MC_REQ_STICKY) {
        uint64_t left = r->inputs[0].bytes / 2 ? r->inputs[0].bytes / 2 : 1;
        uint64_t umax = 0;   /* the uppers' largest key (level 0: several uppers) */
        for (size_t i = 0; i < r->nuppers; i++) {
            uint64_t k = get_key(r->inputs[i].max_key, 8);
            umax = k > umax ? k : umax;
        }
        assert_true(s.hi < umax);
        emit(resp, r, &used, r->upper_level, s.hi + 1, umax, left, keep, min_seq, max_seq);
        bytes -= left < bytes ? left : 0;
    }
    emit(resp, r, &used, r->out_level, s.lo, s.hi, bytes, keep, min_seq, max_seq);
}

/* Levels >= 1 hold non-overlapping ranges in ascending order. */
static void check_levels(const mc_manifest *m)
{
    for (unsigned l = 1; l < mc_manifest_params(m)->levels; l++)
        for (size_t i = 1; i < mc_manifest_level_count(m, l); i++) {
            const mc_seg_meta *a = mc_manifest_level_at(m, l, i - 1), *b = mc_manifest_level_at(m, l, i);
            assert_true(get_key(a->max_key, 8) < get_key(b->min_key, 8));
        }
}

/* What the random runs exercised, over all trials of a test. */
static struct {
    uint64_t picks, sticky, guarded, keep_deletes, rewrites, moves, batches;
    size_t max_l0;
} seen;

typedef struct sim {
    mc_request *fl[64];
    size_t nfl;
    size_t max_seen_l0;   /* most level-0 requests in flight at once */
} sim;

static void check_new(const sim *s, const mc_request *r)
{
    mc_err err = {0};
    if (mc_request_check(r, &err) != MC_OK)
        fail_msg("picked request fails its check: %s", err.msg);
    span a = out_span(r);
    for (size_t i = 0; i < s->nfl; i++) {
        const mc_request *o = s->fl[i];
        for (size_t x = 0; x < r->ninputs; x++)
            for (size_t y = 0; y < o->ninputs; y++)
                assert_int_not_equal(r->inputs[x].segno, o->inputs[y].segno);
        if (o->out_level == r->out_level) {
            span b = out_span(o);
            assert_true(a.hi < b.lo || b.hi < a.lo);
        }
    }
}

static void complete(sim *s, mc_manifest *m, mc_picker *p, size_t i, bool fail)
{
    mc_request *r = s->fl[i];
    if (!fail) {
        mc_response resp;
        synthetic_response(r, &resp);
        mc_err err = {0};
        if (mc_response_validate(r, &resp, &err) != MC_OK)
            fail_msg("synthetic response rejected: %s", err.msg);
        if (mc_manifest_apply(m, r, &resp, &err) != MC_OK)
            fail_msg("apply failed: %s", err.msg);
        mc_response_clear(&resp);
        check_levels(m);
    }
    mc_picker_release(p, r);
    mc_request_clear(r);
    free(r);
    s->fl[i] = s->fl[--s->nfl];
}

/* Picks until nothing is left, up to MAXFL in flight, completing (or
 * failing, then retrying) in random order. */
static void run(mc_manifest *m, mc_picker *p, size_t maxfl, sim *s)
{
    memset(s, 0, sizeof *s);
    for (int steps = 0;; steps++) {
        assert_true(steps < 200000);
        while (s->nfl < maxfl) {
            mc_request *r = NULL;
            mc_err err = {0};
            if (mc_picker_next(p, &r, &err) != MC_OK)
                fail_msg("picker: %s", err.msg);
            if (!r)
                break;
            check_new(s, r);
            seen.picks++;
            seen.sticky += (r->flags & MC_REQ_STICKY) != 0;
            seen.guarded += r->nguards > 0;
            seen.keep_deletes += (r->flags & MC_REQ_KEEP_DELETES) != 0;
            seen.rewrites += r->out_level == r->upper_level;
            seen.batches += r->nuppers > 1;
            s->fl[s->nfl++] = r;
            check_levels(m);   /* moves keep levels disjoint too */
        }
        size_t l0 = 0;
        for (size_t i = 0; i < s->nfl; i++)
            l0 += s->fl[i]->upper_level == 0;
        s->max_seen_l0 = l0 > s->max_seen_l0 ? l0 : s->max_seen_l0;
        seen.max_l0 = l0 > seen.max_l0 ? l0 : seen.max_l0;
        assert_int_equal(mc_picker_inflight(p), s->nfl);
        if (s->nfl == 0 && mc_picker_yielded(p))
            continue;   /* a quota of moves made: more to pick */
        if (s->nfl == 0)
            break;
        complete(s, m, p, (size_t)rnd_in(0, s->nfl - 1), rnd_in(0, 9) == 0);
    }
}

static void check_within_limits(const mc_manifest *m)
{
    const mc_params *pr = mc_manifest_params(m);
    assert_true(mc_manifest_level_count(m, 0) <= pr->l0_limit);
    for (unsigned l = 1; l + 1 < pr->levels; l++)
        assert_true(mc_manifest_level_bytes(m, l) <= mc_params_level_limit(pr, l));
}

static void report_seen(const char *what)
{
    printf("%s: %llu picks, %llu level-0 batches, %llu sticky, %llu with guards, %llu keeping deletes, "
           "%llu rewrites, %llu moves, up to %zu level-0 compactions at once\n", what, (unsigned long long)seen.picks,
           (unsigned long long)seen.batches,
           (unsigned long long)seen.sticky, (unsigned long long)seen.guarded, (unsigned long long)seen.keep_deletes,
           (unsigned long long)seen.rewrites, (unsigned long long)seen.moves, seen.max_l0);
}

static void test_random_normal(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    for (int t = 0; t < 60; t++) {
        mc_manifest *m = random_manifest((uint32_t)rnd_in(3, 7));
        mc_picker *p = NULL;
        mc_picker_opts o = {.full = false, .max_guards = (size_t)rnd_in(0, 4)};
        assert_int_equal(mc_picker_create(m, &o, &p, NULL), MC_OK);
        sim s;
        run(m, p, (size_t)rnd_in(1, 8), &s);
        assert_int_equal(mc_picker_inflight(p), 0);
        assert_false(mc_picker_wants_more(p));
        assert_int_equal(mc_picker_pending_bytes(p), 0);
        seen.moves += mc_picker_moves(p);
        check_within_limits(m);
        mc_request *r = NULL;
        assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
        assert_null(r);
        mc_picker_destroy(&p);
        assert_null(p);
        mc_manifest_destroy(&m);
    }
    report_seen("normal");
    /* the random stores are built so that all of these happen (sticky picks
     * are rarer since level 0 takes up to 4 * (fanout + 1) lowers: test_sticky
     * covers them) */
    assert_true(seen.guarded > 0 && seen.keep_deletes > 0 && seen.moves > 0);
    assert_true(seen.max_l0 >= 2 && seen.batches > 0);
}

static void test_random_full(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    for (int t = 0; t < 60; t++) {
        mc_manifest *m = random_manifest((uint32_t)rnd_in(2, 7));
        mc_picker *p = NULL;
        mc_picker_opts o = {.full = true, .max_guards = (size_t)rnd_in(0, 4)};
        assert_int_equal(mc_picker_create(m, &o, &p, NULL), MC_OK);
        sim s;
        run(m, p, (size_t)rnd_in(1, 8), &s);
        assert_false(mc_picker_wants_more(p));
        int deepest = mc_manifest_deepest_level(m);
        size_t at_deepest = deepest < 0 ? 0 : mc_manifest_level_count(m, (unsigned)deepest);
        assert_int_equal(at_deepest, mc_manifest_count(m));   /* one level */
        for (size_t i = 0; i < at_deepest; i++)
            assert_int_equal(mc_manifest_level_at(m, (unsigned)deepest, i)->ndeletes, 0);
        seen.moves += mc_picker_moves(p);
        mc_picker_destroy(&p);
        mc_manifest_destroy(&m);
    }
    report_seen("full");
    assert_true(seen.rewrites > 0);
}

/* Disjoint level-0 segments, each over its own level-1 segment: level 0 is
 * not serialized. */
static void test_l0_concurrent(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(4, 1, 4, 100);
    for (uint64_t i = 0; i < 8; i++) {
        add(m, 100 + i, 1, i * 1000 + 100, i * 1000 + 200, 50, 0, 1);
        add(m, 1 + i, 0, i * 1000, i * 1000 + 500, 50, 0, 100 + i * 20);
    }
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    sim s;
    memset(&s, 0, sizeof s);
    mc_request *r;
    while (mc_picker_next(p, &r, NULL) == MC_OK && r) {
        check_new(&s, r);
        assert_int_equal(r->upper_level, 0);
        assert_int_equal(r->ninputs, 2);
        s.fl[s.nfl++] = r;
    }
    /* 8 segments, limit 1: 7 may go at once (count - pending > limit) */
    assert_int_equal(s.nfl, 7);
    assert_null(r);
    /* oldest first */
    assert_int_equal(s.fl[0]->inputs[0].segno, 1);
    assert_int_equal(s.fl[1]->inputs[0].segno, 2);
    while (s.nfl)
        complete(&s, m, p, s.nfl - 1, false);
    assert_int_equal(mc_manifest_level_count(m, 0), 1);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Overlapping level-0 segments are taken together, oldest first, in one
 * request (never two overlapping requests into level 1 at once). */
static void test_l0_overlapping_together(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(4, 1, 4, 100);
    add(m, 50, 1, 400, 450, 50, 0, 1);
    for (uint64_t i = 0; i < 4; i++)
        add(m, 1 + i, 0, i * 100, 500 + i * 100, 50, 0, 100 + i * 20);
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    mc_request *a = NULL, *b = NULL;
    assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
    assert_non_null(a);
    assert_int_equal(a->nuppers, 4);
    for (uint64_t i = 0; i < 4; i++)
        assert_int_equal(a->inputs[i].segno, 1 + i);
    assert_int_equal(a->ninputs, 5);
    assert_int_equal(a->inputs[4].segno, 50);
    assert_int_equal(mc_picker_next(p, &b, NULL), MC_OK);
    assert_null(b);   /* every level-0 segment is busy */
    /* released without applying: the same pick comes back */
    mc_picker_release(p, a);
    mc_request_clear(a);
    free(a);
    assert_int_equal(mc_picker_inflight(p), 0);
    assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
    assert_non_null(a);
    assert_int_equal(a->inputs[0].segno, 1);
    assert_int_equal(a->id, 2);   /* ids are never reused */
    mc_picker_release(p, a);
    mc_request_clear(a);
    free(a);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Level 0 in batches: each pick takes the oldest free segment and every
 * free level-0 segment overlapping the batch's growing range (also one that
 * overlaps only a later member: a chain), oldest first, plus the level-1
 * segments under the batch; disjoint batches are picked separately and run
 * at once; pending counts every upper of a batch. */
static void test_l0_batches(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(4, 1, 4, 100);
    /* batches A (1, 3, 6: 1 and 6 overlap only through 3), B (2, 5), C (4), D (7),
     * segnos interleaved so that age order crosses batches */
    add(m, 1, 0, 0, 300, 50, 1, 100);
    add(m, 2, 0, 10000, 10300, 50, 0, 120);
    add(m, 3, 0, 250, 500, 50, 0, 140);
    add(m, 4, 0, 20000, 20100, 50, 0, 160);
    add(m, 5, 0, 10200, 10400, 50, 0, 180);
    add(m, 6, 0, 450, 700, 50, 0, 200);
    add(m, 7, 0, 30000, 30100, 50, 0, 220);
    add(m, 50, 1, 100, 150, 50, 0, 1);
    add(m, 51, 1, 600, 900, 50, 0, 1);     /* under 6 only */
    add(m, 52, 1, 10350, 10360, 50, 0, 1); /* under 5 only */
    add(m, 53, 1, 20050, 20060, 50, 0, 1);
    add(m, 54, 1, 30050, 30060, 50, 0, 1);
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    sim s;
    memset(&s, 0, sizeof s);
    mc_request *r;
    while (mc_picker_next(p, &r, NULL) == MC_OK && r) {
        check_new(&s, r);
        s.fl[s.nfl++] = r;
    }
    /* 7 segments, limit 1: A (3), B (2), C (1) leave 1 = the limit; D stays */
    assert_int_equal(s.nfl, 3);
    static const uint64_t want[3][5] = {{1, 3, 6, 50, 51}, {2, 5, 52}, {4, 53}};
    static const size_t nup[3] = {3, 2, 1}, nin[3] = {5, 3, 2};
    for (size_t i = 0; i < 3; i++) {
        const mc_request *q = s.fl[i];
        assert_int_equal(q->upper_level, 0);
        assert_int_equal(q->out_level, 1);
        assert_int_equal(q->nuppers, nup[i]);
        assert_int_equal(q->ninputs, nin[i]);
        assert_false(q->flags & MC_REQ_STICKY);
        for (size_t j = 0; j < nin[i]; j++)
            assert_int_equal(q->inputs[j].segno, want[i][j]);
    }
    /* A holds deletes: nothing outside it covers its range, so no guards */
    assert_int_equal(s.fl[0]->nguards, 0);
    assert_int_equal(mc_picker_inflight(p), 3);
    /* complete B first: order among level-0 batches does not matter */
    complete(&s, m, p, 1, false);
    while (s.nfl)
        complete(&s, m, p, s.nfl - 1, false);
    assert_int_equal(mc_picker_inflight(p), 0);
    assert_int_equal(mc_manifest_level_count(m, 0), 1);
    assert_int_equal(mc_manifest_find(m, 7)->level, 0);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* The width of one merge: 70 overlapping level-0 segments where a merge may
 * open 64 inputs are one round of the merge tree (the oldest 70 - 64 + 64/8
 * = 14 of them merged into level 0, not cut at segment_size, no lowers: what
 * the final pass must shed plus room for the round's outputs), and the rest
 * wait for it;
 * where it may open 128 they are one pass with every level-1 segment below
 * them. A lone upper takes fanout + 1 lowers, sticky past them. */
static void test_l0_batch_bounds(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(2, 1, 4, 100);
    for (uint64_t i = 0; i < 70; i++)
        add(m, 1 + i, 0, i, 5000 + i, 10, 0, 100 + 20 * i);
    for (uint64_t j = 0; j < 30; j++)
        add(m, 100 + j, 1, 100 + j * 100, 150 + j * 100, 1, 0, 1);   /* level 1 within its limit */
    add(m, 200, 0, 90000, 90100, 10, 0, 5000);   /* alone, over the 5 lowers below */
    for (uint64_t j = 0; j < 5; j++)
        add(m, 300 + j, 1, 89990 + j * 20, 90000 + j * 20, 1, 0, 1);
    mc_picker *p = NULL;
    mc_picker_opts narrow = {.max_fds = 64};
    assert_int_equal(mc_picker_create(m, &narrow, &p, NULL), MC_OK);
    mc_request *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
    assert_non_null(a);
    assert_int_equal(a->nuppers, 14);
    assert_int_equal(a->ninputs, 14);
    for (size_t i = 0; i < 14; i++)
        assert_int_equal(a->inputs[i].segno, 1 + i);
    assert_int_equal(a->upper_level, 0);
    assert_int_equal(a->out_level, 0);
    assert_true(a->segment_size > (uint64_t)1 << 40);
    assert_false(a->flags & MC_REQ_STICKY);
    assert_int_equal(mc_picker_next(p, &b, NULL), MC_OK);
    assert_non_null(b);
    assert_int_equal(b->nuppers, 1);
    assert_int_equal(b->inputs[0].segno, 200);
    assert_int_equal(b->ninputs, 1 + 3);   /* one upper: fanout + 1 lowers, sticky past them */
    assert_true(b->flags & MC_REQ_STICKY);
    assert_int_equal(b->inputs[3].segno, 302);
    /* A round leaves one segment per slice: it may be cut in at most the
     * room the final pass kept (64/8), never in as many as its inputs; any
     * other request in as many as the scheduler wants. */
    assert_true(mc_picker_max_slices(p, a) >= 2);
    assert_true(mc_picker_max_slices(p, a) <= 8);
    assert_int_equal(mc_picker_max_slices(p, b), SIZE_MAX);
    assert_int_equal(mc_picker_next(p, &c, NULL), MC_OK);
    assert_null(c);   /* 15 .. 70 wait for the round over their range */
    mc_picker_release(p, a);
    mc_picker_release(p, b);
    mc_request_clear(a);
    mc_request_clear(b);
    free(a);
    free(b);
    assert_int_equal(mc_picker_inflight(p), 0);
    mc_picker_destroy(&p);

    mc_picker_opts wide = {.max_fds = 128};
    assert_int_equal(mc_picker_create(m, &wide, &p, NULL), MC_OK);
    assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
    assert_non_null(a);
    assert_int_equal(a->nuppers, 70);
    assert_int_equal(a->ninputs, 70 + 30);
    assert_int_equal(a->out_level, 1);
    assert_false(a->flags & MC_REQ_STICKY);
    mc_picker_release(p, a);
    mc_request_clear(a);
    free(a);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* A narrow merge (4 files, as MPICOMPACT_MERGE_FDS=4 makes it): 6
 * overlapping level-0 segments are a round of 6 - 4 + 1 = 3 (the room of one
 * output), which must not be cut in slices: two slices of a round of 2 left 2
 * segments, picked again forever (compact at 2 ranks never ended). Then the
 * 4 left are one pass. */
static void test_round_narrows(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(2, 1, 4, 100);
    for (uint64_t i = 0; i < 6; i++)
        add(m, 1 + i, 0, i, 5000 + i, 10, 0, 100 + 20 * i);
    mc_picker *p = NULL;
    mc_picker_opts narrow = {.max_fds = 4};
    assert_int_equal(mc_picker_create(m, &narrow, &p, NULL), MC_OK);
    mc_request *a = NULL;
    assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
    assert_non_null(a);
    assert_int_equal(a->ninputs, 3);
    assert_int_equal(a->out_level, 0);
    assert_int_equal(mc_picker_max_slices(p, a), 1);
    for (size_t n = 2; n <= 4; n++)
        assert_int_equal(mc_sched_slices_wanted(a, 1, mc_picker_max_slices(p, a), n, false), 1);
    mc_picker_release(p, a);
    mc_request_clear(a);
    free(a);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Sum of what a request's inputs cost a worker. */
static uint64_t request_cost(const mc_request *r)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < r->ninputs; i++)
        sum += mc_merge_input_cost(&r->inputs[i]);
    return sum;
}

/* The width of one merge by memory, with the reader's own figure
 * (segment_mem.h): 30 overlapping large level-0 segments (streamed with
 * their HDF5 file open, past MC_SEG_RAW_CHUNKS_MAX chunks: the most an input
 * costs) under a budget of 20 such inputs are a round of the
 * merge tree taking what the final pass must shed (30 - 20 + 20/8 = 12.5,
 * so 13), within the budget; under a budget of 40 they are one pass, with
 * as many level-1 lowers as the rest of the budget holds at the most an
 * input costs (10, sticky past them). Small segments cost their loaded bytes, less than a
 * large one, so 30 of them fit a budget of 20 large inputs. */
static void test_l0_memory_width(void **state)
{
    (void)state;
    const uint64_t big = 4000000000, small = 1000, max = mc_seg_input_mem_max();
    mc_seg_meta probe = {.nitems = big, .bytes = big};
    assert_int_equal(mc_merge_input_cost(&probe), max);
    assert_int_equal(mc_merge_input_cost(&probe), mc_seg_input_mem(big, big));
    probe.nitems = probe.bytes = small;
    assert_true(mc_merge_input_cost(&probe) >= small);
    assert_true(mc_merge_input_cost(&probe) < max / 20);

    for (int shape = 0; shape < 3; shape++) {
        uint64_t bytes = shape == 2 ? small : big;
        mc_manifest *m = new_manifest(2, 1, 4, 100);
        for (uint64_t i = 0; i < 30; i++)
            add(m, 1 + i, 0, i, 5000 + i, bytes, 0, 100 + 20 * i);
        for (uint64_t j = 0; j < 30; j++)
            add(m, 100 + j, 1, 100 + j * 100, 150 + j * 100, 1, 0, 1);   /* level 1 within its limit */
        mc_picker_opts opts = {.mem_budget = (shape == 1 ? 40 : 20) * max, .max_fds = 1000};
        mc_picker *p = NULL;
        assert_int_equal(mc_picker_create(m, &opts, &p, NULL), MC_OK);
        mc_request *a = NULL;
        assert_int_equal(mc_picker_next(p, &a, NULL), MC_OK);
        assert_non_null(a);
        if (shape == 0) {
            assert_int_equal(a->nuppers, 13);
            assert_int_equal(a->ninputs, 13);
            assert_int_equal(a->out_level, 0);
        } else if (shape == 1) {
            assert_int_equal(a->nuppers, 30);
            assert_int_equal(a->ninputs, 30 + 10);
            assert_int_equal(a->out_level, 1);
            assert_true(a->flags & MC_REQ_STICKY);
        } else {
            assert_int_equal(a->nuppers, 30);
            assert_int_equal(a->out_level, 1);
        }
        assert_true(request_cost(a) <= opts.mem_budget);
        mc_picker_release(p, a);
        mc_request_clear(a);
        free(a);
        mc_picker_destroy(&p);
        mc_manifest_destroy(&m);
    }
}

/* Sticky: more lowers overlap than fanout + 1. */
static void test_sticky(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(2, 1, 4, 100);
    for (uint64_t i = 0; i < 6; i++)
        add(m, 10 + i, 2, i * 100, i * 100 + 50, 50, 0, 1);
    add(m, 1, 1, 20, 560, 10000, 0, 100);   /* over level 1's limit of 200 */
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    mc_request *r = NULL;
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    assert_non_null(r);
    assert_true(r->flags & MC_REQ_STICKY);
    assert_int_equal(r->ninputs, 1 + 3);
    assert_int_equal(get_key(r->split.p, r->split.len), 250);
    assert_int_equal(r->inputs[3].segno, 12);
    /* one run of fresh segnos, as many as the worst case needs */
    assert_int_equal(r->nruns, 1);
    assert_int_equal(r->runs[0].count, mc_request_max_outputs(r));
    assert_int_equal(r->runs[0].first, 16);   /* the next segno after the store's */
    mc_picker_release(p, r);
    mc_request_clear(r);
    free(r);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Issue: requests stay small. 64 MiB of level 0 at the smallest segment
 * size (1 KiB) asks for 65,539 segnos and more: one run of them. */
static void test_tiny_segments_one_run(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(4, 1, 3, 1024);
    add(m, 1, 0, 0, 1000, (uint64_t)32 << 20, 0, 1);
    add(m, 2, 0, 500, 1500, (uint64_t)32 << 20, 0, 30);
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    mc_request *r = NULL;
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    assert_non_null(r);
    assert_int_equal(r->ninputs, 2);
    assert_int_equal(r->nruns, 1);
    assert_int_equal(r->runs[0].first, 3);
    assert_int_equal(r->runs[0].count, ((uint64_t)64 << 20) / 1024 + 2 + 3);
    assert_int_equal(mc_manifest_next_segno(m), 3 + r->runs[0].count);
    assert_int_equal(mc_request_check(r, NULL), MC_OK);
    mc_picker_release(p, r);
    mc_request_clear(r);
    free(r);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Moves: no lowers means relabel, except into the bottom with deletes. */
static void test_moves(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(2, 1, 3, 100);
    add(m, 1, 0, 0, 10, 50, 0, 1);
    add(m, 2, 0, 20, 30, 50, 0, 30);
    add(m, 3, 1, 100, 110, 300, 2, 60);   /* level 1 over its limit of 200, holds deletes */
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    mc_request *r = NULL;
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    /* 1 moves to level 1 (level 0 is then within its limit), and on to the
     * bottom (level 1 is still over); 3 holds deletes: not moved into the bottom */
    assert_int_equal(mc_picker_moves(p), 2);
    assert_int_equal(mc_manifest_find(m, 1)->level, 2);
    assert_int_equal(mc_manifest_find(m, 2)->level, 0);
    assert_non_null(r);
    assert_int_equal(r->inputs[0].segno, 3);
    assert_int_equal(r->ninputs, 1);
    assert_int_equal(r->upper_level, 1);
    assert_int_equal(r->out_level, 2);
    /* guards: segments 1 and 2 do not intersect 3's range */
    assert_int_equal(r->nguards, 0);
    mc_picker_release(p, r);
    mc_request_clear(r);
    free(r);
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

/* Guards: the case, a level-0 segment holding an old put under a
 * newer delete that goes to the bottom; too many guards keep deletes. */
static void test_guards(void **state)
{
    (void)state;
    for (int many = 0; many < 2; many++) {
        mc_manifest *m = new_manifest(2, 1, 3, 100);
        add(m, 5, 2, 0, 50, 100, 0, 1);
        add(m, 6, 1, 0, 40, 1000, 3, 200);    /* deletes, far over level 1's limit */
        add(m, 7, 0, 10, 20, 10, 0, 5);       /* late level-0 segment, old seqs */
        add(m, 8, 0, 30, 35, 10, 0, 300);     /* newer than anything in the inputs */
        if (many)
            add(m, 9, 0, 38, 39, 10, 0, 6);
        mc_picker *p = NULL;
        mc_picker_opts o = {.max_guards = 1};
        assert_int_equal(mc_picker_create(m, &o, &p, NULL), MC_OK);
        mc_request *r = NULL;
        /* level 0 (3 segments > 1) comes first or level 1: find the level-1 pick */
        mc_request *got[8];
        size_t n = 0;
        while (n < 8 && mc_picker_next(p, &r, NULL) == MC_OK && r)
            got[n++] = r;
        r = NULL;
        for (size_t i = 0; i < n; i++)
            if (got[i]->upper_level == 1)
                r = got[i];
        assert_non_null(r);
        assert_int_equal(r->inputs[0].segno, 6);
        assert_int_equal(r->inputs[1].segno, 5);
        if (!many) {
            assert_false(r->flags & MC_REQ_KEEP_DELETES);
            assert_int_equal(r->nguards, 1);   /* 7 only: 8's seqs are all newer */
            assert_int_equal(get_key(r->guards[0].lo.p, 8), 10);
            assert_int_equal(r->guards[0].min_seq, 5);
        } else {
            assert_true(r->flags & MC_REQ_KEEP_DELETES);
            assert_int_equal(r->nguards, 0);
        }
        for (size_t i = 0; i < n; i++) {
            mc_picker_release(p, got[i]);
            mc_request_clear(got[i]);
            free(got[i]);
        }
        assert_int_equal(mc_picker_inflight(p), 0);
        mc_picker_destroy(&p);
        mc_manifest_destroy(&m);
    }
}

/* Quarantined inputs are never picked again and do not keep the job going. */
static void test_quarantine(void **state)
{
    (void)state;
    mc_manifest *m = new_manifest(4, 1, 4, 100);
    add(m, 10, 1, 0, 100, 50, 0, 1);
    add(m, 1, 0, 0, 50, 50, 0, 100);
    add(m, 2, 0, 60, 70, 50, 0, 100);
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    assert_true(mc_picker_wants_more(p));
    mc_request *r = NULL;
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    assert_non_null(r);
    assert_int_equal(r->inputs[0].segno, 1);
    mc_picker_quarantine(p, r);
    mc_request_clear(r);
    free(r);
    assert_int_equal(mc_picker_inflight(p), 0);
    /* what is left of level 0 besides the quarantined segment is within the limit */
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    assert_null(r);
    assert_false(mc_picker_wants_more(p));
    mc_picker_destroy(&p);
    mc_manifest_destroy(&m);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("test_picker: seed %llu (MC_SEED=%llu reproduces)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 2654435761u + 0x9e3779b97f4a7c15ULL;
    if (!rng_state)
        rng_state = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_normal),
        cmocka_unit_test(test_random_full),
        cmocka_unit_test(test_l0_concurrent),
        cmocka_unit_test(test_l0_overlapping_together),
        cmocka_unit_test(test_l0_batches),
        cmocka_unit_test(test_l0_batch_bounds),
        cmocka_unit_test(test_round_narrows),
        cmocka_unit_test(test_l0_memory_width),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_moves),
        cmocka_unit_test(test_tiny_segments_one_run),
        cmocka_unit_test(test_guards),
        cmocka_unit_test(test_quarantine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
