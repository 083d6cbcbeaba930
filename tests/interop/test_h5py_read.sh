#!/usr/bin/env bash
# h5py reads what mpicompact wrote: every segment the manifest names and the
# manifest itself match docs/FORMAT.md, and their logical content is `scan`.
source "$(dirname "$0")/../mpi/lib.sh"

S=$MC_TMP/store
run_ok mc_mpirun 2 init "$S" --segment-size 64K
# No overwrites or deletes: every item is live.
run_ok mc_mpirun 2 gen "$S" --segments 5 --items 400 --key-size 8:40 --value-size 0:300 \
    --dist zipf --seed "$MC_SEED"
run_ok mc_mpirun 2 scan "$S"
cp "$MC_OUT" "$MC_TMP/scan.out"
[[ $(wc -l <"$MC_TMP/scan.out") -gt 1500 ]] || fail "scan printed $(wc -l <"$MC_TMP/scan.out") lines for 2000 items"
py "$MC_SRC/tests/interop/h5py_read.py" "$S" "$MC_TMP/scan.out" || fail "h5py check of a gen store"

# With overwrites and deletes, and a second gen on top.
T=$MC_TMP/store2
run_ok "$MC_BIN" init "$T" --segment-size 16K
run_ok mc_mpirun 2 gen "$T" --segments 3 --items 300 --key-size 1:20 --value-size 0:50 \
    --overwrite 0.3 --delete 0.2 --seed "$MC_SEED"
run_ok mc_mpirun 2 gen "$T" --segments 2 --items 300 --key-size 1:20 --dist sequential \
    --overwrite 0.3 --delete 0.2 --seed $((MC_SEED + 1))
run_ok "$MC_BIN" scan "$T"
cp "$MC_OUT" "$MC_TMP/scan2.out"
py "$MC_SRC/tests/interop/h5py_read.py" "$T" "$MC_TMP/scan2.out" || fail "h5py check of a store with deletes"

pass
