/* sweep_segment: every byte of a small segment file, damaged one at a time,
 * through the validator that `add` runs on an input (mc_seg_validate, in
 * add's child process, src/core/segment_check.h; here in one of ours).
 *
 * The segment (written by the project: puts, deletes, an empty value,
 * distinct seqs) is damaged at EVERY byte offset: the byte XOR 0xFF, the
 * byte XOR 0x01 (except in unused space, see quiet()), and the file
 * truncated there. Each damaged copy is validated in a forked child
 * (mc_isolate_run), 200 cases per child while none crashes or hangs; the
 * cases of a child that crashed or hung run again one per child, so that
 * the case is named. When a file is accepted, its items are compared with
 * the original's as the validator reads them and again through a fresh
 * reader. A case passes when it is
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
 *   sweep_segment [--flips-only|--truncations-only] [--skip-unused] [--from OFFSET] [--to OFFSET]
 * --skip-unused: no case in unused space (quiet() below); the sanitizer
 * build runs that (every byte of metadata and data, a fifth of the cases:
 * under ASan HDF5's per-file allocations make each case 4-12 times slower).
 * tests/mpi/test_add_hostile.sh sends one damaged file per region through
 * the real `add`. */
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
#define BATCH 200        /* cases per child while none crashes or hangs */

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

/* ---- the damaged copies ---- */

typedef struct dcase {
    size_t off;
    char how;   /* 'f': byte XOR 0xFF, 'l': byte XOR 0x01, 't': truncated at off */
} dcase;

static uint8_t *orig;
static size_t orig_len;
static size_t heap_lo, heap_hi;   /* the global heap collection: [lo, hi) */

static int write_damaged(const char *path, dcase c)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t len = c.how == 't' ? c.off : orig_len;
    uint8_t mask = c.how == 'f' ? 0xFF : c.how == 'l' ? 0x01 : 0;
    if (mask)
        orig[c.off] ^= mask;
    ssize_t w = write(fd, orig, len);
    if (mask)
        orig[c.off] ^= mask;
    return close(fd) == 0 && w == (ssize_t)len ? 0 : -1;
}

static const char *how_name(char how)
{
    return how == 't' ? "truncated at" : how == 'f' ? "byte XOR 0xFF at" : "byte XOR 0x01 at";
}

/* ---- cases in a child ---- */

typedef struct batch {
    const char *path;
    const dcase *cases;
    size_t n;
} batch;

/* What the validator reads, compared with want[] as it reads. */
typedef struct watch {
    mc_isolate_child *child;
    int n;
    char why[200];
} watch;

static bool same_item(const mc_item *it, const want_item *w)
{
    return it->key_len == w->key_len && memcmp(it->key, w->key, w->key_len) == 0 && it->value_len == w->value_len &&
           (w->value_len == 0 || memcmp(it->value, w->value, w->value_len) == 0) && it->seq == w->seq &&
           it->kind == w->kind;
}

static void on_item(void *arg, const mc_item *it)
{
    watch *w = arg;
    mc_isolate_alive(w->child);
    if (!w->why[0] && (w->n >= NITEMS || !same_item(it, &want[w->n])))
        snprintf(w->why, sizeof w->why, "accepted with item %d different from the original", w->n);
    w->n++;
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
        if (n >= NITEMS || !same_item(&it, &want[n])) {
            snprintf(why, cap, "accepted with item %d different from the original", n);
            break;
        }
        n++;
    }
    mc_seg_reader_close(&r);
}

/* One verdict per case, each a string: 'R' (rejected, the error names the
 * file), 'A' (accepted-identical), or 'N' + the error that does not name
 * the file, 'X' + what differs, 'W' (the damaged copy could not be
 * written). An accepted file is compared twice with the original: the
 * items as the validator read them, and (unless the damaged byte lies in
 * unused space, see quiet()) the items read again by a fresh reader. */
static bool quiet(size_t off);

