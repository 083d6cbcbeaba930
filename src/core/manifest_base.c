/* manifest_base: bases written by a child process (manifest_base.h). */
#include "manifest_base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"
#include "isolate.h"
#include "manifest_fold.h"
#include "manifest_io.h"
#include "manifest_journal.h"
#include "store.h"

void mc_manifest_base_enable(mc_manifest *m, size_t min_segments, size_t merge_max)
{
    mc_journal_bg *bg = &mc_manifest_journal(m)->bg;
    bg->min_segments = min_segments;
    bg->merge_max = merge_max ? merge_max : MC_MANIFEST_BASE_MERGE_MAX;
}

bool mc_manifest_base_on(mc_manifest *m)
{
    size_t min = mc_manifest_journal(m)->bg.min_segments;
    return min > 0 && mc_manifest_count(m) >= min;
}

uint64_t mc_manifest_base_installed(mc_manifest *m)
{
    return mc_manifest_journal(m)->bg.installed;
}

size_t mc_manifest_base_merge_max(mc_manifest *m)
{
    return mc_manifest_base_on(m) ? mc_manifest_journal(m)->bg.merge_max : SIZE_MAX;
}

uint64_t mc_manifest_base_pending(mc_manifest *m)
{
    const mc_journal_bg *bg = &mc_manifest_journal(m)->bg;
    return bg->job.pid ? bg->generation : 0;
}

/* Forgets the child's file (after it was renamed or removed). */
static void forget(mc_journal_bg *bg)
{
    free(bg->tmp);
    bg->tmp = NULL;
    bg->generation = 0;
}

void mc_manifest_base_cancel(mc_manifest *m)
{
    mc_journal_bg *bg = &mc_manifest_journal(m)->bg;
    if (!bg->job.pid)
        return;
    mc_isolate_kill(&bg->job);
    unlink(bg->tmp);
    forget(bg);
}

/* Files that left the chain go to STALE (removed after the next switch);
 * out of memory leaves them as orphans for the next sweep. */
static void add_stale(mc_journal_bg *bg, const uint64_t *gens, size_t n)
{
    uint64_t *s = realloc(bg->stale, (bg->nstale + n) * sizeof *s);
    if (!s)
        return;
    memcpy(s + bg->nstale, gens, n * sizeof *s);
    bg->stale = s;
    bg->nstale += n;
}

bool mc_manifest_base_collect(const char *store, mc_manifest *m, bool wait)
{
    mc_journal *j = mc_manifest_journal(m);
    mc_journal_bg *bg = &j->bg;
    bool ok;
    if (!mc_isolate_reap(&bg->job, wait, &ok))
        return false;
    if (ok) {   /* it removed the stale files before writing */
        free(bg->stale);
        bg->stale = NULL;
        bg->nstale = 0;
    }
    uint64_t generation = bg->generation;
    size_t nbefore = mc_journal_before(j, generation);
    uint64_t *dropped = nbefore ? malloc(nbefore * sizeof *dropped) : NULL;
    char path[MC_PATH_MAX], mdir[MC_PATH_MAX];
    mc_manifest_file_path(store, generation, path, sizeof path);
    if (!ok || !dropped || rename(bg->tmp, path) != 0) {
        unlink(bg->tmp);
        forget(bg);
        free(dropped);
        if (!ok)
            bg->retry_after = mc_manifest_generation(m) + MC_MANIFEST_BASE_CHAIN;
        return false;
    }
    forget(bg);
    /* Either file of that name holds the same content: a failed fsync only
     * means the rename may not survive a power loss, which is harmless as
     * long as the files before it stay until the next commit's fsyncs. */
    snprintf(mdir, sizeof mdir, "%s/manifest", store);
    (void)mc_fsync_dir(mdir, NULL);
    mc_journal_rebase(j, generation, dropped);
    bg->installed++;
    add_stale(bg, dropped, nbefore);
    free(dropped);
    return true;
}

bool mc_manifest_base_child_requested(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], MC_MANIFEST_BASE_CHILD_ARG) == 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return *s >= '0' && *s <= '9' && !*end && !errno;
}

/* argv: PROGRAM MC_MANIFEST_BASE_CHILD_ARG PARENT STORE GENERATION COUNT
 * BYTES TMP [STALE...]. It first removes the files an earlier base left
 * out of the chain (unlinking a large file can take rank 0 tens of
 * milliseconds), then folds generation GENERATION's files into a base at
 * TMP (manifest_fold.h), which must hold COUNT segments of BYTES bytes. */
