/* json: a small streaming JSON writer with proper string escaping.
 *
 * State (nesting, whether a comma is due) lives in the mc_json value, never
 * in statics. NAME is the member name inside an object and must be NULL
 * inside an array. Non-finite doubles are written as null.
 * Strings are bytes (a path, a name), not necessarily UTF-8: valid UTF-8
 * passes through; '"', '\\' and control characters (and DEL) are escaped;
 * a byte that is not part of a valid UTF-8 sequence is written \u00XX with
 * XX the byte (so 0xff becomes U+00FF). The output is always valid JSON. */
#ifndef MC_JSON_H
#define MC_JSON_H

#include <stdio.h>
#include "mpicompact.h"

#define MC_JSON_DEPTH 32

typedef struct mc_json {
    FILE *f;
    int depth;
    bool need_comma[MC_JSON_DEPTH];
    bool pretty;
} mc_json;

void mc_json_init(mc_json *j, FILE *f, bool pretty);
void mc_json_object_begin(mc_json *j, const char *name);
void mc_json_object_end(mc_json *j);
void mc_json_array_begin(mc_json *j, const char *name);
void mc_json_array_end(mc_json *j);
void mc_json_str(mc_json *j, const char *name, const char *s);
void mc_json_u64(mc_json *j, const char *name, uint64_t v);
void mc_json_i64(mc_json *j, const char *name, int64_t v);
void mc_json_f64(mc_json *j, const char *name, double v);
void mc_json_bool(mc_json *j, const char *name, bool v);
/* Ends the document with a newline. */
void mc_json_finish(mc_json *j);

#endif
