/* manifest_journal: what changed in a manifest since its last commit, and
 * the edit files its committed generation is made of (the incremental
 * manifest, docs/FORMAT.md section 3).
 *
 * Pure bookkeeping, no I/O. While tracking is on (manifest_io.c turns it on
 * after a load or a commit), manifest.c notes every add, remove and
 * relevel here with whether the segment was live before the change; a
 * commit then writes only the touched segments. The chain is the list of
 * edit files after the base, oldest first, each with the segnos it touched
 * and whether each was live in the state the edit applies to (its parent):
 * that is what a later commit needs to fold edits together. Invariants:
 * touch lists in the chain are sorted by segno without duplicates;
 * pending is in note order (duplicates allowed) until mc_touch_sort_unique. */
#ifndef MC_MANIFEST_JOURNAL_H
#define MC_MANIFEST_JOURNAL_H

#include "isolate.h"
#include "mpicompact.h"

typedef struct mc_touch {
    uint64_t segno;
    uint32_t order;     /* position in pending (sorting keeps the first) */
    uint8_t was_live;   /* live before the first change of the span */
} mc_touch;

typedef struct mc_edit_file {
    uint64_t generation;
    mc_touch *t;   /* owned, sorted by segno */
    size_t n;
} mc_edit_file;

/* A new base of the chain written in the background (manifest_base.h). */
typedef struct mc_journal_bg {
    size_t min_segments;   /* live segments from which it is used; 0: never */
    size_t merge_max;      /* most entries commits fold edits into meanwhile */
    mc_isolate_job job;    /* the child writing it (job.pid 0: none) */
    uint64_t generation;   /* the committed generation it is a base of */
    uint64_t retry_after;  /* after a failed child, none before this generation */
    char *tmp;             /* the child's file (malloc'ed) while it runs */
    uint64_t installed;    /* bases installed so far */
    uint64_t *stale;       /* files an installed base left out of the chain, until a child removed them */
    size_t nstale;
} mc_journal_bg;

typedef struct mc_journal {
    bool tracking;             /* the chain describes the committed generation */
    bool lost;                 /* a change went unrecorded: the next commit writes a base */
    uint64_t base_generation;  /* the chain's base file */
    mc_edit_file *files;       /* edits after the base, oldest first */
    size_t nfiles, fcap;
    mc_touch *pending;         /* changes since the last commit */
    size_t npending, pcap;
    mc_journal_bg bg;          /* kept by mc_journal_reset, freed by mc_journal_free */
} mc_journal;

/* Records a change to SEGNO (no-op unless tracking). Out of memory sets lost. */
void mc_journal_note(mc_journal *j, uint64_t segno, bool was_live);
/* Drops the chain and the pending changes; tracking on, base BASE_GENERATION. */
void mc_journal_reset(mc_journal *j, uint64_t base_generation);
void mc_journal_free(mc_journal *j);
/* Appends an edit file; takes ownership of T (freed on failure too). */
mc_status mc_journal_push(mc_journal *j, uint64_t generation, mc_touch *t, size_t n, mc_err *err);
/* Frees and removes the newest edit file. */
void mc_journal_pop(mc_journal *j);
/* How many files of the chain (the base and edits) come before its edit
 * GENERATION, or 0 when GENERATION is not an edit of a tracked chain. */
size_t mc_journal_before(const mc_journal *j, uint64_t generation);
/* Edit GENERATION (mc_journal_before > 0) became a base of the same
 * content: the chain now starts there. DROPPED (mc_journal_before entries)
 * gets the generations that left the chain. */
void mc_journal_rebase(mc_journal *j, uint64_t generation, uint64_t *dropped);
/* Entries listed by the chain's edit files, in all. */
size_t mc_journal_edit_entries(const mc_journal *j);

/* Sorts T by segno and keeps the first-noted entry of each segno. */
void mc_touch_sort_unique(mc_touch *t, size_t *n);
/* *OUT (malloc'ed) = the union of two sorted lists; for a segno in both,
 * was_live comes from OLDER (the earlier span). */
mc_status mc_touch_union(const mc_touch *older, size_t nolder, const mc_touch *newer, size_t nnewer,
                         mc_touch **out, size_t *nout, mc_err *err);

#endif
