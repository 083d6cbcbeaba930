#!/usr/bin/env bash
# Compaction throughput, side by side in one run on one generated store:
# mpicompact `compact --full` at each rank count, `compact --full --single`
# (the single-compactor baseline: one compaction in flight in the whole job)
# at each rank count above 1, plain `compact` at the top rank count, and RocksDB (C API,
# bench/rocksdb_peer) compacting the same logical data with one thread and
# with 3 subcompactions; plus the machine's limits measured in the same run
# (disk sequential write with fsync and read after dropping caches, memcpy)
# and the merge kernel alone (bench/merge_kernel).
#
#   bash bench/compact_scaling.sh [--shape issue|classic] [--size-mb N] [--ranks "1 2 4"] [--out DIR]
#        [--repeat N] [--segment-size SIZE] [--items N] [--build DIR] [--work DIR] [--keep]
#
# Each contender runs --repeat times (default 3), in interleaved rounds; the
# table shows medians. Every mpicompact run compacts its own copy of the generated store and must
# leave its digest unchanged; RocksDB's result must have the same digest too.
# The page cache is dropped (sync first) right before every timed phase when
# /proc/sys/vm/drop_caches is writable. Prints a table; writes
# DIR/scaling.json (raw reports, ratios, machine), DIR/scaling.md (the table
# in Markdown) and DIR/scaling.png (gnuplot).
# See bench/README.md for what is measured and the caveats.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shape=issue
size_mb=""
ranks="1 2 4"
out="$here/bench/results"
segsize=""
items=""
build="$here/build"
work_parent="${TMPDIR:-/tmp}"
keep=0
repeat=3
usage() {
    echo "usage: $0 [--shape issue|classic] [--size-mb N] [--ranks \"1 2 4\"] [--out DIR] [--segment-size SIZE]" >&2
    echo "          [--items N] [--repeat N] [--build DIR] [--work DIR] [--keep]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --shape) shape=${2:?}; shift 2 ;;
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
# Shapes. issue: the store of issue 7 (init defaults; 220 segments of 40000
# items, --overwrite 0.2 --delete 0.05 --seed 5: about 1 GB logical).
# classic: this benchmark's first store (16M segments of 150000 items,
# fanout 10, level-0 limit 4, --overwrite 0.1 --delete 0.02 --seed 42).
case "$shape" in
issue) def_items=40000; def_segments=220; overwrite=0.2; delete=0.05; seed=5; init_args=() ;;
classic) def_items=150000; def_segments=""; overwrite=0.1; delete=0.02; seed=42
         init_args=(--segment-size 16M --fanout 10 --l0-limit 4); [ -n "$size_mb" ] || size_mb=1100 ;;
*) usage ;;
esac
[ -n "$items" ] || items=$def_items
[ -z "$segsize" ] || init_args+=(--segment-size "$segsize")
[[ "$items" =~ ^[1-9][0-9]*$ && "$repeat" =~ ^[1-9][0-9]*$ ]] || usage
[ -z "$size_mb" ] || [[ "$size_mb" =~ ^[1-9][0-9]*$ ]] || usage
for np in $ranks; do [[ "$np" =~ ^[1-9][0-9]*$ ]] || usage; done
ranks=$(printf '%s\n' $ranks | sort -nu | tr '\n' ' ')
top_np=$(printf '%s\n' $ranks | tail -1)
low_np=$(printf '%s\n' $ranks | head -1)
[ -n "$top_np" ] || usage
# 16-byte keys, 100-byte values: 116 logical bytes an item.
if [ -n "$size_mb" ]; then
    segments=$(( (size_mb * 1000000 + items * 116 - 1) / (items * 116) ))
else
    segments=$def_segments
    size_mb=$(( segments * items * 116 / 1000000 ))
