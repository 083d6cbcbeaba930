#!/usr/bin/env bash
# Compaction throughput of one store at several rank counts, side by side in
# one run, against the single-compactor baseline (compact --single: one
# compaction in flight in the whole job, scoutfs before the change).
#
#   bash bench/compact_scaling.sh [--size-mb N] [--ranks "1 2 4"] [--out DIR]
#
# Every run compacts its own copy of the same generated store; page cache is
# dropped (sync first) before each timed run when we are root, so all runs
# start from the same condition. Prints a table and the ratios, writes
# DIR/scaling.json and, when gnuplot is installed, DIR/scaling.png.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
size_mb=1100
ranks="1 2 4"
out="$here/bench/results"
segsize=16M
while [ $# -gt 0 ]; do
    case "$1" in
    --size-mb) size_mb=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --segment-size) segsize=$2; shift 2 ;;
    *) echo "usage: $0 [--size-mb N] [--ranks \"1 2 4\"] [--segment-size SIZE] [--out DIR]" >&2; exit 2 ;;
    esac
done
bin="$here/build/mpicompact"
[ -x "$bin" ] || { echo "build first: bash scripts/setup.sh" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE
run() { local np=$1; shift; mpirun -n "$np" --oversubscribe --bind-to none "$bin" "$@"; }
drop_caches() {
    sync
    if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/mc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 16-byte keys, 100-byte values: 116 logical bytes an item.
items=150000
segments=$(( (size_mb * 1000000 + items * 116 - 1) / (items * 116) ))
echo "generating ~${size_mb} MB: $segments level-0 segments of $items items, segment size $segsize" >&2
run 2 init "$work/base" --segment-size "$segsize" --fanout 10 --l0-limit 4 >/dev/null
run 2 gen "$work/base" --segments "$segments" --items "$items" --overwrite 0.1 --delete 0.02 --seed 42 >/dev/null
digest0=$(run 1 digest "$work/base")

results=()
bench_one() {   # name np args...
    local name=$1 np=$2; shift 2
    rm -rf "$work/run"
    cp -a "$work/base" "$work/run"
    drop_caches
    run "$np" compact "$work/run" --progress none --report "$work/$name.json" "$@" >&2
    local d; d=$(run 1 digest "$work/run")
    [ "$d" = "$digest0" ] || { echo "digest changed in run $name" >&2; exit 1; }
    results+=("$name")
}
bench_one single 2 --single
for np in $ranks; do bench_one "n$np" "$np"; done

/usr/bin/python3 - "$work" "$out" "$size_mb" "${results[@]}" <<'PY'
import json, sys, os
work, out, size_mb, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = []
for n in names:
    r = json.load(open(os.path.join(work, n + ".json")))
    rows.append((n, r))
base = dict(rows)["single"]["mb_per_s"]
print(f"{'run':8} {'wall s':>8} {'MB/s':>8} {'vs single':>10} {'compactions':>12} {'write amp':>10}")
for n, r in rows:
    print(f"{n:8} {r['wall_seconds']:8.2f} {r['mb_per_s']:8.1f} {r['mb_per_s']/base:9.2f}x "
          f"{r['compactions_done']:12d} {r['write_amplification']:10.2f}")
doc = {"store_mb": int(size_mb), "runs": {n: r for n, r in rows},
       "ratio_vs_single": {n: r["mb_per_s"] / base for n, r in rows}}
with open(os.path.join(out, "scaling.json"), "w") as f:
    json.dump(doc, f, indent=2)
with open(os.path.join(work, "plot.dat"), "w") as f:
    for i, (n, r) in enumerate(rows):
        f.write(f"{i} {n} {r['mb_per_s']}\n")
PY
if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal png size 640,400
set output "$out/scaling.png"
set style fill solid 0.6
set boxwidth 0.6
set ylabel "MB/s (logical bytes compacted)"
set title "mpicompact compact throughput, ${size_mb} MB store"
plot "$work/plot.dat" using 1:3:xtic(2) with boxes notitle
GP
fi
echo "wrote $out/scaling.json" >&2
