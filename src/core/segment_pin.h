/* segment_pin: a segment file held open, to read it later even if it is
 * unlinked meanwhile (the store API's view of one generation, store_view.c).
 *
 * A pin is the HDF5 file open read-only and nothing else (no buffers): a
 * few KB. mc_seg_pin_reader() opens a reader on the pinned file through a
 * new handle (H5Freopen), not through its path, so a compaction that
 * committed and removed the file does not disturb it; any number of readers
 * may be open on one pin, each with its own position. Close the readers
 * before the pin. */
#ifndef MC_SEGMENT_PIN_H
#define MC_SEGMENT_PIN_H

#include "mpicompact.h"

typedef struct mc_seg_pin mc_seg_pin;

mc_status mc_seg_pin_open(const char *path, mc_seg_pin **out, mc_err *err);
/* A reader on the pinned file; errors name the path the pin was opened with. */
mc_status mc_seg_pin_reader(const mc_seg_pin *pin, mc_seg_reader **out, mc_err *err);
void mc_seg_pin_close(mc_seg_pin **pin);   /* accepts NULL */

#endif
