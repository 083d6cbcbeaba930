/* h5util: HDF5 files, scalar attributes and 1-D datasets with our error messages (h5util.h). */
#include "h5util.h"
#include "h5version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"

/* ---- initialisation and the error stack ---- */

/* Room for metadata HDF5 may still allocate while closing a file. */
#define CLOSE_SLACK ((off_t)64 << 10)

static bool h5_initialised;

void mc_h5_init(void)
{
    if (h5_initialised)
        return;
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5_initialised = true;
}

typedef struct stack_info {
    char reason[512];   /* innermost entry's description */
    int sys_errno;      /* "errno = N" reported by the file driver, else 0 */
    bool checksum;      /* the Fletcher32 filter found a mismatch */
} stack_info;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *ctx)
{
    stack_info *info = ctx;
    const char *desc = e->desc ? e->desc : "";
    if (n == 0)
        snprintf(info->reason, sizeof info->reason, "%s", desc);
    const char *p = strstr(desc, "errno = ");
    if (p && info->sys_errno == 0)
        info->sys_errno = atoi(p + 8);
    if (strstr(desc, "Fletcher32"))   /* H5Z's "data error detected by Fletcher32 checksum" */
        info->checksum = true;
    return 0;
}

/* Reads and clears the current HDF5 error stack. */
static void stack_read(stack_info *info)
{
    memset(info, 0, sizeof *info);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, info);
    H5Eclear2(H5E_DEFAULT);
    for (char *p = info->reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (!info->reason[0])
        snprintf(info->reason, sizeof info->reason, "HDF5 call failed");
}

mc_status mc_h5_fail(mc_err *err, mc_status code, const char *path, const char *what)
{
    stack_info info;
    stack_read(&info);
    if (info.sys_errno)
        code = mc_status_from_errno(info.sys_errno);
    if (info.sys_errno)   /* the driver's own text is long: the errno says it */
        return mc_err_set(err, code, info.sys_errno, "%s: %s: %s", path, what, strerror(info.sys_errno));
    return mc_err_set(err, code, 0, "%s: %s: %s", path, what, info.reason);
}

/* ---- files ---- */

static hid_t make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_fapl_sec2(fapl) < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110) < 0 ||
        H5Pset_file_locking(fapl, 0, 1) < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

mc_status mc_h5_create(const char *path, hid_t *file, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    *file = H5I_INVALID_HID;
    hid_t fapl = make_fapl();
    if (fapl < 0) {
        st = mc_h5_fail(err, MC_EIO, path, "cannot set up file access properties");
        goto cleanup;
    }
    *file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (*file < 0) {
        st = mc_h5_fail(err, MC_EIO, path, "cannot create HDF5 file");
        *file = H5I_INVALID_HID;
    }
cleanup:
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* Our files hold a few attributes and datasets in the root group; a file
 * with thousands (valid HDF5, huge metadata) would make HDF5 spend minutes
 * (rewriting one attribute among 20000 took 7 minutes) before any of our
 * checks: refused at open (docs/FORMAT.md, limits). */
static mc_status check_root_size(hid_t file, const char *path, mc_err *err)
{
    H5O_info_t oinfo;
    H5G_info_t ginfo;
    if (H5Oget_info2(file, &oinfo, H5O_INFO_NUM_ATTRS) < 0 || H5Gget_info(file, &ginfo) < 0)
        return mc_h5_fail(err, MC_ECORRUPT, path, "cannot read the root group");
    if (oinfo.num_attrs > MC_H5_ROOT_ATTRS_MAX)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: the root group has %llu attributes, more than the limit of %u",
                          path, (unsigned long long)oinfo.num_attrs, MC_H5_ROOT_ATTRS_MAX);
    if (ginfo.nlinks > MC_H5_ROOT_LINKS_MAX)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: the root group has %llu objects, more than the limit of %u", path,
                          (unsigned long long)ginfo.nlinks, MC_H5_ROOT_LINKS_MAX);
    return MC_OK;
}

mc_status mc_h5_open_ro(const char *path, hid_t *file, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    *file = H5I_INVALID_HID;
    hid_t fapl = H5I_INVALID_HID;
    if (access(path, R_OK) != 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot open: %s", path, strerror(e));
    }
    /* Our check before HDF5's: segment and manifest files are regular files
     * inside the store. A symbolic link (which could point anywhere) is
     * never followed, and a directory or device is named as what it is. */
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot open: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode))
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: not a regular file (%s)", path,
                          S_ISLNK(sb.st_mode) ? "a symbolic link, never followed" :
                          S_ISDIR(sb.st_mode) ? "a directory" : "a special file");
    fapl = make_fapl();
    if (fapl < 0) {
        st = mc_h5_fail(err, MC_EIO, path, "cannot set up file access properties");
        goto cleanup;
    }
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (*file < 0) {
        /* The file exists and is readable: HDF5 refusing it means damage. */
        st = mc_h5_fail(err, MC_ECORRUPT, path, "not a readable HDF5 file (truncated or damaged?)");
        *file = H5I_INVALID_HID;
    } else if ((st = check_root_size(*file, path, err)) != MC_OK) {
        mc_h5_close(file);
    }
