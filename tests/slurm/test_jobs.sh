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
#      itself; the follow-up job finishes the work and exits 0; verify clean,
#      digest unchanged, no lock left.
#
# Skips (exit 77) only when not root, or when the Slurm packages are missing
# and there is no apt-get to install them. Environment as for tests/mpi
# (MC_BIN, MC_SEED); MC_KEEP_TMP=1 keeps the temporary directory.
[[ $(id -u) == 0 ]] || { echo "SKIP: test_jobs.sh needs root (private Slurm)"; exit 77; }
# shellcheck source=tests/mpi/lib.sh
source "$(dirname "$0")/../mpi/lib.sh"

JOBS=$MC_SRC/jobs
SLURM_DIR=$MC_TMP/slurm
OUT=$MC_TMP/out
STORE=$MC_TMP/store/s
JOB_TIMEOUT=${MC_JOB_TIMEOUT:-90}   # seconds any one job may take
t_start=$SECONDS

# munged (user munge) must traverse the temporary directory.
chmod 0755 "$MC_TMP"
mkdir -p "$SLURM_DIR" "$OUT" "$MC_TMP/store"

up=0
teardown() {
    local rc=$?
    if ((up)); then
        bash "$MC_SRC/tests/slurm/slurm_down.sh" "$SLURM_DIR" || rc=1
    fi
    if [[ ${MC_KEEP_TMP:-0} == 1 ]]; then
        echo "kept $MC_TMP" >&2
    else
        mc_cleanup
    fi
    exit $rc
}
trap teardown EXIT
trap 'exit 130' INT    # the EXIT trap then tears the cluster down
trap 'exit 143' TERM

# On failure: the Slurm logs and every job's output, then the usual report.
slurm_fail() {
    local f
    for f in "$OUT"/*.out; do
        [[ -f $f ]] || continue
        echo "--- $(basename "$f") ---" >&2
        tail -n 40 "$f" >&2
    done
    echo "--- slurmctld.log (tail) ---" >&2
    tail -n 20 "$SLURM_DIR/log/slurmctld.log" >&2 2>/dev/null
    echo "--- slurmd.log (tail) ---" >&2
    tail -n 20 "$SLURM_DIR/log/slurmd.log" >&2 2>/dev/null
    fail "$@"
}

# --- the cluster ---------------------------------------------------------------
up=1
rc=0
bash "$MC_SRC/tests/slurm/slurm_up.sh" "$SLURM_DIR" >/dev/null || rc=$?
if ((rc == 77)); then
    echo "SKIP: Slurm packages missing and no apt-get"
    exit 77
fi
((rc == 0)) || slurm_fail "slurm_up.sh exited $rc"
export SLURM_CONF=$SLURM_DIR/slurm.conf
echo "slurm up in $((SECONDS - t_start)) s"

# submit SCRIPT NAME SBATCH_ARGS...: prints the job id (output in $OUT/NAME-ID.out).
submit() {
    local script=$1 name=$2 jid
    shift 2
    jid=$(sbatch --parsable -n 4 --time=3 --output="$OUT/$name-%j.out" "$@" "$script") ||
        slurm_fail "sbatch $script failed"
    echo "${jid%%;*}"
}

# job_field JID FIELD: one field of `scontrol -o show job` (empty once purged).
job_field() {
    { scontrol -o show job "$1" 2>/dev/null || true; } |
        awk -v k="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }'
}

# wait_job JID: waits (bounded) until the job has ended; prints its exit status.
wait_job() {
    local jid=$1 state code i
    for ((i = 0; i < JOB_TIMEOUT * 5; i++)); do
        state=$(job_field "$jid" JobState)
        case $state in
            PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | '') sleep 0.2 ;;
            *) break ;;
        esac
    done
    case $state in
        PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | '')
            scancel "$jid" 2>/dev/null
            slurm_fail "job $jid still '${state:-unknown}' after $JOB_TIMEOUT s" ;;
    esac
    code=$(job_field "$jid" ExitCode)          # "3:0": status, then signal
    [[ $code =~ ^([0-9]+):0$ ]] || slurm_fail "job $jid ended $state with ExitCode '$code'"
    echo "${BASH_REMATCH[1]}"
}

# expect_job JID STATUS WHAT: the job ends with STATUS.
expect_job() {
    local got
    got=$(wait_job "$1") || exit 1
    [[ $got == "$2" ]] || slurm_fail "$3: job $1 exited $got (want $2)"
    echo "job $1 ($3): exit $got after $((SECONDS - t_start)) s"
}

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
jid=$(MC_RESUBMIT_ARGS="--output=$OUT/compact-%j.out" submit "$JOBS/compact.sbatch" compact)
signal_when_compacting "$jid"
expect_job "$jid" 3 "compact.sbatch drained by USR1, resubmitting"
log=$OUT/compact-$jid.out
next=$(sed -n 's/.*more to do: resubmitted as job \([0-9]*\)$/\1/p' "$log")
[[ $next =~ ^[0-9]+$ ]] || slurm_fail "job $jid did not say 'resubmitted as job N'"
expect_job "$next" 0 "the resubmitted compact.sbatch"
assert_grep "job $next \(resubmission 1\): 4 tasks" "$OUT/compact-$next.out" \
    "the resubmitted job's shape and count"
assert_grep 'compact exited 0' "$OUT/compact-$next.out" "the resubmitted job's log"
check_store "$d1" "the resubmitted compact.sbatch"

echo "all jobs done in $((SECONDS - t_start)) s"
pass
