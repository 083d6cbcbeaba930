#!/usr/bin/python3
"""scaling_report: the table, scaling.json and gnuplot data of bench/compact_scaling.sh.

Reads the raw reports the script left in REP (REP/<name>.r<round>.json for
each contender and round, plus .stat.json / .meta.json for mpicompact runs,
base.stat.json, rocksdb-load.json), prints the table on stdout and writes
OUT/scaling.json and the plot data file. Every figure of a contender is its
median round (by wall time); all rounds are kept in the JSON.
"""
import argparse
import json
import os
import platform
import statistics
import time

LABELS = {"single": "compact --full --single", "compact": "compact", "full": "compact --full"}


def load(rep, name):
    with open(os.path.join(rep, name)) as f:
        return json.load(f)


def stat_clean(s):
    s = dict(s)
    s.pop("store", None)   # a path of the machine that ran it
    return s


def trim(counts):
    counts = list(counts)
    while len(counts) > 1 and counts[-1] == 0:
        counts.pop()
    return "/".join(map(str, counts))


def rank_usage(rep, tag):
    """(largest peak RSS in MB, CPU seconds summed over ranks) from the
    ranks' /usr/bin/time lines "%M %U %S"; None for what is missing."""
    rss, cpu = [], 0.0
    for f in os.listdir(rep):
        if f.startswith(tag + ".rss."):
            with open(os.path.join(rep, f)) as fh:
                lines = [l.split() for l in fh if l.strip()]
            if lines and len(lines[-1]) == 3:
                rss.append(int(lines[-1][0]))
                cpu += float(lines[-1][1]) + float(lines[-1][2])
    return (max(rss) * 1024 / 1e6 if rss else None), (cpu if rss else None)


def mc_round(rep, name, rnd):
    tag = f"{name}.r{rnd}"
    r, meta, st = load(rep, tag + ".json"), load(rep, tag + ".meta.json"), stat_clean(load(rep, tag + ".stat.json"))
    return dict(wall=r["wall_seconds"], read=r["bytes_read"], written=r["bytes_written"],
                wamp=r["write_amplification"], rss=rank_usage(rep, tag)[0], cpu_s=rank_usage(rep, tag)[1],
                levels=trim(l["segments"] for l in st["levels"]),
                cpu=sum(w["busy_seconds"] for w in r["workers"]), ranks=meta["ranks"],
                raw={"round": rnd, "report": r, "stat_after": st, "args": meta["args"],
                     "external_seconds": meta["external_seconds"]})


def rocks_round(rep, sub, rnd, logical):
    r = load(rep, f"rocksdb-sub{sub}.r{rnd}.json")
    return dict(wall=r["seconds"], read=logical, written=r["live_bytes"], rss=None, cpu_s=r["cpu_seconds"],
                wamp=r["live_bytes"] / logical,
                levels=trim(r["files_after"]) + " files", cpu=r["cpu_seconds"], ranks=None,
                raw=dict(r, round=rnd))


