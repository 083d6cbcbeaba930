#!/usr/bin/env bash
# add at its edges: seqs outside 1..2^63-1 are refused (nothing added, later
# gens still write newer seqs); an input inside the store (seg/, manifest/, the
# store's root, reached through `..` or a symlink) is refused and never removed
# by the orphan sweep; when the ranks see a relative path differently (MPMD
# with two working directories), what is committed is the file rank 0 copied
# and the store stays readable. After every refused add: exit 1, a message
# naming the file, verify clean, digest and files unchanged, the input kept.
# ranks: 1 4
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store
IN=$MC_TMP/in
mkdir -p "$IN"
run_ok mc init "$S" --segment-size 64K
run_ok mc gen "$S" --segments 2 --items 200 --overwrite 0.2 --delete 0.1 --seed "$MC_SEED"
run_ok mc verify "$S"
d0=$(digest_of "$S")
snap0=$(snapshot "$S")

next_seq() {
    stat_json "$1" "$MC_TMP/stat.json"
    fmt stat-json "$MC_TMP/stat.json" next_seq || fail "stat --json of $1 has no next_seq"
}

# refused FILE WORDS WHAT ARGS...: `add` of ARGS fails with exit 1 naming FILE
# with a reason matching WORDS; the store is unchanged and FILE still exists.
refused() {
    local file=$1 words=$2 what=$3 snap; shift 3
    snap=$(snapshot "$S")
    expect_fail 1 mc add "$S" "$@"
    grep -F "$file" "$MC_ERR" | grep -Eiq -- "$words" ||
        { show_last; fail "$what: no message naming $file with /$words/"; }
    assert_grep "nothing was added|refus" "$MC_ERR" "$what: says nothing was added"
    [[ -e $file ]] || fail "$what: the input $file was removed"
    assert_eq "$(snapshot "$S")" "$snap" "store files after $what"
}

# store_clean: verify passes and the logical content is what it was.
store_clean() {
    run_ok mc verify "$S"
    assert_eq "$(digest_of "$S")" "$d0" "digest after $1"
    check_seg_dir "$S"
}

fmt write "$IN/good.h5" 20 5 good || fail "writing good.h5"

# --- seq 0 and seqs above 2^63-1 ----------------------------------------------
fmt write "$IN/seq0.h5" 10 0 zero || fail "writing seq0.h5"
refused "$IN/seq0.h5" "seq 0" "add of a segment holding seq 0" "$IN/good.h5" "$IN/seq0.h5"
store_clean "the add of seq 0"
py - "$IN/seqmax.h5" "$IN/seq2p63.h5" <<'EOF' || fail "writing the seq-max segments"
import sys
import mcformat as F
F.write_segment(sys.argv[1], [(b"m%03d" % i, b"v", 2**64 - 10 + i, F.PUT) for i in range(10)])
F.write_segment(sys.argv[2], [(b"h%03d" % i, b"v", 2**63 - 5 + i, F.PUT) for i in range(10)])
EOF
refused "$IN/seqmax.h5" "seq 18446744073709551615|above|largest|2\^63" "add of a segment holding seq 2^64-1" \
    "$IN/seqmax.h5"
refused "$IN/seq2p63.h5" "seq 9223372036854775808|above|largest|2\^63" "add of a segment holding seq 2^63" \
    "$IN/good.h5" "$IN/seq2p63.h5"
store_clean "the adds of seqs above the maximum"
assert_eq "$(snapshot "$S")" "$snap0" "store files after the refused seq adds"

# --- inputs inside the store ----------------------------------------------------
cp "$IN/good.h5" "$S/seg/incoming.h5"
refused "$S/seg/incoming.h5" "inside the store|store's own" "add of a file in STORE/seg/" "$S/seg/incoming.h5"
# the same file through `..`, through a symlink to it, through a symlinked store
refused "$S/seg/00/../incoming.h5" "inside the store|store's own" "add of STORE/seg/00/../incoming.h5" \
    "$S/seg/00/../incoming.h5"
