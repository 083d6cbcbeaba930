#!/usr/bin/env bash
# test_signals.sh: how jobs/compact.sbatch answers signals, and a requeued
# job's own lock, under a real private single-node Slurm (slurm_lib.sh), with
# 2 tasks per job. Every signal goes to the batch shell only (scancel --batch),
# at a moment fixed by events: a step held by hold_launcher.sh, the script's
# own "got SIG..." log line, or STORE/LOCK naming the job.
#
#   A. USR1 while compact is starting (launcher held before it execs mpirun),
#      MC_TIME_LIMIT=none: the drain is passed on once compact holds the lock;
#      compact drains, the job exits 3.
#   A2. The same, but the launcher loses a USR1 sent while it starts (an
#      mpirun with no ranks yet): the drain still reaches compact: exit 3.
#   B. TERM while compact runs (resubmission on): compact drains, the job
#      exits 3 and does not resubmit itself (a cancel is not a time limit).
#   C. TERM before compact starts (first `stat` held): compact is not
#      started, no resubmission, exit 143.
#   D. USR1 before compact starts on a store with nothing to do: compact
#      runs, drains, finds nothing left: exit 0, no resubmission.
#   E. A lock naming the job itself, from another host (MC_TAKE_STALE_LOCK=1):
#      kept, with the reason in the log, while the job was never requeued
#      (exit 1); removed after `scontrol requeue` (SLURM_RESTART_COUNT=1, the
#      lock older than this incarnation): exit 0.
# Stores are checked with verify and digest after each group. MC_CASES
# (default "A A2 B C D E") runs a subset; MC_JOBS_DIR tests other copies of the
# scripts (default jobs/ of this tree).
[[ $(id -u) == 0 ]] || { echo "SKIP: test_signals.sh needs root (private Slurm)"; exit 77; }
# shellcheck source=tests/mpi/lib.sh
source "$(dirname "$0")/../mpi/lib.sh"
# shellcheck source=tests/slurm/slurm_lib.sh
source "$(dirname "$0")/slurm_lib.sh"

JOBS=${MC_JOBS_DIR:-$MC_SRC/jobs}
CASES=" ${MC_CASES:-A A2 B C D E} "
BIG=$MC_TMP/store/big       # work left for several drains
SMALL=$MC_TMP/store/small   # compacted: nothing to do
HOLD_LAUNCHER="bash $MC_SRC/tests/slurm/hold_launcher.sh mpirun"
# An old script that resubmits must not write into the current directory.
export MC_BIN MC_TASKS=2 MC_RESUBMIT_ARGS="--output=$OUT/compact-%j.out"
# Work left for several drains: level 0 goes down in one pass as wide as
# memory allows (docs/COMPACTION.md), so one compaction could take all of
# BIG's level 0 and leave only moves, which end the next job in no time with
# exit 0. A merge width of 4 makes it a tree of merges (rank 0 reads this;
# sbatch and mpirun pass the environment on).
export MPICOMPACT_MERGE_FDS=4
mkdir -p "$MC_TMP/store"
cd "$MC_TMP" || exit 1
want() { [[ $CASES == *" $1 "* ]]; }

# --- the stores (directly, not through Slurm) ----------------------------------
for s in "$BIG" "$SMALL"; do
    run_ok "$MC_BIN" init "$s" --segment-size 64K --l0-limit 2 --fanout 4
done
run_ok mc_mpirun 2 gen "$BIG" --segments 160 --items 2000 --overwrite 0.3 --delete 0.1 --seed "$MC_SEED"
run_ok mc_mpirun 2 gen "$SMALL" --segments 6 --items 500 --seed "$((MC_SEED + 1))"
run_ok mc_mpirun 2 compact "$SMALL" --progress none
d_big=$(digest_of "$BIG")
d_small=$(digest_of "$SMALL")

slurm_start

# new_hold: a fresh directory for hold_launcher.sh in $hold.
nhold=0
new_hold() {
    nhold=$((nhold + 1))
    hold=$MC_TMP/hold$nhold
    mkdir -p "$hold"
}
# held_then_signal JID HOLD_DIR SIG: waits until the step is held, signals
# the batch shell, waits for the script to log the signal, releases the step.
held_then_signal() {
    local jid=$1 dir=$2 sig=$3 i
    wait_for "$jid" "the held step" test -e "$dir/held"
    scancel --signal="$sig" --batch "$jid" || slurm_fail "scancel --signal=$sig --batch $jid"
    # The fixed script logs the signal at once; an old one only after the
    # step, so this wait is bounded and then the step is released anyway.
    for ((i = 0; i < 300; i++)); do
        grep -qs "got SIG$sig" "$OUT/compact-$jid.out" && break
        sleep 0.1
    done
    touch "$dir/go"
}
lock_names() {   # lock_names STORE JID
    grep -qs "jobid=$2 command=compact" "$1/LOCK"
}
check_store() {   # check_store STORE WANT_DIGEST WHAT
    run_ok "$MC_BIN" verify "$1"
    assert_grep '^verify: OK' "$MC_OUT" "verify after $3"
    assert_eq "$(digest_of "$1")" "$2" "digest after $3"
    [[ ! -e $1/LOCK ]] || fail "$1/LOCK left after $3: $(cat "$1/LOCK")"
}

# --- A. USR1 while compact is starting -------------------------------------------
if want A; then
    new_hold
    jid=$(MC_HOLD_DIR=$hold MC_HOLD_AT=compact STORE=$BIG MC_LAUNCHER=$HOLD_LAUNCHER MC_TIME_LIMIT=none \
        MC_RESUBMIT=0 submit "$JOBS/compact.sbatch" compact)
    held_then_signal "$jid" "$hold" USR1
    expect_job "$jid" 3 "A: USR1 while compact starts"
    log=$OUT/compact-$jid.out
    assert_grep 'got SIGUSR1' "$log" "A: the script saw USR1"
    assert_grep 'draining \(signal\)' "$log" "A: compact drained on the passed-on USR1"
    assert_grep 'compact exited 3' "$log" "A: compact's own status"
    no_jobs "A (MC_RESUBMIT=0)"
