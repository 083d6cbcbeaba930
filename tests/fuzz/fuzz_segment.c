/* fuzz_segment: whole segment files (HDF5) through the validator `add` runs
 * on foreign files, the streaming reader (every item, a seek) and, for files
 * that validate, `add`'s relabel of a copy, which must validate again with
 * the new segno. Seeds: segments written by `gen`, by h5py
 * (tests/interop/mcformat.py) and craft_bad.py's broken ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzzutil.h"
#include "segment_relabel.h"

static void read_all(const char *path, const uint8_t *data, size_t size)
{
    mc_err err;
    mc_err_clear(&err);
    mc_seg_reader *r = NULL;
    if (fz_check_err(mc_seg_reader_open(path, &r, &err), &err) != MC_OK)
        return;
    mc_item it;
    bool eof = false;
    /* Bounded: a huge nitems must fail on the datasets' lengths, not run long. */
    for (int i = 0; i < 100000 && !eof; i++)
        if (fz_check_err(mc_seg_reader_next(r, &it, &eof, &err), &err) != MC_OK)
            break;
    /* A seek to a key made of the input's last bytes, then one item. */
    size_t klen = size < 8 ? size : 8;
    if (klen && fz_check_err(mc_seg_reader_seek(r, data + size - klen, klen, &err), &err) == MC_OK)
        fz_check_err(mc_seg_reader_next(r, &it, &eof, &err), &err);
    mc_seg_reader_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096], copy[4096];
    fz_path(path, "in.h5");
    fz_path(copy, "copy.h5");
    fz_write(path, data, size);

    mc_err err;
    mc_err_clear(&err);
    mc_seg_meta meta = {0};
    mc_status st = fz_check_err(mc_seg_validate(path, &meta, &err), &err);
    if (st == MC_OK) {
        fz_check_err(mc_seg_check_add_seqs(path, &meta, &err), &err);
        uint64_t segno = meta.segno ^ 0x5a5a;
        if (fz_check_err(mc_seg_copy_relabel(path, copy, segno, &err), &err) == MC_OK) {
            mc_seg_meta again = {0};
            if (mc_seg_validate(copy, &again, &err) != MC_OK || again.segno != segno ||
                again.nitems != meta.nitems || again.bytes != meta.bytes) {
                fprintf(stderr, "fuzz_segment: the relabeled copy of a valid segment does not validate: %s\n",
                        err.msg);
                abort();
            }
            mc_seg_meta_clear(&again);
        }
        unlink(copy);
    }
    mc_seg_meta_clear(&meta);
    read_all(path, data, size);
    fz_check_no_open_hdf5();
    return 0;
}
