/* seedgen: writes the seed corpora of the fuzz harnesses from the project's
 * own encoders and from real stores (tests/fuzz/run.sh runs it).
 *
 *   seedgen OUT STORE...
 *
 * For each STORE (written by init, gen, compact): its CURRENT and manifest
 * files as one archive (fuzz_manifest), its CURRENT (fuzz_store_text), and
 * wire messages built from its manifest entries: requests, responses,
 * the manifest, descriptors (fuzz_wire). Once: LOCK files as the lock
 * module writes them, text arguments (fuzz_text), and one argument list per
 * usage line of every command, its placeholders filled (fuzz_cli). Files go
 * to OUT/HARNESS/NAME. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fuzzutil.h"
#include "lock.h"
#include "manifest_io.h"
#include "manifest_wire.h"
#include "wire.h"

static const char *out_dir;
static int nseeds;

static void seed(const char *harness, const char *name, uint8_t selector, int use_selector, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
    mc_buf b = {0};
    if ((use_selector && mc_buf_append(&b, &selector, 1, NULL) != MC_OK) || mc_buf_append(&b, p, n, NULL) != MC_OK)
        abort();
    fz_write(path, b.p, b.n);
    mc_buf_free(&b);
    nseeds++;
}

static void die(const char *what, const mc_err *err)
{
    fprintf(stderr, "seedgen: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

static size_t read_file(const char *path, mc_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, NULL);
    b->n = 0;
    uint8_t chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mc_buf_append(b, chunk, r, NULL) != MC_OK)
            abort();
    fclose(f);
    return b->n;
}

/* CURRENT and every file of manifest/ as one archive; CURRENT alone. */
static void store_files(const char *store, int k)
{
    mc_buf ar = {0}, file = {0};
    char path[4096], name[300];
    snprintf(path, sizeof path, "%s/CURRENT", store);
    read_file(path, &file);
    fz_archive_add(&ar, "CURRENT", file.p, file.n);
    snprintf(name, sizeof name, "current-%d", k);
    seed("fuzz_store_text", name, 0, 1, file.p, file.n);
    snprintf(path, sizeof path, "%s/manifest", store);
    DIR *d = opendir(path);
    if (!d)
        die(path, NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/manifest/%s", store, e->d_name);
        snprintf(name, sizeof name, "manifest/%s", e->d_name);
        read_file(path, &file);
        fz_archive_add(&ar, name, file.p, file.n);
    }
    closedir(d);
    snprintf(name, sizeof name, "store-%d", k);
    seed("fuzz_manifest", name, 0, 0, ar.p, ar.n);
    mc_buf_free(&ar);
    mc_buf_free(&file);
}

static void key_of(mc_key *k, const uint8_t *p, size_t n)
{
    if (mc_key_set(k, p, n, NULL) != MC_OK)
        abort();
}

/* Requests and responses made of M's entries, as the coordinator and a
 * worker would send them: a level-0 merge, a sticky bounded one with
 * guards, an error response and a success response. */
