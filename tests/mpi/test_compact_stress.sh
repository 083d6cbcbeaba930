#!/usr/bin/env bash
# compact under stress at NP ranks: a drain signal (SIGUSR1) that arrives
# while the ranks are still starting up (in MPI_Init) is not fatal (exit 0 or 3,
# store intact); random rounds of gen, `add` of late segments holding OLD
# puts (low seqs) of deleted keys, `compact` and `compact --full` keep the
# logical content (digest and scan), pass verify and leave no orphans, and
# the content always equals the newest version among the segments present.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"

check_clean() {   # check_clean STORE DIGEST WHAT
    run_ok mc verify "$1"
    assert_eq "$(digest_of "$1")" "$2" "$3: digest"
    check_seg_dir "$1"
    [[ ! -e $1/LOCK ]] || fail "$3: LOCK left behind"
}

# scan_matches_segments STORE: `scan` equals the newest version per key over
# every segment the manifest names (computed here with h5py).
scan_matches_segments() {
    mc scan "$1" >"$MC_TMP/scan.txt" || fail "scan $1 failed"
    py - "$1" "$MC_TMP/scan.txt" <<'EOF' || fail "scan of $1 differs from its segments' newest versions"
import sys
import mcformat as mf
store, scan = sys.argv[1], sys.argv[2]
_rel, _attrs, entries = mf.read_manifest(store)
items = []
for e in entries:
    items += mf.read_segment(mf.seg_path(store, e["segno"]))[1]
want = mf.scan_lines(mf.logical(items))
got = open(scan).read().splitlines()
if got != want:
    print("scan has %d lines, segments give %d" % (len(got), len(want)), file=sys.stderr)
    sys.exit(1)
EOF
}

# add_old_puts STORE FILE SEED: writes FILE with puts at seqs 1..3 of keys whose
# newest version in STORE is a delete (and of a few live keys), then adds it.
add_old_puts() {
    py - "$1" "$2" "$3" <<'EOF' || fail "cannot write the late segment $2"
import random, sys
import mcformat as mf
store, path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(seed)
_rel, _attrs, entries = mf.read_manifest(store)
newest = {}
for e in entries:
    for k, v, s, kind in mf.read_segment(mf.seg_path(store, e["segno"]))[1]:
        if k not in newest or s > newest[k][0]:
            newest[k] = (s, kind)
dels = sorted(k for k, (s, kind) in newest.items() if kind == mf.DELETE)
live = sorted(k for k, (s, kind) in newest.items() if kind == mf.PUT)
keys = set(r.sample(dels, min(len(dels), 12)) + r.sample(live, min(len(live), 4)))
keys.add(b"late-key-%d" % seed)
mf.write_segment(path, [(k, b"old-%d" % r.randrange(1000), r.randint(1, 3), mf.PUT) for k in keys])
EOF
    run_ok mc add "$1" "$2"
}

# 1. SIGUSR1 early in the run (ranks still in MPI start-up): a drain, not a death.
s=$MC_TMP/early
bin=$(readlink -f "$MC_BIN")
run_ok mc init "$s" --segment-size 2K --fanout 2 --l0-limit 1
for i in 1 2 3 4 5; do
    run_ok mc gen "$s" --segments 6 --items 60 --key-size 4:8 --value-size 0:40 \
        --overwrite 0.4 --delete 0.3 --seed "$((MC_SEED + i))"
    d=$(digest_of "$s")
    rc=0
    mpirun -n "$NP" --oversubscribe --bind-to none "$MC_BIN" compact "$s" --progress none \
        </dev/null >"$MC_OUT" 2>"$MC_ERR" &
    pid=$!
    # Aim at the ranks' start-up: signal the ranks (mpirun's children)
    # directly, once they run our binary (not before exec: that window is
    # mpirun's), while they are still in MPI_Init.
    kids=""
    for _ in $(seq 500); do
        kids=$(pgrep -P "$pid" || true)
        exe=""
        for k in $kids; do exe=$(readlink "/proc/$k/exe" || true); break; done
        [[ -n $exe && $exe == "$bin" ]] && break
        sleep 0.01
    done
    sleep "0.0$((2 + RANDOM % 5))"
    for k in $kids; do kill -USR1 "$k" 2>/dev/null || true; done
    wait "$pid" || rc=$?
    if [[ $rc != 0 && $rc != 3 ]]; then
        show_last
        fail "compact after an early SIGUSR1 to its ranks exited $rc (want 0 or 3)"
    fi
    check_clean "$s" "$d" "early SIGUSR1 round $i"
done
run_ok mc compact "$s"
check_clean "$s" "$d" "compact after the early signals"

# 2. Random rounds: gen / late old puts / compact / compact --full.
s=$MC_TMP/rounds
run_ok mc init "$s" --segment-size "$((1 + RANDOM % 4))K" --fanout $((2 + RANDOM % 3)) \
    --l0-limit $((1 + RANDOM % 3)) --levels $((3 + RANDOM % 3))
dists=(uniform zipf sequential)
for round in 1 2 3 4 5; do
    if (( round > 1 && RANDOM % 2 == 0 )); then
        add_old_puts "$s" "$MC_TMP/late$round.h5" "$((MC_SEED + round))"
    else
        run_ok mc gen "$s" --segments $((2 + RANDOM % 6)) --items $((20 + RANDOM % 100)) \
            --key-size 4:12 --value-size 0:60 --dist "${dists[RANDOM % 3]}" \
            --overwrite 0.3 --delete 0.4 --seed "$((MC_SEED + 100 + round))"
    fi
    scan_matches_segments "$s"
    d=$(digest_of "$s")
    mc scan "$s" >"$MC_TMP/before.txt" || fail "scan failed"
    full=()
    (( RANDOM % 3 == 0 )) && full=(--full)
    run_ok mc compact "$s" --inflight $((1 + RANDOM % 3)) --progress none "${full[@]}"
    check_clean "$s" "$d" "round $round compact ${full[*]}"
    mc scan "$s" >"$MC_TMP/after.txt" || fail "scan failed"
    cmp -s "$MC_TMP/before.txt" "$MC_TMP/after.txt" || fail "round $round: scan changed by compact"
    scan_matches_segments "$s"
done
# A final --full leaves one level without deletes, content unchanged.
add_old_puts "$s" "$MC_TMP/late-final.h5" "$((MC_SEED + 999))"
d=$(digest_of "$s")
run_ok mc compact "$s" --full --progress none
check_clean "$s" "$d" "final --full"
scan_matches_segments "$s"
fmt manifest "$s" >"$MC_TMP/manifest.txt" || fail "cannot list the manifest"
assert_eq "$(awk '{print $2}' "$MC_TMP/manifest.txt" | sort -u | wc -l)" 1 "levels after --full"
pass
