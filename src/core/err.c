/* err: status strings and error filling (err.h). */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mc_strerror(mc_status status)
{
    switch (status) {
#define MC_STATUS_TEXT(name, text) \
    case MC_##name:                \
        return text;
        MC_STATUS_MAP(MC_STATUS_TEXT)
#undef MC_STATUS_TEXT
    }
    return "unknown status";
}

mc_status mc_err_set(mc_err *err, mc_status code, int sys_errno, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->sys_errno = sys_errno;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

mc_status mc_status_from_errno(int sys_errno)
{
    switch (sys_errno) {
    case ENOSPC:
    case EDQUOT:
        return MC_ENOSPC;
    case ENOENT:
        return MC_ENOENT;
    case EEXIST:
        return MC_EEXIST;
    case ENOMEM:
        return MC_ENOMEM;
    default:
        return MC_EIO;
    }
}

void mc_err_clear(mc_err *err)
{
    if (err) {
        err->code = MC_OK;
        err->sys_errno = 0;
        err->msg[0] = '\0';
    }
}
