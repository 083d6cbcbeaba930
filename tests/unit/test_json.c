/* Unit tests for json: escaping, nesting, numbers, commas. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

typedef struct doc {
    char *s;
    size_t n;
    FILE *f;
    mc_json j;
} doc;

static void doc_open(doc *d, bool pretty)
{
    d->s = NULL;
    d->f = open_memstream(&d->s, &d->n);
    assert_non_null(d->f);
    mc_json_init(&d->j, d->f, pretty);
}

static void doc_close(doc *d)
{
    mc_json_finish(&d->j);
    fclose(d->f);
}

static void test_escaping(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, false);
    mc_json_object_begin(&d.j, NULL);
    mc_json_str(&d.j, "q\"k", "a\"b\\c\n\t\x01\x1f/\x7f");
    mc_json_str(&d.j, "none", NULL);
    mc_json_object_end(&d.j);
    doc_close(&d);
    assert_string_equal(d.s, "{\"q\\\"k\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\\u007f\",\"none\":null}\n");
    free(d.s);
}

/* Valid UTF-8 passes through; every byte that is not part of a valid
 * sequence (stray continuation, truncated or overlong sequence, surrogate,
 * above U+10FFFF, 0xc0/0xc1/0xf5..0xff) becomes \u00XX of the byte. */
static void test_invalid_utf8(void **state)
{
    (void)state;
    const struct { const char *in, *want; } cases[] = {
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"a\xff" "b", "\"a\\u00ffb\""},
        {"\x80", "\"\\u0080\""},
        {"\xc3", "\"\\u00c3\""},                          /* truncated at the end */
        {"\xc3(", "\"\\u00c3(\""},                        /* truncated before ASCII */
        {"\xe2\x82", "\"\\u00e2\\u0082\""},
        {"\xc0\xaf", "\"\\u00c0\\u00af\""},              /* overlong '/' */
        {"\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""},  /* overlong */
        {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},  /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""},   /* above U+10FFFF */
        {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},                 /* U+10FFFF itself */
        {"\xf8\x88\x80\x80\x80", "\"\\u00f8\\u0088\\u0080\\u0080\\u0080\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        doc d;
        doc_open(&d, false);
        mc_json_str(&d.j, NULL, cases[i].in);
        doc_close(&d);
        size_t n = strlen(d.s);
        assert_true(n > 0 && d.s[n - 1] == '\n');
        d.s[n - 1] = '\0';
        assert_string_equal(d.s, cases[i].want);
        free(d.s);
    }
}

static void test_nesting_and_numbers(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, false);
    mc_json_object_begin(&d.j, NULL);
    mc_json_u64(&d.j, "u", UINT64_MAX);
    mc_json_i64(&d.j, "i", -5);
    mc_json_f64(&d.j, "f", 0.1);
    mc_json_f64(&d.j, "nan", NAN);
    mc_json_f64(&d.j, "inf", INFINITY);
    mc_json_bool(&d.j, "t", true);
    mc_json_array_begin(&d.j, "levels");
    mc_json_object_begin(&d.j, NULL);
    mc_json_u64(&d.j, "level", 0);
    mc_json_array_begin(&d.j, "empty");
    mc_json_array_end(&d.j);
    mc_json_object_end(&d.j);
    mc_json_u64(&d.j, NULL, 3);
    mc_json_object_begin(&d.j, NULL);
    mc_json_object_end(&d.j);
    mc_json_array_end(&d.j);
    mc_json_bool(&d.j, "last", false);
    mc_json_object_end(&d.j);
    doc_close(&d);
    assert_string_equal(d.s, "{\"u\":18446744073709551615,\"i\":-5,\"f\":0.1,\"nan\":null,\"inf\":null,"
                             "\"t\":true,\"levels\":[{\"level\":0,\"empty\":[]},3,{}],\"last\":false}\n");
    free(d.s);
}

static void test_pretty(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, true);
    mc_json_object_begin(&d.j, NULL);
    mc_json_u64(&d.j, "a", 1);
    mc_json_array_begin(&d.j, "b");
    mc_json_u64(&d.j, NULL, 2);
    mc_json_array_end(&d.j);
    mc_json_object_end(&d.j);
    doc_close(&d);
    assert_string_equal(d.s, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n");
    free(d.s);
}

static void test_precise_double(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, false);
    double v = 1.0 / 3.0;
    mc_json_f64(&d.j, NULL, v);
    doc_close(&d);
    assert_true(strtod(d.s, NULL) == v);
    free(d.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nesting_and_numbers),
        cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_precise_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
