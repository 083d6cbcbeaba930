/* lifecycle: the life of a picked compaction on rank 0, and the one place
 * where the files of compaction outputs are removed. No MPI: the coordinator
 * drives it, tests drive it directly (tests/unit/test_lifecycle.c).
 *
 * A UNIT is one picked compaction (the picker's request, busy inputs). It is
 * cut into slices; each slice travels as a FLIGHT (own wire id, own output
 * segnos) to a rank. States:
 *   sliced   mc_lc_unit_start: one waiting flight per slice (attempt 0)
 *   waiting  a flight no rank has (rank < 0): nothing written under its segnos
 *   running  a flight a rank has (rank >= 0): it may be writing its segnos
 *   done     a slice that succeeded: its request and response kept in the unit
 *   restarted mc_lc_unit_restart: attempt+1, the finished slices forgotten,
 *            one new unsplit flight; flights of older attempts are STALE
 *   applied  mc_lc_unit_applied: the joined result is in the manifest; every
 *            flight still referring to the unit is STALE
 *   doomed   mc_lc_unit_doom: will not be applied (abandoned or quarantined)
 *   ended    the last flight is gone: picker release or quarantine (ops)
 *
 * Transitions that may remove files, and which files:
 *   mc_lc_flight_abandon      the flight's OWN segnos (its rank has stopped),
 *                             then: stale -> it just ends; current -> its
 *                             unit is doomed (see next line)
 *   mc_lc_unit_doom / restart the finished slices of the CURRENT attempt of
 *                             a unit that is NOT applied
 *   mc_lc_remove_outputs      a flight's own segnos, for the caller's failure
 *                             and stale-answer paths
 * Every one of them goes through mc_lc_remove_outputs, which refuses (counts,
 * reports through ops->log, never unlinks) a segno that ops->named says a
 * manifest names (the working one or the committed one) or that an applied
 * unit still tracked here allocated. So a file that the committed manifest
 * names is never removed by this module; inputs that a commit dropped are
 * the coordinator's to delete after that commit. An applied unit is never
 * doomed and never forgets its parts (those calls are refused). */
#ifndef MC_LIFECYCLE_H
#define MC_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "request.h"

typedef struct mc_lc_ops {
    /* True when a manifest (working or committed) names SEGNO. */
    bool (*named)(void *ctx, uint64_t segno);
    /* Unlinks whatever file SEGNO may have (absent is fine). */
    mc_status (*remove)(void *ctx, uint64_t segno, mc_err *err);
    /* The unit ended without being applied: its inputs may be picked again. */
    void (*release)(void *ctx, const mc_request *orig);
    /* The unit ended for good: its inputs are never picked again. */
    void (*quarantine)(void *ctx, const mc_request *orig);
    /* N fresh output segnos (consecutive); returns the first. */
    uint64_t (*alloc_segnos)(void *ctx, size_t n);
    /* A flight ended (the picker may have something again). May be NULL. */
    void (*ended)(void *ctx);
    /* A failed or refused removal, to log. */
    void (*log)(void *ctx, const mc_err *err);
} mc_lc_ops;

typedef struct mc_unit {
    mc_request *orig;       /* the picker's request (owned) */
    size_t nparts, ndone;
    size_t nlive;           /* its flights (waiting or running) */
    mc_request *parts;      /* each finished slice's request, as sent */
    mc_response *resps;     /* and its response */
    unsigned attempt;       /* bumped by a restart */
    unsigned failures;      /* the caller's count */
    bool doomed, quarantine, applied;
} mc_unit;

typedef struct mc_flight {
    mc_unit *u;
    size_t part;
    unsigned attempt;       /* the unit's attempt it belongs to; older = stale */
    mc_request sent;        /* what goes on the wire: own id and output segnos */
    int rank;               /* who runs it; -1 = waiting */
    int avoid_rank;         /* the rank its unit failed on last, or -1 */
} mc_flight;

