/* rank_segments: an application using libmpicompact (docs/LIBRARY.md).
 *
 *   mpirun -n 4 rank_segments STORE DIR [ITEMS]
 *
 * Every rank writes one sorted segment file DIR/rank-R.h5 with the segment
 * writer; rank 0 then registers them all in STORE (made by `mpicompact
 * init`) with mc_store_add() and reads the store back: one key of every
 * rank with mc_store_get(), and every item with an iterator. Exit 0 when
 * all of it checks out. Only rank 0 touches the store; the library itself
 * uses no MPI. */
#include <mpi.h>
#include <mpicompact.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes ITEMS items "r<RANK>-k<I>" = "value <I> of rank <RANK>" to PATH. */
static mc_status write_segment(const char *path, int rank, int items, mc_err *err)
{
    mc_seg_writer *w = NULL;
    mc_status st = mc_seg_writer_create(path, (uint64_t)rank + 1, &w, err);
    for (int i = 0; i < items && st == MC_OK; i++) {
        char key[32], value[64];
        snprintf(key, sizeof key, "r%04d-k%08d", rank, i);   /* increasing: fixed width */
        snprintf(value, sizeof value, "value %d of rank %d", i, rank);
        mc_item it = {.key = (const uint8_t *)key, .key_len = strlen(key), .value = (const uint8_t *)value,
                      .value_len = strlen(value), .seq = 1, .kind = MC_KIND_PUT};
        st = mc_seg_writer_add(w, &it, err);
    }
    mc_seg_meta meta = {0};
    if (st == MC_OK)
        st = mc_seg_writer_finish(&w, &meta, err);   /* fsync + rename: complete or absent */
    mc_seg_writer_abort(&w);
    mc_seg_meta_clear(&meta);
    return st;
}

/* Rank 0: add the NFILES files, then read everything back. */
static int add_and_read(const char *store, const char *dir, int nranks, int items)
{
    mc_err err;
    char **files = calloc((size_t)nranks, sizeof *files);
    for (int r = 0; r < nranks; r++) {
        files[r] = malloc(4200);
        snprintf(files[r], 4200, "%s/rank-%d.h5", dir, r);
    }
    /* MC_ADD_ASSIGN_SEQ: these files win over anything already in the store. */
    mc_status st = mc_store_add(store, (const char *const *)files, (size_t)nranks, MC_ADD_ASSIGN_SEQ, &err);
    for (int r = 0; r < nranks; r++)
        free(files[r]);
    free(files);
    if (st != MC_OK) {
        fprintf(stderr, "rank_segments: add: %s (%s)\n", err.msg, mc_strerror(st));
        return 1;
    }

    mc_store *s = NULL;
    if (mc_store_open(store, &s, &err) != MC_OK) {
        fprintf(stderr, "rank_segments: %s\n", err.msg);
        return 1;
    }
    int bad = 0;
    for (int r = 0; r < nranks && !bad; r++) {   /* the last key of each rank */
        char key[32], want[64];
        snprintf(key, sizeof key, "r%04d-k%08d", r, items - 1);
        snprintf(want, sizeof want, "value %d of rank %d", items - 1, r);
        mc_item it;
        bool found = false;
        if (mc_store_get(s, (const uint8_t *)key, strlen(key), &it, &found, &err) != MC_OK || !found ||
            it.value_len != strlen(want) || memcmp(it.value, want, it.value_len) != 0) {
            fprintf(stderr, "rank_segments: get %s: %s\n", key, found ? err.msg : "not found");
            bad = 1;
        }
    }
    mc_store_iter *iter = NULL;
    long n = 0;
    bool eof = false;
    if (!bad && mc_store_iter_open(s, NULL, 0, NULL, 0, &iter, &err) == MC_OK) {
        mc_item it;
        while (mc_store_iter_next(iter, &it, &eof, &err) == MC_OK && !eof)
            n++;
    }
    if (!bad && (!eof || n != (long)nranks * items)) {
        fprintf(stderr, "rank_segments: iterated %ld items, expected %ld: %s\n", n, (long)nranks * items, err.msg);
        bad = 1;
    }
    mc_store_iter_close(&iter);
    mc_store_close(&s);
    if (!bad)
        printf("rank_segments: libmpicompact %s: added %d segments, read back %ld items\n", mc_version(), nranks, n);
    return bad;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, rc = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 3) {
        if (rank == 0)
            fprintf(stderr, "usage: rank_segments STORE DIR [ITEMS]\n");
        MPI_Finalize();
        return 2;
    }
    int items = argc > 3 ? atoi(argv[3]) : 1000;
    char path[4200];
    snprintf(path, sizeof path, "%s/rank-%d.h5", argv[2], rank);
    mc_err err;
    int ok = write_segment(path, rank, items, &err) == MC_OK, all_ok = 0;
    if (!ok)
        fprintf(stderr, "rank_segments: rank %d: %s\n", rank, err.msg);
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all_ok)
        rc = 1;
    else if (rank == 0)
        rc = add_and_read(argv[1], argv[2], size, items);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
