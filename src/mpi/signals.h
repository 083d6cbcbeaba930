/* signals: what `compact` does with signals, installed on every rank at the
 * very start of the command (before the lock, the manifest load and orphan
 * removal), so that a Slurm drain signal arriving early is never fatal.
 *
 *   rank 0:   SIGTERM, SIGUSR1 -> drain requested; SIGUSR2 ignored
 *   workers:  SIGUSR2 -> leave the job (farewell); SIGTERM, SIGUSR1 ignored
 *             (mpirun forwards them to every rank; rank 0 decides)
 * mc_signals_early(), called by main() before MPI_Init for `compact`, covers
 * the start-up before that and the shutdown after mc_signals_restore(): a
 * signal then is not fatal; one that arrives before mc_signals_install()
 * is carried over (SIGTERM/SIGUSR1 drain on rank 0, SIGUSR2 leave on a worker).
 * mc_signals_restore() puts the previous handlers back. The flags are
 * sig_atomic_t, set only by the handlers, read by the loops.
 * With MPICOMPACT_READY_FILE=PATH in the environment, mc_signals_early()
 * creates PATH.<pid> once its handlers are in place (tests wait for it
 * before they signal a rank; docs/COMPACT.md). */
#ifndef MC_SIGNALS_H
#define MC_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t mc_drain_requested;
extern volatile sig_atomic_t mc_leave_requested;

void mc_signals_early(void);
void mc_signals_install(bool coordinator);
void mc_signals_restore(void);

#endif
