#!/usr/bin/env bash
# The commands' contracts: init options and refusal, usage errors (exit 2),
# get and scan (bounds, order, binary keys through \xHH escapes), gen twice,
# and the store lock (a live holder is named, a dead one on this host is taken over).
# ranks: 1 4
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store

# --- init: options are kept, an existing store is refused -------------------
run_ok mc init "$S" --fanout 5 --l0-limit 3 --segment-size 2M --levels 5
stat_json "$S" "$MC_TMP/init.json"
read -r fanout l0 segsize levels <<<"$(fmt stat-json "$MC_TMP/init.json" fanout \
    "l0_limit|l0-limit|level0_limit" "segment_size|segment-size" "levels|nlevels" | tr '\n' ' ')"
assert_eq "$fanout" 5 "stat --json fanout after init --fanout 5"
assert_eq "$l0" 3 "stat --json l0_limit after init --l0-limit 3"
assert_eq "$segsize" $((2 * 1024 * 1024)) "stat --json segment_size after init --segment-size 2M"
assert_eq "$levels" 5 "stat --json levels after init --levels 5"
read -r nseg nitems <<<"$(stat_totals "$S")"
assert_eq "$nseg $nitems" "0 0" "segments and items of an empty store"
run_ok mc scan "$S"
assert_empty "scan of an empty store prints nothing" "$MC_OUT"

before=$(snapshot "$S")
expect_fail nz mc init "$S"
assert_grep "exist" "$MC_ERR" "init of an existing store says it exists"
expect_fail nz mc init "$S" --fanout 3
assert_eq "$(snapshot "$S")" "$before" "store after a refused init"

# Defaults: fanout 10, level-0 limit 4, 64M.
run_ok mc init "$MC_TMP/defaults"
stat_json "$MC_TMP/defaults" "$MC_TMP/def.json"
read -r fanout l0 segsize <<<"$(fmt stat-json "$MC_TMP/def.json" fanout \
    "l0_limit|l0-limit|level0_limit" "segment_size|segment-size" | tr '\n' ' ')"
assert_eq "$fanout $l0 $segsize" "10 4 $((64 * 1024 * 1024))" "init defaults (fanout l0 size)"

# --- usage errors: exit 2, nothing created -----------------------------------
# (mpirun exits slowly on failure: at NP > 1, usage() runs a third of them.)
usage_no=0
usage() {
    usage_no=$((usage_no + 1))
    if [[ $NP != 1 ]] && (( (usage_no + MC_SEED) % 3 != 0 )); then return 0; fi
    expect_fail 2 "$@"
}
N=$MC_TMP/never
usage mc
usage mc frobnicate "$N"
usage mc init
usage mc init "$N" --bogus
usage mc init "$N" --segment-size 12Q
usage mc init "$N" --segment-size
usage mc init "$N" --fanout -3
usage mc init "$N" --fanout 1x
expect_fail 2 mc init "$N" --segment-size 1023   # below the minimum (docs/USAGE.md)
assert_grep "segment-size 1023.*minimum of 1024" "$MC_ERR" "the message says the minimum"
[[ ! -e $N ]] || fail "a failed init created $N"
expect_fail 2 mc gen "$S" --segments 2 --items 10 --overwrite 1.5
assert_grep "overwrite" "$MC_ERR" "the message names the bad option"
usage mc gen "$S" --segments 2 --items 10 --delete -0.1
usage mc gen "$S" --segments 2 --items 10 --dist gaussian
usage mc gen "$S" --segments 2 --items 10 --key-size 9:3
usage mc gen "$S" --items 10
usage mc gen
usage mc get "$S"
usage mc scan "$S" --from
usage mc scan "$S" --from 'a\q'
usage mc stat "$S" --yaml
usage mc verify
usage mc digest
usage mc add "$S"
assert_eq "$(snapshot "$S")" "$before" "store after usage errors"

