/* Unit tests for lifecycle: the transitions of units and flights driven
 * directly, with a fake store that records what is removed. The rule under
 * test: a segno that a manifest names, or that an applied unit wrote, is
 * never removed (issue 6, bug 1: a stale slice dropped at shutdown used to
 * doom the applied unit and unlink its outputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lifecycle.h"

typedef struct fake {
    uint64_t next_segno;
    uint64_t named[64];
    size_t nnamed;
    uint64_t removed[256];
    size_t nremoved;
    int released, quarantined, logged;
} fake;

static bool f_named(void *ctx, uint64_t segno)
{
    fake *f = ctx;
    for (size_t i = 0; i < f->nnamed; i++)
        if (f->named[i] == segno)
            return true;
    return false;
}

static mc_status f_remove(void *ctx, uint64_t segno, mc_err *err)
{
    (void)err;
    fake *f = ctx;
    assert_true(f->nremoved < 256);
    f->removed[f->nremoved++] = segno;
    return MC_OK;
}

static void f_release(void *ctx, const mc_request *orig)
{
    (void)orig;
    ((fake *)ctx)->released++;
}

static void f_quarantine(void *ctx, const mc_request *orig)
{
    (void)orig;
    ((fake *)ctx)->quarantined++;
}

static uint64_t f_alloc(void *ctx, size_t n)
{
    fake *f = ctx;
    uint64_t first = f->next_segno;
    f->next_segno += n;
    return first;
}

static void f_log(void *ctx, const mc_err *err)
{
    (void)err;
    ((fake *)ctx)->logged++;
}

static const mc_lc_ops ops = {
    .named = f_named, .remove = f_remove, .release = f_release,
    .quarantine = f_quarantine, .alloc_segnos = f_alloc, .log = f_log,
};

static bool was_removed(const fake *f, uint64_t segno)
{
    for (size_t i = 0; i < f->nremoved; i++)
        if (f->removed[i] == segno)
            return true;
    return false;
}

/* A request with a run of N fresh segnos (no inputs: the lifecycle never reads them). */
static mc_request req_with_segnos(fake *f, size_t n)
{
    mc_request r;
    memset(&r, 0, sizeof r);
    assert_int_equal(mc_request_set_run(&r, f_alloc(f, n), n, NULL), MC_OK);
    return r;
}

/* The first two segnos of R, into OUT. */
static void first_two(const mc_request *r, uint64_t out[2])
{
    assert_true(mc_request_segno_count(r) >= 2);
    out[0] = mc_request_segno_at(r, 0);
    out[1] = mc_request_segno_at(r, 1);
}

/* A unit of NSLICES slices, 2 segnos each; the flights in *FL (by slice). */
static mc_unit *start_unit(mc_lc *lc, fake *f, size_t nslices, mc_flight **fl)
{
    mc_request *orig = malloc(sizeof *orig);
    assert_non_null(orig);
    *orig = req_with_segnos(f, 2);
    mc_request slices[8];
    assert_true(nslices <= 8);
    for (size_t i = 0; i < nslices; i++)
        slices[i] = req_with_segnos(f, 2);
    mc_flight *first = NULL;
    mc_err err;
    assert_int_equal(mc_lc_unit_start(lc, orig, slices, nslices, &first, &err), MC_OK);
    assert_non_null(first);
    for (size_t i = 0; i < nslices; i++) {
        fl[i] = lc->flights[lc->nflights - nslices + i];
        assert_int_equal(fl[i]->part, i);
        assert_int_equal(fl[i]->rank, -1);
        assert_null(slices[i].runs);   /* taken over */
    }
    return first->u;
}

/* A success response for F (the lifecycle does not look inside). */
static mc_response ok_resp(const mc_flight *f)
{
    mc_response r;
    memset(&r, 0, sizeof r);
    r.id = f->sent.id;
    return r;
}

static void expect_kept(const fake *f, const mc_request *r)
{
    for (uint64_t i = 0; i < mc_request_segno_count(r); i++)
        assert_false(was_removed(f, mc_request_segno_at(r, i)));
}

static void expect_removed(const fake *f, const uint64_t *segnos, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(was_removed(f, segnos[i]));
}

static void test_gate_refuses_named(void **state)
{
    (void)state;
    fake f = {.next_segno = 10};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_request r = req_with_segnos(&f, 3);   /* 10, 11, 12 */
    f.named[f.nnamed++] = 11;
    assert_int_equal(mc_lc_remove_outputs(&lc, &r), MC_EINVAL);
    assert_true(was_removed(&f, 10));
    assert_false(was_removed(&f, 11));
    assert_true(was_removed(&f, 12));
    assert_int_equal(lc.refused, 1);
    assert_int_equal(f.logged, 1);
    mc_request_clear(&r);
    mc_lc_fini(&lc);
}

/* A request of several runs (a joined unit's): removal covers every segno
 * of every run and nothing between them; the gate looks inside each run. */
