/* gen: deterministic synthetic level-0 segments (gen.h). */
#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mix.h"

/* Independent random streams of one item. */
enum { S_KIND = 1, S_TARGET, S_VLEN, S_VAL, S_KLEN, S_KEYHASH, S_KPAD, S_ZIPF };

#define ZIPF_S 0.99
#define REPICKS 8   /* draws for an overwrite/delete target before it becomes a new key */


/* A pure function of (seed, stream, n). N is a position in the store's
 * seq space (base + g, see gen.h), so that runs at other seqs differ. */
static uint64_t rnd(const mc_gen_opts *o, uint64_t stream, uint64_t n)
{
    return mc_mix64(mc_mix64(o->seed ^ (stream * 0x9e3779b97f4a7c15ull)) + n);
}

static double unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1.0p-53;
}

/* r mapped onto [0, n) without division. */
static uint64_t below(uint64_t r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* Zipf over ranks 1..n with exponent ZIPF_S: rejection-inversion sampling
 * (Hormann & Derflinger 1996), O(1) set-up and expected O(1) per sample. */
typedef struct zipf {
    double n, h_x1, h_n, s_cst;
} zipf;

static double helper1(double x) { return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x)); }
static double helper2(double x) { return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x)); }
static double zh(double x) { return exp(-ZIPF_S * log(x)); }
static double zh_integral(double x)
{
    double lx = log(x);
    return helper2((1 - ZIPF_S) * lx) * lx;
}
static double zh_integral_inv(double x)
{
    double t = x * (1 - ZIPF_S);
    if (t < -1)
        t = -1;
    return exp(helper1(t) * x);
}

static void zipf_init(zipf *z, uint64_t n)
{
    z->n = (double)n;
    z->h_x1 = zh_integral(1.5) - 1;
    z->h_n = zh_integral(z->n + 0.5);
    z->s_cst = 2 - zh_integral_inv(zh_integral(2.5) - zh(2));
}

/* Rank in [1, n], drawn from the item's ZIPF stream. */
static uint64_t zipf_sample(const zipf *z, const mc_gen_opts *o, uint64_t n)
{
    for (uint64_t attempt = 0;; attempt++) {
        double u = z->h_n + unit(rnd(o, S_ZIPF + (attempt << 8), n)) * (z->h_x1 - z->h_n);
        double x = zh_integral_inv(u);
        double k = floor(x + 0.5);
        if (k < 1)
            k = 1;
        else if (k > z->n)
            k = z->n;
        if (k - x <= z->s_cst || u >= zh_integral(k + 0.5) - zh(k) || attempt > 64)
            return (uint64_t)k;
    }
}

typedef enum { ITEM_NEW, ITEM_OVERWRITE, ITEM_DELETE } item_role;

static item_role role_of(const mc_gen_opts *o, uint64_t base, uint64_t g)
{
    if (g < o->items)
        return ITEM_NEW;   /* segment 0 has nothing earlier to target */
    double u = unit(rnd(o, S_KIND, base + g));
    if (u < o->del)
        return ITEM_DELETE;
    if (u < o->del + o->overwrite)
        return ITEM_OVERWRITE;
    return ITEM_NEW;
}

/* The earlier item of the run (its number g) that item G's overwrite/delete
 * targets, draw number ATTEMPT (another draw after a repeated pick). */
static uint64_t target_of(const mc_gen_opts *o, uint64_t base, uint64_t g, uint64_t attempt)
{
    uint64_t earlier = (g / o->items) * o->items;   /* items of earlier segments */
    uint64_t draw = base + g + (attempt << 48);
    if (o->dist == MC_DIST_ZIPF) {
        zipf z;
        zipf_init(&z, earlier);
        return zipf_sample(&z, o, draw) - 1;   /* hot keys: the oldest */
    }
    return below(rnd(o, S_TARGET, draw), earlier);
}

/* The key index item G writes (ignoring in-segment repeats): follows
 * overwrite/delete targets back to the item that created the key, whose
 * seq is the index. Each step goes to an earlier segment, so it ends. */
static uint64_t key_index_of(const mc_gen_opts *o, uint64_t base, uint64_t g)
{
    while (role_of(o, base, g) != ITEM_NEW)
        g = target_of(o, base, g, 0);
    return base + g;
}

