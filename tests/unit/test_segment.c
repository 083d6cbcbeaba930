/* test_segment: the segment writer, reader, seek and validation (cmocka). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "compaction.h"
#include "err.h"
#include "h5util.h"
#include "mpicompact.h"
#include "segment_mem.h"
#include "segment_raw.h"

/* ---- randomness (seed printed; MC_SEED reproduces) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- scratch directory ---- */

static char scratch[256];
static unsigned file_counter;

static void scratch_path(char *out, size_t len, const char *stem)
{
    snprintf(out, len, "%s/%s-%u.h5", scratch, stem, file_counter++);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/mc-test-segment.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- a model segment: items in memory ---- */

typedef struct model_item {
    uint8_t *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    uint64_t seq;
    uint8_t kind;
} model_item;

typedef struct model {
    model_item *items;
    size_t n;
} model;

static int model_cmp(const void *a, const void *b)
{
    const model_item *x = a, *y = b;
    return mc_key_cmp(x->key, x->key_len, y->key, y->key_len);
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

/* Random binary keys over a small alphabet (0x00 included) so that many keys
 * are prefixes of others; empty values, deletes and 0x00 bytes in values. */
static void model_random(model *m, size_t want)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 0xff};
    m->items = calloc(want * 2, sizeof *m->items);
    assert_non_null(m->items);
    size_t n = 0;
    for (size_t i = 0; i < want; i++) {
        size_t klen = 1 + rnd_below(12);
        uint8_t *k = malloc(klen);
        assert_non_null(k);
        for (size_t j = 0; j < klen; j++)
            k[j] = alphabet[rnd_below(sizeof alphabet)];
        m->items[n++] = (model_item){.key = k, .key_len = klen};
        if (i % 10 == 0 && klen > 1)   /* its own prefix too */
            m->items[n++] = (model_item){.key = mc_memdup(k, klen - 1), .key_len = klen - 1};
    }
    qsort(m->items, n, sizeof *m->items, model_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && model_cmp(&m->items[out - 1], &m->items[i]) == 0) {
            free(m->items[i].key);
            continue;
        }
        m->items[out++] = m->items[i];
    }
    m->n = out;
    for (size_t i = 0; i < m->n; i++) {
        model_item *it = &m->items[i];
        it->seq = 1 + rnd_below(1000000);
        it->kind = rnd_below(10) == 0 ? MC_KIND_DELETE : MC_KIND_PUT;
        it->value_len = it->kind == MC_KIND_DELETE || rnd_below(5) == 0 ? 0 : rnd_below(100);
        it->value = malloc(it->value_len ? it->value_len : 1);
        assert_non_null(it->value);
        for (size_t j = 0; j < it->value_len; j++)
            it->value[j] = rnd_below(3) == 0 ? 0 : (uint8_t)rnd();
    }
}

static mc_item as_item(const model_item *it)
{
    return (mc_item){.key = it->key, .key_len = it->key_len, .value = it->value,
                     .value_len = it->value_len, .seq = it->seq, .kind = it->kind};
}

static void write_model(const char *path, uint64_t segno, const model *m, mc_seg_meta *meta)
{
    mc_seg_writer *w = NULL;
    mc_err err = {0};
    assert_int_equal(mc_seg_writer_create(path, segno, &w, &err), MC_OK);
    for (size_t i = 0; i < m->n; i++) {
        mc_item it = as_item(&m->items[i]);
        mc_status st = mc_seg_writer_add(w, &it, &err);
        if (st != MC_OK)
            fail_msg("add %zu: %s", i, err.msg);
    }
    assert_int_equal(mc_seg_writer_nitems(w), m->n);
    mc_status st = mc_seg_writer_finish(&w, meta, &err);
    if (st != MC_OK)
        fail_msg("finish: %s", err.msg);
    assert_null(w);
}

static void assert_item_eq(const mc_item *got, const model_item *want)
{
    assert_int_equal(got->key_len, want->key_len);
    assert_memory_equal(got->key, want->key, want->key_len);
    assert_int_equal(got->value_len, want->value_len);
    if (want->value_len)
        assert_memory_equal(got->value, want->value, want->value_len);
    assert_int_equal(got->seq, want->seq);
    assert_int_equal(got->kind, want->kind);
}

/* Reads items from R and checks they are m[from..n). */
static void assert_reads(mc_seg_reader *r, const model *m, size_t from)
{
    mc_err err = {0};
    for (size_t i = from; i <= m->n; i++) {
        mc_item it;
        bool eof = false;
        mc_status st = mc_seg_reader_next(r, &it, &eof, &err);
        if (st != MC_OK)
            fail_msg("next at %zu: %s", i, err.msg);
        assert_int_equal(eof, i == m->n);
        if (!eof)
            assert_item_eq(&it, &m->items[i]);
    }
}

static void model_meta(const model *m, uint64_t *ndeletes, uint64_t *bytes, uint64_t *min_seq, uint64_t *max_seq)
{
    *ndeletes = *bytes = *max_seq = 0;
    *min_seq = UINT64_MAX;
    for (size_t i = 0; i < m->n; i++) {
        const model_item *it = &m->items[i];
        *ndeletes += it->kind == MC_KIND_DELETE;
        *bytes += it->key_len + it->value_len;
        *min_seq = it->seq < *min_seq ? it->seq : *min_seq;
        *max_seq = it->seq > *max_seq ? it->seq : *max_seq;
    }
}

