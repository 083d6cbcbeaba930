/* cmd_init: `mpicompact init STORE`: create an empty store. */
#include <inttypes.h>

#include "cli.h"
#include "cmdline.h"
#include "log.h"
#include "mpiutil.h"
#include "store.h"

enum { O_FANOUT, O_L0, O_SIZE, O_LEVELS };
static const mc_opt_spec specs[] = {
    [O_FANOUT] = {"fanout", true, "N", "10", "level i >= 1 may hold segment-size * N^i bytes (N >= 2)"},
    [O_L0] = {"l0-limit", true, "N", "4", "level 0 may hold N segments"},
    [O_SIZE] = {"segment-size", true, "SIZE", "64M", "target size of a segment written by compaction"},
    [O_LEVELS] = {"levels", true, "N", "7", "number of levels (2..32); the deepest has no limit"},
    {NULL, false, NULL, NULL, NULL},
};

static int opt_u32(const mc_cli_ctx *ctx, const char *option, const char *value, uint32_t *out)
{
    uint64_t v = *out;
    int rc = mc_opt_u64(ctx, "init", option, value, &v);
    if (rc != MC_EXIT_OK)
        return rc;
    if (v > UINT32_MAX)
        return mc_usage_error(ctx, "init", "%s: %s is too large", option, value);
    *out = (uint32_t)v;
    return MC_EXIT_OK;
}

int mc_cmd_init(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    const char *store = cl.pos[0];
    mc_params p;
    mc_params_default(&p);
    if ((rc = opt_u32(ctx, "--fanout", cl.value[O_FANOUT], &p.fanout)) != MC_EXIT_OK ||
        (rc = opt_u32(ctx, "--l0-limit", cl.value[O_L0], &p.l0_limit)) != MC_EXIT_OK ||
        (rc = opt_u32(ctx, "--levels", cl.value[O_LEVELS], &p.levels)) != MC_EXIT_OK ||
        (rc = mc_opt_size(ctx, "init", "--segment-size", cl.value[O_SIZE], &p.segment_size)) != MC_EXIT_OK)
        goto cleanup;
    mc_err err;
    if (mc_params_check(&p, &err) != MC_OK) {
        rc = mc_usage_error(ctx, "init", "%s", err.msg);
        goto cleanup;
    }
    if (p.segment_size < MC_SEGMENT_SIZE_MIN) {
        rc = mc_usage_error(ctx, "init", "--segment-size %s: %" PRIu64 " bytes is below the minimum of %u bytes (1K)",
                            cl.value[O_SIZE], p.segment_size, MC_SEGMENT_SIZE_MIN);
        goto cleanup;
    }
    bool ok = true;
    if (ctx->rank == 0) {
        if (mc_store_init(store, &p, &err) != MC_OK) {
            mc_log_err(ctx, &err);
            ok = false;
        } else {
            mc_log(ctx, "init: created %s (fanout %" PRIu32 ", level-0 limit %" PRIu32 ", %" PRIu32
                        " levels, segment size %" PRIu64 " bytes)",
                   store, p.fanout, p.l0_limit, p.levels, p.segment_size);
        }
    }
    rc = mc_bcast_u64_quiet(ok, 0, ctx->comm) ? MC_EXIT_OK : MC_EXIT_FAIL;
cleanup:
    mc_cmdline_free(&cl);
    return rc;
}
