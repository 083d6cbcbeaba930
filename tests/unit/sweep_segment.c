/* sweep_segment: every byte of a small segment file, damaged one at a time,
 * through the validator that `add` runs on an input (mc_seg_validate, in
 * add's child process since src/core/isolate.c; here in one of ours).
 *
 * The segment (written by the project: puts, deletes, an empty value,
 * distinct seqs) is damaged at EVERY byte offset three ways: the byte XOR
 * 0xFF, the byte XOR 0x01, and the file truncated there. Each damaged copy
 * is validated in a forked child (mc_isolate_run) that, when the file is
 * accepted, reads every item back. A case passes when it is
 *   rejected:            an error whose message names the file, or
 *   accepted-identical:  accepted, and the items read back are exactly the
 *                        original items (the byte was unused or padding).
 * Anything else fails the sweep and is printed with its offset: accepted
 * with other items, a message without the file's name, a crash (signal,
 * sanitizer report) or a hang (no answer for 1 s, then again for 30 s: a
 * loaded machine does not fail the test).
 *
 * Known HDF5 1.10.8 defect (docs/FUZZING.md): a damaged global heap
 * collection, the one holding the variable-length `format` attribute, makes
 * H5Aread loop forever or crash in H5HG_read. A crash or hang whose byte
 * lies inside that collection counts as known-HDF5, not as a failure. The
 * collection is found in the file itself: the signature "GCOL", then a
 * version byte, 3 reserved bytes and the collection size (8 bytes, little
 * endian; HDF5's "size of lengths"), which counts the whole collection from
 * its signature. [start, start + size) is the range; only a "GCOL" whose size
 * is at least 4096 (HDF5's minimum) and fits in the file counts.
 *
 * Summary line: "sweep: N cases, R rejected, A accepted-identical,
 * K known-HDF5, F failures". Exit 0 when F == 0.
 *   sweep_segment [--flips-only|--truncations-only] [--from OFFSET] [--to OFFSET]
 * MC_SWEEP_KEEP=DIR keeps the original file (named segment.h5) there: the
 * end-to-end test (tests/mpi/test_segment_sweep.sh) damages it the same
 * way. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "isolate.h"
#include "mpicompact.h"
#include "segment_validate.h"

#define NITEMS 24
#define FIRST_MS 1000u   /* silence before a case is suspected of hanging */
#define RETRY_MS 30000u  /* ... and before a suspect outside the heap fails */

typedef struct want_item {
    char key[16];
    size_t key_len;
    char value[64];
    size_t value_len;
    uint64_t seq;
    uint8_t kind;
} want_item;

static want_item want[NITEMS];

static void make_items(void)
{
    for (int i = 0; i < NITEMS; i++) {
        want_item *w = &want[i];
        w->key_len = (size_t)snprintf(w->key, sizeof w->key, "key%03d", i * 7);
        w->kind = i % 5 == 3 ? MC_KIND_DELETE : MC_KIND_PUT;
        w->value_len = w->kind == MC_KIND_DELETE || i == 1 ? 0
                       : (size_t)snprintf(w->value, sizeof w->value, "value-%d-%.*s", i, i % 9, "abcdefghi");
        w->seq = 1000 + (uint64_t)(i * 37 % NITEMS);   /* distinct, not in key order */
    }
}

static int write_segment(const char *path)
{
    mc_seg_writer *w = NULL;
    mc_err err;
    mc_err_clear(&err);
    mc_seg_meta meta = {0};
    mc_status st = mc_seg_writer_create(path, 5, &w, &err);
    for (int i = 0; i < NITEMS && st == MC_OK; i++) {
        mc_item it = {(const uint8_t *)want[i].key, want[i].key_len, (const uint8_t *)want[i].value,
                      want[i].value_len, want[i].seq, want[i].kind};
        st = mc_seg_writer_add(w, &it, &err);
    }
    if (st == MC_OK)
        st = mc_seg_writer_finish(&w, &meta, &err);
    mc_seg_writer_abort(&w);
    mc_seg_meta_clear(&meta);
    if (st != MC_OK)
        fprintf(stderr, "sweep: cannot write the segment: %s\n", err.msg);
    return st == MC_OK ? 0 : -1;
}

/* ---- one case, in the child ---- */

typedef struct job {
    const char *path;
} job;

static void alive(void *child)
{
    mc_isolate_alive(child);
}

