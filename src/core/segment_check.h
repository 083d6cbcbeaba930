/* segment_check: validating a segment file that comes from outside the
 * store (`add`'s copies, `check`'s files) so that HDF5 cannot take the
 * caller down with it.
 *
 * mc_seg_check_file() runs mc_seg_validate() (every rule of
 * docs/FORMAT.md) in a child process (isolate.h) and returns its verdict
 * and descriptor exactly as mc_seg_validate() would. In addition, a file on
 * which HDF5 itself crashes or loops (HDF5 1.10.8 on a damaged global heap,
 * docs/FUZZING.md) is an MC_ECORRUPT error naming PATH:
 *   "PATH: HDF5 crashed reading it (SIGNAL; damaged file?)"
 *   "PATH: reading it did not finish: no progress in N s (damaged HDF5
 *    metadata?)"
 * never the caller's crash or hang. The limit is on silence, not on the
 * total time: the child reports each item it reads, so a large valid file
 * is never cut off. No MPI call is made in the child; the caller's state
 * (HDF5's included) is untouched by whatever the child met.
 *
 * Committed segments (compaction, verify, reads) are read in-process: they
 * were checked this way when they entered the store. */
#ifndef MC_SEGMENT_CHECK_H
#define MC_SEGMENT_CHECK_H

#include "mpicompact.h"

/* The silence after which a validating child is stopped: the environment's
 * MPICOMPACT_ADD_TIMEOUT (seconds, 0..86400; 0: validate in this process,
 * no child), default MC_SEG_CHECK_STALL_DEFAULT. MC_EINVAL for anything
 * else, naming the variable. */
#define MC_SEG_CHECK_STALL_DEFAULT 60u
mc_status mc_seg_check_stall_seconds(unsigned *seconds, mc_err *err);

/* mc_seg_validate(PATH) in a child process; *META as mc_seg_validate's
 * (the caller clears it). */
mc_status mc_seg_check_file(const char *path, mc_seg_meta *meta, mc_err *err);

#endif
