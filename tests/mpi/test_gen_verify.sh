#!/usr/bin/env bash
# gen at NP ranks, then verify, digest and stat: the digest equals that of the
# same gen run as a singleton, and seg/ holds exactly the manifest's files.
# ranks: 1 2 4 8
source "$(dirname "$0")/lib.sh"

empty=$MC_TMP/empty
run_ok "$MC_BIN" init "$empty"
d_empty=$(digest_of "$empty")

case_no=0
for dist in uniform zipf sequential; do
    case_no=$((case_no + 1))
    segs=$((3 + RANDOM % 4))           # fewer segments than ranks at np 8
    items=$((200 + RANDOM % 300))
    seed=$((MC_SEED + case_no))
    args=(--segments "$segs" --items "$items" --key-size 4:24 --value-size 0:200
          --dist "$dist" --overwrite 0.25 --delete 0.1 --seed "$seed")
    echo "case $dist: gen ${args[*]}"

    store=$MC_TMP/s-$dist
    ref=$MC_TMP/ref-$dist
    run_ok mc init "$store" --segment-size 64K
    run_ok mc gen "$store" "${args[@]}"
    run_ok mc verify "$store"
    d=$(digest_of "$store")

    # The same gen as a singleton (one rank writes every segment).
    run_ok "$MC_BIN" init "$ref" --segment-size 64K
    run_ok "$MC_BIN" gen "$ref" "${args[@]}"
    run_ok "$MC_BIN" verify "$ref"
    d_ref=$("$MC_BIN" digest "$ref")
    assert_eq "$d" "$d_ref" "$dist: digest at np=$NP vs singleton gen"
    d1=$("$MC_BIN" digest "$store")
    assert_eq "$d1" "$d" "$dist: digest of the np=$NP store read by 1 rank"
    assert_ne "$d" "$d_empty" "$dist: digest of a filled store vs the empty store"

    read -r nseg nitems <<<"$(stat_totals "$store")"
    assert_eq "$nseg" "$segs" "$dist: stat --json segment count"
    assert_eq "$nitems" "$((segs * items))" "$dist: stat --json item count"
    assert_eq "$(fmt manifest "$store" | wc -l)" "$segs" "$dist: manifest entries"
    check_seg_dir "$store"
done

# A different seed gives different content.
run_ok mc init "$MC_TMP/other"
run_ok mc gen "$MC_TMP/other" --segments 3 --items 300 --seed $((MC_SEED + 1000))
d_a=$(digest_of "$MC_TMP/other")
run_ok mc init "$MC_TMP/other2"
run_ok mc gen "$MC_TMP/other2" --segments 3 --items 300 --seed $((MC_SEED + 1001))
d_b=$(digest_of "$MC_TMP/other2")
assert_ne "$d_a" "$d_b" "digests of gens with different seeds"

pass
