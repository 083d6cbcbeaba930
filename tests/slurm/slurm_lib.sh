# slurm_lib.sh: helpers for the tests of jobs/*.sbatch under the private Slurm
# of slurm_up.sh (sourced after tests/mpi/lib.sh; needs root).
# shellcheck shell=bash
#
# slurm_start: starts the cluster under $MC_TMP/slurm (exit 77 when Slurm
# cannot be installed), exports SLURM_CONF, and stops it on exit. Job output
# goes to $OUT/NAME-JOBID.out. MC_JOB_TIMEOUT: seconds any one job may take
# (240); MC_JOB_MINUTES: the time limit of a job (5), unless the test sets
# JOB_MINUTES.

SLURM_DIR=$MC_TMP/slurm
OUT=$MC_TMP/out
JOB_TIMEOUT=${MC_JOB_TIMEOUT:-240}   # generous: the machine may be loaded
t_start=$SECONDS
up=0

slurm_teardown() {
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

# On failure: the Slurm logs and every job's output, then the usual report.
slurm_fail() {
    local f
    for f in "$OUT"/*.out*; do
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

slurm_start() {
    # munged (user munge) must traverse the temporary directory.
    chmod 0755 "$MC_TMP"
    mkdir -p "$SLURM_DIR" "$OUT"
    trap slurm_teardown EXIT
    trap 'exit 130' INT    # the EXIT trap then tears the cluster down
    trap 'exit 143' TERM
    up=1
    local rc=0
    bash "$MC_SRC/tests/slurm/slurm_up.sh" "$SLURM_DIR" >/dev/null || rc=$?
    if ((rc == 77)); then
        echo "SKIP: Slurm packages missing and no apt-get"
        exit 77
    fi
    ((rc == 0)) || slurm_fail "slurm_up.sh exited $rc"
    export SLURM_CONF=$SLURM_DIR/slurm.conf
    echo "slurm up in $((SECONDS - t_start)) s"
}

# submit SCRIPT NAME SBATCH_ARGS...: prints the job id (output in $OUT/NAME-ID.out).
submit() {
    local script=$1 name=$2 jid
    shift 2
    jid=$(sbatch --parsable -n "${MC_TASKS:-4}" --time="${JOB_MINUTES:-${MC_JOB_MINUTES:-5}}" --output="$OUT/$name-%j.out" "$@" "$script") ||
        slurm_fail "sbatch $script failed"
    echo "${jid%%;*}"
}

# job_field JID FIELD: one field of `scontrol -o show job` (empty once purged).
job_field() {
    { scontrol -o show job "$1" 2>/dev/null || true; } |
        awk -v k="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }'
}

job_active() {   # job_active JID: pending or running
    [[ $(job_field "$1" JobState) =~ ^(PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED)?$ ]]
}

# wait_job JID: waits (bounded) until the job has ended; prints its exit status.
wait_job() {
    local jid=$1 state code i
    for ((i = 0; i < JOB_TIMEOUT * 5; i++)); do
        state=$(job_field "$jid" JobState)
        case $state in
            PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | REQUEUED | '') sleep 0.2 ;;
            *) break ;;
        esac
    done
    case $state in
        PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | REQUEUED | '')
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

# wait_for JID WHAT TEST...: polls (bounded) until TEST succeeds; fails when
# the job ends first or after JOB_TIMEOUT s.
wait_for() {
    local jid=$1 what=$2 i
    shift 2
    for ((i = 0; i < JOB_TIMEOUT * 10; i++)); do
        "$@" && return 0
        job_active "$jid" || slurm_fail "job $jid ended before $what"
        sleep 0.1
    done
    slurm_fail "job $jid: no $what after $JOB_TIMEOUT s"
}

# no_jobs WHAT: the queue is empty (nothing was resubmitted).
no_jobs() {
    local q
    q=$(squeue -h -o '%i %j %T')
    [[ -z $q ]] || slurm_fail "$1: jobs in the queue: $q"
}
