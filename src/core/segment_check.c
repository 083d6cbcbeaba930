/* segment_check: a segment file from outside, validated in a child process (segment_check.h). */
#include "segment_check.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "isolate.h"
#include "manifest_wire.h"
#include "segment_validate.h"

mc_status mc_seg_check_stall_seconds(unsigned *seconds, mc_err *err)
{
    const char *env = getenv("MPICOMPACT_ADD_TIMEOUT");
    *seconds = MC_SEG_CHECK_STALL_DEFAULT;
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
    const char *path;
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
    mc_status st = mc_seg_validate_watched(job->path, alive, child, &meta, &err);
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
static mc_status decode_verdict(const char *path, const mc_buf *reply, mc_seg_meta *meta, mc_err *err)
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
    return mc_err_set(err, MC_EPROTO, 0, "%s: the validating child process replied garbled data", path);
}

/* mc_seg_validate() of PATH in a child process (isolate.h). */
static mc_status validate_isolated(const char *path, unsigned stall, mc_seg_meta *meta, mc_err *err)
{
    validate_job job = {path};
    mc_isolate_outcome outcome;
    int signo = 0;
    mc_buf reply = {0};
    mc_status st = mc_isolate_run(validate_in_child, &job, stall * 1000u, &outcome, &signo, &reply, err);
    if (st != MC_OK) {
        mc_err why = {0};
        if (err)
            why = *err;
        st = mc_err_set(err, st, why.sys_errno, "%s: cannot start the process that reads it: %s", path, why.msg);
    } else if (outcome == MC_ISOLATE_DONE)
        st = decode_verdict(path, &reply, meta, err);
    else if (outcome == MC_ISOLATE_STALLED)
        st = mc_err_set(err, MC_ECORRUPT, 0,
                        "%s: reading it did not finish: no progress in %u s (damaged HDF5 metadata?)", path, stall);
    else if (signo)
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: HDF5 crashed reading it (%s; damaged file?)", path,
                        strsignal(signo));
    else
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: the process reading it ended without an answer (damaged file?)",
                        path);
    mc_buf_free(&reply);
    return st;
}

mc_status mc_seg_check_file(const char *path, mc_seg_meta *meta, mc_err *err)
{
    unsigned stall = 0;
    mc_status st = mc_seg_check_stall_seconds(&stall, err);
    if (st == MC_OK)
        st = stall ? validate_isolated(path, stall, meta, err) : mc_seg_validate(path, meta, err);
    return st;
}
