/* store: the store directory: creation, segment paths, orphans.
 *
 * Layout: STORE/CURRENT, STORE/manifest/, STORE/seg/XX/ for XX = 00..ff
 * (all 256 created by mc_store_init), STORE/LOCK while a writer runs.
 * A segment lives at STORE/seg/XX/SSSSSSSSSSSSSSSS.h5 (segno in 16 lowercase
 * hex digits, XX = segno % 256 in 2); while written it is that path + ".tmp".
 * Anything under seg/ or manifest/ that the committed manifest does not name
 * is an orphan: garbage a writer removes before it schedules anything. */
#ifndef MC_STORE_H
#define MC_STORE_H

#include "manifest.h"

#define MC_PATH_MAX 4096

/* Creates STORE (which must not exist; its parent must) with generation 1,
 * empty. MC_EEXIST if it exists. */
mc_status mc_store_init(const char *store, const mc_params *params, mc_err *err);
/* OUT (MC_PATH_MAX bytes) gets the segment's final path. */
void mc_store_seg_path(const char *store, uint64_t segno, char *out);
/* Parses "SSSSSSSSSSSSSSSS.h5" (exactly); false for anything else. */
bool mc_store_parse_seg_name(const char *name, uint64_t *segno);
/* Removes the segment's file and its temporary; a missing file is fine.
 * For outputs that will never be committed (a writer may have left the
 * temporary). */
mc_status mc_store_remove_segment(const char *store, uint64_t segno, mc_err *err);
/* Removes only the final file of a segment that a durable commit dropped (a
 * replaced input); a missing file is fine. Its temporary cannot exist: a
 * segment is renamed from its temporary before the commit that first names
 * it (segment writer, add), its segno is never written again in that run,
 * and a temporary left by a crash is an orphan every writing command
 * removes under the lock before it schedules anything. One unlink instead
 * of two: a metadata round trip saved per input on a parallel filesystem.
 * Thread-safe (the remover calls it). */
mc_status mc_store_remove_dropped_segment(const char *store, uint64_t segno, mc_err *err);

/* Calls FN for every orphan path (see above), in no particular order. */
typedef void (*mc_orphan_fn)(void *ctx, const char *path);
mc_status mc_store_list_orphans(const char *store, const mc_manifest *m,
                                mc_orphan_fn fn, void *ctx, mc_err *err);
/* Removes every orphan file (a directory is only reported by list);
 * *nremoved (may be NULL) gets how many. M must be the committed manifest:
 * if its generation is not the one CURRENT names, MC_EINVAL and nothing is
 * removed. */
mc_status mc_store_remove_orphans(const char *store, const mc_manifest *m,
                                  size_t *nremoved, mc_err *err);
/* fsync a directory. */
mc_status mc_fsync_dir(const char *dir, mc_err *err);
/* Writes TEXT to a new file PATH and fsyncs it. EXCL: fail with MC_EEXIST if
 * PATH exists (O_EXCL), else truncate. On a failed write the file is removed. */
mc_status mc_write_file_sync(const char *path, const char *text, bool excl, mc_err *err);
/* Parses exactly 16 lowercase hex digits at S (what follows is not looked at). */
bool mc_parse_hex16(const char *s, uint64_t *v);

#endif
