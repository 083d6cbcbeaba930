/* signals: drain and leave requests from signals (signals.h). */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t mc_drain_requested;
volatile sig_atomic_t mc_leave_requested;

static struct sigaction old_term, old_usr1, old_usr2;
static bool installed;
/* Signals that arrived before mc_signals_install() (during MPI start-up). */
static volatile sig_atomic_t early_drain, early_leave;

static void on_drain(int sig)
{
    (void)sig;
    mc_drain_requested = 1;
}

static void on_leave(int sig)
{
    (void)sig;
    mc_leave_requested = 1;
}

static void on_ignored(int sig)
{
    (void)sig;
}

static void on_early(int sig)
{
    if (sig == SIGUSR2)
        early_leave = 1;
    else
        early_drain = 1;
}

static void set(int sig, void (*fn)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, old);
}

/* MPICOMPACT_READY_FILE=PATH: creates PATH.<pid> (holding the pid), so
 * that a test can wait until this process's handlers are in place. */
static void announce_ready(void)
{
    const char *base = getenv("MPICOMPACT_READY_FILE");
    if (!base || !*base)
        return;
    char path[4096], text[32];
    int n = snprintf(path, sizeof path, "%s.%ld", base, (long)getpid());
    int fd = n > 0 && (size_t)n < sizeof path
                 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) != 0)
        fprintf(stderr, "mpicompact: cannot create the ready file %s.%ld (MPICOMPACT_READY_FILE): %s\n",
                base, (long)getpid(), strerror(errno));
}

void mc_signals_early(void)
{
    set(SIGTERM, on_early, NULL);
    set(SIGUSR1, on_early, NULL);
    set(SIGUSR2, on_early, NULL);
    announce_ready();
}

/* The handlers first, then the early flags: a signal before a handler is
 * replaced sets an early flag (read below), one after sets the flag itself;
 * none is lost. Nothing sets the early flags once on_early is gone. */
void mc_signals_install(bool coordinator)
{
    mc_drain_requested = 0;
    mc_leave_requested = 0;
    set(SIGTERM, coordinator ? on_drain : on_ignored, &old_term);
    set(SIGUSR1, coordinator ? on_drain : on_ignored, &old_usr1);
    set(SIGUSR2, coordinator ? on_ignored : on_leave, &old_usr2);
    installed = true;
    if (coordinator && early_drain)
        mc_drain_requested = 1;
    if (!coordinator && early_leave)
        mc_leave_requested = 1;
    early_drain = 0;
    early_leave = 0;
}

void mc_signals_restore(void)
{
    if (!installed)
        return;
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGUSR2, &old_usr2, NULL);
    installed = false;
}
