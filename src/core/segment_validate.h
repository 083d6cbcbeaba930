/* segment_validate: whole-file validation of a segment (mc_seg_validate(),
 * include/mpicompact.h) with a progress hook, for callers that watch a
 * validation from outside (add.c runs it in a child process, isolate.h). */
#ifndef MC_SEGMENT_VALIDATE_H
#define MC_SEGMENT_VALIDATE_H

#include "mpicompact.h"

/* mc_seg_validate(), calling ON_ITEM(ARG, item) (when not NULL) for each
 * item read that passed the per-item rules, in file order (the item's
 * pointers valid during the call only): a caller can tell a long
 * validation from a stuck one, or see what the validator read. */
mc_status mc_seg_validate_watched(const char *path, void (*on_item)(void *, const mc_item *), void *arg,
                                  mc_seg_meta *meta, mc_err *err);

#endif
