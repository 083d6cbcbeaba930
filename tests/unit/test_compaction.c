/* Unit tests for compaction: real segments in a temporary store against a model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_rng.h"

#include "buf.h"
#include "compaction.h"
#include "fault.h"
#include "picker.h"
#include "split.h"
#include "store.h"

static char base_dir[1024];
static int store_counter;


typedef struct titem {
    uint8_t key[8];
    size_t key_len;
    uint8_t value[24];
    size_t value_len;
    uint64_t seq;
    uint8_t kind;
} titem;

static mc_item as_item(const titem *t)
{
    return (mc_item){t->key, t->key_len, t->value, t->value_len, t->seq, t->kind};
}

static titem kv(const char *key, const char *value, uint64_t seq, uint8_t kind)
{
    titem t = {.key_len = strlen(key), .value_len = value ? strlen(value) : 0, .seq = seq, .kind = kind};
    memcpy(t.key, key, t.key_len);
    if (value)
        memcpy(t.value, value, t.value_len);
    return t;
}

/* A fresh store (with its manifest, levels 3, fanout 2, l0 limit 1). */
static void new_store(char *store, size_t len, mc_params *params)
{
    snprintf(store, len, "%s/store%d", base_dir, store_counter++);
    mc_params p = {.fanout = 2, .l0_limit = 1, .levels = 3, .segment_size = 64};
    if (params)
        p = *params;
    mc_err err = {0};
    if (mc_store_init(store, &p, &err) != MC_OK)
        fail_msg("store init: %s", err.msg);
}

/* Writes ITEMS (sorted, unique keys) as segment SEGNO at LEVEL; *meta describes it. */
static void write_segment(const char *store, uint64_t segno, unsigned level, const titem *items, size_t n,
                          mc_seg_meta *meta)
{
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, segno, path);
    mc_seg_writer *w = NULL;
    mc_err err = {0};
    if (mc_seg_writer_create(path, segno, &w, &err) != MC_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        mc_item it = as_item(&items[i]);
        if (mc_seg_writer_add(w, &it, &err) != MC_OK)
            fail_msg("%s", err.msg);
    }
    if (mc_seg_writer_finish(&w, meta, &err) != MC_OK)
        fail_msg("%s", err.msg);
    meta->level = (uint8_t)level;
}

static bool seg_exists(const char *store, uint64_t segno)
{
    char path[MC_PATH_MAX + 8];
    mc_store_seg_path(store, segno, path);
    struct stat sb;
    bool final = stat(path, &sb) == 0;
    strcat(path, ".tmp");
    return final || stat(path, &sb) == 0;
}

/* Reads one segment fully into ITEMS (capacity CAP); returns the count. */
static size_t read_segment(const char *store, uint64_t segno, titem *items, size_t cap)
{
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, segno, path);
    mc_seg_reader *r = NULL;
    mc_err err = {0};
    if (mc_seg_reader_open(path, &r, &err) != MC_OK)
        fail_msg("%s", err.msg);
    size_t n = 0;
    for (;;) {
        mc_item it;
        bool eof = false;
        if (mc_seg_reader_next(r, &it, &eof, &err) != MC_OK)
            fail_msg("%s", err.msg);
        if (eof)
            break;
        assert_true(n < cap);
        assert_true(it.key_len <= sizeof items[n].key && it.value_len <= sizeof items[n].value);
        titem *t = &items[n++];
        t->key_len = it.key_len;
        t->value_len = it.value_len;
        memcpy(t->key, it.key, it.key_len);
        memcpy(t->value, it.value, it.value_len);
        t->seq = it.seq;
        t->kind = it.kind;
    }
    mc_seg_reader_close(&r);
    return n;
}

static void alloc_segnos(mc_request *req, uint64_t first)
{
    assert_int_equal(mc_request_set_run(req, first, mc_request_max_outputs(req), NULL), MC_OK);
}

/* Removes whatever REQ's segnos hold (between cases that reuse them). */
static void remove_outputs(const char *store, const mc_request *req)
{
    for (uint64_t i = 0; i < mc_request_segno_count(req); i++)
        mc_store_remove_segment(store, mc_request_segno_at(req, i), NULL);
}

static int titem_key_cmp(const void *a, const void *b)
{
    const titem *x = a, *y = b;
    int c = mc_key_cmp(x->key, x->key_len, y->key, y->key_len);
    if (c)
        return c;
    return x->seq > y->seq ? -1 : (x->seq < y->seq ? 1 : 0);   /* newest first */
}

static int meta_key_cmp(const void *a, const void *b)
{
    const mc_seg_meta *x = a, *y = b;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    return mc_key_cmp(x->min_key, x->min_key_len, y->min_key, y->min_key_len);
}

static bool guard_covers(const mc_request *req, const titem *t)
{
    for (size_t i = 0; i < req->nguards; i++) {
        const mc_guard *g = &req->guards[i];
        if (mc_key_cmp(g->lo.p, g->lo.len, t->key, t->key_len) <= 0 &&
            mc_key_cmp(t->key, t->key_len, g->hi.p, g->hi.len) <= 0 && g->min_seq <= t->seq)
            return true;
    }
    return false;
}

