/* h5util: the thin layer over the HDF5 C library shared by the segment and
 * manifest modules. Only h5util.c, segment_*.c and manifest_io.c include
 * <hdf5.h>; everything else sees mc_status/mc_err.
 *
 * Invariants: HDF5's automatic error printing is turned off once
 * (mc_h5_init) and HDF5 failures come back as mc_err messages that name the
 * file, the object and, where HDF5 says it, the reason (the innermost message
 * of the HDF5 error stack). File locking is off (parallel filesystems often
 * lack flock; we write under temporary names and rename instead). */
#ifndef MC_H5UTIL_H
#define MC_H5UTIL_H

#include <hdf5.h>
#include "mpicompact.h"

/* Idempotent; called by every function below. */
void mc_h5_init(void);

/* Turns the current HDF5 error stack into ERR ("PATH: WHAT: innermost
 * reason") and clears the stack. CODE is used unless the file driver
 * reported an errno (then ENOSPC -> MC_ENOSPC etc., mc_status_from_errno).
 * For callers that make HDF5 calls of their own. */
mc_status mc_h5_fail(mc_err *err, mc_status code, const char *path, const char *what);

/* Creates PATH (truncating), libver earliest..latest-compatible with h5py 3.7
 * (HDF5 1.10 format). */
mc_status mc_h5_create(const char *path, hid_t *file, mc_err *err);
/* Opens PATH read-only. Refuses (MC_ECORRUPT) what is not a regular file
 * (a symbolic link is never followed) and a file whose root group holds
 * more than MC_H5_ROOT_ATTRS_MAX attributes or MC_H5_ROOT_LINKS_MAX objects
 * (docs/FORMAT.md), before HDF5 reads more than the root's header. */
#define MC_H5_ROOT_ATTRS_MAX 64u
#define MC_H5_ROOT_LINKS_MAX 64u
mc_status mc_h5_open_ro(const char *path, hid_t *file, mc_err *err);
/* A new handle on the open file FILE (H5Freopen): it needs no path, so it
 * works after the file was unlinked (segment_pin.h). PATH names it in errors. */
mc_status mc_h5_reopen(hid_t file, const char *path, hid_t *out, mc_err *err);
/* Closes and fsyncs the file. Always closes. It first reserves the space
 * HDF5 needs to write its metadata (fallocate), because a failing H5Fclose
 * leaves HDF5 broken; if even that fails (a full disk: MC_ENOSPC) the file
 * is detached (mc_h5_detach) before closing, so remove it. */
mc_status mc_h5_close_sync(hid_t file, const char *path, mc_err *err);
/* The same with the fault point POINT (fault.h) for SEGNO between the close
 * and the fsync: the fsync fails (error mode) or the process dies with the
 * file closed but not synced (kill mode). */
mc_status mc_h5_close_sync_at(hid_t file, const char *path, const char *point, uint64_t segno, mc_err *err);
void mc_h5_close(hid_t *file);   /* accepts H5I_INVALID_HID, sets it */
/* A new descriptor of FILE's (sec2 driver; close-on-exec), which stays
 * valid after FILE is closed; -1 when there is none. */
int mc_h5_dup_fd(hid_t file);
/* Starts writing FILE's dirty pages to disk without waiting for them
 * (sync_file_range), so that the fsync at close finds little left to do:
 * a writer calls it every few MiB to overlap its writes with its work. A
 * hint: errors are left for the fsync to report. */
void mc_h5_start_writeback(hid_t file);
/* Asks the kernel to read bytes [OFF, OFF + LEN) of FILE into the page cache
 * in the background (posix_fadvise WILLNEED), so that the reads that follow
 * find them there. A hint: errors are ignored. */
void mc_h5_read_ahead(hid_t file, uint64_t off, uint64_t len);
/* FILE's size in bytes (0 when HDF5 cannot tell). */
uint64_t mc_h5_file_size(hid_t file);
/* For a file being thrown away: points FILE's descriptor at an anonymous
 * memory file, so that what HDF5 still holds dirty is written there when
 * its handles close, not to a full disk (a failed H5Fclose crashes HDF5 at
 * exit). Call before closing its datasets; then close and unlink it. */