static void messages(const mc_manifest *m, int k)
{
    mc_err err;
    mc_buf b = {0};
    char name[64];
    size_t n = mc_manifest_count(m);
    mc_seg_meta *all = calloc(n ? n : 1, sizeof *all);
    size_t got = 0;
    for (unsigned lv = 0; lv < mc_manifest_params(m)->levels; lv++)
        for (size_t i = 0; i < mc_manifest_level_count(m, lv); i++)
            if (mc_seg_meta_copy(&all[got++], mc_manifest_level_at(m, lv, i), &err) != MC_OK)
                die("copy", &err);
    for (int variant = 0; variant < 2; variant++) {
        mc_request req = {0};
        req.id = 7 + (uint64_t)variant;
        req.upper_level = (uint8_t)variant;
        req.out_level = (uint8_t)(variant + 1);
        req.segment_size = 65536;
        req.ninputs = got < 3 ? got : 3;
        req.nuppers = req.ninputs ? 1 : 0;
        req.inputs = calloc(req.ninputs ? req.ninputs : 1, sizeof *req.inputs);
        for (size_t i = 0; i < req.ninputs; i++)
            mc_seg_meta_copy(&req.inputs[i], &all[i], &err);
        mc_request_set_run(&req, mc_manifest_next_segno(m), 4, &err);
        if (variant == 1) {
            req.flags = MC_REQ_STICKY | MC_REQ_HAS_LO | MC_REQ_HAS_HI;
            key_of(&req.lo, (const uint8_t *)"a", 1);
            key_of(&req.hi, (const uint8_t *)"\xff\xff", 2);
            key_of(&req.split, (const uint8_t *)"m", 1);
            req.nguards = 1;
            req.guards = calloc(1, sizeof *req.guards);
            key_of(&req.guards[0].lo, (const uint8_t *)"b", 1);
            key_of(&req.guards[0].hi, (const uint8_t *)"z", 1);
            req.guards[0].min_seq = 5;
        } else {
            req.flags = MC_REQ_KEEP_DELETES;
        }
        b.n = 0;
        if (mc_wire_encode_request(&req, &b, &err) != MC_OK)
            die("encode request", &err);
        snprintf(name, sizeof name, "request-%d-%d", k, variant);
        seed("fuzz_wire", name, 0, 1, b.p, b.n);
        mc_request_clear(&req);
    }
    mc_response ok = {0}, bad = {0};
    ok.id = 7;
    ok.noutputs = got < 2 ? got : 2;
    ok.outputs = calloc(ok.noutputs ? ok.noutputs : 1, sizeof *ok.outputs);
    for (size_t i = 0; i < ok.noutputs; i++) {
        mc_seg_meta_copy(&ok.outputs[i], &all[i], &err);
        ok.outputs[i].level = 1;
    }
    ok.stats.items_in = 100;
    ok.stats.seconds = 0.25;
    bad.id = 8;
    bad.status = MC_ECORRUPT;
    bad.sys_errno = EIO;
    snprintf(bad.msg, sizeof bad.msg, "store/seg/01/0000000000000001.h5: checksum mismatch");
    const mc_response *resps[] = {&ok, &bad};
    for (int i = 0; i < 2; i++) {
        b.n = 0;
        if (mc_wire_encode_response(resps[i], &b, &err) != MC_OK)
            die("encode response", &err);
        snprintf(name, sizeof name, "response-%d-%d", k, i);
        seed("fuzz_wire", name, 1, 1, b.p, b.n);
    }
    mc_response_clear(&ok);
    mc_response_clear(&bad);
    b.n = 0;
    if (mc_manifest_encode(m, &b, &err) != MC_OK)
        die("encode manifest", &err);
    snprintf(name, sizeof name, "manifest-%d", k);
    seed("fuzz_wire", name, 2, 1, b.p, b.n);
    b.n = 0;
    for (size_t i = 0; i < got && i < 4; i++)
        if (mc_seg_meta_encode(&b, &all[i], &err) != MC_OK)
            die("encode descriptor", &err);
    snprintf(name, sizeof name, "descriptors-%d", k);
    seed("fuzz_wire", name, 3, 1, b.p, b.n);
    for (size_t i = 0; i < got; i++)
        mc_seg_meta_clear(&all[i]);
    free(all);
    mc_buf_free(&b);
}

/* LOCK as a live writer leaves it, the same naming a pid that is gone
 * (stale: taken over), and an empty one. */
static void locks(void)
{
    char store[4096], path[4200];
    fz_path(store, "lockstore");
    mkdir(store, 0700);
    mc_lock *l = NULL;
    mc_err err;
    if (mc_lock_acquire(store, "compact store --full", &l, &err) != MC_OK)
        die("lock", &err);
    snprintf(path, sizeof path, "%s/LOCK", store);
    mc_buf text = {0};
    read_file(path, &text);
    mc_lock_release(&l);
    seed("fuzz_store_text", "lock-live", 1, 1, text.p, text.n);
    /* The same line with a pid that cannot exist (above pid_max). */
    char *line = calloc(1, text.n + 64), *pid = NULL;
    memcpy(line, text.p, text.n);
    if ((pid = strstr(line, " pid=")) != NULL) {
        char *rest = strstr(pid, " jobid=");
        char stale[4096];
        snprintf(stale, sizeof stale, "%.*s pid=4194305%s", (int)(pid - line), line, rest ? rest : "");
        seed("fuzz_store_text", "lock-stale", 1, 1, stale, strlen(stale));
    }
    free(line);
    seed("fuzz_store_text", "lock-empty", 1, 1, "", 0);
    mc_buf_free(&text);
}

