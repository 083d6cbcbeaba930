/* segment_validate: whole-file validation of a segment (mc_seg_validate(),
 * include/mpicompact.h) with a progress hook, for callers that watch a
 * validation from outside (add.c runs it in a child process, isolate.h). */
#ifndef MC_SEGMENT_VALIDATE_H
#define MC_SEGMENT_VALIDATE_H

#include "mpicompact.h"

/* mc_seg_validate(), calling ALIVE(ALIVE_ARG) (when not NULL) after each
 * item read: a caller can tell a long validation from a stuck one. */
mc_status mc_seg_validate_watched(const char *path, void (*alive)(void *), void *alive_arg, mc_seg_meta *meta,
                                  mc_err *err);

#endif
