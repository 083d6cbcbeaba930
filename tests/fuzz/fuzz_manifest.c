/* fuzz_manifest: a store's CURRENT and manifest files (one archive input,
 * fuzzutil.h) through mc_manifest_load(), the public entry point every
 * command opens a store with, so the harness follows the manifest format as
 * it changes. A manifest that loads is encoded for the wire and decoded
 * again: the copy must hold the same entries. Seeds: the CURRENT and
 * manifest/ of stores written by init, gen and compact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "fuzzutil.h"
#include "manifest_io.h"
#include "manifest_wire.h"

static void put(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
    fz_write(path, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char store[4096], mdir[4200];
    fz_path(store, "store");
    snprintf(mdir, sizeof mdir, "%s/manifest", store);
    fz_clear(fz_dir());
    if (mkdir(store, 0700) != 0 || mkdir(mdir, 0700) != 0)
        abort();
    fz_archive_each(data, size, put, store);

    mc_err err;
    mc_err_clear(&err);
    mc_manifest *m = NULL, *copy = NULL;
    uint64_t gen;
    fz_check_err(mc_manifest_current_generation(store, &gen, &err), &err);
    mc_status st = fz_check_err(mc_manifest_load(store, &m, &err), &err);
    fz_check_no_open_hdf5();
    if (st != MC_OK)
        return 0;
    mc_buf b = {0};
    if (mc_manifest_encode(m, &b, &err) != MC_OK || mc_manifest_decode(b.p, b.n, &copy, &err) != MC_OK ||
        mc_manifest_count(copy) != mc_manifest_count(m) ||
        mc_manifest_total_bytes(copy) != mc_manifest_total_bytes(m) ||
        mc_manifest_generation(copy) != mc_manifest_generation(m)) {
        fprintf(stderr, "fuzz_manifest: a loaded manifest does not survive the wire: %s\n", err.msg);
        abort();
    }
    mc_buf_free(&b);
    mc_manifest_destroy(&copy);
    mc_manifest_destroy(&m);
    return 0;
}