# --- binary keys: an h5py segment, then scan and get -------------------------
py - "$MC_TMP/bin.h5" "$MC_TMP/bin.expect" "$MC_TMP/bin.keys" <<'EOF'
import sys, mcformat as F
keys = [b"\x00", b"\x00\x00", b"\x00a", b"\t", b"\n", b"a\tb", b"a\nb", b"\\", b"\\x41",
        b"\\\\", b"a", b"ab", b"abc", b"abd", b"ab\x00", b"\x7f", b"\x1f", b"\x80",
        b"\xff", b"\xff\xfe", b" lead space", b"z" * 300]
items = []
for i, k in enumerate(keys):
    v = b"" if i % 5 == 0 else bytes((i * 37 + j) % 256 for j in range(i * 3 + 1))
    items.append((k, v, 100 + i, F.PUT))
F.write_segment(sys.argv[1], items, segno=77)
content = F.logical(items)
with open(sys.argv[2], "w") as f:
    f.write("".join(l + "\n" for l in F.scan_lines(content)))
with open(sys.argv[3], "w") as f:   # escaped key, escaped value
    for k in sorted(content):
        f.write("%s\t%s\n" % (F.escape(k), F.escape(content[k])))
EOF
run_ok mc add "$S" "$MC_TMP/bin.h5"
run_ok mc scan "$S"
cmp -s "$MC_OUT" "$MC_TMP/bin.expect" || { diff "$MC_OUT" "$MC_TMP/bin.expect" | head -20 >&2; fail "scan of binary keys"; }
run_ok mc verify "$S"