static void assert_meta_matches(const mc_seg_meta *meta, uint64_t segno, const model *m)
{
    uint64_t ndel, bytes, min_seq, max_seq;
    model_meta(m, &ndel, &bytes, &min_seq, &max_seq);
    assert_int_equal(meta->segno, segno);
    assert_int_equal(meta->level, 0);
    assert_int_equal(meta->nitems, m->n);
    assert_int_equal(meta->ndeletes, ndel);
    assert_int_equal(meta->bytes, bytes);
    assert_int_equal(meta->min_seq, min_seq);
    assert_int_equal(meta->max_seq, max_seq);
    assert_int_equal(meta->min_key_len, m->items[0].key_len);
    assert_memory_equal(meta->min_key, m->items[0].key, meta->min_key_len);
    assert_int_equal(meta->max_key_len, m->items[m->n - 1].key_len);
    assert_memory_equal(meta->max_key, m->items[m->n - 1].key, meta->max_key_len);
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
    (void)state;
    char path[512], tmp[600];
    scratch_path(path, sizeof path, "roundtrip");
    model m = {0};
    model_random(&m, 3000);
    mc_seg_meta meta = {0}, vmeta = {0};
    write_model(path, 42, &m, &meta);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_true(exists(path));
    assert_false(exists(tmp));
    assert_meta_matches(&meta, 42, &m);

    mc_err err = {0};
    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    const mc_seg_attrs *a = mc_seg_reader_attrs(r);
    assert_int_equal(a->segno, 42);
    assert_int_equal(a->nitems, m.n);
    assert_int_equal(a->min_seq, meta.min_seq);
    assert_int_equal(a->max_seq, meta.max_seq);
    assert_reads(r, &m, 0);
    mc_seg_reader_close(&r);
    assert_null(r);

    mc_status st = mc_seg_validate(path, &vmeta, &err);
    if (st != MC_OK)
        fail_msg("validate: %s", err.msg);
    assert_meta_matches(&vmeta, 42, &m);
    mc_seg_meta_clear(&meta);
    mc_seg_meta_clear(&vmeta);
    model_free(&m);
}

/* Item i of the large segment: 8-byte big-endian key 3*i+1, a value of
 * 0..23 bytes derived from i. */
static void large_item(uint64_t i, uint8_t key[8], uint8_t value[24], mc_item *it)
{
    uint64_t k = 3 * i + 1;
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t)(k >> (56 - 8 * b));
    size_t vlen = (size_t)((i * 2654435761u) % 24);
    for (size_t b = 0; b < vlen; b++)
        value[b] = (uint8_t)(i + b * 7);
    *it = (mc_item){.key = key, .key_len = 8, .value = value, .value_len = vlen, .seq = i + 1,
                    .kind = (i % 97 == 0) ? MC_KIND_DELETE : MC_KIND_PUT};
    if (it->kind == MC_KIND_DELETE)
        it->value_len = 0;
}

static void test_large_segment(void **state)
{
    (void)state;
    const uint64_t n = 300000;   /* several 8192-item windows, several 1 MiB chunks of every dataset */
    char path[512];
    scratch_path(path, sizeof path, "large");
    mc_err err = {0};
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 7, &w, &err), MC_OK);
    uint8_t key[8], value[24];
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        mc_item it;
        large_item(i, key, value, &it);
        bytes += it.key_len + it.value_len;
        assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    }
    assert_int_equal(mc_seg_writer_bytes(w), bytes);
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    assert_int_equal(meta.nitems, n);
    assert_int_equal(meta.min_seq, 1);
    assert_int_equal(meta.max_seq, n);

    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    for (uint64_t i = 0; i <= n; i++) {
        mc_item got, want;
        bool eof;
        assert_int_equal(mc_seg_reader_next(r, &got, &eof, &err), MC_OK);
        assert_int_equal(eof, i == n);
        if (eof)
            break;
        large_item(i, key, value, &want);
        assert_int_equal(got.key_len, 8);
        assert_memory_equal(got.key, key, 8);
        assert_int_equal(got.value_len, want.value_len);
        if (want.value_len)
            assert_memory_equal(got.value, value, want.value_len);
        assert_int_equal(got.seq, want.seq);
        assert_int_equal(got.kind, want.kind);
    }
    /* Seek deep inside, to a missing key between items 200000 and 200001. */
    uint64_t target = 3 * 200000 + 2;
    uint8_t tk[8];
    for (int b = 0; b < 8; b++)
        tk[b] = (uint8_t)(target >> (56 - 8 * b));
    assert_int_equal(mc_seg_reader_seek(r, tk, 8, &err), MC_OK);
    for (uint64_t i = 200001; i < 200001 + 20000; i++) {
        mc_item got, want;
        bool eof;
        assert_int_equal(mc_seg_reader_next(r, &got, &eof, &err), MC_OK);
        assert_false(eof);
        large_item(i, key, value, &want);
        assert_memory_equal(got.key, key, 8);
        assert_int_equal(got.seq, want.seq);
    }
    mc_seg_reader_close(&r);
    mc_seg_meta vmeta = {0};
    assert_int_equal(mc_seg_validate(path, &vmeta, &err), MC_OK);
    assert_int_equal(vmeta.bytes, bytes);
    assert_int_equal(vmeta.ndeletes, meta.ndeletes);
    mc_seg_meta_clear(&meta);
    mc_seg_meta_clear(&vmeta);
}

static void test_big_values(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "bigvalue");
    model m = {.n = 4};
    m.items = calloc(m.n, sizeof *m.items);
    assert_non_null(m.items);
    size_t lens[4] = {10, 3 * 1024 * 1024 + 17, 0, MC_VALUE_MAX};
    for (size_t i = 0; i < m.n; i++) {
        model_item *it = &m.items[i];
        it->key = mc_memdup((const uint8_t[]){(uint8_t)('a' + i)}, 1);
        it->key_len = 1;
        it->value_len = lens[i];
        it->value = malloc(lens[i] ? lens[i] : 1);
        assert_non_null(it->value);
        for (size_t j = 0; j < lens[i]; j++)
            it->value[j] = (uint8_t)(rnd() >> 40);
        it->seq = 100 + i;
    }
    mc_seg_meta meta = {0};
    write_model(path, 3, &m, &meta);
    assert_meta_matches(&meta, 3, &m);
    mc_err err = {0};
    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    assert_reads(r, &m, 0);
    /* Seek to the 16 MiB value and read it again. */
    assert_int_equal(mc_seg_reader_seek(r, (const uint8_t *)"d", 1, &err), MC_OK);
    assert_reads(r, &m, 3);
    mc_seg_reader_close(&r);

    /* One byte over the limit is refused (checked before the value is read). */
    mc_seg_writer *w = NULL;
    scratch_path(path, sizeof path, "toobig");
    assert_int_equal(mc_seg_writer_create(path, 4, &w, &err), MC_OK);
    mc_item it = {.key = (const uint8_t *)"k", .key_len = 1, .value = m.items[3].value,
                  .value_len = MC_VALUE_MAX + 1, .seq = 1};
    assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_EINVAL);
    assert_non_null(strstr(err.msg, "value is longer"));
    mc_seg_writer_abort(&w);
    assert_null(w);
    mc_seg_meta_clear(&meta);
    model_free(&m);
}

