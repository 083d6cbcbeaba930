#!/usr/bin/env bash
# test_jobs.sh: jobs/gen.sbatch and jobs/compact.sbatch under a real,
# private single-node Slurm (slurm_up.sh / slurm_down.sh), with 4 tasks each.
#
#   1. gen.sbatch (mpirun) creates a store; compact.sbatch compacts it: both
#      exit 0, compact ran on 4 ranks with a --time-limit derived from the
#      job's time left, the digest is unchanged, verify is clean.
#      A lock of another host naming that (ended) job: compact.sbatch exits 1;
#      with MC_TAKE_STALE_LOCK=1 it removes the lock and exits 0.
#   2. gen.sbatch (srun --mpi=pmix) adds segments; compact.sbatch with
#      MC_RESUBMIT=0 gets USR1 mid-way (scancel --signal=USR1 --batch): it
#      drains and the job exits 3; verify clean, digest unchanged.
#   3. compact.sbatch (resubmission on) gets USR1 again: exits 3 and submits
#      itself; the follow-up job finishes the work and exits 0 (on a slow
#      machine it may drain at its own time limit and resubmit in turn: the
#      chain is followed, at most 3 drains); verify clean, digest unchanged,
#      no lock left.
#
# Skips (exit 77) only when not root, or when the Slurm packages are missing
# and there is no apt-get to install them. Environment as for tests/mpi
# (MC_BIN, MC_SEED); MC_KEEP_TMP=1 keeps the temporary directory.
[[ $(id -u) == 0 ]] || { echo "SKIP: test_jobs.sh needs root (private Slurm)"; exit 77; }
# shellcheck source=tests/mpi/lib.sh
source "$(dirname "$0")/../mpi/lib.sh"

# shellcheck source=tests/slurm/slurm_lib.sh
source "$(dirname "$0")/slurm_lib.sh"

JOBS=$MC_SRC/jobs
STORE=$MC_TMP/store/s
JOB_MINUTES=3   # test 1 checks the --time-limit derived from it
mkdir -p "$MC_TMP/store"

slurm_start

# signal_when_compacting JID: USR1 to the batch shell once compact runs.
signal_when_compacting() {
    local jid=$1 i
    for ((i = 0; i < JOB_TIMEOUT * 10; i++)); do
        grep -qs "jobid=$jid command=compact" "$STORE/LOCK" && break
        [[ $(job_field "$jid" JobState) =~ ^(PENDING|CONFIGURING|RUNNING)$ ]] ||
            slurm_fail "job $jid ended before compact took the lock (store too small?)"
        sleep 0.1
    done
    # No delay needed: compact.sbatch keeps the drain until compact holds the
    # lock (every rank then catches USR1) and passes it on then.
    scancel --signal=USR1 --batch "$jid" || slurm_fail "scancel --signal=USR1 --batch $jid"
}

check_store() {   # check_store WANT_DIGEST WHAT
    run_ok "$MC_BIN" verify "$STORE"
    assert_grep '^verify: OK' "$MC_OUT" "verify after $2"
    assert_eq "$(digest_of "$STORE")" "$1" "digest after $2"
    [[ ! -e $STORE/LOCK ]] || fail "$STORE/LOCK left after $2: $(cat "$STORE/LOCK")"
}

export STORE MC_BIN
export MC_INIT_ARGS="--segment-size 64K --l0-limit 2 --fanout 4"
export MC_ITEMS=2000

# --- 1. gen, then compact to the end --------------------------------------------
jid=$(MC_SEGMENTS=120 MC_GEN_ARGS="--overwrite 0.3 --delete 0.1 --seed $MC_SEED" \
    submit "$JOBS/gen.sbatch" gen)
expect_job "$jid" 0 "gen.sbatch, new store"
d0=$(digest_of "$STORE")

jid=$(MC_RESUBMIT=0 MC_COMPACT_ARGS="--report $MC_TMP/report1.json" \
    submit "$JOBS/compact.sbatch" compact)
expect_job "$jid" 0 "compact.sbatch to the end"
log=$OUT/compact-$jid.out
assert_grep 'compact exited 0' "$log" "compact.sbatch log"
# --time=3: 180 s left at most, minus the 60 s margin, minus the drain's grace.
tl=$(sed -n 's/.*store .*, time limit \([0-9]*\)$/\1/p' "$log")
if [[ ! $tl =~ ^[0-9]+$ ]] || ((tl < 90 || tl > 110)); then
    slurm_fail "derived --time-limit '$tl' not in [90, 110] for a 3-minute job"
fi
workers=$(py -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["workers"]))' \
    "$MC_TMP/report1.json") || fail "report1.json has no workers"
