/* runfile: an anonymous temporary file of items, written once in key order
 * and read back once as a merge source (merge.h).
 *
 * What a reader uses to merge more sorted streams than it may keep open at
 * once (view.c): a group of segments is merged into a run, the segments are
 * closed, and the runs are merged later. The file is created unlinked
 * (O_TMPFILE, else mkstemp then unlink) in $TMPDIR, or /tmp: it disappears
 * when closed or when the process dies. Records are little-endian:
 * u32 key length, u32 value length, u64 seq, u8 kind, key, value. Memory:
 * one stdio buffer plus the largest item. */
#ifndef MC_RUNFILE_H
#define MC_RUNFILE_H

#include "mpicompact.h"

typedef struct mc_runfile mc_runfile;

mc_status mc_runfile_create(mc_runfile **out, mc_err *err);
mc_status mc_runfile_add(mc_runfile *r, const mc_item *item, mc_err *err);
/* Ends writing; the next mc_runfile_next() reads from the first item. */
mc_status mc_runfile_rewind(mc_runfile *r, mc_err *err);
/* Merge source (CTX: the mc_runfile). The item is valid until the second
 * call after it (merge.h). */
mc_status mc_runfile_next(void *ctx, mc_item *item, bool *eof, mc_err *err);
uint64_t mc_runfile_count(const mc_runfile *r);
void mc_runfile_destroy(mc_runfile **r);

#endif
