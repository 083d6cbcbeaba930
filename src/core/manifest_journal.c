/* manifest_journal: change notes and the chain of edit files (manifest_journal.h). */
#include "manifest_journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void mc_journal_note(mc_journal *j, uint64_t segno, bool was_live)
{
    if (!j->tracking || j->lost)
        return;
    if (j->npending == j->pcap) {
        size_t cap = j->pcap ? 2 * j->pcap : 64;
        mc_touch *p = cap <= UINT32_MAX ? realloc(j->pending, cap * sizeof *p) : NULL;
        if (!p) {
            j->lost = true;
            return;
        }
        j->pending = p;
        j->pcap = cap;
    }
    j->pending[j->npending] = (mc_touch){.segno = segno, .order = (uint32_t)j->npending, .was_live = was_live};
    j->npending++;
}

static void free_files(mc_journal *j)
{
    while (j->nfiles)
        mc_journal_pop(j);
}

void mc_journal_reset(mc_journal *j, uint64_t base_generation)
{
    free_files(j);
    j->npending = 0;
    j->lost = false;
    j->tracking = true;
    j->base_generation = base_generation;
}

void mc_journal_free(mc_journal *j)
{
    free_files(j);
    free(j->bg.stale);
    free(j->bg.tmp);
    free(j->files);
    free(j->pending);
    memset(j, 0, sizeof *j);
}

mc_status mc_journal_push(mc_journal *j, uint64_t generation, mc_touch *t, size_t n, mc_err *err)
{
    if (j->nfiles == j->fcap) {
        size_t cap = j->fcap ? 2 * j->fcap : 8;
        mc_edit_file *f = realloc(j->files, cap * sizeof *f);
        if (!f) {
            free(t);
            return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory for the edit chain");
        }
        j->files = f;
        j->fcap = cap;
    }
    j->files[j->nfiles++] = (mc_edit_file){.generation = generation, .t = t, .n = n};
    return MC_OK;
}

void mc_journal_pop(mc_journal *j)
{
    if (!j->nfiles)
        return;
    free(j->files[--j->nfiles].t);
}

size_t mc_journal_before(const mc_journal *j, uint64_t generation)
{
    if (!j->tracking || j->lost)
        return 0;
    for (size_t i = 0; i < j->nfiles; i++)
        if (j->files[i].generation == generation)
            return i + 1;
    return 0;
}

void mc_journal_rebase(mc_journal *j, uint64_t generation, uint64_t *dropped)
{
    size_t at = mc_journal_before(j, generation) - 1;
    dropped[0] = j->base_generation;
    for (size_t i = 0; i < at; i++)
        dropped[i + 1] = j->files[i].generation;
    for (size_t i = 0; i <= at; i++)
        free(j->files[i].t);
    memmove(j->files, j->files + at + 1, (j->nfiles - at - 1) * sizeof *j->files);
    j->nfiles -= at + 1;
    j->base_generation = generation;
}

size_t mc_journal_edit_entries(const mc_journal *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->nfiles; i++)
        n += j->files[i].n;
    return n;
}

static int touch_cmp(const void *a, const void *b)
{
    const mc_touch *x = a, *y = b;
    if (x->segno != y->segno)
        return x->segno < y->segno ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void mc_touch_sort_unique(mc_touch *t, size_t *n)
{
    if (*n == 0)
        return;
    qsort(t, *n, sizeof *t, touch_cmp);
    size_t w = 1;
    for (size_t i = 1; i < *n; i++)
        if (t[i].segno != t[w - 1].segno)
            t[w++] = t[i];
    *n = w;
}

mc_status mc_touch_union(const mc_touch *older, size_t nolder, const mc_touch *newer, size_t nnewer,
                         mc_touch **out, size_t *nout, mc_err *err)
{
    size_t cap = nolder + nnewer;
    mc_touch *u = malloc((cap ? cap : 1) * sizeof *u);
    if (!u)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "manifest: out of memory merging %zu edits", cap);
    size_t i = 0, k = 0, n = 0;
    while (i < nolder || k < nnewer) {
        if (k == nnewer || (i < nolder && older[i].segno < newer[k].segno))
            u[n++] = older[i++];
        else if (i == nolder || newer[k].segno < older[i].segno)
            u[n++] = newer[k++];
        else {
            u[n++] = older[i++];
            k++;
        }
    }
    *out = u;
    *nout = n;
    return MC_OK;
}
