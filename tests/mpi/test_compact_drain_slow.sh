#!/usr/bin/env bash
# A drain ends within its grace period while reads are slow (issue 6): every
# rank reads segment data through an LD_PRELOAD shim that makes each read of
# 32 KiB or more (a chunk of segment data) take 3 s (tests/mpi/shim/mpishim.c). Compactions poll every
# 0.1 s as well as every 4 MiB merged, after each input is opened and at each
# item an input yields, so a rank notices the drain, its end or STOP within
# the reads of opening one input (6 slow reads, 18 s, here): at one rank the
# drain starts at the first poll and ends at the next, some 37 s in all; at
# two, about 18 s. Polling by bytes alone, the drain at two ranks took 74 s.
# The bound checked, time limit + grace + 45 s, leaves room for a loaded
# machine and still fails the old behaviour at two ranks or more (the reads
# sleep, so it cannot be faster there).
# ranks: 2 4
source "$(dirname "$0")/lib.sh"
shim=$(build_shim)

s=$MC_TMP/store
run_ok mc init "$s" --segment-size 64M --l0-limit 1
run_ok mc gen "$s" --segments 2 --items 200000 --key-size 16 --value-size 0:4 --seed "$MC_SEED"
d=$(digest_of "$s")

limit=1 grace=10 slack=45   # grace: max(10 s, time limit / 10) (coordinator.h)
vars=(LD_PRELOAD="$shim" MC_SHIM_RANK=all MC_SHIM_READ_DELAY=${MC_DELAY:-3} MC_SHIM_READ_MIN=32768)
args=(compact "$s" --time-limit "$limit" --report "$MC_TMP/report.json")
rc=0
if [[ $NP == 1 ]]; then
    env "${vars[@]}" "$MC_BIN" "${args[@]}" </dev/null >"$MC_OUT" 2>"$MC_ERR" || rc=$?
else
    mc_mpirun_env "$NP" "${vars[@]}" -- "${args[@]}" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
fi
check_sanitizers compact
[[ $rc == 0 || $rc == 3 ]] || { show_last; fail "compact exit $rc (want 0 or 3)"; }
assert_grep "draining \(time limit\)" "$MC_ERR" "the drain started"
wall=$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$MC_TMP/report.json")
echo "compact: exit $rc after $wall s (bound $((limit + grace + slack)) s)"
py -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$wall" $((limit + grace + slack)) \
    || { show_last; fail "the drain took $wall s, more than time limit + grace + $slack s"; }

run_ok mc verify "$s"
assert_eq "$(digest_of "$s")" "$d" "digest after the drain"
check_seg_dir "$s"
[[ ! -e $s/LOCK ]] || fail "LOCK left behind"
pass
