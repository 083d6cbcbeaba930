"""h5py_write_edits: commits to a store with h5py alone, as edits
(docs/FORMAT.md 3.4, 3.5), the way a foreign writer holding the lock would.

    h5py_write_edits.py STORE SEED EXPECTED_SCAN

STORE is a store mpicompact created (and may have written to). Three
commits, each an edit of the current generation: two new level-0 segments;
one more segment plus the removal of one of the first two (its items leave
the content); a move of the remaining one to level 1 (the same segno with
another level). Seqs start at the store's next_seq and next_segno/next_seq
are raised. Writes EXPECTED_SCAN: what `scan` must print when the store held
nothing before.
"""
import os
import random
import sys

import h5py

import mcformat as F


def head_attrs(store):
    with h5py.File(os.path.join(store, F.current_manifest(store)), "r") as f:
        return {k: f.attrs[k] for k in f.attrs}


def new_segment(store, rnd, segno, seq, nkeys):
    """Writes segment SEGNO (durable, section 2.5) of NKEYS keys from SEQ on."""
    keys = sorted({b"e%04d" % rnd.randrange(400) for _ in range(nkeys)})
    items = []
    for k in keys:
        if rnd.random() < 0.15:
            items.append((k, b"", seq, F.DELETE))
        else:
            items.append((k, b"v%d" % seq, seq, F.PUT))
        seq += 1
    path = F.seg_path(store, segno)
    F.write_segment(path + ".tmp", items, segno=segno)
    fd = os.open(path + ".tmp", os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.rename(path + ".tmp", path)
    F.fsync_dir(os.path.dirname(path))
    return items, seq


def main(store, seed, expected):
    rnd = random.Random(seed)
    a = head_attrs(store)
    segno, seq = int(a["next_segno"]), int(a["next_seq"])
    kept = {}
    # 1: two new level-0 segments.
    for _ in range(2):
        kept[segno], seq = new_segment(store, rnd, segno, seq, 40)
        segno += 1
    F.commit_edit(store, [F.seg_entry(s, 0, kept[s]) for s in sorted(kept)], (), next_segno=segno, next_seq=seq)
    # 2: one more, and the first one removed (its file goes after the commit).
    first = min(kept)
    kept[segno], seq = new_segment(store, rnd, segno, seq, 40)
    F.commit_edit(store, [F.seg_entry(segno, 0, kept[segno])], [first], next_segno=segno + 1, next_seq=seq)
    os.unlink(F.seg_path(store, first))
    del kept[first]
    segno += 1
    # 3: the remaining older one moves to level 1: content unchanged.
    mover = min(kept)
    F.commit_edit(store, [F.seg_entry(mover, 1, kept[mover])], (), content_changed=False)
    with open(expected, "w") as f:
        f.write("".join(line + "\n" for line in F.scan_lines(F.logical(
            [it for items in kept.values() for it in items]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
