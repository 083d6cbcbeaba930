/* segment_relabel: copy an incoming segment and give it its new segno (segment_relabel.h). */
#include "segment_relabel.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"
#include "h5util.h"
#include "store.h"

/* Opens PATH read-write for rewriting WHAT; *fapl must be closed after. */
static mc_status open_rw(const char *path, const char *what, hid_t *fapl, hid_t *file, mc_err *err)
{
    mc_h5_init();
    char msg[160];
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (*fapl < 0 || H5Pset_fapl_sec2(*fapl) < 0 || H5Pset_file_locking(*fapl, 0, 1) < 0 ||
        H5Pset_fclose_degree(*fapl, H5F_CLOSE_STRONG) < 0)
        return mc_h5_fail(err, MC_EIO, path, "cannot set up file access properties");
    *file = H5Fopen(path, H5F_ACC_RDWR, *fapl);
    snprintf(msg, sizeof msg, "cannot open for rewriting the %s", what);
    return *file < 0 ? mc_h5_fail(err, MC_EIO, path, msg) : MC_OK;
}

mc_status mc_seg_relabel(const char *path, uint64_t segno, mc_err *err)
{
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    mc_status st = open_rw(path, "segno attribute", &fapl, &file, err);
    if (st == MC_OK)
        st = mc_h5_attr_write_u64(file, path, "segno", segno, err);
    if (st == MC_OK) {
        st = mc_h5_close_sync_at(file, path, "seg_fsync", segno, err);
        file = H5I_INVALID_HID;
    }
    mc_h5_close(&file);
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* Items per chunk of a rewritten seqs dataset (1 MiB). */
#define ASSIGN_CHUNK ((uint64_t)1 << 17)

mc_status mc_seg_assign_seq(const char *path, uint64_t seq, mc_err *err)
{
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    uint64_t nitems = 0, *buf = NULL;
    mc_status st = open_rw(path, "seqs", &fapl, &file, err);
    if (st == MC_OK)
        st = mc_h5_attr_read_u64(file, path, "nitems", &nitems, err);
    if (st != MC_OK)
        goto cleanup;
    uint64_t chunk = nitems < ASSIGN_CHUNK ? (nitems ? nitems : 1) : ASSIGN_CHUNK;
    if (!(buf = malloc(chunk * sizeof *buf))) {
        st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    for (uint64_t i = 0; i < chunk; i++)
        buf[i] = seq;
    /* The old dataset may be of another unsigned type (h5py writers): a new
     * one replaces it (its space is not reclaimed: 8 bytes per item). */
    if (H5Ldelete(file, "seqs", H5P_DEFAULT) < 0) {
        st = mc_h5_fail(err, MC_EIO, path, "cannot remove the seqs dataset");
        goto cleanup;
    }
    st = mc_h5_dset_create_direct(file, path, "seqs", MC_H5_U64, chunk, &dset, err);
    for (uint64_t done = 0; st == MC_OK && done < nitems; done += chunk)
        st = mc_h5_dset_append(dset, path, "seqs", MC_H5_U64, buf, nitems - done < chunk ? nitems - done : chunk, err);
    mc_h5_dset_close(&dset);
    if (st == MC_OK)
        st = mc_h5_attr_write_u64(file, path, "min_seq", seq, err);
    if (st == MC_OK)
        st = mc_h5_attr_write_u64(file, path, "max_seq", seq, err);
    if (st == MC_OK) {
        st = mc_h5_close_sync(file, path, err);
        file = H5I_INVALID_HID;
    }
cleanup:
    free(buf);
    mc_h5_dset_close(&dset);
    mc_h5_close(&file);
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* Copies SRC to DST (the temporary of segment SEGNO). */
static mc_status copy_bytes(const char *src, const char *dst, uint64_t segno, mc_err *err)
{
    mc_status st = MC_OK;
    int in = -1, out = -1;
    char buf[1 << 16];
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot open: %s", src, strerror(e));
        goto cleanup;
    }
    struct stat sb;
    if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {   /* not /dev/zero, a FIFO, a directory */
        st = mc_err_set(err, MC_EINVAL, 0, "%s: not a regular file", src);
        goto cleanup;
    }
    if ((st = mc_fault_check("seg_create", segno, dst, err)) != MC_OK)
        goto cleanup;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot create: %s", dst, strerror(e));
        goto cleanup;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            st = mc_err_set(err, mc_status_from_errno(e), e, "%s: read: %s", src, strerror(e));
            goto cleanup;
        }
        if (n == 0)
            break;
        if ((st = mc_fault_check("seg_write", segno, dst, err)) != MC_OK)
            goto cleanup;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                int e = errno;
                st = mc_err_set(err, mc_status_from_errno(e), e, "%s: write: %s", dst, strerror(e));
                goto cleanup;
            }
            off += w;
        }
    }
    if (close(out) != 0) {
        int e = errno;
        out = -1;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: close: %s", dst, strerror(e));
    }
    out = -1;
cleanup:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return st;
}

mc_status mc_seg_copy_raw(const char *src, const char *tmp, uint64_t segno, mc_err *err)
{
    mc_status st = copy_bytes(src, tmp, segno, err);
    if (st != MC_OK)
        unlink(tmp);
    return st;
}

mc_status mc_seg_install(const char *tmp, const char *dst, uint64_t segno, mc_err *err)
{
    char dir[MC_PATH_MAX];
    mc_status st = mc_seg_relabel(tmp, segno, err);   /* closes with fsync */
    if (st == MC_OK)
        st = mc_fault_check("seg_rename", segno, tmp, err);
    if (st == MC_OK && rename(tmp, dst) != 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: rename to %s: %s", tmp, dst, strerror(e));
    }
    if (st != MC_OK) {
        unlink(tmp);
        return st;
    }
    snprintf(dir, sizeof dir, "%s", dst);
    return mc_fsync_dir(dirname(dir), err);
}

mc_status mc_seg_copy_relabel(const char *src, const char *dst, uint64_t segno, mc_err *err)
{
    char tmp[MC_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    mc_status st = mc_seg_copy_raw(src, tmp, segno, err);
    return st == MC_OK ? mc_seg_install(tmp, dst, segno, err) : st;
}