typedef struct expect {
    titem *at_out, *at_left;   /* survivors by destination, in key order */
    size_t nout, nleft;
    uint64_t overwrites, dropped, items_in;
} expect;

/* The model: newest version per key; deletes dropped by the guard rule;
 * keys past the split (sticky) back to the upper level. */
static void model(const mc_request *req, titem *all, size_t n, expect *e)
{
    memset(e, 0, sizeof *e);
    e->items_in = n;
    qsort(all, n, sizeof *all, titem_key_cmp);
    e->at_out = calloc(n + 1, sizeof *e->at_out);
    e->at_left = calloc(n + 1, sizeof *e->at_left);
    assert_non_null(e->at_out);
    assert_non_null(e->at_left);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && mc_key_cmp(all[i].key, all[i].key_len, all[i - 1].key, all[i - 1].key_len) == 0) {
            e->overwrites++;
            continue;
        }
        const titem *t = &all[i];
        if (t->kind == MC_KIND_DELETE && !(req->flags & MC_REQ_KEEP_DELETES) && !guard_covers(req, t)) {
            e->dropped++;
            continue;
        }
        bool left = (req->flags & MC_REQ_STICKY) &&
                    mc_key_cmp(t->key, t->key_len, req->split.p, req->split.len) > 0;
        if (left)
            e->at_left[e->nleft++] = *t;
        else
            e->at_out[e->nout++] = *t;
    }
}

static void expect_free(expect *e)
{
    free(e->at_out);
    free(e->at_left);
}

/* GOT and WANT hold the same items: keys, values, seqs, kinds. */
static void assert_items_equal(const titem *got, const titem *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mc_key_cmp(got[i].key, got[i].key_len, want[i].key, want[i].key_len), 0);
        assert_int_equal(got[i].seq, want[i].seq);
        assert_int_equal(got[i].kind, want[i].kind);
        assert_int_equal(got[i].value_len, want[i].value_len);
        assert_memory_equal(got[i].value, want[i].value, want[i].value_len);
    }
}

/* Reads RESP's outputs at LEVEL in key order and compares with WANT. */
static void check_level_output(const char *store, const mc_request *req, const mc_response *resp, unsigned level,
                               const titem *want, size_t nwant)
{
    titem *got = calloc(nwant + 64, sizeof *got);
    assert_non_null(got);
    size_t ngot = 0, nsegs = 0;
    uint64_t max_item = 0;
    for (size_t i = 0; i < nwant; i++)
        max_item = want[i].key_len + want[i].value_len > max_item ? want[i].key_len + want[i].value_len : max_item;
    for (size_t i = 0; i < resp->noutputs; i++) {
        const mc_seg_meta *o = &resp->outputs[i];
        if (o->level != level)
            continue;
        nsegs++;
        size_t k = read_segment(store, o->segno, got + ngot, nwant + 64 - ngot);
        assert_int_equal(k, o->nitems);
        /* split at segment_size: full segments, except the last of the level */
        assert_true(o->bytes < req->segment_size + max_item);
        bool last = i + 1 == resp->noutputs || resp->outputs[i + 1].level != level;
        if (!last)
            assert_true(o->bytes >= req->segment_size);
        ngot += k;
    }
    assert_int_equal(ngot, nwant);
    assert_items_equal(got, want, nwant);
    free(got);
}

/* A random binary key pool, sorted and unique, with prefixes of each other. */
static size_t key_pool(titem *pool, size_t n)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 'k', 0x80, 0xff};
    for (size_t i = 0; i < n; i++) {
        pool[i].key_len = 1 + rnd_below(6);
        for (size_t j = 0; j < pool[i].key_len; j++)
            pool[i].key[j] = alphabet[rnd_below(sizeof alphabet)];
        pool[i].seq = 0;
    }
    qsort(pool, n, sizeof *pool, titem_key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || mc_key_cmp(pool[i].key, pool[i].key_len, pool[u - 1].key, pool[u - 1].key_len) != 0)
            pool[u++] = pool[i];
    return u;
}

/* Items for keys POOL[a..b] (a and b always, others at random). */
static size_t make_items(const titem *pool, size_t a, size_t b, titem *out, uint64_t *seqs, size_t *nseq)
{
    size_t n = 0;
    for (size_t i = a; i <= b; i++) {
        if (i != a && i != b && rnd_below(2))
            continue;
        titem t = pool[i];
        t.seq = seqs[(*nseq)++];
        t.kind = rnd_below(10) < 3 ? MC_KIND_DELETE : MC_KIND_PUT;
        t.value_len = t.kind == MC_KIND_DELETE ? 0 : rnd_below(sizeof t.value + 1);
        for (size_t j = 0; j < t.value_len; j++)
            t.value[j] = (uint8_t)rnd();
        out[n++] = t;
    }
    return n;
}

/* A random request whose input files are in a store. */
typedef struct trial {
    mc_request req;         /* no output segnos yet */
    titem *all;             /* every input item */
    size_t nall;
    bool has_beyond;
    mc_seg_meta beyond;     /* sticky: a lower past the split, not taken (not an input) */
} trial;

