/* rocksdb_peer: RocksDB (C API) compacting the same logical data as an mpicompact store, for bench/compact_scaling.sh.
 *
 *   rocksdb_peer load STORE DB
 *       Loads every live segment of STORE into a new RocksDB at DB, one
 *       level-0 file per segment: deepest level first, level 0 last in segno
 *       order (oldest first, so RocksDB's "last write wins" equals
 *       mpicompact's "highest seq wins"); each segment's items go into one
 *       WriteBatch (put / delete), written without WAL, then flushed. Auto
 *       compactions off, no compression.
 *   rocksdb_peer compact DB [--subcompactions N] [--target-file-size BYTES] [--no-digest]
 *       Opens DB and times one full manual compaction (rocksdb_compact_range
 *       over the whole key space) with max_subcompactions N (default 1) and
 *       max_background_jobs N + 1. Afterwards (untimed) iterates the result
 *       and prints mpicompact's digest of it, which must equal
 *       `mpicompact digest STORE`.
 *
 * Each prints one JSON object on stdout: seconds of the timed phase, bytes
 * (logical key+value bytes, SST file bytes), file counts per level, CPU time.
 * Exit 0 on success, 1 on failure (message on stderr), 2 on bad arguments. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <rocksdb/c.h>

#include "digest.h"
#include "err.h"
#include "json.h"
#include "manifest_io.h"
#include "mpicompact.h"
#include "store.h"

/* rocksdb/version.h is C++: CMake reads the version out of it. */
#ifndef MC_ROCKSDB_VERSION
#define MC_ROCKSDB_VERSION "unknown"
#endif

#define PEER_LEVELS 7
#define LOAD_WRITE_BUFFER ((size_t)512 * 1024 * 1024)   /* one segment's memtable, never flushed early */
#define NEVER_TRIGGER (1 << 30)

typedef struct peer_stats {
    double seconds;       /* the timed phase */
    double cpu_seconds;   /* user + system of this process during it */
    uint64_t segments, items, puts, deletes, logical_bytes;
    uint64_t live_items, live_bytes;
    uint64_t sst_bytes_before, sst_bytes_after;
    uint64_t files_before[PEER_LEVELS], files_after[PEER_LEVELS];
    bool seq_ordered;     /* every loaded segment's seqs above the previous one's */
    char digest[65];
} peer_stats;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Turns a RocksDB error string (freed here) into an mc_err. */
static mc_status rdb_check(char **rerr, mc_err *err, const char *db, const char *what)
{
    if (*rerr == NULL)
        return MC_OK;
    mc_status st = mc_err_set(err, MC_EIO, 0, "%s: rocksdb %s: %s", db, what, *rerr);
    rocksdb_free(*rerr);
    *rerr = NULL;
    return st;
}

/* Options shared by both phases: no compression, no automatic compactions,
 * level-0 triggers that never stall the load. */
static rocksdb_options_t *peer_options(uint64_t target_file_size, int subcompactions)
{
    rocksdb_options_t *o = rocksdb_options_create();
    if (o == NULL)
        return NULL;
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_disable_auto_compactions(o, 1);
    rocksdb_options_set_level0_file_num_compaction_trigger(o, NEVER_TRIGGER);
    rocksdb_options_set_level0_slowdown_writes_trigger(o, NEVER_TRIGGER);
    rocksdb_options_set_level0_stop_writes_trigger(o, NEVER_TRIGGER);
    rocksdb_options_set_num_levels(o, PEER_LEVELS);
    rocksdb_options_set_write_buffer_size(o, LOAD_WRITE_BUFFER);
    rocksdb_options_set_max_write_buffer_number(o, 2);
    if (target_file_size > 0)
        rocksdb_options_set_target_file_size_base(o, target_file_size);
    rocksdb_options_set_max_subcompactions(o, (uint32_t)subcompactions);
    rocksdb_options_set_max_background_jobs(o, subcompactions + 1);
    return o;
}

static uint64_t prop_u64(rocksdb_t *db, const char *name)
{
    uint64_t v = 0;
    if (rocksdb_property_int(db, name, &v) != 0)
        return 0;
    return v;
}

static void files_per_level(rocksdb_t *db, uint64_t out[PEER_LEVELS])
{
    for (int l = 0; l < PEER_LEVELS; l++) {
        char name[64];
        snprintf(name, sizeof name, "rocksdb.num-files-at-level%d", l);
        char *v = rocksdb_property_value(db, name);
        out[l] = v ? strtoull(v, NULL, 10) : 0;
        rocksdb_free(v);
    }
}

