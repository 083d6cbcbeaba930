/* fuzzutil: scratch directory, file writing and the archive format (fuzzutil.h). */
#include "fuzzutil.h"

#include <dirent.h>
#include <hdf5.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[4096];

static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0700);
            remove_tree(p, depth + 1);
            rmdir(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
}

static void remove_scratch(void)
{
    if (scratch[0]) {
        remove_tree(scratch, 0);
        rmdir(scratch);
    }
}

const char *fz_dir(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/mcfuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            perror("fuzzutil: mkdtemp");
            abort();
        }
        atexit(remove_scratch);
    }
    return scratch;
}

void fz_path(char *out, const char *name)
{
    if (snprintf(out, 4096, "%s/%s", fz_dir(), name) >= 4096)
        abort();
}

void fz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            perror(path);
            abort();
        }
        p += w;
        len -= (size_t)w;
    }
    close(fd);
}

void fz_clear(const char *dir)
{
    remove_tree(dir, 0);
}

mc_status fz_check_err(mc_status st, const mc_err *err)
{
    if (st == MC_OK)
        return st;
    if ((unsigned)st > (unsigned)MC_EPROTO || strnlen(err->msg, sizeof err->msg) == 0 ||
        strnlen(err->msg, sizeof err->msg) == sizeof err->msg) {
        fprintf(stderr, "fuzz: status %d (%s) came back without a message\n", (int)st, mc_strerror(st));
        abort();
    }
    return st;
}

void fz_check_no_open_hdf5(void)
{
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0) {
        fprintf(stderr, "fuzz: %zd HDF5 object(s) left open after the input\n", n);
        abort();
    }
}

static int name_ok(const char *name)
{
    const char *s = strncmp(name, "manifest/", 9) == 0 ? name + 9 : name;
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

void fz_archive_each(const uint8_t *p, size_t len, fz_record_fn fn, void *ctx)
{
    const uint8_t *end = p + len;
    while (p < end) {
        size_t nlen = *p++;
        if (nlen > (size_t)(end - p))
            nlen = (size_t)(end - p);
        char name[256];
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        p += nlen;
        uint32_t dlen = 0;
        for (int i = 0; i < 4 && p < end; i++)
            dlen |= (uint32_t)*p++ << (8 * i);
        if (dlen > (size_t)(end - p))
            dlen = (uint32_t)(end - p);
        if (strlen(name) == nlen && name_ok(name))
            fn(ctx, name, p, dlen);
        p += dlen;
    }
}

void fz_archive_add(mc_buf *out, const char *name, const void *data, size_t len)
{
    uint8_t nlen = (uint8_t)strlen(name), le[4];
    for (int i = 0; i < 4; i++)
        le[i] = (uint8_t)((uint32_t)len >> (8 * i));
    if (mc_buf_append(out, &nlen, 1, NULL) != MC_OK || mc_buf_append(out, name, nlen, NULL) != MC_OK ||
        mc_buf_append(out, le, 4, NULL) != MC_OK || mc_buf_append(out, data, len, NULL) != MC_OK)
        abort();
}
