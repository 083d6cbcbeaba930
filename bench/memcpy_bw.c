/* memcpy_bw: memory copy bandwidth of one thread, for the benchmark's
 * machine limits (bench/compact_scaling.sh).
 *
 *   memcpy_bw [MB]      (buffer size, default 256)
 *
 * Copies a buffer of MB megabytes into another (both touched first) until
 * at least one second has passed; prints {"memcpy_gb_per_s": X} with the
 * best pass (bytes copied, not read + written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
    if (mb == 0 || mb > 65536) {
        fprintf(stderr, "usage: memcpy_bw [MB]\n");
        return 2;
    }
    size_t n = mb << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        fprintf(stderr, "memcpy_bw: out of memory\n");
        return 1;
    }
    memset(a, 1, n);
    memset(b, 2, n);
    double best = 0, start = now();
    do {
        double t0 = now();
        memcpy(b, a, n);
        double t = now() - t0;
        if (t > 0 && n / t > best)
            best = n / t;
        a[0] = b[n - 1];   /* keep the copies */
    } while (now() - start < 1.0);
    printf("{\"memcpy_gb_per_s\": %.2f, \"buffer_mb\": %zu}\n", best / 1e9, mb);
    free(a);
    free(b);
    return 0;
}
