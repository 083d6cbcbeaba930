#!/usr/bin/env bash
# valgrind.sh: the unit tests and one small MPI compaction (2 ranks, both
# under memcheck) in build/ under valgrind memcheck. Fails on any memcheck
# error and on any definitely or indirectly lost block (leaks that are ours).
# Suppressions: Open MPI's own file plus tests/valgrind.supp (each entry says
# why it is Open MPI's). Called by scripts/test.sh; needs build/.
#   bash scripts/valgrind.sh
# Last line: "valgrind: N passed, F failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/setup.sh installs it)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
export HDF5_USE_FILE_LOCKING=FALSE
# Test files on a RAM filesystem when there is one: the unit tests fsync a
# lot, and valgrind slows the CPU side enough already.
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mcvg.XXXXXX")
trap 'rm -rf "$work"' EXIT
SUPP=(--suppressions="$ROOT/tests/valgrind.supp")
[[ -f /usr/share/openmpi/openmpi-valgrind.supp ]] && SUPP+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --num-callers=30 "${SUPP[@]}")
JOBS=${MC_TEST_JOBS:-2}

run_unit() {   # run_unit TEST: one unit test binary, log in $work/TEST.log
    local t=$1
    if MC_SRC=$ROOT "${VG[@]}" "build/tests/$t" >"$work/$t.log" 2>&1; then
        echo "valgrind: $t: ok"
    else
        echo "valgrind: $t: FAIL"; grep -E '==[0-9]+== ' "$work/$t.log" | head -n 40
        touch "$work/$t.failed"
    fi
}
mapfile -t units < <(cd build/tests && ls | grep -E '^test_[a-z_]+$')
((${#units[@]})) || { echo "valgrind: no unit tests in build/tests"; exit 1; }
running=0
for t in "${units[@]}"; do
    run_unit "$t" &
    running=$((running + 1))
    if ((running >= JOBS)); then wait -n; running=$((running - 1)); fi
done
wait

# One small compaction at 2 ranks, every rank under memcheck.
S=$work/store
mc_ok=1
if build/mpicompact init "$S" --segment-size 8K --l0-limit 1 >/dev/null 2>&1 &&
   build/mpicompact gen "$S" --segments 4 --items 300 --delete 0.1 --seed 1 >/dev/null 2>&1; then
    if ! mpirun -n 2 --oversubscribe --bind-to none "${VG[@]}" --log-file="$work/mpi.%p.log" \
            build/mpicompact compact "$S" >"$work/mpi.out" 2>&1 ||
       ! build/mpicompact verify "$S" >/dev/null 2>&1; then
        mc_ok=0
    fi
else
    mc_ok=0
fi
if ((mc_ok)); then
    echo "valgrind: mpi compact at 2 ranks: ok"
else
    echo "valgrind: mpi compact at 2 ranks: FAIL"
    cat "$work"/mpi.*.log "$work/mpi.out" 2>/dev/null | head -n 80
    touch "$work/mpi.failed"
fi

nfail=$(ls "$work"/*.failed 2>/dev/null | wc -l)
total=$((${#units[@]} + 1))
echo "valgrind: $((total - nfail)) passed, $nfail failed"
((nfail == 0))