static size_t draw_len(uint64_t r, size_t min, size_t max)
{
    return min + (size_t)below(r, (uint64_t)(max - min) + 1);
}

/* Key bytes of key index X into OUT (o->key_max bytes); returns the length. */
static size_t key_bytes(const mc_gen_opts *o, uint64_t x, uint8_t *out)
{
    uint64_t h = o->dist == MC_DIST_SEQUENTIAL ? x : mc_mix64(x ^ rnd(o, S_KEYHASH, 0));   /* bijective in x */
    size_t len = draw_len(rnd(o, S_KLEN, x), o->key_min, o->key_max);
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(h >> (56 - 8 * i));
    if (len < 8) {
        memcpy(out, be + 8 - len, len);
        return len;
    }
    memcpy(out, be, 8);
    uint64_t r = 0;
    for (size_t i = 8; i < len; i++) {
        if ((i - 8) % 8 == 0)
            r = rnd(o, S_KPAD + ((uint64_t)(i - 8) << 8), x);
        out[i] = (uint8_t)(r >> (8 * ((i - 8) % 8)));
    }
    return len;
}

/* Printable value bytes of the item with seq N into OUT; returns the length. */
static size_t value_bytes(const mc_gen_opts *o, uint64_t n, uint8_t *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = draw_len(rnd(o, S_VLEN, n), o->value_min, o->value_max);
    uint64_t r = 0;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            r = rnd(o, S_VAL + ((uint64_t)i << 8), n);
        out[i] = (uint8_t)alphabet[(r >> (8 * (i % 8))) & 63];
    }
    return len;
}

void mc_gen_opts_default(mc_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->key_min = o->key_max = 16;
    o->value_min = o->value_max = 100;
    o->dist = MC_DIST_UNIFORM;
    o->seed = 1;
}

mc_status mc_gen_opts_check(const mc_gen_opts *o, mc_err *err)
{
    if (o->segments < 1 || o->items < 1)
        return mc_err_set(err, MC_EINVAL, 0, "gen: --segments and --items must be at least 1");
    if (o->items > UINT64_MAX / o->segments || o->items > ((uint64_t)1 << 40))
        return mc_err_set(err, MC_EINVAL, 0, "gen: --segments * --items is too large");
    if (o->key_min < 1 || o->key_min > o->key_max || o->key_max > MC_KEY_MAX)
        return mc_err_set(err, MC_EINVAL, 0, "gen: --key-size must be within 1:%zu with MIN <= MAX", MC_KEY_MAX);
    if (o->value_min > o->value_max || o->value_max > MC_VALUE_MAX)
        return mc_err_set(err, MC_EINVAL, 0, "gen: --value-size must be within 0:%zu with MIN <= MAX",
                          MC_VALUE_MAX);
    if (!(o->overwrite >= 0 && o->del >= 0 && o->overwrite + o->del <= 1.0))
        return mc_err_set(err, MC_EINVAL, 0, "gen: --overwrite and --delete must be fractions adding up to at most 1");
    if (o->dist != MC_DIST_UNIFORM && o->dist != MC_DIST_ZIPF && o->dist != MC_DIST_SEQUENTIAL)
        return mc_err_set(err, MC_EINVAL, 0, "gen: unknown distribution");
    return MC_OK;
}

/* One planned item of a segment; its key lives in the arena. */
typedef struct plan {
    uint64_t g;
    size_t key_off, key_len;
    uint8_t kind;
} plan;

typedef struct plan_sort_ctx {
    const uint8_t *arena;
} plan_sort_ctx;

static int plan_cmp(const void *a, const void *b, void *ctx)
{
    const plan *x = a, *y = b;
    const uint8_t *arena = ((const plan_sort_ctx *)ctx)->arena;
    int c = mc_key_cmp(arena + x->key_off, x->key_len, arena + y->key_off, y->key_len);
    if (c)
        return c;
    return x->g < y->g ? -1 : (x->g > y->g);
}

/* Open-addressing set of key indexes used in a segment. */
typedef struct idx_set {
    uint64_t *slot;   /* value + 1; 0 = empty */
    size_t mask;
} idx_set;

