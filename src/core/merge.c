/* merge: k-way merge of sorted item streams by a loser tree (merge.h). */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* A source's current item and the first 8 bytes of its key as a
 * big-endian integer (zero-padded), so that most comparisons are one
 * integer compare. A dead entry (its source at its end) has the largest
 * prefix and loses to every live one. */
typedef struct entry {
    uint64_t prefix;
    mc_item item;
    bool live;
} entry;

struct mc_merge {
    mc_merge_source *src;
    entry *cur;          /* per source */
    size_t n;
    /* The tree: at each internal node k in 1..n-1 the losing source
     * (lsrc[k]) and its entry's prefix (lprefix[k]); at 0 the winner. A
     * replay compares integers in one array until two prefixes tie. Two
     * arrays, not one of pairs: the compiler then keeps a replay's swaps in
     * scalar registers. [n, 2n): scratch for build(). */
    uint64_t *lprefix;
    size_t *lsrc;
    bool started;
    uint64_t overwrites, conflicts, duplicates;
};

static uint64_t key_prefix(const uint8_t *key, size_t len)
{
    uint64_t v = 0;
    if (len >= 8) {
        memcpy(&v, key, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        return v;
#else
        return __builtin_bswap64(v);
#endif
    }
    for (size_t i = 0; i < len; i++)
        v |= (uint64_t)key[i] << (56 - 8 * i);
    return v;
}

/* Key order of two keys whose prefixes are equal: the bytes after them,
 * the next 8 as one integer when both keys have them (equal keys of up to
 * 16 bytes, the overwrites of the common key size, then need no memcmp). */
static int tail_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    if (al < 8 || bl < 8)
        return mc_key_cmp(a, al, b, bl);
    if (al < 16 || bl < 16)
        return mc_key_cmp(a + 8, al - 8, b + 8, bl - 8);
    uint64_t x = key_prefix(a + 8, 8), y = key_prefix(b + 8, 8);
    if (x != y)
        return x < y ? -1 : 1;
    if (al == 16 || bl == 16)
        return al == bl ? 0 : al < bl ? -1 : 1;
    return mc_key_cmp(a + 16, al - 16, b + 16, bl - 16);
}

/* Total order of versions: key ascending, then seq descending, then the
 * deterministic tie-break of merge.h (delete first, then larger value),
 * then the source index (identical versions: stable by source). */
static bool entry_less(const mc_merge *m, size_t i, size_t j)
{
    const entry *a = &m->cur[i], *b = &m->cur[j];
    if (!a->live || !b->live)
        return a->live && !b->live ? true : (a->live == b->live && i < j);
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix;
    int c = tail_cmp(a->item.key, a->item.key_len, b->item.key, b->item.key_len);
    if (c != 0)
        return c < 0;
    const mc_item *x = &a->item, *y = &b->item;
    if (x->seq != y->seq)
        return x->seq > y->seq;
    if (x->kind != y->kind)
        return x->kind == MC_KIND_DELETE;
    c = -mc_key_cmp(x->value, x->value_len, y->value, y->value_len);
    return c != 0 ? c < 0 : i < j;
}

/* Source S's entry changed and S was the winner: replay its path. With
 * distinct prefixes (the common case) each level is one integer compare and
 * a branch-free select, so a replay costs no mispredicted branches; equal
 * prefixes take the full order (entry_less). */
static void replay(mc_merge *m, size_t s)
{
    uint64_t wp = m->cur[s].prefix;
    size_t ws = s;
    uint64_t *lprefix = m->lprefix;
    size_t *lsrc = m->lsrc;
    for (size_t k = (s + m->n) / 2; k >= 1; k /= 2) {
        uint64_t lp = lprefix[k];
        size_t ls = lsrc[k];
        bool swap = __builtin_expect(lp != wp, 1) ? lp < wp : entry_less(m, ls, ws);
        /* Swap by masks, not a branch (a coin toss on random keys). */
        uint64_t mask = -(uint64_t)swap;
        uint64_t dp = (lp ^ wp) & mask;
        size_t ds = (ls ^ ws) & (size_t)mask;
        lprefix[k] = lp ^ dp;
        lsrc[k] = ls ^ ds;
        wp ^= dp;
        ws ^= ds;
    }
    lprefix[0] = wp;
    lsrc[0] = ws;
}

/* Builds the tree from every source's entry: node k's winner goes to slot
 * n + k (scratch), a leaf c >= n is source c - n. */
static void build(mc_merge *m)
{
    size_t n = m->n;
    for (size_t k = n - 1; k >= 1; k--) {
        size_t c[2] = {2 * k, 2 * k + 1}, src[2];
        for (int i = 0; i < 2; i++)
            src[i] = c[i] >= n ? c[i] - n : m->lsrc[n + c[i]];
        bool a_wins = entry_less(m, src[0], src[1]);
        m->lsrc[n + k] = src[!a_wins];
        m->lsrc[k] = src[a_wins];
        m->lprefix[k] = m->cur[src[a_wins]].prefix;
    }
    m->lsrc[0] = n > 1 ? m->lsrc[n + 1] : 0;
    m->lprefix[0] = m->cur[m->lsrc[0]].prefix;
}

/* Asks for the first and last cache line of a value (a hint). */
static inline void prefetch_value(const mc_item *it)
{
    if (it->value_len) {
        __builtin_prefetch(it->value);
        __builtin_prefetch(it->value + it->value_len - 1);
    }
}

