#!/usr/bin/env bash
# test.sh: README command 2 (and CI). Installs what is missing, builds, runs
# the whole ctest suite (unit, mpi, interop, crash, layering) in build/, then builds
# again with AddressSanitizer + UBSan in build-asan/ and runs the unit tests,
# the MPI tests at 1 rank and the interop tests there. Exits non-zero if
# anything fails; the last line is a one-line summary.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE
JOBS=${MC_TEST_JOBS:-2}
t_start=$SECONDS
failed=()
phase() { printf '\n==== %s\n' "$*"; }
# Counts from every ctest run's closing line ("N% tests passed, F tests
# failed out of T"), summed for the final "P passed, F failed" line.
npass=0 nfail=0
count_ctest() {
    local line t f
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        f=${BASH_REMATCH[1]} t=${BASH_REMATCH[2]}
        npass=$((npass + t - f)) nfail=$((nfail + f))
    fi
}
ctest_log=$(mktemp)
trap 'rm -f "$ctest_log"' EXIT

phase "setup and build (build/)"
if ! bash scripts/setup.sh; then
    echo "test.sh: FAIL: setup or build failed ($((SECONDS - t_start)) s)"
    exit 1
fi
t_build=$((SECONDS - t_start))

phase "ctest: all tests (build/)"
t0=$SECONDS
(cd build && ctest --no-tests=error --output-on-failure -j"$JOBS") 2>&1 | tee "$ctest_log"
((PIPESTATUS[0] == 0)) || failed+=("ctest")
count_ctest "$ctest_log"
t_ctest=$((SECONDS - t0))

phase "sanitizer build (build-asan/, -DMC_SANITIZE=ON)"
t0=$SECONDS
if cmake -S . -B build-asan -DMC_SANITIZE=ON -DMC_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
   cmake --build build-asan -j"$(nproc)"; then
    phase "ctest under ASan/UBSan: unit tests"
    (cd build-asan && ctest --no-tests=error --output-on-failure -j"$JOBS" -L unit) 2>&1 | tee "$ctest_log"
    ((PIPESTATUS[0] == 0)) || failed+=("asan-unit")
    count_ctest "$ctest_log"
    # Open MPI's own allocations are never freed (and LeakSanitizer crashes
    # on its threads): no leak checking of the binary. A sanitizer exit status
    # of its own keeps a report from passing for an expected exit 1; the
    # tests also fail on any report in stderr.
    phase "ctest under ASan/UBSan: MPI tests at 1 rank, interop tests"
    (cd build-asan &&
        ASAN_OPTIONS=detect_leaks=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:exitcode=87 \
        ctest --no-tests=error --output-on-failure -j"$JOBS" -L 'mpi|interop' -R '(/np1$|^interop/)') 2>&1 |
        tee "$ctest_log"
    ((PIPESTATUS[0] == 0)) || failed+=("asan-mpi")
    count_ctest "$ctest_log"
else
    failed+=("asan-build")
fi
t_asan=$((SECONDS - t0))

total=$((SECONDS - t_start))
times="setup+build ${t_build}s, ctest ${t_ctest}s, asan ${t_asan}s, total ${total}s"
if ((${#failed[@]})); then
    echo "test.sh: FAIL (${failed[*]}; $times)"
    echo "tests: $npass passed, $nfail failed"
    exit 1
fi
echo "test.sh: PASS ($times)"
echo "tests: $npass passed, $nfail failed"
