/* powercut: an LD_PRELOAD shim that logs, for the files under one directory
 * tree, what a power loss could undo: data written since the file's last
 * fsync, and directory entries created, renamed or removed since the last
 * fsync of their directory. The crash harness (harness.py) replays the log
 * after killing a job to simulate the power loss (tests/crash/README.md).
 *
 * Environment: POWERCUT_ROOT (absolute path of the tree, as the program
 * names it), POWERCUT_LOG (log file, appended), POWERCUT_BAK (a directory on
 * the same filesystem where a hard link of every file about to be unlinked
 * or replaced by a rename is kept, so that the harness can bring it back).
 * Without POWERCUT_ROOT the shim only passes calls through.
 *
 * Log lines (one write each, O_APPEND, so processes interleave whole lines):
 *   N PATH DEV INO      PATH created (did not exist)
 *   C DEV INO           the file's data was reset (O_TRUNC): synced size 0
 *   W DEV INO           written (or truncated) since the last S
 *   S DEV INO SIZE      fsync/fdatasync: SIZE bytes are durable
 *   R OLD NEW BAK       rename OLD -> NEW; BAK: the file NEW replaced, or -
 *   U PATH BAK          unlink PATH; BAK: its hard link
 *   D PATH              fsync of directory PATH */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAXFD 4096
#define PATHMAX 4096

enum { UNTRACKED = 0, TRACKED_FILE, TRACKED_DIR };
static unsigned char fd_kind[MAXFD];
static unsigned char fd_dirty[MAXFD];
static char *fd_dirpath[MAXFD];
static const char *root;
static size_t root_len;
static const char *bakdir;
static int logfd = -1;
static int inited;
static unsigned long bakseq;

