/* add_input: a file named on `add`'s command line, before anything reads it.
 *
 * mc_add_input_resolve() turns NAME into its real path (realpath(3): no
 * symlinks, no `.` or `..`, absolute), so that the file that is checked is
 * the file that is copied, whatever the working directory of the process
 * that copies it. It refuses (MC_EINVAL, the message naming NAME):
 *   - a file that is not a regular file (a directory, a device, a FIFO);
 *   - a file inside STORE's own directories: anywhere under STORE/seg/ or
 *     STORE/manifest/, or directly in STORE. The orphan sweep that starts
 *     every writing command (store_session.h) removes files there that the
 *     manifest does not name, so such an input would be deleted. Directories
 *     are compared by device and inode, so a symlink, `..`, a bind mount or
 *     another spelling of STORE does not hide them.
 * A STORE that does not exist (yet) has no directories to protect: the
 * command's session reports it. */
#ifndef MC_ADD_INPUT_H
#define MC_ADD_INPUT_H

#include "mpicompact.h"

/* RESOLVED: MC_PATH_MAX (store.h) bytes. */
mc_status mc_add_input_resolve(const char *store, const char *name, char *resolved, mc_err *err);

#endif
