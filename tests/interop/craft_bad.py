"""craft_bad: writes segment files that break docs/FORMAT.md, one rule each.

    craft_bad.py DIR SEED

Writes DIR/good.h5 (valid) and DIR/<case>.h5 for every case, and prints one
line per bad case: "<file name>\t<regex of words the rejection must contain>".
"""
import os
import random
import shutil
import sys

import h5py
import numpy as np

import mcformat as F


def main(out, seed):
    rnd = random.Random(seed)
    keys = sorted({bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 24)))
                   for _ in range(300)})
    items = [(k, bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64))), 1000 + i, F.PUT)
             for i, k in enumerate(keys)]
    n = len(items)
    cases = []

    def path(name):
        return os.path.join(out, name + ".h5")

    def case(name, words, **kw):
        F.write_segment(path(name), kw.pop("items", items), segno=9, **kw)
        cases.append((name, words))

    F.write_segment(path("good"), items, segno=9)

    swapped = list(items)
    swapped[10], swapped[11] = swapped[11], swapped[10]
    case("unsorted", "order|sort", items=swapped, sort=False)
    dup = list(items)
    dup[20] = (dup[19][0], dup[20][1], dup[20][2], F.PUT)
    case("duplicate_key", "order|sort|duplicate", items=dup, sort=False)

    _keys, koff = F.concat([it[0] for it in items])
    bad = koff.copy()
    bad[5], bad[6] = bad[6], bad[5]            # one step back, the last still right
    case("offsets_nonmonotonic", "offset", key_offsets=bad)
    bad = koff.copy()
    bad[-1] -= 1                               # last != len(keys)
    case("offsets_last", "offset", key_offsets=bad)
    _vals, voff = F.concat([it[1] for it in items])
    bad = voff.copy()
    bad[-1] += 7                               # beyond the end of values
    case("value_offsets_last", "offset", value_offsets=bad)
    case("offsets_short", "offset|key_offsets|length|size|count", key_offsets=koff[:-1])

    case("version2", "version", version=2)
    case("wrong_format", "format", attrs_override={"format": (np.bytes_(b"not-a-segment"), None)})
    case("nitems_wrong", "nitems|count|item", attrs_override={"nitems": (n + 1, "<u8")})
    case("seq_out_of_range", "seq", attrs_override={"max_seq": (1000 + n - 5, "<u8")})
    # Seqs are 1 .. 2^63 - 1 (FORMAT.md 2.4).
    sz = list(items)
    sz[7] = (sz[7][0], sz[7][1], 0, F.PUT)
    case("seq_zero", "seq 0", items=sz)
    sm = list(items)
    sm[8] = (sm[8][0], sm[8][1], 2**64 - 1, F.PUT)
    case("seq_max", "seq 18446744073709551615", items=sm)
    sh = list(items)
    sh[9] = (sh[9][0], sh[9][1], 2**63, F.PUT)
    case("seq_2p63", "seq 9223372036854775808", items=sh)

    dv = list(items)
    dv[3] = (dv[3][0], b"not empty", dv[3][2], F.DELETE)
    case("delete_with_value", "delete", items=dv)
    bk = list(items)
    bk[4] = (bk[4][0], bk[4][1], bk[4][2], 7)
    case("bad_kind", "kind", items=bk)
    ek = [(b"", b"v", 1, F.PUT)] + items[:5]
    case("empty_key", "key|empty|length", items=ek)
    case("no_items", "item|empty", items=[])
    case("missing_dataset", "seqs|missing|dataset|exist|open", skip=("seqs",))
    case("too_long_key", "key|limit|long|length|4096",
         items=[(b"k" * 4097, b"v", 1, F.PUT)])

    # Physical damage to a valid file.
    shutil.copy(path("good"), path("flipped"))
    F.flip_byte(path("flipped"), "values")
    cases.append(("flipped", "checksum|fletcher"))
    shutil.copy(path("good"), path("truncated"))
    size = os.path.getsize(path("truncated"))
    os.truncate(path("truncated"), size // 2)
    cases.append(("truncated", "truncat|open|read|corrupt|eof|signature|hdf5|size"))
    with open(path("not_hdf5"), "w") as f:
        f.write("this is not an HDF5 file\n")
    cases.append(("not_hdf5", "open|hdf5|signature|format"))

    # Truncated at several offsets (the header, the middle, the last bytes).
    for frac, tag in ((0.02, "head"), (0.25, "quarter"), (0.75, "three_quarters")):
        shutil.copy(path("good"), path("truncated_" + tag))
        os.truncate(path("truncated_" + tag), max(1, int(size * frac)))
        cases.append(("truncated_" + tag, "truncat|open|read|corrupt|eof|signature|hdf5|size"))
    shutil.copy(path("good"), path("truncated_last_bytes"))
    os.truncate(path("truncated_last_bytes"), size - 3)
    cases.append(("truncated_last_bytes", "truncat|open|read|corrupt|eof|signature|hdf5|size|checksum"))

    # Valid HDF5, wrong structure: types, ranks, layouts, filters, links.
    def variant(name, words, fn):
        shutil.copy(path("good"), path(name))
        with h5py.File(path(name), "r+") as f:
            fn(f)
        cases.append((name, words))

    def replace(f, name, **kw):
        data = kw.pop("data", f[name][()])
        del f[name]
        f.create_dataset(name, data=data, **kw)

    chunked = dict(maxshape=(None,), chunks=(64,), fletcher32=True)
    variant("seqs_2d", "seqs.*dimension",
            lambda f: replace(f, "seqs", data=f["seqs"][()].reshape(-1, 1), maxshape=(None, 1),
                              chunks=(64, 1), fletcher32=True))
    variant("seqs_float", "seqs.*type",
            lambda f: replace(f, "seqs", data=f["seqs"][()].astype("<f8"), **chunked))
    variant("kinds_signed", "kinds.*type",
            lambda f: replace(f, "kinds", data=f["kinds"][()].astype("i1"), **chunked))
    variant("key_offsets_u8", "offset",
            lambda f: replace(f, "key_offsets", data=(f["key_offsets"][()] % 256).astype("u1"), **chunked))

    def set_attr(name, value, dtype=None):
        return lambda f: f.attrs.create(name, value, dtype=dtype)
    variant("nitems_string", "nitems.*integer", set_attr("nitems", "300"))
    variant("nitems_array", "nitems.*scalar", set_attr("nitems", [n, n], "<u8"))
    variant("min_seq_float", "min_seq.*integer", set_attr("min_seq", 1000.0, "<f8"))
    variant("version_string", "version", set_attr("version", "1"))
    variant("format_int", "format", set_attr("format", 7, "<u4"))

    variant("keys_contiguous", "keys.*chunked", lambda f: replace(f, "keys"))

    def compact_layout(f):
        data = f["kinds"][()]
        del f["kinds"]
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((len(data),))
        d = h5py.h5d.create(f.id, b"kinds", h5py.h5t.STD_U8LE, space, dcpl=dcpl)
        d.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
    variant("kinds_compact", "kinds.*chunked", compact_layout)
    variant("values_gzip_no_fletcher", "values.*fletcher",
            lambda f: replace(f, "values", maxshape=(None,), chunks=(64,), compression="gzip"))

    F.write_segment(path("_other"), items, segno=9)   # a link target, not a case

    def external(f):
        del f["seqs"]
        f["seqs"] = h5py.ExternalLink(os.path.abspath(path("_other")), "seqs")
    variant("seqs_external_link", "seqs.*external link", external)

    def soft(f):
        f.move("seqs", "seqs_real")
        f["seqs"] = h5py.SoftLink("/seqs_real")
    variant("seqs_soft_link", "seqs.*soft link", soft)

    def virtual(f):
        lay = h5py.VirtualLayout(shape=(n,), dtype="<u8", maxshape=(None,))
        lay[:] = h5py.VirtualSource(os.path.abspath(path("_other")), "seqs", shape=(n,))
        del f["seqs"]
        f.create_virtual_dataset("seqs", lay)
    variant("seqs_virtual", "seqs.*chunked", virtual)

    # Huge metadata: valid HDF5 that HDF5 itself takes minutes over.
    def many_attrs(f):
        for i in range(5000):
            f.attrs["extra%05d" % i] = i
    variant("many_attributes", "attributes.*limit", many_attrs)

    def many_objects(f):
        for i in range(100):
            f.create_group("g%03d" % i)
    variant("many_objects", "objects.*limit", many_objects)

    # A value over the 16 MiB limit.
    case("too_long_value", "value|limit|long|16",
         items=[(b"k", bytes(16 * 1024 * 1024 + 1), 1, F.PUT)])

    # Sanity: h5py itself still reads the files that are only logically bad.
    with h5py.File(path("unsorted"), "r") as f:
        assert f["keys"].fletcher32
    for name, words in cases:
        print("%s.h5\t%s" % (name, words))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
