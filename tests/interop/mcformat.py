"""mcformat: an independent h5py implementation of docs/FORMAT.md, for tests.

Reads and writes mpicompact segment files and manifests without the C code,
parses `scan` output (escapes) and computes the logical content of a set of
items (highest seq wins, deletes hide). Also a small command line used by the
shell tests:

    mcformat.py manifest STORE            one line per live segment: "segno level path"
    mcformat.py chain STORE               the files of the committed manifest, base first
    mcformat.py to-v1 STORE               commit the manifest again as one version-1 file
    mcformat.py check-seg-dir STORE       exit 1 unless seg/ holds exactly the manifest's files
    mcformat.py snapshot STORE            a digest of every file's name and bytes under STORE
    mcformat.py stat-json FILE KEY...     values looked up in a `stat --json` document
    mcformat.py stat-totals FILE          "SEGMENTS ITEMS" summed over its levels
    mcformat.py flip FILE [DATASET]       flip a byte inside DATASET's first chunk
    mcformat.py unescape                  stdin: escaped text, stdout: bytes
    mcformat.py write FILE N SEQ [TAG]    a segment of N puts, keys k000000.., seqs SEQ..SEQ+N-1
    mcformat.py rewrite SRC DST SHIFT     SRC's keys again, newer: seqs + SHIFT, values tagged
"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np

SEG_FORMAT = "mpicompact-segment"
MANIFEST_FORMAT = "mpicompact-manifest"
SEG_DATASETS = ("keys", "key_offsets", "values", "value_offsets", "seqs", "kinds")
PUT, DELETE = 0, 1
CHUNK_BYTES = 1 << 20


def seg_relpath(segno):
    return os.path.join("seg", "%02x" % (segno % 256), "%016x.h5" % segno)


def seg_path(store, segno):
    return os.path.join(store, seg_relpath(segno))


def attr_str(v):
    """A string attribute as str, whether stored variable- or fixed-length."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        v = v.item()
        return v.decode() if isinstance(v, bytes) else str(v)
    if isinstance(v, np.bytes_):
        return bytes(v).decode()
    return str(v)


def concat(chunks):
    """Concatenation scheme of FORMAT.md: (uint8 data, uint64 offsets)."""
    offsets = np.zeros(len(chunks) + 1, dtype="<u8")
    total = 0
    for i, c in enumerate(chunks):
        total += len(c)
        offsets[i + 1] = total
    data = np.frombuffer(b"".join(chunks), dtype="u1") if total else np.zeros(0, dtype="u1")
    return data, offsets


def split(data, offsets):
    raw = bytes(np.asarray(data, dtype="u1").tobytes())
    return [raw[int(offsets[i]):int(offsets[i + 1])] for i in range(len(offsets) - 1)]


