/* store_session: the start and the end of a command that changes a store.
 *
 * Every writing command (gen, add, compact) runs between mc_session_open()
 * and mc_session_close(). Collective over ctx->comm:
 *   open:   rank 0 takes STORE/LOCK (lock.h), loads the committed manifest
 *           and removes orphans (files under seg/ and manifest/ that the
 *           manifest does not name: what a crashed writer left), then the
 *           manifest is broadcast (manifest_wire.h), so that every rank holds
 *           an identical copy in s->m. All ranks agree on the outcome.
 *           The sweep does not know the command's own input files: `add`
 *           refuses inputs inside the store before opening (add_input.h).
 *   commit: rank 0 commits s->m as the next generation; every rank learns
 *           the result (for commands that commit once; compact may call
 *           mc_manifest_commit() on rank 0 directly for group commits), and
 *           s->switched: whether CURRENT names the new generation, which is
 *           true after a failure of the last step (manifest_io.h).
 *   close:  rank 0 releases the lock; every rank frees its copy.
 * Ranks other than 0 wait without spinning a core (mpiutil.h).
 * Errors are logged (log.h) by the rank that saw them; the functions return
 * MC_EXIT_OK or MC_EXIT_FAIL, identical on every rank. */
#ifndef MC_STORE_SESSION_H
#define MC_STORE_SESSION_H

#include "cli.h"
#include "lock.h"
#include "manifest.h"

typedef struct mc_session {
    const char *store;      /* borrowed */
    mc_manifest *m;         /* every rank: the committed manifest (owned) */
    mc_lock *lock;          /* rank 0 only; NULL elsewhere */
    size_t orphans_removed; /* rank 0: what open() cleaned up */
    bool switched;          /* every rank: the last commit switched CURRENT,
                               even if it then failed (it is done: remove
                               nothing either generation names) */
} mc_session;

/* COMMAND names the holder in STORE/LOCK ("gen", "compact", ...). On
 * failure *s is left closed (nothing to release). */
int mc_session_open(const mc_cli_ctx *ctx, const char *store, const char *command, mc_session *s);
/* Rank 0 commits s->m (ignored on the other ranks, whose copy is then
 * stale: the command is expected to end). Collective. */
int mc_session_commit(const mc_cli_ctx *ctx, mc_session *s);
/* Releases the lock (rank 0) and frees s->m. Not collective; accepts a
 * closed session. */
void mc_session_close(mc_session *s);

/* Read-only commands: rank 0 loads the committed manifest (no lock; a
 * commit racing the load is retried, view.h) and broadcasts it; *m is owned by the caller on every rank. Collective. */
int mc_manifest_load_bcast(const mc_cli_ctx *ctx, const char *store, mc_manifest **m);

#endif
