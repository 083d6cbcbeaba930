#!/usr/bin/env bash
# Compaction throughput, side by side in one run on one generated store:
# mpicompact `compact` at several rank counts, `compact --single` (the
# single-compactor baseline: one compaction in flight in the whole job),
# `compact --full` at the top rank count, and RocksDB (C API, bench/rocksdb_peer)
# compacting the same logical data with one thread and with 3 subcompactions.
#
#   bash bench/compact_scaling.sh [--size-mb N] [--ranks "1 2 4"] [--out DIR]
#        [--repeat N] [--segment-size SIZE] [--items N] [--build DIR] [--work DIR] [--keep]
#
# Each contender runs --repeat times (default 3), in interleaved rounds; the
# table shows medians. Every mpicompact run compacts its own copy of the generated store and must
# leave its digest unchanged; RocksDB's result must have the same digest too.
# The page cache is dropped (sync first) right before every timed phase when
# /proc/sys/vm/drop_caches is writable. Prints a table; writes
# DIR/scaling.json (raw reports, ratios, machine) and DIR/scaling.png (gnuplot).
# See bench/README.md for what is measured and the caveats.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
size_mb=1100
ranks="1 2 4"
out="$here/bench/results"
segsize=16M
items=150000
build="$here/build"
work_parent="${TMPDIR:-/tmp}"
keep=0
repeat=3
usage() {
    echo "usage: $0 [--size-mb N] [--ranks \"1 2 4\"] [--out DIR] [--segment-size SIZE] [--items N]" >&2
    echo "          [--repeat N] [--build DIR] [--work DIR] [--keep]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --size-mb) size_mb=${2:?}; shift 2 ;;
    --ranks) ranks=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --segment-size) segsize=${2:?}; shift 2 ;;
    --items) items=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --work) work_parent=${2:?}; shift 2 ;;
    --repeat) repeat=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
done
[[ "$size_mb" =~ ^[1-9][0-9]*$ && "$items" =~ ^[1-9][0-9]*$ && "$repeat" =~ ^[1-9][0-9]*$ ]] || usage
for np in $ranks; do [[ "$np" =~ ^[1-9][0-9]*$ ]] || usage; done
ranks=$(printf '%s\n' $ranks | sort -nu | tr '\n' ' ')
top_np=$(printf '%s\n' $ranks | tail -1)
[ -n "$top_np" ] || usage
# 16-byte keys, 100-byte values: 116 logical bytes an item.
segments=$(( (size_mb * 1000000 + items * 116 - 1) / (items * 116) ))
if [ "$segments" -le 4 ]; then
    echo "$0: --size-mb $size_mb gives $segments segments: at least 5 are needed (level-0 limit 4)" >&2
    exit 2
fi
t_bench0=$(date +%s.%N)
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# Build what we run (incremental; configures the build dir if it is new).
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$build" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target mpicompact >/dev/null
bin="$build/mpicompact"
peer=""
targets=$(cmake --build "$build" --target help 2>/dev/null || true)
if grep -qw rocksdb_peer <<<"$targets"; then
    cmake --build "$build" -j"$(nproc)" --target rocksdb_peer >/dev/null
    peer="$build/bench/rocksdb_peer"
else
    log "RocksDB not found by CMake (install librocksdb-dev and reconfigure): RocksDB runs skipped"
