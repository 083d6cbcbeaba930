/* add: copying, validating and installing added segment files (add.h). */
#include "add.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "segment_check.h"
#include "segment_relabel.h"
#include "segset.h"
#include "store.h"

void mc_add_copy_path(const char *store, uint64_t segno, char *out)
{
    mc_store_seg_path(store, segno, out);
    strcat(out, ".tmp");
}

mc_status mc_add_validate(const char *copy, unsigned flags, mc_seg_meta *meta, mc_err *err)
{
    mc_status st = mc_seg_check_file(copy, meta, err);
    if (st == MC_OK && !(flags & MC_ADD_ASSIGN_SEQ))
        st = mc_seg_check_add_seqs(copy, meta, err);
    meta->level = 0;
    return st;
}

/* The installed file PATH is the validated copy, relabelled: its attributes
 * still agree with the descriptor. */
static mc_status check_installed(const char *path, const mc_seg_meta *meta, mc_err *err)
{
    mc_seg_reader *r = NULL;
    mc_status st = mc_seg_reader_open(path, &r, err);
    if (st == MC_OK)
        st = mc_seg_reader_check_meta(r, path, meta, err);
    mc_seg_reader_close(&r);
    return st;
}

mc_status mc_add_install(const char *store, mc_manifest *m, uint64_t segno, unsigned flags, mc_seg_meta *meta,
                         mc_err *err)
{
    char path[MC_PATH_MAX], tmp[MC_PATH_MAX + 8];
    mc_store_seg_path(store, segno, path);
    mc_add_copy_path(store, segno, tmp);
    meta->segno = segno;
    meta->level = 0;
    mc_status st = MC_OK;
    if (flags & MC_ADD_ASSIGN_SEQ) {
        uint64_t seq = mc_manifest_alloc_seqs(m, 1);   /* above every seq in the store */
        if ((st = mc_seg_assign_seq(tmp, seq, err)) != MC_OK)
            return st;
        meta->min_seq = meta->max_seq = seq;
    }
    st = mc_seg_install(tmp, path, segno, err);
    if (st == MC_OK)
        st = check_installed(path, meta, err);
    if (st == MC_OK)
        st = mc_manifest_add(m, meta, err);
    if (st == MC_OK && meta->max_seq >= mc_manifest_next_seq(m))   /* <= MC_ADD_SEQ_MAX: no wrap */
        mc_manifest_set_next_seq(m, meta->max_seq + 1);            /* later gens write newer seqs */
    return st;
}

mc_status mc_add_count_shadowed(const char *store, const mc_manifest *m, const char *path, const mc_seg_meta *meta,
                                uint64_t *nshadowed, mc_err *err)
{
    *nshadowed = 0;
    mc_segset *set = NULL;
    mc_seg_reader *r = NULL;
    /* Only a segment holding a seq above the file's smallest can shadow. */
    mc_status st = mc_segset_open(store, m, meta->min_key, meta->min_key_len, meta->max_key, meta->max_key_len,
                                  meta->min_seq + 1, NULL, NULL, &set, err);
    if (st != MC_OK || mc_segset_count(set) == 0)
        goto cleanup;
    if ((st = mc_seg_reader_open(path, &r, err)) != MC_OK)
        goto cleanup;
    mc_item mine, theirs = {0};
    bool my_eof = false, their_eof = false, have_theirs = false;
    while (st == MC_OK) {
        if ((st = mc_seg_reader_next(r, &mine, &my_eof, err)) != MC_OK || my_eof)
            break;
        /* Advance the store's merge to the first key >= mine. */
        while (!their_eof && (!have_theirs || mc_key_cmp(theirs.key, theirs.key_len, mine.key, mine.key_len) < 0)) {
            if ((st = mc_segset_next(set, &theirs, &their_eof, err)) != MC_OK)
                break;
            have_theirs = !their_eof;
        }
        if (st == MC_OK && have_theirs && theirs.seq > mine.seq &&
            mc_key_cmp(theirs.key, theirs.key_len, mine.key, mine.key_len) == 0)
            (*nshadowed)++;
    }
cleanup:
    mc_seg_reader_close(&r);
    mc_segset_close(&set);
    return st;
}

void mc_add_name_input(mc_err *err, const char *copy, const char *name)
{
    if (!err)
        return;
    char out[sizeof err->msg];
    const char *msg = err->msg, *at;
    size_t n = 0, clen = strlen(copy);
    out[0] = '\0';
    while (clen && (at = strstr(msg, copy)) != NULL && n < sizeof out) {
        n += (size_t)snprintf(out + n, sizeof out - n, "%.*s%s", (int)(at - msg), msg, name);
        msg = at + clen;
    }
    if (n < sizeof out)
        snprintf(out + n, sizeof out - n, "%s", msg);
    if (strstr(out, name))
        memcpy(err->msg, out, sizeof out);
    else {
        char tmp[sizeof err->msg];
        memcpy(tmp, out, sizeof out);
        snprintf(err->msg, sizeof err->msg, "%s: %.*s", name, (int)(sizeof err->msg / 2), tmp);
    }
}
