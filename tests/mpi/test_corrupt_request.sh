#!/usr/bin/env bash
# A malformed request: the fault point corrupt_request cuts a received
# request message short on a worker before it is decoded (docs/COMPACT.md,
# "Fault injection"). The worker answers with an error carrying the
# request's id (it never crashes or hangs), rank 0 retries the compaction,
# and the store ends compacted with its digest unchanged and no orphan. With
# every request to every worker corrupted, compact still ends on its own
# (done by rank 0 or quarantined), the store verifies and keeps its digest.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store
run_ok mc init "$S" --segment-size 16K --l0-limit 1 --fanout 4
run_ok mc gen "$S" --segments 6 --items 400 --overwrite 0.2 --delete 0.1 --seed "$MC_SEED"
d0=$(digest_of "$S")

# One corrupted request on rank 1: refused with an error, retried, done.
run_ok mc_mpirun_env "$NP" "MPICOMPACT_FAULT=corrupt_request:rank=1:times=1" -- compact "$S"
assert_grep 'received a malformed request' "$MC_ERR" "rank 0 logs the worker's error answer"
assert_grep 'compaction [0-9]+ refused: malformed request' "$MC_ERR" "the worker names the refused compaction"
run_ok mc verify "$S"
check_seg_dir "$S"
assert_eq "$(digest_of "$S")" "$d0" "digest after a corrupted request"

# Every request to every worker corrupted: no crash, no hang, nothing lost.
run_ok mc gen "$S" --segments 4 --items 300 --seed "$((MC_SEED + 1))"
d1=$(digest_of "$S")
rc=0
mc_mpirun_env "$NP" "MPICOMPACT_FAULT=corrupt_request:times=-1" -- compact "$S" --full >"$MC_OUT" 2>"$MC_ERR" || rc=$?
check_sanitizers "compact with every request corrupted"
[[ $rc == 0 || $rc == 1 ]] || { show_last; fail "compact with every request corrupted: exit $rc (want 0 or 1)"; }
run_ok mc verify "$S"
check_seg_dir "$S"
assert_eq "$(digest_of "$S")" "$d1" "digest after every request was corrupted"
pass
