#!/usr/bin/env bash
# compact at NP ranks under injected faults (MPICOMPACT_FAULT, see
# src/core/fault.h): a merge that fails once is retried elsewhere; one that always fails
# is quarantined (exit 1, its segment stays, nothing lost); a worker that
# leaves mid-job has its compactions finished elsewhere; a coordinator that
# crashes before a commit leaves the last committed state, and a rerun
# removes the orphans and finishes; a held lock is refused with its holder.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"

report_field() {   # report_field FILE NAME
    py -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(" ".join(map(str, v)) if isinstance(v, list) else v)' \
        "$1" "$2" || fail "report $1 has no $2"
}

# new_store NAME: a store with enough level-0 segments for many compactions.
new_store() {
    local s=$MC_TMP/$1
    run_ok mc init "$s" --segment-size 4K --fanout 3 --l0-limit 2
    run_ok mc gen "$s" --segments $((16 + RANDOM % 8)) --items $((80 + RANDOM % 60)) --key-size 4:16 \
        --value-size 0:48 --overwrite 0.4 --delete 0.2 --seed "$MC_SEED"
    run_ok mc gen "$s" --segments 12 --items 80 --key-size 4:16 --value-size 8:24 \
        --overwrite 0.3 --delete 0.2 --seed "$MC_SEED"
    echo "$s"
}

# banded_store NAME: N level-0 segments of sequential keys (one gen run, no
# overwrites or deletes), then for each of them a newer copy of exactly its
# keys (written with h5py, seqs shifted past the run, added): segment j and
# its copy overlap, different j never do, so a stuck key band blocks nothing
# else. (A second gen run would write new keys, not the same ones.)
banded_store() {
    local s=$MC_TMP/$1 n=$((8 + RANDOM % 8)) j f
    run_ok mc init "$s" --segment-size 4K --fanout 3 --l0-limit 2
    run_ok mc gen "$s" --segments "$n" --items 60 --dist sequential --value-size 0:40 --seed "$MC_SEED"
    mkdir -p "$MC_TMP/$1.bands"
    for ((j = 1; j <= n; j++)); do
        f=$(printf '%s/seg/%02x/%016x.h5' "$s" "$((j % 256))" "$j")
        "$MC_PY" "$MC_FMT" rewrite "$f" "$MC_TMP/$1.bands/$j.h5" $((n * 60)) ||
            fail "cannot rewrite segment $j of $s"
    done
    run_ok mc add "$s" "$MC_TMP/$1.bands"/*.h5
    echo "$s"
}

check_clean() {   # check_clean STORE DIGEST WHAT
    run_ok mc verify "$1"
    assert_eq "$(digest_of "$1")" "$2" "$3: digest"
    check_seg_dir "$1"
}

# 1. A merge fails once on rank 1: retried on another rank, nothing lost.
s=$(new_store once)
d=$(digest_of "$s")
MPICOMPACT_FAULT="merge_fail:rank=1" run_ok mc compact "$s" --report "$MC_TMP/once.json"
assert_grep "failed on rank 1" "$MC_ERR" "the failure is logged"
check_clean "$s" "$d" "merge fails once"
[[ $(report_field "$MC_TMP/once.json" compactions_retried) -ge 1 ]] || fail "no retry counted"
assert_eq "$(report_field "$MC_TMP/once.json" compactions_failed)" 0 "failed count after a retry"

# 2. Every merge reading segment 1 fails: retries exhausted, quarantined,
# exit 1, everything else compacted.
s=$(banded_store always)
d=$(digest_of "$s")
MPICOMPACT_FAULT="merge_fail:segno=1:times=-1" expect_fail 1 mc compact "$s" \
    --retries 2 --report "$MC_TMP/always.json"
assert_grep "quarantined" "$MC_ERR" "quarantine is reported on stderr"
check_clean "$s" "$d" "merge always fails"
fmt manifest "$s" >"$MC_TMP/manifest.txt" || fail "cannot list the manifest of $s"
grep -q "^1 " "$MC_TMP/manifest.txt" || fail "segment 1 is no longer in the manifest"
[[ -f $s/seg/01/0000000000000001.h5 ]] || fail "segment 1's file is gone"
assert_eq "$(report_field "$MC_TMP/always.json" exit_status)" 1 "report exit_status"
[[ " $(report_field "$MC_TMP/always.json" quarantined) " == *" 1 "* ]] || fail "segment 1 not in the report's quarantined list"
assert_eq "$(report_field "$MC_TMP/always.json" compactions_retried)" 2 "retries before quarantine"
[[ $(report_field "$MC_TMP/always.json" compactions_done) -ge 1 ]] || fail "other work was not finished"
# --strict stops at the first failure, also with exit 1, store intact.
s=$(banded_store strict)
d=$(digest_of "$s")
MPICOMPACT_FAULT="merge_fail:segno=1:times=-1" expect_fail 1 mc compact "$s" --strict
assert_grep "strict" "$MC_ERR" "--strict is named"
check_clean "$s" "$d" "--strict"

# 3. Rank 1 leaves after its first compaction (holding another in flight):
# its work finishes elsewhere. Key bands give many independent compactions,
# so rank 1 surely finishes one before the job ends.
s=$(banded_store leave)
d=$(digest_of "$s")
MPICOMPACT_FAULT="worker_leave:rank=1:after=0" run_ok mc compact "$s" --report "$MC_TMP/leave.json"
assert_grep "rank 1 left the job" "$MC_ERR" "the leave is logged"
check_clean "$s" "$d" "worker leaves"
run_ok mc compact "$s" --report "$MC_TMP/leave2.json" --progress none
assert_eq "$(report_field "$MC_TMP/leave2.json" compactions_done)" 0 "work left after a worker left"

# 4. Rank 0 dies right before its second commit; the store is the last
# committed state, and a rerun removes the orphans and finishes the job.
s=$(new_store crash)
d=$(digest_of "$s")
MPICOMPACT_FAULT="coordinator_crash" expect_fail nz mc compact "$s"
assert_grep "coordinator_crash" "$MC_ERR" "the crash fault is logged"
[[ -f $s/LOCK ]] || fail "the crashed job's LOCK is gone (expected it left behind)"
assert_eq "$(digest_of "$s")" "$d" "digest of the committed state after the crash"
run_ok mc compact "$s" --report "$MC_TMP/crash.json"
echo "rerun after the crash removed $(report_field "$MC_TMP/crash.json" orphans_removed) orphans"
check_clean "$s" "$d" "after a coordinator crash and rerun"
[[ ! -f $s/LOCK ]] || fail "LOCK left after the rerun"

# 5. A store whose LOCK a live process holds is refused, naming the holder.
sleep 300 &
holder=$!
MC_KILL+=("$holder")   # alive from the fork on (kill -0 succeeds): no start-up race
printf 'host=%s pid=%d jobid=4242 command=compact started=2026-01-01T00:00:00\n' \
    "$(hostname)" "$holder" >"$s/LOCK"
expect_fail nz mc compact "$s"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
assert_grep "pid[= ]*$holder" "$MC_ERR" "the lock error names the holder's pid"
assert_grep "4242" "$MC_ERR" "the lock error names the holder's job id"
rm -f "$s/LOCK"
check_clean "$s" "$d" "after a refused compact"
pass