static void trial_clear(trial *t)
{
    mc_request_clear(&t->req);
    free(t->all);
    if (t->has_beyond)
        mc_seg_meta_clear(&t->beyond);
    memset(t, 0, sizeof *t);
}

/* Builds in STORE a random request with NUPPERS uppers at UPPER_LEVEL and
 * up to 4 lowers at the next level, input segnos from BASE on. The lowers
 * are disjoint slices of a key pool; the first upper spans from inside the
 * first lower to inside (or, sticky, past) the last; the other uppers start
 * inside the first upper's range. Versions of a key get unique seqs in
 * random order (no input is always newer); about 30% of items are deletes. */
static void build_trial(const char *store, uint64_t base, unsigned upper_level, size_t nuppers, trial *t)
{
    enum { NSEQ = 4000 };
    memset(t, 0, sizeof *t);
    titem pool[400];
    size_t np = key_pool(pool, 400);
    assert_true(np > 60);
    uint64_t *seqs = calloc(NSEQ, sizeof *seqs);
    assert_non_null(seqs);
    size_t nseq = 0;
    for (size_t i = 0; i < NSEQ; i++)
        seqs[i] = i + 1;
    for (size_t i = NSEQ - 1; i > 0; i--) {
        size_t j = rnd_below(i + 1);
        uint64_t x = seqs[i];
        seqs[i] = seqs[j];
        seqs[j] = x;
    }
    t->all = calloc(NSEQ, sizeof *t->all);
    titem *buf = calloc(np, sizeof *buf);
    assert_non_null(t->all);
    assert_non_null(buf);
    mc_request *req = &t->req;
    *req = (mc_request){.id = 1 + rnd_below(100), .upper_level = (uint8_t)upper_level,
                        .out_level = (uint8_t)(upper_level + 1), .segment_size = 20 + rnd_below(300),
                        .nuppers = nuppers};
    req->inputs = calloc(nuppers + 4, sizeof *req->inputs);
    assert_non_null(req->inputs);
    size_t nlow = rnd_below(5);
    bool sticky = nlow > 0 && rnd_below(2);
    size_t cuts[10], q = np / (2 * 5 + 2);
    for (size_t l = 0; l < nlow; l++) {
        cuts[2 * l] = q * (2 * l + 1) + rnd_below(q / 2);
        cuts[2 * l + 1] = cuts[2 * l] + 1 + rnd_below(q);
    }
    size_t ua, ub;
    if (nlow == 0) {
        ua = rnd_below(np / 2);
        ub = ua + rnd_below(np - ua);
    } else {
        size_t last_min = cuts[2 * nlow - 2], last_max = cuts[2 * nlow - 1];
        ua = rnd_below(cuts[1] + 1);   /* reaches into the first lower */
        size_t from = last_min > ua ? last_min : ua;   /* never before ua (one lower: ua may pass its min) */
        ub = sticky ? last_max + 1 + rnd_below(np - last_max - 1) : from + rnd_below(np - from);
    }
    uint64_t segno = base;
    for (size_t u = 0; u < nuppers + nlow; u++) {
        size_t a, b;
        unsigned level = u < nuppers ? upper_level : upper_level + 1;
        if (u == 0) {
            a = ua, b = ub;
        } else if (u < nuppers) {
            a = ua + rnd_below(ub - ua + 1);
            b = a + rnd_below(np - a);
        } else {
            a = cuts[2 * (u - nuppers)], b = cuts[2 * (u - nuppers) + 1];
        }
        size_t n = make_items(pool, a, b, buf, seqs, &nseq);
        assert_true(nseq <= NSEQ);
        write_segment(store, segno++, level, buf, n, &req->inputs[req->ninputs++]);
        memcpy(t->all + t->nall, buf, n * sizeof *buf);
        t->nall += n;
    }
    if (nlow == 0 && upper_level > 0 && rnd_below(2))
        req->out_level = (uint8_t)upper_level;   /* a rewrite in place */
    if (sticky) {
        req->flags |= MC_REQ_STICKY;
        const mc_seg_meta *z = &req->inputs[req->ninputs - 1];
        assert_int_equal(mc_key_set(&req->split, z->max_key, z->max_key_len, NULL), MC_OK);
        size_t a = cuts[2 * nlow - 1] + 1;   /* the lower that was not taken */
        size_t n = make_items(pool, a, a + rnd_below(np - a), buf, seqs, &nseq);
        write_segment(store, segno++, upper_level + 1, buf, n, &t->beyond);
        t->has_beyond = true;
    }
    if (rnd_below(5) == 0)
        req->flags |= MC_REQ_KEEP_DELETES;
    req->nguards = rnd_below(4);
    req->guards = calloc(4, sizeof *req->guards);
    assert_non_null(req->guards);
    for (size_t g = 0; g < req->nguards; g++) {
        size_t a = rnd_below(np), b = a + rnd_below(np - a);
        if (rnd_below(3) == 0)
            b = a;   /* a guard on a single key */
        mc_key_set(&req->guards[g].lo, pool[a].key, pool[a].key_len, NULL);
        mc_key_set(&req->guards[g].hi, pool[b].key, pool[b].key_len, NULL);
        req->guards[g].min_seq = 1 + rnd_below(NSEQ);
    }
    free(buf);
    free(seqs);
}

