/* lock: STORE/LOCK created with O_EXCL, naming its holder; stale local locks taken over (lock.h). */
#include "lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "store.h"

#define LOCK_TEXT_MAX 2048
/* An empty LOCK older than this was left by a writer that died between
 * creating it and writing its line (which takes microseconds). */
#define EMPTY_LOCK_STALE_SECONDS 10

struct mc_lock {
    char path[MC_PATH_MAX];
    char text[LOCK_TEXT_MAX];   /* what we wrote: release removes only this */
};

/* The holder, as parsed from a lock file. */
typedef struct holder {
    char host[256];
    long pid;   /* -1 when unreadable */
    char jobid[64];
    char command[1024];
    char started[64];
} holder;

static void this_host(char *out, size_t len)
{
    if (gethostname(out, len) != 0)
        snprintf(out, len, "unknown");
    out[len - 1] = '\0';
}

/* "host=H pid=P jobid=J command=C started=T\n"; newlines in C become spaces. */
static void format_lock(char *out, size_t len, const char *command)
{
    char host[256], started[64], cmd[1024];
    this_host(host, sizeof host);
    const char *job = getenv("SLURM_JOB_ID");
    if (!job || !*job)
        job = "-";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(cmd, sizeof cmd, "%s", command && *command ? command : "-");
    for (char *c = cmd; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    snprintf(out, len, "host=%s pid=%ld jobid=%.60s command=%s started=%s\n", host, (long)getpid(), job,
             cmd, started);
}

/* Copies the text between FROM (after its tag) and TO (or the end) into OUT. */
static void field(const char *from, const char *to, size_t taglen, char *out, size_t len)
{
    from += taglen;
    size_t n = to ? (size_t)(to - from) : strlen(from);
    if (n >= len)
        n = len - 1;
    memcpy(out, from, n);
    out[n] = '\0';
}

static bool parse_lock(const char *text, holder *h)
{
    memset(h, 0, sizeof *h);
    h->pid = -1;
    const char *p_host = strstr(text, "host=");
    const char *p_pid = strstr(text, " pid=");
    const char *p_job = strstr(text, " jobid=");
    const char *p_cmd = strstr(text, " command=");
    const char *p_started = NULL;
    for (const char *s = text; (s = strstr(s, " started=")) != NULL; s++)
        p_started = s;
    if (p_host != text || !p_pid || !p_job || !p_cmd || !p_started || p_pid > p_job || p_job > p_cmd ||
        p_cmd > p_started)
        return false;
    char pid[32];
    field(p_host, p_pid, 5, h->host, sizeof h->host);
    field(p_pid, p_job, 5, pid, sizeof pid);
    field(p_job, p_cmd, 7, h->jobid, sizeof h->jobid);
    field(p_cmd, p_started, 9, h->command, sizeof h->command);
    field(p_started, strchr(p_started, '\n'), 9, h->started, sizeof h->started);
    char *end;
    errno = 0;
    long v = strtol(pid, &end, 10);
    /* Beyond pid_t: no pid of this host (a cast would name another one). */
    if (errno || end == pid || *end || v <= 0 || v > INT_MAX)
        return false;
    h->pid = v;
    return true;
}

/* Reads the lock file into TEXT; MC_ENOENT when it is gone. */
static mc_status read_lock(const char *path, char *text, size_t len, mc_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mc_err_set(err, mc_status_from_errno(errno), errno, "%s: open: %s", path, strerror(errno));
    size_t n = 0;
    while (n < len - 1) {
        ssize_t r = read(fd, text + n, len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return mc_err_set(err, MC_EIO, e, "%s: read: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    text[n] = '\0';
    close(fd);
    return MC_OK;
}

static mc_status locked_error(const char *store, const char *text, mc_err *err)
{
    holder h;
    if (parse_lock(text, &h))
        return mc_err_set(err, MC_ELOCKED, 0,
                          "%s: locked by host=%s pid=%ld jobid=%s command=%s since %s; "
                          "if that job is gone, remove %s/LOCK",
                          store, h.host, h.pid, h.jobid, h.command, h.started, store);
    if (!*text)
        return mc_err_set(err, MC_ELOCKED, 0,
                          "%s: locked (%s/LOCK is empty: a writer is creating it, or died doing so; it counts as "
                          "stale once it is %d s old); if no job is writing, remove %s/LOCK",
                          store, store, EMPTY_LOCK_STALE_SECONDS, store);
    char shown[256];
    snprintf(shown, sizeof shown, "%.200s", text);
    shown[strcspn(shown, "\n")] = '\0';
    return mc_err_set(err, MC_ELOCKED, 0, "%s: locked (%s/LOCK says \"%s\"); if that job is gone, remove %s/LOCK",
                      store, store, shown, store);
}

/* PID (of this host) has exited and waits to be reaped: state Z (or X) in
 * /proc/PID/stat. A container whose init does not reap leaves such zombies;
 * kill(pid, 0) still succeeds on them. False when /proc cannot tell. */
static bool is_zombie(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');   /* "PID (COMM) STATE ...": COMM may hold anything */
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* An empty lock file at PATH old enough that its creator must have died
 * before writing its line (see EMPTY_LOCK_STALE_SECONDS). */
static bool is_abandoned_empty(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size != 0)
        return false;
    return time(NULL) - sb.st_mtime > EMPTY_LOCK_STALE_SECONDS;
}

/* The lock file PATH, holding TEXT, is provably stale: it names a process
 * of this host that no longer exists or is a zombie, or it is empty and
 * old (is_abandoned_empty). */
static bool is_stale(const char *path, const char *text)
{
    if (!*text)
        return is_abandoned_empty(path);
    holder h;
    if (!parse_lock(text, &h))
        return false;
    char host[256];
    this_host(host, sizeof host);
    if (strcmp(h.host, host) != 0)
        return false;
    return (kill((pid_t)h.pid, 0) != 0 && errno == ESRCH) || is_zombie(h.pid);
}

/* Moves a stale lock aside (atomically) and deletes it. Returns false when
 * the file moved aside was not the stale one (someone took over first); it
 * is then put back if possible. */
static bool clear_stale(const char *path, const char *stale_text)
{
    holder h;
    parse_lock(stale_text, &h);
    char aside[MC_PATH_MAX + 32];
    snprintf(aside, sizeof aside, "%s.stale-%ld", path, h.pid);
    if (rename(path, aside) != 0)
        return errno == ENOENT;
    char now[LOCK_TEXT_MAX];
    bool same = read_lock(aside, now, sizeof now, NULL) == MC_OK && strcmp(now, stale_text) == 0;
    if (!same && link(aside, path) != 0)
        return false;   /* leave it aside: its owner will find it moved */
    unlink(aside);
    return same;
}

/* Removes the LOCK.stale-PID files of STORE: clear_stale() unlinks each
 * right after moving it aside, so one is left only by a crash in between or
 * by a power loss that undid the unlink. Called with the lock held: none of
 * them is anyone's lock any more. A LOCK.takeover of a dead writer goes too
 * (one of a live one is that writer's, which it removes itself). */
static void remove_asides(const char *store)
{
    DIR *d = opendir(store);
    if (!d)
        return;
    struct dirent *e;
    char path[MC_PATH_MAX + 300], text[LOCK_TEXT_MAX];
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", store, e->d_name);
        if (strncmp(e->d_name, "LOCK.stale-", 11) == 0 ||
            (strcmp(e->d_name, "LOCK.takeover") == 0 && read_lock(path, text, sizeof text, NULL) == MC_OK &&
             is_stale(path, text)))
            unlink(path);
    }
    closedir(d);
}

/* Takes over LOCK, read as STALE_TEXT and found stale: true when it is
 * gone (the caller creates its own). Takeovers are serialized by
 * STORE/LOCK.takeover (O_EXCL, the taker's line): without it, a writer
 * that read the stale lock late could move aside the fresh lock of the
 * writer that took over first, and a third writer could create LOCK in the
 * moment before it is put back: two holders. Under LOCK.takeover, LOCK
 * changes only by its holder's release or this takeover, so a LOCK that
 * still reads STALE_TEXT is the stale one. A LOCK.takeover of a dead writer
 * (a crash in the middle of a takeover) is removed and taken once. */
static bool take_over(const char *store, const char *path, const char *stale_text, const char *my_text)
{
    char tpath[MC_PATH_MAX + 32], text[LOCK_TEXT_MAX];
    snprintf(tpath, sizeof tpath, "%s/LOCK.takeover", store);
    mc_status st = MC_EEXIST;
    for (int attempt = 0; attempt < 2 && st == MC_EEXIST; attempt++) {
        st = mc_write_file_sync(tpath, my_text, true, NULL);
        if (st == MC_EEXIST && read_lock(tpath, text, sizeof text, NULL) == MC_OK && is_stale(tpath, text))
            unlink(tpath);
        else if (st == MC_EEXIST)
            return false;   /* another writer is taking over: it wins */
    }
    if (st != MC_OK)
        return false;
    bool gone = false;
    st = read_lock(path, text, sizeof text, NULL);
    if (st == MC_ENOENT)
        gone = true;
    else if (st == MC_OK && strcmp(text, stale_text) == 0)
        gone = clear_stale(path, stale_text);
    unlink(tpath);
    return gone;
}

mc_status mc_lock_acquire(const char *store, const char *command, mc_lock **out, mc_err *err)
{
    *out = NULL;
    mc_status st = MC_OK;
    mc_lock *l = calloc(1, sizeof *l);
    if (!l)
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", store);
    if (snprintf(l->path, sizeof l->path, "%s/LOCK", store) >= (int)sizeof l->path) {
        st = mc_err_set(err, MC_EINVAL, 0, "%s: path too long", store);
        goto cleanup;
    }
    format_lock(l->text, sizeof l->text, command);
    for (int attempt = 0; attempt < 2; attempt++) {
        st = mc_write_file_sync(l->path, l->text, true, err);
        if (st == MC_OK) {
            remove_asides(store);
            *out = l;
            l = NULL;
            goto cleanup;
        }
        if (st != MC_EEXIST) {
            if (st == MC_ENOENT)
                st = mc_err_set(err, MC_ENOENT, ENOENT, "%s: not an mpicompact store (cannot create %s)", store,
                                l->path);
            goto cleanup;
        }
        char text[LOCK_TEXT_MAX];
        st = read_lock(l->path, text, sizeof text, err);
        if (st == MC_ENOENT)
            continue;   /* released in between: try again */
        if (st != MC_OK)
            goto cleanup;
        if (attempt > 0 || !is_stale(l->path, text) || !take_over(store, l->path, text, l->text)) {
            st = locked_error(store, text, err);
            goto cleanup;
        }
    }
    st = mc_err_set(err, MC_ELOCKED, 0, "%s: the lock changed hands while taking it; try again", store);
cleanup:
    free(l);
    return st;
}

void mc_lock_release(mc_lock **pl)
{
    if (!pl || !*pl)
        return;
    mc_lock *l = *pl;
    char text[LOCK_TEXT_MAX];
    if (read_lock(l->path, text, sizeof text, NULL) == MC_OK && strcmp(text, l->text) == 0)
        unlink(l->path);
    free(l);
    *pl = NULL;
}
