"""h5py_read: check a store the program wrote against docs/FORMAT.md, with h5py alone.

    h5py_read.py STORE SCAN_OUTPUT

Every segment the manifest names: root attributes (format, version 1 as
uint32, segno equal to the file name and the manifest, nitems, min/max seq
equal to the data), every dataset 1-D, chunked, Fletcher32, unlimited, of the
right type and length; offsets valid; keys strictly increasing; the manifest's
entries equal what the segments hold; and the logical content of all the
segments (highest seq wins, deletes hide) equals `scan` output exactly.
"""
import os
import re
import sys

import numpy as np

import mcformat as F

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def check_segment(store, e):
    rel = F.seg_relpath(e["segno"])
    path = os.path.join(store, rel)
    attrs, items, info, arr = F.read_segment(path)
    name = os.path.basename(path)
    check(F.attr_str(attrs.get("format")) == F.SEG_FORMAT, "%s: format attribute %r" % (rel, attrs.get("format")))
    check(int(attrs.get("version", -1)) == 1, "%s: version %r" % (rel, attrs.get("version")))
    dt = info["attr_dtypes"]
    check(dt.get("version") == np.dtype("<u4"), "%s: version is %s, want uint32" % (rel, dt.get("version")))
    for a in ("segno", "nitems", "min_seq", "max_seq"):
        check(dt.get(a) == np.dtype("<u8"), "%s: %s is %s, want uint64" % (rel, a, dt.get(a)))
    check(int(attrs["segno"]) == int(name[:-3], 16) == e["segno"],
          "%s: segno attribute %s vs file name vs manifest %d" % (rel, attrs["segno"], e["segno"]))
    n = len(items)
    check(n >= 1, "%s: no items" % rel)
    check(int(attrs["nitems"]) == n, "%s: nitems %s, data has %d" % (rel, attrs["nitems"], n))
    seqs = [it[2] for it in items]
    check(int(attrs["min_seq"]) == min(seqs) and int(attrs["max_seq"]) == max(seqs),
          "%s: min/max_seq attributes %s/%s, data %d/%d" % (rel, attrs["min_seq"], attrs["max_seq"],
                                                          min(seqs), max(seqs)))
    want_types = {"keys": "u1", "key_offsets": "<u8", "values": "u1", "value_offsets": "<u8",
                  "seqs": "<u8", "kinds": "u1"}
    want_len = {"key_offsets": n + 1, "value_offsets": n + 1, "seqs": n, "kinds": n}
    for d, t in want_types.items():
        i = info[d]
        check(i["dtype"] == np.dtype(t), "%s/%s: dtype %s, want %s" % (rel, d, i["dtype"], t))
        check(len(i["shape"]) == 1, "%s/%s: not 1-D" % (rel, d))
        check(i["chunks"] is not None, "%s/%s: not chunked" % (rel, d))
        check(i["fletcher32"], "%s/%s: no Fletcher32 filter" % (rel, d))
        check(i["maxshape"] == (None,), "%s/%s: maxshape %s, want unlimited" % (rel, d, i["maxshape"]))
        if i["chunks"] is not None:
            cb = i["chunks"][0] * i["dtype"].itemsize
            check(cb <= 2 * F.CHUNK_BYTES, "%s/%s: chunk of %d bytes" % (rel, d, cb))
            # tiny datasets keep tiny chunks
            check(cb <= max(4096, 2 * i["shape"][0] * i["dtype"].itemsize),
                  "%s/%s: chunk of %d bytes for %d elements" % (rel, d, cb, i["shape"][0]))
        if d in want_len:
            check(i["shape"][0] == want_len[d], "%s/%s: length %d, want %d" % (rel, d, i["shape"][0], want_len[d]))
    for data, off in (("keys", "key_offsets"), ("values", "value_offsets")):
        o = arr[off].astype(np.int64)
        check(o[0] == 0, "%s/%s: first offset %d" % (rel, off, o[0]))
        check(o[-1] == len(arr[data]), "%s/%s: last offset %d, %s has %d" % (rel, off, o[-1], data, len(arr[data])))
        check(bool(np.all(np.diff(o) >= 0)), "%s/%s: not monotonic" % (rel, off))
    keys = [it[0] for it in items]
    check(all(1 <= len(k) <= 4096 for k in keys), "%s: key length out of 1..4096" % rel)
    check(all(a < b for a, b in zip(keys, keys[1:])), "%s: keys not strictly increasing" % rel)
    check(all(it[3] in (F.PUT, F.DELETE) for it in items), "%s: bad kind" % rel)
    check(all(it[1] == b"" for it in items if it[3] == F.DELETE), "%s: a delete with a value" % rel)
    # The manifest entry describes this file.
    ndel = sum(1 for it in items if it[3] == F.DELETE)
    nbytes = sum(len(it[0]) + len(it[1]) for it in items)
    for field, want in (("nitems", n), ("ndeletes", ndel), ("bytes", nbytes), ("min_seq", min(seqs)),
                        ("max_seq", max(seqs)), ("min_key", keys[0]), ("max_key", keys[-1])):
        check(e[field] == want, "manifest entry %d: %s %r, file has %r" % (e["segno"], field, e[field], want))
    return items


def main(store, scan_file):
    rel, attrs, entries = F.read_manifest(store)
    check(re.fullmatch(r"manifest/[0-9a-f]{16}\.h5", rel) is not None, "CURRENT names %r" % rel)
    check(F.attr_str(attrs.get("format")) == F.MANIFEST_FORMAT, "manifest format %r" % attrs.get("format"))
    check(int(attrs.get("version", -1)) == 2, "manifest version %r" % attrs.get("version"))
    check(int(attrs["generation"]) == int(rel[9:25], 16), "generation %s vs %s" % (attrs["generation"], rel))
    for a in ("fanout", "l0_limit", "levels", "segment_size", "next_segno", "next_seq", "parent", "content_epoch"):
        check(a in attrs, "manifest attribute %s missing" % a)
    check(len(entries) > 0, "manifest lists no segments")
    all_items = []
    for e in entries:
        check(e["segno"] < int(attrs["next_segno"]), "segno %d >= next_segno" % e["segno"])
        check(e["max_seq"] < int(attrs["next_seq"]), "segment %d: max_seq >= next_seq" % e["segno"])
        all_items += check_segment(store, e)
    seqs = [it[2] for it in all_items]
    check(len(seqs) == len(set(seqs)), "gen wrote a seq twice")
    content = F.logical(all_items)
    with open(scan_file, "rb") as f:
        scan = F.parse_scan(f.read().decode("ascii"))
    check(scan == sorted(content.items()),
          "scan output (%d items) differs from the segments' logical content (%d items)"
          % (len(scan), len(content)))
    with open(scan_file, "rb") as f:
        check(f.read().decode("ascii").splitlines() == F.scan_lines(content), "scan text differs from the escaping rule")
    check(F.seg_dir_files(store) == sorted(F.seg_relpath(e["segno"]) for e in entries),
          "seg/ does not hold exactly the manifest's files")
    for m in errors[:30]:
        print("FAIL: " + m, file=sys.stderr)
    print("checked %d segments, %d items, %d live keys" % (len(entries), len(all_items), len(content)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
