#!/usr/bin/env bash
# Readers take no lock: get, scan, digest and verify looping while compact
# commits generations (and unlinks their inputs) must each succeed and
# return exactly what they returned before the compaction (docs/USAGE.md,
# "Reading while a writer runs"). A round counts only if at least one read
# overlapped a commit (CURRENT differed before and after it); otherwise it
# is rerun on a bigger store, so the test does not depend on timing.
# ranks: 1 4
source "$(dirname "$0")/lib.sh"

current_of() { cat "$1/CURRENT"; }

# reader KIND STORE DIR: runs KIND (scan, digest, get or verify) in a loop
# until DIR/stop exists; each result is compared with DIR/KIND0 (verify:
# must say OK); a mismatch or a failure appends to DIR/bad; every read that
# saw CURRENT change appends to DIR/overlaps. DIR/started.KIND appears once
# the first read began; DIR/nreads.KIND counts them at the end.
reader() {
    local kind=$1 S=$2 D=$3 i=0 before after out err rc
    local key; key=$(cat "$D/key")
    while [[ ! -e $D/stop ]]; do
        before=$(current_of "$S")
        out=$D/out.$kind.$i err=$D/err.$kind.$i rc=0
        [[ $i == 0 ]] && touch "$D/started.$kind"
        case $kind in
        get) mc get "$S" "$key" >"$out" 2>"$err" || rc=$? ;;
        *) mc "$kind" "$S" >"$out" 2>"$err" || rc=$? ;;
        esac
        after=$(current_of "$S")
        if [[ $rc != 0 ]]; then
            echo "$kind $i: exit $rc: $(head -c 600 "$err")" >>"$D/bad"
        elif [[ $kind == verify ]]; then
            grep -q "^verify: OK" "$out" || echo "$kind $i: $(cat "$out")" >>"$D/bad"
        else
            cmp -s "$out" "$D/${kind}0" || echo "$kind $i: differs from before the compaction" >>"$D/bad"
        fi
        [[ -s $D/bad ]] || rm -f "$out" "$err"
        [[ $before == "$after" ]] || echo "$kind $i" >>"$D/overlaps"
        i=$((i + 1))
    done
    echo "$i" >"$D/nreads.$kind"
}

overlapped=0
round=0
while [[ $overlapped == 0 ]]; do
    round=$((round + 1))
    (( round <= 6 )) || fail "no read overlapped a commit in $((round - 1)) rounds (machine too fast for this store?)"
    S=$MC_TMP/s$round D=$MC_TMP/d$round
    mkdir -p "$D"
    segs=$((80 + 60 * round)) items=$((150 + RANDOM % 100))
    echo "round $round: $segs segments of $items items"
    run_ok mc init "$S" --segment-size 8K --l0-limit 4 --fanout 4
    run_ok mc gen "$S" --segments "$segs" --items "$items" --key-size 4:24 --value-size 0:48 \
        --overwrite 0.3 --delete 0.1 --seed "$((MC_SEED + round))"
    run_ok mc scan "$S"; cp "$MC_OUT" "$D/scan0"
    run_ok mc digest "$S"; cp "$MC_OUT" "$D/digest0"
    line=$(grep -v '^-' "$D/scan0" | sed -n "$((1 + RANDOM % 50))p")
    [[ -n $line ]] || fail "no key to get in the scan"
    printf '%s' "${line%%$'\t'*}" >"$D/key"
    printf '%s\n' "${line#*$'\t'}" >"$D/get0"
    gen0=$(current_of "$S")

    pids=()
    for kind in scan digest get verify; do
        reader "$kind" "$S" "$D" &
        pids+=($!)
        MC_KILL+=($!)
    done
    for kind in scan digest get verify; do
        while [[ ! -e $D/started.$kind ]]; do
            kill -0 "${pids[@]}" 2>/dev/null || fail "a reader loop died before its first read"
            sleep 0.05
        done
    done
    rc=0
    # A commit after every change and bases written in the background from
    # the first segment (manifest_base.h): readers also meet an edit turned
    # into a base and the files before it removed.
    MPICOMPACT_MANIFEST_BG_MIN=1 MPICOMPACT_COMMIT_INTERVAL=0.001 mc compact "$S" --progress none >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    touch "$D/stop"
    for p in "${pids[@]}"; do wait "$p" || fail "a reader loop exited with an error"; done
    [[ $rc == 0 ]] || { show_last; fail "compact exit $rc"; }
    [[ $(current_of "$S") != "$gen0" ]] || fail "compact committed nothing"
    if [[ -s $D/bad ]]; then
        cat "$D/bad" >&2
        fail "round $round: $(wc -l <"$D/bad") reads failed or differed during compact"
    fi
    overlapped=$(cat "$D/overlaps" 2>/dev/null | wc -l)
    echo "round $round: reads (scan digest get verify): $(cat "$D"/nreads.* | tr '\n' ' ')- $overlapped overlapped a commit"
    assert_eq "$(digest_of "$S")" "$(cat "$D/digest0")" "digest after compact"
    run_ok mc verify "$S"
    check_seg_dir "$S"
done
pass