cleanup:
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

mc_status mc_h5_reopen(hid_t file, const char *path, hid_t *out, mc_err *err)
{
    *out = H5Freopen(file);
    if (*out < 0) {
        *out = H5I_INVALID_HID;
        return mc_h5_fail(err, MC_EIO, path, "cannot open the file again");
    }
    return MC_OK;
}

/* HDF5 writes its cached metadata at close into space it allocated below
 * the end of the file. A write failing there leaves the library broken (a
 * failed H5Fclose cannot be retried and crashes the process at exit), so
 * make sure those blocks exist first: a full disk then fails here, where it
 * can still be handled. Skipped where fallocate is not supported. */
static mc_status reserve_close_space(hid_t file, const char *path, mc_err *err)
{
    hsize_t size = 0;
    if (H5Fget_filesize(file, &size) < 0)
        return mc_h5_fail(err, MC_EIO, path, "cannot get the file size");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: open: %s", path, strerror(e));
    }
    mc_status st = MC_OK;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size + CLOSE_SLACK) != 0 && errno != EOPNOTSUPP &&
        errno != ENOSYS) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: reserving space to close: %s", path, strerror(e));
    }
    close(fd);
    return st;
}

void mc_h5_detach(hid_t file)
{
    int *fdp = NULL;
    if (file < 0 || H5Fget_vfd_handle(file, H5P_DEFAULT, (void **)&fdp) < 0 || !fdp || *fdp < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    int mem = memfd_create("mpicompact-discard", MFD_CLOEXEC);
    if (mem < 0)
        return;
    if (dup3(mem, *fdp, O_CLOEXEC) < 0) {
        /* closing is all that is left to try */
    }
    close(mem);
}

mc_status mc_h5_close_sync(hid_t file, const char *path, mc_err *err)
{
    return mc_h5_close_sync_at(file, path, NULL, MC_FAULT_ANY_SEGNO, err);
}

mc_status mc_h5_close_sync_at(hid_t file, const char *path, const char *point, uint64_t segno, mc_err *err)
{
    mc_h5_init();
    int fd = -1;
    mc_status st = reserve_close_space(file, path, err);
    if (st != MC_OK) {
        /* The file is lost anyway: let HDF5 close it without the disk. */
        mc_h5_detach(file);
        mc_h5_close(&file);
        return st;
    }
    if (H5Fclose(file) < 0) {
        st = mc_h5_fail(err, MC_EIO, path, "cannot close HDF5 file");
        goto cleanup;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot reopen to fsync: %s", path, strerror(e));
        goto cleanup;
    }
    if (point && (st = mc_fault_check(point, segno, path, err)) != MC_OK)
        goto cleanup;
    if (fsync(fd) != 0) {
        int e = errno;
        st = mc_err_set(err, mc_status_from_errno(e), e, "%s: fsync: %s", path, strerror(e));
        goto cleanup;
    }
cleanup:
    if (fd >= 0)
        close(fd);
    return st;
}

/* FILE's descriptor (sec2 driver), or -1. */
static int file_fd(hid_t file)
{
    int *fdp = NULL;
    if (file < 0 || H5Fget_vfd_handle(file, H5P_DEFAULT, (void **)&fdp) < 0 || !fdp || *fdp < 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    return *fdp;
}

int mc_h5_dup_fd(hid_t file)
{
    int fd = file_fd(file);
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void mc_h5_start_writeback(hid_t file)
{
    int fd = file_fd(file);
    if (fd >= 0)
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

void mc_h5_read_ahead(hid_t file, uint64_t off, uint64_t len)
{
    int fd = file_fd(file);
    if (fd >= 0 && len > 0)
        (void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

uint64_t mc_h5_file_size(hid_t file)
{
    hsize_t size = 0;
    if (H5Fget_filesize(file, &size) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    return size;
}

void mc_h5_close(hid_t *file)
{
    if (file && *file >= 0) {
        H5Fclose(*file);
        H5Eclear2(H5E_DEFAULT);
    }
    if (file)
        *file = H5I_INVALID_HID;
}

/* ---- attributes ---- */

/* Writes a scalar attribute of FILE_TYPE from MEM_TYPE data, replacing one
 * of the same name. */
static mc_status attr_write(hid_t file, const char *path, const char *name, hid_t file_type, hid_t mem_type,
                            const void *data, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    char what[320];
    snprintf(what, sizeof what, "cannot write attribute '%s'", name);
    htri_t exists = H5Aexists(file, name);
    if (exists < 0 || (exists > 0 && H5Adelete(file, name) < 0))
        goto fail;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto fail;
    attr = H5Acreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mem_type, data) < 0)
        goto fail;
    goto cleanup;
fail:
    st = mc_h5_fail(err, MC_EIO, path, what);
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

mc_status mc_h5_attr_write_u64(hid_t file, const char *path, const char *name, uint64_t v, mc_err *err)
{
    return attr_write(file, path, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v, err);
}

mc_status mc_h5_attr_write_u32(hid_t file, const char *path, const char *name, uint32_t v, mc_err *err)
{
    return attr_write(file, path, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &v, err);
}

mc_status mc_h5_attr_write_str(hid_t file, const char *path, const char *name, const char *v, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
        char what[320];
        snprintf(what, sizeof what, "cannot make a string type for attribute '%s'", name);
        st = mc_h5_fail(err, MC_EIO, path, what);
        goto cleanup;
    }
    st = attr_write(file, path, name, type, type, &v, err);
cleanup:
    if (type >= 0)
        H5Tclose(type);
    return st;
}

/* Opens root attribute NAME, which must hold exactly one element. */
static mc_status attr_open(hid_t file, const char *path, const char *name, hid_t *attr, hid_t *type, mc_err *err)
{
    mc_h5_init();
    *attr = *type = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    mc_status st = MC_OK;
    htri_t exists = H5Aexists(file, name);
    if (exists < 0) {
        char what[320];
        snprintf(what, sizeof what, "cannot look up attribute '%s'", name);
        st = mc_h5_fail(err, MC_ECORRUPT, path, what);
        goto cleanup;
    }
    if (exists == 0) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: root attribute '%s' is missing", path, name);
        goto cleanup;
    }
    *attr = H5Aopen(file, name, H5P_DEFAULT);
    if (*attr < 0 || (*type = H5Aget_type(*attr)) < 0 || (space = H5Aget_space(*attr)) < 0) {
        char what[320];
        snprintf(what, sizeof what, "cannot open attribute '%s'", name);
        st = mc_h5_fail(err, MC_ECORRUPT, path, what);
        goto cleanup;
    }
    if (H5Sget_simple_extent_npoints(space) != 1)
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is not a scalar", path, name);
cleanup:
    if (space >= 0)
        H5Sclose(space);
    if (st != MC_OK) {
        if (*type >= 0)
            H5Tclose(*type);
        if (*attr >= 0)
            H5Aclose(*attr);
        *attr = *type = H5I_INVALID_HID;
    }
    return st;
}

mc_status mc_h5_attr_read_u64(hid_t file, const char *path, const char *name, uint64_t *v, mc_err *err)
{
    hid_t attr, type;
    mc_status st = attr_open(file, path, name, &attr, &type, err);
    if (st != MC_OK)
        return st;
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) > 8) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is not an integer of at most 64 bits", path, name);
        goto cleanup;
    }
    if (H5Tget_sign(type) == H5T_SGN_2) {
        int64_t s = 0;
        if (H5Aread(attr, H5T_NATIVE_INT64, &s) < 0)
            goto fail;
        if (s < 0) {
            st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is negative (%lld)", path, name, (long long)s);
            goto cleanup;
        }
        *v = (uint64_t)s;
    } else if (H5Aread(attr, H5T_NATIVE_UINT64, v) < 0) {
        goto fail;
    }
    goto cleanup;
fail : {
    char what[320];
    snprintf(what, sizeof what, "cannot read attribute '%s'", name);
    st = mc_h5_fail(err, MC_ECORRUPT, path, what);
}
cleanup:
    H5Tclose(type);
    H5Aclose(attr);
    return st;
}

mc_status mc_h5_attr_read_str(hid_t file, const char *path, const char *name, char *out, size_t out_len, mc_err *err)
{
    hid_t attr, type, mem = H5I_INVALID_HID;
    char *vstr = NULL, *fixed = NULL;
    mc_status st = attr_open(file, path, name, &attr, &type, err);
    if (st != MC_OK)
        return st;
    if (H5Tget_class(type) != H5T_STRING) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is not a string", path, name);
        goto cleanup;
    }
    const char *text = NULL;
    size_t len = 0;
    htri_t is_var = H5Tis_variable_str(type);
    if (is_var < 0 || (mem = H5Tcopy(type)) < 0 || H5Tset_cset(mem, H5Tget_cset(type)) < 0)
        goto fail;
    if (is_var) {
        if (H5Aread(attr, mem, &vstr) < 0)
            goto fail;
        text = vstr ? vstr : "";
        len = strlen(text);
    } else {
        size_t size = H5Tget_size(type);
        if (size == 0 || H5Tset_strpad(mem, H5T_STR_NULLPAD) < 0)
            goto fail;
        fixed = calloc(1, size + 1);
        if (!fixed) {
            st = mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory reading attribute '%s'", path, name);
            goto cleanup;
        }
        if (H5Aread(attr, mem, fixed) < 0)
            goto fail;
        len = strnlen(fixed, size);
        if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
            while (len > 0 && fixed[len - 1] == ' ')
                len--;
        text = fixed;
    }
    if (len + 1 > out_len) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: attribute '%s' is longer than %zu bytes", path, name,
                        out_len ? out_len - 1 : 0);
        goto cleanup;
    }
    memcpy(out, text, len);
    out[len] = '\0';
    goto cleanup;
