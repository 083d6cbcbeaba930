/* fault: named fault-injection points armed from MPICOMPACT_FAULT (fault.h). */
#include "fault.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/* A fixed table: parsing and checking never allocate. */
#define FAULT_MAX 16
#define FAULT_NAME_MAX 64

typedef struct fault_spec {
    char name[FAULT_NAME_MAX];
    int rank;            /* -1: every rank */
    uint64_t segno;      /* MC_FAULT_ANY_SEGNO: any */
    int64_t after;
    int64_t times;       /* -1: always */
    int64_t hits;        /* how often the point was reached (atomic) */
    bool kill;           /* mode=kill: SIGKILL to this process instead of an error */
} fault_spec;

static int fault_rank;

static fault_spec faults[FAULT_MAX];
static int nfaults;

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    char tmp[32];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(tmp, &end, 0);
    if (errno || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* One "key=value" of a spec; false when malformed. */
static bool parse_option(fault_spec *f, const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    if (!eq)
        return false;
    size_t klen = (size_t)(eq - s);
    const char *v = eq + 1;
    size_t vlen = len - klen - 1;
    if (klen == 4 && memcmp(s, "mode", 4) == 0) {
        if (vlen == 5 && memcmp(v, "error", 5) == 0)
            f->kill = false;
        else if (vlen == 4 && memcmp(v, "kill", 4) == 0)
            f->kill = true;
        else
            return false;
        return true;
    }
    int64_t x;
    if (!parse_i64(v, vlen, &x))
        return false;
    if (klen == 4 && memcmp(s, "rank", 4) == 0 && x >= 0 && x <= INT32_MAX)
        f->rank = (int)x;
    else if (klen == 5 && memcmp(s, "segno", 5) == 0 && x > 0)
        f->segno = (uint64_t)x;
    else if (klen == 5 && memcmp(s, "after", 5) == 0 && x >= 0)
        f->after = x;
    else if (klen == 5 && memcmp(s, "times", 5) == 0 && x >= -1)
        f->times = x;
    else
        return false;
    return true;
}

/* One "NAME[:k=v]..." spec of LEN bytes; false when malformed (ignored). */
static bool parse_spec(fault_spec *f, const char *s, size_t len)
{
    memset(f, 0, sizeof *f);
    f->rank = -1;
    f->segno = MC_FAULT_ANY_SEGNO;
    f->times = 1;
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    if (nlen == 0 || nlen >= FAULT_NAME_MAX)
        return false;
    memcpy(f->name, s, nlen);
    while (colon) {
        const char *opt = colon + 1;
        size_t rest = len - (size_t)(opt - s);
        colon = memchr(opt, ':', rest);
        size_t olen = colon ? (size_t)(colon - opt) : rest;
        if (!parse_option(f, opt, olen))
            return false;
    }
    return true;
}

void mc_fault_init(int rank)
{
    nfaults = 0;
    fault_rank = rank;
    const char *env = getenv("MPICOMPACT_FAULT");
    if (!env || !*env)
        return;
    const char *p = env;
    while (*p && nfaults < FAULT_MAX) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        fault_spec *f = &faults[nfaults];
        if (len && parse_spec(f, p, len) && (f->rank < 0 || f->rank == rank))
            nfaults++;
        if (!semi)
            break;
        p = semi + 1;
    }
}

/* mode=kill: one line on stderr (for the crash harness's tally), then SIGKILL. */
static void die(const char *name, uint64_t segno)
{
    char line[160];
    int n;
    if (segno == MC_FAULT_ANY_SEGNO)
        n = snprintf(line, sizeof line, "[r%d] fault %s: killing this process (test only)\n", fault_rank, name);
    else
        n = snprintf(line, sizeof line, "[r%d] fault %s: killing this process at segno %llu (test only)\n",
                     fault_rank, name, (unsigned long long)segno);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
        /* nothing to do: we die anyway */
    }
    kill(getpid(), SIGKILL);
    _exit(137);   /* not reached */
}

bool mc_fault_hit(const char *name, uint64_t segno)
{
    if (nfaults == 0)
        return false;
    bool fire = false;
    for (int i = 0; i < nfaults; i++) {
        fault_spec *f = &faults[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->segno != MC_FAULT_ANY_SEGNO && f->segno != segno)
            continue;
        int64_t k = __atomic_fetch_add(&f->hits, 1, __ATOMIC_RELAXED);
        if (k >= f->after && (f->times < 0 || k - f->after < f->times)) {
            if (f->kill)
                die(name, segno);
            fire = true;
        }
    }
    return fire;
}

mc_status mc_fault_check(const char *name, uint64_t segno, const char *path, mc_err *err)
{
    if (!mc_fault_hit(name, segno))
        return MC_OK;
    return mc_err_set(err, MC_EIO, EIO, "%s: injected fault %s: %s (test only)", path, name, strerror(EIO));
}
