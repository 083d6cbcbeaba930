/* parse: strict parsing of command-line numbers.
 * Every function rejects empty strings, signs where not allowed, trailing
 * garbage and overflow, and returns MC_EINVAL with a message naming OPTION. */
#ifndef MC_PARSE_H
#define MC_PARSE_H

#include "mpicompact.h"

mc_status mc_parse_u64(const char *option, const char *s, uint64_t *out, mc_err *err);
/* SIZE with an optional binary suffix K, M, G, T (also KiB/MiB/GiB/TiB). */
mc_status mc_parse_size(const char *option, const char *s, uint64_t *out, mc_err *err);
/* "MIN" or "MIN:MAX", MIN <= MAX. */
mc_status mc_parse_range(const char *option, const char *s, uint64_t *min, uint64_t *max, mc_err *err);
/* A fraction in [0, 1]. */
mc_status mc_parse_fraction(const char *option, const char *s, double *out, mc_err *err);
/* Seconds, possibly fractional, > 0. */
mc_status mc_parse_seconds(const char *option, const char *s, double *out, mc_err *err);

#endif