static void seek_and_check(mc_seg_reader *r, const model *m, const uint8_t *key, size_t len)
{
    mc_err err = {0};
    assert_int_equal(mc_seg_reader_seek(r, key, len, &err), MC_OK);
    size_t first = 0;   /* first model item with key >= KEY */
    while (first < m->n && mc_key_cmp(m->items[first].key, m->items[first].key_len, key, len) < 0)
        first++;
    assert_reads(r, m, first);
}

static void test_seek(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "seek");
    model m = {0};
    model_random(&m, 2000);
    mc_seg_meta meta = {0};
    write_model(path, 5, &m, &meta);
    mc_err err = {0};
    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    for (int round = 0; round < 20; round++) {
        const model_item *it = &m.items[rnd_below(m.n)];
        seek_and_check(r, &m, it->key, it->key_len);   /* existing key */
        uint8_t missing[16];                              /* the key plus 0x02: absent (alphabet lacks it) */
        memcpy(missing, it->key, it->key_len);
        missing[it->key_len] = 0x02;
        seek_and_check(r, &m, missing, it->key_len + 1);
    }
    /* Before the first key: "" sorts before every key (it is not a valid
     * key, but a valid position). */
    seek_and_check(r, &m, (const uint8_t *)"", 0);
    const uint8_t after[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    seek_and_check(r, &m, after, sizeof after);   /* after the last: eof at once */
    const model_item *last = &m.items[m.n - 1];
    seek_and_check(r, &m, last->key, last->key_len);
    mc_seg_reader_close(&r);
    mc_seg_meta_clear(&meta);
    model_free(&m);
}

static void expect_add_rejected(mc_seg_writer *w, const mc_item *it, const char *needle)
{
    mc_err err = {0};
    assert_int_equal(mc_seg_writer_add(w, it, &err), MC_EINVAL);
    assert_int_equal(err.code, MC_EINVAL);
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    assert_non_null(strstr(err.msg, scratch));   /* names the file */
}

static void test_writer_rejects(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "rejects");
    mc_err err = {0};
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 9, &w, &err), MC_OK);
    mc_item b = {.key = (const uint8_t *)"b", .key_len = 1, .value = (const uint8_t *)"v", .value_len = 1, .seq = 5};
    assert_int_equal(mc_seg_writer_add(w, &b, &err), MC_OK);

    mc_item a = b;
    a.key = (const uint8_t *)"a";
    expect_add_rejected(w, &a, "not in increasing order");   /* unsorted */
    expect_add_rejected(w, &b, "not in increasing order");   /* duplicate */
    mc_item empty = b;
    empty.key = (const uint8_t *)"c";
    empty.key_len = 0;
    expect_add_rejected(w, &empty, "key is empty");
    static uint8_t big[MC_KEY_MAX + 1];
    memset(big, 'z', sizeof big);
    mc_item oversize = b;
    oversize.key = big;
    oversize.key_len = MC_KEY_MAX + 1;
    expect_add_rejected(w, &oversize, "key is longer");
    mc_item bad_kind = b;
    bad_kind.key = (const uint8_t *)"c";
    bad_kind.kind = 2;
    expect_add_rejected(w, &bad_kind, "kind");
    mc_item del_with_value = bad_kind;
    del_with_value.kind = MC_KIND_DELETE;
    expect_add_rejected(w, &del_with_value, "delete has a non-empty value");

    /* Rejections leave the writer usable; a maximal key is fine. */
    mc_item maxkey = b;
    maxkey.key = big;
    maxkey.key_len = MC_KEY_MAX;
    assert_int_equal(mc_seg_writer_add(w, &maxkey, &err), MC_OK);
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    assert_int_equal(meta.nitems, 2);
    assert_int_equal(meta.max_key_len, MC_KEY_MAX);
    mc_seg_meta_clear(&meta);
    assert_int_equal(mc_seg_validate(path, &meta, &err), MC_OK);
    assert_int_equal(meta.nitems, 2);
    mc_seg_meta_clear(&meta);
}

/* The writer checks each key against the last one, which it reads from its
 * keys buffer, or from a copy when adding the last one flushed that buffer:
 * keys that end exactly at a chunk's end (4096 bytes) and that straddle
 * chunks (4000), over several chunks. After every add, the same key and the
 * one before it are refused; max_key is the last key. */
static void test_writer_order_across_chunks(void **state)
{
    (void)state;
    static uint8_t keys[2][MC_KEY_MAX];
    const size_t sizes[] = {MC_KEY_MAX, 4000};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t len = sizes[z];
        char path[512], name[32];
        snprintf(name, sizeof name, "chunks%zu", len);
        scratch_path(path, sizeof path, name);
        mc_err err = {0};
        mc_seg_writer *w = NULL;
        assert_int_equal(mc_seg_writer_create(path, 3, &w, &err), MC_OK);
        const uint32_t n = (3u << 20) / (uint32_t)len;   /* 3 MiB of keys */
        for (uint32_t i = 0; i < n; i++) {
            uint8_t *key = keys[i & 1], *prev = keys[!(i & 1)];
            memset(key, 'k', len);
            for (int b = 0; b < 4; b++)
                key[len - 1 - b] = (uint8_t)(i >> (8 * b));
            mc_item it = {.key = key, .key_len = len, .value = (const uint8_t *)"v", .value_len = 1, .seq = 1 + i};
            assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
            expect_add_rejected(w, &it, "not in increasing order");
            if (i > 0) {
                it.key = prev;
                expect_add_rejected(w, &it, "not in increasing order");
            }
        }
        mc_seg_meta meta = {0};
        assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
        assert_int_equal(meta.nitems, n);
        assert_int_equal(meta.max_key_len, len);
        assert_memory_equal(meta.max_key, keys[(n - 1) & 1], len);
        mc_seg_meta_clear(&meta);
        assert_int_equal(mc_seg_validate(path, &meta, &err), MC_OK);
        assert_int_equal(meta.nitems, n);
        assert_memory_equal(meta.max_key, keys[(n - 1) & 1], len);
        mc_seg_meta_clear(&meta);
    }
}

