/* segment_relabel: giving a copied segment file its new segno.
 *
 * `add` copies an incoming segment byte for byte to STORE/seg/.../S.h5.tmp;
 * the file's `segno` attribute is not trusted and must equal the number in
 * the file's final name, so it is rewritten here (as uint64, whatever type
 * the incoming file used) before the rename. Nothing else in the file
 * changes, except under `add --assign-seq` (mc_seg_assign_seq()). */
#ifndef MC_SEGMENT_RELABEL_H
#define MC_SEGMENT_RELABEL_H

#include "mpicompact.h"

/* Opens PATH read-write, sets the root attribute segno = SEGNO, closes and
 * fsyncs the file. */
mc_status mc_seg_relabel(const char *path, uint64_t segno, mc_err *err);
/* `add --assign-seq` (MC_ADD_ASSIGN_SEQ): every item of the (validated,
 * not yet installed) copy PATH gets seq SEQ: the seqs dataset is replaced by
 * one of uint64 SEQ values and the root attributes min_seq and max_seq set
 * to SEQ. The keys of one segment are distinct, so this stays valid.
 * Closes and fsyncs the file. */
mc_status mc_seg_assign_seq(const char *path, uint64_t seq, mc_err *err);

/* The two halves of mc_seg_copy_relabel(), for `add`, which validates the
 * copy between them (the file committed is the file validated):
 * mc_seg_copy_raw() copies SRC, which must be a regular file, byte for byte
 * to TMP (created or truncated; removed on failure); mc_seg_install()
 * relabels TMP as SEGNO, fsyncs it, renames it to DST and fsyncs DST's
 * directory (TMP removed on failure, DST untouched). */
mc_status mc_seg_copy_raw(const char *src, const char *tmp, uint64_t segno, mc_err *err);
mc_status mc_seg_install(const char *tmp, const char *dst, uint64_t segno, mc_err *err);

/* Copies SRC to DST.tmp, relabels it as SEGNO, fsyncs, renames to DST and
 * fsyncs DST's directory. On failure DST.tmp is removed and DST untouched. */
mc_status mc_seg_copy_relabel(const char *src, const char *dst, uint64_t segno, mc_err *err);

#endif
