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

# A manifest made of several files (a base and edits, FORMAT.md 3.5): 70
# segments in one commit (more than 64: a new base), single segments
# committed one at a time, a compaction, then four single-segment commits
# (edits of 1, 2, 3 segments fold together, the fourth starts a new edit:
# at least a base and two edits, whatever the compaction wrote).
C=$MC_TMP/store3
run_ok "$MC_BIN" init "$C" --segment-size 16K --l0-limit 2
run_ok "$MC_BIN" gen "$C" --segments 70 --items 20 --key-size 1:20 --seed $((MC_SEED + 10))
for i in 1 2 3; do
    run_ok "$MC_BIN" gen "$C" --segments 1 --items 200 --key-size 1:20 --value-size 0:50 \
        --overwrite 0.3 --delete 0.2 --seed $((MC_SEED + 10 + i))
done
run_ok mc_mpirun 2 compact "$C"
for i in 1 2 3 4; do
    run_ok "$MC_BIN" gen "$C" --segments 1 --items 50 --key-size 1:20 --seed $((MC_SEED + 20 + i))
done
fmt chain "$C" >"$MC_TMP/chain3"
(( $(wc -l <"$MC_TMP/chain3") >= 3 )) || fail "expected a chain of at least 3 files: $(tr '\n' ' ' <"$MC_TMP/chain3")"
run_ok "$MC_BIN" scan "$C"
cp "$MC_OUT" "$MC_TMP/scan3.out"
py "$MC_SRC/tests/interop/h5py_read.py" "$C" "$MC_TMP/scan3.out" || fail "h5py check of a store made of edits"

pass
