/* store: store directory creation, segment paths, orphan listing and removal (store.h). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fault.h"
#include "manifest_io.h"

#define NSHARDS 256

mc_status mc_fsync_dir(const char *dir, mc_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: open directory: %s", dir, strerror(errno));
    mc_status st = mc_fault_check("dir_fsync", MC_FAULT_ANY_SEGNO, dir, err);
    if (st == MC_OK && fsync(fd) != 0 && errno != EINVAL)   /* EINVAL: the filesystem cannot sync directories */
        st = mc_err_set(err, MC_EIO, errno, "%s: fsync directory: %s", dir, strerror(errno));
    close(fd);
    return st;
}

void mc_store_seg_path(const char *store, uint64_t segno, char *out)
{
    snprintf(out, MC_PATH_MAX, "%s/seg/%02x/%016llx.h5", store, (unsigned)(segno % NSHARDS),
             (unsigned long long)segno);
}

bool mc_parse_hex16(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            x = x << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x = x << 4 | (uint64_t)(c - 'a' + 10);
        else
            return false;
    }
    *v = x;
    return true;
}

mc_status mc_write_file_sync(const char *path, const char *text, bool excl, mc_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), 0644);
    if (fd < 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: create: %s", path, strerror(errno));
    size_t len = strlen(text), off = 0;
    int e = 0;
    while (off < len && !e) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(path);
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: write: %s", path, strerror(e));
    }
    return MC_OK;
}

bool mc_store_parse_seg_name(const char *name, uint64_t *segno)
{
    uint64_t v = 0;
    if (!mc_parse_hex16(name, &v))
        return false;
    if (strcmp(name + 16, ".h5") != 0)
        return false;
    *segno = v;
    return true;
}

static mc_status unlink_if_there(const char *path, mc_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: remove: %s", path, strerror(errno));
    return MC_OK;
}

mc_status mc_store_remove_dropped_segment(const char *store, uint64_t segno, mc_err *err)
{
    char path[MC_PATH_MAX];
    mc_store_seg_path(store, segno, path);
    mc_status st = mc_fault_check("seg_unlink", segno, path, err);
    if (st != MC_OK)
        return st;
    return unlink_if_there(path, err);
}

mc_status mc_store_remove_segment(const char *store, uint64_t segno, mc_err *err)
{
    mc_status st = mc_store_remove_dropped_segment(store, segno, err);
    if (st != MC_OK)
        return st;
    char path[MC_PATH_MAX + 8];
    mc_store_seg_path(store, segno, path);
    strcat(path, ".tmp");
    return unlink_if_there(path, err);
}

/* ---- init ---- */