void mc_h5_detach(hid_t file);

/* Scalar attributes on the root group. */
mc_status mc_h5_attr_write_u64(hid_t file, const char *path, const char *name, uint64_t v, mc_err *err);
mc_status mc_h5_attr_write_u32(hid_t file, const char *path, const char *name, uint32_t v, mc_err *err);
/* Variable-length UTF-8 string, like h5py's default. */
mc_status mc_h5_attr_write_str(hid_t file, const char *path, const char *name, const char *v, mc_err *err);
/* Integer attributes are read converted to the native type (any stored
 * integer type is accepted when the value fits). */
mc_status mc_h5_attr_read_u64(hid_t file, const char *path, const char *name, uint64_t *v, mc_err *err);
/* Accepts fixed- and variable-length strings; OUT gets a NUL-terminated copy. */
mc_status mc_h5_attr_read_str(hid_t file, const char *path, const char *name, char *out, size_t out_len, mc_err *err);

/* One-dimensional datasets of uint8 or uint64 (MC_H5_U8 / MC_H5_U64),
 * chunked with the Fletcher32 filter, unlimited max size (so a zero-length
 * dataset is valid), CHUNK elements per chunk (>= 1). */
typedef enum { MC_H5_U8 = 1, MC_H5_U64 = 8 } mc_h5_type;
mc_status mc_h5_dset_create(hid_t file, const char *path, const char *name, mc_h5_type type,
                            uint64_t chunk, hid_t *dset, mc_err *err);
/* The same without a chunk cache, for writers that append whole chunks
 * (and one last piece): every chunk reaches the file inside its append, so
 * a full disk fails there and nothing is left dirty for close to fail on
 * (HDF5 cannot shut down cleanly after a failed H5Fclose). */
mc_status mc_h5_dset_create_direct(hid_t file, const char *path, const char *name, mc_h5_type type,
                                   uint64_t chunk, hid_t *dset, mc_err *err);
/* Appends N elements at the end (extends the dataset). */
mc_status mc_h5_dset_append(hid_t dset, const char *path, const char *name, mc_h5_type type,
                            const void *data, uint64_t n, mc_err *err);
/* Appends the first N elements of CHUNK (a buffer of CHUNK_ELEMS elements
 * plus 4 bytes) as one whole chunk written directly (H5Dwrite_chunk): the
 * elements past N are zeroed, our Fletcher32 of the chunk is stored after
 * it exactly as HDF5's filter stores it, and the dataset is extended by N.
 * REQUIRES: DSET was created with chunks of CHUNK_ELEMS elements and its
 * length is a multiple of CHUNK_ELEMS (every earlier append was whole);
 * 1 <= N <= CHUNK_ELEMS. The buffer's contents are changed. */
mc_status mc_h5_dset_append_chunk(hid_t dset, const char *path, const char *name, mc_h5_type type,
                                  void *chunk, uint64_t n, uint64_t chunk_elems, mc_err *err);
/* HDF5's Fletcher32 (H5_checksum_fletcher32: 16-bit big-endian words, an
 * odd last byte as the high half of a word, sums folded every 360 words),
 * computed in blocks the compiler vectorizes. Bit-identical to HDF5's. */
uint32_t mc_fletcher32(const void *data, size_t len);
/* The same over data given in pieces: every piece but the last must be a
 * multiple of MC_FLETCHER32_BLOCK bytes (HDF5 folds its sums every 360
 * words, so only such pieces continue the same sums). */
#define MC_FLETCHER32_BLOCK 720u
typedef struct mc_fletcher32_state {
    uint64_t sum1, sum2;   /* start at 0 */
} mc_fletcher32_state;
void mc_fletcher32_update(mc_fletcher32_state *f, const void *data, size_t len);
uint32_t mc_fletcher32_final(const mc_fletcher32_state *f);
/* True when STORED (a chunk's checksum as HDF5 stores it, decoded
 * little-endian) accepts SUM: equal, or byte-swapped as HDF5 before 1.6.3
 * wrote it (HDF5's filter accepts both). */
