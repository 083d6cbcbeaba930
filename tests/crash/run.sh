#!/usr/bin/env bash
# The crash harness (tests/crash/README.md):
#   bash tests/crash/run.sh CYCLES [--seed N] [--np N] [--power F] [--every N] [-v] [--keep]
# from the project root of a checkout. Builds the binary (build/, configured
# when missing; MC_BIN overrides) and the power-loss shim, then runs CYCLES
# kill-and-restart cycles; the last line gives the cycles survived and the
# kills by kind. MC_SEED=N is the same as --seed N.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -z ${MC_BIN:-} ]]; then
    BUILD=$SRC/build
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    cmake --build "$BUILD" -j2 --target mpicompact >/dev/null
    MC_BIN=$BUILD/mpicompact
fi
shim_dir=$(dirname "$MC_BIN")/crash
shim=$shim_dir/powercut.so
if [[ ! -f $shim || $SRC/tests/crash/powercut.c -nt $shim ]]; then
    mkdir -p "$shim_dir"
    cc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$shim.tmp.$$" "$SRC/tests/crash/powercut.c" -ldl
    mv "$shim.tmp.$$" "$shim"
fi
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$SRC/tests/crash/harness.py" "$@" --bin "$MC_BIN" --shim "$shim"
