#!/usr/bin/env bash
# Peak memory of `compact --full` over many level-0 segments: the peak RSS
# of every rank (/usr/bin/time %M) for a store of --segments level-0
# segments, once per `init --segment-size` in --sizes and per rank count in
# --ranks, and the ratio of the largest size's peak to the smallest's (the
# issue-7 goal: at most 512 MiB per rank over 1,000 segments, 16 MiB and
# 256 MiB segment sizes within 10% of each other).
#
#   bash bench/memory.sh [--segments N] [--items N] [--sizes "16M 256M"] [--ranks "1 2"]
#        [--build DIR] [--work DIR] [--keep]
#
# The level-0 segments are small in bytes (--items items of 16-byte keys and
# 100-byte values each: about 0.23 MB at the default 2000) so that 1,000 of
# them fit anywhere; a merge's memory depends on how many inputs it holds
# open, not on their bytes (docs/COMPACTION.md, "The width of one merge"),
# and the segment size chosen at init sets the size of the outputs. Every
# run compacts its own copy of the store and must leave its digest
# unchanged. The store lives in /dev/shm when it has room (else --work or
# $TMPDIR). See bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
segments=1000
items=2000
sizes="16M 256M"
ranks="1 2"
build="$here/build"
work_parent=""
keep=0
usage() {
    echo "usage: $0 [--segments N] [--items N] [--sizes \"16M 256M\"] [--ranks \"1 2\"] [--build DIR] [--work DIR] [--keep]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --segments) segments=${2:?}; shift 2 ;;
    --items) items=${2:?}; shift 2 ;;
    --sizes) sizes=${2:?}; shift 2 ;;
    --ranks) ranks=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --work) work_parent=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
done
[[ "$segments" =~ ^[1-9][0-9]*$ && "$items" =~ ^[1-9][0-9]*$ ]] || usage
for np in $ranks; do [[ "$np" =~ ^[1-9][0-9]*$ ]] || usage; done
log() { echo "[memory $(date +%H:%M:%S)] $*" >&2; }

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$build" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target mpicompact >/dev/null
bin="$build/mpicompact"

if [ -z "$work_parent" ]; then
    work_parent="${TMPDIR:-/tmp}"
    need_kb=$(( segments * items * 200 / 1024 * 3 + 1024 * 1024 ))
    if [ -d /dev/shm ] && [ -w /dev/shm ] &&
       (( $(df -Pk /dev/shm | awk 'NR==2 {print $4}') > need_kb )); then
        work_parent=/dev/shm
    fi
fi
work=$(mktemp -d "$work_parent/mc-memory.XXXXXX")
if [ "$keep" = 1 ]; then trap 'log "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 HDF5_USE_FILE_LOCKING=FALSE
ncpu=$(nproc)
run() { local np=$1; shift; mpirun -n "$np" --oversubscribe --bind-to none "$bin" "$@"; }
# Each rank under /usr/bin/time: peak RSS in KB into $1.<rank>.
run_rss() {
    local prefix=$1 np=$2; shift 2
    mpirun -n "$np" --oversubscribe --bind-to none /bin/sh -c \
        'exec /usr/bin/time -f "%M %e" -o "$0.${OMPI_COMM_WORLD_RANK:-0}" "$@"' "$prefix" "$bin" "$@"
}

printf '%-6s %5s %8s %9s %-28s\n' size ranks wall_s max_MiB "peak RSS per rank (MiB)"
declare -A peak
for size in $sizes; do
    base="$work/base.$size"
    run 1 init "$base" --segment-size "$size" >/dev/null 2>&1
    log "$size: generating $segments level-0 segments of $items items"
    run "$ncpu" gen "$base" --segments "$segments" --items "$items" --key-size 16 --value-size 100 \
        --overwrite 0.2 --delete 0.05 --seed 7 >/dev/null 2>&1
    digest0=$(run "$ncpu" digest "$base" 2>/dev/null)
    for np in $ranks; do
        rm -rf "$work/run"
        cp -a "$base" "$work/run"
        log "$size: compact --full on $np rank(s)"
        rm -f "$work/rss."*
        run_rss "$work/rss" "$np" compact "$work/run" --full --progress none >/dev/null
        d=$(run "$ncpu" digest "$work/run" 2>/dev/null)
        [ "$d" = "$digest0" ] || { log "digest changed after compact --full: $d != $digest0"; exit 1; }
        per="" max=0 wall=0
        for ((r = 0; r < np; r++)); do
            read -r kb secs < <(tail -1 "$work/rss.$r")
            mib=$(( (kb + 512) / 1024 ))
            per+="$mib "
            (( mib > max )) && max=$mib
            wall=$secs
        done
        peak[$size.$np]=$max
        printf '%-6s %5d %8s %9d %-28s\n' "$size" "$np" "$wall" "$max" "$per"
    done
    rm -rf "$base"
done
first=${sizes%% *}
last=${sizes##* }
if [ "$first" != "$last" ]; then
    for np in $ranks; do
        awk -v a="${peak[$first.$np]}" -v b="${peak[$last.$np]}" -v np="$np" -v f="$first" -v l="$last" \
            'BEGIN { printf "ranks %d: peak RSS %s / %s = %.3f\n", np, l, f, b / a }'
    done
fi
