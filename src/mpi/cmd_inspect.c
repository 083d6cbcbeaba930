/* cmd_inspect: `mpicompact ls STORE [--level N]` (the live segments, like
 * RocksDB's ldb manifest dump or h5ls) and `mpicompact check FILE...`
 * (validate segment files without adding them, like sst_dump --command=verify).
 * Rank 0 does the work; every rank returns its verdict. */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "escape.h"
#include "log.h"
#include "mpiutil.h"
#include "segment_check.h"
#include "store.h"
#include "view.h"

/* One line of ls: the fields of ls's header, tab-separated; keys escaped. */
static void print_segment(FILE *f, const char *store, const mc_seg_meta *s)
{
    char path[MC_PATH_MAX];
    struct stat sb;
    mc_store_seg_path(store, s->segno, path);
    long long file_bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    fprintf(f, "%" PRIu64 "\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%lld\t%" PRIu64 "\t%" PRIu64 "\t", s->segno,
            (unsigned)s->level, s->nitems, s->ndeletes, s->bytes, file_bytes, s->min_seq, s->max_seq);
    mc_escape_write_arg(f, s->min_key, s->min_key_len);
    putc('\t', f);
    mc_escape_write_arg(f, s->max_key, s->max_key_len);
    putc('\n', f);
}

static int list_store(const mc_cli_ctx *ctx, const char *store, int only_level)
{
    mc_manifest *m = NULL;
    mc_err err;
    mc_err_clear(&err);
    if (mc_view_load_manifest(store, &m, &err) != MC_OK) {
        mc_log_err(ctx, &err);
        return MC_EXIT_FAIL;
    }
    unsigned levels = mc_manifest_params(m)->levels;
    if (only_level >= 0 && (unsigned)only_level >= levels) {
        mc_manifest_destroy(&m);
        return mc_usage_error(ctx, "ls", "--level %d: the store has levels 0..%u", only_level, levels - 1);
    }
    fprintf(ctx->out, "segno\tlevel\titems\tdeletes\tbytes\tfile_bytes\tmin_seq\tmax_seq\tmin_key\tmax_key\n");
    for (unsigned l = 0; l < levels; l++)
        for (size_t i = 0; (only_level < 0 || (unsigned)only_level == l) && i < mc_manifest_level_count(m, l); i++)
            print_segment(ctx->out, store, mc_manifest_level_at(m, l, i));
    mc_manifest_destroy(&m);
    return MC_EXIT_OK;
}

enum { O_LEVEL };
static const mc_opt_spec ls_specs[] = {
    [O_LEVEL] = {"level", true, "N", "all levels", "list the segments of level N only"},
    {NULL, false, NULL, NULL, NULL},
};

int mc_cmd_ls(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, ls_specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    uint64_t level = UINT64_MAX;
    rc = mc_opt_u64(ctx, "ls", "--level", cl.value[O_LEVEL], &level);
    if (rc == MC_EXIT_OK && level != UINT64_MAX && level > 255)
        rc = mc_usage_error(ctx, "ls", "--level %" PRIu64 ": levels are 0..31", level);
    if (rc == MC_EXIT_OK && ctx->rank == 0)
        rc = list_store(ctx, cl.pos[0], level == UINT64_MAX ? -1 : (int)level);
    rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    mc_cmdline_free(&cl);
    return rc;
}

/* `check`: "FILE: ok ..." per valid file on OUT; each bad file's first
 * problem logged; MC_EXIT_FAIL when any is bad. */
static int check_files(const mc_cli_ctx *ctx, char **files, int nfiles)
{
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        mc_seg_meta meta = {0};
        mc_err err;
        mc_err_clear(&err);
        if (mc_seg_check_file(files[i], &meta, &err) != MC_OK) {   /* HDF5's crash or hang too */
            mc_log(ctx, "check: %s", err.msg);
            bad++;
            continue;
        }
        fprintf(ctx->out, "%s: ok: %" PRIu64 " items, %" PRIu64 " deletes, %" PRIu64 " bytes, seqs %" PRIu64
                          "..%" PRIu64 ", keys ",
                files[i], meta.nitems, meta.ndeletes, meta.bytes, meta.min_seq, meta.max_seq);
        mc_escape_write_arg(ctx->out, meta.min_key, meta.min_key_len);
        fputs(" .. ", ctx->out);
        mc_escape_write_arg(ctx->out, meta.max_key, meta.max_key_len);
        putc('\n', ctx->out);
        mc_seg_meta_clear(&meta);
    }
    if (bad)
        mc_log(ctx, "check: %d of %d file(s) are not valid segments", bad, nfiles);
    return bad ? MC_EXIT_FAIL : MC_EXIT_OK;
}

int mc_cmd_check(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, NULL, 1, -1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    if (ctx->rank == 0)
        rc = check_files(ctx, cl.pos, cl.npos);
    rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    mc_cmdline_free(&cl);
    return rc;
}
