#!/usr/bin/env bash
# Identical versions (same key, seq, kind and value) added twice meet in a
# compaction: the report counts them in duplicates_dropped, so that
# items_read - items_written = deletes_dropped + overwrites_dropped +
# duplicates_dropped holds; scan and digest are unchanged by the compaction.
source "$(dirname "$0")/../mpi/lib.sh"

W=$MC_TMP/in
mkdir -p "$W"
# a.h5: random keys and versions; b.h5: puts on keys of their own (so each
# added twice is exactly one duplicate); c.h5: some of a's items verbatim plus
# newer versions of others.
py - "$W" "$MC_SEED" <<'PYEOF' || fail "writing the segments"
import random, sys
import mcformat as F
out, rnd = sys.argv[1], random.Random(int(sys.argv[2]))
keys = sorted({bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 12))) for _ in range(400)})
rnd.shuffle(keys)
ka, kb = keys[:250], keys[250:]
def val():
    return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 30)))
seq = iter(rnd.sample(range(1, 10**6), 1000))
a = [(k, b"", next(seq), F.DELETE) if rnd.random() < 0.2 else (k, val(), next(seq), F.PUT) for k in ka]
b = [(k, val(), next(seq), F.PUT) for k in kb]
c = [it for it in a if rnd.random() < 0.4]
taken = {it[0] for it in c}
c += [(k, val(), next(seq), F.PUT) for k in ka if k not in taken and rnd.random() < 0.3]
for name, items in (("a", a), ("b", b), ("c", c)):
    F.write_segment("%s/%s.h5" % (out, name), items)
open(out + "/nb", "w").write("%d\n" % len(b))
with open(out + "/expected.scan", "w") as f:
    f.write("".join(l + "\n" for l in F.scan_lines(F.logical(a + b + c))))
PYEOF

S=$MC_TMP/store
run_ok "$MC_BIN" init "$S" --segment-size 2K
run_ok mc_mpirun 2 add "$S" "$W/a.h5" "$W/b.h5" "$W/c.h5" "$W/b.h5"
run_ok "$MC_BIN" scan "$S"
cmp -s "$MC_OUT" "$W/expected.scan" || { diff "$MC_OUT" "$W/expected.scan" | head >&2; fail "scan after add"; }
d=$(digest_of "$S")

run_ok mc_mpirun 2 compact "$S" --full --report "$MC_TMP/report.json"
py - "$MC_TMP/report.json" "$(cat "$W/nb")" <<'PYEOF' || fail "report identity"
import json, sys
r = json.load(open(sys.argv[1]))
nb = int(sys.argv[2])
lhs = r["items_read"] - r["items_written"]
rhs = r["deletes_dropped"] + r["overwrites_dropped"] + r["duplicates_dropped"]
assert lhs == rhs, "items_read - items_written = %d, dropped = %d: %s" % (lhs, rhs, r)
assert r["duplicates_dropped"] >= nb, (r["duplicates_dropped"], nb)
assert r["compactions_done"] > 0 and r["exit_status"] == 0, r
PYEOF
run_ok "$MC_BIN" scan "$S"
cmp -s "$MC_OUT" "$W/expected.scan" || fail "scan after compact"
assert_eq "$(digest_of "$S")" "$d" "digest after compact"
run_ok "$MC_BIN" verify "$S"
check_seg_dir "$S"
pass
