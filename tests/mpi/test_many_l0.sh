#!/usr/bin/env bash
# Readers over many level-0 segments (docs/USAGE.md "Reading", src/core/view.h):
# a store of 10,000 tiny overlapping level-0 segments, read under
# `ulimit -n 1024` (more segments than open files allowed): digest equals the
# content h5py reads (tests/interop/model_digest.py) and get returns a key's
# value; add of a file overlapping them all. The store lives in /dev/shm when there is one (fsyncs there are
# free: gen then takes seconds, not minutes).
# ranks: 1
source "$(dirname "$0")/lib.sh"

ram_dir
S=$MC_BASE/store
run_ok mc init "$S"
run_ok mc gen "$S" --segments 10000 --items 5 --key-size 4:10 --value-size 0:12 \
    --overwrite 0.3 --delete 0.1 --seed "$MC_SEED"
read -r nseg _ <<<"$(stat_totals "$S")"
assert_eq "$nseg" 10000 "segments after gen"

# The model, computed beside the reads (both take a while).
M=$MC_TMP/model
mkdir -p "$M"
py "$MC_SRC/tests/interop/model_digest.py" "$S" "$M" >"$MC_TMP/model.log" 2>&1 &
model_pid=$!

(
    ulimit -n 1024
    mc digest "$S" >"$MC_TMP/digest.out" 2>"$MC_TMP/digest.err"
) || { cat "$MC_TMP/digest.err" >&2; fail "digest of 10,000 level-0 segments under ulimit -n 1024"; }
wait "$model_pid" || { cat "$MC_TMP/model.log" >&2; fail "model_digest.py"; }
assert_eq "$(cat "$MC_TMP/digest.out")" "$(cat "$M/digest")" "digest of 10,000 level-0 segments vs the h5py model"

(
    ulimit -n 1024
    mc get "$S" "$(cat "$M/key")" >"$MC_TMP/get.out" 2>"$MC_TMP/get.err"
) || { cat "$MC_TMP/get.err" >&2; fail "get on 10,000 level-0 segments under ulimit -n 1024"; }
cmp -s "$MC_TMP/get.out" "$M/value" || fail "get $(cat "$M/key"): '$(cat "$MC_TMP/get.out")', the model says '$(cat "$M/value")'"

# add of a file whose key range and old seq meet every segment: counting the
# items the store shadows would open all 10,000; under ulimit -n 1024 the
# count is skipped for that file, which is added all the same (it once made
# add refuse a valid file).
py - "$MC_TMP/wide.h5" <<'PYEOF' || fail "cannot write the wide segment"
import sys
import mcformat as F
F.write_segment(sys.argv[1], [(b"\x00", b"first", 1, F.PUT), (b"\xff" * 12, b"last", 1, F.PUT)])
PYEOF
(
    ulimit -n 1024
    mc add "$S" "$MC_TMP/wide.h5" >"$MC_TMP/add.out" 2>"$MC_TMP/add.err"
) || { cat "$MC_TMP/add.err" >&2; fail "add of a file overlapping 10,000 level-0 segments under ulimit -n 1024"; }
grep -q "wide.h5: its items shadowed by the store were not counted" "$MC_TMP/add.err" ||
    { cat "$MC_TMP/add.err" >&2; fail "add did not say that the shadowed items of wide.h5 were not counted"; }
grep -q "at least 0 added item(s) shadowed" "$MC_TMP/add.err" || { cat "$MC_TMP/add.err" >&2; fail "add's summary"; }
read -r nseg _ <<<"$(stat_totals "$S")"
assert_eq "$nseg" 10001 "segments after the add"

pass
