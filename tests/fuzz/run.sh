#!/usr/bin/env bash
# run.sh: build the libFuzzer harnesses (docs/FUZZING.md) and run each
# for SECONDS seconds.
#
#   bash tests/fuzz/run.sh SECONDS [HARNESS...]
#
# From the project root of a fresh clone: installs clang and libFuzzer's
# runtime when missing (and the project's own packages, scripts/setup.sh
# --deps), builds into build-fuzz/ (clang, ASan + UBSan + libFuzzer), writes
# the seed corpora from real stores that the sanitized program itself writes,
# then runs every harness (or the ones named) for SECONDS each, MC_FUZZ_JOBS
# at a time (default 2). Inputs libFuzzer finds interesting accumulate in
# build-fuzz/corpus/HARNESS/ across runs; tests/fuzz/corpus/HARNESS/ holds the
# committed regression inputs, run first every time.
# Exits non-zero on any crash, sanitizer report, leak, hang (an input taking
# more than MC_FUZZ_TIMEOUT seconds, default 30) or out-of-memory, printing
# the path of the input that reproduces it (run `build-fuzz/HARNESS PATH`).
# Last lines: one per harness with its execs, then "fuzz: N passed, F failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ || $1 -lt 1 ]]; then
    echo "usage: bash tests/fuzz/run.sh SECONDS [HARNESS...]" >&2
    exit 2
fi
SECS=$1
shift
JOBS=${MC_FUZZ_JOBS:-2}
# MC_FUZZ_SEED=N: libFuzzer's random seed (CI fixes it, so that a run walks
# the same mutations every time; unset: a new seed each run).
TIMEOUT=${MC_FUZZ_TIMEOUT:-30}
B=$ROOT/build-fuzz

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
export HDF5_USE_FILE_LOCKING=FALSE
# Keep Open MPI's plugins loaded at exit so leak reports name them (lsan.supp).
export OMPI_MCA_mca_base_component_disable_dlclose=1
# Leaks are findings; only Open MPI's own start-up allocations are
# suppressed (lsan.supp says why). UBSan findings abort (built so).
# allocator_may_return_null: a request beyond what the allocator can give at
# all (HDF5 asked for 2^51 bytes while loading a damaged object header)
# fails as malloc does in production, and HDF5 reports an error; libFuzzer
# still fails any allocation above -rss_limit_mb that would succeed (a 4 GiB
# chunk buffer, fixed: docs/FUZZING.md).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- packages -----------------------------------------------------------
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
missing=()
for p in "${FUZZ_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "fuzz: installing ${missing[*]}" >&2
    as_root=()
    [[ $(id -u) == 0 ]] || as_root=(sudo)
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        { echo "fuzz: FAIL: cannot install ${missing[*]}" >&2; exit 1; }
fi
bash scripts/setup.sh --deps || { echo "fuzz: FAIL: setup.sh --deps" >&2; exit 1; }

# ---- build --------------------------------------------------------------
if ! { CC=clang cmake -S tests/fuzz -B "$B" -DCMAKE_BUILD_TYPE=Debug >"$B.configure.log" 2>&1 ||
       { cat "$B.configure.log" >&2; false; }; } ||
   ! cmake --build "$B" -j"$(nproc)"; then
    echo "fuzz: FAIL: build of build-fuzz/" >&2
    exit 1
fi
rm -f "$B.configure.log"

