#!/usr/bin/env bash
# hold_launcher.sh: an MC_LAUNCHER wrapper for the tests of compact.sbatch
# that must signal the batch shell while a given step is about to start.
#
#   MC_LAUNCHER="bash hold_launcher.sh mpirun" MC_HOLD_DIR=D MC_HOLD_AT=stat|compact
#
# The first call whose arguments include the mpicompact command MC_HOLD_AT
# touches D/held, waits (at most 300 s) for D/go, then execs its arguments
# (the real launcher, same pid); every other call execs at once.
hold=0
if [[ -n ${MC_HOLD_DIR:-} && -n ${MC_HOLD_AT:-} ]]; then
    for a in "$@"; do
        [[ $a == "$MC_HOLD_AT" ]] && hold=1
    done
fi
if ((hold)) && mkdir "$MC_HOLD_DIR/claimed" 2>/dev/null; then
    touch "$MC_HOLD_DIR/held"
    for ((i = 0; i < 3000; i++)); do
        [[ -e $MC_HOLD_DIR/go ]] && break
        sleep 0.1
    done
fi
exec "$@"