/* RESP answers REQ, which read ALL: OK, valid, and equal to the model
 * (outputs sorted by level and key here). */
static void check_against_model(const char *store, const mc_request *req, mc_response *resp, titem *all,
                                size_t nall)
{
    mc_err err = {0};
    assert_int_equal(resp->status, MC_OK);
    assert_int_equal(resp->id, req->id);
    if (mc_response_validate(req, resp, &err) != MC_OK)
        fail_msg("own response invalid: %s", err.msg);
    qsort(resp->outputs, resp->noutputs, sizeof *resp->outputs, meta_key_cmp);
    expect e;
    model(req, all, nall, &e);
    check_level_output(store, req, resp, req->out_level, e.at_out, e.nout);
    if (req->flags & MC_REQ_STICKY)
        check_level_output(store, req, resp, req->upper_level, e.at_left, e.nleft);
    else
        assert_int_equal(e.nleft, 0);
    assert_int_equal(resp->stats.items_in, e.items_in);
    assert_int_equal(resp->stats.items_out, e.nout + e.nleft);
    assert_int_equal(resp->stats.overwrites_dropped, e.overwrites);
    assert_int_equal(resp->stats.deletes_dropped, e.dropped);
    expect_free(&e);
}

/* One random request in STORE, its segnos from BASE on. */
static void random_trial(const char *store, uint64_t base)
{
    trial t;
    build_trial(store, base, 1, 1, &t);
    alloc_segnos(&t.req, base + 10);
    mc_err err = {0};
    if (mc_request_check(&t.req, &err) != MC_OK)
        fail_msg("test built a bad request: %s", err.msg);
    mc_response resp;
    if (mc_compact_run(store, &t.req, NULL, &resp, &err) != MC_OK)
        fail_msg("compaction: %s", err.msg);
    check_against_model(store, &t.req, &resp, t.all, t.nall);
    /* outputs used the first allocated segnos */
    for (size_t i = 0; i < resp.noutputs; i++)
        assert_true(resp.outputs[i].segno >= base + 10 && resp.outputs[i].segno < base + 10 + resp.noutputs);
    mc_response_clear(&resp);
    trial_clear(&t);
}

static void test_random_against_model(void **state)
{
    (void)state;
    char store[1200];
    new_store(store, sizeof store, NULL);
    for (uint64_t t = 0; t < 40; t++)
        random_trial(store, 1 + t * 1000);
}

/* Every item of the outputs at LEVEL among OUTS (any order; disjoint key
 * ranges), in key order; *n gets the count. */
static titem *level_items(const char *store, const mc_seg_meta *outs, size_t nouts, unsigned level, size_t *n)
{
    mc_seg_meta *sorted = calloc(nouts + 1, sizeof *sorted);
    assert_non_null(sorted);
    size_t ns = 0, cap = 1;
    for (size_t i = 0; i < nouts; i++)
        if (outs[i].level == level) {
            sorted[ns++] = outs[i];   /* shallow: read only */
            cap += outs[i].nitems;
        }
    qsort(sorted, ns, sizeof *sorted, meta_key_cmp);
    titem *items = calloc(cap, sizeof *items);
    assert_non_null(items);
    *n = 0;
    for (size_t i = 0; i < ns; i++) {
        if (i > 0)
            assert_true(mc_key_cmp(sorted[i - 1].max_key, sorted[i - 1].max_key_len, sorted[i].min_key,
                                   sorted[i].min_key_len) < 0);
        *n += read_segment(store, sorted[i].segno, items + *n, cap - *n);
    }
    free(sorted);
    return items;
}

/* KEY is inside slice S's [lo, hi]. */
static bool in_slice(const mc_request *s, const uint8_t *key, size_t len)
{
    if ((s->flags & MC_REQ_HAS_LO) && mc_key_cmp(key, len, s->lo.p, s->lo.len) < 0)
        return false;
    return !(s->flags & MC_REQ_HAS_HI) || mc_key_cmp(key, len, s->hi.p, s->hi.len) <= 0;
}

static uint64_t split_trials, split_cut;   /* trials run, and those cut in 2 or more */

/* One random level-0 request (several overlapping uppers, deletes and
 * overwrites, lowers in level 1, tiny segments) run whole and cut in
 * slices: the slices' outputs together are the whole run's, item for item,
 * each inside its slice's range, and the joined unit validates and applies. */
