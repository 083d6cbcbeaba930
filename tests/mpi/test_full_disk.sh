#!/usr/bin/env bash
# A real full disk and a read-only filesystem: the store lives on a small
# tmpfs mounted by the test (root only: skipped with the reason otherwise).
# gen, add and compact run with the filesystem filled to several points
# (nothing left, about an eighth and about half of what the command writes):
# each fails (compact may also drain, exit 3) with a message that names the
# store and "No space left on device"; the committed store verifies and its
# digest is unchanged; once the space is freed, the same command completes
# and leaves no partial file (seg/ holds exactly the manifest's files). Then
# the filesystem is remounted read-only: every writer fails naming the store
# and "Read-only file system", readers still work, nothing changed.
# ranks: 1 4
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) != 0 ]]; then
    echo "SKIP: mounting a tmpfs needs root (running as uid $(id -u))"
    exit 77
fi
MNT=$MC_TMP/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=12m,mode=0755 tmpfs "$MNT" 2>"$MC_TMP/mount.err"; then
    echo "SKIP: cannot mount a tmpfs here: $(cat "$MC_TMP/mount.err")"
    exit 77
fi
# Unmounted before lib.sh's cleanup removes $MC_TMP.
trap 'umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; mc_cleanup' EXIT

S=$MNT/store
avail() { df -B1 --output=avail "$MNT" | tail -n 1 | tr -d ' '; }
# fill FREE: a filler file leaves about FREE bytes free on the tmpfs.
fill() {
    rm -f "$MNT/filler"
    local a
    a=$(avail)
    if ((a > $1)); then fallocate -l $((a - $1)) "$MNT/filler" || fail "fallocate on the tmpfs"; fi
}
unfill() { rm -f "$MNT/filler"; }
used_by() { du -sb "$1" | cut -f1; }

# assert_enospc WHAT: the last command's stderr names the store and ENOSPC.
assert_enospc() {
    grep -F "$S" "$MC_ERR" | grep -Eiq 'no space left on device' ||
        { show_last; fail "$1: no message naming $S and 'No space left on device'"; }
}

# after_failure WHAT DIGEST: the committed store is intact.
after_failure() {
    run_ok mc verify "$S"
    assert_eq "$(digest_of "$S")" "$2" "digest after $1"
}

# Segments to add, written outside the tmpfs.
run_ok mc init "$MC_TMP/src" --segment-size 64K
run_ok mc gen "$MC_TMP/src" --segments 4 --items 1500 --value-size 40:120 --seed "$MC_SEED"
mapfile -t add_files < <(find "$MC_TMP/src/seg" -name '*.h5' | sort)
add_bytes=$(cat "${add_files[@]}" | wc -c)

run_ok mc init "$S" --segment-size 64K --l0-limit 2
run_ok mc gen "$S" --segments 4 --items 1500 --value-size 40:120 --seed "$((MC_SEED + 1))"
gen_bytes=$(used_by "$S/seg")
d0=$(digest_of "$S")

# --- gen -----------------------------------------------------------------
for free in 0 $((gen_bytes / 8)) $((gen_bytes / 2)); do
    fill "$free"
    expect_fail 1 mc gen "$S" --segments 4 --items 1500 --value-size 40:120 --seed "$((MC_SEED + 2))"
    assert_enospc "gen with $free bytes free"
    unfill
    after_failure "gen failed on a full disk ($free bytes free)" "$d0"
done
run_ok mc gen "$S" --segments 4 --items 1500 --value-size 40:120 --seed "$((MC_SEED + 2))"
check_seg_dir "$S"
d1=$(digest_of "$S")
assert_ne "$d1" "$d0" "digest after gen completed"

# --- add -----------------------------------------------------------------
for free in 0 $((add_bytes / 8)) $((add_bytes / 2)); do
    fill "$free"
    expect_fail 1 mc add "$S" "${add_files[@]}"
    assert_enospc "add with $free bytes free"
    unfill
    after_failure "add failed on a full disk ($free bytes free)" "$d1"
done
run_ok mc add "$S" "${add_files[@]}"
check_seg_dir "$S"
d2=$(digest_of "$S")
assert_ne "$d2" "$d1" "digest after add completed"

# --- compact (writes about as much as the store holds) -------------------
store_bytes=$(used_by "$S/seg")
for free in 0 $((store_bytes / 8)) $((store_bytes / 2)); do
    fill "$free"
    rc=0
    mc compact "$S" >"$MC_OUT" 2>"$MC_ERR" || rc=$?
    check_sanitizers compact
    [[ $rc == 1 || $rc == 3 ]] || { show_last; fail "compact with $free bytes free: exit $rc (want 1 or 3)"; }
    assert_enospc "compact with $free bytes free"
    unfill
    after_failure "compact failed on a full disk ($free bytes free)" "$d2"
done
run_ok mc compact "$S"
check_seg_dir "$S"
run_ok mc verify "$S"
assert_eq "$(digest_of "$S")" "$d2" "digest after compact completed"

# --- read-only filesystem ------------------------------------------------
snap=$(snapshot "$S")
mount -o remount,ro "$MNT" || fail "remount read-only"
assert_rofs() {
    grep -F "$S" "$MC_ERR" | grep -Eiq 'read-only file system' ||
        { show_last; fail "$1 on a read-only filesystem: no message naming $S and 'Read-only file system'"; }
}
expect_fail 1 mc gen "$S" --segments 2 --items 100 --seed 5
assert_rofs gen
expect_fail 1 mc add "$S" "${add_files[0]}"
assert_rofs add
expect_fail 1 mc compact "$S" --full
assert_rofs compact
run_ok mc verify "$S"
run_ok mc stat "$S"
assert_eq "$(digest_of "$S")" "$d2" "digest on the read-only filesystem"
mount -o remount,rw "$MNT" || fail "remount read-write"
assert_eq "$(snapshot "$S")" "$snap" "store files after the writers failed on a read-only filesystem"
pass
