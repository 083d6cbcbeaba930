#!/usr/bin/env bash
# setup.sh: install the Debian 12 packages mpicompact needs (only those
# missing), then configure and build into build/. Safe to run again.
#
#   bash scripts/setup.sh            packages + build
#   bash scripts/setup.sh --deps     packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    gcc make cmake pkg-config libc6-dev           # toolchain
    openmpi-bin libopenmpi-dev                    # MPI
    libhdf5-openmpi-dev hdf5-tools                # parallel HDF5 (+ h5dump, h5clear)
    libcmocka-dev                                 # unit tests
    python3-h5py python3-numpy                    # interop tests (/usr/bin/python3)
    valgrind                                      # memcheck of the unit tests and one compaction (scripts/valgrind.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    if [[ $(id -u) == 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup: all packages present" >&2
fi

[[ ${1:-} == --deps ]] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMC_WERROR=ON
cmake --build build -j"$(nproc)"
echo "setup: built build/mpicompact" >&2