static void split_trial(const char *store, uint64_t base)
{
    mc_params prm = {.fanout = 2, .l0_limit = 1, .levels = 4, .segment_size = 64};
    trial t;
    build_trial(store, base, 0, 2 + rnd_below(5), &t);
    prm.segment_size = t.req.segment_size;
    mc_manifest *m = NULL;
    mc_err err = {0};
    assert_int_equal(mc_manifest_create(&prm, &m, &err), MC_OK);
    mc_manifest_set_next_segno(m, base + 100);
    for (size_t i = 0; i < t.req.ninputs; i++)
        if (mc_manifest_add(m, &t.req.inputs[i], &err) != MC_OK)
            fail_msg("adding input %zu: %s", i, err.msg);
    if (t.has_beyond)
        assert_int_equal(mc_manifest_add(m, &t.beyond, &err), MC_OK);
    mc_request *req = &t.req;
    alloc_segnos(req, mc_manifest_alloc_segnos(m, mc_request_max_outputs(req)));
    if (mc_request_check(req, &err) != MC_OK)
        fail_msg("test built a bad request: %s", err.msg);

    /* The whole request on one worker, checked against the model. */
    mc_response whole;
    if (mc_compact_run(store, req, NULL, &whole, &err) != MC_OK)
        fail_msg("whole compaction: %s", err.msg);
    check_against_model(store, req, &whole, t.all, t.nall);

    /* The same cut in slices, each run on its own. */
    size_t want = 2 + rnd_below(5), n = 0;
    mc_request *s = NULL;
    if (mc_split_request(req, want, m, &s, &n, &err) != MC_OK)
        fail_msg("split: %s", err.msg);
    assert_true(n >= 1 && n <= want);
    split_trials++;
    split_cut += n > 1;
    mc_response *resps = calloc(n, sizeof *resps);
    assert_non_null(resps);
    for (size_t i = 0; i < n; i++) {
        s[i].id = req->id + 1 + i;
        if (mc_request_check(&s[i], &err) != MC_OK)
            fail_msg("slice %zu of %zu: %s", i, n, err.msg);
        if (mc_compact_run(store, &s[i], NULL, &resps[i], &err) != MC_OK)
            fail_msg("slice %zu of %zu: %s", i, n, err.msg);
        if (mc_response_validate(&s[i], &resps[i], &err) != MC_OK)
            fail_msg("slice %zu of %zu: response invalid: %s", i, n, err.msg);
        for (size_t j = 0; j < resps[i].noutputs; j++) {
            const mc_seg_meta *o = &resps[i].outputs[j];
            assert_true(in_slice(&s[i], o->min_key, o->min_key_len));
            assert_true(in_slice(&s[i], o->max_key, o->max_key_len));
            for (size_t k = 0; k < whole.noutputs; k++)
                assert_int_not_equal(o->segno, whole.outputs[k].segno);
        }
    }
    mc_request jreq;
    mc_response jresp;
    if (mc_split_join(req, s, resps, n, &jreq, &jresp, &err) != MC_OK)
        fail_msg("join: %s", err.msg);
    /* Item for item, at the out level and (sticky) the upper level. */
    for (int pass = 0; pass < 2; pass++) {
        unsigned level = pass == 0 ? req->out_level : req->upper_level;
        if (pass == 1 && !(req->flags & MC_REQ_STICKY))
            break;
        size_t nw = 0, ns = 0;
        titem *w = level_items(store, whole.outputs, whole.noutputs, level, &nw);
        titem *u = level_items(store, jresp.outputs, jresp.noutputs, level, &ns);
        assert_int_equal(ns, nw);
        assert_items_equal(u, w, nw);
        free(w);
        free(u);
    }
    assert_int_equal(jresp.stats.items_in, whole.stats.items_in);
    assert_int_equal(jresp.stats.items_out, whole.stats.items_out);
    assert_int_equal(jresp.stats.bytes_in, whole.stats.bytes_in);
    assert_int_equal(jresp.stats.bytes_out, whole.stats.bytes_out);
    assert_int_equal(jresp.stats.deletes_dropped, whole.stats.deletes_dropped);
    assert_int_equal(jresp.stats.overwrites_dropped, whole.stats.overwrites_dropped);
    /* The joined unit validates and applies; the levels below 0 stay disjoint. */
    if (mc_response_validate(&jreq, &jresp, &err) != MC_OK)
        fail_msg("joined response invalid (%zu slices): %s", n, err.msg);
    if (mc_manifest_apply(m, &jreq, &jresp, &err) != MC_OK)
        fail_msg("joined response not applied (%zu slices): %s", n, err.msg);
    for (size_t i = 0; i < req->ninputs; i++)
        assert_null(mc_manifest_find(m, req->inputs[i].segno));
    for (size_t i = 0; i < jresp.noutputs; i++)
        assert_non_null(mc_manifest_find(m, jresp.outputs[i].segno));
    for (unsigned l = 1; l < prm.levels; l++)
        for (size_t i = 1; i < mc_manifest_level_count(m, l); i++) {
            const mc_seg_meta *a = mc_manifest_level_at(m, l, i - 1), *b = mc_manifest_level_at(m, l, i);
            assert_true(mc_key_cmp(a->max_key, a->max_key_len, b->min_key, b->min_key_len) < 0);
        }
    mc_request_clear(&jreq);
    mc_response_clear(&jresp);
    for (size_t i = 0; i < n; i++) {
        mc_response_clear(&resps[i]);
        mc_request_clear(&s[i]);
    }
    free(resps);
    free(s);
    mc_response_clear(&whole);
    mc_manifest_destroy(&m);
    trial_clear(&t);
}

