/* fault: named fault-injection points, armed from the environment.
 *
 * MPICOMPACT_FAULT="NAME[:key=value]...[;NAME...]" with keys
 *   rank=R    fire only on rank R (default: every rank)
 *   segno=S   fire only when the point is reached for segno S
 *   after=K   let the first K hits pass (default 0)
 *   times=N   fire N times (default 1; -1 = always)
 * Points: merge_fail (compaction.c, per input segno), worker_leave (worker,
 * counted per finished compaction), coordinator_crash (coordinator, before a
 * commit). Unset means no faults and no cost beyond one check. */
#ifndef MC_FAULT_H
#define MC_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#define MC_FAULT_ANY_SEGNO UINT64_MAX

/* Parses the environment; call once per process (rank known). */
void mc_fault_init(int rank);
/* True when NAME fires now. SEGNO: the segno the point concerns, or
 * MC_FAULT_ANY_SEGNO. */
bool mc_fault_hit(const char *name, uint64_t segno);

#endif