fail : {
    char what[320];
    snprintf(what, sizeof what, "cannot read string attribute '%s'", name);
    st = mc_h5_fail(err, MC_ECORRUPT, path, what);
}
cleanup:
    if (vstr)
        H5free_memory(vstr);
    free(fixed);
    if (mem >= 0)
        H5Tclose(mem);
    H5Tclose(type);
    H5Aclose(attr);
    return st;
}

/* ---- datasets ---- */

static hid_t file_type_of(mc_h5_type type)
{
    return type == MC_H5_U8 ? H5T_STD_U8LE : H5T_STD_U64LE;
}

static hid_t mem_type_of(mc_h5_type type)
{
    return type == MC_H5_U8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_UINT64;
}

static mc_status dset_fail(mc_err *err, mc_status code, const char *path, const char *name, const char *what)
{
    char buf[400];
    snprintf(buf, sizeof buf, "dataset %s: %s", name, what);
    return mc_h5_fail(err, code, path, buf);
}

static mc_status dset_create(hid_t file, const char *path, const char *name, mc_h5_type type, uint64_t chunk,
                             bool direct, hid_t *dset, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    *dset = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunkdims[1] = {chunk ? chunk : 1};
    space = H5Screate_simple(1, dims, maxdims);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (space < 0 || dcpl < 0 || dapl < 0 || H5Pset_chunk(dcpl, 1, chunkdims) < 0 || H5Pset_fletcher32(dcpl) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 ||
        (direct && H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0, H5D_CHUNK_CACHE_W0_DEFAULT) < 0)) {
        st = dset_fail(err, MC_EIO, path, name, "cannot set up creation properties");
        goto cleanup;
    }
    *dset = H5Dcreate2(file, name, file_type_of(type), space, H5P_DEFAULT, dcpl, dapl);
    if (*dset < 0) {
        *dset = H5I_INVALID_HID;
        st = dset_fail(err, MC_EIO, path, name, "cannot create");
    }
