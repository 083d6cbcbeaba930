#!/usr/bin/env bash
# A failed receive never hangs the job (issue 11, item 3): an LD_PRELOAD shim
# makes one MPI_Recv fail on a chosen rank (tests/mpi/shim/mpishim.c). The
# worker answers with a farewell (or aborts the job), rank 0 re-issues its
# work or fails cleanly; under `timeout` a hang fails the test. Afterwards the
# store verifies, its digest is unchanged and no LOCK is left.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"
shim=$(build_shim)

base=$MC_TMP/base
run_ok mc init "$base" --segment-size 4K --fanout 3 --l0-limit 2
run_ok mc gen "$base" --segments $((16 + RANDOM % 8)) --items $((80 + RANDOM % 60)) --key-size 4:16 \
    --value-size 0:48 --overwrite 0.4 --delete 0.2 --seed "$MC_SEED"
d=$(digest_of "$base")

# fail_recv RANK N: the Nth MPI_Recv of RANK fails (on a worker the first two
# are the session's start-up broadcasts; the compaction loop's come next:
# MC_SHIM_TRACE=1 lists them).
fail_recv() {
    local rank=$1 n=$2 rc=0
    s=$MC_TMP/store-$rank-$n
    cp -r "$base" "$s"
    timeout 120 mpirun -n "$NP" --oversubscribe --bind-to none -x LD_PRELOAD="$shim" \
        -x MC_SHIM_RANK="$rank" -x MC_SHIM_RECV_FAIL="$n" "$MC_BIN" compact "$s" \
        </dev/null >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    [[ $rc != 124 ]] || { show_last; fail "rank $rank, receive $n failing: the job hung"; }
    [[ $rc == 0 || $rc == 1 ]] || { show_last; fail "rank $rank, receive $n failing: exit $rc"; }
    check_sanitizers compact
    assert_grep "could not be received|cannot receive|failed: error" "$MC_ERR" "the failure is reported"
    run_ok mc verify "$s"
    assert_eq "$(digest_of "$s")" "$d" "digest after a failed receive on rank $rank"
    [[ ! -e $s/LOCK ]] || fail "LOCK left after a failed receive on rank $rank"
    echo "rank $rank receive $n: exit $rc"
}

fail_recv 1 3        # the first request
fail_recv 1 4        # a later message (a request, or STOP)
fail_recv 0 1        # rank 0's first receive (a response)
# The job still finishes the work once nothing fails.
run_ok mc compact "$s"
run_ok mc verify "$s"
assert_eq "$(digest_of "$s")" "$d" "digest at the end"
check_seg_dir "$s"
pass
