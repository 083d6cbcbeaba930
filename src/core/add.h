/* add: the steps of registering finished segment files in level 0, shared
 * by `mpicompact add` (src/mpi/cmd_add.c, which spreads validation over the
 * ranks) and mc_store_add() (store_add.c, one process).
 *
 * The order, for each input file and its segno S (allocated from the
 * manifest), under the store's lock:
 *   1. copy:     the resolved input (add_input.h) byte for byte to
 *                mc_add_copy_path(S) (S.h5.tmp in the store);
 *   2. validate: the copy, not the input (mc_add_validate());
 *   3. install:  (MC_ADD_ASSIGN_SEQ: one new seq for all its items), segno
 *                S written into it, renamed into place, checked against its
 *                descriptor and added to the manifest (mc_add_install());
 *   4. one commit of the manifest by the caller.
 * On any failure before the commit the caller removes every copy
 * (mc_store_remove_segment for each S): nothing is added. Errors name the
 * copy; mc_add_name_input() rewrites a message to name the user's file. */
#ifndef MC_ADD_H
#define MC_ADD_H

#include "manifest.h"

/* OUT: MC_PATH_MAX + 8 bytes. */
void mc_add_copy_path(const char *store, uint64_t segno, char *out);
/* Every rule of docs/FORMAT.md; without MC_ADD_ASSIGN_SEQ in FLAGS also
 * seqs <= MC_ADD_SEQ_MAX. *META gets the file's description (level 0);
 * the caller clears it.
 * The file is read in a child process (mc_seg_check_file(),
 * segment_check.h): a file on which HDF5 itself crashes or loops is an
 * error naming COPY, never the caller's crash or hang. */
mc_status mc_add_validate(const char *copy, unsigned flags, mc_seg_meta *meta, mc_err *err);
/* Step 3 for the validated copy of segno SEGNO described by META (updated:
 * segno, level 0, and the seq range under MC_ADD_ASSIGN_SEQ, whose seq comes
 * from M's next_seq). M's next_seq ends above every seq added. */
mc_status mc_add_install(const char *store, mc_manifest *m, uint64_t segno, unsigned flags, mc_seg_meta *meta,
                         mc_err *err);
/* How many items of segment file PATH (described by META) already have a
 * newer version (a put or a delete with a higher seq) in the store M
 * describes: items that `add` would make invisible. Reads only the store's
 * segments that overlap META's key range and hold a seq above META's
 * min_seq (usually none when the added data is newer). */
mc_status mc_add_count_shadowed(const char *store, const mc_manifest *m, const char *path, const mc_seg_meta *meta,
                                uint64_t *nshadowed, mc_err *err);
/* Rewrites ERR's message so that it names NAME where it named COPY (or,
 * when it does not mention COPY, starts with "NAME: "). */
void mc_add_name_input(mc_err *err, const char *copy, const char *name);

#endif