static void test_zero_items_and_abort(void **state)
{
    (void)state;
    char path[512], tmp[600];
    scratch_path(path, sizeof path, "empty");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    mc_err err = {0};
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 1, &w, &err), MC_OK);
    assert_true(exists(tmp));
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_EINVAL);
    assert_null(w);
    assert_non_null(strstr(err.msg, "at least one item"));
    assert_false(exists(tmp));
    assert_false(exists(path));

    assert_int_equal(mc_seg_writer_create(path, 1, &w, &err), MC_OK);
    mc_item it = {.key = (const uint8_t *)"k", .key_len = 1, .seq = 1};
    assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    mc_seg_writer_abort(&w);
    assert_null(w);
    mc_seg_writer_abort(&w);   /* accepts NULL */
    assert_false(exists(tmp));
    assert_false(exists(path));

    /* A directory that does not exist: an error naming the file. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.h5", scratch);
    assert_int_equal(mc_seg_writer_create(bad, 1, &w, &err), MC_ENOENT);
    assert_null(w);
    assert_non_null(strstr(err.msg, bad));
}

/* A small valid segment at PATH (items "k0".."k9"). */
static void write_small(const char *path, mc_seg_meta *meta)
{
    model m = {.n = 10};
    m.items = calloc(m.n, sizeof *m.items);
    assert_non_null(m.items);
    for (size_t i = 0; i < m.n; i++) {
        char k[2] = {'k', (char)('0' + i)};
        m.items[i] = (model_item){.key = mc_memdup(k, 2), .key_len = 2, .value = mc_memdup("value", 5),
                                  .value_len = 5, .seq = 10 + i};
    }
    write_model(path, 11, &m, meta);
    model_free(&m);
}

static hid_t open_rw(const char *path)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    assert_true(f >= 0);
    return f;
}

static void expect_invalid(const char *path, mc_status code, const char *needle)
{
    mc_err err = {0};
    mc_seg_meta meta = {0};
    mc_status st = mc_seg_validate(path, &meta, &err);
    if (st != code)
        fail_msg("validate gave %s (%s), expected %s", mc_strerror(st), err.msg, mc_strerror(code));
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    assert_non_null(strstr(err.msg, path));
    assert_null(meta.min_key);
}

static void test_wrong_version(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "version");
    mc_seg_meta meta = {0};
    write_small(path, &meta);
    mc_seg_meta_clear(&meta);
    mc_err err = {0};
    hid_t f = open_rw(path);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "version", 2, &err), MC_OK);
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
    expect_invalid(path, MC_EFORMAT, "segment format version 2 is newer than supported 1");

    f = open_rw(path);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "version", 1, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_str(f, path, "format", "something-else", &err), MC_OK);
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
    expect_invalid(path, MC_EFORMAT, "something-else");
}

/* h5py's np.bytes_ attributes and other writers use fixed-length strings;
 * other integer types for the integer attributes must be accepted too. */
static void test_fixed_string_and_int_types(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "fixedstr");
    mc_seg_meta meta = {0};
    write_small(path, &meta);
    mc_seg_meta_clear(&meta);
    hid_t f = open_rw(path);
    assert_true(H5Adelete(f, "format") >= 0);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(MC_SEG_FORMAT));
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(f, "format", type, space, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(attr >= 0);
    assert_true(H5Awrite(attr, type, MC_SEG_FORMAT) >= 0);
    H5Aclose(attr);
    assert_true(H5Adelete(f, "nitems") >= 0);   /* as int64, like numpy's default */
    attr = H5Acreate2(f, "nitems", H5T_STD_I64BE, space, H5P_DEFAULT, H5P_DEFAULT);
    int64_t ten = 10;
    assert_true(H5Awrite(attr, H5T_NATIVE_INT64, &ten) >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    mc_err err = {0};
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
    assert_int_equal(mc_seg_validate(path, &meta, &err), MC_OK);
    assert_int_equal(meta.nitems, 10);
    assert_int_equal(meta.segno, 11);
    mc_seg_meta_clear(&meta);

    f = open_rw(path);
    assert_true(H5Adelete(f, "nitems") >= 0);
    space = H5Screate(H5S_SCALAR);
    attr = H5Acreate2(f, "nitems", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int32_t neg = -1;
    assert_true(H5Awrite(attr, H5T_NATIVE_INT32, &neg) >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
    expect_invalid(path, MC_ECORRUPT, "negative");
}

static void test_truncated(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "truncated");
    model m = {0};
    model_random(&m, 3000);
    mc_seg_meta meta = {0};
    write_model(path, 2, &m, &meta);
    off_t size = file_size(path);
    assert_int_equal(truncate(path, size / 2), 0);
    expect_invalid(path, MC_ECORRUPT, "truncated");
    assert_int_equal(truncate(path, 100), 0);
    expect_invalid(path, MC_ECORRUPT, "not a readable HDF5 file");
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.h5", scratch);
    mc_err err = {0};
    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(missing, &r, &err), MC_ENOENT);
    assert_null(r);
    assert_non_null(strstr(err.msg, missing));
    mc_seg_meta_clear(&meta);
    model_free(&m);
}

/* Where chunk CHUNK of dataset NAME lies in the file (its checksum included). */
static void chunk_extent(const char *path, const char *name, hsize_t chunk, haddr_t *addr, hsize_t *size)
{
    mc_h5_init();
    hid_t f = open_rw(path);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hsize_t offset[1];
    unsigned mask = 0;
    hid_t space = H5Dget_space(d);
    if (H5Dget_chunk_info(d, space, chunk, offset, &mask, addr, size) < 0) {
        mc_err err = {0};
        mc_h5_fail(&err, MC_EIO, path, name);
        fail_msg("H5Dget_chunk_info: %s", err.msg);
    }
    H5Sclose(space);
    assert_true(*size > 4);
    H5Dclose(d);
    H5Fclose(f);
}

/* XORs the byte at offset AT of the file with X. */
static void xor_byte(const char *path, off_t at, uint8_t x)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= x;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);
}

/* Flips one byte in the middle of the first chunk of dataset NAME. */
static void flip_chunk_byte(const char *path, const char *name)
{
    haddr_t addr = 0;
    hsize_t size = 0;
    chunk_extent(path, name, 0, &addr, &size);
    xor_byte(path, (off_t)(addr + size / 2), 0x5a);
}

