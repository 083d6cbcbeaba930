#!/usr/bin/env bash
# demo.sh: README command 1. Installs what is missing, builds, then runs the
# main job on a demo store: create ./demo-store, generate ~65 MB of level-0
# segments with `mpirun -n 4` (overwrites and deletes included), compact it with
# `mpirun -n 4`, and show stat before and after, verify, and the digest of the
# logical content before and after (they must be equal).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh

# Open MPI as root, more ranks than cores, no busy-polling; no flock needed.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE

BIN=$ROOT/build/mpicompact
STORE=$ROOT/demo-store
REPORT=$ROOT/build/demo-report.json
NP=${MC_DEMO_RANKS:-4}

say() { printf '\n== %s\n' "$*"; }
# run CMD...: show the command (shell-quoted where needed, paths relative), run it.
run() {
    local a line='$'
    for a in "$@"; do
        a=${a#"$ROOT/"}
        if [[ $a =~ ^[A-Za-z0-9_./:=+-]+$ ]]; then line+=" $a"; else line+=" '$a'"; fi
    done
    echo "$line" >&2
    "$@"
}
mpi() { run mpirun -n "$NP" --oversubscribe --bind-to none "$BIN" "$@"; }
timed() { local what=$1 t0=$SECONDS; shift; "$@"; echo "   ($what took $((SECONDS - t0)) s)"; }

say "1. Create an empty store (small 1 MiB segments so that several levels form)"
rm -rf "$STORE"
run "$BIN" init "$STORE" --segment-size 1M --fanout 4 --l0-limit 2

say "2. Generate 48 level-0 segments x 12000 items in parallel on $NP ranks"
timed gen mpi gen "$STORE" --segments 48 --items 12000 --key-size 16 --value-size 100 \
    --overwrite 0.2 --delete 0.05 --seed 42
run "$BIN" stat "$STORE"
mpi verify "$STORE"
before=$(mpi digest "$STORE")

say "3. Compact on $NP ranks (rank 0 coordinates and merges too; big compactions are cut into slices across ranks)"
timed compact mpi compact "$STORE" --report "$REPORT" --progress log
run "$BIN" stat "$STORE"
mpi verify "$STORE"
after=$(mpi digest "$STORE")

say "4. Compaction report ($REPORT, main figures)"
/usr/bin/python3 - "$REPORT" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for k, v in doc.items():
    if not isinstance(v, (dict, list)):
        print("   %-32s %s" % (k, v))
PY

say "5. The logical content is unchanged"
echo "   digest before compact: $before"
echo "   digest after compact:  $after"
if [[ $before != "$after" ]]; then
    echo "   DIGESTS DIFFER: compaction changed the logical content" >&2
    exit 1
fi
echo "   equal: same keys and values before and after"

say "6. Read it: a short range scan and a point lookup"
run "$BIN" scan "$STORE" --from '\x80' --to '\x80\x00\xff' >"$ROOT/build/demo-scan.txt"
cut -c1-100 "$ROOT/build/demo-scan.txt" | head -n 5
key=$(head -n 1 "$ROOT/build/demo-scan.txt" | cut -f1)
if [[ -n $key ]]; then
    run "$BIN" get "$STORE" "$key" | cut -c1-100
fi
rc=0
run "$BIN" get "$STORE" 'no such key' || rc=$?
echo "   (exit status $rc for a missing key)"

say "Done: the store is in ./demo-store; try: build/mpicompact stat demo-store --json"
