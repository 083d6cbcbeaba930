/* lock: one writer per store, without flock.
 *
 * STORE/LOCK is created with O_CREAT|O_EXCL (atomic on local filesystems,
 * NFSv3+, Lustre, GPFS, BeeGFS) and holds "host pid jobid command time".
 * A second writer gets MC_ELOCKED with a message naming the holder. A lock
 * left by a crashed job: if its host is this host and its pid is gone (or a
 * zombie, not yet reaped), it is stale and taken over (atomically: rename
 * aside, then O_EXCL again; one writer at a time, under STORE/LOCK.takeover
 * created with O_EXCL, so that a late taker never moves a fresh lock
 * aside); so is an empty LOCK more than 10 s old (its
 * creator died between creating and writing it); a LOCK.stale-PID left
 * by a crash or power loss during such a takeover is removed by the next
 * writer that takes the lock; otherwise the message tells the user to remove STORE/LOCK once that job is
 * known to be gone (docs/USAGE.md). */
#ifndef MC_LOCK_H
#define MC_LOCK_H

#include "mpicompact.h"

typedef struct mc_lock mc_lock;

mc_status mc_lock_acquire(const char *store, const char *command, mc_lock **out, mc_err *err);
void mc_lock_release(mc_lock **lock);   /* accepts NULL */

#endif