/* Our Fletcher32 against HDF5's, both ways: the checksum HDF5's filter
 * stores equals mc_fletcher32 of the chunk, and a chunk we checksum and
 * write directly reads back through HDF5's filter (which verifies it).
 * Lengths around the 360-word fold and odd lengths; bytes random, all
 * 0xff (the largest sums) and zero. */
static void test_fletcher32_matches_hdf5(void **state)
{
    (void)state;
    const size_t lens[] = {1, 2, 3, 719, 720, 721, 722, 1000, 4097, 65537, 262144};
    for (int pattern = 0; pattern < 3; pattern++)
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            size_t len = lens[li];
            uint8_t *data = malloc(len + 4), *raw = malloc(len + 4), *back = malloc(len);
            assert_non_null(data);
            assert_non_null(raw);
            assert_non_null(back);
            for (size_t i = 0; i < len; i++)
                data[i] = pattern == 0 ? (uint8_t)rnd() : pattern == 1 ? 0xff : 0;
            char path[512];
            scratch_path(path, sizeof path, "fletcher");
            mc_err err = {0};
            hid_t f, d1, d2;
            assert_int_equal(mc_h5_create(path, &f, &err), MC_OK);
            assert_int_equal(mc_h5_dset_create(f, path, "hdf5", MC_H5_U8, len, &d1, &err), MC_OK);
            assert_int_equal(mc_h5_dset_append(d1, path, "hdf5", MC_H5_U8, data, len, &err), MC_OK);
            assert_int_equal(mc_h5_dset_create_direct(f, path, "ours", MC_H5_U8, len, &d2, &err), MC_OK);
            memcpy(raw, data, len);
            assert_int_equal(mc_h5_dset_append_chunk(d2, path, "ours", MC_H5_U8, raw, len, len, &err), MC_OK);
            mc_h5_dset_close(&d1);
            mc_h5_dset_close(&d2);
            assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);

            assert_int_equal(mc_h5_open_ro(path, &f, &err), MC_OK);
            hid_t d = H5Dopen2(f, "hdf5", H5P_DEFAULT);
            assert_true(d >= 0);
            hsize_t off[1] = {0}, size = 0;
            uint32_t mask = 0;
            assert_true(H5Dget_chunk_storage_size(d, off, &size) >= 0);
            assert_int_equal(size, len + 4);
            assert_true(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, raw) >= 0);
            H5Dclose(d);
            uint32_t stored = (uint32_t)raw[len] | (uint32_t)raw[len + 1] << 8 | (uint32_t)raw[len + 2] << 16 |
                              (uint32_t)raw[len + 3] << 24;
            if (stored != mc_fletcher32(data, len))
                fail_msg("length %zu pattern %d: HDF5 stored %08x, ours %08x", len, pattern, stored,
                         mc_fletcher32(data, len));
            uint64_t n = 0;
            assert_int_equal(mc_h5_dset_open(f, path, "ours", MC_H5_U8, &d, &n, &err), MC_OK);
            assert_int_equal(n, len);
            if (mc_h5_dset_read(d, path, "ours", MC_H5_U8, 0, len, back, &err) != MC_OK)
                fail_msg("length %zu pattern %d: HDF5 rejects our chunk: %s", len, pattern, err.msg);
            assert_memory_equal(back, data, len);
            mc_h5_dset_close(&d);
            mc_h5_close(&f);
            free(data);
            free(raw);
            free(back);
        }
}

/* Resident memory of this process in bytes (VmRSS). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNu64, &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* A segment at PATH of NITEMS items: 16-byte keys, 100-byte values. */
static void write_seq_segment(const char *path, uint32_t nitems)
{
    mc_err err = {0};
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 7, &w, &err), MC_OK);
    uint8_t key[16] = {0}, value[100];
    memset(value, 'v', sizeof value);
    for (uint32_t i = 0; i < nitems; i++) {
        for (int b = 0; b < 4; b++)
            key[12 + b] = (uint8_t)(i >> (24 - 8 * b));
        mc_item it = {key, sizeof key, value, sizeof value, i + 1, MC_KIND_PUT};
        assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    }
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    mc_seg_meta_clear(&meta);
}

/* What one open, half-read input of a merge holds stays within the figure
 * segment_mem.h publishes for the picker (mc_seg_input_mem), HDF5's own
 * state for the open file included: NREADERS readers of a segment of NITEMS
 * items, read in turns like a merge reads them, streamed (a segment of
 * several 1 MiB chunks per dataset) or LOAD-ed whole (a small one). */
static void reader_memory_within(uint32_t nitems, bool load)
{
    enum { NREADERS = 12 };
    char path[512];
    scratch_path(path, sizeof path, "memory");
    write_seq_segment(path, nitems);
    uint64_t data_bytes = (uint64_t)nitems * 116;
    assert_true(mc_seg_input_loads(nitems, data_bytes) == load);
    mc_err err = {0};
    mc_seg_reader *r[NREADERS] = {0};
    uint64_t before = rss_bytes();
    for (int i = 0; i < NREADERS; i++) {
        assert_int_equal(mc_seg_reader_open(path, &r[i], &err), MC_OK);
        assert_int_equal(mc_seg_reader_data_bytes(r[i]), data_bytes);
        if (load)
            assert_int_equal(mc_seg_reader_load(r[i], NULL, 0, NULL, 0, &err), MC_OK);
    }
    uint64_t peak = rss_bytes();
    for (uint32_t n = 0; n < nitems / 2; n++) {
        for (int i = 0; i < NREADERS; i++) {
            mc_item it;
            bool eof = true;
            assert_int_equal(mc_seg_reader_next(r[i], &it, &eof, &err), MC_OK);
            assert_false(eof);
            assert_int_equal(it.seq, n + 1);
        }
        if (n % 1024 == 0) {
            uint64_t now = rss_bytes();
            peak = now > peak ? now : peak;
        }
    }
    uint64_t per = (peak > before ? peak - before : 0) / NREADERS;
    uint64_t bound = mc_seg_input_mem(nitems, data_bytes);
    print_message("reader memory, %u items %s: %" PRIu64 " bytes per input (figure %" PRIu64 ")\n", nitems,
                  load ? "loaded" : "streamed", per, bound);
    /* Under ASan freed memory stays in its quarantine (a load frees the
     * file's chunks and HDF5's state) and every allocation has redzones:
     * resident memory no longer measures what the reader holds. */
#if !defined(__SANITIZE_ADDRESS__)
    assert_true(per <= bound);
#endif
    assert_true(bound <= mc_seg_input_mem_max());
    for (int i = 0; i < NREADERS; i++)
        mc_seg_reader_close(&r[i]);
}

