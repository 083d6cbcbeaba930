/* test_rng: the seeded random numbers of randomized unit tests.
 * test_rng_seed() takes MC_SEED from the environment (or the clock), prints
 * it with the test's name so a failure can be rerun, and seeds rnd(). */
#ifndef MC_TEST_RNG_H
#define MC_TEST_RNG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static inline size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

static inline void test_rng_seed(const char *test)
{
    const char *env = getenv("MC_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("%s: seed %llu (MC_SEED=%llu reproduces)\n", test, (unsigned long long)seed, (unsigned long long)seed);
    rng_state = seed * 2654435761u + 0x9e3779b97f4a7c15ULL;
    if (!rng_state)
        rng_state = 1;
}

#endif
