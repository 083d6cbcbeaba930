/* fault: named fault-injection points, armed from the environment.
 *
 * MPICOMPACT_FAULT="NAME[:key=value]...[;NAME...]" with keys
 *   rank=R    fire only on rank R (default: every rank)
 *   segno=S   fire only when the point is reached for segno S
 *   after=K   let the first K hits pass (default 0)
 *   times=N   fire N times (default 1; -1 = always)
 *   mode=M    error (default): the point's failure (an error status, or the
 *             point's own action: leave, crash); kill: the process sends
 *             itself SIGKILL on the spot (after one line on stderr).
 * The points and where they fire are listed in docs/COMPACT.md ("Fault
 * injection"). Unset means no faults and no cost beyond one check. */
#ifndef MC_FAULT_H
#define MC_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "mpicompact.h"

#define MC_FAULT_ANY_SEGNO UINT64_MAX

/* Parses the environment; call once per process (rank known). */
void mc_fault_init(int rank);
/* True when NAME fires now in error mode; never returns when it fires in
 * kill mode. SEGNO: the segno the point concerns, or MC_FAULT_ANY_SEGNO. */
bool mc_fault_hit(const char *name, uint64_t segno);
/* For points that stand for a failing I/O step: MC_OK, or when NAME fires
 * MC_EIO (errno EIO) with a message naming PATH and the point. */
mc_status mc_fault_check(const char *name, uint64_t segno, const char *path, mc_err *err);

#endif
