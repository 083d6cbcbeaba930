/* segment_mem: what one open input of a merge costs in memory: the segment
 * reader's own figure (segment_read.c), the one the picker bounds a merge's
 * width by and the one the compaction chooses how to read each input by.
 *
 * An input is read one of two ways:
 * - loaded, when that costs at most MC_SEG_LOAD_MAX and no more than
 *   streaming: its items within the compaction's key range are read whole
 *   when it is opened and the file is closed; it costs its key and value
 *   bytes plus 25 bytes an item (offsets, seq, kind);
 * - streamed otherwise: HDF5 gives each dataset's chunk table when the
 *   file is opened, then closes the file; the reader keeps a descriptor, the
 *   tables (8 bytes a chunk), one checked chunk per dataset read with pread
 *   (at most MC_SEG_CHUNK_MAX bytes each: mpicompact writes chunks of
 *   MC_SEG_CHUNK_BYTES, a dataset under one chunk gets a chunk of its length,
 *   and larger chunks of other writers or older stores are read in pieces,
 *   segment_raw.h) and two windows of at most 64 KiB of key and value bytes
 *   and 1,024 items. A segment of more than MC_SEG_RAW_CHUNKS_MAX chunks,
 *   or one HDF5 would not read as plain checksummed chunks, keeps its HDF5
 *   file open instead (MC_SEG_H5_FILE_MEM more).
 * Loading holds less up to MC_SEG_LOAD_MAX; above it a streamed reader
 * holds less than the items.
 * Both figures are upper bounds (a single item larger than a window, or a
 * foreign segment HDF5 must read, costs its extra size besides). Loading
 * one input passes through both (MC_SEG_LOAD_TRANSIENT, one input at a
 * time). No HDF5 here: the picker includes it. */
#ifndef MC_SEGMENT_MEM_H
#define MC_SEGMENT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "mpicompact.h"

/* HDF5 1.10's state for one open segment file: its metadata cache (a
 * 512 KiB hash table, zeroed), object headers, chunk index nodes and free
 * lists; measured at about 0.85 MiB (valgrind massif) and rounded up. */
#define MC_SEG_H5_FILE_MEM ((uint64_t)1 << 20)
/* The chunk size mpicompact writes (docs/FORMAT.md), and the most of any
 * chunk a reader holds at once (segment_raw.h: MC_RAW_PIECE_MAX). */
#define MC_SEG_CHUNK_BYTES ((uint64_t)32 << 10)
#define MC_SEG_CHUNK_MAX ((uint64_t)32 << 10)
/* The most chunks a segment read without HDF5 may have (its tables then
 * hold 256 KiB): about 1 GB of data in chunks of MC_SEG_CHUNK_BYTES. */
#define MC_SEG_RAW_CHUNKS_MAX ((uint64_t)32768)
/* The most an input loaded whole may cost. */
#define MC_SEG_LOAD_MAX ((uint64_t)2 << 20)

/* Bytes one input of NITEMS items holding DATA_BYTES key and value bytes
 * costs while a merge holds it open (the cheaper way of reading it). */
uint64_t mc_seg_input_mem(uint64_t nitems, uint64_t data_bytes);
/* True when such an input is loaded whole rather than streamed. */
bool mc_seg_input_loads(uint64_t nitems, uint64_t data_bytes);
/* The most any input costs (a large streamed one): the cost of an input
 * whose size is not known. */
uint64_t mc_seg_input_mem_max(void);
/* Memory loading one input may hold for a moment beyond its own cost (the
 * open file and its chunks while the items are copied out). */
#define MC_SEG_LOAD_TRANSIENT (MC_SEG_H5_FILE_MEM + 6 * (MC_SEG_CHUNK_MAX + 4))

/* Key and value bytes of the open segment (its datasets' lengths). */
uint64_t mc_seg_reader_data_bytes(const mc_seg_reader *r);
/* Reads every item whose key is in [LO, HI] (NULL: unbounded) into memory,
 * checked as next() checks them, and closes the file (segment_mem.h: a
 * loaded input). Then next() returns those items and seek() finds a key
 * among them. Call once, right after opening. */
mc_status mc_seg_reader_load(mc_seg_reader *r, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
                             mc_err *err);

#endif