bool mc_fletcher32_matches(uint32_t stored, uint32_t sum);
/* MC_ECHECKSUM naming PATH and dataset NAME, the message every checksum
 * mismatch gets. */
mc_status mc_h5_checksum_fail(mc_err *err, const char *path, const char *name);

/* Opens dataset NAME and gets its length. MC_ECORRUPT when it is missing,
 * a soft or external link rather than a dataset of this file, not 1-D or
 * its elements are not unsigned integers that fit TYPE;
 * MC_EFORMAT when it is not chunked with Fletcher32. */
mc_status mc_h5_dset_open(hid_t file, const char *path, const char *name, mc_h5_type type,
                          hid_t *dset, uint64_t *len, mc_err *err);
/* Reads elements [start, start+n) converted to TYPE. A Fletcher32 mismatch is
 * MC_ECHECKSUM with a message naming the file and dataset. */
mc_status mc_h5_dset_read(hid_t dset, const char *path, const char *name, mc_h5_type type,
                          uint64_t start, uint64_t n, void *out, mc_err *err);
void mc_h5_dset_close(hid_t *dset);

/* A dataset read in whole chunks (H5Dread_chunk) into one chunk buffer of
 * our own, each chunk checked with mc_fletcher32 as HDF5's filter checks it
 * (the stored sum, or its byte-swapped form that HDF5 before 1.6.3 wrote),
 * then copied out: no HDF5 chunk cache, no second checksum. Used when the
 * dataset's only filter is Fletcher32 and its element type is the
 * little-endian type of TYPE; otherwise, and for any chunk HDF5 stored
 * otherwise (unfiltered, missing, odd size), reads go through H5Dread
 * (mc_h5_dset_read) with the same results and messages. Memory: one chunk. */
typedef struct mc_h5_col {
    hid_t dset;              /* borrowed */
    mc_h5_type type;
    uint64_t len;            /* elements */
    uint64_t chunk_elems;
    bool direct;
    uint8_t *chunk;          /* chunk_elems * type + 4 bytes, allocated on first use */
    uint64_t cached;         /* index of the chunk held, UINT64_MAX for none */
} mc_h5_col;
/* DSET of LEN elements (mc_h5_dset_open), borrowed until mc_h5_col_free. */
void mc_h5_col_init(mc_h5_col *c, hid_t dset, mc_h5_type type, uint64_t len);
/* Elements [start, start+n) as mc_h5_dset_read gives them. */
mc_status mc_h5_col_read(mc_h5_col *c, const char *path, const char *name, uint64_t start, uint64_t n, void *out,
                         mc_err *err);
void mc_h5_col_free(mc_h5_col *c);

/* ---- Shared by segment_write.c, segment_read.c and segment_validate.c ---- */

#define MC_SEG_FORMAT "mpicompact-segment"
#define MC_SEG_VERSION 1u

/* The six root datasets of a segment, in this order. */
enum { MC_SEG_KEYS, MC_SEG_KEY_OFFSETS, MC_SEG_VALUES, MC_SEG_VALUE_OFFSETS, MC_SEG_SEQS, MC_SEG_KINDS,
       MC_SEG_NDSETS };
typedef struct mc_seg_dset_def {
    const char *name;
    mc_h5_type type;
} mc_seg_dset_def;
extern const mc_seg_dset_def mc_seg_dsets[MC_SEG_NDSETS];

/* mc_seg_reader_open() on a file already open as OPEN_FILE (reopened, see
 * mc_h5_reopen()), or by PATH when OPEN_FILE is H5I_INVALID_HID. */
mc_status mc_seg_reader_open_from(const char *path, hid_t open_file, mc_seg_reader **out, mc_err *err);

/* The per-item rules of docs/FORMAT.md (key 1..MC_KEY_MAX bytes, value at
 * most MC_VALUE_MAX, kind put/delete, a delete's value empty, keys strictly
 * increasing): NULL when IT may follow the key PREV (HAS_PREV false for the
 * first item), else a short description of what is wrong. */
const char *mc_seg_item_problem(const mc_item *it, const uint8_t *prev, size_t prev_len, bool has_prev);

#endif
