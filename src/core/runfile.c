/* runfile: anonymous temporary files of items (runfile.h). */
#include "runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

#define RUN_BUFFER ((size_t)1 << 16)
#define HEADER 17   /* u32 + u32 + u64 + u8 */

struct mc_runfile {
    FILE *f;
    char dir[256];
    uint64_t count;
    mc_buf item[2];   /* the last two items read, key then value: a merge source's item
                       * stays valid until the second call after it (merge.h) */
    unsigned cur;     /* which of ITEM the next read fills */
};

static const char *tmp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

static int open_anonymous(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
#endif
    char path[4096];
    snprintf(path, sizeof path, "%s/mpicompact-run.XXXXXX", dir);
    int fd2 = mkstemp(path);
    if (fd2 >= 0)
        unlink(path);
    return fd2;
}

mc_status mc_runfile_create(mc_runfile **out, mc_err *err)
{
    *out = NULL;
    mc_runfile *r = calloc(1, sizeof *r);
    if (!r)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "out of memory for a temporary run");
    snprintf(r->dir, sizeof r->dir, "%s", tmp_dir());
    int fd = open_anonymous(r->dir);
    if (fd < 0) {
        int e = errno;
        free(r);
        return mc_err_set(err, mc_status_from_errno(e), e, "%s: cannot create a temporary file: %s", tmp_dir(),
                          strerror(e));
    }
    if (!(r->f = fdopen(fd, "w+b"))) {
        int e = errno;
        close(fd);
        free(r);
        return mc_err_set(err, MC_ENOMEM, e, "%s: cannot open a temporary file: %s", tmp_dir(), strerror(e));
    }
    setvbuf(r->f, NULL, _IOFBF, RUN_BUFFER);
    *out = r;
    return MC_OK;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static mc_status io_fail(const mc_runfile *r, const char *what, mc_err *err)
{
    int e = errno ? errno : EIO;
    return mc_err_set(err, mc_status_from_errno(e), e, "%s: temporary run file: %s failed: %s", r->dir, what,
                      strerror(e));
}

mc_status mc_runfile_add(mc_runfile *r, const mc_item *item, mc_err *err)
{
    uint8_t h[HEADER];
    put_le(h, item->key_len, 4);
    put_le(h + 4, item->value_len, 4);
    put_le(h + 8, item->seq, 8);
    h[16] = item->kind;
    errno = 0;
    if (fwrite(h, 1, HEADER, r->f) != HEADER || fwrite(item->key, 1, item->key_len, r->f) != item->key_len ||
        (item->value_len && fwrite(item->value, 1, item->value_len, r->f) != item->value_len))
        return io_fail(r, "write", err);
    r->count++;
    return MC_OK;
}

mc_status mc_runfile_rewind(mc_runfile *r, mc_err *err)
{
    errno = 0;
    if (fflush(r->f) != 0 || fseek(r->f, 0, SEEK_SET) != 0)
        return io_fail(r, "rewind", err);
    return MC_OK;
}

mc_status mc_runfile_next(void *ctx, mc_item *item, bool *eof, mc_err *err)
{
    mc_runfile *r = ctx;
    uint8_t h[HEADER];
    *eof = false;
    errno = 0;
    size_t got = fread(h, 1, HEADER, r->f);
    if (got == 0 && feof(r->f)) {
        *eof = true;
        return MC_OK;
    }
    if (got != HEADER)
        return io_fail(r, "read", err);
    size_t klen = (size_t)get_le(h, 4), vlen = (size_t)get_le(h + 4, 4);
    if (klen < 1 || klen > MC_KEY_MAX || vlen > MC_VALUE_MAX)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: temporary run file: bad record", r->dir);
    mc_buf *b = &r->item[r->cur];
    mc_status st = mc_buf_reserve(b, klen + vlen, err);
    if (st != MC_OK)
        return st;
    if (fread(b->p, 1, klen + vlen, r->f) != klen + vlen)
        return io_fail(r, "read", err);
    r->cur ^= 1;
    *item = (mc_item){.key = b->p, .key_len = klen, .value = b->p + klen, .value_len = vlen,
                      .seq = get_le(h + 8, 8), .kind = h[16]};
    return MC_OK;
}

uint64_t mc_runfile_count(const mc_runfile *r)
{
    return r->count;
}

void mc_runfile_destroy(mc_runfile **pr)
{
    mc_runfile *r = pr ? *pr : NULL;
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    mc_buf_free(&r->item[0]);
    mc_buf_free(&r->item[1]);
    free(r);
    *pr = NULL;
}
