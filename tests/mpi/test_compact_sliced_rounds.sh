#!/usr/bin/env bash
# compact at NP ranks with a narrow merge (MPICOMPACT_MERGE_FDS), so that
# level 0 goes through rounds of the merge tree, which are cut into slices
# across the idle ranks (a round leaves one level-0 segment per slice):
#   - width 4: 18 overlapping level-0 segments of a 64 KiB-segment store
#     (level-0 limit 2, fanout 4), written by three `gen` runs. Seeds 101-103
#     are the store on which a round of 2 inputs cut in 2 slices left 2
#     segments and was picked again forever (compact never ended);
#   - width 16: 48 such segments (this run's seed), rounds of up to 16
#     inputs, each cut in up to 2 slices.
# Plain compact and compact --full (and, at width 16, --full with
# MPICOMPACT_CORES=1: one core per host, so one rank compacts at a time and
# nothing is cut in slices) each end (under a timeout far below the
# test's), run a bounded number of compactions, and leave the content equal
# to the reference model (newest version per key over the segments, h5py),
# the digest unchanged, verify passing and no orphan.
# ranks: 2 4
source "$(dirname "$0")/lib.sh"
unset MPICOMPACT_CORES   # the per-host cap as users get it (ctest sets it wide)

ram_dir

# compact_bounded WIDTH STORE WHAT ARGS...: compact ends within 120 s and
# runs at most 60 compactions (48 tiny segments need about 10).
compact_bounded() {
    local width=$1 store=$2 what=$3 rc=0; shift 3
    MPICOMPACT_MERGE_FDS=$width timeout 120 mpirun -n "$NP" --oversubscribe --bind-to none "$MC_BIN" compact "$store" \
        --report "$MC_TMP/report.json" --progress none "$@" </dev/null >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    if [[ $rc != 0 ]]; then
        show_last
        [[ $rc != 124 ]] || fail "$what: compact did not end within 120 s (a round picked again and again?)"
        fail "$what: compact exit $rc"
    fi
    check_sanitizers "$what"
    local done slices
    read -r done slices < <(py -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["compactions_done"], r["slices"])' "$MC_TMP/report.json") || fail "$what: report has no compactions_done"
    echo "$what: $done compactions, $slices slices"
    [[ ${MPICOMPACT_CORES:-} != 1 ]] || ((slices == 0)) || fail "$what: $slices slices with one core per host"
    ((done <= 60)) || fail "$what: $done compactions for a few tiny segments (rounds that do not narrow level 0?)"
}

for shape in "4 6 101" "16 16 $MC_SEED"; do
    read -r width nseg seed <<<"$shape"
    seeds="$seed $((seed + 1)) $((seed + 2))"
    store=$MC_BASE/store
    rm -rf "$store" "$MC_BASE/full" "$MC_BASE/cores1"
    run_ok mc init "$store" --segment-size 64K --l0-limit 2 --fanout 4
    for s in $seeds; do
        run_ok mc_mpirun 2 gen "$store" --segments "$nseg" --items 500 --seed "$s"
    done
    model_of "$store" "$MC_TMP/model.txt"
    d0=$(digest_of "$store")
    cp -a "$store" "$MC_BASE/full"
    runs="plain full"
    ((width == 4)) || { runs+=" cores1"; cp -a "$store" "$MC_BASE/cores1"; }
    for run in $runs; do
        s=$store args=()
        [[ $run == plain ]] || s=$MC_BASE/$run args=(--full)
        if [[ $run == cores1 ]]; then
            MPICOMPACT_CORES=1 compact_bounded "$width" "$s" "width $width, seeds $seeds, $run" "${args[@]}"
        else
            compact_bounded "$width" "$s" "width $width, seeds $seeds, $run" "${args[@]}"
        fi
        mc scan "$s" >"$MC_TMP/scan.txt" || fail "seeds $seeds, $run: scan failed"
        cmp -s "$MC_TMP/scan.txt" "$MC_TMP/model.txt" || fail "seeds $seeds, $run: scan differs from the model"
        assert_eq "$(digest_of "$s")" "$d0" "seeds $seeds, $run: digest"
        run_ok mc verify "$s"
        check_seg_dir "$s"
    done
done
pass
