/* cmd_read: `mpicompact get STORE KEY` and `mpicompact scan STORE [--from KEY] [--to KEY]` (rank 0 reads). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "escape.h"
#include "log.h"
#include "mpiutil.h"
#include "view.h"

/* A KEY argument (escape.h) into *key; a usage error when malformed. */
static int key_arg(const mc_cli_ctx *ctx, const char *command, const char *what, const char *s, uint8_t **key,
                   size_t *len)
{
    mc_err err;
    if (mc_unescape(s, key, len, &err) != MC_OK)
        return mc_usage_error(ctx, command, "%s: %s", what, err.msg);
    if (*len < 1 || *len > MC_KEY_MAX) {
        free(*key);
        *key = NULL;
        return mc_usage_error(ctx, command, "%s: a key is 1 to %zu bytes", what, MC_KEY_MAX);
    }
    return MC_EXIT_OK;
}

typedef enum { READ_GET, READ_SCAN } read_mode;

/* One pass: loads the manifest and prints the view over [lo, hi] per MODE;
 * *found once something was printed. *generation: the one read (0 when
 * the load failed). */
static mc_status read_pass(const mc_cli_ctx *ctx, const char *store, read_mode mode, const uint8_t *lo,
                           size_t lo_len, const uint8_t *hi, size_t hi_len, bool *found, uint64_t *generation,
                           mc_err *err)
{
    mc_manifest *m = NULL;
    mc_view *v = NULL;
    *generation = 0;
    mc_status st = mc_view_load_manifest(store, &m, err);
    if (st == MC_OK) {
        *generation = mc_manifest_generation(m);
        st = mc_view_open(store, m, lo, lo_len, hi, hi_len, &v, err);
    }
    for (bool eof = false; st == MC_OK;) {
        mc_item it;
        st = mc_view_next(v, &it, &eof, err);
        if (st != MC_OK || eof)
            break;
        if (mode == READ_SCAN) {
            mc_escape_write_arg(ctx->out, it.key, it.key_len);
            putc('\t', ctx->out);
        }
        mc_escape_write(ctx->out, it.value, it.value_len);
        putc('\n', ctx->out);
        *found = true;
        if (mode == READ_GET || ferror(ctx->out))
            break;   /* no use reading on when nothing gets out */
    }
    mc_view_close(&v);
    mc_manifest_destroy(&m);
    return st;
}

/* Rank 0's work: the view over [lo, hi], printed per MODE. A pass that
 * failed before printing anything because a commit moved the store to
 * another generation (view.h) starts over on the new one. */
static int read_store(const mc_cli_ctx *ctx, const char *store, read_mode mode, const char *key_text,
                      const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    mc_err err;
    mc_err_clear(&err);
    int rc = MC_EXIT_FAIL;
    bool found = false;
    mc_status st = MC_OK;
    for (int attempt = 0; attempt < MC_VIEW_ATTEMPTS; attempt++) {
        uint64_t generation = 0;
        st = read_pass(ctx, store, mode, lo, lo_len, hi, hi_len, &found, &generation, &err);
        if (st == MC_OK || found || generation == 0 || attempt + 1 == MC_VIEW_ATTEMPTS ||
            !mc_view_generation_moved(store, generation))
            break;
        mc_err_clear(&err);
    }
    if (st != MC_OK)
        mc_log_err(ctx, &err);
    else if (ferror(ctx->out))
        rc = MC_EXIT_FAIL;   /* said by mc_cli_run()'s check of the output */
    else if (mode == READ_GET && !found)
        fprintf(stderr, "%s: not found\n", key_text);
    else
        rc = MC_EXIT_OK;
    return rc;
}

int mc_cmd_get(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, NULL, 2, 2, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    uint8_t *key = NULL;
    size_t len = 0;
    if ((rc = key_arg(ctx, "get", "KEY", cl.pos[1], &key, &len)) == MC_EXIT_OK) {
        if (ctx->rank == 0)
            rc = read_store(ctx, cl.pos[0], READ_GET, cl.pos[1], key, len, key, len);
        rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    }
    free(key);
    mc_cmdline_free(&cl);
    return rc;
}

enum { O_FROM, O_TO };
static const mc_opt_spec scan_specs[] = {
    [O_FROM] = {"from", true, "KEY", "the first key", "inclusive low bound (escapes as in KEY)"},
    [O_TO] = {"to", true, "KEY", "the last key", "inclusive high bound"},
    {NULL, false},
};

int mc_cmd_scan(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, scan_specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    uint8_t *from = NULL, *to = NULL;
    size_t from_len = 0, to_len = 0;
    if (cl.value[O_FROM])
        rc = key_arg(ctx, "scan", "--from", cl.value[O_FROM], &from, &from_len);
    if (rc == MC_EXIT_OK && cl.value[O_TO])
        rc = key_arg(ctx, "scan", "--to", cl.value[O_TO], &to, &to_len);
    if (rc == MC_EXIT_OK) {
        if (ctx->rank == 0)
            rc = read_store(ctx, cl.pos[0], READ_SCAN, NULL, from, from_len, to, to_len);
        rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    }
    free(from);
    free(to);
    mc_cmdline_free(&cl);
    return rc;
}
