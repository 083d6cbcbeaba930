/* fuzzutil: what the libFuzzer harnesses share (docs/FUZZING.md).
 *
 * Each harness process gets one private scratch directory (under $TMPDIR,
 * removed at exit) where inputs that the code under test reads as files are
 * written. Nothing a harness does leaves that directory.
 * The archive format lets one input carry several files (a store's CURRENT
 * and its manifest files): records of [u8 name length][name][u32 LE data
 * length][data]; a record that runs past the end is cut at the end, names
 * with anything but [A-Za-z0-9._-] (and one "manifest/" prefix) are skipped,
 * so every input decodes to some set of files and mutations of the data
 * bytes keep the framing. */
#ifndef MC_FUZZUTIL_H
#define MC_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The scratch directory (created on first use; aborts if it cannot be). */
const char *fz_dir(void);
/* DIR/NAME into OUT (4096 bytes). */
void fz_path(char *out, const char *name);
/* Writes LEN bytes to PATH (created or truncated); aborts on failure:
 * the harness, not the code under test, is broken then. */
void fz_write(const char *path, const void *data, size_t len);
/* Removes everything under DIR (not DIR itself). */
void fz_clear(const char *dir);

/* The property every failure must have: a status the code list knows and a
 * non-empty message (a clear error). Aborts (a finding) otherwise. Returns ST. */
mc_status fz_check_err(mc_status st, const mc_err *err);

/* Aborts (a finding) when any HDF5 object is still open: every path of
 * the code under test must close what it opened, failures included. */
void fz_check_no_open_hdf5(void);

/* Calls FN(ctx, name, data, len) for each record of an archive (see above). */
typedef void (*fz_record_fn)(void *ctx, const char *name, const uint8_t *data, size_t len);
void fz_archive_each(const uint8_t *p, size_t len, fz_record_fn fn, void *ctx);
/* Appends one record to OUT (for seedgen). */
void fz_archive_add(mc_buf *out, const char *name, const void *data, size_t len);

#endif
