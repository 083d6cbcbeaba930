#!/usr/bin/env bash
# Install into a temporary prefix and use it the way a cluster user would:
#   - everything the install promises is there (README "Building and
#     installing"), the installed binary runs from the prefix (RPATH), the
#     man page and docs are in place;
#   - rank_segments.c (an MPI application of the store API) is built out of
#     tree twice against the prefix alone: with pkg-config (mpicc) and with
#     find_package(mpicompact) (tests/install/CMakeLists.txt);
#   - each build runs under `mpirun -n 4`: every rank writes a segment,
#     rank 0 adds them with mc_store_add() and reads the store back; the
#     installed CLI then checks the stores (verify, scan, digest: the two
#     builds made the same content).
# Environment: MC_BUILD_DIR (the build tree to install; default the
# directory of MC_BIN).
source "$(dirname "$0")/../mpi/lib.sh"

BUILD=${MC_BUILD_DIR:-$(dirname "$MC_BIN")}
P=$MC_TMP/prefix
unset LD_LIBRARY_PATH                      # the prefix must stand on its own
run_ok cmake --install "$BUILD" --prefix "$P"

libdir=
for d in lib lib64 lib/x86_64-linux-gnu; do
    [[ -e $P/$d/libmpicompact.so ]] && libdir=$P/$d
done
[[ -n $libdir ]] || fail "no libmpicompact.so under $P/lib*"
for f in bin/mpicompact include/mpicompact.h share/man/man1/mpicompact.1 share/doc/mpicompact/README.md \
         share/doc/mpicompact/docs/USAGE.md share/doc/mpicompact/docs/FORMAT.md share/doc/mpicompact/docs/LIBRARY.md \
         share/doc/mpicompact/jobs/compact.sbatch; do
    [[ -e $P/$f ]] || fail "not installed: $f"
done
for f in libmpicompact.a pkgconfig/mpicompact.pc cmake/mpicompact/mpicompactConfig.cmake \
         cmake/mpicompact/mpicompactConfigVersion.cmake; do
    [[ -e $libdir/$f ]] || fail "not installed: ${libdir#"$P"/}/$f"
done
soname=$(readelf -d "$libdir/libmpicompact.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libmpicompact\.so\.[0-9]+$ ]] || fail "libmpicompact.so has no versioned SONAME (got '$soname')"
[[ -e $libdir/$soname ]] || fail "the SONAME link $soname is not installed"
grep -q 'include.*mpi\.h' "$P/include/mpicompact.h" && fail "the installed header includes mpi.h"

# The installed binary finds its library through its RPATH.
MC_BIN=$P/bin/mpicompact
run_ok "$MC_BIN" --version
assert_grep "^mpicompact [0-9]+\.[0-9]+\.[0-9]+" "$MC_OUT" "--version of the installed binary"
loaded=$(ldd "$MC_BIN" | sed -n 's/.*libmpicompact\.so[^ ]* => \([^ ]*\) .*/\1/p')
[[ -n $loaded && $(realpath "$loaded") == $(realpath "$libdir/$soname") ]] ||
    fail "installed binary loads '$loaded', not $libdir/$soname"

# Build 1: pkg-config and mpicc, nothing from the source tree but the example.
B1=$MC_TMP/pkgconfig
mkdir -p "$B1"
cflags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags mpicompact) || fail "pkg-config --cflags"
libs=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --libs mpicompact) || fail "pkg-config --libs"
run_ok mpicc -std=c11 -Wall -Wextra -Werror $cflags -o "$B1/rank_segments" "$MC_SRC/tests/install/rank_segments.c" \
    $libs "-Wl,-rpath,$libdir"

# Build 2: CMake, find_package(mpicompact) from the prefix.
B2=$MC_TMP/cmake
run_ok cmake -S "$MC_SRC/tests/install" -B "$B2" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release
run_ok cmake --build "$B2"
grep -rq "$MC_SRC/include\|$MC_SRC/src" "$B2/CMakeFiles" && fail "the find_package build refers to the source tree"

items=500
for b in "$B1" "$B2"; do
    S=$b/store
    mkdir -p "$b/segs"
    run_ok "$MC_BIN" init "$S"
    run_ok mpirun -n 4 --oversubscribe --bind-to none "$b/rank_segments" "$S" "$b/segs" "$items" </dev/null
    assert_grep "added 4 segments, read back $((4 * items)) items" "$MC_OUT" "$(basename "$b"): rank_segments"
    run_ok mc_mpirun 2 verify "$S"
    run_ok "$MC_BIN" scan "$S"
    assert_eq "$(wc -l <"$MC_OUT")" $((4 * items)) "$(basename "$b"): live items scanned by the CLI"
    run_ok "$MC_BIN" get "$S" r0003-k00000007
    assert_eq "$(cat "$MC_OUT")" "value 7 of rank 3" "$(basename "$b"): get of one rank's key"
done
assert_eq "$(digest_of "$B1/store")" "$(digest_of "$B2/store")" "digest of the stores of the two builds"

pass
