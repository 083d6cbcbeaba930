"""h5py_write: three segment files written from docs/FORMAT.md alone.

    h5py_write.py DIR SEED

Writes DIR/a.h5 (format attribute as a variable-length string), DIR/b.h5
(fixed-length string), DIR/c.h5 (tiny chunks: many chunks per dataset), all
with segno attribute 4242. Random binary keys (with NUL, tab, newline,
backslash and keys that are prefixes of others) overlap across the files with
different seqs; some values are empty, some items are deletes. Also writes
DIR/expected.scan (what `scan` must print for the three together), DIR/X.scan
for each file alone and DIR/nitems (items in the three files).
"""
import os
import random
import sys

import mcformat as F


def main(out, seed):
    rnd = random.Random(seed)
    pool = {b"\x00", b"\x00\x00", b"\t", b"\n", b"\\", b"\\x00", b"k", b"ke", b"key", b"key\x00",
            b"\xff", b"\xff\xff", b"\x7f\x80"}
    while len(pool) < 160:
        pool.add(bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16))))
    pool = sorted(pool)
    seqs = rnd.sample(range(1, 1_000_000), 3 * 120)
    files = {}
    for idx, name in enumerate("abc"):
        keys = rnd.sample(pool, 120)
        items = []
        for i, k in enumerate(keys):
            seq = seqs[idx * 120 + i]
            if rnd.random() < 0.2:
                items.append((k, b"", seq, F.DELETE))
            else:
                n = 0 if rnd.random() < 0.2 else rnd.randint(1, 40)
                items.append((k, bytes(rnd.randrange(256) for _ in range(n)), seq, F.PUT))
        if name == "a":   # one value of several default chunks' worth of elements
            items[0] = (items[0][0], bytes(rnd.randrange(256) for _ in range(300_000)), items[0][2], F.PUT)
        files[name] = items
        F.write_segment(os.path.join(out, name + ".h5"), items, segno=4242,
                        fixed_format=(name == "b"), chunk_elems=(7 if name == "c" else None))
        with open(os.path.join(out, name + ".scan"), "w") as f:
            f.write("".join(l + "\n" for l in F.scan_lines(F.logical(items))))
    everything = [it for items in files.values() for it in items]
    with open(os.path.join(out, "expected.scan"), "w") as f:
        f.write("".join(l + "\n" for l in F.scan_lines(F.logical(everything))))
    with open(os.path.join(out, "nitems"), "w") as f:
        f.write("%d\n" % len(everything))
    # Read back with h5py: the files are what we meant.
    for name, items in files.items():
        _attrs, got, _info, _arr = F.read_segment(os.path.join(out, name + ".h5"))
        assert got == sorted(items), name


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
