/* manifest_io: the manifest on disk and the atomic CURRENT switch.
 *
 * STORE/CURRENT is one line naming the current manifest relative to STORE
 * ("manifest/GGGGGGGGGGGGGGGG.h5", 16 lowercase hex digits of the
 * generation, then "\n"). The manifest HDF5 layout is in docs/FORMAT.md.
 *
 * Incremental (format version 2, like LevelDB's MANIFEST of version
 * edits): each generation's file is either a base (the full list) or an
 * edit of an older generation (its parent): the segments it adds or
 * changes and the segnos it removes. The manifest of a generation is its
 * chain: the base, then each edit in order. A commit writes an edit of the
 * changes since the last commit (noted by manifest.c in the journal,
 * manifest_journal.h), folded with the newest edits of at most twice its
 * size, so a commit costs O(changes) amortized and the chain stays
 * O(log n) files; when an edit would cover more than half the store, a new
 * base is written. On large stores bases are written by a child process
 * instead and renamed over the edit they replace (manifest_base.h), so no
 * commit costs O(store). Version-1 files (always a full list) are read as
 * bases.
 *
 * Commit protocol (LevelDB's SetCurrentFile plus the directory fsync):
 * generation+1 -> write manifest/G.h5.tmp -> fsync -> rename -> fsync
 * manifest/ -> write CURRENT.tmp -> fsync -> rename over CURRENT -> fsync
 * STORE -> remove the manifest files the new chain no longer names (edits
 * it folded, or the whole previous chain after a new base). A crash at any
 * point leaves CURRENT naming a complete chain. */
#ifndef MC_MANIFEST_IO_H
#define MC_MANIFEST_IO_H

#include "manifest.h"

#define MC_MANIFEST_FORMAT "mpicompact-manifest"
#define MC_MANIFEST_VERSION 2u
/* An edit never covers more than half the store unless it is this small. */
#define MC_MANIFEST_EDIT_MIN 64u
/* Edit files after a base at most (the doubling rule keeps chains far shorter). */
#define MC_MANIFEST_CHAIN_MAX 48u

/* Loads the manifest CURRENT names. MC_ENOENT if STORE is not a store,
 * MC_EFORMAT for a newer version, MC_ECORRUPT/MC_ECHECKSUM for damage. */
mc_status mc_manifest_load(const char *store, mc_manifest **out, mc_err *err);
/* Loads generation GENERATION (its chain must still be on disk). */
mc_status mc_manifest_load_generation(const char *store, uint64_t generation, mc_manifest **out, mc_err *err);
/* Commits M as the next generation (sets M's generation on success). On a
 * failure before the switch of CURRENT, CURRENT still names the previous
 * generation and M's generation is unchanged. Once CURRENT is switched the
 * commit is done: if the fsync of STORE that follows fails, M's generation
 * is already the new one and an error says the switch may not be durable.
 * A caller sees which happened by comparing M's generation before and
 * after; after such a failure it must remove nothing that either generation
 * names (a power loss may bring the previous one back). */
mc_status mc_manifest_commit(const char *store, mc_manifest *m, mc_err *err);
/* The generations whose files make up generation HEAD's manifest, base
 * first (*OUT malloc'ed, *N entries): what the orphan sweep keeps. */
mc_status mc_manifest_chain_read(const char *store, uint64_t head, uint64_t **out, size_t *n, mc_err *err);
/* STORE/manifest/GGGGGGGGGGGGGGGG.h5 into OUT (LEN >= MC_PATH_MAX). */
void mc_manifest_file_path(const char *store, uint64_t generation, char *out, size_t len);
/* Writes M as a base of its generation (parent 0, its content epoch) to
 * PATH: complete, fsynced and closed (manifest_base.h). */
mc_status mc_manifest_write_base(const char *path, const mc_manifest *m, mc_err *err);
/* ---- one file at a time (manifest_fold.c) ---- */

/* The root attributes of one manifest file (docs/FORMAT.md 3). */
typedef struct mc_manifest_header {
    uint64_t version, generation, parent, epoch, next_segno, next_seq;
    mc_params p;
} mc_manifest_header;
/* Receives each entry of a file; E's keys point into a buffer that is
 * reused after the call. */
typedef mc_status (*mc_manifest_entry_fn)(void *ctx, const char *path, uint64_t index, const mc_seg_meta *e,
                                          mc_err *err);
/* The checks every loaded entry passes before it is added (counts, seqs). */
mc_status mc_manifest_entry_check(const char *path, uint64_t index, const mc_seg_meta *e, mc_err *err);
/* Reads the manifest file of GENERATION: its header (checked as a load
 * checks it), its `removed` segnos (*REMOVED malloc'ed, empty for a base)
 * and each entry, in file order, to SINK (NULL: none). */
mc_status mc_manifest_file_read(const char *store, uint64_t generation, mc_manifest_header *h, uint64_t **removed,
                                size_t *nremoved, mc_manifest_entry_fn sink, void *ctx, mc_err *err);
/* Writes a base with H's attributes (parent 0) listing LIST[0..N) in that
 * order, which must be manifest order (levels in turn; level 0 by segno,
 * deeper levels by min_key), to PATH: complete, fsynced and closed. */
mc_status mc_manifest_write_base_list(const char *path, const mc_manifest_header *h, const mc_seg_meta *const *list,
                                      size_t n, mc_err *err);

/* Reads CURRENT: the generation it names. */
mc_status mc_manifest_current_generation(const char *store, uint64_t *generation, mc_err *err);

#endif
