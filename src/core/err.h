/* err: filling an mc_err (include/mpicompact.h) where a failure happens.
 *
 * mc_err_set() formats the message and returns the code, so a failing path
 * reads `return mc_err_set(err, MC_EIO, errno, "%s: write: %s", path, ...)`.
 * ERR may be NULL (the message is dropped, the code still returned). */
#ifndef MC_ERR_H
#define MC_ERR_H

#include "mpicompact.h"

mc_status mc_err_set(mc_err *err, mc_status code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps an errno from a failed system call: ENOSPC -> MC_ENOSPC, ENOENT ->
 * MC_ENOENT, EEXIST -> MC_EEXIST, anything else -> MC_EIO. */
mc_status mc_status_from_errno(int sys_errno);
void mc_err_clear(mc_err *err);

#endif
