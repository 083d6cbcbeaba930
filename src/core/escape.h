/* escape: binary-safe keys and values on the command line and in output.
 *
 * Input (a KEY argument): bytes as given, except "\xHH" (two hex digits,
 * either case) for any byte and "\\" for a backslash; any other backslash
 * sequence is an error. Output: bytes 0x20..0x7e as themselves except the
 * backslash, written "\\"; every other byte as "\xHH" (lowercase). So a line
 * of `scan` output never holds a raw tab or newline, and unescaping it gives
 * the bytes back. A key is printed with mc_escape_write_arg(), which also
 * writes a leading '-' as "\x2d": the printed key is a valid KEY argument
 * as it stands, never mistaken for an option. */
#ifndef MC_ESCAPE_H
#define MC_ESCAPE_H

#include <stdio.h>
#include "mpicompact.h"

/* *out is malloc'ed (free it); MC_EINVAL with a message for bad escapes. */
mc_status mc_unescape(const char *s, uint8_t **out, size_t *len, mc_err *err);
/* 0, or -1 when a write to F failed. */
int mc_escape_write(FILE *f, const uint8_t *p, size_t len);
/* mc_escape_write() with a leading '-' written "\x2d". */
int mc_escape_write_arg(FILE *f, const uint8_t *p, size_t len);

#endif
