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

static void write_string(FILE *f, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
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
                fprintf(f, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
            else
                putc(*p, f);
        }
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