/* Puts one segment's items into BATCH, writes it, flushes one L0 file. */
static mc_status load_segment(const char *store, const char *dbpath, rocksdb_t *db,
                              const mc_seg_meta *meta, rocksdb_writebatch_t *batch,
                              const rocksdb_writeoptions_t *wo, const rocksdb_flushoptions_t *fo,
                              peer_stats *ps, mc_err *err)
{
    char path[MC_PATH_MAX];
    char *rerr = NULL;
    mc_seg_reader *r = NULL;
    mc_store_seg_path(store, meta->segno, path);
    mc_status st = mc_seg_reader_open(path, &r, err);
    rocksdb_writebatch_clear(batch);
    for (bool eof = false; st == MC_OK;) {
        mc_item it;
        st = mc_seg_reader_next(r, &it, &eof, err);
        if (st != MC_OK || eof)
            break;
        if (it.kind == MC_KIND_DELETE) {
            rocksdb_writebatch_delete(batch, (const char *)it.key, it.key_len);
            ps->deletes++;
        } else {
            rocksdb_writebatch_put(batch, (const char *)it.key, it.key_len,
                                   (const char *)it.value, it.value_len);
            ps->puts++;
        }
        ps->items++;
        ps->logical_bytes += it.key_len + it.value_len;
    }
    if (st != MC_OK)
        goto cleanup;
    rocksdb_write(db, wo, batch, &rerr);
    if ((st = rdb_check(&rerr, err, dbpath, "write")) != MC_OK)
        goto cleanup;
    rocksdb_flush(db, fo, &rerr);
    if ((st = rdb_check(&rerr, err, dbpath, "flush")) != MC_OK)
        goto cleanup;
    ps->segments++;
cleanup:
    mc_seg_reader_close(&r);
    return st;
}

static mc_status peer_load(const char *store, const char *dbpath, peer_stats *ps, mc_err *err)
{
    mc_manifest *m = NULL;
    rocksdb_options_t *o = NULL;
    rocksdb_t *db = NULL;
    rocksdb_writebatch_t *batch = NULL;
    rocksdb_writeoptions_t *wo = NULL;
    rocksdb_flushoptions_t *fo = NULL;
    char *rerr = NULL;
    mc_status st = mc_manifest_load(store, &m, err);
    if (st != MC_OK)
        goto cleanup;
    o = peer_options(mc_manifest_params(m)->segment_size, 1);
    batch = rocksdb_writebatch_create();
    wo = rocksdb_writeoptions_create();
    fo = rocksdb_flushoptions_create();
    if (o == NULL || batch == NULL || wo == NULL || fo == NULL) {
        st = mc_err_set(err, MC_ENOMEM, 0, "%s: out of memory for rocksdb options", dbpath);
        goto cleanup;
    }
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_error_if_exists(o, 1);
    rocksdb_writeoptions_disable_WAL(wo, 1);
    rocksdb_flushoptions_set_wait(fo, 1);

    double t0 = now_seconds(), c0 = cpu_seconds();
    db = rocksdb_open(o, dbpath, &rerr);
    if ((st = rdb_check(&rerr, err, dbpath, "open")) != MC_OK)
        goto cleanup;
    /* Oldest data first: the deepest level, then up to level 0 by segno. */
    uint64_t prev_max_seq = 0;
    ps->seq_ordered = true;
    for (int level = (int)mc_manifest_params(m)->levels - 1; level >= 0 && st == MC_OK; level--) {
        size_t n = mc_manifest_level_count(m, (unsigned)level);
        for (size_t i = 0; i < n && st == MC_OK; i++) {
            const mc_seg_meta *meta = mc_manifest_level_at(m, (unsigned)level, i);
            if (meta->min_seq <= prev_max_seq)
                ps->seq_ordered = false;
            if (meta->max_seq > prev_max_seq)
                prev_max_seq = meta->max_seq;
            st = load_segment(store, dbpath, db, meta, batch, wo, fo, ps, err);
        }
    }
    if (st != MC_OK)
        goto cleanup;
    ps->seconds = now_seconds() - t0;
    ps->cpu_seconds = cpu_seconds() - c0;
    ps->sst_bytes_after = prop_u64(db, "rocksdb.total-sst-files-size");
    files_per_level(db, ps->files_after);
cleanup:
    if (db)
        rocksdb_close(db);
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_writebatch_destroy(batch);
    if (o)
        rocksdb_options_destroy(o);
    mc_manifest_destroy(&m);
    return st;
}

/* Untimed: mpicompact's digest of DB's live content. */
static mc_status peer_digest(rocksdb_t *db, const char *dbpath, peer_stats *ps, mc_err *err)
{
    char *rerr = NULL;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return mc_err_set(err, MC_ENOMEM, 0, "%s: out of memory for read options", dbpath);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
    mc_digest d;
    mc_digest_init(&d);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        mc_digest_add(&d, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
        ps->live_items++;
        ps->live_bytes += kl + vl;
    }
    rocksdb_iter_get_error(it, &rerr);
    mc_status st = rdb_check(&rerr, err, dbpath, "iterate");
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    mc_digest_hex(&d, ps->digest);
    return st;
}

