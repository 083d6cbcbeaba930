/* ivtree: a treap of intervals with the subtree's largest hi (ivtree.h). */
#include "ivtree.h"

#include <errno.h>
#include <stdlib.h>

#include "err.h"

struct mc_ivnode {
    mc_interval iv;
    mc_ivnode *l, *r;
    const mc_interval *maxhi;   /* the interval of the subtree with the largest hi */
    uint64_t prio;
};

void mc_ivtree_init(mc_ivtree *t)
{
    t->root = NULL;
    t->n = 0;
    t->rng = 0x9e3779b97f4a7c15ull;
}

static void free_nodes(mc_ivnode *n)
{
    while (n) {
        free_nodes(n->l);
        mc_ivnode *r = n->r;
        free(n);
        n = r;
    }
}

void mc_ivtree_fini(mc_ivtree *t)
{
    free_nodes(t->root);
    t->root = NULL;
    t->n = 0;
}

static int order(const mc_interval *a, const mc_interval *b)
{
    int c = mc_key_cmp(a->lo, a->lo_len, b->lo, b->lo_len);
    if (c)
        return c;
    return a->id < b->id ? -1 : a->id > b->id;
}

static const mc_interval *higher(const mc_interval *a, const mc_interval *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return mc_key_cmp(a->hi, a->hi_len, b->hi, b->hi_len) >= 0 ? a : b;
}

static void update(mc_ivnode *n)
{
    n->maxhi = higher(&n->iv, higher(n->l ? n->l->maxhi : NULL, n->r ? n->r->maxhi : NULL));
}

/* Splits T into *A (nodes ordered before IV, or at it when INCLUSIVE) and *B. */
static void split(mc_ivnode *t, const mc_interval *iv, bool inclusive, mc_ivnode **a, mc_ivnode **b)
{
    if (!t) {
        *a = *b = NULL;
        return;
    }
    int c = order(&t->iv, iv);
    if (c < 0 || (inclusive && c == 0)) {
        split(t->r, iv, inclusive, &t->r, b);
        *a = t;
    } else {
        split(t->l, iv, inclusive, a, &t->l);
        *b = t;
    }
    update(t);
}

/* Every node of A is ordered before every node of B. */
static mc_ivnode *merge(mc_ivnode *a, mc_ivnode *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->r = merge(a->r, b);
        update(a);
        return a;
    }
    b->l = merge(a, b->l);
    update(b);
    return b;
}

mc_status mc_ivtree_insert(mc_ivtree *t, const mc_interval *iv, mc_err *err)
{
    mc_ivnode *n = calloc(1, sizeof *n);
    if (!n)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory indexing %zu key ranges", t->n + 1);
    n->iv = *iv;
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    n->prio = t->rng;
    update(n);
    mc_ivnode *a, *b;
    split(t->root, iv, false, &a, &b);
    t->root = merge(merge(a, n), b);
    t->n++;
    return MC_OK;
}

void mc_ivtree_erase(mc_ivtree *t, const mc_interval *iv)
{
    mc_ivnode *a, *b, *mid;
    split(t->root, iv, false, &a, &b);
    split(b, iv, true, &mid, &b);
    if (mid) {
        free_nodes(mid);   /* (lo, id) is unique: one node */
        t->n--;
    }
    t->root = merge(a, b);
}

typedef struct query {
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    bool (*visit)(void *ctx, const mc_interval *iv);
    void *ctx;
} query;

static bool walk(const mc_ivnode *n, const query *q)
{
    while (n) {
        if (q->lo && mc_key_cmp(n->maxhi->hi, n->maxhi->hi_len, q->lo, q->lo_len) < 0)
            return true;   /* everything here ends before the query starts */
        if (!walk(n->l, q))
            return false;
        if (q->hi && mc_key_cmp(n->iv.lo, n->iv.lo_len, q->hi, q->hi_len) > 0)
            return true;   /* this and everything to the right start after it */
        if ((!q->lo || mc_key_cmp(n->iv.hi, n->iv.hi_len, q->lo, q->lo_len) >= 0) && !q->visit(q->ctx, &n->iv))
            return false;
        n = n->r;
    }
    return true;
}

bool mc_ivtree_overlaps(const mc_ivtree *t, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                        bool (*visit)(void *ctx, const mc_interval *iv), void *ctx)
{
    query q = {lo, hi, lo_len, hi_len, visit, ctx};
    return walk(t->root, &q);
}
