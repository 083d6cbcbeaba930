#!/usr/bin/env bash
# compact and compact --full at NP ranks on randomized, overwrite- and
# delete-heavy stores with tiny segments (four or more levels form): the
# digest never changes, verify is clean, every level is within its limits
# and levels >= 1 do not overlap, --full leaves one level without deletes,
# seg/ holds exactly the manifest's files, and the --report JSON adds up.
# ranks: 1 2 3 4 8
source "$(dirname "$0")/lib.sh"

# check_levels STORE MODE: MODE "limits" prints the deepest level; "full"
# requires one non-empty level >= 1 and no deletes. Both check overlaps.
check_levels() {
    py - "$1" "$2" <<'EOF' || fail "levels of $1 ($2)"
import sys
import mcformat
store, mode = sys.argv[1], sys.argv[2]
_rel, attrs, entries = mcformat.read_manifest(store)
levels, fanout = int(attrs["levels"]), int(attrs["fanout"])
l0, size = int(attrs["l0_limit"]), int(attrs["segment_size"])
by = {}
for e in entries:
    by.setdefault(e["level"], []).append(e)
bad = []
for lv, es in by.items():
    if lv == 0:
        continue
    es.sort(key=lambda e: e["min_key"])
    for a, b in zip(es, es[1:]):
        if a["max_key"] >= b["min_key"]:
            bad.append("level %d: segments %d and %d overlap" % (lv, a["segno"], b["segno"]))
if mode == "limits":
    if len(by.get(0, [])) > l0:
        bad.append("level 0 holds %d segments > %d" % (len(by[0]), l0))
    for lv in range(1, levels - 1):
        nbytes = sum(e["bytes"] for e in by.get(lv, []))
        if nbytes > size * fanout ** lv:
            bad.append("level %d holds %d bytes > %d" % (lv, nbytes, size * fanout ** lv))
    print(max(by) if by else -1)
else:
    if len(by) > 1 or 0 in by:
        bad.append("after --full: levels %s" % sorted(by))
    dels = sum(e["ndeletes"] for e in entries)
    if dels:
        bad.append("after --full: %d deletes left" % dels)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# report_field FILE NAME: one member of a --report JSON document.
report_field() {
    py -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" \
        || fail "report $1 has no $2"
}

check_report() {   # check_report FILE: internal consistency of a report
    py - "$1" "$NP" <<'EOF' || fail "report $1 is inconsistent"
import json, sys
r = json.load(open(sys.argv[1]))
np = int(sys.argv[2])
need = ["wall_seconds", "bytes_read", "bytes_written", "items_read", "items_written",
        "compactions_done", "compactions_retried", "compactions_failed", "moved",
        "deletes_dropped", "overwrites_dropped", "write_amplification", "commits",
        "workers", "coordinator_busy_seconds", "mb_per_s", "quarantined", "exit_status"]
missing = [k for k in need if k not in r]
assert not missing, "missing %s" % missing
assert len(r["workers"]) == np, r["workers"]
runs = sum(w["compactions"] for w in r["workers"])
assert runs >= r["compactions_done"]
# a compaction cut in slices counts once in compactions_done and once per slice in
# the workers' runs: without failures or leaves, runs - done = slices - compactions cut
assert r["slices"] == 0 or r["slices"] >= 2, r["slices"]
if r["compactions_retried"] == 0 and r["compactions_reissued"] == 0:
    assert 2 * (runs - r["compactions_done"]) >= r["slices"], (runs, r["compactions_done"], r["slices"])
assert r["items_written"] <= r["items_read"]
assert r["items_read"] - r["items_written"] == r["deletes_dropped"] + r["overwrites_dropped"] + r["duplicates_dropped"], r
assert r["exit_status"] == 0 and r["compactions_failed"] == 0 and r["quarantined"] == []
EOF
}

store=$MC_TMP/store
run_ok mc init "$store" --segment-size 2K --fanout 2 --l0-limit 2
segs=$((20 + RANDOM % 20))
items=$((60 + RANDOM % 100))
ow=0.$((3 + RANDOM % 3))
del=0.$((1 + RANDOM % 2))
# Three gen rounds; the second reuses the first's seed, so its keys (and
# deletes) hit the same keys with newer seqs.
for round in 1 2 3; do
    seed=$((MC_SEED + (round == 3 ? 3 : 0)))
    args=(--segments "$segs" --items "$items" --key-size 4:24 --value-size 0:$((16 * round))
          --overwrite "$ow" --delete "$del" --seed "$seed")
    [[ $round == 3 ]] && args+=(--dist zipf)
    echo "gen round $round: ${args[*]}"
    run_ok mc gen "$store" "${args[@]}"
    # Compact between rounds too: later rounds then land on deep levels.
    if [[ $round != 3 ]]; then
        dr=$(digest_of "$store")
        run_ok mc compact "$store" --progress none
        assert_eq "$(digest_of "$store")" "$dr" "digest after compact in round $round"
    fi
done
d0=$(digest_of "$store")

run_ok mc compact "$store" --report "$MC_TMP/r1.json" --progress log
assert_grep "compact: .*done" "$MC_ERR" "progress log lines on stderr"
run_ok mc verify "$store"
assert_eq "$(digest_of "$store")" "$d0" "digest after compact"
check_seg_dir "$store"
deepest=$(check_levels "$store" limits)
[[ $deepest -ge 3 ]] || fail "only $((deepest + 1)) levels formed (want 4 or more)"
check_report "$MC_TMP/r1.json"
done1=$(report_field "$MC_TMP/r1.json" compactions_done)
[[ $done1 -gt 0 ]] || fail "compact did no compaction"
echo "compact: $done1 compactions, deepest level $deepest"

# Compacting a store within its limits changes nothing.
gen=$(fmt manifest "$store" | md5sum)
run_ok mc compact "$store" --report "$MC_TMP/r2.json" --progress none
assert_eq "$(report_field "$MC_TMP/r2.json" compactions_done)" 0 "compactions on a compacted store"
assert_eq "$(fmt manifest "$store" | md5sum)" "$gen" "manifest of a compacted store after compact"

# --full with every input streamed (the compactions above load their small
# inputs whole: both ways of reading are checked against the digest).
MPICOMPACT_STREAM_ALL=1 run_ok mc compact "$store" --full --report "$MC_TMP/r3.json" --inflight $((1 + RANDOM % 3))
run_ok mc verify "$store"
assert_eq "$(digest_of "$store")" "$d0" "digest after compact --full"
check_seg_dir "$store"
check_levels "$store" full
check_report "$MC_TMP/r3.json"

# --single on a fresh copy of the same data: same content, one at a time.
single=$MC_TMP/single
run_ok mc init "$single" --segment-size 4K --fanout 3 --l0-limit 2
run_ok mc gen "$single" --segments "$segs" --items "$items" --key-size 4:24 --value-size 0:16 \
    --overwrite "$ow" --delete "$del" --seed "$MC_SEED"
ds=$(digest_of "$single")
run_ok mc compact "$single" --single --report "$MC_TMP/r4.json" --progress none
run_ok mc verify "$single"
assert_eq "$(digest_of "$single")" "$ds" "digest after compact --single"
check_seg_dir "$single"
check_levels "$single" limits >/dev/null
check_report "$MC_TMP/r4.json"

# Usage errors exit 2.
expect_fail 2 mc compact "$store" --inflight 0
expect_fail 2 mc compact "$store" --progress sometimes
expect_fail 2 mc compact
pass
