/* coordinator_sim: rank 0's real picking, slicing, validation, apply and
 * commit code (src/core/compact_sched.h) driven against simulated workers that
 * answer at once, on a synthetic manifest (no segment files), to measure
 * what the coordinator costs per compaction at scales this machine cannot
 * run for real (bench/README.md).
 *
 * coordinator_sim --segments N --workers W [--overlap uniform|disjoint|mixed]
 *                 [--seconds S] [--full] [--store DIR] [--slow-commits S] --json
 *
 * Level 0 gets N segments of 16 MiB (8-byte keys): "uniform" ones each span
 * almost the whole key space, "disjoint" ones each own a slice of it with a
 * level-1 segment of 16 MiB under it (so that each is a compaction, not a
 * move), and "mixed" alternates the two. W workers take up to 2 requests each; a
 * simulated worker answers a slice with one output per 64 MiB of its share
 * of the input bytes, spread over the slice's part of the inputs' key range.
 * Commits go to a temporary store (the real mc_manifest_commit), every 0.5 s,
 * 16,384 queued deletions or 16,384 manifest changes, as in the coordinator. The run ends when
 * nothing is left to pick and nothing is in flight, or after S seconds.
 * --slow-commits S prints each commit that took longer than S seconds to
 * stderr, with its size. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "manifest_base.h"
#include "manifest_io.h"
#include "manifest_journal.h"
#include "compact_sched.h"
#include "store.h"

#define SIM_INFLIGHT 2
#define SIM_L0_BYTES (16ull << 20)
#define SIM_ITEM_BYTES 116ull

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put_key(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

/* The smallest 8-byte key >= K (*ok false: none). */
static uint64_t key_ceil(const uint8_t *k, size_t len, bool *ok)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (i < len ? k[i] : 0);
    *ok = true;
    if (len > 8) {
        *ok = v != UINT64_MAX;
        v++;
    }
    return v;
}

/* The largest 8-byte key <= K (*ok false: none). */
static uint64_t key_floor(const uint8_t *k, size_t len, bool *ok)
{
    uint64_t v = 0;
    bool padded = false;
    for (size_t i = 0; i < 8; i++) {
        v = v << 8 | (i < len ? k[i] : 0);
        padded |= i >= len;
    }
    *ok = true;
    if (padded) {
        *ok = v != 0;
        v--;
    }
    return v;
}

typedef struct sim {
    mc_manifest *m;
    mc_sched s;
    size_t workers;
    unsigned *load;
    int *free_ranks;        /* a stack of ranks with room */
    size_t nfree;
    uint64_t compactions, moves_base, failures;
    double pick_max, commit_max, apply_max, commit_total;
    size_t changes_max;     /* manifest changes one commit wrote, at most */
} sim;

static mc_status add_output(mc_response *resp, size_t *cap, unsigned level, uint64_t segno, uint64_t lo,
                            uint64_t hi, uint64_t items, const mc_request *req, mc_err *err)
{
    if (resp->noutputs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        mc_seg_meta *no = realloc(resp->outputs, ncap * sizeof *no);
        if (!no)
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "sim: out of memory");
        resp->outputs = no;
        *cap = ncap;
    }
    uint8_t lk[8], hk[8];
    put_key(lk, lo);
    put_key(hk, hi);
    mc_seg_meta e = {.segno = segno, .level = (uint8_t)level, .nitems = items, .bytes = items * SIM_ITEM_BYTES,
                     .min_key = lk, .min_key_len = 8, .max_key = hk, .max_key_len = 8};
    e.min_seq = UINT64_MAX;
    for (size_t i = 0; i < req->ninputs; i++) {
        if (req->inputs[i].min_seq < e.min_seq)
            e.min_seq = req->inputs[i].min_seq;
        if (req->inputs[i].max_seq > e.max_seq)
            e.max_seq = req->inputs[i].max_seq;
    }
    mc_status st = mc_seg_meta_copy(&resp->outputs[resp->noutputs], &e, err);
    if (st == MC_OK)
        resp->noutputs++;
    return st;
}

