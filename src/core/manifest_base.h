/* manifest_base: new bases of a large manifest written by a child process,
 * so that no commit of rank 0 pays for rewriting the whole list.
 *
 * With background bases on (mc_manifest_base_enable: a store of at least
 * MIN live segments), a commit never folds its edit with older edits into
 * more than MC_MANIFEST_BASE_MERGE_MAX entries; the chain then grows by
 * about one small edit a commit. Once it holds MC_MANIFEST_BASE_CHAIN
 * edits, or edits listing half the store (a base costs the store's size,
 * so each edited entry pays for at most about two base entries), the
 * commit that just switched CURRENT to generation G starts a child: the
 * program itself again (/proc/self/exe, by posix_spawn, isolate.h), with
 * MC_MANIFEST_BASE_CHILD_ARG as its first argument, which loads G from its
 * files and writes it as a base (the same content as G's chain) to
 * manifest/G.h5.base.tmp and fsyncs it, while rank 0 goes on. Not a fork:
 * after a fork of a process holding a million entries, every page rank 0
 * then writes costs a copy-on-write fault (bench/README.md). Every program
 * that enables background bases must start its main() with
 *     if (mc_manifest_base_child_requested(argc, argv))
 *         return mc_manifest_base_child_main(argc, argv);
 * Commits of G+1, G+2, ... go on as edits meanwhile. A later commit that finds the
 * child done renames the base over manifest/G.h5 (an edit becomes a base
 * of the same content: every chain through G means what it meant) and
 * fsyncs manifest/; the files before G leave the chain. The next child
 * removes them before it writes (so after at least one more switch of
 * CURRENT: a reader that read the old G and finds its parent gone sees
 * that CURRENT moved and starts over, FORMAT.md section 3.5; and not on
 * rank 0's thread: unlinking a large file takes tens of milliseconds);
 * without a next child the orphan sweep removes them. Invariants: while a
 * child runs, no commit folds G away (its files are what it reads);
 * a synchronous base (a commit covering half the store) kills the child;
 * a failed or killed child leaves only a .tmp file, which is an orphan
 * (the sweep removes it) and changes nothing committed. */
#ifndef MC_MANIFEST_BASE_H
#define MC_MANIFEST_BASE_H

#include "manifest.h"

/* Default MIN for the compaction loop (compact_sched.c); the environment variable
 * MPICOMPACT_MANIFEST_BG_MIN overrides it (0: off; tests use 1). */
#define MC_MANIFEST_BASE_MIN_DEFAULT 20000u
#define MC_MANIFEST_BASE_CHAIN 24u   /* half MC_MANIFEST_CHAIN_MAX: room while the child works */
#define MC_MANIFEST_BASE_MERGE_MAX 16384u

/* Background bases for M from MIN live segments (0: off), commits folding
 * edits into at most MERGE_MAX entries meanwhile (0: the default,
 * MC_MANIFEST_BASE_MERGE_MAX; tests use 1 to make a chain grow fast). */
void mc_manifest_base_enable(mc_manifest *m, size_t min_segments, size_t merge_max);
/* The most entries a commit folds edits into now (SIZE_MAX: no bound). */
size_t mc_manifest_base_merge_max(mc_manifest *m);
/* Whether background bases apply to M now. */
bool mc_manifest_base_on(mc_manifest *m);
/* The generation a running child writes a base of, or 0. */
uint64_t mc_manifest_base_pending(mc_manifest *m);
/* If the child has ended (WAIT: after waiting for it), installs its base
 * when it succeeded. Returns true when a base was installed. Failures
 * (the child's, the rename's) only mean no base: they change nothing. */
bool mc_manifest_base_collect(const char *store, mc_manifest *m, bool wait);
/* After a commit switched CURRENT: starts a child when one is due. */
void mc_manifest_base_after_switch(const char *store, mc_manifest *m);
/* The child's side (see the top of this file). */
#define MC_MANIFEST_BASE_CHILD_ARG "--mpicompact-manifest-base"
bool mc_manifest_base_child_requested(int argc, char **argv);
int mc_manifest_base_child_main(int argc, char **argv);
/* Bases installed since M was loaded. */
uint64_t mc_manifest_base_installed(mc_manifest *m);
/* Kills a running child and removes its temporary file. */
void mc_manifest_base_cancel(mc_manifest *m);

#endif
