#!/usr/bin/env bash
# Compaction throughput, side by side in one run on one generated store:
# mpicompact `compact` at several rank counts, `compact --single` (the
# single-compactor baseline: one compaction in flight in the whole job),
# `compact --full` at the top rank count, and RocksDB (C API, bench/rocksdb_peer)
# compacting the same logical data with one thread and with 3 subcompactions.
#
#   bash bench/compact_scaling.sh [--size-mb N] [--ranks "1 2 4"] [--out DIR]
#        [--segment-size SIZE] [--items N] [--build DIR] [--work DIR] [--keep]
#
# Every mpicompact run compacts its own copy of the generated store and must
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
usage() {
    echo "usage: $0 [--size-mb N] [--ranks \"1 2 4\"] [--out DIR] [--segment-size SIZE] [--items N]" >&2
    echo "          [--build DIR] [--work DIR] [--keep]" >&2
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
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
done
[[ "$size_mb" =~ ^[1-9][0-9]*$ && "$items" =~ ^[1-9][0-9]*$ ]] || usage
for np in $ranks; do [[ "$np" =~ ^[1-9][0-9]*$ ]] || usage; done
top_np=$(printf '%s\n' $ranks | sort -n | tail -1)
[ -n "$top_np" ] || usage
t_bench0=$(date +%s.%N)
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# Build what we run (incremental; configures the build dir if it is new).
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$build" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target mpicompact >/dev/null
bin="$build/mpicompact"
peer=""
if grep -q '^MC_ROCKSDB_LIBRARY:FILEPATH=.*rocksdb' "$build/CMakeCache.txt" 2>/dev/null; then
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
out=$(cd "$out" && pwd)
work=$(mktemp -d "$work_parent/mc-bench.XXXXXX")
if [ "$keep" = 1 ]; then trap 'log "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
mkdir "$work/rep"

# 16-byte keys, 100-byte values: 116 logical bytes an item.
segments=$(( (size_mb * 1000000 + items * 116 - 1) / (items * 116) ))
ncpu=$(nproc)
log "generating ~${size_mb} MB: $segments level-0 segments of $items items, segment size $segsize, on $ncpu ranks"
run 1 init "$work/base" --segment-size "$segsize" --fanout 10 --l0-limit 4 2>/dev/null >/dev/null
run "$ncpu" gen "$work/base" --segments "$segments" --items "$items" \
    --key-size 16 --value-size 100 --overwrite 0.1 --delete 0.02 --seed 42 2>/dev/null >/dev/null
run "$ncpu" stat "$work/base" --json > "$work/rep/base.stat.json" 2>/dev/null
digest0=$(run "$ncpu" digest "$work/base" 2>/dev/null)
log "store digest $digest0"

# One mpicompact contender: NAME NP ARGS...
runs=()
bench_compact() {
    local name=$1 np=$2; shift 2
    rm -rf "$work/run"
    cp -a "$work/base" "$work/run"
    drop_caches
    log "$name: compact on $np rank(s) $*"
    local t0 t1 rc=0
    t0=$(now)
    run "$np" compact "$work/run" --progress none --report "$work/rep/$name.json" "$@" >&2 || rc=$?
    t1=$(now)
    [ "$rc" = 0 ] || { log "$name: compact exited $rc"; exit 1; }
    local d
    d=$(run "$ncpu" digest "$work/run" 2>/dev/null)
    [ "$d" = "$digest0" ] || { log "$name: digest changed: $d != $digest0"; exit 1; }
    run "$ncpu" stat "$work/run" --json > "$work/rep/$name.stat.json" 2>/dev/null
    printf '{"name": "%s", "ranks": %d, "args": "%s", "external_seconds": %s}\n' \
        "$name" "$np" "$*" "$(elapsed "$t0" "$t1")" > "$work/rep/$name.meta.json"
    runs+=("$name")
}

bench_compact "single-n$top_np" "$top_np" --single
for np in $ranks; do bench_compact "compact-n$np" "$np"; done
bench_compact "full-n$top_np" "$top_np" --full
rm -rf "$work/run"

if [ -n "$peer" ]; then
    target=$(run 1 stat "$work/base" --json 2>/dev/null |
             /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["params"]["segment_size"])')
    drop_caches
    log "rocksdb: load one L0 file per segment"
    "$peer" load "$work/base" "$work/db" > "$work/rep/rocksdb-load.json"
    cp -a "$work/db" "$work/db3"
    for sub in 1 3; do
        db="$work/db"; [ "$sub" = 3 ] && db="$work/db3"
        drop_caches
        log "rocksdb: full manual compaction, $sub subcompaction(s)"
        "$peer" compact "$db" --subcompactions "$sub" --target-file-size "$target" \
            > "$work/rep/rocksdb-sub$sub.json"
        d=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' \
            "$work/rep/rocksdb-sub$sub.json")
        [ "$d" = "$digest0" ] || { log "rocksdb sub$sub: digest $d != $digest0"; exit 1; }
        rm -rf "$db"
    done
fi

# Machine and versions.
hdf5_ver=$(dpkg-query -W -f '${Version}' libhdf5-openmpi-dev 2>/dev/null || echo unknown)
mpi_ver=$(mpirun --version 2>/dev/null | head -1 || echo unknown)
mc_ver=$("$bin" --version 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' || echo unknown)
fs=$(df -PT "$work" | awk 'NR==2 {print $2}')

/usr/bin/python3 - "$work/rep" "$out" "$work/plot.dat" "$t_bench0" "$dropped" "$top_np" \
    "$size_mb" "$segments" "$items" "$segsize" "$ncpu" "$hdf5_ver" "$mpi_ver" "$mc_ver" "$cpu" "$fs" \
    "$digest0" "${runs[@]}" <<'PY'
import json, os, platform, sys, time
(rep, out, plotdat, t0, dropped, top_np, size_mb, segments, items, segsize, ncpu,
 hdf5_ver, mpi_ver, mc_ver, cpu, fs, digest) = sys.argv[1:18]
names = sys.argv[18:]
load = lambda n: json.load(open(os.path.join(rep, n)))
def stat_clean(s):
    s = dict(s); s.pop("store", None); return s
base = stat_clean(load("base.stat.json"))
logical = base["totals"]["bytes"]

def levels(stat):
    segs = [l["segments"] for l in stat["levels"]]
    while len(segs) > 1 and segs[-1] == 0:
        segs.pop()
    return "/".join(map(str, segs))

rows = []   # name, label, ranks, wall, read bytes, write amp, levels, raw
for n in names:
    r, meta, st = load(n + ".json"), load(n + ".meta.json"), stat_clean(load(n + ".stat.json"))
    label = {"single": "compact --single", "compact": "compact", "full": "compact --full"}[n.split("-")[0]]
    rows.append(dict(name=n, label=label, ranks=meta["ranks"], wall=r["wall_seconds"],
                     read=r["bytes_read"], wamp=r["write_amplification"], levels=levels(st),
                     cpu=sum(w["busy_seconds"] for w in r["workers"]),
                     raw={"report": r, "stat_after": st, "args": meta["args"],
                          "external_seconds": meta["external_seconds"]}))
rocks = {}
for sub in (1, 3):
    p = os.path.join(rep, f"rocksdb-sub{sub}.json")
    if os.path.exists(p):
        r = load(f"rocksdb-sub{sub}.json")
        rocks[sub] = r
        lv = [x for x in r["files_after"]]
        while len(lv) > 1 and lv[-1] == 0:
            lv.pop()
        rows.append(dict(name=f"rocksdb-sub{sub}",
                         label=f"rocksdb {sub} subcompaction" + ("s" if sub > 1 else ""),
                         ranks=None, wall=r["seconds"], read=logical,
                         wamp=r["live_bytes"] / logical, levels="/".join(map(str, lv)) + " files",
                         cpu=r["cpu_seconds"], raw=r))
rload = load("rocksdb-load.json") if os.path.exists(os.path.join(rep, "rocksdb-load.json")) else None

by = {r["name"]: r for r in rows}
single = by[f"single-n{top_np}"]["wall"]
rref = rocks[3]["seconds"] if 3 in rocks else None
r1 = rocks[1]["seconds"] if 1 in rocks else None
for r in rows:
    r["mbps"] = logical / 1e6 / r["wall"]
    r["vs_single"] = single / r["wall"]
    r["vs_rocksdb"] = rref / r["wall"] if rref else None
    r["vs_rocksdb1"] = r1 / r["wall"] if r1 else None

fmt = lambda v, f: (f % v) if v is not None else "-"
hdr = (f"{'run':27} {'ranks':>5} {'wall s':>8} {'MB/s':>7} {'x single':>8} {'x rdb-3':>8} {'x rdb-1':>8}"
       f" {'read MB':>8} {'w-amp':>6} {'busy/cpu s':>10}  levels after")
print(f"\nstore: {logical/1e6:.1f} MB logical ({base['totals']['items']} items, {base['totals']['segments']} "
      f"level-0 segments, {segsize} segments, fanout 10, l0-limit 4); {ncpu} cores; "
      f"page cache dropped before each timed phase: {dropped}")
print(hdr)
print("-" * len(hdr))
for r in rows:
    print(f"{r['label']:27} {fmt(r['ranks'], '%d'):>5} {r['wall']:8.2f} {r['mbps']:7.1f} {r['vs_single']:7.2f}x "
          f"{fmt(r['vs_rocksdb'], '%7.2fx'):>8} {fmt(r['vs_rocksdb1'], '%7.2fx'):>8} {r['read']/1e6:8.1f} "
          f"{r['wamp']:6.2f} {r['cpu']:10.2f}  {r['levels']}")
if rload:
    print(f"{'(rocksdb load, not compared)':27} {'':>5} {rload['seconds']:8.2f} "
          f"{rload['logical_bytes']/1e6/rload['seconds']:7.1f}   {rload['segments']} L0 files from "
          f"{rload['segments']} segments")
print("""
MB/s = the store's logical (key+value) bytes / wall s, the same numerator for every run, so every
ratio is a ratio of wall times (x single: vs compact --single; x rdb-3 / x rdb-1: vs RocksDB with
3 subcompactions / 1 thread). mpicompact wall = the report's wall_seconds (first pick to end; MPI
start-up, lock and orphan scan excluded); RocksDB wall = rocksdb_compact_range only (open excluded).
read MB = logical bytes merged (mpicompact: bytes_read, moves read nothing; RocksDB: all input).
w-amp = bytes written / store bytes. busy/cpu s = sum of per-rank busy seconds (mpicompact) or
process CPU seconds (RocksDB). RocksDB's result is ONE sorted run (no deletes left), like
compact --full; plain compact only brings each level within its limit, so compare RocksDB with
compact --full, and compact with compact --single.""")
for r in rows:
    if r["name"].startswith("rocksdb"):
        continue
    rep_ = r["raw"]["report"]
    busy = " ".join(f"r{w['rank']}:{w['busy_seconds']:.1f}s/{w['compactions']}" for w in rep_["workers"])
    print(f"  {r['name']:14} per-rank busy/compactions {busy}; coordinator {rep_['coordinator_busy_seconds']:.2f}s;"
          f" compactions {rep_['compactions_done']}, moved {rep_['moved']}, commits {rep_['commits']}")

doc = {
    "bench": "compact_scaling",
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "bench_wall_seconds": time.time() - float(t0),
    "params": {"size_mb": int(size_mb), "segments": int(segments), "items_per_segment": int(items),
               "segment_size": segsize, "key_size": 16, "value_size": 100, "overwrite": 0.1,
               "delete": 0.02, "fanout": 10, "l0_limit": 4, "seed": 42, "top_ranks": int(top_np)},
    "machine": {"nproc": int(ncpu), "cpu": cpu, "kernel": platform.release(), "filesystem": fs,
                "page_cache_dropped": dropped == "true",
                "versions": {"mpicompact": mc_ver, "open_mpi": mpi_ver, "hdf5": hdf5_ver,
                             "rocksdb": rload["rocksdb_version"] if rload else None}},
    "store": base, "digest": digest,
    "reference": {"single": f"single-n{top_np}", "rocksdb": "rocksdb-sub3" if rref else None},
    "notes": ["ratios are ratios of wall times within this one run on this one store",
              "RocksDB's result is a single sorted run, like compact --full; compact (default) only "
              "brings levels within their limits"],
    "runs": [{k: v for k, v in r.items() if k not in ("raw",)} | {"raw": r["raw"]} for r in rows],
    "rocksdb_load": rload,
}
with open(os.path.join(out, "scaling.json.tmp"), "w") as f:
    json.dump(doc, f, indent=2)
os.replace(os.path.join(out, "scaling.json.tmp"), os.path.join(out, "scaling.json"))
with open(plotdat, "w") as f:
    for i, r in enumerate(rows):
        f.write(f'{i} "{r["label"]}{" n" + str(r["ranks"]) if r["ranks"] else ""}" {r["mbps"]:.2f}\n')
PY
if command -v gnuplot >/dev/null; then
    gnuplot <<GP || log "gnuplot failed: no plot"
set terminal png size 900,480
set output "$out/scaling.png"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set ylabel "MB/s (store's logical bytes / wall s)"
set title "compaction of one ${size_mb} MB store, side by side ($(nproc) cores)"
set xtics rotate by -30
set bmargin 6
plot "$work/plot.dat" using 1:3:xtic(2) with boxes notitle, \
     "" using 1:3:(sprintf("%.0f", \$3)) with labels offset 0,0.7 notitle
GP
fi
t_bench1=$(now)
log "wrote $out/scaling.json$( [ -f "$out/scaling.png" ] && echo " and $out/scaling.png")"
log "whole bench: $(elapsed "$t_bench0" "$t_bench1") s"