/* One stream of outputs over keys [lo, hi] (already clipped), NSEG pieces. */
static mc_status add_stream(mc_response *resp, size_t *cap, uint64_t *next_segno, unsigned level, uint64_t lo,
                            uint64_t hi, uint64_t nseg, uint64_t items, const mc_request *req, mc_err *err)
{
    if (lo > hi || items == 0)
        return MC_OK;
    uint64_t width = hi - lo;   /* keys - 1 */
    if (nseg > items)
        nseg = items;
    if (width < nseg)
        nseg = width + 1;
    if (nseg == 0)
        nseg = 1;
    mc_status st = MC_OK;
    uint64_t nsegnos = mc_request_segno_count(req);
    for (uint64_t j = 0; j < nseg && st == MC_OK && *next_segno < nsegnos; j++) {
        uint64_t a = lo + (uint64_t)((double)width * (double)j / (double)nseg);
        uint64_t b = j + 1 == nseg ? hi : lo + (uint64_t)((double)width * (double)(j + 1) / (double)nseg) - 1;
        if (b < a)
            b = a;
        st = add_output(resp, cap, level, mc_request_segno_at(req, (*next_segno)++), a, b, items / nseg, req, err);
    }
    return st;
}

/* What a worker would answer to REQ, at once, with plausible outputs. */
static mc_status simulate(const mc_request *req, size_t nparts, mc_response *resp, mc_err *err)
{
    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    uint64_t items = 0, bytes = 0;
    const uint8_t *ilo = NULL, *ihi = NULL;
    size_t ilo_len = 0, ihi_len = 0;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mc_seg_meta *e = &req->inputs[i];
        bytes += e->bytes;
        items += e->nitems;
        if (!ilo || mc_key_cmp(e->min_key, e->min_key_len, ilo, ilo_len) < 0)
            ilo = e->min_key, ilo_len = e->min_key_len;
        if (!ihi || mc_key_cmp(e->max_key, e->max_key_len, ihi, ihi_len) > 0)
            ihi = e->max_key, ihi_len = e->max_key_len;
    }
    bool ok1, ok2;
    uint64_t lo = key_ceil(ilo, ilo_len, &ok1), hi = key_floor(ihi, ihi_len, &ok2);
    if (req->flags & MC_REQ_HAS_LO) {
        bool ok;
        uint64_t v = key_ceil(req->lo.p, req->lo.len, &ok);
        ok1 &= ok;
        lo = v > lo ? v : lo;
    }
    if (req->flags & MC_REQ_HAS_HI) {
        bool ok;
        uint64_t v = key_floor(req->hi.p, req->hi.len, &ok);
        ok2 &= ok;
        hi = v < hi ? v : hi;
    }
    uint64_t share_items = items / (nparts ? nparts : 1), share_bytes = bytes / (nparts ? nparts : 1);
    resp->stats.items_in = items;
    resp->stats.bytes_in = bytes;
    if (!ok1 || !ok2 || lo > hi || share_items == 0)
        return MC_OK;
    uint64_t nseg = share_bytes / req->segment_size + 1;
    size_t cap = 0;
    uint64_t next = 0;
    mc_status st;
    if (req->flags & MC_REQ_STICKY) {
        bool oks, okt;
        uint64_t sp = key_floor(req->split.p, req->split.len, &oks);
        uint64_t after = key_ceil(req->split.p, req->split.len, &okt);
        if (after == sp)   /* an 8-byte split: the leftovers start past it */
            okt = after != UINT64_MAX, after++;
        uint64_t half = share_items / 2;
        st = add_stream(resp, &cap, &next, req->out_level, lo, oks && sp < hi ? sp : hi, nseg, half, req, err);
        if (st == MC_OK && okt && oks)
            st = add_stream(resp, &cap, &next, req->upper_level, after > lo ? after : lo, hi, nseg,
                            share_items - half, req, err);
    } else {
        st = add_stream(resp, &cap, &next, req->out_level, lo, hi, nseg, share_items, req, err);
    }
    for (size_t i = 0; i < resp->noutputs; i++) {
        resp->stats.items_out += resp->outputs[i].nitems;
        resp->stats.bytes_out += resp->outputs[i].bytes;
    }
    return st;
}

