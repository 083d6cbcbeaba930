#!/usr/bin/env bash
# Readers over many level-0 segments (docs/USAGE.md "Reading", src/core/view.h):
# a store of 10,000 tiny overlapping level-0 segments, read under
# `ulimit -n 1024` (more segments than open files allowed): digest equals the
# content h5py reads (tests/interop/model_digest.py) and get returns a key's
# value. The store lives in /dev/shm when there is one (fsyncs there are
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

pass
