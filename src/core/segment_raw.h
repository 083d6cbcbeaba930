/* segment_raw: a segment's dataset read from the file's bytes with pread on
 * a plain descriptor, after HDF5 has closed the file (segment_read.c; the
 * memory an input costs, segment_mem.h).
 *
 * When the reader opens a segment, HDF5 gives each dataset's chunk table:
 * where every chunk lies in the file. A dataset qualifies for raw reading
 * when HDF5 itself would read its chunks as bytes followed by their
 * checksum: its only filter is Fletcher32 and its element type is the
 * little-endian type we read (mc_h5_col direct), and every chunk that holds
 * elements is stored, unskipped by the filter (mask 0), exactly the chunk's
 * bytes plus 4 long, inside the file. Anything else is read through HDF5 as
 * before, with the same results and messages.
 *
 * Invariants: no byte reaches the caller from a chunk whose Fletcher32 did
 * not match (mc_fletcher32_matches: what HDF5's filter accepts). A chunk of
 * up to MC_RAW_PIECE_MAX bytes is read whole into one buffer and checked; a
 * larger one (older stores wrote 1 MiB chunks, other writers may choose
 * more) is checked piece by piece on first use, then its pieces read again
 * as needed, so the buffer never exceeds MC_RAW_PIECE_MAX + 4 bytes whatever
 * the file's chunk size. The chunk table costs 8 bytes a chunk. */
#ifndef MC_SEGMENT_RAW_H
#define MC_SEGMENT_RAW_H

#include "h5util.h"
#include "segment_mem.h"

/* The largest chunk read whole; larger ones go by pieces of MC_RAW_PIECE
 * (a multiple of MC_FLETCHER32_BLOCK and of 8 bytes). */
#define MC_RAW_PIECE_MAX MC_SEG_CHUNK_MAX
#define MC_RAW_PIECE ((uint64_t)MC_FLETCHER32_BLOCK * 45)

typedef struct mc_raw_col {
    int fd;                  /* borrowed (mc_raw_col_attach) */
    size_t esize;            /* bytes an element */
    uint64_t len;            /* elements */
    uint64_t chunk_elems;
    uint64_t chunk_bytes;    /* chunk_elems * esize; stored with 4 more */
    uint64_t nchunks;
    uint64_t *addr;          /* file offset of each chunk */
    uint64_t piece;          /* bytes buf holds of a chunk: chunk_bytes or MC_RAW_PIECE */
    uint8_t *buf;            /* piece + 4 bytes, allocated on first use */
    uint64_t held_chunk, held_piece;   /* what buf holds (UINT64_MAX: nothing) */
    uint64_t checked_chunk;  /* the pieced chunk whose checksum matched */
} mc_raw_col;

/* Fills C from DSET (open; COL its mc_h5_col, initialised) when it
 * qualifies and has at most MAX_CHUNKS chunks (checked before anything is
 * sized by them); *USABLE says whether it did. FILE_SIZE: the file's
 * length. Only out of memory fails. C is then freed with mc_raw_col_free
 * either way. */
mc_status mc_raw_col_init(mc_raw_col *c, const mc_h5_col *col, hid_t dset, uint64_t file_size, uint64_t max_chunks,
                          bool *usable, const char *path, mc_err *err);
/* The descriptor the reads go through (open on the same file). */
void mc_raw_col_attach(mc_raw_col *c, int fd);
/* Elements [start, start+n) into OUT (native byte order), as
 * mc_h5_col_read gives them. */
mc_status mc_raw_col_read(mc_raw_col *c, const char *path, const char *name, uint64_t start, uint64_t n,
                          void *out, mc_err *err);
void mc_raw_col_free(mc_raw_col *c);

#endif
