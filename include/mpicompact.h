/* mpicompact: the public C API of libmpicompact (the core library).
 *
 * What an application (a simulation code, an ingest tool) needs to write and
 * read mpicompact segment files and stores without MPI: status codes, the
 * item model, the streaming segment writer/reader, and the store API (read
 * a committed store, register finished segment files in it). The on-disk
 * format is specified in docs/FORMAT.md; these functions are the one
 * implementation of it that the mpicompact tool itself uses. docs/LIBRARY.md
 * shows an MPI program that writes a segment per rank and adds them.
 *
 * Conventions: every fallible function returns an mc_status and fills an
 * mc_err (ERR may be NULL) with a message naming the file and the problem;
 * results come back through out-parameters. Nothing here prints, exits or
 * aborts, and the library keeps no global state of its own: every handle
 * carries what it needs (separate handles may be used from separate
 * threads if HDF5 itself is thread-safe). One process-wide effect: the first
 * call that touches HDF5 turns off HDF5's automatic printing of error stacks
 * (H5Eset_auto2 on H5E_DEFAULT), since errors come back as mc_err messages
 * instead; an application that wants HDF5 to print its own errors turns it
 * back on after that first call. */
#ifndef MPICOMPACT_H
#define MPICOMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version; mc_version() returns it as "MAJOR.MINOR.PATCH". */
#define MC_VERSION_MAJOR 0
#define MC_VERSION_MINOR 1
#define MC_VERSION_PATCH 0
const char *mc_version(void);

/* Status codes: one list gives the enum and mc_strerror(). */
#define MC_STATUS_MAP(X)                                          \
    X(OK, "success")                                              \
    X(EINVAL, "invalid argument")                                 \
    X(ENOMEM, "out of memory")                                    \
    X(EIO, "I/O error")                                           \
    X(ECORRUPT, "corrupt data")                                   \
    X(ECHECKSUM, "checksum mismatch")                             \
    X(EFORMAT, "unsupported format or version")                   \
    X(ENOENT, "not found")                                        \
    X(EEXIST, "already exists")                                   \
    X(ELOCKED, "store is locked by another job")                  \
    X(ELIMIT, "limit exceeded")                                   \
    X(ENOSPC, "no space left on device")                          \
    X(EFAULT, "injected fault")                                   \
    X(ECANCELED, "canceled")                                      \
    X(EPROTO, "protocol error")

typedef enum {
#define MC_STATUS_ENUM(name, text) MC_##name,
    MC_STATUS_MAP(MC_STATUS_ENUM)
#undef MC_STATUS_ENUM
} mc_status;

/* A static description of STATUS ("corrupt data"); "unknown status" for a
 * value outside the list. */
const char *mc_strerror(mc_status status);

/* Error detail: the code, the errno seen (0 if none) and a message that
 * names the file and what is wrong. */
typedef struct mc_err {
    mc_status code;
    int sys_errno;
    char msg[1024];
} mc_err;

/* Limits (docs/FORMAT.md). */
#define MC_KEY_MAX ((size_t)4096)                 /* bytes; keys are >= 1 byte */
#define MC_VALUE_MAX ((size_t)16 * 1024 * 1024)   /* bytes; values may be empty */
/* Seqs are >= 1 (0 is never a version). `add` takes seqs up to
 * MC_ADD_SEQ_MAX only, so that the store's next_seq (then at most 2^63)
 * leaves 2^63 seqs for gen without wrapping. */
#define MC_ADD_SEQ_MAX ((uint64_t)INT64_MAX)

enum { MC_KIND_PUT = 0, MC_KIND_DELETE = 1 };

/* One version of one key. Pointers are borrowed: valid until the producer's
 * next call. A delete has an empty value. */
typedef struct mc_item {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    uint64_t seq;
    uint8_t kind;
} mc_item;

/* Unsigned byte order, a proper prefix first (memcmp, shorter first). */
int mc_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* What a finished or validated segment holds (also a manifest entry). */
typedef struct mc_seg_meta {
    uint64_t segno;
    uint8_t level;
    uint64_t nitems;
    uint64_t ndeletes;
    uint64_t bytes;        /* sum of key and value lengths */
    uint64_t min_seq, max_seq;
    uint8_t *min_key;      /* owned (malloc) */
    size_t min_key_len;
    uint8_t *max_key;      /* owned (malloc) */
    size_t max_key_len;
} mc_seg_meta;

void mc_seg_meta_clear(mc_seg_meta *meta);   /* frees the keys, zeroes */
mc_status mc_seg_meta_copy(mc_seg_meta *dst, const mc_seg_meta *src, mc_err *err);

/* Streaming writer. Items must come in strictly increasing key order, keys
 * 1..MC_KEY_MAX bytes, values 0..MC_VALUE_MAX; at least one item before
 * finish. Writes PATH.tmp, and finish() fsyncs, renames to PATH and fsyncs
 * the directory: a reader never sees a half-written segment. Memory is one
 * chunk buffer per dataset, whatever the segment's size. */
typedef struct mc_seg_writer mc_seg_writer;

mc_status mc_seg_writer_create(const char *path, uint64_t segno, mc_seg_writer **out, mc_err *err);
mc_status mc_seg_writer_add(mc_seg_writer *w, const mc_item *item, mc_err *err);
uint64_t mc_seg_writer_nitems(const mc_seg_writer *w);
uint64_t mc_seg_writer_bytes(const mc_seg_writer *w);   /* key+value bytes so far */
/* Completes the file; *meta gets its description (level 0). Frees *w. */
mc_status mc_seg_writer_finish(mc_seg_writer **w, mc_seg_meta *meta, mc_err *err);
/* Drops the temporary file. Frees *w; accepts NULL. */
void mc_seg_writer_abort(mc_seg_writer **w);

