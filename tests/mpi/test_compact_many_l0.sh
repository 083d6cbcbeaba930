#!/usr/bin/env bash
# compact at NP ranks over many tiny level-0 segments (300 to 1,200, or
# MC_L0_SEGMENTS; half with keys over the whole key space, overlapping one
# another, half sequential, disjoint, with overwrites and deletes), three
# times from the same store:
#   1. compact --full: level 0 is merged in one pass as wide as memory and
#      file descriptors allow, so the write amplification of --full into an
#      empty tree is at most 1.1 (over 1,200 segments the width is narrowed
#      to 2,000: rounds of the merge tree, each item written at most twice);
#   2. compact --full with a merge width of 64 (MPICOMPACT_MERGE_FDS) and
#      every input streamed (MPICOMPACT_STREAM_ALL): level 0 in rounds of a
#      merge tree, each item written at most ~3 times;
#   3. plain compact (the picker's own choices: moves of the disjoint
#      segments, merges of the overlapping ones, down to the level-0 limit).
# Each time the content equals the reference model (the newest version per
# key over the segments, computed with h5py), the digest does not change,
# verify passes, and no orphan is left. test_compact_10k_l0 runs this with
# 10,000 segments.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"

ram_dir
store=$MC_BASE/store
n=${MC_L0_SEGMENTS:-$((300 + RANDOM % 900))}
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

model_of "$store" "$MC_TMP/model.txt"
d0=$(digest_of "$store")
((n > 1200)) || cp -a "$store" "$MC_BASE/copy"
cp -a "$store" "$MC_BASE/plain"
py -c 'import sys, mcformat as mf; print(" ".join(str(e["segno"]) for e in mf.read_manifest(sys.argv[1])[2]))' \
    "$store" >"$MC_TMP/initial.segnos" || fail "cannot read the manifest of $store"

# check STORE WHAT [full]: model, digest, verify, no orphans; after --full
# also one level and no deletes.
check() {
    mc scan "$1" >"$MC_TMP/scan.txt" || fail "$2: scan failed"
    cmp -s "$MC_TMP/scan.txt" "$MC_TMP/model.txt" || fail "$2: scan differs from the model"
    assert_eq "$(digest_of "$1")" "$d0" "$2: digest"
    run_ok mc verify "$1"
    check_seg_dir "$1"
    [[ ${3:-} == full ]] || return 0
    py - "$1" <<'PYEOF' || fail "$2: levels after --full"
import sys
import mcformat as mf
_rel, _attrs, entries = mf.read_manifest(sys.argv[1])
levels = sorted({e["level"] for e in entries})
assert len(levels) <= 1 and 0 not in levels, levels
assert sum(e["ndeletes"] for e in entries) == 0
PYEOF
}

# Over 1,200 segments the merge is narrowed to 2,000 inputs so that --full
# goes through rounds of the merge tree at scale: memory alone would not
# (docs/COMPACTION.md "The width of one merge": a tiny level-0 segment is
# loaded whole and costs about 10 KiB, so 10,000 of them fit one merge).
((n <= 1200)) || export MPICOMPACT_MERGE_FDS=2000
run_ok mc compact "$store" --full --report "$MC_TMP/r1.json" --progress none
unset MPICOMPACT_MERGE_FDS
check "$store" "one pass" full
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
if ((n <= 1200)); then
    once "$store" "$MC_TMP/r1.json" 1.1 || fail "--full over $n level-0 segments wrote the data more than once"
else
    # More than one pass holds (a width of 2,000): two levels of rounds at most.
    once "$store" "$MC_TMP/r1.json" 2.2 || fail "--full over $n level-0 segments wrote the data more than twice"
    ((done1 > 1)) || fail "--full over $n level-0 segments ran as one merge, wider than the 2,000 allowed"
fi

# Over 1,200 segments --full above already went through rounds of the
# merge tree: step 2 is for the smaller stores.
if ((n <= 1200)); then
    # every input streamed here (step 1 loads them whole)
    export MPICOMPACT_MERGE_FDS=64 MPICOMPACT_STREAM_ALL=1
    run_ok mc compact "$MC_BASE/copy" --full --report "$MC_TMP/r2.json" --progress none
    check "$MC_BASE/copy" "merge tree" full
    wa2=$(report_field "$MC_TMP/r2.json" write_amplification)
    echo "merge tree of width 64: $(report_field "$MC_TMP/r2.json" compactions_done) compactions, write amplification $wa2"
    # ceil(log_64(n)) rounds (2 up to 4,096 segments, 3 up to 262,144), each
    # writing every surviving item once
    rounds=$(py -c 'import math, sys; print(math.ceil(math.log(int(sys.argv[1])) / math.log(64)))' "$n")
    once "$MC_BASE/copy" "$MC_TMP/r2.json" "$rounds.2" ||
        fail "with a merge width of 64 the data was written more than $rounds times"
    unset MPICOMPACT_MERGE_FDS MPICOMPACT_STREAM_ALL
fi

# A commit after every change and bases written in the background from the
# first segment (manifest_base.h), so that the model check (h5py reads the
# manifest) also reads chains whose base was an edit.
MPICOMPACT_MANIFEST_BG_MIN=1 MPICOMPACT_COMMIT_INTERVAL=0.001 run_ok mc compact "$MC_BASE/plain" --report "$MC_TMP/r3.json" --progress none
check "$MC_BASE/plain" "plain compact"
read -r nseg3 _ <<<"$(stat_totals "$MC_BASE/plain")"
echo "plain compact: $(report_field "$MC_TMP/r3.json" compactions_done) compactions, $(report_field "$MC_TMP/r3.json" commits) commits, $nseg3 segments left"
pass