cleanup:
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

mc_status mc_h5_dset_create(hid_t file, const char *path, const char *name, mc_h5_type type, uint64_t chunk,
                            hid_t *dset, mc_err *err)
{
    return dset_create(file, path, name, type, chunk, false, dset, err);
}

mc_status mc_h5_dset_create_direct(hid_t file, const char *path, const char *name, mc_h5_type type,
                                   uint64_t chunk, hid_t *dset, mc_err *err)
{
    return dset_create(file, path, name, type, chunk, true, dset, err);
}

/* Length of a 1-D dataset; -1 on failure (HDF5 stack set). */
static int dset_length(hid_t dset, uint64_t *len)
{
    hid_t space = H5Dget_space(dset);
    if (space < 0)
        return -1;
    hsize_t dims[1] = {0};
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank == 1 && H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        rank = -1;
    H5Sclose(space);
    *len = dims[0];
    return rank;
}

mc_status mc_h5_dset_append(hid_t dset, const char *path, const char *name, mc_h5_type type, const void *data,
                            uint64_t n, mc_err *err)
{
    mc_h5_init();
    if (n == 0)
        return MC_OK;
    mc_status st = MC_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    uint64_t cur = 0;
    if (dset_length(dset, &cur) != 1)
        goto fail;
    hsize_t newdims[1] = {cur + n}, start[1] = {cur}, count[1] = {n};
    if (H5Dset_extent(dset, newdims) < 0 || (fspace = H5Dget_space(dset)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (mspace = H5Screate_simple(1, count, NULL)) < 0 ||
        H5Dwrite(dset, mem_type_of(type), mspace, fspace, H5P_DEFAULT, data) < 0)
        goto fail;
    goto cleanup;
fail:
    st = dset_fail(err, MC_EIO, path, name, "write failed");
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

mc_status mc_h5_checksum_fail(mc_err *err, const char *path, const char *name)
{
    return mc_err_set(err, MC_ECHECKSUM, 0, "%s: dataset %s: checksum mismatch (Fletcher32)", path, name);
}

/* One block of at most 360 words of HDF5's Fletcher32. The reference adds
 * each word W[i] to sum1 and then sum1 to sum2, so over N words sum2 grows
 * by N times the old sum1 plus the sum of (N - i) * W[i]. Taken 8 words at
 * a time in 8 lanes: A[j] sums lane j's words, Q[j] sums A[j] before each
 * group, and the word of group k, lane j (weight 8 * (G - k) - j) is counted
 * 8 * (G - 1 - k) times through Q[j] and 8 - j times through A[j]. Only
 * additions in the loop (it vectorizes), and the integers are exactly the
 * reference's: no fold happens inside a block, nothing overflows
 * (A < 45 * 65535, Q < 45 * 44 / 2 * 65535). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FLETCHER_TARGETS __attribute__((optimize("O3", "tree-vectorize"), target_clones("avx2", "default")))
#else
#define FLETCHER_TARGETS
#endif
FLETCHER_TARGETS
static void fletcher_block(const uint8_t *p, uint32_t n, uint64_t *sum1, uint64_t *sum2)
{
    uint32_t groups = n / 8, a[8] = {0}, q[8] = {0};
    for (uint32_t k = 0; k < groups; k++)
        for (int j = 0; j < 8; j++) {
            q[j] += a[j];
            uint16_t w;
            memcpy(&w, p + 16 * k + 2 * j, 2);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            a[j] += w;
#else
            a[j] += (uint16_t)(w << 8 | w >> 8);   /* the words are big-endian */
#endif
        }
    uint64_t s1 = *sum1, s2 = *sum2 + (uint64_t)8 * groups * s1;
    for (int j = 0; j < 8; j++) {
        s2 += (uint64_t)8 * q[j] + (uint64_t)(8 - j) * a[j];
        s1 += a[j];
    }
    for (uint32_t i = 8 * groups; i < n; i++) {
        s1 += ((uint32_t)p[2 * i] << 8) | p[2 * i + 1];
        s2 += s1;
    }
    *sum1 = s1;
    *sum2 = s2;
}

