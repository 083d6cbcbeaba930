#!/usr/bin/env bash
# Inspection: `ls STORE [--level N]` lists exactly the manifest's segments
# (per level after a compaction); `check FILE...` accepts segment files and
# names the first problem of a bad one (exit 1, nothing changed); `scan`
# --limit, --keys-only, --count and --format json agree with plain scan
# (the JSON lines parse and carry the same escaped keys and values).
# ranks: 1
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/s
run_ok mc init "$S" --l0-limit 2 --segment-size 8K
run_ok mc gen "$S" --segments 5 --items 200 --key-size 6:12 --value-size 0:40 --delete 0.1 --seed "$MC_SEED"
run_ok mc ls "$S"
assert_eq "$(head -n1 "$MC_OUT")" $'segno\tlevel\titems\tdeletes\tbytes\tfile_bytes\tmin_seq\tmax_seq\tmin_key\tmax_key' "ls header"
assert_eq "$(tail -n +2 "$MC_OUT" | wc -l)" 5 "ls: one line per segment"
awk -F'\t' 'NR > 1 && (NF != 10 || $2 != 0 || $6 <= 0) {exit 1}' "$MC_OUT" || fail "ls: a line with wrong fields"
assert_eq "$(awk -F'\t' 'NR > 1 {n += $3} END {print n}' "$MC_OUT")" "$(stat_totals "$S" | cut -d' ' -f2)" "ls: items sum to stat's"
# stat's on-disk bytes are the files' sizes, as ls lists them.
ls_file_bytes=$(awk -F'\t' 'NR > 1 {n += $6} END {print n}' "$MC_OUT")
run_ok mc stat "$S" --json
py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["file_bytes"], sum(l["file_bytes"] for l in d["levels"]))' "$MC_OUT" >"$MC_TMP/fb"
assert_eq "$(cat "$MC_TMP/fb")" "$ls_file_bytes $ls_file_bytes" "stat --json file_bytes (totals, sum of levels) against ls"
run_ok mc stat "$S"
assert_grep '^level +segments +items +bytes +on disk' "$MC_OUT" "stat: on-disk column"
grep -E '[0-9] (MB|KB|GB)\b' "$MC_OUT" && fail "stat prints decimal units"

run_ok mc compact "$S" --progress log --progress-interval 0.05 --report "$MC_TMP/report.json"
# Log progress: timestamped lines with bytes read, percent, rate and ETA;
# the last one says finished at 100%.
assert_grep '^[0-9T:-]+ compact: levels [0-9/]+ done [0-9]+ inflight [0-9]+ failed 0 read [0-9.]+ [KMGT]?i?B [0-9]+% [0-9.]+ [KMGT]?i?B/s eta ' "$MC_ERR" "compact --progress log line"
grep 'compact: levels' "$MC_ERR" | tail -n 1 | grep -q ' 100% .*(finished)$' || fail "the last progress line is not finished at 100%"
expect_fail 2 mc compact "$S" --progress-interval 0
# gen, verify and digest take the interval too (their lines need a run
# longer than it: a short one prints none, so only the option is checked).
run_ok mc verify "$S" --progress-interval 0.01
run_ok mc digest "$S" --progress-interval=0.01
expect_fail 2 mc digest "$S" --progress-interval -1
# The report's provenance (docs/COMPACT.md, "Report").
py - "$MC_TMP/report.json" "$S" "$NP" <<'PY' || fail "compact --report provenance"
import json, os, re, sys
r = json.load(open(sys.argv[1]))
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
assert r["schema_version"] == 2, r["schema_version"]
assert r["tool"]["name"] == "mpicompact" and re.match(r"^\d+\.\d+\.\d+$", r["tool"]["version"])
assert re.match(r"^\d+\.\d+\.\d+$", r["hdf5_version"]) and r["mpi"]["standard"] and r["mpi"]["library"]
assert iso.match(r["started"]) and iso.match(r["ended"]) and r["started"] <= r["ended"]
assert r["command_line"].startswith("mpicompact compact ") and "--report" in r["command_line"]
assert r["ranks"] == int(sys.argv[3]) and len(r["hosts"]) >= 1
assert r["store"] == os.path.realpath(sys.argv[2])
assert r["params"] == {"fanout": 10, "l0_limit": 2, "levels": 7, "segment_size": 8192}, r["params"]
before, after = r["levels_before"], r["levels_after"]
assert len(before) == len(after) == 7
assert before[0]["segments"] == 5 and sum(l["segments"] for l in before[1:]) == 0
assert after[0]["segments"] <= 2 and sum(l["items"] for l in after) <= sum(l["items"] for l in before)
PY
run_ok mc ls "$S"
read -r nseg _ <<<"$(stat_totals "$S")"
assert_eq "$(tail -n +2 "$MC_OUT" | wc -l)" "$nseg" "ls after compact: one line per live segment"
fmt manifest "$S" | awk '{print $1}' | sort -n >"$MC_TMP/want"
tail -n +2 "$MC_OUT" | cut -f1 | sort -n >"$MC_TMP/got"
cmp -s "$MC_TMP/want" "$MC_TMP/got" || fail "ls segnos differ from the manifest's"
for l in 0 1 2; do
    run_ok mc ls "$S" --level "$l"
    tail -n +2 "$MC_OUT" | cut -f2 | grep -vx "$l" && fail "ls --level $l listed another level"
done
expect_fail 2 mc ls "$S" --level 40

# check: the live segments are fine; a damaged copy and a text file are not.
mapfile -t segs < <(find "$S/seg" -name '*.h5' | sort)
run_ok mc check "${segs[@]}"
assert_eq "$(grep -c ': ok: ' "$MC_OUT")" "${#segs[@]}" "check: one ok line per file"
cp "${segs[0]}" "$MC_TMP/bad.h5"
fmt flip "$MC_TMP/bad.h5" keys >/dev/null
echo "not a segment" >"$MC_TMP/text.h5"
before=$(snapshot "$S")
expect_fail 1 mc check "${segs[1]}" "$MC_TMP/bad.h5" "$MC_TMP/text.h5"
assert_grep "$MC_TMP/bad.h5: .*(checksum|corrupt)" "$MC_ERR" "check names the damaged file and the problem"
assert_grep "$MC_TMP/text.h5: " "$MC_ERR" "check names the text file"
assert_eq "$(grep -c ': ok: ' "$MC_OUT")" 1 "check: the good file is ok"
assert_eq "$(snapshot "$S")" "$before" "check changed the store"

# scan options against plain scan.
run_ok mc scan "$S"
cp "$MC_OUT" "$MC_TMP/all"
n=$(wc -l <"$MC_TMP/all")
run_ok mc scan "$S" --count
assert_eq "$(cat "$MC_OUT")" "$n" "scan --count"
run_ok mc scan "$S" --limit 7
cmp -s "$MC_OUT" <(head -n 7 "$MC_TMP/all") || fail "scan --limit 7"
run_ok mc scan "$S" --keys-only
cmp -s "$MC_OUT" <(cut -f1 "$MC_TMP/all") || fail "scan --keys-only"
run_ok mc scan "$S" --format json
py - "$MC_OUT" "$MC_TMP/all" <<'PY' || fail "scan --format json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
text = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="ascii")]
assert [[d["key"], d["value"]] for d in lines] == text, "json lines differ from text lines"
PY
run_ok mc scan "$S" --format json --count --limit 3
assert_eq "$(cat "$MC_OUT")" '{"count":3}' "scan --format json --count --limit 3"
expect_fail 2 mc scan "$S" --format xml

pass