static void run_batch(void *arg, mc_isolate_child *child)
{
    const batch *b = arg;
    mc_buf out = {0};
    for (size_t i = 0; i < b->n; i++) {
        mc_isolate_alive(child);
        char v[1200] = "W";
        mc_seg_meta meta = {0};
        mc_err err;
        mc_err_clear(&err);
        watch w = {.child = child};
        if (write_damaged(b->path, b->cases[i]) != 0)
            ;
        else if (mc_seg_validate_watched(b->path, on_item, &w, &meta, &err) != MC_OK)
            snprintf(v, sizeof v, "%c%s", strstr(err.msg, b->path) ? 'R' : 'N', strstr(err.msg, b->path) ? "" : err.msg);
        else if (w.why[0] || w.n != NITEMS || meta.nitems != NITEMS)
            snprintf(v, sizeof v, "X%s (%d items read, %llu described)", w.why[0] ? w.why : "accepted", w.n,
                     (unsigned long long)meta.nitems);
        else {
            v[0] = 'A';
            v[1] = '\0';
            if (!quiet(b->cases[i].off)) {
                read_back(b->path, v + 1, sizeof v - 1);
                v[0] = v[1] ? 'X' : 'A';
            }
        }
        mc_seg_meta_clear(&meta);
        if (mc_buf_append(&out, v, strlen(v) + 1, NULL) != MC_OK)
            _exit(1);
    }
    mc_isolate_reply(child, out.p, out.n);
    mc_buf_free(&out);
}

/* ---- the sweep, in the parent ---- */

typedef struct tally {
    long cases, rejected, identical, known, failures;
} tally;

/* Unused space: a byte inside a run of at least QUIET_RUN zero bytes
 * (unused entries of a B-tree node, object header padding, the heap's free
 * space). Such a byte gets one flip (XOR 0xFF), not two, and an accepted
 * file is compared once (as the validator read it), not twice: that halves
 * the sweep's time, and these bytes are 80 % of a small segment. */
#define QUIET_RUN 64
static uint8_t *quiet_map;

static bool quiet(size_t off)
{
    return off < orig_len && quiet_map[off];
}

static int map_quiet(void)
{
    if (!(quiet_map = calloc(orig_len + 1, 1)))
        return -1;
    for (size_t i = 0, j; i < orig_len; i = j + 1) {
        for (j = i; j < orig_len && orig[j] == 0; j++)
            ;
        if (j - i >= QUIET_RUN)
            memset(quiet_map + i, 1, j - i);
    }
    return 0;
}

static bool in_heap(size_t off)
{
    return off >= heap_lo && off < heap_hi;
}

static void fail(dcase c, const char *what, const char *detail)
{
    fprintf(stderr, "sweep: FAIL: %s %zu: %s%s%s\n", how_name(c.how), c.off, what, detail ? ": " : "",
                detail ? detail : "");
}

/* Counts the verdict string V of case C. */
static void count(dcase c, const char *v, tally *t)
{
    if (v[0] == 'R')
        t->rejected++;
    else if (v[0] == 'A')
        t->identical++;
    else {
        if (v[0] == 'X')
            fail(c, v + 1, NULL);
        else
            fail(c, v[0] == 'N' ? "the error does not name the file" : "cannot write the damaged copy", v + 1);
        t->failures++;
    }
}

/* One case alone in a child: a crash or a hang is the case's. */
static void alone(const char *path, dcase c, tally *t)
{
    batch b = {path, &c, 1};
    mc_isolate_outcome outcome = MC_ISOLATE_CRASHED;
    int signo = 0;
    mc_buf reply = {0};
    mc_err err;
    mc_err_clear(&err);
    mc_status st = mc_isolate_run(run_batch, &b, FIRST_MS, &outcome, &signo, &reply, &err);
    if (st == MC_OK && outcome == MC_ISOLATE_STALLED && !in_heap(c.off)) {
        mc_buf_free(&reply);
        st = mc_isolate_run(run_batch, &b, RETRY_MS, &outcome, &signo, &reply, &err);
    }
    t->cases++;
    if (st != MC_OK) {
        fail(c, "cannot run the case", err.msg);
        t->failures++;
    } else if (outcome != MC_ISOLATE_DONE && in_heap(c.off)) {
        t->known++;
    } else if (outcome == MC_ISOLATE_STALLED) {
        fail(c, "no answer (hang)", NULL);
        t->failures++;
    } else if (outcome == MC_ISOLATE_CRASHED) {
        fail(c, "crashed", signo ? strsignal(signo) : "exited without an answer (a sanitizer's report?)");
        t->failures++;
    } else if (reply.n == 0 || reply.p[reply.n - 1] != '\0') {
        fail(c, "garbled answer from the child", NULL);
        t->failures++;
    } else {
        count(c, (const char *)reply.p, t);
    }
    mc_buf_free(&reply);
}

/* Cases CASES[0..N) in one child; when it crashes or stalls, each again
 * alone. A batch that failed although none of its cases fails alone
 * (damage carried from one case to the next inside HDF5) fails the sweep
 * unless one of its bytes lies in the global heap. */
