/* manifest_bench: the cost of loading and committing a large manifest.
 *
 *   manifest_bench STORE --segments N [--commits K] [--level0 L0]
 *
 * Creates STORE (which must not exist) as a manifest-only store (no segment
 * files: `stat` reads only the manifest) of N segments, L0 of them in level
 * 0 (default 1000) and the rest in level 1 with disjoint 16-byte keys,
 * commits it (a base), then times K commits (default 200) that each change
 * a few segments the way a compaction does (two level-1 segments replaced
 * by two new ones) and one load of the result. Prints one JSON object:
 * segments, base_commit_seconds, commits, commit_seconds_mean,
 * commit_seconds_max, load_seconds, manifest_files, manifest_bytes.
 * The store is left for `mpicompact stat STORE` (which must not `verify`:
 * the segment files do not exist). */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "manifest.h"
#include "manifest_io.h"
#include "store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const mc_err *err)
{
    fprintf(stderr, "manifest_bench: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* Level-1 key of slot I: 16 bytes, big-endian I then a tag, so slots sort in order. */
static void key_of(uint64_t i, uint8_t tag, uint8_t out[16])
{
    for (int b = 0; b < 8; b++)
        out[b] = (uint8_t)(i >> (56 - 8 * b));
    memset(out + 8, tag, 8);
}

static void add_l1(mc_manifest *m, uint64_t slot, mc_err *err)
{
    uint8_t lo[16], hi[16];
    key_of(slot, 0x00, lo);
    key_of(slot, 0xff, hi);
    mc_seg_meta e = {.segno = mc_manifest_alloc_segnos(m, 1), .level = 1, .nitems = 100, .bytes = 100 * 116,
                     .min_seq = 1, .max_seq = 100, .min_key = lo, .min_key_len = 16, .max_key = hi,
                     .max_key_len = 16};
    if (mc_manifest_add(m, &e, err) != MC_OK)
        die("add", err);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--segments") != 0) {
        fprintf(stderr, "usage: manifest_bench STORE --segments N [--commits K] [--level0 L0]\n");
        return 2;
    }
    const char *store = argv[1];
    uint64_t n = strtoull(argv[3], NULL, 10), commits = 200, l0 = 1000;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--commits") == 0)
            commits = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--level0") == 0)
            l0 = strtoull(argv[i + 1], NULL, 10);
    }
    if (l0 > n)
        l0 = n;
    mc_err err;
    mc_params p;
    mc_params_default(&p);
    p.levels = 3;
    if (mc_store_init(store, &p, &err) != MC_OK)
        die("init", &err);
    mc_manifest *m = NULL;
    if (mc_manifest_load(store, &m, &err) != MC_OK)
        die("load", &err);
    uint8_t full_lo = 0x00, full_hi = 0xff;
    for (uint64_t i = 0; i < l0; i++) {
        mc_seg_meta e = {.segno = mc_manifest_alloc_segnos(m, 1), .level = 0, .nitems = 5, .bytes = 5 * 116,
                         .min_seq = i * 5 + 1, .max_seq = i * 5 + 5, .min_key = &full_lo, .min_key_len = 1,
                         .max_key = &full_hi, .max_key_len = 1};
        if (mc_manifest_add(m, &e, &err) != MC_OK)
            die("add", &err);
    }
    uint64_t nl1 = n - l0;
    for (uint64_t i = 0; i < nl1; i++)
        add_l1(m, 2 * i, &err);   /* even slots: odd ones stay free for replacements */
    double t0 = now();
    if (mc_manifest_commit(store, m, &err) != MC_OK)
        die("commit", &err);
    double base = now() - t0, total = 0, worst = 0;
    for (uint64_t c = 0; c < commits && nl1 >= 2; c++) {
        /* Replace the two level-1 segments at the front by two new ones. */
        const mc_seg_meta *a = mc_manifest_level_at(m, 1, 0), *b = mc_manifest_level_at(m, 1, 1);
        uint64_t sa = a->segno, sb = b->segno;
        if (mc_manifest_remove(m, sa, &err) != MC_OK || mc_manifest_remove(m, sb, &err) != MC_OK)
            die("remove", &err);
        add_l1(m, 2 * nl1 + 4 * c + 1, &err);   /* past all others: the level stays disjoint */
        add_l1(m, 2 * nl1 + 4 * c + 3, &err);
        t0 = now();
        if (mc_manifest_commit(store, m, &err) != MC_OK)
            die("commit", &err);
        double t = now() - t0;
        total += t;
        worst = t > worst ? t : worst;
    }
    mc_manifest_destroy(&m);
    t0 = now();
    if (mc_manifest_load(store, &m, &err) != MC_OK)
        die("load", &err);
    double load = now() - t0;
    if (mc_manifest_count(m) != n)
        die("the loaded manifest has the wrong number of segments", NULL);
    mc_manifest_destroy(&m);
    char dir[MC_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/manifest", store);
    DIR *d = opendir(dir);
    size_t files = 0;
    uint64_t bytes = 0;
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        char path[MC_PATH_MAX + 300];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && stat(path, &sb) == 0) {
            files++;
            bytes += (uint64_t)sb.st_size;
        }
    }
    if (d)
        closedir(d);
    printf("{\"segments\": %" PRIu64 ", \"base_commit_seconds\": %.4f, \"commits\": %" PRIu64
           ", \"commit_seconds_mean\": %.6f, \"commit_seconds_max\": %.4f, \"load_seconds\": %.4f, "
           "\"manifest_files\": %zu, \"manifest_bytes\": %" PRIu64 "}\n",
           n, base, commits, commits ? total / (double)commits : 0.0, worst, load, files, bytes);
    return 0;
}
