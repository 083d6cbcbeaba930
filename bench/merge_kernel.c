/* merge_kernel: the merge alone, in memory, no I/O (bench/compact_scaling.sh).
 *
 *   merge_kernel [--inputs K] [--items N] [--key-size B] [--overwrite F] [--repeat R] [--seed S]
 *
 * K sorted runs of random keys (B bytes; a fraction F of the keys appears in
 * a second run with an older seq, so the merge drops overwrites) are merged
 * with mc_merge R times; prints one JSON object with the best run's items/s
 * (items the merge consumed from its inputs per second of CPU time). The
 * sources hand out pointers into the runs: no copy, as a segment reader's
 * window does, and ask for their next item's seq ahead, as it does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merge.h"

typedef struct run_src {
    const uint8_t *keys;   /* n keys of key_size bytes, sorted */
    const uint64_t *seqs;
    size_t n, pos, key_size;
} run_src;

static const uint8_t value[100];

static mc_status run_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    (void)err;
    run_src *r = ctx;
    if (r->pos == r->n) {
        *eof = true;
        return MC_OK;
    }
    *eof = false;
    size_t i = r->pos++;
    *item = (mc_item){r->keys + i * r->key_size, r->key_size, value, sizeof value, r->seqs[i], MC_KIND_PUT};
    __builtin_prefetch(&r->seqs[i + 1]);   /* as the segment reader does for its next item */
    return MC_OK;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t sort_key_size;
static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sort_key_size);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t k = 64, total = 4000000, key_size = 16;
    double overwrite = 0.2;
    int repeat = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--inputs"))
            k = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--items"))
            total = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--key-size"))
            key_size = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--overwrite"))
            overwrite = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat"))
            repeat = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            rng = strtoull(argv[i + 1], NULL, 10) * 2654435761u + 1;
        else {
            fprintf(stderr, "merge_kernel: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (k == 0 || total < k || key_size < 1 || key_size > 64 || repeat < 1) {
        fprintf(stderr, "merge_kernel: bad arguments\n");
        return 2;
    }
    size_t per = total / k;
    uint8_t *keys = malloc(k * per * key_size);
    uint64_t *seqs = malloc(k * per * sizeof *seqs);
    run_src *runs = calloc(k, sizeof *runs);
    mc_merge_source *src = calloc(k, sizeof *src);
    if (!keys || !seqs || !runs || !src) {
        fprintf(stderr, "merge_kernel: out of memory\n");
        return 1;
    }
    /* Run s's keys: random, or (fraction OVERWRITE) a key of run s - 1. */
    for (size_t s = 0; s < k; s++) {
        uint8_t *kb = keys + s * per * key_size;
        for (size_t i = 0; i < per; i++) {
            uint8_t *key = kb + i * key_size;
            if (s > 0 && (double)(rnd() % 1000000) < overwrite * 1e6)
                memcpy(key, keys + ((s - 1) * per + rnd() % per) * key_size, key_size);
            else
                for (size_t b = 0; b < key_size; b++)
                    key[b] = (uint8_t)rnd();
        }
        sort_key_size = key_size;
        qsort(kb, per, key_size, key_cmp);
        size_t n = 0;   /* strictly increasing within a run */
        for (size_t i = 0; i < per; i++)
            if (n == 0 || memcmp(kb + (n - 1) * key_size, kb + i * key_size, key_size) != 0)
                memmove(kb + n++ * key_size, kb + i * key_size, key_size);
        for (size_t i = 0; i < n; i++)
            seqs[s * per + i] = s * per + i + 1;
        runs[s] = (run_src){.keys = kb, .seqs = seqs + s * per, .n = n, .key_size = key_size};
        src[s] = (mc_merge_source){run_next, &runs[s]};
    }
    double best = 0;
    uint64_t in = 0, out = 0;
    for (int r = 0; r < repeat; r++) {
        in = out = 0;
        for (size_t s = 0; s < k; s++) {
            runs[s].pos = 0;
            in += runs[s].n;
        }
        mc_merge *m = NULL;
        mc_err err = {0};
        double t0 = cpu_now();
        if (mc_merge_create(src, k, &m, &err) != MC_OK) {
            fprintf(stderr, "merge_kernel: %s\n", err.msg);
            return 1;
        }
        uint64_t sum = 0;
        for (;;) {
            mc_item it;
            bool eof = false;
            if (mc_merge_next(m, &it, &eof, &err) != MC_OK) {
                fprintf(stderr, "merge_kernel: %s\n", err.msg);
                return 1;
            }
            if (eof)
                break;
            sum += it.seq;
            out++;
        }
        double t = cpu_now() - t0;
        mc_merge_destroy(&m);
        if (sum == 0)
            return 1;
        if (t > 0 && in / t > best)
            best = (double)in / t;
    }
    printf("{\"inputs\": %zu, \"items_in\": %llu, \"items_out\": %llu, \"key_size\": %zu, "
           "\"items_per_s\": %.0f}\n",
           k, (unsigned long long)in, (unsigned long long)out, key_size, best);
    free(keys);
    free(seqs);
    free(runs);
    free(src);
    return 0;
}