mapfile -t ALL < <(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
HARNESSES=("${@:-${ALL[@]}}")
for h in "${HARNESSES[@]}"; do
    [[ -x $B/$h ]] || { echo "fuzz: no harness $h (have: ${ALL[*]})" >&2; exit 2; }
done

# ---- seeds --------------------------------------------------------------
# Stores written by the sanitized program: a fresh one, one after gen, one
# after compact (levels >= 1, sticky outputs); segments by gen, by h5py and
# craft_bad.py's broken ones when h5py is there.
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mcfuzz-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
SEEDS=$B/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS/fuzz_segment"
# Open MPI's allocations are never freed (MCA components unloaded at exit
# leave unsymbolizable stacks): no leak check of the program itself here,
# as in scripts/test.sh; the harnesses do check leaks.
mc() { ASAN_OPTIONS=detect_leaks=0 "$B/mpicompact" "$@" >/dev/null 2>>"$work/seed.log"; }
if ! { mc init "$work/empty" &&
       mc init "$work/gen" --segment-size 4K &&
       mc gen "$work/gen" --segments 3 --items 12 --key-size 1:12 --value-size 0:20 --delete 0.2 --seed 1 &&
       mc init "$work/comp" --segment-size 2K --l0-limit 1 --fanout 2 &&
       mc gen "$work/comp" --segments 4 --items 40 --overwrite 0.3 --delete 0.2 --seed 2 &&
       mc compact "$work/comp" &&
       "$B/seedgen" "$SEEDS" "$work/empty" "$work/gen" "$work/comp" >/dev/null; }; then
    cat "$work/seed.log" >&2
    echo "fuzz: FAIL: writing the seed stores" >&2
    exit 1
fi
i=0
for f in $(find "$work/gen/seg" "$work/comp/seg" -name '*.h5' | sort | head -n 8); do
    cp "$f" "$SEEDS/fuzz_segment/gen-$((i++)).h5"
done
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    mkdir -p "$work/bad"
    if /usr/bin/python3 tests/interop/craft_bad.py "$work/bad" 1 >/dev/null 2>&1; then
        for f in "$work"/bad/*.h5; do cp "$f" "$SEEDS/fuzz_segment/crafted-$(basename "$f")"; done
    fi
fi

# ---- run ----------------------------------------------------------------
mkdir -p "$B/corpus" "$B/artifacts" "$B/logs"
run_one() {
    local h=$1 log=$B/logs/$1.log
    local corpus=$B/corpus/$h regress=$ROOT/tests/fuzz/corpus/$h
    mkdir -p "$corpus" "$B/artifacts/$h"
    local dirs=("$corpus")
    [[ -d $SEEDS/$h ]] && dirs+=("$SEEDS/$h")
    [[ -d $regress ]] && dirs+=("$regress")
    local extra=()
    [[ -f $ROOT/tests/fuzz/$h.dict ]] && extra+=(-dict="$ROOT/tests/fuzz/$h.dict")
    [[ -n ${MC_FUZZ_SEED:-} ]] && extra+=(-seed="$MC_FUZZ_SEED")
    # MC_FUZZ_REPLAY_ONLY="HARNESS...": those only replay their seeds and
    # regression inputs, no mutation (CI, for the two HDF5 harnesses: HDF5's
    # own hang on a damaged global heap, docs/FUZZING.md, is found within
    # seconds of mutation and is not ours to fix).
    if [[ " ${MC_FUZZ_REPLAY_ONLY:-} " == *" $h "* ]]; then
        extra+=(-runs=0)
        dirs=("${dirs[@]:1}")   # not build-fuzz/corpus: what long runs found
    fi
    # fuzz_cli prints usage errors by design: its stderr is closed (libFuzzer
    # keeps its own and the sanitizers' reports).
    # Its Open MPI start-up allocations are checked at exit with stacks that
    # cannot be named (plugins): for it, leaks are checked after each input
    # only (libFuzzer's own check), not again at exit.
    local lsan=$LSAN_OPTIONS
    [[ $h == fuzz_cli ]] && extra+=(-close_fd_mask=2) && lsan+=:leak_check_at_exit=0
    (cd "$B/artifacts/$h" && LSAN_OPTIONS=$lsan \
        "$B/$h" -max_total_time="$SECS" -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$B/artifacts/$h/" "${extra[@]}" "${dirs[@]}") >"$log" 2>&1
    echo $? >"$B/logs/$h.rc"
}
t0=$SECONDS
running=0
for h in "${HARNESSES[@]}"; do
    echo "fuzz: $h for ${SECS}s" >&2
    run_one "$h" &
    running=$((running + 1))
    if ((running >= JOBS)); then wait -n; running=$((running - 1)); fi
done
wait

npass=0 nfail=0
for h in "${HARNESSES[@]}"; do
    log=$B/logs/$h.log rc=$(cat "$B/logs/$h.rc" 2>/dev/null || echo 99)
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
    if [[ $rc == 0 ]]; then
        npass=$((npass + 1))
        echo "fuzz: $h: ok, ${execs:-?} execs, ${cov:-?}"
    else
        nfail=$((nfail + 1))
        what=$(grep -m1 -E '^==[0-9]+==(ERROR|WARNING)|^SUMMARY|runtime error|ERROR: libFuzzer|fuzz_[a-z_]+: ' "$log" | head -n 1)
        input=$(grep -oE '(Test unit written to|written to) [^ ]+' "$log" | tail -n 1 | awk '{print $NF}')
        echo "fuzz: $h: FAIL (exit $rc, ${execs:-?} execs): ${what:-see $log}"
        echo "fuzz: $h: reproduce with: build-fuzz/$h ${input:-(no input written; see $log)}"
        echo "fuzz: $h: log: $log"
    fi
done
echo "fuzz: ${SECS}s per harness, ${#HARNESSES[@]} harnesses, $((SECONDS - t0))s wall"
echo "fuzz: $npass passed, $nfail failed"
((nfail == 0))