#define REAL(ret, name, args) \
    static ret(*real_##name) args; \
    if (!real_##name) real_##name = (ret(*) args)dlsym(RTLD_NEXT, #name)

static void init(void)
{
    if (inited)
        return;
    inited = 1;
    root = getenv("POWERCUT_ROOT");
    bakdir = getenv("POWERCUT_BAK");
    const char *log = getenv("POWERCUT_LOG");
    if (!root || !*root || !log || !bakdir) {
        root = NULL;
        return;
    }
    root_len = strlen(root);
    logfd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (logfd < 0)
        root = NULL;
}

static void logf_(const char *fmt, ...)
{
    char line[3 * PATHMAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof line)
        syscall(SYS_write, logfd, line, (size_t)n);
}

static int under(const char *path)
{
    init();
    return root && path && path[0] == '/' && strncmp(path, root, root_len) == 0 &&
           (path[root_len] == '/' || path[root_len] == '\0');
}

static void untrack(int fd)
{
    if (fd < 0 || fd >= MAXFD)
        return;
    fd_kind[fd] = UNTRACKED;
    fd_dirty[fd] = 0;
    free(fd_dirpath[fd]);
    fd_dirpath[fd] = NULL;
}

static void wrote(int fd)
{
    if (fd < 0 || fd >= MAXFD || fd_kind[fd] != TRACKED_FILE || fd_dirty[fd])
        return;
    struct stat sb;
    if (fstat(fd, &sb) == 0) {
        logf_("W %llu %llu\n", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
        fd_dirty[fd] = 1;
    }
}

/* After a successful open of PATH (EXISTED: before the call). */
static void opened(int fd, const char *path, int flags, int existed)
{
    if (fd < 0 || fd >= MAXFD || !under(path))
        return;
    untrack(fd);
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        fd_kind[fd] = TRACKED_DIR;
        fd_dirpath[fd] = strdup(path);
        return;
    }
    if (!S_ISREG(sb.st_mode))
        return;
    fd_kind[fd] = TRACKED_FILE;
    if (!existed)
        logf_("N %s %llu %llu\n", path, (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
    if (!existed || (flags & O_TRUNC)) {
        logf_("C %llu %llu\n", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
        logf_("W %llu %llu\n", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
        fd_dirty[fd] = 1;
    }
}

static int exists(const char *path)
{
    struct stat sb;
    return under(path) && lstat(path, &sb) == 0;
}

static int do_open(const char *name, int dirfd, const char *path, int flags, mode_t mode)
{
    int existed = exists(path);
    int fd;
    if (dirfd == AT_FDCWD && strcmp(name, "open") == 0) {
        REAL(int, open, (const char *, int, ...));
        fd = real_open(path, flags, mode);
    } else if (strcmp(name, "open64") == 0) {
        REAL(int, open64, (const char *, int, ...));
        fd = real_open64(path, flags, mode);
    } else if (strcmp(name, "openat64") == 0) {
        REAL(int, openat64, (int, const char *, int, ...));
        fd = real_openat64(dirfd, path, flags, mode);
    } else {
        REAL(int, openat, (int, const char *, int, ...));
        fd = real_openat(dirfd, path, flags, mode);
    }
    if (fd >= 0 && (dirfd == AT_FDCWD || path[0] == '/')) {
        int e = errno;
        opened(fd, path, flags, existed);
        errno = e;
    }
    return fd;
}

#define MODE_ARG(flags) \
    mode_t mode = 0; \
    if ((flags) & (O_CREAT | __O_TMPFILE)) { \
        va_list ap; \
        va_start(ap, flags); \
        mode = (mode_t)va_arg(ap, int); \
        va_end(ap); \
    }

int open(const char *path, int flags, ...)
{
    MODE_ARG(flags);
    return do_open("open", AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...)
{
    MODE_ARG(flags);
    return do_open("open64", AT_FDCWD, path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags);
    return do_open("openat", dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags);
    return do_open("openat64", dirfd, path, flags, mode);
}
int __open_2(const char *path, int flags)
{
    return do_open("open", AT_FDCWD, path, flags, 0);
}
int __open64_2(const char *path, int flags)
{
    return do_open("open64", AT_FDCWD, path, flags, 0);
}
int creat(const char *path, mode_t mode)
{
    return do_open("open", AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode)
{
    return do_open("open64", AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, write, (int, const void *, size_t));
    wrote(fd);
    return real_write(fd, buf, n);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
    wrote(fd);
    return real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t));
    wrote(fd);
    return real_pwrite64(fd, buf, n, off);
}
ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(ssize_t, writev, (int, const struct iovec *, int));
    wrote(fd);
    return real_writev(fd, iov, cnt);
}
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(ssize_t, pwritev, (int, const struct iovec *, int, off_t));
    wrote(fd);
    return real_pwritev(fd, iov, cnt, off);
}
int ftruncate(int fd, off_t len)
{
    REAL(int, ftruncate, (int, off_t));
    wrote(fd);
    return real_ftruncate(fd, len);
}
int ftruncate64(int fd, off_t len)
{
    REAL(int, ftruncate64, (int, off_t));
    wrote(fd);
    return real_ftruncate64(fd, len);
}

static void synced(int fd)
{
    if (fd < 0 || fd >= MAXFD)
        return;
    if (fd_kind[fd] == TRACKED_DIR) {
        logf_("D %s\n", fd_dirpath[fd]);
        return;
    }
    struct stat sb;
    if (fd_kind[fd] != TRACKED_FILE || fstat(fd, &sb) != 0)
        return;
    logf_("S %llu %llu %llu\n", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
          (unsigned long long)sb.st_size);
    /* Every descriptor of this file in this process is clean now. */
    for (int i = 0; i < MAXFD; i++) {
        struct stat o;
        if (fd_kind[i] == TRACKED_FILE && fd_dirty[i] && fstat(i, &o) == 0 && o.st_dev == sb.st_dev &&
            o.st_ino == sb.st_ino)
            fd_dirty[i] = 0;
    }
}

int fsync(int fd)
{
    REAL(int, fsync, (int));
    int r = real_fsync(fd);
    if (r == 0) {
        int e = errno;
        synced(fd);
        errno = e;
    }
    return r;
}
int fdatasync(int fd)
{
    REAL(int, fdatasync, (int));
    int r = real_fdatasync(fd);
    if (r == 0) {
        int e = errno;
        synced(fd);
        errno = e;
    }
    return r;
}

int close(int fd)
{
    REAL(int, close, (int));
    untrack(fd);
    return real_close(fd);
}
int dup2(int old, int new)
{
    REAL(int, dup2, (int, int));
    untrack(new);
    return real_dup2(old, new);
}
int dup3(int old, int new, int flags)
{
    REAL(int, dup3, (int, int, int));
    untrack(new);
    return real_dup3(old, new, flags);
}

/* A hard link of PATH in POWERCUT_BAK (into OUT), or "-" when there is none. */
static void backup(const char *path, char *out, size_t len)
{
    snprintf(out, len, "-");
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    char b[PATHMAX];
    snprintf(b, sizeof b, "%s/%d.%lu", bakdir, (int)getpid(), ++bakseq);
    if (link(path, b) == 0)
        snprintf(out, len, "%s", b);
}

static int do_rename(int olddir, const char *from, int newdir, const char *to, unsigned flags, int kind)
{
    int track = olddir == AT_FDCWD && newdir == AT_FDCWD && under(from) && under(to);
    char bak[PATHMAX] = "-";
    if (track)
        backup(to, bak, sizeof bak);
    int r;
    if (kind == 0) {
        REAL(int, rename, (const char *, const char *));
        r = real_rename(from, to);
    } else if (kind == 1) {
        REAL(int, renameat, (int, const char *, int, const char *));
        r = real_renameat(olddir, from, newdir, to);
    } else {
        REAL(int, renameat2, (int, const char *, int, const char *, unsigned));
        r = real_renameat2(olddir, from, newdir, to, flags);
    }
    int e = errno;
    if (track) {
        if (r == 0)
            logf_("R %s %s %s\n", from, to, bak);
        else if (strcmp(bak, "-") != 0)
            unlink(bak);
    }
    errno = e;
    return r;
}

int rename(const char *from, const char *to)
{
    return do_rename(AT_FDCWD, from, AT_FDCWD, to, 0, 0);
}
int renameat(int od, const char *from, int nd, const char *to)
{
    return do_rename(od, from, nd, to, 0, 1);
}
int renameat2(int od, const char *from, int nd, const char *to, unsigned flags)
{
    return do_rename(od, from, nd, to, flags, 2);
}

static int do_unlink(int dirfd, const char *path, int flags, int at)
{
    int track = dirfd == AT_FDCWD && !(flags & AT_REMOVEDIR) && under(path);
    char bak[PATHMAX] = "-";
    if (track)
        backup(path, bak, sizeof bak);
    int r;
    if (!at) {
        REAL(int, unlink, (const char *));
        r = real_unlink(path);
    } else {
        REAL(int, unlinkat, (int, const char *, int));
        r = real_unlinkat(dirfd, path, flags);
    }
    int e = errno;
    if (track) {
        if (r == 0)
            logf_("U %s %s\n", path, bak);
        else if (strcmp(bak, "-") != 0) {
            REAL(int, unlink, (const char *));
            real_unlink(bak);
        }
    }
    errno = e;
    return r;
}

int unlink(const char *path)
{
    return do_unlink(AT_FDCWD, path, 0, 0);
}
int unlinkat(int dirfd, const char *path, int flags)
{
    return do_unlink(dirfd, path, flags, 1);
}