# get_value KEY [PRINTED_KEY]: prints the value field of `get` (accepts
# "KEY\tVALUE" or "VALUE"; a printed key must be PRINTED_KEY, default KEY).
get_value() {
    run_ok mc get "$S" "$1"
    [[ $(wc -l <"$MC_OUT") == 1 ]] || { show_last; fail "get $1 printed $(wc -l <"$MC_OUT") lines"; }
    local line
    line=$(cat "$MC_OUT")
    if [[ $line == *$'\t'* ]]; then
        [[ ${line%%$'\t'*} == "${2:-$1}" ]] || fail "get $1 printed key '${line%%$'\t'*}'"
        line=${line#*$'\t'}
    fi
    printf '%s' "$line"
}

n=0
while IFS=$'\t' read -r k v; do
    n=$((n + 1))
    if [[ $NP != 1 ]] && (( n % 4 != 1 )); then continue; fi   # fewer mpiruns at np>1
    got=$(get_value "$k")
    assert_eq "$got" "$v" "get of key $k"
done <"$MC_TMP/bin.keys"
# Either case of hex digits is accepted in a key.
got=$(get_value '\xFF\xFE' '\xff\xfe')
assert_eq "$got" "$(awk -F'\t' '$1 == "\\xff\\xfe" {print $2}' "$MC_TMP/bin.keys")" 'get \xFF\xFE'

# Missing keys: non-zero, nothing on stdout.
for k in 'a\x00\x00' 'abe' '\xfe' 'zz'; do
    expect_fail nz mc get "$S" "$k"
    assert_empty "get of missing key $k prints nothing on stdout" "$MC_OUT"
done

# --- scan bounds on generated data ------------------------------------------
G=$MC_TMP/gen
run_ok mc init "$G" --segment-size 32K
run_ok mc gen "$G" --segments 4 --items 300 --overwrite 0.2 --delete 0.2 --seed "$MC_SEED" --key-size 1:12
run_ok mc scan "$G"
cp "$MC_OUT" "$MC_TMP/all.scan"
py - "$MC_TMP/all.scan" <<'EOF' || fail "scan output is not in strictly increasing key order"
import sys, mcformat as F
keys = [k for k, v in F.parse_scan(open(sys.argv[1]).read())]
sys.exit(0 if all(a < b for a, b in zip(keys, keys[1:])) and len(keys) > 100 else 1)
EOF
total=$(wc -l <"$MC_TMP/all.scan")
for _ in 1 2 3; do
    a=$((RANDOM % total + 1)); b=$((RANDOM % total + 1))
    (( a <= b )) || { t=$a; a=$b; b=$t; }
    ka=$(sed -n "${a}p" "$MC_TMP/all.scan" | cut -f1)
    kb=$(sed -n "${b}p" "$MC_TMP/all.scan" | cut -f1)
    run_ok mc scan "$G" --from "$ka" --to "$kb"
    sed -n "${a},${b}p" "$MC_TMP/all.scan" | cmp -s - "$MC_OUT" || fail "scan --from $ka --to $kb (lines $a..$b, inclusive)"
    run_ok mc scan "$G" --from "$ka"
    sed -n "${a},\$p" "$MC_TMP/all.scan" | cmp -s - "$MC_OUT" || fail "scan --from $ka (lines $a..)"
    run_ok mc scan "$G" --to "$kb"
    sed -n "1,${b}p" "$MC_TMP/all.scan" | cmp -s - "$MC_OUT" || fail "scan --to $kb (lines ..$b)"
done
# Bounds that are not keys: between neighbours, and an empty range.
k1=$(sed -n 1p "$MC_TMP/all.scan" | cut -f1)
run_ok mc scan "$G" --from "${k1}"'\x00'
sed -n '2,$p' "$MC_TMP/all.scan" | cmp -s - "$MC_OUT" || fail "scan --from first key + \\x00"
kl=$(tail -n 1 "$MC_TMP/all.scan" | cut -f1)
run_ok mc scan "$G" --from "$kl" --to "$k1"
assert_empty "scan with --from after --to prints nothing" "$MC_OUT"

# --- gen twice accumulates ---------------------------------------------------
d1=$(digest_of "$G")
read -r s1 i1 <<<"$(stat_totals "$G")"
run_ok mc gen "$G" --segments 3 --items 200 --overwrite 0.3 --seed $((MC_SEED + 7))
read -r s2 i2 <<<"$(stat_totals "$G")"
assert_eq "$s2 $i2" "$((s1 + 3)) $((i1 + 600))" "segments and items after a second gen"
run_ok mc verify "$G"
d2=$(digest_of "$G")
assert_ne "$d1" "$d2" "digest after a second gen"
check_seg_dir "$G"

# --- the lock ----------------------------------------------------------------
host=$(hostname)
sleep 100 >/dev/null 2>&1 &
holder=$!
MC_KILL+=("$holder")
printf 'host=%s pid=%s jobid=- command=gen started=2024-01-01T00:00:00Z\n' "$host" "$holder" >"$G/LOCK"
before=$(snapshot "$G")
expect_fail nz mc gen "$G" --segments 1 --items 10 --seed 1
assert_grep "$host" "$MC_ERR" "lock message names the holder's host"
assert_grep "$holder" "$MC_ERR" "lock message names the holder's pid"
assert_eq "$(snapshot "$G")" "$before" "store while locked"
[[ -f $G/LOCK ]] || fail "the holder's LOCK was removed"
expect_fail nz mc add "$G" "$MC_TMP/bin.h5"
assert_grep "$holder" "$MC_ERR" "add: lock message names the holder's pid"
# Readers do not need the lock.
run_ok mc verify "$G"
kill "$holder"; wait "$holder" 2>/dev/null || true; MC_KILL=()
# The holder is dead (same host): the lock is stale and taken over.
run_ok mc gen "$G" --segments 1 --items 10 --seed 1
[[ ! -e $G/LOCK ]] || { cat "$G/LOCK" >&2; fail "LOCK left after gen took over a stale lock"; }
read -r s3 _ <<<"$(stat_totals "$G")"
assert_eq "$s3" "$((s2 + 1))" "segments after gen took over a stale lock"
run_ok mc verify "$G"
check_seg_dir "$G"

pass