static uint64_t fold16(uint64_t x)
{
    return (x & 0xffff) + (x >> 16);
}

void mc_fletcher32_update(mc_fletcher32_state *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t words = len / 2;
    while (words) {
        uint32_t n = words > 360 ? 360 : (uint32_t)words;
        fletcher_block(p, n, &f->sum1, &f->sum2);
        p += 2 * (size_t)n;
        words -= n;
        f->sum1 = fold16(f->sum1);
        f->sum2 = fold16(f->sum2);
    }
    if (len % 2) {
        f->sum1 += (uint64_t)*p << 8;
        f->sum2 += f->sum1;
        f->sum1 = fold16(f->sum1);
        f->sum2 = fold16(f->sum2);
    }
}

uint32_t mc_fletcher32_final(const mc_fletcher32_state *f)
{
    uint64_t sum1 = fold16(f->sum1), sum2 = fold16(f->sum2);
    return (uint32_t)((sum2 << 16) | sum1);
}

uint32_t mc_fletcher32(const void *data, size_t len)
{
    mc_fletcher32_state f = {0, 0};
    mc_fletcher32_update(&f, data, len);
    return mc_fletcher32_final(&f);
}

bool mc_fletcher32_matches(uint32_t stored, uint32_t sum)
{
    uint32_t reversed = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
    return stored == sum || stored == reversed;
}

