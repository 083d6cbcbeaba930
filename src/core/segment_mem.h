/* segment_mem: what one open input of a merge costs in memory: the segment
 * reader's own figure (segment_read.c), the one the picker bounds a merge's
 * width by and the one the compaction chooses how to read each input by.
 *
 * An input is read one of two ways:
 * - loaded, when that costs at most MC_SEG_LOAD_MAX and no more than
 *   streaming: its items within the compaction's key range are read whole
 *   when it is opened and the file is closed; it costs its key and value
 *   bytes plus 25 bytes an item (offsets, seq, kind);
 * - streamed otherwise: the HDF5 file stays open (HDF5's own state for an
 *   open file, MC_SEG_H5_FILE_MEM), the reader holds one checked chunk per
 *   dataset (at most MC_SEG_CHUNK_MAX bytes each: mpicompact writes 1 MiB
 *   chunks, and a dataset under one chunk gets a chunk of its length) and
 *   two windows of at most 512 KiB of key and value bytes and 8192 items.
 * Up to MC_SEG_LOAD_MAX the open file and its chunks outweigh the items, so
 * loading holds less; above it a streamed reader's real use (its buffers
 * are rarely all full) is below the loaded bytes.
 * Both figures are upper bounds (a single item larger than a window, or a
 * foreign segment whose chunks are larger than its datasets or than
 * MC_SEG_CHUNK_MAX, costs its extra size besides). Loading one input passes
 * through both (MC_SEG_LOAD_TRANSIENT, one input at a time). No HDF5 here:
 * the picker includes it. */
#ifndef MC_SEGMENT_MEM_H
#define MC_SEGMENT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "mpicompact.h"

/* HDF5 1.10's state for one open segment file: its metadata cache (a
 * 512 KiB hash table, zeroed), object headers, chunk index nodes and free
 * lists; measured at about 0.85 MiB (valgrind massif) and rounded up. */
#define MC_SEG_H5_FILE_MEM ((uint64_t)1 << 20)
#define MC_SEG_CHUNK_MAX ((uint64_t)1 << 20)
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
