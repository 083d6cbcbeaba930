/* digest: an order-independent digest of logical content (digest.h). */
#include "digest.h"
#include "mix.h"

#include <stdio.h>
#include <string.h>

/* Four lane seeds; each lane is an independent 64-bit hash of the item. */
static const uint64_t lane_seed[4] = {
    0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull,
};


static uint64_t load_le(const uint8_t *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w;
    }
#endif
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Absorbs one word into all four lanes. */
static void absorb(uint64_t h[4], uint64_t w)
{
    for (int l = 0; l < 4; l++) {
        h[l] ^= w + lane_seed[l];
        h[l] = (h[l] << 29 | h[l] >> 35) * 0x9e3779b97f4a7c15ull;
    }
}

static void absorb_bytes(uint64_t h[4], const uint8_t *p, size_t len)
{
    absorb(h, (uint64_t)len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        absorb(h, load_le(p + i, 8));
    if (i < len)
        absorb(h, load_le(p + i, len - i));
}

void mc_digest_init(mc_digest *d)
{
    memset(d, 0, sizeof *d);
}

void mc_digest_add(mc_digest *d, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    uint64_t h[4];
    memcpy(h, lane_seed, sizeof h);
    absorb_bytes(h, key, key_len);
    absorb_bytes(h, value, value_len);
    for (int l = 0; l < 4; l++)
        d->lane[l] += mc_mix64(h[l] ^ lane_seed[(l + 1) & 3]);
    d->count++;
}

void mc_digest_merge(mc_digest *into, const mc_digest *other)
{
    for (int l = 0; l < 4; l++)
        into->lane[l] += other->lane[l];
    into->count += other->count;
}

void mc_digest_hex(const mc_digest *d, char out[65])
{
    for (int l = 0; l < 4; l++) {
        /* The count enters every lane, so two contents whose lane sums
         * collide but whose sizes differ still differ. */
        uint64_t v = mc_mix64(d->lane[l] + mc_mix64(d->count + lane_seed[l]));
        snprintf(out + 16 * l, 17, "%016llx", (unsigned long long)v);
    }
}
