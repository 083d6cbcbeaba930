#!/usr/bin/env bash
# bench/coordinator_sim (issue 8's interface): one JSON object with the
# fields bench/README.md lists, and the manifest it leaves (--store) read by
# h5py: as many live segments as it reports, from a chain whose base was
# written by a child process (manifest_base.h: on from 20,000 segments) and
# renamed over an edit, with nothing else left in manifest/; and no commit
# much larger than the 16,384 changes that make one urgent.
source "$(dirname "$0")/../mpi/lib.sh"

sim=$(dirname "$MC_BIN")/bench/coordinator_sim
[[ -x $sim ]] || fail "no $sim (built with the project)"
D=$MC_TMP/sim
mkdir -p "$D"
run_ok "$sim" --segments 150000 --workers 256 --overlap disjoint --seconds 5 --store "$D" --json
cp "$MC_OUT" "$MC_TMP/sim.json"
py - "$MC_TMP/sim.json" <<'PY' || fail "coordinator_sim's JSON: $(cat "$MC_TMP/sim.json")"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("segments", "workers", "compactions", "compactions_per_second", "commits", "commit_seconds_max",
          "pick_seconds_max", "peak_rss_bytes", "segments_left", "background_bases", "commit_changes_max"):
    assert k in r, k
assert r["segments"] == 150000 and r["workers"] == 256
assert r["compactions"] > 0 and r["commits"] > 0 and r["peak_rss_bytes"] > 0
# Picks and answers stop while 16,384 changes wait: a commit writes that
# many plus the last unit applied (and at most 256 moves of one pick).
assert 0 < r["commit_changes_max"] <= 16384 + 1024, r["commit_changes_max"]
PY
bases=$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["background_bases"])' "$MC_TMP/sim.json")
left=$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["segments_left"])' "$MC_TMP/sim.json")
echo "coordinator_sim: $bases bases written in the background, $left segments left"
((bases >= 1)) || fail "no base was written in the background in 5 s of commits"
assert_eq "$(fmt manifest "$D/store" | wc -l)" "$left" "live segments h5py reads from the chain"
fmt chain "$D/store" >"$MC_TMP/chain"
(($(wc -l <"$MC_TMP/chain") <= 49)) || fail "a chain longer than 48 edits"
# Besides the chain, manifest/ may hold only files older than its base
# (left out by an installed base; the next child or the next writer's
# orphan sweep removes them): never a child's temporary, never a newer file.
base=$(head -1 "$MC_TMP/chain")
for f in $(cd "$D/store" && ls manifest | sed 's|^|manifest/|' | grep -vxF -f "$MC_TMP/chain" || true); do
    [[ $f =~ ^manifest/[0-9a-f]{16}\.h5$ && $f < $base ]] || fail "$f in manifest/ besides the chain ($base ...)"
done
pass
