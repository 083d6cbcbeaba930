#!/usr/bin/env bash
# Every JSON output is valid JSON whatever bytes it carries: a store whose
# path holds a byte that is not UTF-8 (0xff) and control characters; stat
# --json and compact --report must parse (strict UTF-8) and name the path
# with the bytes escaped as \u00XX.
# ranks: 1 2
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/$'st\xffore\x01\t"q'
run_ok mc init "$S" --l0-limit 1 --segment-size 16K
run_ok mc gen "$S" --segments 3 --items 40 --seed "$MC_SEED"

# json_ok FILE WHAT: FILE parses as JSON from strict UTF-8 bytes.
json_ok() {
    py -c 'import json,sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$1" \
        || { head -c 2000 "$1" | od -c | head -20 >&2; fail "$2 is not valid JSON"; }
}

run_ok mc stat "$S" --json
cp "$MC_OUT" "$MC_TMP/stat.json"
json_ok "$MC_TMP/stat.json" "stat --json of a store path with byte 0xff"
got=$(py -c 'import json,sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["store"].encode("latin-1").hex())' "$MC_TMP/stat.json")
want=$(printf '%s' "$S" | od -An -tx1 | tr -d ' \n')
assert_eq "$got" "$want" "the store path in stat --json (bytes as \\u00XX)"

run_ok mc compact "$S" --report "$MC_TMP/report.json"
json_ok "$MC_TMP/report.json" "compact --report"
run_ok mc verify "$S"

pass
