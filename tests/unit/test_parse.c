/* Unit tests for parse: numbers, sizes, ranges, fractions, seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parse.h"

static void test_u64(void **state)
{
    (void)state;
    mc_err err;
    uint64_t v = 0;
    assert_int_equal(mc_parse_u64("--n", "0", &v, &err), MC_OK);
    assert_int_equal(v, 0);
    assert_int_equal(mc_parse_u64("--n", "18446744073709551615", &v, &err), MC_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(mc_parse_u64("--n", "18446744073709551616", &v, &err), MC_EINVAL);
    assert_non_null(strstr(err.msg, "--n"));
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.5", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 77;
        assert_int_equal(mc_parse_u64("--n", bad[i], &v, &err), MC_EINVAL);
        assert_int_equal(v, 77);
        assert_non_null(strstr(err.msg, "--n"));
    }
}

static void test_size(void **state)
{
    (void)state;
    mc_err err;
    uint64_t v = 0;
    struct {
        const char *s;
        uint64_t want;
    } ok[] = {
        {"0", 0}, {"123", 123}, {"1K", 1024}, {"1k", 1024}, {"64M", 64ull << 20}, {"2G", 2ull << 30},
        {"3T", 3ull << 40}, {"1KiB", 1024}, {"5MiB", 5ull << 20}, {"7B", 7}, {"16777215T", 16777215ull << 40},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(mc_parse_size("--segment-size", ok[i].s, &v, &err), MC_OK);
        assert_true(v == ok[i].want);
    }
    const char *bad[] = {"", "K", "1X", "1KB", "1 K", "-1K", "16777216T", "18446744073709551615K", "1.5M", "M1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mc_parse_size("--segment-size", bad[i], &v, &err), MC_EINVAL);
        assert_non_null(strstr(err.msg, "--segment-size"));
    }
}

static void test_range(void **state)
{
    (void)state;
    mc_err err;
    uint64_t lo = 0, hi = 0;
    assert_int_equal(mc_parse_range("--key-size", "16", &lo, &hi, &err), MC_OK);
    assert_true(lo == 16 && hi == 16);
    assert_int_equal(mc_parse_range("--key-size", "8:32", &lo, &hi, &err), MC_OK);
    assert_true(lo == 8 && hi == 32);
    const char *bad[] = {"", ":", "8:", ":8", "9:8", "8:9:10", "8-9", "a:b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mc_parse_range("--key-size", bad[i], &lo, &hi, &err), MC_EINVAL);
}

static void test_fraction_seconds(void **state)
{
    (void)state;
    mc_err err;
    double v = -1;
    assert_int_equal(mc_parse_fraction("--delete", "0", &v, &err), MC_OK);
    assert_true(v == 0.0);
    assert_int_equal(mc_parse_fraction("--delete", "0.25", &v, &err), MC_OK);
    assert_true(v == 0.25);
    assert_int_equal(mc_parse_fraction("--delete", "1", &v, &err), MC_OK);
    assert_int_equal(mc_parse_fraction("--delete", ".5", &v, &err), MC_OK);
    assert_true(v == 0.5);
    const char *bad[] = {"", "1.01", "-0.1", "nan", "inf", "1e-3", "0x1", ".", "0.5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mc_parse_fraction("--delete", bad[i], &v, &err), MC_EINVAL);
    assert_int_equal(mc_parse_seconds("--time-limit", "2.5", &v, &err), MC_OK);
    assert_true(v == 2.5);
    assert_int_equal(mc_parse_seconds("--time-limit", "0", &v, &err), MC_EINVAL);
    assert_int_equal(mc_parse_seconds("--time-limit", "-3", &v, &err), MC_EINVAL);
    assert_non_null(strstr(err.msg, "--time-limit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_fraction_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