static bool set_insert(idx_set *s, uint64_t x)
{
    for (size_t i = (size_t)mc_mix64(x) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == 0) {
            s->slot[i] = x + 1;
            return true;
        }
        if (s->slot[i] == x + 1)
            return false;
    }
}

mc_status mc_gen_items(const mc_gen_opts *o, uint64_t j, uint64_t first_seq,
                       mc_gen_item_fn fn, void *ctx, mc_err *err)
{
    mc_status st = mc_gen_opts_check(o, err);
    if (st != MC_OK)
        return st;
    if (j >= o->segments)
        return mc_err_set(err, MC_EINVAL, 0, "gen: segment %llu out of range", (unsigned long long)j);
    size_t n = (size_t)o->items;
    plan *plans = NULL;
    uint8_t *arena = NULL, *value = NULL;
    idx_set set = {NULL, 0};
    size_t cap = 2;
    while (cap < 2 * n)
        cap *= 2;
    if (n > SIZE_MAX / o->key_max / 2)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "gen: segment of %zu items is too large for memory", n);
    plans = malloc(n * sizeof *plans);
    arena = malloc(n * o->key_max);
    value = malloc(o->value_max ? o->value_max : 1);
    set.slot = calloc(cap, sizeof *set.slot);
    set.mask = cap - 1;
    if (!plans || !arena || !value || !set.slot) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "gen: out of memory planning segment %llu (%zu items)",
                        (unsigned long long)j, n);
        goto cleanup;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t g = j * o->items + i;
        item_role role = role_of(o, first_seq, g);
        uint64_t x = first_seq + g;
        bool placed = false;
        for (uint64_t attempt = 0; role != ITEM_NEW && !placed && attempt < REPICKS; attempt++) {
            x = key_index_of(o, first_seq, target_of(o, first_seq, g, attempt));
            placed = set_insert(&set, x);
        }
        if (!placed) {   /* new, or picks kept repeating: a new key */
            x = first_seq + g;
            role = ITEM_NEW;
            set_insert(&set, x);
        }
        plans[i].g = g;
        plans[i].kind = role == ITEM_DELETE ? MC_KIND_DELETE : MC_KIND_PUT;
        plans[i].key_off = used;
        plans[i].key_len = key_bytes(o, x, arena + used);
        used += plans[i].key_len;
    }
    plan_sort_ctx sctx = {arena};
    qsort_r(plans, n, sizeof *plans, plan_cmp, &sctx);
    for (size_t i = 0; i < n; i++) {
        const plan *p = &plans[i];
        /* Equal keys (short keys only) sort by g: keep the last, highest seq. */
        if (i + 1 < n && mc_key_cmp(arena + p->key_off, p->key_len, arena + plans[i + 1].key_off,
                                    plans[i + 1].key_len) == 0)
            continue;
        mc_item item = {
            .key = arena + p->key_off,
            .key_len = p->key_len,
            .value = value,
            .value_len = p->kind == MC_KIND_DELETE ? 0 : value_bytes(o, first_seq + p->g, value),
            .seq = first_seq + p->g,
            .kind = p->kind,
        };
        st = fn(ctx, &item, err);
        if (st != MC_OK)
            goto cleanup;
    }
cleanup:
    free(set.slot);
    free(value);
    free(arena);
    free(plans);
    return st;
}

static mc_status add_to_writer(void *ctx, const mc_item *item, mc_err *err)
{
    return mc_seg_writer_add(ctx, item, err);
}

mc_status mc_gen_segment(const mc_gen_opts *o, uint64_t j, uint64_t first_seq,
                         const char *path, uint64_t segno, mc_seg_meta *meta, mc_err *err)
{
    mc_seg_writer *w = NULL;
    mc_status st = mc_seg_writer_create(path, segno, &w, err);
    if (st != MC_OK)
        goto cleanup;
    st = mc_gen_items(o, j, first_seq, add_to_writer, w, err);
    if (st != MC_OK)
        goto cleanup;
    st = mc_seg_writer_finish(&w, meta, err);
cleanup:
    mc_seg_writer_abort(&w);
    return st;
}
