/* remover: unlinks the files of segments that a durable commit dropped, on
 * one background thread, so that rank 0 does not wait for the filesystem
 * once per replaced input (on Lustre each unlink is a round trip to the
 * metadata server).
 *
 * A bounded ring of segnos, filled by the caller's thread (mc_remover_push
 * blocks while it is full) and drained by one thread (C11 threads) that only calls
 * mc_store_remove_dropped_segment (store.h): no HDF5, no MPI, no logging. The
 * thread runs with every signal blocked (the process's drain signals go to
 * the caller's thread). Its failures are kept (the first
 * MC_REMOVER_ERRORS_KEPT, then a count) and handed over on the caller's
 * thread by mc_remover_collect, which may log through MPI.
 *
 * Invariants: only segnos that a durable commit no longer names may be
 * pushed (the caller's duty: mc_sched_commit pushes after
 * mc_manifest_commit succeeded), and never a segno that may be written
 * again; mc_remover_drain returns once every pushed segno was tried;
 * mc_remover_destroy drains and joins. A command that destroys its remover
 * before it releases the store lock therefore leaves no file the committed
 * manifest does not name, except failed removals (reported; orphans for the
 * next writer's sweep). A kill with segnos still queued leaves them as such
 * orphans too. The fault point seg_unlink fires on the thread (mode=kill
 * kills the whole process). */
#ifndef MC_REMOVER_H
#define MC_REMOVER_H

#include <stddef.h>
#include <stdint.h>

#include "mpicompact.h"

#define MC_REMOVER_CAPACITY 65536   /* segnos queued before a push waits */
#define MC_REMOVER_ERRORS_KEPT 8    /* failures kept with their message */

typedef struct mc_remover mc_remover;

/* Starts the thread for STORE (borrowed: outlives the remover); CAPACITY
 * >= 1 segnos may wait. */
mc_status mc_remover_create(const char *store, size_t capacity, mc_remover **out, mc_err *err);
/* Queues SEGNO; waits while CAPACITY segnos are queued. */
void mc_remover_push(mc_remover *r, uint64_t segno);
/* Waits until every segno pushed so far was tried. */
void mc_remover_drain(mc_remover *r);
/* Hands the failures since the last call to LOG (on the caller's thread;
 * those beyond the kept ones as one summary); returns how many failed. */
size_t mc_remover_collect(mc_remover *r, void (*log)(void *ctx, const mc_err *err), void *log_ctx);
/* Segnos tried so far (removed or failed). */
uint64_t mc_remover_tried(mc_remover *r);
/* Drains, stops and joins the thread, frees; failures not collected are
 * dropped (collect after a drain first). Accepts NULL; sets *PP to NULL. */
void mc_remover_destroy(mc_remover **pp);

#endif