static mc_status make_dir(const char *path, mc_err *err)
{
    if (mkdir(path, 0777) != 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: mkdir: %s", path, strerror(errno));
    return MC_OK;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

mc_status mc_store_init(const char *store, const mc_params *params, mc_err *err)
{
    char path[MC_PATH_MAX];
    mc_manifest *m = NULL;
    bool created = false;
    mc_status st = mc_params_check(params, err);
    if (st != MC_OK)
        goto cleanup;
    if (strlen(store) > MC_PATH_MAX - 64) {
        st = mc_err_set(err, MC_EINVAL, 0, "%s: path too long", store);
        goto cleanup;
    }
    if (mkdir(store, 0777) != 0) {
        int e = errno;
        if (e == EEXIST)
            st = mc_err_set(err, MC_EEXIST, e, "%s: already exists (refusing to create a store over it)", store);
        else
            st = mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot create the store directory: %s", store,
                            strerror(e));
        goto cleanup;
    }
    created = true;
    snprintf(path, sizeof path, "%s/seg", store);
    if ((st = make_dir(path, err)) != MC_OK)
        goto cleanup;
    for (unsigned i = 0; i < NSHARDS; i++) {
        snprintf(path, sizeof path, "%s/seg/%02x", store, i);
        if ((st = make_dir(path, err)) != MC_OK)
            goto cleanup;
    }
    snprintf(path, sizeof path, "%s/seg", store);
    if ((st = mc_fsync_dir(path, err)) != MC_OK)
        goto cleanup;
    snprintf(path, sizeof path, "%s/manifest", store);
    if ((st = make_dir(path, err)) != MC_OK || (st = mc_fsync_dir(store, err)) != MC_OK)
        goto cleanup;
    if ((st = mc_manifest_create(params, &m, err)) != MC_OK)
        goto cleanup;
    mc_manifest_set_generation(m, 0);
    mc_manifest_set_next_segno(m, 1);
    mc_manifest_set_next_seq(m, 1);
    st = mc_manifest_commit(store, m, err);
cleanup:
    if (st != MC_OK && created)
        nftw(store, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    mc_manifest_destroy(&m);
    return st;
}

/* ---- orphans ---- */

/* One scan: either report (FN) or remove. */
typedef struct visit {
    mc_orphan_fn fn;
    void *ctx;
    bool remove;
    size_t nremoved;
} visit;

/* Whether NAME (IS_DIR: a directory) in the scanned directory belongs there. */
typedef bool (*keep_fn)(const void *kctx, const char *name, bool is_dir);

static bool entry_is_dir(const char *dir, const struct dirent *d)
{
    if (d->d_type != DT_UNKNOWN)
        return d->d_type == DT_DIR;
    char path[MC_PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Orphans of DIR are collected first (NUL-separated, a type byte ahead of
 * each name), then reported or removed, so the directory is not modified
 * while it is read. A missing DIR has no orphans. */
static mc_status scan_dir(const char *dir, keep_fn keep, const void *kctx, visit *v, mc_err *err)
{
    mc_buf found = {0};
    mc_status st = MC_OK;
    DIR *dh = opendir(dir);
    if (!dh) {
        if (errno != ENOENT)
            st = mc_err_set(err, mc_status_from_errno(errno), errno, "%s: open directory: %s", dir,
                            strerror(errno));
        goto cleanup;
    }
    for (;;) {
        errno = 0;
        struct dirent *d = readdir(dh);
        if (!d) {
            if (errno)
                st = mc_err_set(err, MC_EIO, errno, "%s: read directory: %s", dir, strerror(errno));
            break;
        }
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        bool is_dir = entry_is_dir(dir, d);
        if (keep(kctx, d->d_name, is_dir))
            continue;
        char type = is_dir ? 'd' : 'f';
        if ((st = mc_buf_append(&found, &type, 1, err)) != MC_OK ||
            (st = mc_buf_append(&found, d->d_name, strlen(d->d_name) + 1, err)) != MC_OK)
            break;
    }
    closedir(dh);
    if (st != MC_OK)
        goto cleanup;
    size_t removed = 0;
    for (size_t off = 0; off < found.n;) {
        bool is_dir = found.p[off] == 'd';
        const char *name = (const char *)found.p + off + 1;
        off += strlen(name) + 2;
        char path[MC_PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (!v->remove) {
            v->fn(v->ctx, path);
        } else if (!is_dir) {
            if ((st = unlink_if_there(path, err)) != MC_OK)
                goto cleanup;
            removed++;
        }
    }
    v->nremoved += removed;
    if (removed)
        st = mc_fsync_dir(dir, err);
cleanup:
    mc_buf_free(&found);
    return st;
}

typedef struct shard_ctx {
    const mc_manifest *m;
    unsigned shard;
} shard_ctx;

static bool keep_segment(const void *kctx, const char *name, bool is_dir)
{
    const shard_ctx *c = kctx;
    uint64_t segno;
    return !is_dir && mc_store_parse_seg_name(name, &segno) && segno % NSHARDS == c->shard &&
           mc_manifest_find(c->m, segno) != NULL;
}

static bool keep_shard_dir(const void *kctx, const char *name, bool is_dir)
{
    (void)kctx;
    return is_dir && strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* The generations of the committed chain (base, then edits). */
typedef struct chain_ctx {
    const uint64_t *gens;
    size_t n;
} chain_ctx;

static bool keep_manifest(const void *kctx, const char *name, bool is_dir)
{
    const chain_ctx *c = kctx;
    uint64_t generation;
    if (is_dir || strlen(name) != 19 || strcmp(name + 16, ".h5") != 0 || !mc_parse_hex16(name, &generation))
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (c->gens[i] == generation)
            return true;
    return false;
}

static bool keep_top(const void *kctx, const char *name, bool is_dir)
{
    (void)kctx;
    (void)is_dir;
    return strcmp(name, "CURRENT.tmp") != 0;
}

static mc_status scan_store(const char *store, const mc_manifest *m, visit *v, mc_err *err)
{
    char dir[MC_PATH_MAX];
    uint64_t current;
    mc_status st = mc_manifest_current_generation(store, &current, err);
    if (st != MC_OK)
        return st;
    /* Removing by a manifest other than the committed one could delete live segments. */
    if (v->remove && current != mc_manifest_generation(m))
        return mc_err_set(err, MC_EINVAL, 0,
                          "%s: not removing orphans: the manifest given is generation %llu, CURRENT names %llu", store,
                          (unsigned long long)mc_manifest_generation(m), (unsigned long long)current);
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard_ctx c = {m, i};
        snprintf(dir, sizeof dir, "%s/seg/%02x", store, i);
        if ((st = scan_dir(dir, keep_segment, &c, v, err)) != MC_OK)
            return st;
    }
    snprintf(dir, sizeof dir, "%s/seg", store);
    if ((st = scan_dir(dir, keep_shard_dir, NULL, v, err)) != MC_OK)
        return st;
    /* Every file of the committed chain is named by it (manifest_io.h). */
    uint64_t *gens = NULL;
    size_t ngens = 0;
    if ((st = mc_manifest_chain_read(store, current, &gens, &ngens, err)) != MC_OK)
        return st;
    chain_ctx c = {gens, ngens};
    snprintf(dir, sizeof dir, "%s/manifest", store);
    st = scan_dir(dir, keep_manifest, &c, v, err);
    free(gens);
    if (st != MC_OK)
        return st;
    return scan_dir(store, keep_top, NULL, v, err);
}

mc_status mc_store_list_orphans(const char *store, const mc_manifest *m, mc_orphan_fn fn, void *ctx,
                                mc_err *err)
{
    visit v = {.fn = fn, .ctx = ctx, .remove = false};
    return scan_store(store, m, &v, err);
}

mc_status mc_store_remove_orphans(const char *store, const mc_manifest *m, size_t *nremoved, mc_err *err)
{
    if (mc_manifest_poisoned(m))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: no orphan sweep: the manifest in memory was left "
                          "inconsistent by an undo that ran out of memory", store);
    visit v = {.remove = true};
    mc_status st = scan_store(store, m, &v, err);
    if (nremoved)
        *nremoved = v.nremoved;
    return st;
}
