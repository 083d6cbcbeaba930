#!/usr/bin/env bash
# slurm_down.sh: stop the private Slurm that slurm_up.sh started under DIR.
#
#   bash tests/slurm/slurm_down.sh DIR
#
# Cancels the cluster's jobs (bounded wait), then stops slurmd, slurmctld
# and munged by the PIDs in their pid files under DIR, and only when that
# process's command line names DIR (a recycled PID is left alone). TERM
# first, KILL after 10 s. Safe to run twice, or after a start that failed
# half-way. DIR itself is left for the caller to inspect or remove.
set -uo pipefail

[[ $# == 1 ]] || { echo "usage: slurm_down.sh DIR" >&2; exit 2; }
DIR=$(cd "$1" 2>/dev/null && pwd) || exit 0
CONF=$DIR/slurm.conf

# Jobs first, while slurmctld and slurmd still run: their steps end cleanly.
ctld_pidfile=$DIR/run/slurmctld.pid
if [[ -f $CONF && -s $ctld_pidfile ]] && kill -0 "$(cat "$ctld_pidfile")" 2>/dev/null; then
    export SLURM_CONF=$CONF
    jobs=$(timeout 10 squeue -h -o '%i' 2>/dev/null || true)
    if [[ -n $jobs ]]; then
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            [[ -z $(timeout 5 squeue -h -o '%i' 2>/dev/null) ]] && break
            sleep 0.1
        done
    fi
fi

# ours PID: the process exists and its command line names DIR.
ours() {
    [[ $1 =~ ^[0-9]+$ ]] && [[ -r /proc/$1/cmdline ]] &&
        tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR"
}

stop() {   # stop NAME PIDFILE
    local name=$1 pidfile=$2 pid i
    [[ -s $pidfile ]] || return 0
    pid=$(tr -dc '0-9' <"$pidfile")
    if ! ours "$pid"; then
        rm -f "$pidfile" 2>/dev/null
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        ours "$pid" || { echo "slurm_down: stopped $name ($pid)" >&2; return 0; }
        sleep 0.1
    done
    echo "slurm_down: $name ($pid) ignored TERM for 10 s: KILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        ours "$pid" || return 0
        sleep 0.1
    done
    echo "slurm_down: $name ($pid) still running" >&2
    return 1
}

rc=0
stop slurmd "$DIR/run/slurmd.pid" || rc=1
stop slurmctld "$ctld_pidfile" || rc=1
stop munged "$DIR/munge/munged.pid" || rc=1
exit $rc
