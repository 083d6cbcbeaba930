# lib.sh: shared helpers for the end-to-end tests (sourced by tests/mpi and tests/interop).
# shellcheck shell=bash
#
# Environment: MC_BIN (the mpicompact binary; default build/mpicompact of this
# checkout), MC_SRC (the source tree), MC_SEED (reproduce a run; printed as
# "seed=N"). $1 of an MPI test is its rank count (NP, default 1).
# Every test works in its own mktemp directory ($MC_TMP), removed on exit.
set -euo pipefail

MC_SRC=${MC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MC_BIN=${MC_BIN:-$MC_SRC/build/mpicompact}
MC_PY=/usr/bin/python3                      # Debian's, the one with h5py
MC_FMT="$MC_SRC/tests/interop/mcformat.py"
NP=${1:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE
export PYTHONPATH="$MC_SRC/tests/interop${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1            # no __pycache__ in the source tree

if [[ ! -x $MC_BIN ]]; then
    echo "FAIL: mpicompact binary not found at $MC_BIN (set MC_BIN)" >&2
    exit 1
fi

MC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mctest.XXXXXX")
MC_KILL=()                                   # pids of helpers to stop on exit
MC_RAM=                                      # ram_dir's directory, if any
mc_cleanup() {
    local p
    for p in "${MC_KILL[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$MC_TMP"
    [[ -z $MC_RAM ]] || rm -rf "$MC_RAM"
}
trap mc_cleanup EXIT

# ram_dir: sets MC_BASE to a directory for a store of many small files,
# removed on exit: in /dev/shm when it has 4 GiB free (fsyncs there are
# free, so creating 10,000 segments takes seconds, not minutes), else
# $MC_TMP.
ram_dir() {
    if [[ -z $MC_RAM && -d /dev/shm && -w /dev/shm ]] &&
       (( $(df -Pk /dev/shm | awk 'NR==2 {print $4}') > 4 * 1024 * 1024 )); then
        MC_RAM=$(mktemp -d /dev/shm/mctest.XXXXXX)
    fi
    MC_BASE=${MC_RAM:-$MC_TMP}
}

MC_SEED=${MC_SEED:-$(( (RANDOM << 15 | RANDOM) % 1000000000 ))}
echo "seed=$MC_SEED np=$NP test=$(basename "$0")"
RANDOM=$MC_SEED                              # $RANDOM below is reproducible too

# Output of the last mc_run / expect_* command.
MC_OUT=$MC_TMP/last.out
MC_ERR=$MC_TMP/last.err

fail() {
    echo "FAIL: $*" >&2
    echo "  (seed=$MC_SEED np=$NP; reproduce with MC_SEED=$MC_SEED bash $0 $NP)" >&2
    exit 1
}

show_last() {
    echo "--- stdout (head) ---" >&2; head -c 2000 "$MC_OUT" >&2 || true
    echo "--- stderr (head) ---" >&2; head -c 4000 "$MC_ERR" >&2 || true
}

# mc_mpirun NP ARGS...: the binary under mpirun, oversubscribed (stdin closed:
# mpirun would forward it to rank 0 and eat a caller's `while read` input).
mc_mpirun() {
    local np=$1; shift
    mpirun -n "$np" --oversubscribe --bind-to none "$MC_BIN" "$@" </dev/null
}

# mc ARGS...: the binary at this test's rank count (NP 1 runs as a singleton).
mc() {
    if [[ $NP == 1 ]]; then "$MC_BIN" "$@" </dev/null; else mc_mpirun "$NP" "$@"; fi
}

# A sanitizer report is a failure even when the exit status was expected.
check_sanitizers() {
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MC_ERR"; then
        show_last
        fail "sanitizer report from: $*"
    fi
}

# run_ok CMD...: CMD must exit 0; stdout in $MC_OUT, stderr in $MC_ERR.
run_ok() {
    local rc=0
    "$@" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    if [[ $rc != 0 ]]; then
        show_last
        fail "exit $rc (want 0): $*"
    fi
    check_sanitizers "$@"
}

# expect_fail CODE CMD...: CMD must exit with CODE ("nz": any non-zero).
expect_fail() {
    local want=$1 rc=0; shift
    "$@" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    if [[ $want == nz && $rc == 0 ]] || [[ $want != nz && $rc != "$want" ]]; then
        show_last
        fail "exit $rc (want $want): $*"
    fi
    check_sanitizers "$@"
}

assert_eq() {   # assert_eq GOT WANT WHAT
    [[ "$1" == "$2" ]] || fail "$3: got '$1', want '$2'"
}

assert_ne() {   # assert_ne A B WHAT
    [[ "$1" != "$2" ]] || fail "$3: both are '$1'"
}

# assert_grep ERE FILE WHAT: FILE has a line matching ERE (case-insensitive).
assert_grep() {
    grep -Eiq -- "$1" "$2" || { echo "--- $2 ---" >&2; head -c 4000 "$2" >&2; fail "$3: no match for /$1/"; }
}

# assert_reason NAME WORDS: a line of $MC_ERR names NAME and matches the ERE
# WORDS (case-insensitive): `add` rejected NAME for that reason.
assert_reason() {
    grep -F "$1" "$MC_ERR" | grep -Eiq -- "$2" ||
        { show_last; fail "add: no message naming $1 with a reason matching /$2/"; }
}

# assert_empty FILE WHAT
assert_empty() {
    [[ ! -s $2 ]] || { head -c 2000 "$2" >&2; fail "$1"; }
}

py() { "$MC_PY" "$@"; }
fmt() { "$MC_PY" "$MC_FMT" "$@"; }

# digest_of STORE: the digest line (checks it is one line of hex).
digest_of() {
    local d
    d=$(mc digest "$1") || fail "digest $1 failed"
    [[ $d =~ ^[0-9a-f]+$ ]] || fail "digest of $1 is not one line of hex: '$d'"
    echo "$d"
}

# stat_json STORE OUTFILE: stat --json, checked to parse.
stat_json() {
    mc stat "$1" --json >"$2" || fail "stat --json $1 failed"
    py -m json.tool "$2" >/dev/null || { cat "$2" >&2; fail "stat --json of $1 is not JSON"; }
}

# stat_totals STORE: "SEGMENTS ITEMS" from stat --json.
stat_totals() {
    stat_json "$1" "$MC_TMP/stat.json"
    fmt stat-totals "$MC_TMP/stat.json" || fail "stat --json of $1: no segment/item counts"
}

# check_seg_dir STORE: seg/ holds exactly the manifest's files (no orphans, no .tmp).
check_seg_dir() {
    fmt check-seg-dir "$1" || fail "seg/ of $1 does not match its manifest"
}

# model_of STORE OUT: the scan lines the newest version per key over STORE's
# segments gives (the reference model, computed with h5py).
model_of() {
    fmt model "$1" >"$2" || fail "cannot compute the model of $1"
}

snapshot() { fmt snapshot "$1"; }

pass() { echo "PASS: $(basename "$0") np=$NP seed=$MC_SEED"; }

# build_shim: compiles tests/mpi/shim/mpishim.c (an LD_PRELOAD library that
# slows reads or fails one MPI_Recv on one rank) into $MC_TMP and prints its
# path; exits 77 (skip) when mpicc is missing.
build_shim() {
    command -v mpicc >/dev/null || { echo "SKIP: mpicc not found" >&2; exit 77; }
    mpicc -shared -fPIC -o "$MC_TMP/mpishim.so" "$MC_SRC/tests/mpi/shim/mpishim.c" -ldl \
        || fail "cannot build the test shim"
    echo "$MC_TMP/mpishim.so"
}

# mc_mpirun_env NP VAR=VALUE... -- ARGS...: like mc_mpirun, with the
# variables exported to every rank (-x).
mc_mpirun_env() {
    local np=$1 xs=(); shift
    while [[ $1 != -- ]]; do xs+=(-x "$1"); shift; done
    shift
    mpirun -n "$np" --oversubscribe --bind-to none "${xs[@]}" "$MC_BIN" "$@" </dev/null
}