/* Empty when every item read back equals want[]; else what differs. */
static void read_back(const char *path, char *why, size_t cap)
{
    mc_seg_reader *r = NULL;
    mc_err err;
    mc_err_clear(&err);
    why[0] = '\0';
    if (mc_seg_reader_open(path, &r, &err) != MC_OK) {
        snprintf(why, cap, "accepted, then unreadable: %s", err.msg);
        return;
    }
    int n = 0;
    for (;;) {
        mc_item it;
        bool eof = false;
        if (mc_seg_reader_next(r, &it, &eof, &err) != MC_OK) {
            snprintf(why, cap, "accepted, then item %d unreadable: %s", n, err.msg);
            break;
        }
        if (eof) {
            if (n != NITEMS)
                snprintf(why, cap, "accepted with %d items instead of %d", n, NITEMS);
            break;
        }
        const want_item *w = n < NITEMS ? &want[n] : NULL;
        if (!w || it.key_len != w->key_len || memcmp(it.key, w->key, w->key_len) != 0 ||
            it.value_len != w->value_len || (w->value_len && memcmp(it.value, w->value, w->value_len) != 0) ||
            it.seq != w->seq || it.kind != w->kind) {
            snprintf(why, cap, "accepted with item %d different from the original", n);
            break;
        }
        n++;
    }
    mc_seg_reader_close(&r);
}

/* Reply: 'R' + message (rejected) or 'A' + "" (identical) or 'X' + why. */
static void run_case(void *arg, mc_isolate_child *child)
{
    const job *jb = arg;
    mc_seg_meta meta = {0};
    mc_err err;
    mc_err_clear(&err);
    char out[1200];
    if (mc_seg_validate_watched(jb->path, alive, child, &meta, &err) != MC_OK) {
        out[0] = 'R';
        snprintf(out + 1, sizeof out - 1, "%s", err.msg);
    } else {
        out[0] = 'A';
        read_back(jb->path, out + 1, sizeof out - 1);
        if (out[1])
            out[0] = 'X';
        else if (meta.nitems != NITEMS)
            snprintf(out, sizeof out, "Xaccepted, described as %llu items", (unsigned long long)meta.nitems);
    }
    mc_seg_meta_clear(&meta);
    mc_isolate_reply(child, out, strlen(out) + 1);
}

/* ---- the sweep, in the parent ---- */

typedef struct tally {
    long cases, rejected, identical, known, failures;
} tally;

static uint8_t *orig;
static size_t orig_len;
static size_t heap_lo, heap_hi;   /* the global heap collection: [lo, hi) */

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !(orig = malloc((size_t)sb.st_size)) ||
        fread(orig, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        fprintf(stderr, "sweep: cannot read %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    orig_len = (size_t)sb.st_size;
    return 0;
}

static void find_heap(void)
{
    for (size_t i = 0; i + 16 <= orig_len; i++) {
        if (memcmp(orig + i, "GCOL", 4) != 0)
            continue;
        uint64_t size = 0;
        for (int b = 0; b < 8; b++)
            size |= (uint64_t)orig[i + 8 + b] << (8 * b);
        if (size >= 4096 && size <= orig_len - i) {
            heap_lo = i;
            heap_hi = i + (size_t)size;
            return;
        }
    }
}

static int write_damaged(const char *path, size_t off, int how)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t len = how == 't' ? off : orig_len;
    uint8_t mask = how == 'f' ? 0xFF : how == 'l' ? 0x01 : 0;
    if (mask)
        orig[off] ^= mask;
    ssize_t w = write(fd, orig, len);
    if (mask)
        orig[off] ^= mask;
    return close(fd) == 0 && w == (ssize_t)len ? 0 : -1;
}

static const char *how_name(int how)
{
    return how == 't' ? "truncated at" : how == 'f' ? "byte XOR 0xFF at" : "byte XOR 0x01 at";
}

