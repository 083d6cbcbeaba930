#!/usr/bin/env bash
# The outputs of an applied compaction survive the end of the run even when
# a stale slice of an earlier attempt of the same compaction never answers.
# (Issue 6, bug 1: a slice fails on rank 1, the compaction restarts unsplit
# and is applied, another slice of the failed attempt is still reading on a
# slow rank 2 when the drain's grace ends; the final cleanup used to treat
# that stale slice as the unit's and unlink the applied outputs: exit 0, then
# verify failed with a missing segment file.) Needs 3 ranks at least; rank 2
# reads through an LD_PRELOAD shim that makes every data read (>= 32 KiB, a chunk)
# take 2 s; opening the inputs stays fast, so the slow slice holds them open.
# ranks: 3
source "$(dirname "$0")/lib.sh"
(( NP >= 3 )) || { echo "SKIP: needs 3 ranks"; exit 77; }
shim=$(build_shim)

s=$MC_TMP/store
run_ok mc init "$s" --segment-size 32M
run_ok mc gen "$s" --segments 8 --items 20000 --seed "$MC_SEED"
d=$(digest_of "$s")

rc=0
mc_mpirun_env "$NP" LD_PRELOAD="$shim" MC_SHIM_RANK=2 MC_SHIM_READ_DELAY=2 MC_SHIM_READ_MIN=32768 \
    MPICOMPACT_FAULT=merge_fail:rank=1 -- \
    compact "$s" --inflight 1 --time-limit 3 >"$MC_OUT" 2>"$MC_ERR" || rc=$?
check_sanitizers compact
[[ $rc == 0 || $rc == 3 ]] || { show_last; fail "compact exit $rc (want 0 or 3)"; }
assert_grep "failed on rank 1" "$MC_ERR" "the injected failure happened"

run_ok mc verify "$s"
assert_eq "$(digest_of "$s")" "$d" "digest after the run"
check_seg_dir "$s"
[[ ! -e $s/LOCK ]] || fail "LOCK left behind"
pass