static void test_reader_memory_bound(void **state)
{
    (void)state;
    reader_memory_within(120000, false);   /* 13.9 MB: streamed */
    reader_memory_within(1000, true);      /* 116 KB: loaded */
}

/* A loaded reader returns exactly the items of its range, and seek finds
 * keys among them; an empty range is at its end at once. */
static void test_reader_load_range(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "load");
    write_seq_segment(path, 1000);
    mc_err err = {0};
    uint8_t lo[16] = {0}, hi[16] = {0}, probe[16] = {0};
    lo[15] = 100;          /* item 100 */
    hi[14] = 1, hi[15] = 44; /* item 300 */
    mc_seg_reader *r = NULL;
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    assert_int_equal(mc_seg_reader_load(r, lo, sizeof lo, hi, sizeof hi, &err), MC_OK);
    mc_item it;
    bool eof = false;
    for (uint32_t i = 100; i <= 300; i++) {
        assert_int_equal(mc_seg_reader_next(r, &it, &eof, &err), MC_OK);
        assert_false(eof);
        assert_int_equal(it.seq, i + 1);
    }
    assert_int_equal(mc_seg_reader_next(r, &it, &eof, &err), MC_OK);
    assert_true(eof);
    probe[14] = 1;   /* item 256 */
    assert_int_equal(mc_seg_reader_seek(r, probe, sizeof probe, &err), MC_OK);
    assert_int_equal(mc_seg_reader_next(r, &it, &eof, &err), MC_OK);
    assert_false(eof);
    assert_int_equal(it.seq, 257);
    mc_seg_reader_close(&r);
    /* An empty range: above every key. */
    memset(lo, 0xff, sizeof lo);
    assert_int_equal(mc_seg_reader_open(path, &r, &err), MC_OK);
    assert_int_equal(mc_seg_reader_load(r, lo, sizeof lo, NULL, 0, &err), MC_OK);
    assert_int_equal(mc_seg_reader_next(r, &it, &eof, &err), MC_OK);
    assert_true(eof);
    mc_seg_reader_close(&r);
}

static void test_flipped_byte(void **state)
{
    (void)state;
    const char *names[] = {"values", "keys", "key_offsets", "seqs", "kinds", "value_offsets"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512], needle[128];
        scratch_path(path, sizeof path, "flipped");
        model m = {0};
        model_random(&m, 1000);
        mc_seg_meta meta = {0};
        write_model(path, 2, &m, &meta);
        flip_chunk_byte(path, names[i]);
        snprintf(needle, sizeof needle, "dataset %s: checksum mismatch (Fletcher32)", names[i]);
        expect_invalid(path, MC_ECHECKSUM, needle);
        mc_seg_meta_clear(&meta);
        model_free(&m);
    }
}

/* A copy of segment SRC at DST whose datasets have chunks of CHUNK_BYTES
 * (or the dataset's length when shorter), written through HDF5's own
 * filter: what older stores (1 MiB chunks) and h5py writers hold. */
