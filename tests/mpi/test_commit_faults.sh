#!/usr/bin/env bash
# Failures on the commit path of add, gen and compact (fault points, error
# mode): every directory fsync, the CURRENT switch and the manifest fsync
# failing at each of their hits in turn. Whatever fails, the store verifies,
# holds either the old or the new content (the new one exactly when CURRENT
# names a new generation: a failure after the switch leaves the commit done,
# and the command must not remove what it named), and a later compact
# leaves no orphans. Regression: add and gen used to remove their committed
# segments when the fsync of the store directory after the switch failed.
# ranks: 1
source "$(dirname "$0")/lib.sh"
# Many short singleton runs: no orted each time, and session directories of
# our own (isolated singletons share job family 0: two racing in one
# directory fail in MPI_Init).
export OMPI_MCA_ess_singleton_isolated=1
mkdir "$MC_TMP/ompi"
export OMPI_MCA_orte_tmpdir_base=$MC_TMP/ompi

base=$MC_TMP/base
run_ok mc init "$base" --l0-limit 4
run_ok mc gen "$base" --segments 3 --items 200 --seed "$MC_SEED" --delete 0.1
py - "$MC_TMP/extra.h5" "$MC_SEED" <<'PYEOF' || fail "cannot write the segment to add"
import random, sys
import mcformat as mf
r = random.Random(int(sys.argv[2]))
mf.write_segment(sys.argv[1], [(b"added-%04d" % i, b"v%d" % r.randrange(10**6), 10**6 + i, mf.PUT) for i in range(50)])
PYEOF
d_base=$(digest_of "$base")

# The content each command gives when it succeeds, from clean runs on copies.
cp -a "$base" "$MC_TMP/ref"
run_ok mc add "$MC_TMP/ref" "$MC_TMP/extra.h5"
d_add=$(digest_of "$MC_TMP/ref")
rm -rf "$MC_TMP/ref"; cp -a "$base" "$MC_TMP/ref"
run_ok mc gen "$MC_TMP/ref" --segments 2 --items 100 --seed 7
d_gen=$(digest_of "$MC_TMP/ref")
rm -rf "$MC_TMP/ref"

gen_of() { cat "$1/CURRENT"; }

# verify_or_orphans STORE WHAT: verify passes, or reports only orphans (what
# a failed writer may leave; the next writer removes them).
verify_or_orphans() {
    local rc=0
    mc verify "$1" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    [[ $rc == 0 ]] && return
    if grep -F "verify: " "$MC_ERR" | grep -vq "orphan (a file the manifest does not name)"; then
        show_last
        fail "$2: verify finds more than orphans"
    fi
}

# try WHAT POINT K WANT CMD...: runs CMD on a fresh copy of the base store
# with POINT armed at its hit K; FIRED=1 when the point fired. WANT: the
# digest expected once CURRENT moved ("keep": the base content).
try() {
    local what=$1 point=$2 k=$3 want=$4; shift 4
    local s=$MC_TMP/s
    rm -rf "$s"; cp -a "$base" "$s"
    local before; before=$(gen_of "$s")
    local rc=0
    MPICOMPACT_FAULT="$point:after=$k:mode=error" "$@" "$s" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    check_sanitizers "$@"
    FIRED=0
    if ! grep -q "injected fault $point" "$MC_ERR"; then
        [[ $rc == 0 ]] || { show_last; fail "$what $point after=$k: exit $rc without the fault firing"; }
        return
    fi
    FIRED=1
    # compact retries a failed compaction elsewhere: 0 or 1; the others fail.
    if [[ $rc != 1 && ! ( $what == compact && $rc == 0 ) ]]; then
        show_last
        fail "$what $point after=$k: exit $rc, want 1"
    fi
    if [[ $(gen_of "$s") != "$before" && $want != keep ]]; then   # add, gen: one commit, the failed one
        assert_grep "may not be durable" "$MC_ERR" "$what $point after=$k: failure after the switch"
    fi
    verify_or_orphans "$s" "$what $point after=$k"
    local d; d=$(digest_of "$s")
    if [[ $(gen_of "$s") != "$before" && $want != keep ]]; then
        assert_eq "$d" "$want" "$what $point after=$k: CURRENT moved, content"
    else
        assert_eq "$d" "$d_base" "$what $point after=$k: content"
    fi
    if [[ $point == dir_fsync ]]; then   # the next writer cleans up what is left
        run_ok mc compact "$s"
        run_ok mc verify "$s"
        check_seg_dir "$s"
    fi
}

# every_hit WHAT POINT WANT CMD...: the point armed at each of its hits until
# the command no longer reaches it.
every_hit() {
    local what=$1 point=$2 want=$3; shift 3
    local k=0
    FIRED=1
    while :; do
        try "$what" "$point" "$k" "$want" "$@"
        [[ $FIRED == 1 ]] || break
        k=$((k + 1))
        (( k < 40 )) || fail "$what $point: still firing after 40 hits"
    done
    echo "$what: $point fired at $k hit(s)"
    (( k > 0 )) || fail "$what never reaches $point"
}

add_cmd() { mc add "$1" "$MC_TMP/extra.h5"; }
gen_cmd() { mc gen "$1" --segments 2 --items 100 --seed 7; }
compact_cmd() { mc compact "$1" --full; }

every_hit add dir_fsync "$d_add" add_cmd
every_hit gen dir_fsync "$d_gen" gen_cmd
every_hit compact dir_fsync keep compact_cmd
every_hit add current_switch "$d_add" add_cmd
every_hit add manifest_fsync "$d_add" add_cmd
pass