fi
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
cmake --build "$build" -j"$(nproc)" --target mpicompact merge_kernel memcpy_bw >/dev/null
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
# The same with each rank under /usr/bin/time: peak RSS (KB), user and
# system CPU seconds per rank into $rss_prefix.<rank>.
run_rss() {
    local np=$1; shift
    mpirun -n "$np" --oversubscribe --bind-to none /bin/sh -c \
        'exec /usr/bin/time -f "%M %U %S" -o "$0.${OMPI_COMM_WORLD_RANK:-0}" "$@"' "$rss_prefix" "$bin" "$@"
}
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
log "shape $shape: generating ~${size_mb} MB: $segments level-0 segments of $items items on $ncpu ranks"
run 1 init "$work/base" "${init_args[@]}" 2>/dev/null >/dev/null
run "$ncpu" gen "$work/base" --segments "$segments" --items "$items" \
    --key-size 16 --value-size 100 --overwrite "$overwrite" --delete "$delete" --seed "$seed" 2>/dev/null >/dev/null
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
    rss_prefix="$work/rep/$tag.rss"
    t0=$(now)
    run_rss "$np" compact "$work/run" --progress none --report "$work/rep/$tag.json" "$@" >&2 || rc=$?
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

# The machine's limits, in this run: sequential write of the store's size
# (at most 1 GB) with fsync, the same read back after dropping the cache,
# one thread's memcpy, and the merge kernel alone (64 in-memory inputs of
# 16-byte keys).
lim_mb=$(( size_mb < 1000 ? size_mb : 1000 ))
log "machine limits: dd $lim_mb MB write+fsync and read, memcpy, merge kernel"
drop_caches
t0=$(now); dd if=/dev/zero of="$work/dd" bs=1M count="$lim_mb" conv=fsync status=none; t1=$(now)
dd_write=$(elapsed "$t0" "$t1")
drop_caches
t0=$(now); dd if="$work/dd" of=/dev/null bs=1M status=none; t1=$(now)
dd_read=$(elapsed "$t0" "$t1")
rm -f "$work/dd"
printf '{"dd_mb": %d, "write_fsync_seconds": %s, "read_seconds": %s, "memcpy": %s, "merge_kernel": %s}\n' \
    "$lim_mb" "$dd_write" "$dd_read" "$("$build/bench/memcpy_bw" 256)" \
    "$("$build/bench/merge_kernel" --inputs 64 --items 4000000 --key-size 16 --overwrite 0.2 --repeat 3)" \
    > "$work/rep/limits.json"

if [ -n "$peer" ]; then
    target=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["params"]["segment_size"])' \
             "$work/rep/base.stat.json")
    drop_caches
    log "rocksdb: load one L0 file per segment (timed, not compared)"
    "$peer" load "$work/base" "$work/db" > "$work/rep/rocksdb-load.json"
fi
# Rounds: every contender once per round, so that drift of the (shared,
# virtual) disk hits all of them alike; the table takes each one's median.
# The single-compactor baseline at every rank count above 1 (at the top one
# when there is none), so that N ranks compare with --single at N ranks.
singles=()
for np in $ranks; do [ "$np" -gt 1 ] && singles+=("$np"); done
[ ${#singles[@]} -gt 0 ] || singles=("$top_np")
runs=()
for np in $ranks; do runs+=("full-n$np"); done
for np in "${singles[@]}"; do runs+=("single-n$np"); done
runs+=("compact-n$top_np")
for round in $(seq "$repeat"); do
    for np in $ranks; do bench_compact "full-n$np" "$round" "$np" --full; done
    for np in "${singles[@]}"; do bench_compact "single-n$np" "$round" "$np" --full --single; done
    bench_compact "compact-n$top_np" "$round" "$top_np"
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
    --started "$t_bench0" --dropped "$dropped" --top "$top_np" --low "$low_np" --size-mb "$size_mb" \
    --segments "$segments" --items "$items" --segment-size "${segsize:-init default}" --shape "$shape" \
    --overwrite "$overwrite" --delete "$delete" --seed "$seed" --nproc "$ncpu" --repeat "$repeat" --hdf5 "$hdf5_ver" \
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
log "wrote $out/scaling.json, $out/scaling.md$( [ -f "$out/scaling.png" ] && echo " and $out/scaling.png")"
log "whole bench: $(elapsed "$t_bench0" "$t_bench1") s"