/* Streaming reader with bounded memory (a window of items per refill). It
 * checks as it goes: offsets, strict key order, kinds, limits, seqs within
 * the root attributes, and Fletcher32 on every chunk it reads. */
typedef struct mc_seg_reader mc_seg_reader;

typedef struct mc_seg_attrs {
    uint64_t segno, nitems, min_seq, max_seq;
} mc_seg_attrs;

mc_status mc_seg_reader_open(const char *path, mc_seg_reader **out, mc_err *err);
const mc_seg_attrs *mc_seg_reader_attrs(const mc_seg_reader *r);
/* Position before the first item with key >= KEY (binary search). */
mc_status mc_seg_reader_seek(mc_seg_reader *r, const uint8_t *key, size_t key_len, mc_err *err);
/* Next item; *eof set at the end. The item's pointers are valid until the
 * second call after it on R (or a seek). */
mc_status mc_seg_reader_next(mc_seg_reader *r, mc_item *item, bool *eof, mc_err *err);
void mc_seg_reader_close(mc_seg_reader **r);
/* MC_ECORRUPT naming PATH unless R's root attributes (segno, nitems, seq
 * range) are those of META: the file is the segment a manifest lists, not
 * another valid segment copied over it. */
mc_status mc_seg_reader_check_meta(const mc_seg_reader *r, const char *path, const mc_seg_meta *meta, mc_err *err);

/* Reads a whole segment and checks every rule of docs/FORMAT.md (no seq 0
 * included); *meta gets what it holds (level 0; segno from the file's
 * attribute). */
mc_status mc_seg_validate(const char *path, mc_seg_meta *meta, mc_err *err);
/* `add`'s extra rule for a validated file: MC_ECORRUPT naming PATH when its
 * max_seq (META) is above MC_ADD_SEQ_MAX. */
mc_status mc_seg_check_add_seqs(const char *path, const mc_seg_meta *meta, mc_err *err);

/* ---- The store API ----------------------------------------------------
 *
 * A store is the directory `mpicompact init` creates (docs/FORMAT.md).
 * Reading needs no lock and no MPI: mc_store_open() takes a read-only view
 * of the committed generation (CURRENT) and keeps reading that generation
 * while a `compact` or `add` job commits newer ones.
 *
 * How the view holds its generation: mc_store_open() opens every segment
 * file the generation lists (read-only HDF5 handles, a few KB each) and keeps
 * them open until mc_store_close(); gets and iterators read through those
 * handles, never by path, so a compaction that commits and unlinks the
 * files does not take them away (POSIX keeps an unlinked open file's data
 * until it is closed; a store's disk space is therefore freed only when
 * the view closes). One file descriptor per segment is held: raise
 * `ulimit -n` for stores of many thousands of segments (mc_store_open()
 * fails naming the file otherwise). On a filesystem where an unlinked open
 * file does not stay readable (NFS across clients: the data is gone once
 * another client removes it) reads of a removed segment fail with an error
 * naming it: close the store and open it again to read the newer
 * generation. */

/* A read-only view of one committed generation. */
typedef struct mc_store mc_store;

/* Opens the store at PATH (its directory). A commit racing the open is
 * retried on the new generation. MC_ENOENT when PATH is not a store. */
mc_status mc_store_open(const char *path, mc_store **out, mc_err *err);
/* Closes *S and sets it to NULL; accepts NULL and a NULL *S. Open
 * iterators must be closed first. */
void mc_store_close(mc_store **s);
/* The live version of KEY: *found false when absent or deleted. Item pointers stay valid until the next call on S. */
mc_status mc_store_get(mc_store *s, const uint8_t *key, size_t key_len, mc_item *item, bool *found, mc_err *err);

/* An iterator over a store view; any number may be open at once on one
 * store, each with its own position (they share only the descriptors). */
typedef struct mc_store_iter mc_store_iter;
/* Live items with LO <= key <= HI in key order (NULL bound: unbounded); deletes and older versions hidden. */
mc_status mc_store_iter_open(mc_store *s, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len, mc_store_iter **out, mc_err *err);
/* The next item, or *eof at the end. The item's pointers stay valid until
 * the next call on IT. */
mc_status mc_store_iter_next(mc_store_iter *it, mc_item *item, bool *eof, mc_err *err);
/* Closes *IT and sets it to NULL; accepts NULL and a NULL *IT. */
void mc_store_iter_close(mc_store_iter **it);  /* accepts NULL */

/* Registers finished segment files as level-0 segments, like `mpicompact add` (takes the store lock, validates, copies, commits once). */
enum { MC_ADD_ASSIGN_SEQ = 1 };
/* mc_store_add(): FILES[0..NFILES) are copied into the store (the inputs
 * are left as they are), validated (docs/FORMAT.md), and committed as one
 * new generation; on any failure nothing is added and the message names the
 * file and the problem. MC_ELOCKED while another job (compact, add, gen)
 * holds the store. FLAGS: 0 keeps every item's seq as written (seqs at most
 * MC_ADD_SEQ_MAX); MC_ADD_ASSIGN_SEQ gives every item of each file one new
 * seq above every seq in the store, in the order the files are given (the
 * way RocksDB ingestion assigns a global sequence number), so that the
 * files added last win. Any other flag bit: MC_EINVAL. */
mc_status mc_store_add(const char *path, const char *const *files, size_t nfiles, unsigned flags, mc_err *err);

#ifdef __cplusplus
}
#endif
#endif
