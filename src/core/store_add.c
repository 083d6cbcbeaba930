/* store_add: mc_store_add() (include/mpicompact.h), `mpicompact add` in one
 * process: the steps of add.h under the store's lock, then one commit.
 *
 * Like every writing command it removes the orphans a crashed writer left
 * before it allocates anything (store.h); inputs inside the store are
 * refused before that (add_input.h). */
#include <errno.h>
#include <stdlib.h>

#include "add.h"
#include "add_input.h"
#include "err.h"
#include "lock.h"
#include "manifest_io.h"
#include "segment_relabel.h"
#include "store.h"

/* Copies, validates and installs every file into M (segnos FIRST...). */
static mc_status add_files(const char *path, mc_manifest *m, const char *const *files, size_t nfiles,
                           unsigned flags, uint64_t first, mc_err *err)
{
    mc_status st = MC_OK;
    char resolved[MC_PATH_MAX], copy[MC_PATH_MAX + 8];
    mc_seg_meta *metas = calloc(nfiles + 1, sizeof *metas);
    if (!metas)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
    /* Every file is checked before any is installed: a bad last file adds nothing. */
    for (size_t i = 0; i < nfiles && st == MC_OK; i++) {
        if (!files[i]) {
            st = mc_err_set(err, MC_EINVAL, 0, "%s: add: file %zu is NULL", path, i);
            break;
        }
        mc_add_copy_path(path, first + i, copy);
        st = mc_add_input_resolve(path, files[i], resolved, err);
        if (st == MC_OK)
            st = mc_seg_copy_raw(resolved, copy, first + i, err);
        if (st == MC_OK)
            st = mc_add_validate(copy, flags, &metas[i], err);
        if (st != MC_OK)
            mc_add_name_input(err, copy, files[i]);
    }
    for (size_t i = 0; i < nfiles && st == MC_OK; i++)
        st = mc_add_install(path, m, first + i, flags, &metas[i], err);
    for (size_t i = 0; i < nfiles; i++)
        mc_seg_meta_clear(&metas[i]);
    free(metas);
    return st;
}

mc_status mc_store_add(const char *path, const char *const *files, size_t nfiles, unsigned flags, mc_err *err)
{
    mc_err_clear(err);
    if (!path || (!files && nfiles))
        return mc_err_set(err, MC_EINVAL, 0, "mc_store_add: no store path or no file list");
    if (flags & ~(unsigned)MC_ADD_ASSIGN_SEQ)
        return mc_err_set(err, MC_EINVAL, 0, "%s: add: unknown flags 0x%x", path, flags);
    if (nfiles == 0)
        return MC_OK;
    mc_lock *lock = NULL;
    mc_manifest *m = NULL;
    uint64_t first = 0;
    bool allocated = false;
    mc_status st = mc_lock_acquire(path, "add", &lock, err);
    if (st == MC_OK)
        st = mc_manifest_load(path, &m, err);
    if (st == MC_OK)
        st = mc_store_remove_orphans(path, m, NULL, err);
    if (st != MC_OK)
        goto cleanup;
    first = mc_manifest_alloc_segnos(m, nfiles);
    allocated = true;
    st = add_files(path, m, files, nfiles, flags, first, err);
    if (st == MC_OK) {
        uint64_t before = mc_manifest_generation(m);
        mc_manifest_note_content_change(m);   /* readers resuming across commits must start over */
        st = mc_manifest_commit(path, m, err);
        if (mc_manifest_generation(m) != before)
            allocated = false;   /* CURRENT names the files: keep them even if the commit then failed */
    }
cleanup:
    if (st != MC_OK && allocated)
        for (size_t i = 0; i < nfiles; i++)
            mc_store_remove_segment(path, first + i, NULL);
    mc_manifest_destroy(&m);
    mc_lock_release(&lock);
    return st;
}