static void test_split_matches_whole(void **state)
{
    (void)state;
    char store[1200];
    new_store(store, sizeof store, NULL);
    split_trials = split_cut = 0;
    for (uint64_t t = 0; t < 40; t++)
        split_trial(store, 1 + t * 100000);
    printf("split: %llu of %llu requests cut in 2 or more slices\n", (unsigned long long)split_cut,
           (unsigned long long)split_trials);
    assert_true(split_cut * 2 >= split_trials);
}

/* Exactly 10 bytes per item, segment size 100: outputs of 10 items. */
static void test_split_at_segment_size(void **state)
{
    (void)state;
    char store[1200];
    mc_params prm = {.fanout = 2, .l0_limit = 1, .levels = 3, .segment_size = 100};
    new_store(store, sizeof store, &prm);
    titem items[35];
    for (int i = 0; i < 35; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%03d", i);
        snprintf(v, sizeof v, "v%05d", i);
        items[i] = kv(k, v, 100 + (uint64_t)i, MC_KIND_PUT);
    }
    mc_seg_meta up;
    write_segment(store, 1, 1, items, 35, &up);
    mc_request req = {.id = 3, .upper_level = 1, .out_level = 2, .segment_size = 100, .nuppers = 1, .ninputs = 1};
    req.inputs = calloc(1, sizeof *req.inputs);
    req.inputs[0] = up;
    alloc_segnos(&req, 10);
    mc_response resp;
    mc_err err = {0};
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_OK);
    assert_int_equal(resp.noutputs, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(resp.outputs[i].segno, 10 + i);
        assert_int_equal(resp.outputs[i].level, 2);
        assert_int_equal(resp.outputs[i].nitems, i < 3 ? 10 : 5);
        assert_true(seg_exists(store, 10 + i));
    }
    assert_int_equal(resp.stats.bytes_in, 350);
    assert_int_equal(resp.stats.bytes_out, 350);
    assert_true(resp.stats.seconds >= 0);
    mc_response_clear(&resp);
    /* segnos in two runs: the writer takes them in run order */
    mc_segno_run *runs = realloc(req.runs, 2 * sizeof *runs);
    assert_non_null(runs);
    req.runs = runs;
    req.nruns = 2;
    req.runs[0] = (mc_segno_run){.first = 30, .count = 2};
    req.runs[1] = (mc_segno_run){.first = 40, .count = 5};
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_OK);
    static const uint64_t in_order[] = {30, 31, 40, 41};
    assert_int_equal(resp.noutputs, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(resp.outputs[i].segno, in_order[i]);
    assert_int_equal(mc_response_validate(&req, &resp, &err), MC_OK);
    mc_response_clear(&resp);
    /* three segnos for four outputs: all used up, none left on disk */
    req.runs[0] = (mc_segno_run){.first = 50, .count = 1};
    req.runs[1] = (mc_segno_run){.first = 60, .count = 2};
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_ELIMIT);
    assert_non_null(strstr(resp.msg, "all 3 allocated segnos used up"));
    assert_false(seg_exists(store, 50));
    assert_false(seg_exists(store, 60));
    assert_false(seg_exists(store, 61));
    mc_response_clear(&resp);
    /* a key range: only keys in [k010, k019] */
    req.flags = MC_REQ_HAS_LO | MC_REQ_HAS_HI;
    mc_key_set(&req.lo, (const uint8_t *)"k010", 4, NULL);
    mc_key_set(&req.hi, (const uint8_t *)"k019", 4, NULL);
    alloc_segnos(&req, 20);
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_OK);
    assert_int_equal(resp.noutputs, 1);
    assert_int_equal(resp.outputs[0].nitems, 10);
    assert_memory_equal(resp.outputs[0].min_key, "k010", 4);
    assert_memory_equal(resp.outputs[0].max_key, "k019", 4);
    assert_int_equal(resp.stats.items_in, 10);
    mc_response_clear(&resp);
    mc_request_clear(&req);
}

/* Builds the issue's store: level 1 holds a delete of "k" (seq 10) over
 * level 2's put (seq 5); LATE (a level-0 segment written afterwards with an
 * old put of "k", seq 3) is there or not. Returns the picker's request for
 * level 1 -> 2 (the bottom). */
/* LATE: 0 no level-0 segment; 1 a late put of k at seq 3; 2 a put of k at
 * the delete's own seq 10 (invalid input that add cannot always see: the
 * delete hides it, so it must stay). */