static void test_remove_runs(void **state)
{
    (void)state;
    fake f = {.next_segno = 10};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_request r;
    memset(&r, 0, sizeof r);
    r.runs = calloc(3, sizeof *r.runs);
    assert_non_null(r.runs);
    r.runs[0] = (mc_segno_run){.first = 10, .count = 3};
    r.runs[1] = (mc_segno_run){.first = 20, .count = 1};
    r.runs[2] = (mc_segno_run){.first = 30, .count = 4};
    r.nruns = 3;
    assert_int_equal(mc_request_segno_count(&r), 8);
    f.named[f.nnamed++] = 32;
    assert_int_equal(mc_lc_remove_outputs(&lc, &r), MC_EINVAL);
    assert_int_equal(f.nremoved, 7);
    static const uint64_t gone[] = {10, 11, 12, 20, 30, 31, 33};
    expect_removed(&f, gone, 7);
    assert_false(was_removed(&f, 32));
    assert_false(was_removed(&f, 13));
    assert_false(was_removed(&f, 19));
    assert_false(was_removed(&f, 21));
    assert_int_equal(lc.refused, 1);
    mc_request_clear(&r);
    mc_lc_fini(&lc);
}

/* Issue 6, bug 1, step by step: slices on ranks 1 and 2; slice 0 fails;
 * the unit restarts unsplit and is applied; slice 1 (stale) never answers
 * and is abandoned at shutdown. NAMED_AFTER_APPLY: whether the fake manifest
 * names the applied outputs (the coordinator's does; without it the gate's
 * applied-unit check and the stale rule must still hold). */
static void bug_sequence(bool named_after_apply)
{
    fake f = {.next_segno = 100};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_flight *fl[2];
    mc_unit *u = start_unit(&lc, &f, 2, fl);
    mc_lc_flight_run(&lc, fl[0], 1);
    mc_lc_flight_run(&lc, fl[1], 2);
    uint64_t failed[2], stale[2];
    first_two(&fl[0]->sent, failed);
    first_two(&fl[1]->sent, stale);

    /* Slice 0 fails on rank 1: its own outputs go, the unit restarts. */
    assert_int_equal(mc_lc_remove_outputs(&lc, &fl[0]->sent), MC_OK);
    mc_err err;
    assert_int_equal(mc_lc_unit_restart(&lc, u, 1, &err), MC_OK);
    assert_true(mc_lc_flight_stale(fl[0]));
    assert_true(mc_lc_flight_stale(fl[1]));
    mc_lc_flight_end(&lc, mc_lc_index(&lc, fl[0]));
    assert_int_equal(lc.nflights, 2);

    /* The restarted, unsplit flight runs on rank 0 and succeeds. */
    mc_flight *again = lc.flights[0] == fl[1] ? lc.flights[1] : lc.flights[0];
    assert_false(mc_lc_flight_stale(again));
    assert_int_equal(again->avoid_rank, 1);
    assert_int_equal(u->nparts, 1);
    mc_lc_flight_run(&lc, again, 0);
    mc_request applied;
    assert_int_equal(mc_request_copy(&applied, &again->sent, &err), MC_OK);
    mc_response resp = ok_resp(again);
    mc_unit *done = mc_lc_part_done(&lc, mc_lc_index(&lc, again), &resp);
    assert_ptr_equal(done, u);
    if (named_after_apply)
        for (uint64_t i = 0; i < mc_request_segno_count(&applied); i++)
            f.named[f.nnamed++] = mc_request_segno_at(&applied, i);
    mc_lc_unit_applied(&lc, u);   /* stays: the stale slice refers to it */
    assert_int_equal(lc.nflights, 1);

    /* Dooming an applied unit is refused outright. */
    mc_lc_unit_doom(&lc, u, false);
    assert_false(u->doomed);
    expect_kept(&f, &applied);

    /* Shutdown: rank 2 stopped without answering; its slice is abandoned. */
    assert_true(mc_lc_flight_stale(lc.flights[0]));
    mc_lc_flight_abandon(&lc, 0);
    assert_int_equal(lc.nflights, 0);

    expect_kept(&f, &applied);
    expect_removed(&f, failed, 2);
    expect_removed(&f, stale, 2);
    assert_int_equal(lc.refused, 0);
    assert_int_equal(f.released, 0);     /* applied: the coordinator released it */
    assert_int_equal(f.quarantined, 0);
    mc_request_clear(&applied);
    mc_lc_fini(&lc);
}

static void test_stale_slice_after_apply(void **state)
{
    (void)state;
    bug_sequence(true);
}

static void test_stale_slice_after_apply_unnamed(void **state)
{
    (void)state;
    bug_sequence(false);
}

/* The gate also refuses the segnos of an applied unit still tracked, even
 * when no manifest names them (yet). */
