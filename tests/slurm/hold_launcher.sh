#!/usr/bin/env bash
# hold_launcher.sh: an MC_LAUNCHER wrapper for the tests of compact.sbatch
# that must signal the batch shell while a given step is about to start.
#
#   MC_LAUNCHER="bash hold_launcher.sh mpirun" MC_HOLD_DIR=D MC_HOLD_AT=stat|compact
#
# The first call whose arguments include the mpicompact command MC_HOLD_AT
# touches D/held, waits (at most 300 s) for D/go, then execs its arguments
# (the real launcher, same pid); every other call execs at once. See
# MC_HOLD_LOSE below.
hold=0
if [[ -n ${MC_HOLD_DIR:-} && -n ${MC_HOLD_AT:-} ]]; then
    for a in "$@"; do
        [[ $a == "$MC_HOLD_AT" ]] && hold=1
    done
fi
if ((hold)) && mkdir "$MC_HOLD_DIR/claimed" 2>/dev/null; then
    # MC_HOLD_LOSE=1: a USR1 while held is lost, as by an mpirun that has
    # no ranks to forward it to yet (else it kills this wrapper, as it kills
    # an mpirun that has not installed its handler yet).
    [[ ${MC_HOLD_LOSE:-0} == 1 ]] && trap 'echo "hold_launcher: USR1 lost" >&2' USR1
    touch "$MC_HOLD_DIR/held"
    for ((i = 0; i < 3000; i++)); do
        [[ -e $MC_HOLD_DIR/go ]] && break
        sleep 0.1
    done
fi
exec "$@"