def write_dataset(f, name, array, chunk_elems=None):
    """1-D, chunked, Fletcher32, unlimited maximum size (zero length is legal)."""
    array = np.asarray(array)
    if chunk_elems is None:
        per = max(1, CHUNK_BYTES // array.dtype.itemsize)
        chunk_elems = max(1, min(per, len(array)))
    return f.create_dataset(name, data=array, maxshape=(None,), chunks=(chunk_elems,),
                            fletcher32=True)


def write_segment(path, items, segno=1, fixed_format=False, version=1, sort=True,
                  attrs_override=None, key_offsets=None, value_offsets=None,
                  skip=(), chunk_elems=None):
    """Writes ITEMS [(key, value, seq, kind)] as a segment.

    The keyword arguments exist to break the format on purpose: sort=False keeps
    the given order, *_offsets replace the computed offsets, skip leaves out
    datasets, attrs_override replaces root attributes."""
    if sort:
        items = sorted(items, key=lambda it: it[0])
    keys, koff = concat([it[0] for it in items])
    values, voff = concat([it[1] for it in items])
    seqs = np.array([it[2] for it in items], dtype="<u8")
    kinds = np.array([it[3] for it in items], dtype="u1")
    if key_offsets is not None:
        koff = np.array(key_offsets, dtype="<u8")
    if value_offsets is not None:
        voff = np.array(value_offsets, dtype="<u8")
    with h5py.File(path, "w") as f:
        if fixed_format:
            f.attrs["format"] = np.bytes_(SEG_FORMAT.encode())
        else:
            f.attrs["format"] = SEG_FORMAT
        f.attrs.create("version", version, dtype="<u4")
        f.attrs.create("segno", segno, dtype="<u8")
        f.attrs.create("nitems", len(items), dtype="<u8")
        f.attrs.create("min_seq", int(seqs.min()) if len(seqs) else 0, dtype="<u8")
        f.attrs.create("max_seq", int(seqs.max()) if len(seqs) else 0, dtype="<u8")
        for k, v in (attrs_override or {}).items():
            f.attrs.create(k, v[0], dtype=v[1])
        data = {"keys": keys, "key_offsets": koff, "values": values,
                "value_offsets": voff, "seqs": seqs, "kinds": kinds}
        for name in SEG_DATASETS:
            if name not in skip:
                write_dataset(f, name, data[name], chunk_elems)


def read_segment(path):
    """Returns (attrs, items, info, arrays): info has each dataset's dtype, shape,
    maxshape, chunks and fletcher32, and "attr_dtypes"."""
    with h5py.File(path, "r") as f:
        attrs = {k: f.attrs[k] for k in f.attrs}
        info = {}
        arrays = {}
        for name in SEG_DATASETS:
            d = f[name]
            info[name] = {"dtype": d.dtype, "shape": d.shape, "maxshape": d.maxshape,
                          "chunks": d.chunks, "fletcher32": d.fletcher32}
            arrays[name] = d[()]
        info["attr_dtypes"] = {k: f.attrs.get_id(k).dtype for k in f.attrs}
    keys = split(arrays["keys"], arrays["key_offsets"])
    values = split(arrays["values"], arrays["value_offsets"])
    items = [(keys[i], values[i], int(arrays["seqs"][i]), int(arrays["kinds"][i]))
             for i in range(len(keys))]
    return attrs, items, info, arrays


def flip_byte(path, dataset="values"):
    """Flips one byte inside the first chunk of DATASET's stored data (what
    Fletcher32 must catch); returns the file offset."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(0)
    off = info.byte_offset + max(0, (info.size - 4) // 2)
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x5A]))
    return off


def current_manifest(store):
    with open(os.path.join(store, "CURRENT")) as f:
        return f.read().strip()


def manifest_relpath(generation):
    return "manifest/%016x.h5" % generation


ENTRY_FIELDS = ("segno", "level", "nitems", "ndeletes", "bytes", "min_seq", "max_seq")


def read_manifest_file(path):
    """(attrs, entries, removed) of one manifest file: a base or an edit."""
    with h5py.File(path, "r") as f:
        attrs = {k: f.attrs[k] for k in f.attrs}
        a = {k: f[k][()] for k in f.keys()}
    n = len(a["segno"])
    min_keys = split(a["min_keys"], a["min_key_offsets"])
    max_keys = split(a["max_keys"], a["max_key_offsets"])
    entries = []
    for i in range(n):
        e = {k: int(a[k][i]) for k in ENTRY_FIELDS}
        e["min_key"], e["max_key"] = min_keys[i], max_keys[i]
        entries.append(e)
    removed = [int(x) for x in a.get("removed", [])]
    return attrs, entries, removed


def parent_of(attrs):
    """The generation an edit applies to; 0 for a base (and every version-1 file)."""
    return int(attrs.get("parent", 0)) if int(attrs["version"]) >= 2 else 0


def manifest_chain(store):
    """Relative paths of the files that make up the committed manifest, base first."""
    rel = current_manifest(store)
    chain = []
    while True:
        chain.append(rel)
        with h5py.File(os.path.join(store, rel), "r") as f:
            parent = parent_of({k: f.attrs[k] for k in ("version", "parent") if k in f.attrs})
        if parent == 0:
            return chain[::-1]
        rel = manifest_relpath(parent)


def manifest_order(entries):
    """FORMAT.md 3.2: level ascending; level 0 by segno, deeper levels by key."""
    return sorted(entries, key=lambda e: (e["level"], e["segno"] if e["level"] == 0 else 0, e["min_key"]))


def read_manifest(store):
    """Returns (relpath, attrs, entries) of the committed manifest: the base
    with every edit of its chain applied (FORMAT.md 3.5); attrs are those of
    the newest file, entries one dict per live segment in manifest order."""
    live = {}
    for rel in manifest_chain(store):
        attrs, entries, removed = read_manifest_file(os.path.join(store, rel))
        for segno in removed:
            if segno not in live:
                raise ValueError("%s removes segment %d, which is not live" % (rel, segno))
            del live[segno]
        for e in entries:
            live[e["segno"]] = e
    return rel, attrs, manifest_order(live.values())


def seg_entry(segno, level, items):
    """The manifest entry (FORMAT.md 3.2) of a segment holding ITEMS."""
    keys = sorted(it[0] for it in items)
    return {"segno": segno, "level": level, "nitems": len(items),
            "ndeletes": sum(1 for it in items if it[3] == DELETE),
            "bytes": sum(len(it[0]) + len(it[1]) for it in items),
            "min_seq": min(it[2] for it in items), "max_seq": max(it[2] for it in items),
            "min_key": keys[0], "max_key": keys[-1]}


def write_manifest_file(path, attrs, entries, removed=(), version=2):
    """Writes one manifest file: ATTRS holds generation, parent (0 for a
    base), content_epoch, next_segno, next_seq and the parameters. Version 1
    (FORMAT.md 3.6): a full list without parent, content_epoch, removed."""
    tmp = path + ".tmp"
    v2 = ("parent", "content_epoch") if version >= 2 else ()
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = MANIFEST_FORMAT
        f.attrs["version"] = np.uint32(version)
        for k in ("generation",) + v2 + ("next_segno", "next_seq", "segment_size"):
            f.attrs[k] = np.uint64(attrs[k])
        for k in ("fanout", "l0_limit", "levels"):
            f.attrs[k] = np.uint32(attrs[k])
        for k in ENTRY_FIELDS:
            write_dataset(f, k, np.array([e[k] for e in entries], dtype="u1" if k == "level" else "<u8"))
        for k in ("min", "max"):
            data, offsets = concat([e[k + "_key"] for e in entries])
            write_dataset(f, k + "_keys", data)
            write_dataset(f, k + "_key_offsets", offsets)
        if version >= 2:
            write_dataset(f, "removed", np.array(sorted(removed), dtype="<u8"))
    fd = os.open(tmp, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, path)


def commit_edit(store, entries=(), removed=(), next_segno=None, next_seq=None, content_changed=True):
    """Commits the next generation as an edit of the current one (FORMAT.md
    3.4/3.5): ENTRIES added or replaced, segnos REMOVED. Returns it."""
    rel = current_manifest(store)
    with h5py.File(os.path.join(store, rel), "r") as f:
        head = {k: f.attrs[k] for k in f.attrs}
    gen = int(head["generation"]) + 1
    epoch = int(head.get("content_epoch", 0)) if int(head["version"]) >= 2 else 0
    attrs = {k: int(head[k]) for k in ("next_segno", "next_seq", "segment_size", "fanout", "l0_limit", "levels")}
    attrs.update(generation=gen, parent=int(head["generation"]),
                 content_epoch=epoch + 1 if content_changed or epoch == 0 else epoch)
    if next_segno is not None:
        attrs["next_segno"] = next_segno
    if next_seq is not None:
        attrs["next_seq"] = next_seq
    write_manifest_file(os.path.join(store, manifest_relpath(gen)), attrs, list(entries), removed)
    switch_current(store, gen)
    return gen


def switch_current(store, gen):
    """The commit point (FORMAT.md 3.4): CURRENT names generation GEN."""
    fsync_dir(os.path.join(store, "manifest"))
    cur = os.path.join(store, "CURRENT")
    with open(cur + ".tmp", "w") as f:
        f.write(manifest_relpath(gen) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(cur + ".tmp", cur)
    fsync_dir(store)


def commit_v1(store):
    """Commits the current manifest again as one version-1 file (what an
    older mpicompact wrote); the old chain's files become orphans."""
    rel, head, entries = read_manifest(store)
    gen = int(head["generation"]) + 1
    attrs = {k: int(head[k]) for k in ("next_segno", "next_seq", "segment_size", "fanout", "l0_limit", "levels")}
    attrs["generation"] = gen
    write_manifest_file(os.path.join(store, manifest_relpath(gen)), attrs, entries, version=1)
    switch_current(store, gen)
    return gen


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def logical(items):
    """{key: value} for items [(key, value, seq, kind)]: highest seq wins, deletes hide."""
    best = {}
    for k, v, s, kind in items:
        if k not in best or s > best[k][1]:
            best[k] = (v, s, kind)
    return {k: v for k, (v, s, kind) in best.items() if kind == PUT}


def escape(b, key=False):
    """The escaped form `scan` and `get` print; KEY: a leading '-' as \\x2d."""
    out = []
    if key and b[:1] == b"-":
        out.append("\\x2d")
        b = b[1:]
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if s[i + 1] == "\\":
                out.append(0x5C)
                i += 2
            elif s[i + 1] == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
            else:
                raise ValueError("bad escape at %d in %r" % (i, s))
        else:
            out.append(ord(c))
            i += 1
    return bytes(out)


def scan_lines(content):
    """The lines `scan` must print for a {key: value} logical content."""
    return ["%s\t%s" % (escape(k, key=True), escape(content[k])) for k in sorted(content)]


def parse_scan(text):
    """[(key, value)] from `scan` output; checks each line has one tab."""
    pairs = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError("scan line without exactly one tab: %r" % line)
        pairs.append((unescape(parts[0]), unescape(parts[1])))
    return pairs


def seg_dir_files(store):
    found = []
    for root, _dirs, files in os.walk(os.path.join(store, "seg")):
        for name in files:
            found.append(os.path.relpath(os.path.join(root, name), store))
    return sorted(found)


def check_seg_dir(store):
    _rel, _attrs, entries = read_manifest(store)
    want = sorted(seg_relpath(e["segno"]) for e in entries)
    have = seg_dir_files(store)
    if want != have:
        extra = sorted(set(have) - set(want))
        missing = sorted(set(want) - set(have))
        print("seg/ differs from the manifest: extra %s missing %s" % (extra, missing),
              file=sys.stderr)
        return 1
    return 0


def snapshot(store):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(store):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            h.update(os.path.relpath(p, store).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def find_key(doc, names):
    """Depth-first: the first value whose member name is one of NAMES."""
    if isinstance(doc, dict):
        for n in names:
            if n in doc and not isinstance(doc[n], (dict, list)):
                return doc[n]
        for v in doc.values():
            r = find_key(v, names)
            if r is not None:
                return r
    elif isinstance(doc, list):
        for v in doc:
            r = find_key(v, names)
            if r is not None:
                return r
    return None


SEG_NAMES = ("segments", "nsegments", "segment_count", "count")
ITEM_NAMES = ("items", "nitems", "item_count")


def stat_totals(doc):
    """(segments, items) of a `stat --json` document: the sum over its levels."""
    levels = doc.get("levels")
    if isinstance(levels, list):
        segs = items = 0
        for lv in levels:
            segs += int(next(lv[n] for n in SEG_NAMES if n in lv))
            items += int(next(lv[n] for n in ITEM_NAMES if n in lv))
        return segs, items
    return int(find_key(doc, SEG_NAMES)), int(find_key(doc, ITEM_NAMES))


def main(argv):
    cmd = argv[1]
    if cmd == "manifest":
        rel, _attrs, entries = read_manifest(argv[2])
        for e in entries:
            print(e["segno"], e["level"], seg_relpath(e["segno"]))
        return 0
    if cmd == "chain":
        print("\n".join(manifest_chain(argv[2])))
        return 0
    if cmd == "to-v1":
        print(commit_v1(argv[2]))
        return 0
    if cmd == "check-seg-dir":
        return check_seg_dir(argv[2])
    if cmd == "model":
        # the scan lines the newest version per key over every segment the
        # manifest names gives (the reference model of compaction tests)
        _rel, _attrs, entries = read_manifest(argv[2])
        items = []
        for e in entries:
            items += read_segment(seg_path(argv[2], e["segno"]))[1]
        for line in scan_lines(logical(items)):
            print(line)
        return 0
    if cmd == "snapshot":
        print(snapshot(argv[2]))
        return 0
    if cmd == "stat-json":
        with open(argv[2]) as f:
            doc = json.load(f)
        for name in argv[3:]:
            v = find_key(doc, name.split("|"))
            if v is None:
                print("stat --json has no member %s" % name, file=sys.stderr)
                return 1
            print(v)
        return 0
    if cmd == "stat-totals":
        with open(argv[2]) as f:
            print("%d %d" % stat_totals(json.load(f)))
        return 0
    if cmd == "flip":
        print(flip_byte(argv[2], argv[3] if len(argv) > 3 else "values"))
        return 0
    if cmd == "write":
        n, seq = int(argv[3]), int(argv[4])
        tag = argv[5].encode() if len(argv) > 5 else b""
        items = [(b"k%06d" % i, b"v%d-" % i + tag, seq + i, PUT) for i in range(n)]
        write_segment(argv[2], items, segno=1)
        return 0
    if cmd == "rewrite":
        shift = int(argv[4])
        _attrs, items, _info, _arrays = read_segment(argv[2])
        items = [(k, v + b"+", seq + shift, kind) for k, v, seq, kind in items]
        write_segment(argv[3], items, segno=1)
        return 0
    if cmd == "unescape":
        sys.stdout.buffer.write(unescape(sys.stdin.read()))
        return 0
    print("unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