static void test_gate_refuses_applied_unit(void **state)
{
    (void)state;
    fake f = {.next_segno = 1};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_flight *fl[2];
    mc_unit *u = start_unit(&lc, &f, 2, fl);
    mc_lc_flight_run(&lc, fl[0], 1);
    mc_lc_flight_run(&lc, fl[1], 2);
    mc_err err;
    /* A third, stale flight keeps the unit alive after apply. */
    assert_int_equal(mc_lc_unit_restart(&lc, u, -1, &err), MC_OK);
    /* (restart forgot nothing: no slice had finished) */
    assert_int_equal(f.nremoved, 0);
    mc_lc_flight_end(&lc, mc_lc_index(&lc, fl[0]));
    mc_flight *again = lc.flights[0] == fl[1] ? lc.flights[1] : lc.flights[0];
    mc_lc_flight_run(&lc, again, 0);
    mc_request applied;
    assert_int_equal(mc_request_copy(&applied, &again->sent, &err), MC_OK);
    mc_response ra = ok_resp(again);
    assert_ptr_equal(mc_lc_part_done(&lc, mc_lc_index(&lc, again), &ra), u);
    mc_lc_unit_applied(&lc, u);
    assert_int_equal(mc_lc_remove_outputs(&lc, &applied), MC_EINVAL);
    expect_kept(&f, &applied);
    assert_int_equal(lc.refused, mc_request_segno_count(&applied));
    mc_lc_flight_abandon(&lc, 0);
    expect_kept(&f, &applied);
    mc_request_clear(&applied);
    mc_lc_fini(&lc);
}

/* A current (not stale) slice abandoned: the unit is doomed, its finished
 * slices lose their outputs, and it is released once nothing refers to it. */
static void test_abandon_current_dooms_unit(void **state)
{
    (void)state;
    fake f = {.next_segno = 1};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_flight *fl[3];
    mc_unit *u = start_unit(&lc, &f, 3, fl);
    assert_int_equal(lc.nwaiting, 3);
    for (int i = 0; i < 3; i++)
        mc_lc_flight_run(&lc, fl[i], i + 1);
    assert_int_equal(lc.nwaiting, 0);
    uint64_t s0[2], s1[2], s2[2];
    first_two(&fl[0]->sent, s0);
    first_two(&fl[1]->sent, s1);
    first_two(&fl[2]->sent, s2);
    mc_response r = ok_resp(fl[0]);
    assert_null(mc_lc_part_done(&lc, mc_lc_index(&lc, fl[0]), &r));
    assert_int_equal(f.nremoved, 0);
    mc_lc_flight_abandon(&lc, mc_lc_index(&lc, fl[1]));
    assert_true(u->doomed);
    expect_removed(&f, s0, 2);
    expect_removed(&f, s1, 2);
    assert_int_equal(f.released, 0);     /* slice 2 still refers to it */
    mc_lc_flight_abandon(&lc, mc_lc_index(&lc, fl[2]));
    expect_removed(&f, s2, 2);
    assert_int_equal(f.released, 1);
    assert_int_equal(lc.nflights, 0);
    assert_int_equal(lc.refused, 0);
    mc_lc_fini(&lc);
}

/* A worker left: its running slice waits again with a new id and segnos;
 * with no more work allowed it is dropped and the unit released. */
static void test_requeue(void **state)
{
    (void)state;
    fake f = {.next_segno = 1};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_flight *fl[1];
    start_unit(&lc, &f, 1, fl);
    mc_lc_flight_run(&lc, fl[0], 3);
    uint64_t id = fl[0]->sent.id, seg = mc_request_segno_at(&fl[0]->sent, 0);
    assert_true(mc_lc_requeue(&lc, 0, false));
    assert_int_equal(fl[0]->rank, -1);
    assert_true(fl[0]->sent.id > id);
    /* one new run of as many segnos, after the old ones */
    assert_int_equal(fl[0]->sent.nruns, 1);
    assert_int_equal(fl[0]->sent.runs[0].count, 2);
    assert_true(fl[0]->sent.runs[0].first > seg + 1);
    assert_int_equal(mc_lc_find(&lc, fl[0]->sent.id), 0);
    assert_int_equal(mc_lc_find(&lc, id), -1);
    assert_false(mc_lc_requeue(&lc, 0, true));
    assert_int_equal(lc.nflights, 0);
    assert_int_equal(f.released, 1);
    mc_lc_fini(&lc);
}

/* A quarantined unit ends through ops->quarantine, not release. */
static void test_quarantine(void **state)
{
    (void)state;
    fake f = {.next_segno = 1};
    mc_lc lc;
    mc_lc_init(&lc, &ops, &f);
    mc_flight *fl[2];
    mc_unit *u = start_unit(&lc, &f, 2, fl);
    mc_lc_unit_doom(&lc, u, true);
    mc_lc_end_doomed_waiting(&lc);
    assert_int_equal(lc.nflights, 0);
    assert_int_equal(f.quarantined, 1);
    assert_int_equal(f.released, 0);
    mc_lc_fini(&lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_refuses_named),
        cmocka_unit_test(test_remove_runs),
        cmocka_unit_test(test_stale_slice_after_apply),
        cmocka_unit_test(test_stale_slice_after_apply_unnamed),
        cmocka_unit_test(test_gate_refuses_applied_unit),
        cmocka_unit_test(test_abandon_current_dooms_unit),
        cmocka_unit_test(test_requeue),
        cmocka_unit_test(test_quarantine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