mc_status mc_h5_dset_append_chunk(hid_t dset, const char *path, const char *name, mc_h5_type type, void *chunk,
                                  uint64_t n, uint64_t chunk_elems, mc_err *err)
{
    mc_h5_init();
    uint64_t cur = 0;
    if (dset_length(dset, &cur) != 1)
        return dset_fail(err, MC_EIO, path, name, "cannot get its length");
    if (n == 0 || n > chunk_elems || cur % chunk_elems != 0)
        return mc_err_set(err, MC_EINVAL, 0, "%s: dataset %s: a chunk of %llu elements cannot follow %llu", path,
                          name, (unsigned long long)n, (unsigned long long)cur);
    size_t bytes = (size_t)(chunk_elems * (uint64_t)type);
    uint8_t *b = chunk;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    if (type == MC_H5_U64)   /* the file holds little-endian elements */
        for (uint64_t i = 0; i < n; i++)
            for (int j = 0; j < 4; j++) {
                uint8_t t = b[8 * i + j];
                b[8 * i + j] = b[8 * i + 7 - j];
                b[8 * i + 7 - j] = t;
            }
#endif
    memset(b + n * (uint64_t)type, 0, bytes - (size_t)(n * (uint64_t)type));
    uint32_t sum = mc_fletcher32(b, bytes);
    for (int i = 0; i < 4; i++)   /* HDF5 stores it little-endian (UINT32ENCODE) */
        b[bytes + (size_t)i] = (uint8_t)(sum >> (8 * i));
    hsize_t newdims[1] = {cur + n}, offset[1] = {cur};
    if (H5Dset_extent(dset, newdims) < 0 || H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, bytes + 4, b) < 0)
        return dset_fail(err, MC_EIO, path, name, "write failed");
    return MC_OK;
}

/* A dataset must be chunked with the Fletcher32 filter (docs/FORMAT.md).
 * *chunk_bytes gets the size of one chunk as stored (element type). */
static bool has_fletcher32(hid_t dset, size_t elem_size, uint64_t *chunk_bytes)
{
    *chunk_bytes = 0;
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0)
        return false;
    bool ok = false;
    hsize_t dims[1] = {0};
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, dims) == 1) {
        unsigned flags = 0, config = 0;
        size_t nelmts = 0;
        ok = H5Pget_filter_by_id2(dcpl, H5Z_FILTER_FLETCHER32, &flags, &nelmts, NULL, 0, NULL, &config) >= 0;
        *chunk_bytes = dims[0] * elem_size;
    }
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

/* Chunks above HDF5's default 1 MiB chunk cache would be read and
 * checksummed again for every small read: reopen with a cache that holds one. */
static mc_status enlarge_chunk_cache(hid_t file, const char *path, const char *name, uint64_t chunk_bytes,
                                     hid_t *dset, mc_err *err)
{
    if (chunk_bytes <= ((uint64_t)1 << 20))
        return MC_OK;
    mc_status st = MC_OK;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    mc_h5_dset_close(dset);
    if (dapl < 0 ||
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, (size_t)chunk_bytes + 4096,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0 ||
        (*dset = H5Dopen2(file, name, dapl)) < 0) {
        *dset = H5I_INVALID_HID;
        st = dset_fail(err, MC_ECORRUPT, path, name, "cannot reopen with a larger chunk cache");
    }
    if (dapl >= 0)
        H5Pclose(dapl);
    return st;
}

mc_status mc_h5_dset_open(hid_t file, const char *path, const char *name, mc_h5_type type, hid_t *dset,
                          uint64_t *len, mc_err *err)
{
    mc_h5_init();
    mc_status st = MC_OK;
    hid_t dtype = H5I_INVALID_HID;
    *dset = H5I_INVALID_HID;
    htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    if (exists <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s is missing", path, name);
    }
    /* A dataset of this file, not a soft or external link: an external link
     * names another file, and no path is ever taken from file contents. */
    H5L_info_t linfo;
    if (H5Lget_info(file, name, &linfo, H5P_DEFAULT) < 0 || linfo.type != H5L_TYPE_HARD) {
        H5Eclear2(H5E_DEFAULT);
        const char *kind = linfo.type == H5L_TYPE_EXTERNAL ? "an external" :
                           linfo.type == H5L_TYPE_SOFT     ? "a soft" : "an unreadable";
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: %s is %s link, not a dataset stored in this file", path, name,
                          kind);
    }
    *dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (*dset < 0) {
        *dset = H5I_INVALID_HID;
        st = dset_fail(err, MC_ECORRUPT, path, name, "cannot open");
        goto cleanup;
    }
    dtype = H5Dget_type(*dset);
    if (dtype < 0) {
        st = dset_fail(err, MC_ECORRUPT, path, name, "cannot get its type");
        goto cleanup;
    }
    if (H5Tget_class(dtype) != H5T_INTEGER || H5Tget_sign(dtype) != H5T_SGN_NONE ||
        H5Tget_size(dtype) > (size_t)type) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: element type is not %s", path, name,
                        type == MC_H5_U8 ? "uint8" : "an unsigned integer of at most 64 bits");
        goto cleanup;
    }
    if (dset_length(*dset, len) != 1) {
        st = mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s is not one-dimensional", path, name);
        H5Eclear2(H5E_DEFAULT);
        goto cleanup;
    }
    uint64_t chunk_bytes = 0;
    if (!has_fletcher32(*dset, H5Tget_size(dtype), &chunk_bytes)) {
        st = mc_err_set(err, MC_EFORMAT, 0, "%s: dataset %s is not chunked with the Fletcher32 filter", path,
                        name);
        goto cleanup;
    }
    st = enlarge_chunk_cache(file, path, name, chunk_bytes, dset, err);
