/* Unit tests for digest: order and split independence, sensitivity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "digest.h"

#define NITEMS 300

static unsigned seed;

typedef struct item {
    uint8_t key[24], value[40];
    size_t key_len, value_len;
} item;

static item items[NITEMS];

static void make_items(void)
{
    srand(seed);
    for (int i = 0; i < NITEMS; i++) {
        items[i].key_len = 1 + (size_t)(rand() % 24);
        items[i].value_len = (size_t)(rand() % 40);   /* empty values too */
        for (size_t b = 0; b < items[i].key_len; b++)
            items[i].key[b] = (uint8_t)rand();
        items[i].key[0] = (uint8_t)i;   /* distinct keys */
        items[i].key[1 % items[i].key_len] ^= (uint8_t)(i >> 8);
        for (size_t b = 0; b < items[i].value_len; b++)
            items[i].value[b] = (uint8_t)rand();
    }
}

static void hex_of(const int *order, int n, char out[65])
{
    mc_digest d;
    mc_digest_init(&d);
    for (int i = 0; i < n; i++) {
        const item *it = &items[order[i]];
        mc_digest_add(&d, it->key, it->key_len, it->value, it->value_len);
    }
    mc_digest_hex(&d, out);
}

static void test_order_independent(void **state)
{
    (void)state;
    int order[NITEMS];
    for (int i = 0; i < NITEMS; i++)
        order[i] = i;
    char a[65], b[65];
    hex_of(order, NITEMS, a);
    assert_int_equal(strlen(a), 64);
    for (int t = 0; t < 5; t++) {
        for (int i = NITEMS - 1; i > 0; i--) {
            int j = rand() % (i + 1);
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        hex_of(order, NITEMS, b);
        assert_string_equal(a, b);
    }
}

static void test_split_independent(void **state)
{
    (void)state;
    int order[NITEMS];
    for (int i = 0; i < NITEMS; i++)
        order[i] = i;
    char whole[65];
    hex_of(order, NITEMS, whole);
    for (int parts = 2; parts <= 7; parts++) {
        mc_digest total, part[7];
        mc_digest_init(&total);
        for (int p = 0; p < parts; p++)
            mc_digest_init(&part[p]);
        for (int i = 0; i < NITEMS; i++) {
            int p = rand() % parts;
            mc_digest_add(&part[p], items[i].key, items[i].key_len, items[i].value, items[i].value_len);
        }
        for (int p = parts - 1; p >= 0; p--)
            mc_digest_merge(&total, &part[p]);
        char hex[65];
        mc_digest_hex(&total, hex);
        assert_string_equal(hex, whole);
        assert_int_equal(total.count, NITEMS);
    }
}

static void test_sensitive(void **state)
{
    (void)state;
    int order[NITEMS];
    for (int i = 0; i < NITEMS; i++)
        order[i] = i;
    char base[65], other[65];
    hex_of(order, NITEMS, base);
    /* One item fewer differs. */
    hex_of(order, NITEMS - 1, other);
    assert_string_not_equal(base, other);
    /* Moving a byte from key to value differs (length prefixes). */
    mc_digest a, b;
    mc_digest_init(&a);
    mc_digest_init(&b);
    mc_digest_add(&a, (const uint8_t *)"ab", 2, (const uint8_t *)"c", 1);
    mc_digest_add(&b, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2);
    char ha[65], hb[65];
    mc_digest_hex(&a, ha);
    mc_digest_hex(&b, hb);
    assert_string_not_equal(ha, hb);
    /* Empty content is a fixed, well-formed digest. */
    mc_digest e;
    mc_digest_init(&e);
    mc_digest_hex(&e, ha);
    for (int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", ha[i]));
    /* A flipped value bit differs. */
    items[7].value_len = items[7].value_len ? items[7].value_len : 1;
    hex_of(order, NITEMS, base);
    items[7].value[0] ^= 1;
    hex_of(order, NITEMS, other);
    assert_string_not_equal(base, other);
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("test_digest: MC_SEED=%u\n", seed);
    make_items();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_split_independent),
        cmocka_unit_test(test_sensitive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
