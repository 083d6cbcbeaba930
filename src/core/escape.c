/* escape: binary-safe keys and values on the command line and in output (escape.h). */
#include "escape.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

mc_status mc_unescape(const char *s, uint8_t **out, size_t *len, mc_err *err)
{
    size_t n = strlen(s);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory unescaping a %zu-byte argument", n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            p[o++] = (uint8_t)s[i];
            continue;
        }
        if (s[i + 1] == '\\') {
            p[o++] = '\\';
            i++;
            continue;
        }
        int hi = s[i + 1] == 'x' ? hexval(s[i + 2]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 3]) : -1;
        if (lo < 0) {
            free(p);
            return mc_err_set(err, MC_EINVAL, 0,
                              "bad escape at offset %zu in \"%s\" (use \\xHH for a byte, \\\\ for a backslash)",
                              i, s);
        }
        p[o++] = (uint8_t)(hi * 16 + lo);
        i += 3;
    }
    *out = p;
    *len = o;
    return MC_OK;
}

/* One byte as "\xHH". */
static int write_hex(FILE *f, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
    return fwrite(e, 1, 4, f) == 4 ? 0 : EOF;
}

int mc_escape_write(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        int rc;
        if (c == '\\')
            rc = fputs("\\\\", f);
        else if (c >= 0x20 && c <= 0x7e)
            rc = putc(c, f);
        else
            rc = write_hex(f, c);
        if (rc == EOF)
            return -1;
    }
    return 0;
}

int mc_escape_write_arg(FILE *f, const uint8_t *p, size_t len)
{
    if (len > 0 && p[0] == '-') {
        if (write_hex(f, p[0]) == EOF)
            return -1;
        p++;
        len--;
    }
    return mc_escape_write(f, p, len);
}
