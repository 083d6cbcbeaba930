/* add: copying, validating and installing added segment files (add.h). */
#include "add.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "isolate.h"
#include "manifest_wire.h"
#include "segment_relabel.h"
#include "segment_validate.h"
#include "segset.h"
#include "store.h"

void mc_add_copy_path(const char *store, uint64_t segno, char *out)
{
    mc_store_seg_path(store, segno, out);
    strcat(out, ".tmp");
}

mc_status mc_add_stall_seconds(unsigned *seconds, mc_err *err)
{
    const char *env = getenv("MPICOMPACT_ADD_TIMEOUT");
    *seconds = MC_ADD_STALL_DEFAULT;
    if (!env || !*env)
        return MC_OK;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(env, &end, 10);
    if (errno || *end || env[0] == '-' || v > 86400)
        return mc_err_set(err, MC_EINVAL, 0,
                          "MPICOMPACT_ADD_TIMEOUT=%s: not a number of seconds from 0 (no child process) to 86400",
                          env);
    *seconds = (unsigned)v;
    return MC_OK;
}

/* The validation in the child: its verdict as status, errno, message and
 * (when valid) the descriptor. */
typedef struct validate_job {
    const char *copy;
} validate_job;

static void alive(void *child, const mc_item *item)
{
    (void)item;
    mc_isolate_alive(child);
}

static void validate_in_child(void *arg, mc_isolate_child *child)
{
    const validate_job *job = arg;
    mc_seg_meta meta = {0};
    mc_err err;
    mc_err_clear(&err);
    mc_status st = mc_seg_validate_watched(job->copy, alive, child, &meta, &err);
    mc_buf out = {0};
    if (mc_buf_append_u64(&out, (uint64_t)st, NULL) == MC_OK &&
        mc_buf_append_u64(&out, (uint64_t)(int64_t)err.sys_errno, NULL) == MC_OK &&
        mc_buf_append(&out, err.msg, strlen(err.msg) + 1, NULL) == MC_OK &&
        (st != MC_OK || mc_seg_meta_encode(&out, &meta, NULL) == MC_OK))
        mc_isolate_reply(child, out.p, out.n);
    mc_buf_free(&out);
    mc_seg_meta_clear(&meta);
}

static uint64_t get_u64(const uint8_t *q)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)q[b] << (8 * b);
    return v;
}

/* The child's reply back into a status, ERR and *META. */
static mc_status decode_verdict(const char *copy, const mc_buf *reply, mc_seg_meta *meta, mc_err *err)
{
    const uint8_t *p = reply->p, *end = p + reply->n;
    const uint8_t *nul = reply->n > 16 ? memchr(p + 16, 0, reply->n - 16) : NULL;
    if (!nul || nul - (p + 16) >= (ptrdiff_t)sizeof err->msg)
        goto garbled;
    mc_status st = (mc_status)get_u64(p);
    if (st != MC_OK) {
        if (!err)
            return st;
        err->code = st;
        err->sys_errno = (int)(int64_t)get_u64(p + 8);
        memcpy(err->msg, p + 16, (size_t)(nul - (p + 16)) + 1);
        return st;
    }
    p = nul + 1;
    if (mc_seg_meta_decode(&p, end, meta, NULL) == MC_OK && p == end)
        return MC_OK;
garbled:
    mc_seg_meta_clear(meta);
    return mc_err_set(err, MC_EPROTO, 0, "%s: the validating child process replied garbled data", copy);
}

/* mc_seg_validate() of COPY in a child process (isolate.h). */
static mc_status validate_isolated(const char *copy, unsigned stall, mc_seg_meta *meta, mc_err *err)
{
    validate_job job = {copy};
    mc_isolate_outcome outcome;
    int signo = 0;
    mc_buf reply = {0};
    mc_status st = mc_isolate_run(validate_in_child, &job, stall * 1000u, &outcome, &signo, &reply, err);
    if (st != MC_OK) {
        mc_err why = {0};
        if (err)
            why = *err;
        st = mc_err_set(err, st, why.sys_errno, "%s: cannot start the process that reads it: %s", copy, why.msg);
    } else if (outcome == MC_ISOLATE_DONE)
        st = decode_verdict(copy, &reply, meta, err);
    else if (outcome == MC_ISOLATE_STALLED)
        st = mc_err_set(err, MC_ECORRUPT, 0,
                        "%s: reading it did not finish: no progress in %u s (damaged HDF5 metadata?)", copy, stall);
    else if (signo)
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: HDF5 crashed reading it (%s; damaged file?)", copy,
                        strsignal(signo));
    else
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: the process reading it ended without an answer (damaged file?)",
                        copy);
    mc_buf_free(&reply);
    return st;
}

mc_status mc_add_validate(const char *copy, unsigned flags, mc_seg_meta *meta, mc_err *err)
{
    unsigned stall = 0;
    mc_status st = mc_add_stall_seconds(&stall, err);
    if (st == MC_OK)
        st = stall ? validate_isolated(copy, stall, meta, err) : mc_seg_validate(copy, meta, err);
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