int mc_manifest_base_child_main(int argc, char **argv)
{
    uint64_t parent, generation, count, bytes, stale;
    if (argc < 8 || !parse_u64(argv[2], &parent) || !parse_u64(argv[4], &generation) ||
        !parse_u64(argv[5], &count) || !parse_u64(argv[6], &bytes)) {
        fprintf(stderr, "%s: %s is for mpicompact's own use\n", argv[0], MC_MANIFEST_BASE_CHILD_ARG);
        return 2;
    }
    mc_isolate_job_child_start((pid_t)parent);
    mc_fault_init(0);   /* rank 0's child: MPICOMPACT_FAULT points fire here too (tests only) */
    const char *store = argv[3], *tmp = argv[7];
    char path[MC_PATH_MAX];
    for (int i = 8; i < argc; i++)
        if (parse_u64(argv[i], &stale)) {
            mc_manifest_file_path(store, stale, path, sizeof path);
            unlink(path);
        }
    mc_err err = {0};
    if (mc_manifest_fold(store, generation, tmp, count, bytes, &err) != MC_OK) {
        fprintf(stderr, "mpicompact: background manifest base: %s\n", err.msg);
        return 1;
    }
    mc_isolate_job_child_done();   /* does not return */
    return 0;
}

/* PROGRAM's argv for a child writing a base of GENERATION (one malloc'ed
 * block: the pointers, then the strings), or NULL. */
static char **child_argv(const char *program, const char *store, const mc_manifest *m, const char *tmp,
                         const mc_journal_bg *bg)
{
    size_t n = 8 + bg->nstale, text = strlen(program) + strlen(store) + strlen(tmp) +
                                      sizeof MC_MANIFEST_BASE_CHILD_ARG + (5 + bg->nstale) * 24;
    char **argv = malloc((n + 1) * sizeof *argv + text);
    if (!argv)
        return NULL;
    char *p = (char *)(argv + n + 1);
    size_t i = 0;
#define ARG(...) (argv[i++] = p, p += sprintf(p, __VA_ARGS__) + 1)
    ARG("%s", program);
    ARG("%s", MC_MANIFEST_BASE_CHILD_ARG);
    ARG("%lld", (long long)getpid());
    ARG("%s", store);
    ARG("%llu", (unsigned long long)mc_manifest_generation(m));
    ARG("%llu", (unsigned long long)mc_manifest_count(m));
    ARG("%llu", (unsigned long long)mc_manifest_total_bytes(m));
    ARG("%s", tmp);
    for (size_t k = 0; k < bg->nstale; k++)
        ARG("%llu", (unsigned long long)bg->stale[k]);
#undef ARG
    argv[i] = NULL;
    return argv;
}

/* A child is due when the chain's edits are many or list half the
 * store, and M is exactly its committed generation. */
static bool due(mc_manifest *m)
{
    const mc_journal *j = mc_manifest_journal(m);
    if (!mc_manifest_base_on(m) || j->bg.job.pid || !j->tracking || j->lost || j->npending ||
        j->nfiles == 0 || j->files[j->nfiles - 1].generation != mc_manifest_generation(m) ||
        mc_manifest_generation(m) < j->bg.retry_after)
        return false;
    return j->nfiles >= MC_MANIFEST_BASE_CHAIN || mc_journal_edit_entries(j) >= mc_manifest_count(m) / 2;
}

void mc_manifest_base_after_switch(const char *store, mc_manifest *m)
{
    mc_journal_bg *bg = &mc_manifest_journal(m)->bg;
    char path[MC_PATH_MAX];
    if (!due(m))
        return;
    uint64_t generation = mc_manifest_generation(m);
    mc_manifest_file_path(store, generation, path, sizeof path);
    size_t len = strlen(path) + sizeof ".base.tmp";
    if (!(bg->tmp = malloc(len)))
        return;
    snprintf(bg->tmp, len, "%s.base.tmp", path);
    char program[MC_PATH_MAX];
    ssize_t plen = readlink("/proc/self/exe", program, sizeof program - 1);
    char **argv = NULL;
    if (plen > 0 && (size_t)plen < sizeof program - 1) {
        program[plen] = '\0';
        /* Replaced on disk since it started: its own file is still there
         * through /proc (valgrind's client has no other name than the
         * link's target, so that is used when it exists). */
        static const char deleted[] = " (deleted)";
        size_t dl = sizeof deleted - 1;
        if ((size_t)plen > dl && strcmp(program + plen - dl, deleted) == 0)
            snprintf(program, sizeof program, "/proc/self/exe");
        argv = child_argv(program, store, m, bg->tmp, bg);
    }
    if (!argv || mc_isolate_exec(argv, &bg->job, NULL) != MC_OK) {
        free(argv);
        forget(bg);
        bg->retry_after = generation + MC_MANIFEST_BASE_CHAIN;
        return;
    }
    free(argv);
    bg->generation = generation;
}
