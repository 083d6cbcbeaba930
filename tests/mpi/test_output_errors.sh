#!/usr/bin/env bash
# Every command checks its writes to stdout and the final flush: with stdout
# on a full device (/dev/full) a command that prints something exits 1 and
# says "writing the output failed"; one that prints nothing still succeeds.
# Only as a singleton: under mpirun, rank 0's stdout is a pipe to the
# launcher, which relays it (and ignores its own write errors).
# ranks: 1
source "$(dirname "$0")/lib.sh"

[[ -w /dev/full ]] || { echo "SKIP: no /dev/full"; exit 77; }

S=$MC_TMP/store
run_ok mc init "$S" --segment-size 64K
run_ok mc gen "$S" --segments 2 --items 50 --seed "$MC_SEED"
run_ok mc scan "$S"
key=$(head -n 1 "$MC_OUT" | cut -f1)
[[ -n $key ]] || fail "scan printed no key"

# full CMD...: CMD with stdout on /dev/full must exit 1 and say why.
full() {
    local rc=0
    "$@" >/dev/full 2>"$MC_ERR" || rc=$?
    [[ $rc == 1 ]] || { head -c 2000 "$MC_ERR" >&2; fail "exit $rc (want 1) with stdout on /dev/full: $*"; }
    assert_grep "writing the output failed" "$MC_ERR" "message for a failed write: $*"
}

full mc digest "$S"
full mc stat "$S"
full mc stat "$S" --json
full mc verify "$S"
full mc scan "$S"
full mc get "$S" -- "$key"
full mc help
full mc help scan
full mc scan --help
full mc --version

# Commands with nothing on stdout are unaffected.
quiet_ok() {
    local rc=0
    "$@" >/dev/full 2>"$MC_ERR" || rc=$?
    [[ $rc == 0 ]] || { head -c 2000 "$MC_ERR" >&2; fail "exit $rc (want 0) with stdout on /dev/full: $*"; }
}
quiet_ok mc gen "$S" --segments 1 --items 10 --seed 3
quiet_ok mc compact "$S" --report "$MC_TMP/report.json"
quiet_ok mc init "$MC_TMP/other"
run_ok mc verify "$S"

pass