static mc_status peer_compact(const char *dbpath, int subcompactions, uint64_t target_file_size,
                              bool digest, peer_stats *ps, mc_err *err)
{
    char *rerr = NULL;
    rocksdb_t *db = NULL;
    mc_status st = MC_OK;
    rocksdb_options_t *o = peer_options(target_file_size, subcompactions);
    if (o == NULL)
        return mc_err_set(err, MC_ENOMEM, 0, "%s: out of memory for rocksdb options", dbpath);
    db = rocksdb_open(o, dbpath, &rerr);
    if ((st = rdb_check(&rerr, err, dbpath, "open")) != MC_OK)
        goto cleanup;
    ps->sst_bytes_before = prop_u64(db, "rocksdb.total-sst-files-size");
    files_per_level(db, ps->files_before);

    double t0 = now_seconds(), c0 = cpu_seconds();
    rocksdb_compact_range(db, NULL, 0, NULL, 0);
    ps->seconds = now_seconds() - t0;
    ps->cpu_seconds = cpu_seconds() - c0;

    ps->sst_bytes_after = prop_u64(db, "rocksdb.total-sst-files-size");
    files_per_level(db, ps->files_after);
    if (digest)
        st = peer_digest(db, dbpath, ps, err);
cleanup:
    if (db)
        rocksdb_close(db);
    rocksdb_options_destroy(o);
    return st;
}

static void print_levels(mc_json *j, const char *name, const uint64_t files[PEER_LEVELS])
{
    mc_json_array_begin(j, name);
    for (int l = 0; l < PEER_LEVELS; l++)
        mc_json_u64(j, NULL, files[l]);
    mc_json_array_end(j);
}

static void print_report(const char *phase, int subcompactions, const peer_stats *ps)
{
    mc_json j;
    mc_json_init(&j, stdout, true);
    mc_json_object_begin(&j, NULL);
    mc_json_str(&j, "peer", "rocksdb");
    mc_json_str(&j, "rocksdb_version", MC_ROCKSDB_VERSION);
    mc_json_str(&j, "phase", phase);
    mc_json_f64(&j, "seconds", ps->seconds);
    mc_json_f64(&j, "cpu_seconds", ps->cpu_seconds);
    if (strcmp(phase, "load") == 0) {
        mc_json_u64(&j, "segments", ps->segments);
        mc_json_u64(&j, "items", ps->items);
        mc_json_u64(&j, "puts", ps->puts);
        mc_json_u64(&j, "deletes", ps->deletes);
        mc_json_u64(&j, "logical_bytes", ps->logical_bytes);
        mc_json_bool(&j, "seq_ordered", ps->seq_ordered);
    } else {
        mc_json_u64(&j, "subcompactions", (uint64_t)subcompactions);
        mc_json_u64(&j, "max_background_jobs", (uint64_t)subcompactions + 1);
        mc_json_u64(&j, "sst_bytes_before", ps->sst_bytes_before);
        print_levels(&j, "files_before", ps->files_before);
        if (ps->digest[0]) {
            mc_json_u64(&j, "live_items", ps->live_items);
            mc_json_u64(&j, "live_bytes", ps->live_bytes);
            mc_json_str(&j, "digest", ps->digest);
        }
    }
    mc_json_u64(&j, "sst_bytes_after", ps->sst_bytes_after);
    print_levels(&j, "files_after", ps->files_after);
    mc_json_object_end(&j);
    mc_json_finish(&j);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: rocksdb_peer load STORE DB\n"
            "       rocksdb_peer compact DB [--subcompactions N] [--target-file-size BYTES] [--no-digest]\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    peer_stats ps;
    memset(&ps, 0, sizeof ps);
    mc_err err;
    mc_err_clear(&err);
    mc_status st;
    int subcompactions = 1;
    if (argc == 4 && strcmp(argv[1], "load") == 0) {
        st = peer_load(argv[2], argv[3], &ps, &err);
        if (st == MC_OK)
            print_report("load", 0, &ps);
    } else if (argc >= 3 && strcmp(argv[1], "compact") == 0) {
        uint64_t target = 0, n = 1;
        bool digest = true;
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--subcompactions") == 0 && i + 1 < argc) {
                if (!parse_u64(argv[++i], &n) || n < 1 || n > 64)
                    return usage();
            } else if (strcmp(argv[i], "--target-file-size") == 0 && i + 1 < argc) {
                if (!parse_u64(argv[++i], &target))
                    return usage();
            } else if (strcmp(argv[i], "--no-digest") == 0) {
                digest = false;
            } else {
                return usage();
            }
        }
        subcompactions = (int)n;
        st = peer_compact(argv[2], subcompactions, target, digest, &ps, &err);
        if (st == MC_OK)
            print_report("compact", subcompactions, &ps);
    } else {
        return usage();
    }
    if (st != MC_OK) {
        fprintf(stderr, "rocksdb_peer: %s\n", err.msg);
        return 1;
    }
    return 0;
}
