/* json: a small streaming JSON writer with proper string escaping (json.h). */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mc_json_init(mc_json *j, FILE *f, bool pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

static void newline_indent(mc_json *j)
{
    if (!j->pretty)
        return;
    putc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Length of the valid UTF-8 sequence at P (1..4), or 0 when the byte at P
 * does not start one: a stray continuation byte, 0xc0/0xc1/0xf5..0xff, a
 * truncated or overlong sequence, a surrogate, a code point above U+10FFFF.
 * The NUL terminator is no continuation byte, so P's string is never overrun. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;                    /* overlong */
        else if (c == 0xed)
            hi = 0x9f;                    /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;                    /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;                    /* above U+10FFFF */
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

static void write_u00(FILE *f, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
}

static void write_string(FILE *f, const char *s)
{
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {                     /* not UTF-8: the byte's number */
            write_u00(f, *p++);
            continue;
        }
        if (n > 1) {                      /* a valid multi-byte character */
            fwrite(p, 1, n, f);
            p += n;
            continue;
        }
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                write_u00(f, *p);
            else
                putc(*p, f);
        }
        p++;
    }
    putc('"', f);
}

/* Comma, indentation and "name": before a value. */
static void begin_value(mc_json *j, const char *name)
{
    int d = j->depth < MC_JSON_DEPTH ? j->depth : MC_JSON_DEPTH - 1;
    if (j->depth > 0) {
        if (j->need_comma[d])
            putc(',', j->f);
        newline_indent(j);
    }
    j->need_comma[d] = true;
    if (name && j->depth > 0) {
        write_string(j->f, name);
        fputs(j->pretty ? ": " : ":", j->f);
    }
}

static void open_container(mc_json *j, const char *name, char c)
{
    begin_value(j, name);
    putc(c, j->f);
    j->depth++;
    if (j->depth < MC_JSON_DEPTH)
        j->need_comma[j->depth] = false;
}

static void close_container(mc_json *j, char c)
{
    bool had_members = j->depth < MC_JSON_DEPTH && j->need_comma[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (had_members)
        newline_indent(j);
    putc(c, j->f);
}

void mc_json_object_begin(mc_json *j, const char *name) { open_container(j, name, '{'); }
void mc_json_object_end(mc_json *j) { close_container(j, '}'); }
void mc_json_array_begin(mc_json *j, const char *name) { open_container(j, name, '['); }
void mc_json_array_end(mc_json *j) { close_container(j, ']'); }

void mc_json_str(mc_json *j, const char *name, const char *s)
{
    begin_value(j, name);
    if (s)
        write_string(j->f, s);
    else
        fputs("null", j->f);
}

void mc_json_u64(mc_json *j, const char *name, uint64_t v)
{
    begin_value(j, name);
    fprintf(j->f, "%" PRIu64, v);
}

void mc_json_i64(mc_json *j, const char *name, int64_t v)
{
    begin_value(j, name);
    fprintf(j->f, "%" PRId64, v);
}

void mc_json_f64(mc_json *j, const char *name, double v)
{
    begin_value(j, name);
    if (isfinite(v)) {
        /* Shortest of 15 or 17 digits that reads back as V. */
        char buf[40];
        snprintf(buf, sizeof buf, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, sizeof buf, "%.17g", v);
        fputs(buf, j->f);
    } else
        fputs("null", j->f);
}

void mc_json_bool(mc_json *j, const char *name, bool v)
{
    begin_value(j, name);
    fputs(v ? "true" : "false", j->f);
}

void mc_json_finish(mc_json *j)
{
    putc('\n', j->f);
    fflush(j->f);
}
