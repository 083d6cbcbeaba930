#!/usr/bin/env bash
# A second `gen` with the same options adds new keys (keys and values depend
# on the store's next seq, not only on the options); the same gen commands on
# equal stores still give equal content at any rank count.
# ranks: 2
source "$(dirname "$0")/lib.sh"

live() { run_ok mc scan "$1"; wc -l <"$MC_OUT"; }

for dist in uniform sequential zipf; do
    S=$MC_TMP/s-$dist
    run_ok mc init "$S"
    args=(--segments 2 --items 150 --key-size 12:20 --dist "$dist" --seed "$MC_SEED")
    run_ok mc gen "$S" "${args[@]}"
    assert_eq "$(live "$S")" 300 "$dist: live keys after one gen"
    run_ok mc gen "$S" "${args[@]}"
    assert_eq "$(live "$S")" 600 "$dist: live keys after the same gen twice"
    # Overwrites and deletes target keys of their own run only: a third run
    # with --delete never removes keys of the first two.
    run_ok mc gen "$S" "${args[@]}" --overwrite 0.3 --delete 0.3
    n3=$(live "$S")
    (( n3 > 600 && n3 <= 900 )) || fail "$dist: live keys after a third gen with deletes: $n3"
    read -r _ items <<<"$(stat_totals "$S")"
    assert_eq "$items" 900 "$dist: items after three gens"
done

# Reproducible: the same commands on a fresh store give the same digest.
R=$MC_TMP/again
run_ok mc init "$R"
args=(--segments 2 --items 150 --key-size 12:20 --dist zipf --seed "$MC_SEED")
run_ok mc gen "$R" "${args[@]}"
run_ok mc gen "$R" "${args[@]}"
run_ok mc gen "$R" "${args[@]}" --overwrite 0.3 --delete 0.3
assert_eq "$(digest_of "$R")" "$(digest_of "$MC_TMP/s-zipf")" "digest of the same gen commands on a fresh store"
run_ok mc verify "$R"

pass