static mc_status synth_manifest(mc_manifest *m, size_t n, const char *overlap, mc_err *err)
{
    uint64_t step = UINT64_MAX / (n + 1);
    uint64_t seq = 1, rnd = 88172645463325252ull;
    mc_status st = MC_OK;
    for (size_t i = 0; i < n && st == MC_OK; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        bool uniform = !strcmp(overlap, "uniform") || (!strcmp(overlap, "mixed") && (i & 1));
        uint64_t lo, hi;
        if (uniform) {
            lo = rnd % (UINT64_MAX / 1000);
            hi = UINT64_MAX - rnd % (UINT64_MAX / 1000);
        } else {
            lo = step * i + 1;
            hi = step * (i + 1);
        }
        uint8_t lk[8], hk[8];
        put_key(lk, lo);
        put_key(hk, hi);
        uint64_t items = SIM_L0_BYTES / SIM_ITEM_BYTES;
        mc_seg_meta e = {.segno = mc_manifest_alloc_segnos(m, 1), .level = 0, .nitems = items,
                         .bytes = items * SIM_ITEM_BYTES, .min_seq = seq, .max_seq = seq + items - 1,
                         .min_key = lk, .min_key_len = 8, .max_key = hk, .max_key_len = 8};
        seq += items;
        st = mc_manifest_add(m, &e, err);
        if (st == MC_OK && !uniform) {
            /* A level-1 segment under it: it is a compaction, not a move. */
            put_key(lk, lo + (hi - lo) / 4);
            put_key(hk, lo + (hi - lo) / 2);
            mc_seg_meta low = e;
            low.segno = mc_manifest_alloc_segnos(m, 1);
            low.level = 1;
            low.min_seq = seq;
            low.max_seq = seq + items - 1;
            seq += items;
            st = mc_manifest_add(m, &low, err);
        }
    }
    mc_manifest_set_next_seq(m, seq);
    return st;
}

static void sim_log(void *ctx, const mc_err *err)
{
    (void)ctx;
    fprintf(stderr, "coordinator_sim: %s\n", err->msg);
}

/* Answers every flight that a worker holds, then frees their slots. */
static mc_status answer_all(sim *S, mc_err *err)
{
    mc_lc *lc = &S->s.lc;
    for (size_t i = lc->nflights; i-- > 0 && !mc_sched_commit_urgent(&S->s);) {   /* as the coordinator */
        if (i >= lc->nflights)
            continue;
        mc_flight *f = lc->flights[i];
        if (f->rank < 0)
            continue;
        int rank = f->rank;
        mc_response resp;
        mc_status st = simulate(&f->sent, f->u->nparts, &resp, err);
        mc_unit *complete = NULL;
        if (st == MC_OK)
            st = mc_sched_slice_ok(&S->s, i, &resp, &complete, err);
        mc_response_clear(&resp);
        if (st != MC_OK)
            return st;
        S->load[rank]--;
        if (S->load[rank] + 1 == SIM_INFLIGHT)
            S->free_ranks[S->nfree++] = rank;
        if (complete) {
            mc_compact_stats stats;
            double t = now();
            if ((st = mc_sched_apply(&S->s, complete, &stats, err)) != MC_OK)
                return st;
            t = now() - t;
            S->apply_max = t > S->apply_max ? t : S->apply_max;
            S->compactions++;
        }
    }
    return MC_OK;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static long peak_rss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024L;
}