/* Pulls source S's next item into its entry (dead at its end). */
static inline mc_status fetch(mc_merge *m, size_t s, mc_err *err)
{
    bool eof = false;
    entry *e = &m->cur[s];
    mc_status st = m->src[s].next(m->src[s].ctx, &e->item, &eof, err);
    e->live = st == MC_OK && !eof;
    if (!e->live) {
        e->prefix = UINT64_MAX;
        return st;
    }
    e->prefix = key_prefix(e->item.key, e->item.key_len);
    /* The item is returned, and its value copied out, only after its source
     * wins, typically many items later: ask for the value now. Sources
     * usually lay items out one after another, so the bytes after the key
     * are the next key's (a hint: a prefetch never faults). */
    __builtin_prefetch(e->item.key + e->item.key_len);
    prefetch_value(&e->item);
    return st;
}

mc_status mc_merge_create(const mc_merge_source *sources, size_t n, mc_merge **out, mc_err *err)
{
    *out = NULL;
    mc_merge *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->n = n;
    size_t alloc = n ? n : 1;
    m->src = malloc(alloc * sizeof *m->src);
    m->cur = calloc(alloc, sizeof *m->cur);
    m->lprefix = malloc(2 * alloc * sizeof *m->lprefix);
    m->lsrc = malloc(2 * alloc * sizeof *m->lsrc);
    if (!m->src || !m->cur || !m->lprefix || !m->lsrc)
        goto oom;
    if (n)
        memcpy(m->src, sources, n * sizeof *sources);
    *out = m;
    return MC_OK;
oom:
    mc_merge_destroy(&m);
    return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory creating a merge of %zu sources", n);
}

static bool same_version(const mc_item *a, const mc_item *b)
{
    return a->kind == b->kind && a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

/* Moves source S, the winner, to its next item and replays its path. Its
 * previous item stays valid (merge.h); comparing the two is the source's
 * key-order check, one integer compare unless the prefixes tie. */
static mc_status advance(mc_merge *m, size_t s, mc_err *err)
{
    const entry *e = &m->cur[s];
    uint64_t prefix = e->prefix;
    const uint8_t *key = e->item.key;
    size_t key_len = e->item.key_len;
    mc_status st = fetch(m, s, err);
    if (st != MC_OK)
        return st;
    if (e->live && (e->prefix < prefix ||
                    (e->prefix == prefix && tail_cmp(e->item.key, e->item.key_len, key, key_len) <= 0)))
        return mc_err_set(err, MC_ECORRUPT, 0,
                          "merge source %zu: keys out of order (a key of %zu bytes after one of %zu bytes that is "
                          "not smaller)", s, e->item.key_len, key_len);
    replay(m, s);
    return MC_OK;
}

mc_status mc_merge_next(mc_merge *m, mc_item *item, bool *eof, mc_err *err)
{
    mc_status st = MC_OK;
    *eof = false;
    if (m->n == 0) {
        *eof = true;
        return MC_OK;
    }
    if (!m->started) {
        m->started = true;
        for (size_t s = 0; s < m->n; s++)
            if ((st = fetch(m, s, err)) != MC_OK)
                return st;
        build(m);
    }
    size_t win = m->lsrc[0];
    if (!m->cur[win].live) {
        *eof = true;
        return MC_OK;
    }
    /* The winner's item stays valid while its source yields one more
     * (merge.h): fetch its successor now. */
    mc_item w = m->cur[win].item;
    uint64_t prefix = m->cur[win].prefix;
    if ((st = advance(m, win, err)) != MC_OK)
        return st;
    /* Every other version of the key comes next in the order: the new
     * winner's prefix (at the root) tells most keys apart. */
    while (m->lprefix[0] == prefix) {
        size_t s = m->lsrc[0];
        const mc_item *o = &m->cur[s].item;
        if (!m->cur[s].live || tail_cmp(o->key, o->key_len, w.key, w.key_len) != 0)
            break;
        if (o->seq != w.seq)
            m->overwrites++;
        else if (!same_version(o, &w))
            m->conflicts++;
        else
            m->duplicates++;
        if ((st = advance(m, s, err)) != MC_OK)
            return st;
    }
    /* The next winner is returned by the next call and its value copied
     * out right after: ask for it again, closer to its use than fetch()
     * did (a long merge's reads may have pushed it out of the cache). */
    if (m->cur[m->lsrc[0]].live)
        prefetch_value(&m->cur[m->lsrc[0]].item);
    *item = w;
    return MC_OK;
}

uint64_t mc_merge_overwrites(const mc_merge *m)
{
    return m->overwrites;
}

uint64_t mc_merge_conflicts(const mc_merge *m)
{
    return m->conflicts;
}

uint64_t mc_merge_duplicates(const mc_merge *m)
{
    return m->duplicates;
}

void mc_merge_destroy(mc_merge **mp)
{
    if (!mp || !*mp)
        return;
    mc_merge *m = *mp;
    free(m->src);
    free(m->cur);
    free(m->lprefix);
    free(m->lsrc);
    free(m);
    *mp = NULL;
}

mc_status mc_range_source_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    mc_range_source *rs = ctx;
    *eof = false;
    if (!rs->started) {
        rs->started = true;
        if (rs->hi)
            rs->hi_prefix = key_prefix(rs->hi, rs->hi_len);
        if (rs->lo) {
            mc_status st = mc_seg_reader_seek(rs->reader, rs->lo, rs->lo_len, err);
            if (st != MC_OK)
                return st;
        }
    }
    mc_status st = mc_seg_reader_next(rs->reader, item, eof, err);
    if (st != MC_OK || *eof)
        return st;
    if (rs->hi) {   /* past HI: the prefixes tell unless they are equal */
        uint64_t p = key_prefix(item->key, item->key_len);
        *eof = p != rs->hi_prefix ? p > rs->hi_prefix : tail_cmp(item->key, item->key_len, rs->hi, rs->hi_len) > 0;
    }
    return MC_OK;
}
