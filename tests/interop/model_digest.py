"""model_digest: the logical content of a store read with h5py alone, as
`mpicompact digest` would print it (the algorithm of src/core/digest.c,
implemented in tests/crash/harness.py), plus one live key and its value.

    model_digest.py STORE OUT_DIR

Writes OUT_DIR/digest, OUT_DIR/key (a live key, escaped as `get` takes
it), OUT_DIR/value (what `get` prints for it) and OUT_DIR/live (the number of live keys). Reads every segment
whole: meant for stores of many tiny segments.
"""
import os
import sys

import h5py

import mcformat as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crash"))
import harness  # noqa: E402  (its digest() is the Python twin of digest.c)


def main(store, out):
    _rel, _attrs, entries = F.read_manifest(store)
    best = {}
    for e in entries:
        with h5py.File(F.seg_path(store, e["segno"]), "r") as f:
            keys, koff, values, voff, seqs, kinds = (f[name][()] for name in F.SEG_DATASETS)
        keys, values = keys.tobytes(), values.tobytes()
        for i in range(len(seqs)):
            k = keys[int(koff[i]):int(koff[i + 1])]
            seq = int(seqs[i])
            if k not in best or seq > best[k][0]:
                best[k] = (seq, int(kinds[i]), values[int(voff[i]):int(voff[i + 1])])
    content = {k: v for k, (_s, kind, v) in best.items() if kind == F.PUT}
    live = sorted(content)
    with open(os.path.join(out, "digest"), "w") as f:
        f.write(harness.digest(content) + "\n")
    with open(os.path.join(out, "live"), "w") as f:
        f.write("%d\n" % len(content))
    key = live[len(live) // 3]
    with open(os.path.join(out, "key"), "w") as f:
        f.write(F.escape(key, key=True))
    with open(os.path.join(out, "value"), "w") as f:
        f.write(F.escape(content[key]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
