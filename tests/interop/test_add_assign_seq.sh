#!/usr/bin/env bash
# `add` keeps the seqs a file was written with, and says how many added items
# are shadowed by newer versions already in the store; `add --assign-seq`
# gives each file one new seq above every seq in the store, in command-line
# order, so the files added last win (files written by h5py, inputs left
# unchanged).
source "$(dirname "$0")/../mpi/lib.sh"

W=$MC_TMP/in
mkdir -p "$W"
py - "$W" "$MC_SRC/tests/interop" <<'PY' || fail "writing the segments with h5py"
import sys
sys.path.insert(0, sys.argv[2])
import mcformat as m
w = sys.argv[1]
m.write_segment(w + "/old.h5", [(b"a", b"old", 100, 0), (b"b", b"old", 100, 0), (b"c", b"old", 100, 0)])
m.write_segment(w + "/new.h5", [(b"a", b"new", 5, 0), (b"b", b"new", 200, 0), (b"d", b"new", 5, 0)])
m.write_segment(w + "/newer.h5", [(b"a", b"newer", 1, 0), (b"c", b"", 1, 1)])
PY
sum_before=$(sha256sum "$W/new.h5" "$W/newer.h5")

# Seqs as written: a (5 < 100) is shadowed, b (200) and d are not.
K=$MC_TMP/keep
run_ok "$MC_BIN" init "$K"
run_ok mc_mpirun 2 add "$K" "$W/old.h5"
assert_grep '0 added item\(s\) shadowed' "$MC_ERR" "add into an empty store shadows nothing"
run_ok mc_mpirun 2 add "$K" "$W/new.h5"
assert_grep '1 added item\(s\) shadowed by newer versions' "$MC_ERR" "add of an older seq reports it"
run_ok "$MC_BIN" get "$K" a
assert_eq "$(cat "$MC_OUT")" old "a keeps the value with the higher seq"
run_ok "$MC_BIN" get "$K" b
assert_eq "$(cat "$MC_OUT")" new "b takes the added value with the higher seq"

# --assign-seq: every added file wins over the store, the later file over the earlier.
A=$MC_TMP/assign
run_ok "$MC_BIN" init "$A"
run_ok mc_mpirun 2 add "$A" "$W/old.h5"
run_ok mc_mpirun 2 add "$A" --assign-seq "$W/new.h5" "$W/newer.h5"
grep -q 'shadowed' "$MC_ERR" && fail "--assign-seq counted shadowed items"
run_ok "$MC_BIN" scan "$A"
printf 'a\tnewer\nb\tnew\nd\tnew\n' >"$MC_TMP/want"
cmp -s "$MC_OUT" "$MC_TMP/want" || { diff "$MC_OUT" "$MC_TMP/want" >&2; fail "scan after add --assign-seq"; }
run_ok mc_mpirun 2 verify "$A"
check_seg_dir "$A"
# The two files got seqs 101 and 102: a gen or add after them is newer still.
run_ok "$MC_BIN" stat "$A" --json
assert_grep '"next_seq": *103' "$MC_OUT" "next_seq after two assigned seqs above 100"
assert_eq "$(sha256sum "$W/new.h5" "$W/newer.h5")" "$sum_before" "the inputs are unchanged"

pass