cleanup:
    if (dtype >= 0)
        H5Tclose(dtype);
    if (st != MC_OK)
        mc_h5_dset_close(dset);
    return st;
}

/* A failed dataset read, from the HDF5 error stack. */
static mc_status read_fail(mc_err *err, const char *path, const char *name)
{
    stack_info info;
    stack_read(&info);
    if (info.checksum)
        return mc_h5_checksum_fail(err, path, name);
    if (info.sys_errno)
        return mc_err_set(err, mc_status_from_errno(info.sys_errno), info.sys_errno,
                          "%s: dataset %s: read failed: %s", path, name, info.reason);
    return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: read failed: %s", path, name, info.reason);
}

/* Our check before HDF5's read: every chunk that elements [start, start+n)
 * lie in must be stored, and fit inside the file. A damaged chunk index
 * claiming a 4 GiB chunk made HDF5 allocate 4 GiB for a 30 KB file (found
 * by tests/fuzz, fuzz_segment and fuzz_manifest; docs/FUZZING.md). A chunk
 * the index does not list (a flipped entry count or chunk offset in the
 * index) HDF5 reads as fill values, zeros that no checksum covers: the file
 * would pass with other items (found by tests/unit/sweep_segment.c). */
static mc_status check_chunks(hid_t dset, const char *path, const char *name, uint64_t start, uint64_t n,
                              mc_err *err)
{
    mc_status st = MC_OK;
    hid_t dcpl = H5Dget_create_plist(dset), fid = H5Iget_file_id(dset);
    hsize_t dims[1] = {0}, fsize = 0;
    if (dcpl < 0 || fid < 0 || H5Pget_chunk(dcpl, 1, dims) != 1 || dims[0] == 0 || H5Fget_filesize(fid, &fsize) < 0) {
        st = dset_fail(err, MC_ECORRUPT, path, name, "cannot read its chunk layout");
        goto cleanup;
    }
    for (hsize_t c = start / dims[0]; c <= (start + n - 1) / dims[0]; c++) {
        hsize_t offset[1] = {c * dims[0]}, size = 0;
        unsigned filter_mask = 0;
        haddr_t addr = HADDR_UNDEF;
        if (H5Dget_chunk_info_by_coord(dset, offset, &filter_mask, &addr, &size) < 0) {
            st = dset_fail(err, MC_ECORRUPT, path, name, "cannot read its chunk index");
            goto cleanup;
        }
        if (addr == HADDR_UNDEF) {
            st = mc_err_set(err, MC_ECORRUPT, 0,
                            "%s: dataset %s: chunk %llu (elements from %llu) is not stored: its chunk index does not "
                            "list it (damaged file?)", path, name, (unsigned long long)c,
                            (unsigned long long)offset[0]);
            goto cleanup;
        }
        if (size > fsize || addr > fsize - size) {
            st = mc_err_set(err, MC_ECORRUPT, 0,
                            "%s: dataset %s: chunk %llu claims %llu bytes at offset %llu, beyond the end of the "
                            "file (%llu bytes)", path, name, (unsigned long long)c, (unsigned long long)size,
                            (unsigned long long)addr, (unsigned long long)fsize);
            goto cleanup;
        }
    }
cleanup:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (fid >= 0)
        H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

mc_status mc_h5_dset_read(hid_t dset, const char *path, const char *name, mc_h5_type type, uint64_t start,
                          uint64_t n, void *out, mc_err *err)
{
    mc_h5_init();
    if (n == 0)
        return MC_OK;
    mc_status st = check_chunks(dset, path, name, start, n, err);
    if (st != MC_OK)
        return st;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t hstart[1] = {start}, count[1] = {n};
    if ((fspace = H5Dget_space(dset)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, hstart, NULL, count, NULL) < 0 ||
        (mspace = H5Screate_simple(1, count, NULL)) < 0) {
        st = dset_fail(err, MC_ECORRUPT, path, name, "cannot select elements");
        goto cleanup;
    }
    if (H5Dread(dset, mem_type_of(type), mspace, fspace, H5P_DEFAULT, out) < 0)
        st = read_fail(err, path, name);
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

void mc_h5_dset_close(hid_t *dset)
{
    if (dset && *dset >= 0) {
        H5Dclose(*dset);
        H5Eclear2(H5E_DEFAULT);
    }
    if (dset)
        *dset = H5I_INVALID_HID;
}

void mc_hdf5_version(char *out, size_t len)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(out, len, "%u.%u.%u", maj, min, rel);
}

int mc_hdf5_is_parallel(void)
{
#ifdef H5_HAVE_PARALLEL
    return 1;
#else
    return 0;
#endif
}

/* ---- datasets read in whole chunks ---- */

void mc_h5_col_init(mc_h5_col *c, hid_t dset, mc_h5_type type, uint64_t len)
{
    *c = (mc_h5_col){.dset = dset, .type = type, .len = len, .cached = UINT64_MAX};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    hid_t dcpl = H5Dget_create_plist(dset), dtype = H5Dget_type(dset);
    hsize_t dims[1] = {0};
    unsigned flags = 0, config = 0;
    size_t nelmts = 0;
    if (dcpl >= 0 && dtype >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, dims) == 1 &&
        dims[0] > 0 && H5Pget_nfilters(dcpl) == 1 &&
        H5Pget_filter2(dcpl, 0, &flags, &nelmts, NULL, 0, NULL, &config) == H5Z_FILTER_FLETCHER32 &&
        H5Tequal(dtype, file_type_of(type)) > 0 && dims[0] <= (((uint64_t)1 << 40) / (uint64_t)type)) {
        c->direct = true;
        c->chunk_elems = dims[0];
    }
    if (dtype >= 0)
        H5Tclose(dtype);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
#endif
}

