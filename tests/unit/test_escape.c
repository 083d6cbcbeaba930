/* Unit tests for escape: round trip of every byte, bad escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "escape.h"

static unsigned seed;

static char *escape_to_string(const uint8_t *p, size_t len)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    assert_non_null(f);
    assert_int_equal(mc_escape_write(f, p, len), 0);
    fclose(f);
    return s;
}

static void test_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char *s = escape_to_string(all, sizeof all);
    for (char *c = s; *c; c++) {
        assert_true(*c >= 0x20 && *c <= 0x7e);   /* no tab, newline or high byte */
    }
    uint8_t *back = NULL;
    size_t len = 0;
    mc_err err;
    assert_int_equal(mc_unescape(s, &back, &len, &err), MC_OK);
    assert_int_equal(len, 256);
    assert_memory_equal(back, all, 256);
    free(back);
    free(s);
}

static void test_exact_forms(void **state)
{
    (void)state;
    const uint8_t in[] = {'a', '\\', '\t', '\n', 0x00, 0xff, 'Z', ' '};
    char *s = escape_to_string(in, sizeof in);
    assert_string_equal(s, "a\\\\\\x09\\x0a\\x00\\xffZ ");
    free(s);
    uint8_t *b = NULL;
    size_t len = 0;
    assert_int_equal(mc_unescape("\\xAB\\xcd", &b, &len, NULL), MC_OK);
    assert_int_equal(len, 2);
    assert_int_equal(b[0], 0xab);
    assert_int_equal(b[1], 0xcd);
    free(b);
    assert_int_equal(mc_unescape("", &b, &len, NULL), MC_OK);
    assert_int_equal(len, 0);
    free(b);
}

static void test_random_round_trip(void **state)
{
    (void)state;
    srand(seed);
    for (int t = 0; t < 500; t++) {
        size_t n = (size_t)(rand() % 64);
        uint8_t buf[64];
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        char *s = escape_to_string(buf, n);
        uint8_t *back = NULL;
        size_t len = 0;
        assert_int_equal(mc_unescape(s, &back, &len, NULL), MC_OK);
        assert_int_equal(len, n);
        if (n)
            assert_memory_equal(back, buf, n);
        free(back);
        free(s);
    }
}

static char *escape_arg_to_string(const uint8_t *p, size_t len)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    assert_non_null(f);
    assert_int_equal(mc_escape_write_arg(f, p, len), 0);
    fclose(f);
    return s;
}

static void test_arg_leading_dash(void **state)
{
    (void)state;
    const struct { const char *key, *want; } cases[] = {
        {"-", "\\x2d"}, {"--", "\\x2d-"}, {"-abc", "\\x2dabc"}, {"a-b", "a-b"}, {"\\-", "\\\\-"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = escape_arg_to_string((const uint8_t *)cases[i].key, strlen(cases[i].key));
        assert_string_equal(s, cases[i].want);
        free(s);
    }
}

/* Random keys, '-' and '\\' frequent: the printed key never starts with '-'
 * and reads back as the same bytes. */
static void test_arg_random_round_trip(void **state)
{
    (void)state;
    static const uint8_t common[] = {'-', '-', '-', '\\', 'x', '2', 'd', 0, 0xff, '\t'};
    srand(seed + 1);
    for (int t = 0; t < 2000; t++) {
        size_t n = 1 + (size_t)(rand() % 40);
        uint8_t buf[40];
        for (size_t i = 0; i < n; i++)
            buf[i] = rand() % 2 ? common[rand() % (int)sizeof common] : (uint8_t)rand();
        char *s = escape_arg_to_string(buf, n);
        assert_true(s[0] != '-');
        for (char *c = s; *c; c++)
            assert_true(*c >= 0x20 && *c <= 0x7e);
        uint8_t *back = NULL;
        size_t len = 0;
        assert_int_equal(mc_unescape(s, &back, &len, NULL), MC_OK);
        assert_int_equal(len, n);
        assert_memory_equal(back, buf, n);
        free(back);
        free(s);
    }
}

static void test_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"\\", "a\\", "\\x", "\\x4", "\\xg0", "\\x0g", "\\n", "\\t", "ab\\q"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *b = (uint8_t *)"sentinel";
        size_t len = 99;
        mc_err err;
        assert_int_equal(mc_unescape(bad[i], &b, &len, &err), MC_EINVAL);
        assert_non_null(strstr(err.msg, "bad escape"));
        assert_int_equal(len, 99);
    }
}

int main(void)
{
    const char *env = getenv("MC_SEED");
    seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("test_escape: MC_SEED=%u\n", seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_bytes_round_trip),
        cmocka_unit_test(test_exact_forms),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_arg_leading_dash),
        cmocka_unit_test(test_arg_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