assert_eq "$workers" 4 "ranks compact used (the allocation's 4 tasks)"
check_store "$d0" "compact.sbatch"

# --- 1b. a lock left on another host by a job that has ended ----------------------
# ($jid, the compact job above, has ended.) compact refuses it; with
# MC_TAKE_STALE_LOCK=1 the script removes it and compact runs.
lock="host=elsewhere.invalid pid=1 jobid=$jid command=compact started=2000-01-01T00:00:00Z"
echo "$lock" >"$STORE/LOCK"
jid=$(MC_RESUBMIT=0 submit "$JOBS/compact.sbatch" compact)
expect_job "$jid" 1 "compact.sbatch, store locked by an ended job"
assert_grep 'locked by host=elsewhere.invalid' "$OUT/compact-$jid.out" "the holder named"
assert_eq "$(cat "$STORE/LOCK")" "$lock" "the lock after a refused compact"
jid=$(MC_RESUBMIT=0 MC_TAKE_STALE_LOCK=1 submit "$JOBS/compact.sbatch" compact)
expect_job "$jid" 0 "compact.sbatch with MC_TAKE_STALE_LOCK=1"
assert_grep 'removed the stale lock of job [0-9]+ \(COMPLETED\)' "$OUT/compact-$jid.out" \
    "MC_TAKE_STALE_LOCK=1"
check_store "$d0" "compact.sbatch with MC_TAKE_STALE_LOCK=1"

# --- 2. more data (srun --mpi=pmix), compact drained by USR1: exit 3 -----------
jid=$(MC_LAUNCHER="srun --mpi=pmix" MC_SEGMENTS=240 \
    MC_GEN_ARGS="--overwrite 0.3 --delete 0.1 --seed $((MC_SEED + 1))" \
    submit "$JOBS/gen.sbatch" gen)
expect_job "$jid" 0 "gen.sbatch with srun --mpi=pmix, existing store"
d1=$(digest_of "$STORE")
assert_ne "$d1" "$d0" "digest after adding segments"

jid=$(MC_RESUBMIT=0 submit "$JOBS/compact.sbatch" compact)
signal_when_compacting "$jid"
expect_job "$jid" 3 "compact.sbatch drained by USR1, no resubmission"
log=$OUT/compact-$jid.out
assert_grep 'got SIGUSR1 \(time limit near\): draining' "$log" "batch shell trapped USR1"
assert_grep 'passing the drain on to compact' "$log" "the drain passed on"
assert_grep 'draining \(signal\)' "$log" "rank 0 drained on the forwarded USR1"
assert_grep 'not resubmitting' "$log" "MC_RESUBMIT=0"
[[ -z $(squeue -h -o %i) ]] || slurm_fail "a job was submitted although MC_RESUBMIT=0"
check_store "$d1" "a drained compact.sbatch"

# --- 3. drained again, resubmits itself, the follow-up finishes ------------------
# 5-minute jobs: the follow-up (same time limit) has room to finish in one go.
JOB_MINUTES=5
jid=$(MC_RESUBMIT_ARGS="--output=$OUT/compact-%j.out" submit "$JOBS/compact.sbatch" compact)
signal_when_compacting "$jid"
expect_job "$jid" 3 "compact.sbatch drained by USR1, resubmitting"
log=$OUT/compact-$jid.out
# resubmitted_as LOG: the job id LOG says it resubmitted itself as.
resubmitted_as() {
    local n
    n=$(sed -n 's/.*more to do: resubmitted as job \([0-9]*\)$/\1/p' "$1")
    [[ $n =~ ^[0-9]+$ ]] || slurm_fail "$(basename "$1") does not say 'resubmitted as job N'"
    echo "$n"
}
next=$(resubmitted_as "$log") || exit 1
# The follow-up normally finishes (exit 0); on a slow machine its own time
# limit may drain it again (exit 3), and its resubmission goes on: follow the
# chain, bounded (MC_RESUBMIT_MAX is 10).
for ((n = 1; ; n++)); do
    got=$(wait_job "$next") || exit 1
    echo "job $next (resubmission $n): exit $got after $((SECONDS - t_start)) s"
    assert_grep "job $next \(resubmission $n\): 4 tasks" "$OUT/compact-$next.out" \
        "resubmission $n's shape and count"
    ((got == 0)) && break
    ((got == 3 && n < 4)) || slurm_fail "resubmission $n (job $next) exited $got (want 0, or 3 at most 3 times)"
    next=$(resubmitted_as "$OUT/compact-$next.out") || exit 1
done
assert_grep 'compact exited 0' "$OUT/compact-$next.out" "the last resubmitted job's log"
check_store "$d1" "the resubmitted compact.sbatch"

echo "all jobs done in $((SECONDS - t_start)) s"
pass
