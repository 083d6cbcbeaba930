/* segment_pin: a segment file held open (segment_pin.h). */
#include "segment_pin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "h5util.h"

struct mc_seg_pin {
    char *path;
    hid_t file;
};

mc_status mc_seg_pin_open(const char *path, mc_seg_pin **out, mc_err *err)
{
    *out = NULL;
    mc_seg_pin *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory", path);
    }
    mc_status st = mc_h5_open_ro(path, &p->file, err);
    if (st != MC_OK) {
        mc_seg_pin_close(&p);
        return st;
    }
    *out = p;
    return MC_OK;
}

mc_status mc_seg_pin_reader(const mc_seg_pin *pin, mc_seg_reader **out, mc_err *err)
{
    return mc_seg_reader_open_from(pin->path, pin->file, out, err);
}

void mc_seg_pin_close(mc_seg_pin **pp)
{
    mc_seg_pin *p = pp ? *pp : NULL;
    if (!p)
        return;
    mc_h5_close(&p->file);
    free(p->path);
    free(p);
    *pp = NULL;
}
