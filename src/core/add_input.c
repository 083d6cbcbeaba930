/* add_input: resolving an input of `add` and refusing files inside the store (add_input.h). */
#include "add_input.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "store.h"

typedef struct dir_id {
    bool known;
    dev_t dev;
    ino_t ino;
} dir_id;

static dir_id id_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return (dir_id){0};
    return (dir_id){true, sb.st_dev, sb.st_ino};
}

static bool same(const dir_id *a, const struct stat *sb)
{
    return a->known && a->dev == sb->st_dev && a->ino == sb->st_ino;
}

/* Which of STORE's directories holds RESOLVED (a real path), or NULL. */
static const char *store_dir_holding(const char *store, const char *resolved)
{
    char sub[MC_PATH_MAX + 16];
    dir_id top = id_of(store);
    if (!top.known)
        return NULL;
    snprintf(sub, sizeof sub, "%s/seg", store);
    dir_id seg = id_of(sub);
    snprintf(sub, sizeof sub, "%s/manifest", store);
    dir_id man = id_of(sub);
    char dir[MC_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", resolved);
    bool parent = true;   /* the first directory up is the file's own */
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return NULL;
        if (slash == dir)
            slash[1] = '\0';   /* "/" itself */
        else
            *slash = '\0';
        struct stat sb;
        if (stat(dir, &sb) == 0) {
            if (same(&seg, &sb))
                return "seg/";
            if (same(&man, &sb))
                return "manifest/";
            if (parent && same(&top, &sb))
                return "top directory";
        }
        if (slash == dir)
            return NULL;
        parent = false;
    }
}

mc_status mc_add_input_resolve(const char *store, const char *name, char *resolved, mc_err *err)
{
    char buf[PATH_MAX];
    if (!realpath(name, buf)) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: %s", name, strerror(e));
    }
    if (strlen(buf) >= MC_PATH_MAX)
        return mc_err_set(err, MC_ELIMIT, 0, "%s: the path is too long", name);
    struct stat sb;
    if (stat(buf, &sb) != 0) {
        int e = errno;
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: %s", name, strerror(e));
    }
    if (S_ISDIR(sb.st_mode))
        return mc_err_set(err, MC_EINVAL, 0, "%s: is a directory, not a regular file", name);
    if (!S_ISREG(sb.st_mode))
        return mc_err_set(err, MC_EINVAL, 0, "%s: not a regular file", name);
    const char *where = store_dir_holding(store, buf);
    if (where)
        return mc_err_set(err, MC_EINVAL, 0,
                          "%s: the file is inside the store %s (its %s), where files the manifest does not name "
                          "are removed as orphans; move it out of the store and add it from there",
                          name, store, where);
    memcpy(resolved, buf, strlen(buf) + 1);
    return MC_OK;
}