static void texts(void)
{
    static const struct {
        uint8_t sel;
        const char *s;
    } t[] = {
        {0, "plain"}, {0, "a\\x00b\\\\c"}, {0, "\\x2dkey"}, {0, "\\xFF\\xfe"},
        {2, "18446744073709551615"}, {2, "42"}, {3, "64K"}, {3, "1MiB"}, {3, "3g"}, {3, "7TiB"}, {3, "512B"},
        {4, "4:16"}, {4, "8"}, {5, "0.25"}, {5, "1"}, {6, "1.5"}, {6, "3600"},
        {7, "00000000000000ff.h5"}, {7, "0123456789abcdef.h5"},
    };
    char name[32];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(name, sizeof name, "text-%zu", i);
        seed("fuzz_text", name, t[i].sel, 1, t[i].s, strlen(t[i].s));
    }
    static const uint8_t raw[] = {'-', 0, '\n', '\\', 0x7f, 0xff, 'k'};
    seed("fuzz_text", "bytes", 1, 1, raw, sizeof raw);
    seed("fuzz_text", "bytes-arg", 9, 1, raw, sizeof raw);
}

/* A value for a usage line's placeholder. */
static const char *sample(const char *ph)
{
    static const struct {
        const char *ph, *v;
    } v[] = {
        {"STORE", "s"}, {"N", "3"}, {"SIZE", "64K"}, {"SECONDS", "1.5"}, {"F", "0.25"}, {"S", "7"},
        {"KEY", "k\\x00"}, {"FILE", "f.h5"}, {"FILE...", "f.h5"}, {"MIN[:MAX]", "4:16"},
        {"uniform|zipf|sequential", "zipf"}, {"auto|bar|log|none", "log"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (strcmp(v[i].ph, ph) == 0)
            return v[i].v;
    return ph;
}

/* One argument list per usage line: "init STORE [--fanout N]" becomes
 * init\0s\0--fanout\03 (NUL-separated), with every option. */
static void cli(void)
{
    static const char *cmds[] = {"init", "gen", "add", "compact", "verify", "digest", "get", "scan", "stat"};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        const char *usage = mc_cli_usage(cmds[c]);
        if (!usage)
            continue;
        char *copy = strdup(usage), *save = NULL;
        mc_buf b = {0};
        int first = 1;
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            size_t len = strlen(tok);
            if (tok[0] == '[')
                tok++, len--;
            if (len && tok[len - 1] == ']')
                tok[--len] = '\0';
            const char *arg = tok[0] == '-' ? tok : (first ? tok : sample(tok));
            if (!first)
                mc_buf_append(&b, "", 1, NULL);
            mc_buf_append(&b, arg, strlen(arg), NULL);
            first = 0;
        }
        char name[64];
        snprintf(name, sizeof name, "usage-%s", cmds[c]);
        seed("fuzz_cli", name, 0, 0, b.p, b.n);
        mc_buf_free(&b);
        free(copy);
    }
    static const char help[] = "help\0compact";
    seed("fuzz_cli", "help", 0, 0, help, sizeof help - 1);
    seed("fuzz_cli", "version", 0, 0, "--version", 9);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: seedgen OUT STORE...\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    for (int i = 2; i < argc; i++) {
        mc_err err;
        mc_manifest *m = NULL;
        if (mc_manifest_load(argv[i], &m, &err) != MC_OK)
            die(argv[i], &err);
        store_files(argv[i], i - 2);
        messages(m, i - 2);
        mc_manifest_destroy(&m);
    }
    locks();
    texts();
    cli();
    printf("seedgen: %d seeds in %s\n", nseeds, out_dir);
    return 0;
}
