/* signals: drain and leave requests from signals (signals.h). */
#include "signals.h"

#include <string.h>

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

void mc_signals_early(void)
{
    set(SIGTERM, on_early, NULL);
    set(SIGUSR1, on_early, NULL);
    set(SIGUSR2, on_early, NULL);
}

void mc_signals_install(bool coordinator)
{
    mc_drain_requested = coordinator && early_drain;
    mc_leave_requested = !coordinator && early_leave;
    set(SIGTERM, coordinator ? on_drain : on_ignored, &old_term);
    set(SIGUSR1, coordinator ? on_drain : on_ignored, &old_usr1);
    set(SIGUSR2, coordinator ? on_ignored : on_leave, &old_usr2);
    installed = true;
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
