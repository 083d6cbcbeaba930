#!/usr/bin/env bash
# compact --full at NP ranks over many tiny level-0 segments (300 to 1,200;
# half with keys over the whole key space, half sequential, with
# overwrites and deletes): level 0 is merged in one pass as wide as memory
# and file descriptors allow, so the write amplification of --full into an
# empty tree is at most 1.1; the content equals the reference model (the
# newest version per key over the segments, computed with h5py), the digest
# does not change, verify passes, and no orphan is left. Then the same store
# compacted with a merge width of 64 (MPICOMPACT_MERGE_FDS): level 0 in
# rounds of a merge tree, same content.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"

store=$MC_TMP/store
n=$((300 + RANDOM % 900))
half=$((n / 2))
run_ok mc init "$store" --l0-limit 4
run_ok mc gen "$store" --segments "$half" --items 40 --key-size 8:16 --value-size 8:32 \
    --overwrite 0.2 --delete 0.05 --seed "$MC_SEED"
run_ok mc gen "$store" --segments $((n - half)) --items 40 --key-size 8:16 --value-size 8:32 \
    --dist sequential --seed $((MC_SEED + 1))
echo "level 0: $n segments"

# report_field FILE NAME: one member of a --report JSON document.
report_field() {
    py -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" \
        || fail "report $1 has no $2"
}

# model STORE OUT: the scan lines the segments' newest versions give.
model() {
    py - "$1" "$2" <<'PYEOF' || fail "cannot compute the model of $1"
import sys
import mcformat as mf
store, out = sys.argv[1], sys.argv[2]
_rel, _attrs, entries = mf.read_manifest(store)
items = []
for e in entries:
    items += mf.read_segment(mf.seg_path(store, e["segno"]))[1]
with open(out, "w") as f:
    for line in mf.scan_lines(mf.logical(items)):
        f.write(line + "\n")
PYEOF
}

model "$store" "$MC_TMP/model.txt"
d0=$(digest_of "$store")
cp -a "$store" "$MC_TMP/copy"
py -c 'import sys, mcformat as mf; print(" ".join(str(e["segno"]) for e in mf.read_manifest(sys.argv[1])[2]))' \
    "$store" >"$MC_TMP/initial.segnos" || fail "cannot read the manifest of $store"

# check STORE WHAT: model, digest, verify, no orphans, one level, no deletes.
check() {
    mc scan "$1" >"$MC_TMP/scan.txt" || fail "$2: scan failed"
    cmp -s "$MC_TMP/scan.txt" "$MC_TMP/model.txt" || fail "$2: scan differs from the model"
    assert_eq "$(digest_of "$1")" "$d0" "$2: digest"
    run_ok mc verify "$1"
    check_seg_dir "$1"
    py - "$1" <<'PYEOF' || fail "$2: levels after --full"
import sys
import mcformat as mf
_rel, _attrs, entries = mf.read_manifest(sys.argv[1])
levels = sorted({e["level"] for e in entries})
assert len(levels) <= 1 and 0 not in levels, levels
assert sum(e["ndeletes"] for e in entries) == 0
PYEOF
}

run_ok mc compact "$store" --full --report "$MC_TMP/r1.json" --progress none
check "$store" "one pass"
wa=$(report_field "$MC_TMP/r1.json" write_amplification)
done1=$(report_field "$MC_TMP/r1.json" compactions_done)
echo "one pass: $done1 compactions, write amplification $wa"
py -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 1.1 else 1)" "$wa" \
    || fail "write amplification of --full over $n level-0 segments is $wa > 1.1"
# Overwrites shrink what is written: also each surviving byte written once.
# once STORE REPORT LIMIT: bytes written <= LIMIT * bytes of the final
# segments that were written (not moved down unchanged)
once() {
    py - "$1" "$2" "$3" "$MC_TMP/initial.segnos" <<'PYEOF'
import json, sys
import mcformat as mf
_rel, _attrs, entries = mf.read_manifest(sys.argv[1])
initial = set(int(x) for x in open(sys.argv[4]).read().split())
final = sum(e["bytes"] for e in entries if e["segno"] not in initial)
written = json.load(open(sys.argv[2]))["bytes_written"]
print("written / final bytes written: %.3f" % (written / max(final, 1)))
sys.exit(0 if written <= float(sys.argv[3]) * final else 1)
PYEOF
}
once "$store" "$MC_TMP/r1.json" 1.1 || fail "--full over $n level-0 segments wrote the data more than once"

export MPICOMPACT_MERGE_FDS=64
run_ok mc compact "$MC_TMP/copy" --full --report "$MC_TMP/r2.json" --progress none
check "$MC_TMP/copy" "merge tree"
wa2=$(report_field "$MC_TMP/r2.json" write_amplification)
echo "merge tree of width 64: $(report_field "$MC_TMP/r2.json" compactions_done) compactions, write amplification $wa2"
# rounds: log_64(n) <= 2 for n <= 4096, so each item is written at most ~3 times
once "$MC_TMP/copy" "$MC_TMP/r2.json" 3.2 || fail "with a merge width of 64 the data was written more than ~3 times"
pass
