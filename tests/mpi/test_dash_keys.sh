#!/usr/bin/env bash
# Keys that start with '-': scan prints them so that the printed form passes
# back to get and scan --from/--to unchanged (a leading '-' is printed \x2d,
# never taken for an option), and `--` passes a raw one.
# ranks: 1
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store
run_ok mc init "$S"
py - "$MC_TMP/dash.h5" "$MC_TMP/dash.expect" <<'EOF2'
import sys, mcformat as F
keys = [b"-", b"--", b"---", b"-abc", b"--from", b"--help", b"-h", b"-\x00", b"-\\", b"-x2d",
        b"a-b", b"\\x2d", b"b", b"-" * 200]
items = [(k, b"v%d-%s" % (i, k[:8]), 10 + i, F.PUT) for i, k in enumerate(keys)]
F.write_segment(sys.argv[1], items, segno=5)
content = F.logical(items)
with open(sys.argv[2], "w") as f:
    f.write("".join(l + "\n" for l in F.scan_lines(content)))
EOF2
run_ok mc add "$S" "$MC_TMP/dash.h5"
run_ok mc scan "$S"
cp "$MC_OUT" "$MC_TMP/all.scan"
cmp -s "$MC_TMP/all.scan" "$MC_TMP/dash.expect" || { diff "$MC_TMP/all.scan" "$MC_TMP/dash.expect" >&2; fail "scan of keys starting with -"; }
if cut -f1 "$MC_TMP/all.scan" | grep -q '^-'; then fail "scan printed a key starting with '-'"; fi

# Every printed key goes back to get as printed.
n=0
while IFS=$'\t' read -r k v; do
    n=$((n + 1))
    if [[ $NP != 1 ]] && (( n % 3 != 1 )); then continue; fi   # fewer mpiruns at np>1
    run_ok mc get "$S" "$k"
    assert_eq "$(cat "$MC_OUT")" "$v" "get of the printed key $k"
done <"$MC_TMP/all.scan"

# As bounds of scan.
k1=$(sed -n 2p "$MC_TMP/all.scan" | cut -f1)
k2=$(sed -n 4p "$MC_TMP/all.scan" | cut -f1)
run_ok mc scan "$S" --from "$k1" --to "$k2"
sed -n 2,4p "$MC_TMP/all.scan" | cmp -s - "$MC_OUT" || fail "scan --from $k1 --to $k2"

# A raw leading '-' after `--`; without it, an option (usage error).
run_ok mc get "$S" -- -abc
assert_eq "$(cat "$MC_OUT")" "v3--abc" "get -- -abc"
expect_fail 2 mc get "$S" -abc
assert_grep "unknown option" "$MC_ERR" "get -abc without --"

pass
