/* fuzz_store_text: the two small text files of a store. The first input
 * byte picks one: even, the rest is STORE/CURRENT, read by
 * mc_manifest_current_generation(); odd, the rest is STORE/LOCK as a
 * second writer finds it, read by mc_lock_acquire() (holder parsing, the
 * staleness check, the takeover of a stale lock, the message naming the
 * holder). Seeds: CURRENT and LOCK files the project wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fuzzutil.h"
#include "lock.h"
#include "manifest_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char store[4096], path[4200];
    fz_path(store, "store");
    fz_clear(fz_dir());
    if (mkdir(store, 0700) != 0)
        abort();
    mc_err err;
    mc_err_clear(&err);
    if (data[0] % 2 == 0) {
        snprintf(path, sizeof path, "%s/CURRENT", store);
        fz_write(path, data + 1, size - 1);
        uint64_t gen = 0;
        fz_check_err(mc_manifest_current_generation(store, &gen, &err), &err);
        return 0;
    }
    snprintf(path, sizeof path, "%s/LOCK", store);
    fz_write(path, data + 1, size - 1);
    mc_lock *lock = NULL;
    mc_status st = fz_check_err(mc_lock_acquire(store, "fuzz", &lock, &err), &err);
    if (st == MC_OK) {
        /* Taken over as stale: the lock is ours now, and release removes it. */
        mc_lock_release(&lock);
        if (access(path, F_OK) == 0) {
            fprintf(stderr, "fuzz_store_text: LOCK still there after release\n");
            abort();
        }
    } else if (st != MC_ELOCKED) {
        fprintf(stderr, "fuzz_store_text: a held lock gave %s, not ELOCKED: %s\n", mc_strerror(st), err.msg);
        abort();
    }
    return 0;
}