/* Loads chunk IDX into c->chunk and checks it. *usable is false when HDF5
 * stored it in a way only H5Dread should interpret (then nothing failed). */
static mc_status col_load(mc_h5_col *c, const char *path, const char *name, uint64_t idx, bool *usable,
                          mc_err *err)
{
    *usable = false;
    size_t bytes = (size_t)(c->chunk_elems * (uint64_t)c->type);
    if (!c->chunk && !(c->chunk = malloc(bytes + 4)))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: dataset %s: out of memory for a chunk of %zu bytes", path,
                          name, bytes);
    c->cached = UINT64_MAX;
    hsize_t off[1] = {idx * c->chunk_elems}, size = 0;
    if (H5Dget_chunk_storage_size(c->dset, off, &size) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return MC_OK;
    }
    if (size != bytes + 4)
        return MC_OK;   /* missing, or stored without its checksum */
    uint32_t mask = 0;
    if (H5Dread_chunk(c->dset, H5P_DEFAULT, off, &mask, c->chunk) < 0)
        return read_fail(err, path, name);
    if (mask != 0)
        return MC_OK;   /* the filter was skipped for this chunk */
    const uint8_t *t = c->chunk + bytes;
    uint32_t stored = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    if (!mc_fletcher32_matches(stored, mc_fletcher32(c->chunk, bytes)))
        return mc_h5_checksum_fail(err, path, name);
    c->cached = idx;
    *usable = true;
    return MC_OK;
}

mc_status mc_h5_col_read(mc_h5_col *c, const char *path, const char *name, uint64_t start, uint64_t n, void *out,
                         mc_err *err)
{
    mc_h5_init();
    uint8_t *o = out;
    size_t esize = (size_t)c->type;
    if (n > c->len || start > c->len - n)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: elements %llu..%llu are beyond its %llu", path, name,
                          (unsigned long long)start, (unsigned long long)(start + n),
                          (unsigned long long)c->len);
    while (n > 0 && c->direct) {
        uint64_t idx = start / c->chunk_elems, within = start % c->chunk_elems;
        uint64_t take = c->chunk_elems - within < n ? c->chunk_elems - within : n;
        if (c->cached != idx) {
            bool usable = false;
            mc_status st = col_load(c, path, name, idx, &usable, err);
            if (st != MC_OK)
                return st;
            if (!usable)
                break;   /* this piece through HDF5 */
        }
        memcpy(o, c->chunk + within * esize, take * esize);
        o += take * esize;
        start += take;
        n -= take;
    }
    return mc_h5_dset_read(c->dset, path, name, c->type, start, n, o, err);
}

void mc_h5_col_free(mc_h5_col *c)
{
    free(c->chunk);
    c->chunk = NULL;
    c->cached = UINT64_MAX;
}