def contender(name, label, rounds):
    for x in rounds:
        x["wall"] = max(x["wall"], 1e-6)   # a store with nothing to do
    walls = [x["wall"] for x in rounds]
    med = sorted(rounds, key=lambda x: x["wall"])[(len(rounds) - 1) // 2]   # lower median
    return dict(name=name, label=label, ranks=med["ranks"], wall=statistics.median(walls),
                wall_min=min(walls), wall_max=max(walls), walls=walls, read=med["read"],
                written=med["written"], peak_rss_mb=med["rss"], cpu_seconds=med["cpu_s"],
                wamp=med["wamp"], levels=med["levels"], cpu=med["cpu"], median_round=med["raw"]["round"],
                rounds=[x["raw"] for x in rounds])


def fmt(v, f):
    return (f % v) if v is not None else "-"


def main():
    ap = argparse.ArgumentParser()
    for a in ("rep", "out", "plot", "started", "dropped", "top", "low", "size-mb", "segments", "items",
              "segment-size", "shape", "overwrite", "delete", "seed", "nproc", "repeat", "hdf5", "mpi", "mpicompact", "cpu", "fs", "digest"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    rep, repeat = a.rep, int(a.repeat)
    base = stat_clean(load(rep, "base.stat.json"))
    logical = base["totals"]["bytes"]

    rows = []
    for n in a.names:
        rows.append(contender(n, LABELS[n.split("-")[0]], [mc_round(rep, n, i) for i in range(1, repeat + 1)]))
    for sub in (1, 3):
        if os.path.exists(os.path.join(rep, f"rocksdb-sub{sub}.r1.json")):
            label = f"rocksdb {sub} subcompaction" + ("s" if sub > 1 else "")
            rows.append(contender(f"rocksdb-sub{sub}", label,
                                  [rocks_round(rep, sub, i, logical) for i in range(1, repeat + 1)]))
    rload = load(rep, "rocksdb-load.json") if os.path.exists(os.path.join(rep, "rocksdb-load.json")) else None

    limits = load(rep, "limits.json")
    dd_bytes = limits["dd_mb"] * 1048576
    disk_w = dd_bytes / max(limits["write_fsync_seconds"], 1e-6)
    disk_r = dd_bytes / max(limits["read_seconds"], 1e-6)
    limits.update(disk_write_fsync_mb_per_s=disk_w / 1e6, disk_read_mb_per_s=disk_r / 1e6)

    by = {r["name"]: r for r in rows}
    single = by[f"single-n{a.top}"]["wall"]
    low = by[f"full-n{a.low}"]["wall"]
    ref3 = by["rocksdb-sub3"]["wall"] if "rocksdb-sub3" in by else None
    ref1 = by["rocksdb-sub1"]["wall"] if "rocksdb-sub1" in by else None
    for r in rows:
        r["mb_per_s"] = logical / 1e6 / r["wall"]
        # --single at this run's rank count when measured, else at the top one.
        same = by.get(r["name"].replace("full-", "single-")) if r["name"].startswith("full-") else None
        r["ratio_vs_single"] = (same["wall"] if same else single) / r["wall"]
        r["ratio_vs_low_ranks"] = low / r["wall"]
        # The time the disk alone would need for the bytes read and written
        # (logical bytes, as the reports count them) at the dd rates, over
        # the wall time: 1.0 = the run moved data as fast as dd does.
        r["disk_fraction"] = (r["read"] / disk_r + r["written"] / disk_w) / r["wall"]
        r["ratio_vs_rocksdb_sub3"] = ref3 / r["wall"] if ref3 else None
        r["ratio_vs_rocksdb_sub1"] = ref1 / r["wall"] if ref1 else None
        # Per core: RocksDB 1 thread's CPU seconds over this run's (all ranks).
        cpu1 = by["rocksdb-sub1"]["cpu_seconds"] if "rocksdb-sub1" in by else None
        r["cpu_ratio_vs_rocksdb_sub1"] = cpu1 / r["cpu_seconds"] if cpu1 and r["cpu_seconds"] else None

    mk = limits["merge_kernel"]
    store_line = (f"store (shape {a.shape}): {logical / 1e6:.1f} MB logical ({base['totals']['items']} items in "
                  f"{base['totals']['segments']} level-0 segments; segment size {a.segment_size}; overwrite "
                  f"{a.overwrite}, delete {a.delete}, seed {a.seed}); {a.nproc} cores; page cache dropped before "
                  f"each timed phase: {a.dropped}; median of {repeat} interleaved round(s)")
    limits_line = (f"machine limits (same run): disk write+fsync {limits['disk_write_fsync_mb_per_s']:.0f} MB/s, "
                   f"disk read (cache dropped) {limits['disk_read_mb_per_s']:.0f} MB/s, memcpy "
                   f"{limits['memcpy']['memcpy_gb_per_s']:.1f} GB/s (1 thread); merge kernel alone "
                   f"{mk['items_per_s'] / 1e6:.1f} M items/s (1 core, {mk['inputs']} in-memory inputs, "
                   f"{mk['key_size']}-byte keys)")
    print("\n" + store_line)
    print(limits_line)
    cols = [("run", "%s", lambda r: r["label"]), ("ranks", "%s", lambda r: fmt(r["ranks"], "%d")),
            ("wall s", "%.2f", lambda r: r["wall"]),
            ("min-max s", "%s", lambda r: f"{r['wall_min']:.2f}-{r['wall_max']:.2f}"),
            ("MB/s", "%.1f", lambda r: r["mb_per_s"]),
            (f"x {a.low} rank", "%.2fx", lambda r: r["ratio_vs_low_ranks"]),
            ("x single", "%.2fx", lambda r: r["ratio_vs_single"]),
            ("x rdb-1", "%s", lambda r: fmt(r["ratio_vs_rocksdb_sub1"], "%.2fx")),
            ("x rdb-3", "%s", lambda r: fmt(r["ratio_vs_rocksdb_sub3"], "%.2fx")),
            ("read MB", "%.0f", lambda r: r["read"] / 1e6), ("w-amp", "%.2f", lambda r: r["wamp"]),
            ("disk", "%.2f", lambda r: r["disk_fraction"]),
            ("peak RSS MB", "%s", lambda r: fmt(r["peak_rss_mb"], "%.0f")),
            ("CPU s", "%s", lambda r: fmt(r["cpu_seconds"], "%.1f")),
            ("CPU x rdb-1", "%s", lambda r: fmt(r["cpu_ratio_vs_rocksdb_sub1"], "%.2fx")),
            ("busy s", "%.1f", lambda r: r["cpu"]), ("levels after", "%s", lambda r: r["levels"])]
    cells = [[(f % g(r)) if f != "%s" else str(g(r)) for _, f, g in cols] for r in rows]
    widths = [max(len(c[0]), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    hdr = " ".join(c[0].rjust(w) if i else c[0].ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))
    print(hdr)
    print("-" * len(hdr))
    for x in cells:
        print(" ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(x, widths))))
    with open(os.path.join(a.out, "scaling.md"), "w") as f:
        f.write(store_line + ".\n\n" + limits_line + ".\n\n")
        f.write("| " + " | ".join(c[0] for c in cols) + " |\n")
        f.write("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|\n")
        for x in cells:
            f.write("| " + " | ".join(x) + " |\n")
    if rload:
        print(f"{'(rocksdb load, untimed)':25} {'':>5} {rload['seconds']:7.2f} {'':>11} "
              f"{rload['logical_bytes'] / 1e6 / rload['seconds']:6.1f}  {rload['files_after'][0]} L0 files "
              f"from {rload['segments']} segments (one WriteBatch + flush each)")
    print("""
MB/s: the store's logical (key+value) bytes / wall s, one numerator for all, so each ratio is a
ratio of median wall times: x N rank = vs compact --full at the lowest rank count; x single = vs
compact --full --single at the same rank count (compact --full at N ranks vs --single at N ranks;
the other rows vs --single at the top rank count); x rdb-3 / x rdb-1 = vs RocksDB full compaction with
3 subcompactions / 1 thread. disk: (read / disk read rate + written / disk write rate) / wall, with
the dd rates above and the run's logical bytes read and written (1.0 = as fast as dd).
peak RSS MB: the largest peak RSS of the run's ranks. CPU s: user + system seconds of all ranks
(/usr/bin/time) or of RocksDB's process; CPU x rdb-1: RocksDB 1 thread's CPU s / this run's, the
per-core figure that a machine shared with other work does not distort as much as wall time. mpicompact wall = the report's wall_seconds (first pick
to end: MPI start-up, lock, orphan scan excluded); RocksDB wall = rocksdb_compact_range alone.
read MB: logical bytes merged (mpicompact bytes_read, moves read nothing; RocksDB reads all).
w-amp: logical bytes written / store bytes. busy s: sum of per-rank busy seconds (mpicompact) or
process CPU seconds (RocksDB). RocksDB's result is ONE sorted run (no deletes left), like
compact --full: compare RocksDB with compact --full. Plain compact only brings each level within
its limit (levels after: segments per level 0/1/2...), compare it with compact --single.""")
    for r in rows:
        if r["name"].startswith("rocksdb"):
            rr = r["rounds"][[x["round"] for x in r["rounds"]].index(r["median_round"])]
            print(f"  {r['name']:14} CPU {rr['cpu_seconds']:.1f} s in {rr['seconds']:.1f} s wall "
                  f"({rr['cpu_seconds'] / rr['seconds']:.2f} cores)")
            continue
        rr = r["rounds"][[x["round"] for x in r["rounds"]].index(r["median_round"])]["report"]
        busy = " ".join(f"r{w['rank']}:{w['busy_seconds']:.1f}/{w['compactions']}" for w in rr["workers"])
        print(f"  {r['name']:14} busy s/runs per rank {busy}; coordinator {rr['coordinator_busy_seconds']:.2f} s; "
              f"{rr['compactions_done']} compactions, {rr['moved']} moved, {rr['commits']} commits")

    doc = {
        "bench": "compact_scaling",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "bench_wall_seconds": time.time() - float(a.started),
        "params": {"shape": a.shape, "size_mb": int(a.size_mb), "segments": int(a.segments),
                   "items_per_segment": int(a.items), "segment_size": a.segment_size, "key_size": 16,
                   "value_size": 100, "overwrite": float(a.overwrite), "delete": float(a.delete),
                   "seed": int(a.seed), "top_ranks": int(a.top), "repeat": repeat},
        "limits": limits,
        "machine": {"nproc": int(a.nproc), "cpu": a.cpu, "kernel": platform.release(), "filesystem": a.fs,
                    "page_cache_dropped": a.dropped == "true",
                    "versions": {"mpicompact": a.mpicompact, "open_mpi": a.mpi, "hdf5": a.hdf5,
                                 "rocksdb": rload["rocksdb_version"] if rload else None}},
        "store": base,
        "digest": a.digest,
        "units": {"wall": "s, median of the rounds", "mb_per_s": "store logical bytes / 1e6 / wall",
                  "ratio_vs_*": "reference wall / this wall, same run"},
        "reference": {"single": f"single-n{a.top}", "low_ranks": f"full-n{a.low}",
                      "rocksdb": "rocksdb-sub3" if ref3 else None},
        "notes": ["ratios are ratios of wall times within this one run on this one store; 2 shared cores, noisy",
                  "RocksDB's result is a single sorted run, like compact --full; compact (default) only "
                  "brings levels within their limits"],
        "runs": rows,
        "rocksdb_load": rload,
    }
    tmp = os.path.join(a.out, "scaling.json.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, "scaling.json"))
    with open(a.plot, "w") as f:
        for i, r in enumerate(rows):
            name = (r["label"] + f" n{r['ranks']}" if r["ranks"] else
                    r["name"].replace("rocksdb-sub1", "rocksdb 1 thr").replace("rocksdb-sub3", "rocksdb 3 sub"))
            f.write(f'{i} "{name}" {r["mb_per_s"]:.2f} {logical / 1e6 / r["wall_max"]:.2f} '
                    f'{logical / 1e6 / r["wall_min"]:.2f}\n')


if __name__ == "__main__":
    main()
