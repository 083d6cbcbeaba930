/* digest: an order-independent digest of logical content.
 *
 * Each live item (key, value) hashes to 256 bits (length-prefixed key and
 * value, four differently seeded 64-bit lanes); the digest is the lane-wise
 * sum mod 2^64 of those hashes plus the item count. Sums commute, so ranks
 * can digest key ranges separately and add the results. Seqs are not part of
 * the logical content and not hashed. */
#ifndef MC_DIGEST_H
#define MC_DIGEST_H

#include "mpicompact.h"

typedef struct mc_digest {
    uint64_t lane[4];
    uint64_t count;
} mc_digest;

void mc_digest_init(mc_digest *d);
void mc_digest_add(mc_digest *d, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len);
void mc_digest_merge(mc_digest *into, const mc_digest *other);
/* 64 hex digits (the four lanes) + NUL. */
void mc_digest_hex(const mc_digest *d, char out[65]);

#endif