static void copy_with_chunks(const char *src, const char *dst, uint64_t chunk_bytes)
{
    mc_err err = {0};
    hid_t in, out;
    assert_int_equal(mc_h5_open_ro(src, &in, &err), MC_OK);
    assert_int_equal(mc_h5_create(dst, &out, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_str(out, dst, "format", MC_SEG_FORMAT, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(out, dst, "version", MC_SEG_VERSION, &err), MC_OK);
    const char *attrs[] = {"segno", "nitems", "min_seq", "max_seq"};
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
        uint64_t v = 0;
        assert_int_equal(mc_h5_attr_read_u64(in, src, attrs[i], &v, &err), MC_OK);
        assert_int_equal(mc_h5_attr_write_u64(out, dst, attrs[i], v, &err), MC_OK);
    }
    for (int d = 0; d < MC_SEG_NDSETS; d++) {
        const mc_seg_dset_def *def = &mc_seg_dsets[d];
        hid_t ds, od;
        uint64_t len = 0;
        assert_int_equal(mc_h5_dset_open(in, src, def->name, def->type, &ds, &len, &err), MC_OK);
        void *data = malloc(len * (uint64_t)def->type + 1);
        assert_non_null(data);
        assert_int_equal(mc_h5_dset_read(ds, src, def->name, def->type, 0, len, data, &err), MC_OK);
        uint64_t elems = chunk_bytes / (uint64_t)def->type;
        elems = len < elems ? (len ? len : 1) : elems;
        assert_int_equal(mc_h5_dset_create(out, dst, def->name, def->type, elems, &od, &err), MC_OK);
        assert_int_equal(mc_h5_dset_append(od, dst, def->name, def->type, data, len, &err), MC_OK);
        mc_h5_dset_close(&od);
        mc_h5_dset_close(&ds);
        free(data);
    }
    mc_h5_close(&in);
    assert_int_equal(mc_h5_close_sync(out, dst, &err), MC_OK);
}

/* Flips the byte at offset AT within chunk CHUNK of dataset NAME (AT < 0:
 * counted from the chunk's end, its stored checksum included). */
static void flip_in_chunk(const char *path, const char *name, hsize_t chunk, long long at)
{
    haddr_t addr = 0;
    hsize_t size = 0;
    chunk_extent(path, name, chunk, &addr, &size);
    xor_byte(path, (off_t)(at >= 0 ? addr + (hsize_t)at : addr + size - (hsize_t)(-at)), 0x01);
}

/* The items of the segments at A and B, compared one by one. */
static void expect_same_items(const char *a_path, const char *b_path)
{
    mc_err err = {0};
    mc_seg_reader *a = NULL, *b = NULL;
    assert_int_equal(mc_seg_reader_open(a_path, &a, &err), MC_OK);
    assert_int_equal(mc_seg_reader_open(b_path, &b, &err), MC_OK);
    for (;;) {
        mc_item x, y;
        bool ex = false, ey = false;
        assert_int_equal(mc_seg_reader_next(a, &x, &ex, &err), MC_OK);
        assert_int_equal(mc_seg_reader_next(b, &y, &ey, &err), MC_OK);
        assert_true(ex == ey);
        if (ex)
            break;
        assert_int_equal(x.key_len, y.key_len);
        assert_memory_equal(x.key, y.key, x.key_len);
        assert_int_equal(x.value_len, y.value_len);
        assert_memory_equal(x.value, y.value, x.value_len);
        assert_int_equal(x.seq, y.seq);
        assert_int_equal(x.kind, y.kind);
    }
    mc_seg_reader_close(&a);
    mc_seg_reader_close(&b);
}

/* segment_raw directly: dataset values of the segment at PATH read with
 * pread (mc_raw_col) equal what HDF5 reads, in odd-sized pieces; a dataset
 * of more chunks than allowed does not qualify (the reader then leaves it
 * to HDF5, before sizing anything by its chunk count). */
static void expect_raw_equals_hdf5(const char *path)
{
    mc_err err = {0};
    hid_t f, d;
    uint64_t len = 0;
    assert_int_equal(mc_h5_open_ro(path, &f, &err), MC_OK);
    assert_int_equal(mc_h5_dset_open(f, path, "values", MC_H5_U8, &d, &len, &err), MC_OK);
    mc_h5_col col;
    mc_h5_col_init(&col, d, MC_H5_U8, len);
    assert_true(col.direct);
    uint64_t nchunks = (len + col.chunk_elems - 1) / col.chunk_elems;
    assert_true(nchunks >= 2);
    mc_raw_col raw;
    bool usable = true;
    assert_int_equal(mc_raw_col_init(&raw, &col, d, (uint64_t)file_size(path), nchunks - 1, &usable, path, &err),
                     MC_OK);
    assert_false(usable);
    assert_null(raw.addr);
    mc_raw_col_free(&raw);
    assert_int_equal(mc_raw_col_init(&raw, &col, d, (uint64_t)file_size(path), nchunks, &usable, path, &err), MC_OK);
    assert_true(usable);
    uint8_t *want = malloc(len), *got = malloc(len);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(mc_h5_dset_read(d, path, "values", MC_H5_U8, 0, len, want, &err), MC_OK);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    mc_raw_col_attach(&raw, fd);
    for (uint64_t at = 0, step = 1; at < len; at += step, step = step * 3 + 1) {
        uint64_t n = step < len - at ? step : len - at;
        assert_int_equal(mc_raw_col_read(&raw, path, "values", at, n, got + at, &err), MC_OK);
    }
    assert_memory_equal(got, want, len);
    assert_int_equal(mc_raw_col_read(&raw, path, "values", len - 1, 2, got, &err), MC_ECORRUPT);
    close(fd);
    free(want);
    free(got);
    mc_raw_col_free(&raw);
    mc_h5_col_free(&col);
    mc_h5_dset_close(&d);
    mc_h5_close(&f);
}

/* Segments with chunks larger than a reader holds (older stores wrote 1 MiB
 * chunks) read the same items as ours, and a byte damaged anywhere in such
 * a chunk (its first piece, a middle one, its last byte, its checksum) is a
 * checksum mismatch, as HDF5 finds it. */
static void test_large_chunks(void **state)
{
    (void)state;
    char ours[512], big[512];
    scratch_path(ours, sizeof ours, "ourchunks");
    scratch_path(big, sizeof big, "bigchunks");
    write_seq_segment(ours, 20000);   /* values 2 MB: two 1 MiB chunks, the second partial */
    copy_with_chunks(ours, big, (uint64_t)1 << 20);
    mc_err err = {0};
    mc_seg_meta m1 = {0}, m2 = {0};
    assert_int_equal(mc_seg_validate(big, &m2, &err), MC_OK);
    assert_int_equal(mc_seg_validate(ours, &m1, &err), MC_OK);
    assert_int_equal(m2.nitems, 20000);
    assert_int_equal(m1.bytes, m2.bytes);
    mc_seg_meta_clear(&m1);
    mc_seg_meta_clear(&m2);
    expect_same_items(ours, big);
    expect_raw_equals_hdf5(ours);
    expect_raw_equals_hdf5(big);
    mc_seg_reader *b = NULL;
    assert_int_equal(mc_seg_reader_open(big, &b, &err), MC_OK);
    /* A seek into the second chunk after reading past it. */
    uint8_t probe[16] = {0};
    probe[14] = 0x3a;   /* item 14848 */
    assert_int_equal(mc_seg_reader_seek(b, probe, sizeof probe, &err), MC_OK);
    mc_item it;
    bool eof = true;
    assert_int_equal(mc_seg_reader_next(b, &it, &eof, &err), MC_OK);
    assert_int_equal(it.seq, 14849);
    mc_seg_reader_close(&b);
    const long long spots[] = {5, 500000, -5, -1};
    for (size_t i = 0; i < sizeof spots / sizeof *spots; i++)
        for (hsize_t chunk = 0; chunk < 2; chunk++) {
            copy_with_chunks(ours, big, (uint64_t)1 << 20);
            flip_in_chunk(big, "values", chunk, spots[i]);
            expect_invalid(big, MC_ECHECKSUM, "dataset values: checksum mismatch (Fletcher32)");
        }
}

static void test_tiny_file(void **state)
{
    (void)state;
    char path[512];
    scratch_path(path, sizeof path, "tiny");
    mc_err err = {0};
    mc_seg_writer *w = NULL;
    assert_int_equal(mc_seg_writer_create(path, 1, &w, &err), MC_OK);
    mc_item it = {.key = (const uint8_t *)"only", .key_len = 4, .value = (const uint8_t *)"v", .value_len = 1, .seq = 1};
    assert_int_equal(mc_seg_writer_add(w, &it, &err), MC_OK);
    mc_seg_meta meta = {0};
    assert_int_equal(mc_seg_writer_finish(&w, &meta, &err), MC_OK);
    off_t size = file_size(path);
    print_message("tiny segment file: %lld bytes\n", (long long)size);
    assert_true(size < 64 * 1024);
    mc_seg_meta_clear(&meta);
}

/* Writes a segment by hand (h5util) so the reader's checks can be hit:
 * keys "a","b","c" unless overridden. */
typedef struct raw_seg {
    const char *keys;   /* concatenated */
    uint64_t key_offsets[4], value_offsets[4], seqs[3];
    uint8_t kinds[3];
    uint64_t nitems, min_seq, max_seq;
} raw_seg;

static raw_seg raw_default(void)
{
    return (raw_seg){.keys = "abc", .key_offsets = {0, 1, 2, 3}, .value_offsets = {0, 0, 0, 0},
                     .seqs = {5, 6, 7}, .kinds = {0, 0, 0}, .nitems = 3, .min_seq = 5, .max_seq = 7};
}

static void write_raw(const char *path, const raw_seg *s)
{
    mc_err err = {0};
    hid_t f;
    assert_int_equal(mc_h5_create(path, &f, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_str(f, path, "format", MC_SEG_FORMAT, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u32(f, path, "version", 1, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "segno", 1, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "nitems", s->nitems, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "min_seq", s->min_seq, &err), MC_OK);
    assert_int_equal(mc_h5_attr_write_u64(f, path, "max_seq", s->max_seq, &err), MC_OK);
    struct {
        const char *name;
        mc_h5_type type;
        const void *data;
        uint64_t n;
    } ds[] = {{"keys", MC_H5_U8, s->keys, strlen(s->keys)},
              {"key_offsets", MC_H5_U64, s->key_offsets, 4},
              {"values", MC_H5_U8, "", 0},
              {"value_offsets", MC_H5_U64, s->value_offsets, 4},
              {"seqs", MC_H5_U64, s->seqs, 3},
              {"kinds", MC_H5_U8, s->kinds, 3}};
    for (size_t i = 0; i < sizeof ds / sizeof *ds; i++) {
        hid_t d;
        assert_int_equal(mc_h5_dset_create(f, path, ds[i].name, ds[i].type, 4, &d, &err), MC_OK);
        assert_int_equal(mc_h5_dset_append(d, path, ds[i].name, ds[i].type, ds[i].data, ds[i].n, &err), MC_OK);
        mc_h5_dset_close(&d);
    }
    assert_int_equal(mc_h5_close_sync(f, path, &err), MC_OK);
}

static void check_raw(const raw_seg *s, mc_status code, const char *needle)
{
    char path[512];
    scratch_path(path, sizeof path, "raw");
    write_raw(path, s);
    if (code == MC_OK) {
        mc_err err = {0};
        mc_seg_meta meta = {0};
        mc_status st = mc_seg_validate(path, &meta, &err);
        if (st != MC_OK)
            fail_msg("valid raw segment rejected: %s", err.msg);
        mc_seg_meta_clear(&meta);
        return;
    }
    expect_invalid(path, code, needle);
}

static void test_reader_checks(void **state)
{
    (void)state;
    raw_seg s = raw_default();
    check_raw(&s, MC_OK, NULL);

    s = raw_default();
    s.keys = "acb";
    check_raw(&s, MC_ECORRUPT, "item 2: keys not in increasing order");
    s = raw_default();
    s.keys = "abb";
    check_raw(&s, MC_ECORRUPT, "item 2: keys not in increasing order");
    s = raw_default();
    s.key_offsets[0] = 1;
    check_raw(&s, MC_ECORRUPT, "first offset is 1");
    s = raw_default();
    s.key_offsets[2] = 0;
    check_raw(&s, MC_ECORRUPT, "offsets decrease");
    s = raw_default();
    s.key_offsets[3] = 2;
    check_raw(&s, MC_ECORRUPT, "last offset");
    s = raw_default();
    s.value_offsets[3] = 9;
    check_raw(&s, MC_ECORRUPT, "beyond");
    s = raw_default();
    s.kinds[1] = 3;
    check_raw(&s, MC_ECORRUPT, "item 1: kind");
    s = raw_default();
    s.seqs[1] = 9;
    check_raw(&s, MC_ECORRUPT, "item 1: seq 9 is outside");
    s = raw_default();
    s.nitems = 2;
    check_raw(&s, MC_ECORRUPT, "dataset key_offsets has 4 entries, expected 3");
    s = raw_default();
    s.min_seq = 4;
    check_raw(&s, MC_ECORRUPT, "min_seq");
    s = raw_default();
    s.nitems = 0;
    check_raw(&s, MC_ECORRUPT, "no items");
}

/* Seq 0 is refused, naming the item; any other seq is valid in a file, but
 * add takes seqs up to MC_ADD_SEQ_MAX (2^63-1) only. */
static void check_add_seqs(uint64_t max_seq, bool ok)
{
    mc_err err = {0};
    mc_seg_meta meta = {.max_seq = max_seq};
    mc_status st = mc_seg_check_add_seqs("f.h5", &meta, &err);
    assert_int_equal(st, ok ? MC_OK : MC_ECORRUPT);
    if (!ok && (!strstr(err.msg, "f.h5") || !strstr(err.msg, "above the largest seq")))
        fail_msg("unexpected message: %s", err.msg);
}

static void test_seq_range(void **state)
{
    (void)state;
    raw_seg s = raw_default();
    s.seqs[0] = 0;
    s.min_seq = 0;
    check_raw(&s, MC_ECORRUPT, "item 0: seq 0 is not allowed");
    s = raw_default();
    s.seqs[1] = 0;
    s.min_seq = 0;
    check_raw(&s, MC_ECORRUPT, "item 1: seq 0");
    s = raw_default();
    s.seqs[2] = UINT64_MAX;
    s.max_seq = UINT64_MAX;
    check_raw(&s, MC_OK, NULL);
    check_add_seqs(1, true);
    check_add_seqs(MC_ADD_SEQ_MAX, true);
    check_add_seqs(MC_ADD_SEQ_MAX + 1, false);
    check_add_seqs(UINT64_MAX, false);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    if (seed == 0)
        seed = 1;
    printf("test_segment: MC_SEED=%llu\n", (unsigned long long)seed);
    fflush(stdout);
    rng_state = seed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_large_segment),
        cmocka_unit_test(test_big_values),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_writer_order_across_chunks),
        cmocka_unit_test(test_zero_items_and_abort),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_fixed_string_and_int_types),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_fletcher32_matches_hdf5),
        cmocka_unit_test(test_reader_memory_bound),
        cmocka_unit_test(test_reader_load_range),
        cmocka_unit_test(test_large_chunks),
        cmocka_unit_test(test_tiny_file),
        cmocka_unit_test(test_reader_checks),
        cmocka_unit_test(test_seq_range),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
