/* fuzz_text: the small text parsers of the command line. The first input
 * byte picks one (mod 8); the rest is the argument as a C string:
 *   0 key escaping: mc_unescape(), and what unescapes must escape and
 *     unescape to the same bytes
 *   1 escaping of arbitrary bytes (mc_escape_write / _arg): the printed key
 *     must unescape to the bytes and, as an argument, never start with '-'
 *   2 mc_parse_u64   3 mc_parse_size (suffixes)   4 mc_parse_range
 *   5 mc_parse_fraction   6 mc_parse_seconds
 *   7 segment file names (mc_store_parse_seg_name, mc_parse_hex16): a name
 *     that parses is the name mc_store_seg_path() gives that segno. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "escape.h"
#include "fuzzutil.h"
#include "parse.h"
#include "store.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_text: %s\n", what);
    abort();
}

/* Escapes P (as an argument when ARG) and unescapes it back: must be P. */
static void round_trip(const uint8_t *p, size_t n, int arg)
{
    char *s = NULL;
    size_t slen = 0;
    FILE *f = open_memstream(&s, &slen);
    if (!f)
        abort();
    if ((arg ? mc_escape_write_arg(f, p, n) : mc_escape_write(f, p, n)) != 0)
        fail("escape write failed");
    fclose(f);
    if (strlen(s) != slen)
        fail("escaped text holds a NUL");
    for (size_t i = 0; i < slen; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            fail("escaped text holds a byte outside printable ASCII");
    if (arg && s[0] == '-')
        fail("an escaped argument starts with '-'");
    uint8_t *back = NULL;
    size_t blen = 0;
    mc_err err;
    mc_err_clear(&err);
    if (mc_unescape(s, &back, &blen, &err) != MC_OK || blen != n || (n && memcmp(back, p, n) != 0))
        fail("escaped bytes do not unescape to themselves");
    free(back);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    mc_err err;
    mc_err_clear(&err);
    uint64_t a = 0, b = 0;
    double d = 0;
    switch (data[0] % 8) {
    case 0: {
        uint8_t *k = NULL;
        size_t klen = 0;
        if (fz_check_err(mc_unescape(s, &k, &klen, &err), &err) == MC_OK) {
            round_trip(k, klen, 0);
            round_trip(k, klen, 1);
        }
        free(k);
        break;
    }
    case 1:
        round_trip(data + 1, size - 1, data[0] & 8);
        break;
    case 2: fz_check_err(mc_parse_u64("--n", s, &a, &err), &err); break;
    case 3: fz_check_err(mc_parse_size("--size", s, &a, &err), &err); break;
    case 4:
        if (fz_check_err(mc_parse_range("--range", s, &a, &b, &err), &err) == MC_OK && a > b)
            fail("a range with MIN > MAX parsed");
        break;
    case 5:
        if (fz_check_err(mc_parse_fraction("--f", s, &d, &err), &err) == MC_OK && !(d >= 0 && d <= 1))
            fail("a fraction outside [0, 1] parsed");
        break;
    case 6:
        if (fz_check_err(mc_parse_seconds("--t", s, &d, &err), &err) == MC_OK && !(d > 0))
            fail("a non-positive duration parsed");
        break;
    default: {
        uint64_t segno;
        if (mc_store_parse_seg_name(s, &segno)) {
            char path[MC_PATH_MAX];
            mc_store_seg_path("S", segno, path);
            const char *base = strrchr(path, '/');
            if (!base || strcmp(base + 1, s) != 0)
                fail("a parsed segment name is not the name of its segno");
        }
        (void)mc_parse_hex16(s, &a);
        break;
    }
    }
    free(s);
    return 0;
}
