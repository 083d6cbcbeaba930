/* buf: a growable byte buffer and small byte-string helpers.
 *
 * Invariant: p is NULL exactly when cap is 0; n <= cap. Growth never aborts:
 * out of memory is MC_ENOMEM. */
#ifndef MC_BUF_H
#define MC_BUF_H

#include "mpicompact.h"

typedef struct mc_buf {
    uint8_t *p;
    size_t n, cap;
} mc_buf;

mc_status mc_buf_reserve(mc_buf *b, size_t cap, mc_err *err);
/* Room for exactly CAP bytes when it has less (no rounding up). */
mc_status mc_buf_reserve_exact(mc_buf *b, size_t cap, mc_err *err);
mc_status mc_buf_append(mc_buf *b, const void *data, size_t len, mc_err *err);
mc_status mc_buf_append_u64(mc_buf *b, uint64_t v, mc_err *err);  /* little endian */
void mc_buf_free(mc_buf *b);

/* malloc'ed copy of LEN bytes (a 1-byte allocation when LEN is 0); NULL on OOM. */
uint8_t *mc_memdup(const void *p, size_t len);

#endif