static void one(const char *path, size_t off, int how, tally *t)
{
    t->cases++;
    if (write_damaged(path, off, how) != 0) {
        fprintf(stderr, "sweep: FAIL: cannot write %s: %s\n", path, strerror(errno));
        t->failures++;
        return;
    }
    bool in_heap = off >= heap_lo && off < heap_hi;
    job jb = {path};
    mc_isolate_outcome outcome = MC_ISOLATE_CRASHED;
    int signo = 0;
    mc_buf reply = {0};
    mc_err err;
    mc_err_clear(&err);
    mc_status st = mc_isolate_run(run_case, &jb, FIRST_MS, &outcome, &signo, &reply, &err);
    if (st == MC_OK && outcome == MC_ISOLATE_STALLED && !in_heap) {
        mc_buf_free(&reply);
        st = mc_isolate_run(run_case, &jb, RETRY_MS, &outcome, &signo, &reply, &err);
    }
    const char *msg = reply.n ? (const char *)reply.p + 1 : "";
    if (st != MC_OK) {
        fprintf(stderr, "sweep: FAIL: %s %zu: %s\n", how_name(how), off, err.msg);
        t->failures++;
    } else if (outcome != MC_ISOLATE_DONE && in_heap) {
        t->known++;
    } else if (outcome == MC_ISOLATE_STALLED) {
        fprintf(stderr, "sweep: FAIL: %s %zu: no answer in %u s (hang)\n", how_name(how), off, RETRY_MS / 1000);
        t->failures++;
    } else if (outcome == MC_ISOLATE_CRASHED) {
        fprintf(stderr, "sweep: FAIL: %s %zu: crashed (%s)\n", how_name(how), off,
                signo ? strsignal(signo) : "exited without an answer");
        t->failures++;
    } else if (reply.p[reply.n - 1] != '\0' || (reply.p[0] == 'R' && !strstr(msg, path)) ||
               (reply.p[0] != 'R' && reply.p[0] != 'A')) {
        fprintf(stderr, "sweep: FAIL: %s %zu: %s\n", how_name(how), off,
                reply.p[0] == 'R' ? "the error does not name the file" : msg);
        if (reply.p[0] == 'R')
            fprintf(stderr, "    the error: %s\n", msg);
        t->failures++;
    } else if (reply.p[0] == 'R') {
        t->rejected++;
    } else {
        t->identical++;
    }
    mc_buf_free(&reply);
}

int main(int argc, char **argv)
{
    bool flips = true, truncations = true;
    size_t from = 0, to = SIZE_MAX;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flips-only"))
            truncations = false;
        else if (!strcmp(argv[i], "--truncations-only"))
            flips = false;
        else if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: sweep_segment [--flips-only|--truncations-only] [--from OFFSET] [--to OFFSET]\n");
            return 2;
        }
    }
    char dir[] = "/dev/shm/mcsweep.XXXXXX", alt[4096];
    char *d = access("/dev/shm", W_OK) == 0 ? mkdtemp(dir) : NULL;
    if (!d) {
        snprintf(alt, sizeof alt, "%s/mcsweep.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        d = mkdtemp(alt);
    }
    if (!d) {
        perror("sweep: mkdtemp");
        return 1;
    }
    char seg[4200], bad[4200];
    const char *keep = getenv("MC_SWEEP_KEEP");
    snprintf(seg, sizeof seg, "%s/segment.h5", keep && *keep ? keep : d);
    snprintf(bad, sizeof bad, "%s/damaged.h5", d);
    make_items();
    int rc = 1;
    if (write_segment(seg) != 0 || load(seg) != 0)
        goto out;
    find_heap();
    if (heap_hi == 0) {
        fprintf(stderr, "sweep: FAIL: no global heap collection (GCOL) found in the segment\n");
        goto out;
    }
    if (to > orig_len)
        to = orig_len;
    printf("sweep: segment of %d items, %zu bytes; global heap collection at [%zu, %zu)\n", NITEMS, orig_len,
           heap_lo, heap_hi);
    tally t = {0};
    /* The original itself must pass as accepted-identical. */
    one(bad, orig_len, 't', &t);
    if (t.identical != 1) {
        fprintf(stderr, "sweep: FAIL: the undamaged segment is not accepted as identical\n");
        goto out;
    }
    t = (tally){0};
    for (size_t off = from; off < to; off++) {
        if (flips) {
            one(bad, off, 'f', &t);
            one(bad, off, 'l', &t);
        }
        if (truncations)
            one(bad, off, 't', &t);
    }
    printf("sweep: %ld cases, %ld rejected, %ld accepted-identical, %ld known-HDF5, %ld failures\n", t.cases,
           t.rejected, t.identical, t.known, t.failures);
    rc = t.failures ? 1 : 0;
out:
    unlink(bad);
    if (!keep || !*keep)
        unlink(seg);
    rmdir(d);
    free(orig);
    return rc;
}
