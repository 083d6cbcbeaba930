/* parse: strict parsing of command-line numbers (parse.h). */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* Decimal digits only (no sign, no spaces); *end gets the first non-digit. */
static mc_status digits_u64(const char *option, const char *s, uint64_t *out, const char **end, mc_err *err)
{
    if (!isdigit((unsigned char)s[0]))
        return mc_err_set(err, MC_EINVAL, 0, "%s: expected a non-negative integer, got \"%s\"", option, s);
    uint64_t v = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return mc_err_set(err, MC_EINVAL, ERANGE, "%s: \"%s\" is too large", option, s);
        v = v * 10 + d;
    }
    *out = v;
    *end = p;
    return MC_OK;
}

mc_status mc_parse_u64(const char *option, const char *s, uint64_t *out, mc_err *err)
{
    const char *end = NULL;
    uint64_t v = 0;
    mc_status st = digits_u64(option, s, &v, &end, err);
    if (st != MC_OK)
        return st;
    if (*end)
        return mc_err_set(err, MC_EINVAL, 0, "%s: trailing characters in \"%s\"", option, s);
    *out = v;
    return MC_OK;
}

mc_status mc_parse_size(const char *option, const char *s, uint64_t *out, mc_err *err)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } suffixes[] = {
        {"", 0},     {"B", 0},     {"K", 10},   {"KiB", 10}, {"M", 20},
        {"MiB", 20}, {"G", 30},    {"GiB", 30}, {"T", 40},   {"TiB", 40},
    };
    const char *end = NULL;
    uint64_t v = 0;
    mc_status st = digits_u64(option, s, &v, &end, err);
    if (st != MC_OK)
        return st;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcasecmp(end, suffixes[i].suffix) != 0)
            continue;
        unsigned sh = suffixes[i].shift;
        if (sh && v > (UINT64_MAX >> sh))
            return mc_err_set(err, MC_EINVAL, ERANGE, "%s: \"%s\" is too large", option, s);
        *out = v << sh;
        return MC_OK;
    }
    return mc_err_set(err, MC_EINVAL, 0, "%s: bad size suffix in \"%s\" (use K, M, G or T)", option, s);
}

mc_status mc_parse_range(const char *option, const char *s, uint64_t *min, uint64_t *max, mc_err *err)
{
    const char *end = NULL;
    uint64_t lo = 0, hi = 0;
    mc_status st = digits_u64(option, s, &lo, &end, err);
    if (st != MC_OK)
        return st;
    hi = lo;
    if (*end == ':') {
        const char *rest = end + 1;
        st = digits_u64(option, rest, &hi, &end, err);
        if (st != MC_OK)
            return st;
    }
    if (*end)
        return mc_err_set(err, MC_EINVAL, 0, "%s: expected MIN or MIN:MAX, got \"%s\"", option, s);
    if (lo > hi)
        return mc_err_set(err, MC_EINVAL, 0, "%s: MIN > MAX in \"%s\"", option, s);
    *min = lo;
    *max = hi;
    return MC_OK;
}

/* A plain decimal number: digits, optional fraction, no sign/exponent/hex. */
static mc_status parse_decimal(const char *option, const char *s, double *out, mc_err *err)
{
    const char *p = s;
    size_t ndig = 0;
    while (isdigit((unsigned char)*p)) {
        p++;
        ndig++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            ndig++;
        }
    }
    if (ndig == 0 || *p)
        return mc_err_set(err, MC_EINVAL, 0, "%s: expected a decimal number, got \"%s\"", option, s);
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(v))
        return mc_err_set(err, MC_EINVAL, ERANGE, "%s: \"%s\" is out of range", option, s);
    *out = v;
    return MC_OK;
}

mc_status mc_parse_fraction(const char *option, const char *s, double *out, mc_err *err)
{
    double v = 0;
    mc_status st = parse_decimal(option, s, &v, err);
    if (st != MC_OK)
        return st;
    if (v > 1.0)
        return mc_err_set(err, MC_EINVAL, 0, "%s: \"%s\" is not a fraction in [0, 1]", option, s);
    *out = v;
    return MC_OK;
}

mc_status mc_parse_seconds(const char *option, const char *s, double *out, mc_err *err)
{
    double v = 0;
    mc_status st = parse_decimal(option, s, &v, err);
    if (st != MC_OK)
        return st;
    if (!(v > 0))
        return mc_err_set(err, MC_EINVAL, 0, "%s: \"%s\" must be more than 0 seconds", option, s);
    *out = v;
    return MC_OK;
}