static mc_request *issue_case(const char *store, mc_manifest *m, int late)
{
    titem up[] = {kv("a", "new-a", 11, MC_KIND_PUT), kv("k", NULL, 10, MC_KIND_DELETE),
                  kv("z", "new-z", 12, MC_KIND_PUT)};
    titem low[] = {kv("k", "old-k", 5, MC_KIND_PUT), kv("m", "m", 6, MC_KIND_PUT)};
    titem l0[] = {kv("k", "older-k", late == 2 ? 10 : 3, MC_KIND_PUT)};
    mc_seg_meta e;
    mc_manifest_set_next_segno(m, 10);
    write_segment(store, 1, 1, up, 3, &e);
    assert_int_equal(mc_manifest_add(m, &e, NULL), MC_OK);
    mc_seg_meta_clear(&e);
    write_segment(store, 2, 2, low, 2, &e);
    assert_int_equal(mc_manifest_add(m, &e, NULL), MC_OK);
    mc_seg_meta_clear(&e);
    if (late) {
        write_segment(store, 3, 0, l0, 1, &e);
        assert_int_equal(mc_manifest_add(m, &e, NULL), MC_OK);
        mc_seg_meta_clear(&e);
    }
    mc_picker *p = NULL;
    assert_int_equal(mc_picker_create(m, NULL, &p, NULL), MC_OK);
    mc_request *r = NULL;
    assert_int_equal(mc_picker_next(p, &r, NULL), MC_OK);
    assert_non_null(r);
    assert_int_equal(r->upper_level, 1);
    assert_int_equal(r->out_level, 2);
    mc_picker_destroy(&p);
    return r;
}

static void test_guard_keeps_delete(void **state)
{
    (void)state;
    for (int late = 0; late < 3; late++) {
        char store[1200];
        /* segment size 4, fanout 2: level 1's limit is 8 bytes, so it is over */
        mc_params prm = {.fanout = 2, .l0_limit = 1, .levels = 3, .segment_size = 4};
        new_store(store, sizeof store, &prm);
        mc_manifest *m = NULL;
        assert_int_equal(mc_manifest_create(&prm, &m, NULL), MC_OK);
        mc_request *r = issue_case(store, m, late);
        assert_int_equal(r->nguards, late ? 1 : 0);
        r->segment_size = 1 << 20;
        print_message("late put: %s\n", late == 0 ? "none" : late == 1 ? "seq 3" : "seq 10, the delete's");
        mc_response resp;
        mc_err err = {0};
        assert_int_equal(mc_compact_run(store, r, NULL, &resp, &err), MC_OK);
        assert_int_equal(resp.noutputs, 1);
        titem got[8];
        size_t n = read_segment(store, resp.outputs[0].segno, got, 8);
        /* a, k (the delete, only when the late put exists), m, z */
        assert_int_equal(n, late ? 4 : 3);
        assert_int_equal(resp.stats.deletes_dropped, late ? 0 : 1);
        assert_int_equal(resp.stats.overwrites_dropped, 1);
        if (late) {
            assert_memory_equal(got[1].key, "k", 1);
            assert_int_equal(got[1].kind, MC_KIND_DELETE);
            assert_int_equal(got[1].seq, 10);
        } else {
            assert_memory_equal(got[1].key, "m", 1);
        }
        assert_int_equal(mc_response_validate(r, &resp, &err), MC_OK);
        assert_int_equal(mc_manifest_apply(m, r, &resp, &err), MC_OK);
        mc_response_clear(&resp);
        mc_request_clear(r);
        free(r);
        mc_manifest_destroy(&m);
    }
}

/* Identical versions (same key, seq, kind and value) in two inputs, as an
 * add of a file already added leaves them: one copy is kept and the others
 * are counted, so that items_in - items_out = deletes_dropped +
 * overwrites_dropped + duplicates_dropped. */
static void test_duplicates_counted(void **state)
{
    (void)state;
    char store[1200];
    new_store(store, sizeof store, NULL);
    titem a[] = {kv("a", "x", 5, MC_KIND_PUT), kv("b", "y", 3, MC_KIND_PUT), kv("c", "new", 7, MC_KIND_PUT),
                 kv("d", NULL, 4, MC_KIND_DELETE)};
    titem b[] = {kv("a", "x", 5, MC_KIND_PUT), kv("b", "y", 3, MC_KIND_PUT), kv("c", "old", 2, MC_KIND_PUT),
                 kv("d", NULL, 4, MC_KIND_DELETE), kv("e", "z", 1, MC_KIND_PUT)};
    mc_request req = {.id = 1, .upper_level = 0, .out_level = 1, .segment_size = 1 << 20, .nuppers = 2};
    req.inputs = calloc(2, sizeof *req.inputs);
    assert_non_null(req.inputs);
    write_segment(store, 1, 0, a, 4, &req.inputs[0]);
    write_segment(store, 2, 0, b, 5, &req.inputs[1]);
    req.ninputs = 2;
    alloc_segnos(&req, 10);
    mc_err err = {0};
    if (mc_request_check(&req, &err) != MC_OK)
        fail_msg("test built a bad request: %s", err.msg);
    mc_response resp;
    if (mc_compact_run(store, &req, NULL, &resp, &err) != MC_OK)
        fail_msg("compaction: %s", err.msg);
    const mc_compact_stats *s = &resp.stats;
    assert_int_equal(s->items_in, 9);
    assert_int_equal(s->overwrites_dropped, 1);
    assert_int_equal(s->items_in - s->items_out, s->deletes_dropped + s->overwrites_dropped + s->duplicates_dropped);
    assert_int_equal(s->duplicates_dropped, 3);   /* a, b and the delete of d */
    mc_response_clear(&resp);
    mc_request_clear(&req);
}

static int cancel_poll(void *ctx)
{
    int *calls = ctx;
    return ++*calls >= 1;
}

