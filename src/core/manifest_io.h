/* manifest_io: the manifest on disk and the atomic CURRENT switch.
 *
 * STORE/CURRENT is one line naming the current manifest relative to STORE
 * ("manifest/GGGGGGGGGGGGGGGG.h5", 16 lowercase hex digits of the
 * generation, then "\n"). The manifest HDF5 layout is in docs/FORMAT.md.
 *
 * Commit protocol (LevelDB's SetCurrentFile plus the directory fsync):
 * generation+1 -> write manifest/G.h5.tmp -> fsync -> rename -> fsync
 * manifest/ -> write CURRENT.tmp -> fsync -> rename over CURRENT -> fsync
 * STORE -> remove the previous generation's manifest file. A crash at any
 * point leaves CURRENT naming a complete manifest. */
#ifndef MC_MANIFEST_IO_H
#define MC_MANIFEST_IO_H

#include "manifest.h"

#define MC_MANIFEST_FORMAT "mpicompact-manifest"
#define MC_MANIFEST_VERSION 1u

/* Loads the manifest CURRENT names. MC_ENOENT if STORE is not a store,
 * MC_EFORMAT for a newer version, MC_ECORRUPT/MC_ECHECKSUM for damage. */
mc_status mc_manifest_load(const char *store, mc_manifest **out, mc_err *err);
/* Commits M as the next generation (sets M's generation on success). On a
 * failure before the switch of CURRENT, CURRENT still names the previous
 * generation and M's generation is unchanged. Once CURRENT is switched the
 * commit is done: if the fsync of STORE that follows fails, M's generation
 * is already the new one and an error says the switch may not be durable.
 * A caller sees which happened by comparing M's generation before and
 * after; after such a failure it must remove nothing that either generation
 * names (a power loss may bring the previous one back). */
mc_status mc_manifest_commit(const char *store, mc_manifest *m, mc_err *err);
/* Reads CURRENT: the generation it names. */
mc_status mc_manifest_current_generation(const char *store, uint64_t *generation, mc_err *err);

#endif
