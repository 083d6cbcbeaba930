#!/usr/bin/env bash
# Hostile segment files given to `add`: a sample of single-byte damage, one
# file per region of a segment (superblock, object headers, attribute, chunk
# B-tree, each dataset's chunk, a truncation; tests/unit/sweep_segment.c
# sweeps every byte through the validator), and the files on which HDF5
# 1.10.8 itself crashes or loops (tests/fuzz/hdf5-known/, docs/FUZZING.md).
# Each: exit 1, a message naming the file, the store unchanged (files,
# verify, digest). The validating child process (src/core/isolate.c) turns
# HDF5's crash into "HDF5 crashed reading it" and its endless loop into
# "reading it did not finish" after MPICOMPACT_ADD_TIMEOUT seconds of
# silence (1 here).
# ranks: 1 2
source "$(dirname "$0")/lib.sh"

S=$MC_TMP/store
BAD=$MC_TMP/bad
mkdir -p "$BAD"
run_ok mc init "$S" --segment-size 64K
run_ok mc gen "$S" --segments 2 --items 40 --delete 0.2 --seed "$MC_SEED"
run_ok mc verify "$S"
d0=$(digest_of "$S")
snap0=$(snapshot "$S")

# --- one damaged copy per region of a segment written by gen ------------------
seg=$(fmt manifest "$S" | awk 'NR==1 {print $3}')
cp "$S/$seg" "$BAD/orig.h5"
# damage.py ORIG DIR: one file per region; prints "NAME<TAB>reason ERE".
py - "$BAD/orig.h5" "$BAD" >"$MC_TMP/cases" <<'PY'
import sys, h5py
orig, out = sys.argv[1], sys.argv[2]
data = open(orig, 'rb').read()
f = h5py.File(orig, 'r')
cases = [('superblock', 8), ('root-header', h5py.h5o.get_info(f['/'].id).addr),
         ('attribute', data.index(b'nitems')), ('btree', data.index(b'TREE')),
         ('dset-header', h5py.h5o.get_info(f['seqs'].id).addr)]
for name in f:
    info = f[name].id.get_chunk_info(0)
    cases.append(('chunk-' + name, info.byte_offset + info.size // 2))
f.close()
for name, off in cases:
    b = bytearray(data)
    b[off] ^= 0xFF
    open('%s/%s.h5' % (out, name), 'wb').write(b)
    print('%s.h5\t%s' % (name, 'checksum|damaged|not a readable|corrupt|missing|not stored|failed|cannot'))
open(out + '/truncated.h5', 'wb').write(data[:len(data) // 2])
print('truncated.h5\ttruncated|not a readable|eof')
PY
[[ $(wc -l <"$MC_TMP/cases") -ge 12 ]] || fail "too few damaged files"
mapfile -t names < <(cut -f1 "$MC_TMP/cases")
expect_fail 1 mc add "$S" "${names[@]/#/$BAD/}"
while IFS=$'\t' read -r name words; do
    assert_reason "$name" "$words"
done <"$MC_TMP/cases"
assert_grep "${#names[@]} of ${#names[@]} file\(s\) failed validation; nothing was added" "$MC_ERR" \
    "add of the damaged files"

# --- HDF5's own crash and endless loop ------------------------------------------
known=$MC_SRC/tests/fuzz/hdf5-known
cp "$known/fuzz_segment-vlen-global-heap-segv" "$BAD/heap-segv.h5"
cp "$known/fuzz_segment-vlen-global-heap-hang" "$BAD/heap-hang.h5"
# fuzz_manifest's inputs are archives (tests/fuzz/fuzzutil.h: a name of
# 1 byte length, a 4-byte little-endian length, the bytes): their manifest
# file, which hangs HDF5 the same way, is the file added.
py - "$BAD" "$known"/fuzz_manifest-hang* <<'PY'
import os, struct, sys
for a in sys.argv[2:]:
    d, i = open(a, 'rb').read(), 0
    while i < len(d):
        name = d[i + 1:i + 1 + d[i]]; i += 1 + d[i]
        n, = struct.unpack('<I', d[i:i + 4]); i += 4
        if name.startswith(b'manifest/'):
            open('%s/%s.h5' % (sys.argv[1], os.path.basename(a)), 'wb').write(d[i:i + n])
        i += n
PY
# The four that loop, with a short limit on silence: every file of this add
# hangs, so no slowness of the machine can change the outcome.
hangs=(heap-hang.h5 fuzz_manifest-hang.h5 fuzz_manifest-hang-2.h5 fuzz_manifest-hang-3.h5)
MPICOMPACT_ADD_TIMEOUT=1 expect_fail 1 mc add "$S" "${hangs[@]/#/$BAD/}"
for h in "${hangs[@]}"; do
    assert_reason "$h" "reading it did not finish: no progress in 1 s \(damaged HDF5 metadata\?\)"
done
assert_eq "$(snapshot "$S")" "$snap0" "store files after the rejected add of the files HDF5 loops on"
# `check` reads outside files the same way.
MPICOMPACT_ADD_TIMEOUT=1 expect_fail 1 mc check "$BAD/heap-hang.h5" "$BAD/heap-segv.h5"
assert_grep "heap-hang\.h5: reading it did not finish" "$MC_ERR" "check of a file HDF5 loops on"
assert_grep "heap-segv\.h5: HDF5 crashed reading it" "$MC_ERR" "check of a file HDF5 crashes on"
# The one that crashes HDF5, beside a good file (the default limit):
# nothing is added.
run_ok "$MC_BIN" init "$MC_TMP/other"
run_ok "$MC_BIN" gen "$MC_TMP/other" --segments 1 --items 30 --seed "$((MC_SEED + 1))"
cp "$MC_TMP/other/$(fmt manifest "$MC_TMP/other" | awk 'NR==1 {print $3}')" "$BAD/good.h5"
expect_fail 1 mc add "$S" "$BAD/good.h5" "$BAD/heap-segv.h5"
assert_reason heap-segv.h5 "HDF5 crashed reading it \(Segmentation fault; damaged file\?\)"
assert_grep "1 of 2 file\(s\) failed validation; nothing was added" "$MC_ERR" "add of a good file and a crashing one"
# A bad MPICOMPACT_ADD_TIMEOUT is refused, naming the variable.
MPICOMPACT_ADD_TIMEOUT=soon expect_fail 1 mc add "$S" "$BAD/good.h5"
assert_grep "MPICOMPACT_ADD_TIMEOUT=soon" "$MC_ERR" "a bad MPICOMPACT_ADD_TIMEOUT"

assert_eq "$(snapshot "$S")" "$snap0" "store files at the end"
run_ok mc verify "$S"
assert_eq "$(digest_of "$S")" "$d0" "digest at the end"
check_seg_dir "$S"
# ... and the child process accepts a good file: it is added.
run_ok mc add "$S" "$BAD/good.h5" --assign-seq
assert_grep "good\.h5 -> segment" "$MC_ERR" "add of a good file through the child process"
run_ok mc verify "$S"
assert_ne "$(digest_of "$S")" "$d0" "digest after adding good.h5"
pass