static void run_cases(const char *path, const dcase *cases, size_t n, tally *t)
{
    batch b = {path, cases, n};
    mc_isolate_outcome outcome = MC_ISOLATE_CRASHED;
    int signo = 0;
    mc_buf reply = {0};
    mc_err err;
    mc_err_clear(&err);
    mc_status st = mc_isolate_run(run_batch, &b, FIRST_MS, &outcome, &signo, &reply, &err);
    if (st == MC_OK && outcome == MC_ISOLATE_DONE) {
        const char *v = (const char *)reply.p, *end = v + reply.n;
        size_t i = 0;
        for (; i < n && v < end && memchr(v, 0, (size_t)(end - v)); i++, v += strlen(v) + 1) {
            t->cases++;
            count(cases[i], v, t);
        }
        if (i == n && v == end) {
            mc_buf_free(&reply);
            return;
        }
        fprintf(stderr, "sweep: FAIL: garbled answer for cases from %s %zu\n", how_name(cases[0].how), cases[0].off);
        t->failures++;
        mc_buf_free(&reply);
        return;
    }
    mc_buf_free(&reply);
    long before = t->failures + t->known;
    bool heap = false;
    for (size_t i = 0; i < n; i++) {
        alone(path, cases[i], t);
        heap = heap || in_heap(cases[i].off);
    }
    if (t->failures + t->known == before && !heap) {
        fprintf(stderr, "sweep: FAIL: cases %s %zu .. %s %zu %s together, none alone\n", how_name(cases[0].how),
                cases[0].off, how_name(cases[n - 1].how), cases[n - 1].off,
                outcome == MC_ISOLATE_STALLED ? "hung" : "crashed");
        t->failures++;
    }
}

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

int main(int argc, char **argv)
{
    bool flips = true, truncations = true, unused = true;
    size_t from = 0, to = SIZE_MAX;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flips-only"))
            truncations = false;
        else if (!strcmp(argv[i], "--truncations-only"))
            flips = false;
        else if (!strcmp(argv[i], "--skip-unused"))
            unused = false;
        else if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: sweep_segment [--flips-only|--truncations-only] [--skip-unused] [--from OFFSET] "
                            "[--to OFFSET]\n");
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
    snprintf(seg, sizeof seg, "%s/segment.h5", d);
    snprintf(bad, sizeof bad, "%s/damaged.h5", d);
    make_items();
    int rc = 1;
    dcase *cases = NULL;
    if (write_segment(seg) != 0 || load(seg) != 0)
        goto out;
    find_heap();
    if (map_quiet() != 0)
        goto out;
    if (heap_hi == 0) {
        fprintf(stderr, "sweep: FAIL: no global heap collection (GCOL) found in the segment\n");
        goto out;
    }
    if (to > orig_len)
        to = orig_len;
    printf("sweep: segment of %d items, %zu bytes; global heap collection at [%zu, %zu)\n", NITEMS, orig_len,
           heap_lo, heap_hi);
    fflush(stdout);
    tally t = {0};
    /* The original itself must pass as accepted-identical. */
    alone(bad, (dcase){orig_len, 't'}, &t);
    if (t.identical != 1) {
        fprintf(stderr, "sweep: FAIL: the undamaged segment is not accepted as identical\n");
        goto out;
    }
    t = (tally){0};
    size_t n = 0;
    if (!(cases = calloc(3 * (to > from ? to - from : 0) + 1, sizeof *cases)))
        goto out;
    for (size_t off = from; off < to; off++) {
        if (flips && (unused || !quiet(off))) {
            cases[n++] = (dcase){off, 'f'};
            if (!quiet(off))
                cases[n++] = (dcase){off, 'l'};
        }
        if (truncations && (unused || !quiet(off)))
            cases[n++] = (dcase){off, 't'};
    }
    for (size_t i = 0; i < n; i += BATCH)
        run_cases(bad, cases + i, n - i < BATCH ? n - i : BATCH, &t);
    printf("sweep: %ld cases, %ld rejected, %ld accepted-identical, %ld known-HDF5, %ld failures\n", t.cases,
           t.rejected, t.identical, t.known, t.failures);
    rc = t.failures ? 1 : 0;
out:
    free(cases);
    unlink(bad);
    unlink(seg);
    rmdir(d);
    free(quiet_map);
    free(orig);
    return rc;
}