fi
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing gnuplot-nox for the plot"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
        log "gnuplot-nox could not be installed: no plot"
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE
run() { local np=$1; shift; mpirun -n "$np" --oversubscribe --bind-to none "$bin" "$@"; }
dropped=false
drop_caches() {
    sync
    if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; dropped=true; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

mkdir -p "$out"
rm -f "$out/scaling.png"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$work_parent/mc-bench.XXXXXX")
if [ "$keep" = 1 ]; then trap 'log "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
mkdir "$work/rep"

ncpu=$(nproc)
log "generating ~${size_mb} MB: $segments level-0 segments of $items items, segment size $segsize, on $ncpu ranks"
run 1 init "$work/base" --segment-size "$segsize" --fanout 10 --l0-limit 4 2>/dev/null >/dev/null
run "$ncpu" gen "$work/base" --segments "$segments" --items "$items" \
    --key-size 16 --value-size 100 --overwrite 0.1 --delete 0.02 --seed 42 2>/dev/null >/dev/null
run "$ncpu" stat "$work/base" --json > "$work/rep/base.stat.json" 2>/dev/null
digest0=$(run "$ncpu" digest "$work/base" 2>/dev/null)
log "store digest $digest0"

# One timed mpicompact run: NAME ROUND NP ARGS... (its own copy of the store).
bench_compact() {
    local name=$1 round=$2 np=$3; shift 3
    local tag="$name.r$round"
    rm -rf "$work/run"
    cp -a "$work/base" "$work/run"
    drop_caches
    log "round $round: $name: compact on $np rank(s) $*"
    local t0 t1 rc=0
    t0=$(now)
    run "$np" compact "$work/run" --progress none --report "$work/rep/$tag.json" "$@" >&2 || rc=$?
    t1=$(now)
    [ "$rc" = 0 ] || { log "$name: compact exited $rc"; exit 1; }
    local d
    d=$(run "$ncpu" digest "$work/run" 2>/dev/null)
    [ "$d" = "$digest0" ] || { log "$name: digest changed: $d != $digest0"; exit 1; }
    run "$ncpu" stat "$work/run" --json > "$work/rep/$tag.stat.json" 2>/dev/null
    printf '{"name": "%s", "round": %d, "ranks": %d, "args": "%s", "external_seconds": %s}\n' \
        "$name" "$round" "$np" "$*" "$(elapsed "$t0" "$t1")" > "$work/rep/$tag.meta.json"
    rm -rf "$work/run"
}
# One timed RocksDB full compaction: SUBCOMPACTIONS ROUND (a copy of the loaded DB).
bench_rocksdb() {
    local sub=$1 round=$2
    local tag="rocksdb-sub$sub.r$round"
    rm -rf "$work/dbrun"
    cp -a "$work/db" "$work/dbrun"
    drop_caches
    log "round $round: rocksdb: full manual compaction, $sub subcompaction(s)"
    "$peer" compact "$work/dbrun" --subcompactions "$sub" --target-file-size "$target" > "$work/rep/$tag.json"
    local d
    d=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$work/rep/$tag.json")
    [ "$d" = "$digest0" ] || { log "rocksdb sub$sub: digest $d != $digest0"; exit 1; }
    rm -rf "$work/dbrun"
}

if [ -n "$peer" ]; then
    target=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["params"]["segment_size"])' \
             "$work/rep/base.stat.json")
    drop_caches
    log "rocksdb: load one L0 file per segment (timed, not compared)"
    "$peer" load "$work/base" "$work/db" > "$work/rep/rocksdb-load.json"
fi
# Rounds: every contender once per round, so that drift of the (shared,
# virtual) disk hits all of them alike; the table takes each one's median.
runs=("single-n$top_np")
for np in $ranks; do runs+=("compact-n$np"); done
runs+=("full-n$top_np")
for round in $(seq "$repeat"); do
    bench_compact "single-n$top_np" "$round" "$top_np" --single
    for np in $ranks; do bench_compact "compact-n$np" "$round" "$np"; done
    bench_compact "full-n$top_np" "$round" "$top_np" --full
    if [ -n "$peer" ]; then
        bench_rocksdb 1 "$round"
        bench_rocksdb 3 "$round"
    fi
done
rm -rf "$work/db"

# Machine and versions.
hdf5_ver=$(dpkg-query -W -f '${Version}' libhdf5-openmpi-dev 2>/dev/null || echo unknown)
mpi_ver=$(mpirun --version 2>/dev/null | head -1 || echo unknown)
mc_ver=$("$bin" --version 2>/dev/null || echo unknown)
if src=$(git -C "$here" rev-parse --short HEAD 2>/dev/null); then
    [ -z "$(git -C "$here" status --porcelain --untracked-files=no 2>/dev/null)" ] || src="$src+local changes"
    mc_ver="$mc_ver ($src)"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' || echo unknown)
fs=$(df -PT "$work" | awk 'NR==2 {print $2}')

/usr/bin/python3 "$here/bench/scaling_report.py" --rep "$work/rep" --out "$out" --plot "$work/plot.dat" \
    --started "$t_bench0" --dropped "$dropped" --top "$top_np" --size-mb "$size_mb" --segments "$segments" \
    --items "$items" --segment-size "$segsize" --nproc "$ncpu" --repeat "$repeat" --hdf5 "$hdf5_ver" \
    --mpi "$mpi_ver" --mpicompact "$mc_ver" --cpu "$cpu" --fs "$fs" --digest "$digest0" "${runs[@]}"
if command -v gnuplot >/dev/null; then
    gnuplot <<GP || log "gnuplot failed: no plot"
set terminal png size 900,480
set output "$out/scaling.png"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set ylabel "MB/s (store's logical bytes / wall s)"
set title "compaction of one ${size_mb} MB store, side by side ($(nproc) cores, median of $repeat)"
set xtics rotate by -30
set bmargin 6
set rmargin 6
set key left top
plot "$work/plot.dat" using 1:3:xtic(2) with boxes notitle, \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 title "min-max of the rounds", \
     "" using 1:3:(sprintf("%.0f", \$3)) with labels offset 1.8,0.6 notitle
GP
fi
t_bench1=$(now)
log "wrote $out/scaling.json$( [ -f "$out/scaling.png" ] && echo " and $out/scaling.png")"
log "whole bench: $(elapsed "$t_bench0" "$t_bench1") s"
