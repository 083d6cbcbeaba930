#!/usr/bin/env bash
# h5py writes segments from docs/FORMAT.md alone; `add` accepts them and
# `scan` returns exactly their logical content (highest seq wins, deletes
# hide); verify passes; adding the same file twice changes nothing. Then
# h5py commits manifest edits itself (FORMAT.md 3.5): mpicompact reads them,
# and writes on top of them.
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

# Manifest edits written by h5py: added, removed and moved segments.
E=$MC_TMP/edits
run_ok "$MC_BIN" init "$E"
py "$MC_SRC/tests/interop/h5py_write_edits.py" "$E" "$MC_SEED" "$MC_TMP/edits.scan" || fail "h5py_write_edits.py"
(( $(fmt chain "$E" | wc -l) == 4 )) || fail "expected a base and 3 edits, chain: $(fmt chain "$E" | tr '\n' ' ')"
run_ok mc_mpirun 2 verify "$E"
run_ok mc_mpirun 2 scan "$E"
cmp -s "$MC_OUT" "$MC_TMP/edits.scan" || { diff "$MC_OUT" "$MC_TMP/edits.scan" | head -20 >&2; fail "scan of h5py-written edits"; }
run_ok "$MC_BIN" stat "$E"
grep -Eq '^ +1 +1 ' "$MC_OUT" || { cat "$MC_OUT" >&2; fail "the moved segment is not in level 1"; }
d=$(digest_of "$E")
# mpicompact commits on top of the h5py chain, then compacts: same content.
run_ok mc_mpirun 2 compact "$E" --full
run_ok mc_mpirun 2 verify "$E"
assert_eq "$(digest_of "$E")" "$d" "digest after compacting the h5py-written chain"
check_seg_dir "$E"

# A store whose manifest is version 1 (an older mpicompact's) is read, and
# the next commit writes version 2 on top of it.
O=$MC_TMP/v1
run_ok "$MC_BIN" init "$O"
run_ok "$MC_BIN" add "$O" "$W/a.h5" "$W/c.h5"
d=$(digest_of "$O")
fmt to-v1 "$O" >/dev/null || fail "mcformat.py to-v1"
assert_eq "$(digest_of "$O")" "$d" "digest of the store rewritten as version 1"
run_ok "$MC_BIN" add "$O" "$W/b.h5"
mapfile -t chain < <(fmt chain "$O")
(( ${#chain[@]} == 2 )) || fail "after a commit on a version-1 manifest: chain ${chain[*]}"
py - "$O/${chain[0]}" "$O/${chain[1]}" <<'EOF' || fail "chain is not a version-1 base and a version-2 edit"
import sys, h5py
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    sys.exit(0 if int(a.attrs["version"]) == 1 and int(b.attrs["version"]) == 2
             and int(b.attrs["parent"]) == int(a.attrs["generation"]) else 1)
EOF
run_ok "$MC_BIN" verify "$O"
run_ok "$MC_BIN" scan "$O"
cmp -s "$MC_OUT" "$W/expected.scan" || fail "scan after adding b.h5 on a version-1 manifest"
check_seg_dir "$O"

pass
