/* manifest_base: bases written by a child process (manifest_base.h). */
#include "manifest_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef struct child_arg {
    const char *store, *tmp;
    const mc_manifest *m;
    const mc_journal_bg *bg;
} child_arg;

/* The child first removes the files an earlier base left out of the chain
 * (unlinking a large file can take rank 0 tens of milliseconds), then
 * writes the base. */
static bool write_in_child(void *p)
{
    const child_arg *a = p;
    char path[MC_PATH_MAX];
    for (size_t i = 0; i < a->bg->nstale; i++) {
        mc_manifest_file_path(a->store, a->bg->stale[i], path, sizeof path);
        unlink(path);
    }
    mc_err err = {0};
    if (mc_manifest_write_base(a->tmp, a->m, &err) == MC_OK)
        return true;
    dprintf(STDERR_FILENO, "mpicompact: background manifest base: %s\n", err.msg);
    return false;
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
    child_arg a = {store, bg->tmp, m, bg};
    if (mc_isolate_spawn(write_in_child, &a, &bg->job, NULL) != MC_OK) {
        forget(bg);
        bg->retry_after = generation + MC_MANIFEST_BASE_CHAIN;
        return;
    }
    bg->generation = generation;
}