fi

# --- A2. USR1 while compact is starting, a launcher that would lose it ---------------
if want A2; then
    new_hold
    jid=$(MC_HOLD_DIR=$hold MC_HOLD_AT=compact MC_HOLD_LOSE=1 STORE=$BIG MC_LAUNCHER=$HOLD_LAUNCHER \
        MC_TIME_LIMIT=none MC_RESUBMIT=0 submit "$JOBS/compact.sbatch" compact)
    held_then_signal "$jid" "$hold" USR1
    expect_job "$jid" 3 "A2: USR1 while compact starts, lost if sent then"
    log=$OUT/compact-$jid.out
    assert_grep 'draining \(signal\)' "$log" "A2: compact drained on the passed-on USR1"
    if grep -q 'hold_launcher: USR1 lost' "$log"; then slurm_fail "A2: USR1 sent before compact could take it"; fi
    no_jobs "A2 (MC_RESUBMIT=0)"
fi

# --- B. TERM while compact runs: drain, never resubmit -----------------------------
if want B; then
    jid=$(STORE=$BIG submit "$JOBS/compact.sbatch" compact)
    wait_for "$jid" "compact holding the lock" lock_names "$BIG" "$jid"
    scancel --signal=TERM --batch "$jid" || slurm_fail "scancel --signal=TERM --batch $jid"
    expect_job "$jid" 3 "B: TERM while compact runs"
    log=$OUT/compact-$jid.out
    assert_grep 'got SIGTERM' "$log" "B: the script saw TERM"
    assert_grep 'draining \(signal\)' "$log" "B: compact drained"
    assert_grep 'cancelled .*not resubmitting' "$log" "B: no resubmission after a cancel"
    if grep -q 'resubmitted as job' "$log"; then slurm_fail "B: job $jid resubmitted itself after TERM"; fi
    no_jobs "B (TERM: no resubmission)"
    check_store "$BIG" "$d_big" "A, A2 and B"
fi

# --- C. TERM before compact starts ----------------------------------------------------
if want C; then
    new_hold
    jid=$(MC_HOLD_DIR=$hold MC_HOLD_AT=stat STORE=$SMALL MC_LAUNCHER=$HOLD_LAUNCHER \
        submit "$JOBS/compact.sbatch" compact)
    held_then_signal "$jid" "$hold" TERM
    expect_job "$jid" 143 "C: TERM before compact starts"
    log=$OUT/compact-$jid.out
    assert_grep 'got SIGTERM' "$log" "C: the script saw TERM"
    assert_grep 'not starting compact' "$log" "C: compact not started"
    if grep -q 'compact exited' "$log"; then slurm_fail "C: compact ran after TERM"; fi
    no_jobs "C (TERM before compact: no resubmission)"
fi

# --- D. USR1 before compact starts, nothing to do --------------------------------------
if want D; then
    new_hold
    jid=$(MC_HOLD_DIR=$hold MC_HOLD_AT=stat STORE=$SMALL MC_LAUNCHER=$HOLD_LAUNCHER \
        submit "$JOBS/compact.sbatch" compact)
    held_then_signal "$jid" "$hold" USR1
    expect_job "$jid" 0 "D: USR1 before compact starts, nothing to do"
    log=$OUT/compact-$jid.out
    assert_grep 'got SIGUSR1' "$log" "D: the script saw USR1"
    assert_grep 'compact exited 0' "$log" "D: compact asked, nothing left"
    if grep -q 'resubmitted as job' "$log"; then slurm_fail "D: job $jid resubmitted itself"; fi
    no_jobs "D (nothing to do: no resubmission)"
    check_store "$SMALL" "$d_small" "C and D"
fi

# --- E. the job's own lock: kept unless the job was requeued ------------------------------
if want E; then
    jid=$(STORE=$SMALL MC_TAKE_STALE_LOCK=1 MC_RESUBMIT=0 submit "$JOBS/compact.sbatch" compact --hold --requeue)
    # As if an earlier incarnation's rank 0 had run on another node.
    lock="host=elsewhere.invalid pid=1 jobid=$jid command=compact started=$(date -u -d '-10 sec' +%Y-%m-%dT%H:%M:%SZ)"
    echo "$lock" >"$SMALL/LOCK"
    scontrol release "$jid" || slurm_fail "scontrol release $jid"
    expect_job "$jid" 1 "E: the job's own lock, never requeued"
    log=$OUT/compact-$jid.out
    assert_grep 'names this job, which has not been requeued.*leaving' "$log" "E: why the lock is kept"
    assert_eq "$(cat "$SMALL/LOCK")" "$lock" "E: the kept lock"
    mv "$log" "$log.first"
    # A requeued job starts again once its credential has expired
    # (slurm_up.sh sets cred_expire=10; forcing StartTime=now instead gets
    # it killed as "Job credential revoked" when it is quick).
    scontrol requeue "$jid" || slurm_fail "scontrol requeue $jid"
    expect_job "$jid" 0 "E: requeued, its earlier incarnation's lock"
    assert_grep 'removed the lock of this job.s previous incarnation' "$log" "E: the requeued job's log"
    assert_grep 'SLURM_RESTART_COUNT=1' "$log" "E: the restart count named"
    check_store "$SMALL" "$d_small" "E"
fi

echo "all jobs done in $((SECONDS - t_start)) s"
pass