int main(int argc, char **argv)
{
    size_t nseg = 0, workers = 0;
    double seconds = 0, slow_commits = 0;
    if (mc_manifest_base_child_requested(argc, argv))
        return mc_manifest_base_child_main(argc, argv);
    const char *overlap = "mixed";
    const char *store_arg = NULL;
    bool json = false, full = false;
    static const struct option longopts[] = {
        {"segments", required_argument, NULL, 'n'}, {"workers", required_argument, NULL, 'w'},
        {"overlap", required_argument, NULL, 'o'},  {"seconds", required_argument, NULL, 's'},
        {"store", required_argument, NULL, 'd'},    {"full", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},           {"slow-commits", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': nseg = strtoull(optarg, NULL, 10); break;
        case 'w': workers = strtoull(optarg, NULL, 10); break;
        case 'o': overlap = optarg; break;
        case 's': seconds = strtod(optarg, NULL); break;
        case 'd': store_arg = optarg; break;
        case 'f': full = true; break;
        case 'j': json = true; break;
        case 'c': slow_commits = strtod(optarg, NULL); break;
        default:
            fprintf(stderr, "usage: coordinator_sim --segments N --workers W [--overlap uniform|disjoint|mixed] "
                            "[--seconds S] [--full] [--store DIR] [--slow-commits S] --json\n");
            return 2;
        }
    }
    if (nseg == 0 || workers == 0 || (strcmp(overlap, "uniform") && strcmp(overlap, "disjoint") &&
                                      strcmp(overlap, "mixed"))) {
        fprintf(stderr, "coordinator_sim: --segments and --workers must be positive and --overlap one of "
                        "uniform, disjoint, mixed\n");
        return 2;
    }
    char tmpl[4096], store[4200];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/coordinator_sim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    const char *base = store_arg ? store_arg : mkdtemp(tmpl);
    if (!base) {
        fprintf(stderr, "coordinator_sim: cannot create a directory like %s: %s\n", tmpl, strerror(errno));
        return 1;
    }
    snprintf(store, sizeof store, "%s/store", base);
    mc_err err;
    mc_err_clear(&err);
    mc_params params;
    mc_params_default(&params);
    sim S = {.workers = workers};
    int rc = 1;
    bool sched_up = false;
    double t_setup = now();
    if (mc_store_init(store, &params, &err) != MC_OK || mc_manifest_load(store, &S.m, &err) != MC_OK ||
        synth_manifest(S.m, nseg, overlap, &err) != MC_OK || mc_manifest_commit(store, S.m, &err) != MC_OK)
        goto cleanup;
    t_setup = now() - t_setup;
    mc_picker_opts popts = {.full = full};
    if (mc_sched_init(&S.s, store, S.m, &popts, sim_log, NULL, &err) != MC_OK)
        goto cleanup;
    sched_up = true;
    S.load = calloc(workers + 1, sizeof *S.load);
    S.free_ranks = malloc(workers * sizeof *S.free_ranks);
    if (!S.load || !S.free_ranks) {
        mc_err_set(&err, MC_ENOMEM, ENOMEM, "out of memory for %zu workers", workers);
        goto cleanup;
    }
    for (size_t r = workers; r >= 1; r--)
        S.free_ranks[S.nfree++] = (int)r;
    double t0 = now();
    S.s.last_commit = t0;
    bool timed_out = false;
    for (;;) {
        while (S.nfree > 0) {
            int rank = S.free_ranks[S.nfree - 1];
            mc_flight *f = NULL;
            double t = now();
            mc_status st = mc_sched_take(&S.s, rank, workers + 1, false, false, S.nfree, false, &f, &err);
            t = now() - t;
            S.pick_max = t > S.pick_max ? t : S.pick_max;
            if (st != MC_OK)
                goto cleanup;
            if (!f)
                break;
            mc_lc_flight_run(&S.s.lc, f, rank);
            if (++S.load[rank] == SIM_INFLIGHT)
                S.nfree--;
        }
        if (S.s.lc.nflights == 0 && S.s.dry)
            break;
        if (answer_all(&S, &err) != MC_OK)
            goto cleanup;
        double t = now();
        if (mc_sched_commit_due(&S.s, t, false)) {
            bool switched;
            size_t changes = mc_manifest_journal(S.m)->npending;
            S.changes_max = changes > S.changes_max ? changes : S.changes_max;
            uint64_t installed = mc_manifest_base_installed(S.m);
            if (mc_sched_commit(&S.s, t, &switched, &err) != MC_OK)
                goto cleanup;
            double d = now() - t;
            if (slow_commits && d > slow_commits)
                fprintf(stderr, "coordinator_sim: commit of generation %llu: %.3f s, %zu changes, %zu edit files, "
                        "base %s\n", (unsigned long long)mc_manifest_generation(S.m), d, changes,
                        mc_manifest_journal(S.m)->nfiles,
                        mc_manifest_base_installed(S.m) != installed ? "installed"
                        : mc_manifest_base_pending(S.m) ? "being written" : "-");
            S.commit_max = d > S.commit_max ? d : S.commit_max;
            S.commit_total += d;
        }
        if (seconds > 0 && now() - t0 >= seconds) {
            timed_out = true;
            break;
        }
    }
    double wall = now() - t0;
    double tc = now();
    bool switched;
    mc_sched_note_moves(&S.s);
    if (mc_sched_commit_due(&S.s, tc, true) && mc_sched_commit(&S.s, tc, &switched, &err) != MC_OK)
        goto cleanup;
    tc = now() - tc;
    S.commit_max = tc > S.commit_max ? tc : S.commit_max;
    /* The remover's backlog at the end (a command waits for it before it
     * releases the lock). */
    double td = now();
    mc_remover_drain(S.s.remover);
    td = now() - td;
    if (json) {
        mc_json j;
        mc_json_init(&j, stdout, false);
        mc_json_object_begin(&j, NULL);
        mc_json_u64(&j, "segments", nseg);
        mc_json_u64(&j, "workers", workers);
        mc_json_str(&j, "overlap", overlap);
        mc_json_bool(&j, "full", full);
        mc_json_u64(&j, "compactions", S.compactions);
        mc_json_u64(&j, "moves", mc_picker_moves(S.s.picker));
        mc_json_f64(&j, "seconds", wall);
        mc_json_f64(&j, "compactions_per_second", wall > 0 ? (double)S.compactions / wall : 0.0);
        mc_json_u64(&j, "commits", S.s.commits);
        mc_json_f64(&j, "commit_seconds_max", S.commit_max);
        mc_json_f64(&j, "commit_seconds_total", S.commit_total);
        mc_json_u64(&j, "commit_changes_max", S.changes_max);
        mc_json_u64(&j, "background_bases", mc_manifest_base_installed(S.m));
        mc_json_f64(&j, "compactions_per_second_without_commits",
                    wall > S.commit_total ? (double)S.compactions / (wall - S.commit_total) : 0.0);
        mc_json_f64(&j, "pick_seconds_max", S.pick_max);
        mc_json_f64(&j, "apply_seconds_max", S.apply_max);
        mc_json_f64(&j, "setup_seconds", t_setup);
        mc_json_f64(&j, "removal_drain_seconds", td);
        mc_json_u64(&j, "inputs_removed", mc_remover_tried(S.s.remover));
        mc_json_bool(&j, "finished", !timed_out);
        mc_json_u64(&j, "segments_left", mc_manifest_count(S.m));
        mc_json_u64(&j, "level0_left", mc_manifest_level_count(S.m, 0));
        mc_json_u64(&j, "peak_rss_bytes", peak_rss_bytes());
        mc_json_object_end(&j);
        mc_json_finish(&j);
    }
    rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "coordinator_sim: %s\n", err.msg);
    if (sched_up)
        mc_sched_fini(&S.s);
    mc_manifest_destroy(&S.m);
    free(S.load);
    free(S.free_ranks);
    if (!store_arg && nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "coordinator_sim: could not remove %s\n", base);
    return rc;
}
