#!/usr/bin/env bash
# A store whose directory tree was tampered with: seg/ replaced by a file, a
# segment file replaced by a directory or by a symbolic link to a copy of it
# outside the store, a store directory the user may not write. Every command
# that meets it fails (exit 1) with a message naming the path and the
# problem; nothing in the store changes (nor the file the link points to);
# once the damage is undone the store verifies with its old digest.
# ranks: 1 2
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store
run_ok mc init "$S" --segment-size 16K --l0-limit 1
run_ok mc gen "$S" --segments 3 --items 400 --overwrite 0.2 --delete 0.1 --seed "$MC_SEED"
run_ok mc init "$MC_TMP/src"
run_ok mc gen "$MC_TMP/src" --segments 1 --items 50 --seed "$((MC_SEED + 1))"
extra=$(find "$MC_TMP/src/seg" -name '*.h5' -print -quit)
d0=$(digest_of "$S")
snap0=$(snapshot "$S")
seg=$S/$(fmt manifest "$S" | awk 'NR == 1 { print $3 }')
[[ -f $seg ]] || fail "no segment path from the manifest"

# assert_named PATH WORDS WHAT: a line of stderr names PATH and matches WORDS.
assert_named() {
    grep -F "$1" "$MC_ERR" | grep -Eiq -- "$2" || { show_last; fail "$3: no message naming $1 with /$2/"; }
}

# every_command PATH WORDS WHAT: readers and writers all fail, naming PATH.
every_command() {
    expect_fail 1 mc verify "$S"
    assert_named "$1" "$2" "verify ($3)"
    expect_fail 1 mc digest "$S"
    assert_named "$1" "$2" "digest ($3)"
    expect_fail 1 mc compact "$S" --full
    assert_named "$1" "$2" "compact ($3)"
}

# --- seg/ replaced by a file -----------------------------------------------
mv "$S/seg" "$S/seg.moved"
echo "not a directory" >"$S/seg"
every_command "$S/seg" "not a directory" "seg/ is a file"
expect_fail 1 mc gen "$S" --segments 1 --items 10
assert_named "$S/seg" "not a directory" "gen (seg/ is a file)"
expect_fail 1 mc add "$S" "$extra"
assert_named "$S/seg" "not a directory" "add (seg/ is a file)"
rm "$S/seg"
mv "$S/seg.moved" "$S/seg"
assert_eq "$(snapshot "$S")" "$snap0" "store files after seg/ was a file"

# --- a segment file replaced by a directory --------------------------------
mv "$seg" "$MC_TMP/seg.moved"
mkdir "$seg"
every_command "$seg" "directory" "a segment is a directory"
rmdir "$seg"
mv "$MC_TMP/seg.moved" "$seg"
assert_eq "$(snapshot "$S")" "$snap0" "store files after a segment was a directory"

# --- a segment file replaced by a symbolic link outside the store ----------
# The copy outside has the right content: following the link would read a
# valid segment, and compact would then unlink the link. It is refused.
cp -p "$seg" "$MC_TMP/outside.h5"
sum_outside=$(cksum <"$MC_TMP/outside.h5")
mv "$seg" "$MC_TMP/seg.moved"
ln -s "$MC_TMP/outside.h5" "$seg"
every_command "$seg" "symbolic link" "a segment is a symbolic link"
[[ -L $seg ]] || fail "the symbolic link was removed"
assert_eq "$(cksum <"$MC_TMP/outside.h5")" "$sum_outside" "the file the link points to"
rm "$seg"
mv "$MC_TMP/seg.moved" "$seg"
assert_eq "$(snapshot "$S")" "$snap0" "store files after a segment was a symbolic link"

# --- a store directory the user may not write -------------------------------
# Root ignores permissions: as root the writers run as the unprivileged user
# "nobody" (setpriv); as another user the store is made read-only for it.
as_user=()
if [[ $(id -u) == 0 ]]; then
    if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
        ntmp=$MC_TMP/nobody-tmp
        mkdir -m 1777 "$ntmp"
        chmod 755 "$MC_TMP"
        as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$ntmp")
    else
        echo "note: no setpriv or no user nobody: the unwritable-store case is skipped"
    fi
else
    chmod a-w "$S"
fi
if [[ $(id -u) != 0 || ${#as_user[@]} -gt 0 ]]; then
    cp "$extra" "$MC_TMP/extra.h5" && chmod 644 "$MC_TMP/extra.h5"
    for cmd in "gen $S --segments 1 --items 10" "add $S $MC_TMP/extra.h5" "compact $S --full"; do
        # shellcheck disable=SC2086
        expect_fail 1 "${as_user[@]}" "$MC_BIN" $cmd
        assert_named "$S" "permission denied" "${cmd%% *} in a store the user may not write"
    done
    run_ok "${as_user[@]}" "$MC_BIN" verify "$S"
    chmod u+w "$S"
fi
assert_eq "$(snapshot "$S")" "$snap0" "store files after the writers were refused"
run_ok mc verify "$S"
assert_eq "$(digest_of "$S")" "$d0" "digest after the damage was undone"
pass