/* The merge_fail fault and a cancel both leave no file under any allocated segno. */
static void test_failures_remove_outputs(void **state)
{
    (void)state;
    char store[1200];
    mc_params prm = {.fanout = 2, .l0_limit = 1, .levels = 3, .segment_size = 1 << 20};
    new_store(store, sizeof store, &prm);
    /* 6 items of 1 MiB: several outputs, and more than the 4 MiB poll interval */
    uint8_t *value = malloc(1 << 20);
    assert_non_null(value);
    memset(value, 'v', 1 << 20);
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, 1, path);
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 1, &w, NULL), MC_OK);
    for (int i = 0; i < 6; i++) {
        uint8_t key[2] = {'b', (uint8_t)('0' + i)};
        mc_item it = {key, 2, value, 1 << 20, 1 + (uint64_t)i, MC_KIND_PUT};
        assert_int_equal(mc_seg_writer_add(w, &it, NULL), MC_OK);
    }
    mc_seg_meta up;
    assert_int_equal(mc_seg_writer_finish(&w, &up, NULL), MC_OK);
    up.level = 1;
    mc_request req = {.id = 42, .upper_level = 1, .out_level = 2, .segment_size = 1 << 20, .nuppers = 1,
                      .ninputs = 1};
    req.inputs = calloc(1, sizeof *req.inputs);
    req.inputs[0] = up;
    alloc_segnos(&req, 50);

    /* merge_fail armed for another segno: no effect */
    setenv("MPICOMPACT_FAULT", "merge_fail:segno=999", 1);
    mc_fault_init(0);
    mc_response resp;
    mc_err err = {0};
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_OK);
    assert_int_equal(resp.noutputs, 6);
    remove_outputs(store, &req);
    mc_response_clear(&resp);

    /* armed once for this input: fails, removes its outputs, then passes */
    setenv("MPICOMPACT_FAULT", "other_point;merge_fail:segno=1:times=1", 1);
    mc_fault_init(0);
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_EFAULT);
    assert_int_equal(resp.status, MC_EFAULT);
    assert_int_equal(resp.id, 42);
    assert_int_equal(resp.noutputs, 0);
    assert_non_null(strstr(resp.msg, "merge_fail"));
    for (uint64_t i = 0; i < mc_request_segno_count(&req); i++)
        assert_false(seg_exists(store, mc_request_segno_at(&req, i)));
    assert_true(seg_exists(store, 1));   /* the input stays */
    assert_int_equal(mc_compact_run(store, &req, NULL, &resp, &err), MC_OK);
    mc_response_clear(&resp);
    remove_outputs(store, &req);

    /* rank filter: armed for rank 3 only */
    setenv("MPICOMPACT_FAULT", "merge_fail:rank=3:times=-1", 1);
    mc_fault_init(0);
    assert_false(mc_fault_hit("merge_fail", 1));
    mc_fault_init(3);
    assert_true(mc_fault_hit("merge_fail", 1));
    assert_true(mc_fault_hit("merge_fail", 1));   /* times=-1: always */
    /* after=2: the third hit fires */
    setenv("MPICOMPACT_FAULT", "worker_leave:after=2", 1);
    mc_fault_init(0);
    assert_false(mc_fault_hit("worker_leave", MC_FAULT_ANY_SEGNO));
    assert_false(mc_fault_hit("worker_leave", MC_FAULT_ANY_SEGNO));
    assert_true(mc_fault_hit("worker_leave", MC_FAULT_ANY_SEGNO));
    assert_false(mc_fault_hit("worker_leave", MC_FAULT_ANY_SEGNO));
    unsetenv("MPICOMPACT_FAULT");
    mc_fault_init(0);
    assert_false(mc_fault_hit("merge_fail", 1));

    /* canceled by the poll hook */
    int calls = 0;
    mc_compact_hooks hooks = {.poll = cancel_poll, .ctx = &calls};
    assert_int_equal(mc_compact_run(store, &req, &hooks, &resp, &err), MC_ECANCELED);
    assert_int_equal(calls, 1);
    assert_int_equal(resp.status, MC_ECANCELED);
    for (uint64_t i = 0; i < mc_request_segno_count(&req); i++)
        assert_false(seg_exists(store, mc_request_segno_at(&req, i)));

    /* a missing input: an error naming the file, nothing written */
    req.inputs[0].segno = 7;
    mc_status st = mc_compact_run(store, &req, NULL, &resp, &err);
    assert_int_not_equal(st, MC_OK);
    assert_int_equal(resp.status, st);
    assert_non_null(strstr(resp.msg, "0000000000000007.h5"));
    mc_request_clear(&req);
    free(value);
}

static int rm_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(void)
{
    test_rng_seed("test_compaction");
    const char *tmp = getenv("TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/mc_compaction_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_split_matches_whole),
        cmocka_unit_test(test_split_at_segment_size),
        cmocka_unit_test(test_guard_keeps_delete),
        cmocka_unit_test(test_failures_remove_outputs),
        cmocka_unit_test(test_duplicates_counted),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rm_tree(base_dir) != 0)
        fprintf(stderr, "could not remove %s\n", base_dir);
    return rc;
}