typedef struct mc_lc {
    const mc_lc_ops *ops;
    void *ctx;
    mc_flight **flights;    /* waiting and running */
    size_t nflights, cap;
    uint64_t next_id;       /* last wire id given */
    size_t nwaiting;        /* flights with rank < 0 (mc_lc_flight_run sends one) */
    size_t ndoomed;         /* doomed units not ended yet */
    uint64_t refused;       /* removals refused by the gate (each one a bug caught) */
} mc_lc;

void mc_lc_init(mc_lc *lc, const mc_lc_ops *ops, void *ctx);
/* Frees what is left without removing anything or calling ops. */
void mc_lc_fini(mc_lc *lc);

/* THE removal gate: removes the files of every segno of REQ's runs, except
 * those named by a manifest or allocated by an applied unit (refused).
 * REQUIRES: no rank writes them any more. Returns MC_OK, or MC_EINVAL when
 * something was refused (also logged), or the first removal error. */
mc_status mc_lc_remove_outputs(mc_lc *lc, const mc_request *req);

/* A new unit for ORIG cut into SLICES[0..n): one waiting flight each, new
 * ids. On success takes ORIG and the slices' content (SLICES itself stays
 * the caller's) and *FIRST is the first flight; on failure (out of memory)
 * takes nothing. */
mc_status mc_lc_unit_start(mc_lc *lc, mc_request *orig, mc_request *slices, size_t n,
                           mc_flight **first, mc_err *err);

/* Flight F now runs on RANK (>= 0): the one way a caller sets a rank. */
void mc_lc_flight_run(mc_lc *lc, mc_flight *f, int rank);

ssize_t mc_lc_find(const mc_lc *lc, uint64_t id);
size_t mc_lc_index(const mc_lc *lc, const mc_flight *f);
bool mc_lc_flight_stale(const mc_flight *f);

/* Removes flight IDX (nothing removed on disk); its unit ends with its last
 * flight unless its slices are all done and it waits to be applied. */
void mc_lc_flight_end(mc_lc *lc, size_t idx);
/* Flight IDX will not finish and wrote nothing (or its outputs are already
 * removed): a stale one just ends; a current one dooms its unit first. */
void mc_lc_flight_drop(mc_lc *lc, size_t idx);
/* Flight IDX was running and its rank has stopped without answering: its
 * own outputs are removed, then it is dropped (mc_lc_flight_drop). */
void mc_lc_flight_abandon(mc_lc *lc, size_t idx);
/* Flight IDX (not running) waits again with a new id and new segnos (true),
 * or is ended / dropped when it is stale, NO_MORE, or its unit is doomed. */
bool mc_lc_requeue(mc_lc *lc, size_t idx, bool no_more);

/* Slice IDX succeeded with RESP (taken over, cleared): it is kept in the
 * unit and the flight ends. Returns the unit when every slice is done (to
 * apply), else NULL. REQUIRES: the flight is not stale, its unit not doomed. */
mc_unit *mc_lc_part_done(mc_lc *lc, size_t idx, mc_response *resp);
/* U's joined result is in the manifest: it is never doomed afterwards. */
void mc_lc_unit_applied(mc_lc *lc, mc_unit *u);
/* U will not be applied: its finished slices' outputs are removed; running
 * ones are dropped when they answer. QUARANTINE: its inputs are never picked
 * again. Refused (nothing happens) for an applied unit. */
void mc_lc_unit_doom(mc_lc *lc, mc_unit *u, bool quarantine);
/* U failed on AVOID_RANK and gets another try: the finished slices of the
 * attempt lose their outputs, its waiting flights end, its running ones turn
 * stale, and one unsplit flight with new segnos waits, avoiding AVOID_RANK. */
mc_status mc_lc_unit_restart(mc_lc *lc, mc_unit *u, int avoid_rank, mc_err *err);
/* Ends U when no flight refers to it (after apply or doom by the caller). */
void mc_lc_unit_end_if_idle(mc_lc *lc, mc_unit *u);

/* True when some slice of U's current attempt is done or running. */
bool mc_lc_unit_under_way(const mc_lc *lc, const mc_unit *u);
/* Ends U's waiting flights. */
void mc_lc_end_waiting_of(mc_lc *lc, const mc_unit *u);
/* Ends the waiting flights of doomed units. */
void mc_lc_end_doomed_waiting(mc_lc *lc);

#endif