ln -s "$S/seg/incoming.h5" "$IN/link.h5"
refused "$IN/link.h5" "inside the store|store's own" "add of a symlink into STORE/seg/" "$IN/link.h5"
ln -s "$S" "$MC_TMP/store-link"
refused "$MC_TMP/store-link/seg/incoming.h5" "inside the store|store's own" "add through a symlinked store" \
    "$MC_TMP/store-link/seg/incoming.h5"
(cd "$S/seg" && expect_fail 1 mc add "$S" incoming.h5)
assert_grep "incoming\.h5.*(inside the store|store's own)" "$MC_ERR" "add of a relative path into seg/"
[[ -e $S/seg/incoming.h5 ]] || fail "add of a relative path into seg/ removed it"
rm "$S/seg/incoming.h5" "$IN/link.h5"
for where in seg/00 manifest .; do
    cp "$IN/good.h5" "$S/$where/incoming.h5"
    refused "$S/$where/incoming.h5" "inside the store|store's own" "add of a file in STORE/$where" \
        "$IN/good.h5" "$S/$where/incoming.h5"
    rm "$S/$where/incoming.h5"
done
store_clean "the refused adds of files inside the store"
assert_eq "$(snapshot "$S")" "$snap0" "store files after the refused adds from inside the store"

# --- not a regular file: refused at once, nothing copied -------------------------
refused "$IN" "regular file|directory" "add of a directory" "$IN"
refused "/dev/zero" "regular file" "add of /dev/zero" "/dev/zero"
store_clean "the adds of files that are not regular"

# --- seq 2^63-1 is the largest accepted: next_seq stops at 2^63, gen goes on -----
py - "$IN/top.h5" <<'EOF' || fail "writing top.h5"
import sys
import mcformat as F
F.write_segment(sys.argv[1], [(b"t%03d" % i, b"v", 2**63 - 10 + i, F.PUT) for i in range(10)])
EOF
run_ok mc add "$S" "$IN/good.h5" "$IN/top.h5"
assert_eq "$(next_seq "$S")" "9223372036854775808" "next_seq after adding seq 2^63-1"
run_ok mc gen "$S" --segments 1 --items 50 --seed "$MC_SEED"
run_ok mc verify "$S"
n=$(next_seq "$S")
[[ ${#n} -eq 19 && $n > 9223372036854775808 ]] || fail "next_seq after gen is $n, not above 2^63"
[[ -e $IN/good.h5 && -e $IN/top.h5 ]] || fail "add removed its inputs"

# --- ranks that see a relative path differently ----------------------------------
# Rank 0 resolves and copies; the copy is what is validated and committed.
A=$MC_TMP/dA
B=$MC_TMP/dB
mkdir -p "$A" "$B"
fmt write "$A/rel.h5" 5 1 fromA || fail "writing dA/rel.h5"
fmt write "$B/rel.h5" 50 1 fromB || fail "writing dB/rel.h5"
M=$MC_TMP/mpmd
R=$MC_TMP/ref
run_ok mc init "$M"
run_ok mc init "$R"
run_ok mc add "$R" "$A/rel.h5" "$A/rel.h5"
nb=$(( NP > 1 ? NP - 1 : 1 ))
mpmd() {   # the issue's reproduction: rank 0 works in dA, the others in dB
    mpirun --oversubscribe --bind-to none -n 1 -wdir "$A" "$MC_BIN" add "$M" "$@" : \
        -n "$nb" -wdir "$B" "$MC_BIN" add "$M" "$@" </dev/null
}
run_ok mpmd rel.h5 rel.h5
run_ok mc verify "$M"
run_ok mc scan "$M"
assert_eq "$(stat_totals "$M")" "2 10" "segments/items after the MPMD add (rank 0's file, twice)"
assert_eq "$(digest_of "$M")" "$(digest_of "$R")" "digest of the MPMD add vs adding dA/rel.h5"
check_seg_dir "$M"
[[ -e $A/rel.h5 && -e $B/rel.h5 ]] || fail "the MPMD add removed an input"

pass
