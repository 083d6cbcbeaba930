#!/usr/bin/env bash
# h5py writes segments from docs/FORMAT.md alone; `add` accepts them and
# `scan` returns exactly their logical content (highest seq wins, deletes
# hide); verify passes; adding the same file twice changes nothing.
source "$(dirname "$0")/../mpi/lib.sh"

W=$MC_TMP/in
mkdir -p "$W"
py "$MC_SRC/tests/interop/h5py_write.py" "$W" "$MC_SEED" || fail "h5py_write.py"

S=$MC_TMP/store
run_ok "$MC_BIN" init "$S"
run_ok mc_mpirun 2 add "$S" "$W/a.h5" "$W/b.h5" "$W/c.h5"
run_ok mc_mpirun 2 verify "$S"
run_ok mc_mpirun 2 scan "$S"
cmp -s "$MC_OUT" "$W/expected.scan" || { diff "$MC_OUT" "$W/expected.scan" | head -20 >&2; fail "scan after add of the h5py segments"; }
read -r nseg nitems <<<"$(stat_totals "$S")"
assert_eq "$nseg $nitems" "3 $(cat "$W/nitems")" "stat counts after add"
check_seg_dir "$S"
# Stored copies carry new segnos, not the files' own.
fmt manifest "$S" | awk '{print $1}' | sort -n >"$MC_TMP/segnos"
grep -qx 4242 "$MC_TMP/segnos" && fail "add kept the incoming file's segno attribute"
d=$(digest_of "$S")

# Each file alone, in another store, scans as that file's content.
for f in a b c; do
    run_ok "$MC_BIN" init "$MC_TMP/one-$f"
    run_ok "$MC_BIN" add "$MC_TMP/one-$f" "$W/$f.h5"
    run_ok "$MC_BIN" scan "$MC_TMP/one-$f"
    cmp -s "$MC_OUT" "$W/$f.scan" || fail "scan of a store holding only $f.h5"
done

# The same file again: harmless.
run_ok mc_mpirun 2 add "$S" "$W/b.h5"
run_ok "$MC_BIN" scan "$S"
cmp -s "$MC_OUT" "$W/expected.scan" || fail "scan after adding b.h5 a second time"
run_ok "$MC_BIN" verify "$S"
assert_eq "$(digest_of "$S")" "$d" "digest after adding b.h5 a second time"
check_seg_dir "$S"

# The same content with files added one by one in another order: same digest.
R=$MC_TMP/reorder
run_ok "$MC_BIN" init "$R"
for f in c a b; do run_ok "$MC_BIN" add "$R" "$W/$f.h5"; done
assert_eq "$(digest_of "$R")" "$d" "digest does not depend on the order of adds"

pass
