/* mix: the splitmix64 finalizer, a fast bijective 64-bit mixer (shared by
 * the synthetic data generator, the digest and hash tables). */
#ifndef MC_MIX_H
#define MC_MIX_H

#include <stdint.h>

static inline uint64_t mc_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
