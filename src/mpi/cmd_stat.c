/* cmd_stat: `mpicompact stat STORE [--json]`: levels, logical and on-disk sizes, limits, pending
 * compaction (rank 0). */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "manifest_io.h"
#include "mpiutil.h"
#include "store.h"
#include "units.h"
#include "view.h"

typedef struct level_stat {
    uint64_t segments, items, bytes, deletes;
    uint64_t file_bytes;      /* the files' sizes on disk (what stat(2) says) */
    uint64_t limit;           /* level 0: segments; deeper: bytes; UINT64_MAX: none */
    bool over;
    uint64_t pending_bytes;   /* what compaction must move out to be within the limit */
} level_stat;

/* The sum of the sizes of level L's files; a file that cannot be stat'ed
 * (removed by a racing commit) counts 0. */
static uint64_t level_file_bytes(const char *store, const mc_manifest *m, unsigned l)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < mc_manifest_level_count(m, l); i++) {
        char path[MC_PATH_MAX];
        struct stat sb;
        mc_store_seg_path(store, mc_manifest_level_at(m, l, i)->segno, path);
        if (stat(path, &sb) == 0)
            sum += (uint64_t)sb.st_size;
    }
    return sum;
}

static void level_stats(const char *store, const mc_manifest *m, unsigned l, level_stat *s)
{
    const mc_params *p = mc_manifest_params(m);
    s->segments = mc_manifest_level_count(m, l);
    s->items = mc_manifest_level_items(m, l);
    s->bytes = mc_manifest_level_bytes(m, l);
    s->file_bytes = level_file_bytes(store, m, l);
    s->deletes = 0;
    for (size_t i = 0; i < s->segments; i++)
        s->deletes += mc_manifest_level_at(m, l, i)->ndeletes;
    s->pending_bytes = 0;
    if (l + 1 == p->levels) {
        s->limit = UINT64_MAX;
        s->over = false;
    } else if (l == 0) {
        s->limit = p->l0_limit;
        s->over = s->segments > s->limit;
        for (size_t i = 0; s->over && i < s->segments - s->limit; i++)   /* the oldest go first */
            s->pending_bytes += mc_manifest_level_at(m, 0, i)->bytes;
    } else {
        s->limit = mc_params_level_limit(p, l);
        s->over = s->bytes > s->limit;
        s->pending_bytes = s->over ? s->bytes - s->limit : 0;
    }
}

static void print_json(FILE *f, const char *store, const mc_manifest *m)
{
    const mc_params *p = mc_manifest_params(m);
    mc_json j;
    mc_json_init(&j, f, true);
    mc_json_object_begin(&j, NULL);
    mc_json_str(&j, "store", store);
    mc_json_u64(&j, "generation", mc_manifest_generation(m));
    mc_json_u64(&j, "next_segno", mc_manifest_next_segno(m));
    mc_json_u64(&j, "next_seq", mc_manifest_next_seq(m));
    mc_json_object_begin(&j, "params");
    mc_json_u64(&j, "fanout", p->fanout);
    mc_json_u64(&j, "l0_limit", p->l0_limit);
    mc_json_u64(&j, "levels", p->levels);
    mc_json_u64(&j, "segment_size", p->segment_size);
    mc_json_object_end(&j);
    level_stat tot = {0};
    mc_json_array_begin(&j, "levels");
    for (unsigned l = 0; l < p->levels; l++) {
        level_stat s;
        level_stats(store, m, l, &s);
        mc_json_object_begin(&j, NULL);
        mc_json_u64(&j, "level", l);
        mc_json_u64(&j, "segments", s.segments);
        mc_json_u64(&j, "items", s.items);
        mc_json_u64(&j, "bytes", s.bytes);
        mc_json_u64(&j, "file_bytes", s.file_bytes);
        mc_json_u64(&j, "deletes", s.deletes);
        if (s.limit == UINT64_MAX)
            mc_json_str(&j, "limit", NULL);
        else
            mc_json_u64(&j, "limit", s.limit);
        mc_json_str(&j, "limit_unit", l == 0 ? "segments" : "bytes");
        mc_json_bool(&j, "over_limit", s.over);
        mc_json_u64(&j, "pending_bytes", s.pending_bytes);
        mc_json_object_end(&j);
        tot.segments += s.segments;
        tot.items += s.items;
        tot.bytes += s.bytes;
        tot.file_bytes += s.file_bytes;
        tot.deletes += s.deletes;
        tot.pending_bytes += s.pending_bytes;
    }
    mc_json_array_end(&j);
    mc_json_object_begin(&j, "totals");
    mc_json_u64(&j, "segments", tot.segments);
    mc_json_u64(&j, "items", tot.items);
    mc_json_u64(&j, "bytes", tot.bytes);
    mc_json_u64(&j, "file_bytes", tot.file_bytes);
    mc_json_u64(&j, "deletes", tot.deletes);
    mc_json_object_end(&j);
    mc_json_u64(&j, "pending_compaction_bytes", tot.pending_bytes);
    mc_json_object_end(&j);
    mc_json_finish(&j);
}

static void print_text(FILE *f, const char *store, const mc_manifest *m)
{
    const mc_params *p = mc_manifest_params(m);
    char a[32], b[32], c[32], d[32];
    fprintf(f, "store %s: generation %" PRIu64 ", next segno %" PRIu64 ", next seq %" PRIu64 "\n", store,
            mc_manifest_generation(m), mc_manifest_next_segno(m), mc_manifest_next_seq(m));
    fprintf(f, "params: fanout %" PRIu32 ", level-0 limit %" PRIu32 " segments, %" PRIu32 " levels, segment size %s\n",
            p->fanout, p->l0_limit, p->levels, mc_fmt_bytes(p->segment_size, a, sizeof a));
    fprintf(f, "%5s %9s %12s %11s %11s %10s %14s %11s\n", "level", "segments", "items", "bytes", "on disk",
            "deletes", "limit", "pending");
    level_stat tot = {0};
    for (unsigned l = 0; l < p->levels; l++) {
        level_stat s;
        level_stats(store, m, l, &s);
        char lim[40];
        if (s.limit == UINT64_MAX)
            snprintf(lim, sizeof lim, "none");
        else if (l == 0)
            snprintf(lim, sizeof lim, "%" PRIu64 " segs", s.limit);
        else
            mc_fmt_bytes(s.limit, lim, sizeof lim);
        fprintf(f, "%5u %9" PRIu64 " %12" PRIu64 " %11s %11s %10" PRIu64 " %14s %11s%s\n", l, s.segments, s.items,
                mc_fmt_bytes(s.bytes, b, sizeof b), mc_fmt_bytes(s.file_bytes, d, sizeof d), s.deletes, lim,
                mc_fmt_bytes(s.pending_bytes, c, sizeof c), s.over ? "  over limit" : "");
        tot.segments += s.segments;
        tot.items += s.items;
        tot.bytes += s.bytes;
        tot.file_bytes += s.file_bytes;
        tot.deletes += s.deletes;
        tot.pending_bytes += s.pending_bytes;
    }
    fprintf(f, "%5s %9" PRIu64 " %12" PRIu64 " %11s %11s %10" PRIu64 "\n", "total", tot.segments, tot.items,
            mc_fmt_bytes(tot.bytes, b, sizeof b), mc_fmt_bytes(tot.file_bytes, d, sizeof d), tot.deletes);
    fprintf(f, "pending compaction: %s%s\n", mc_fmt_bytes(tot.pending_bytes, c, sizeof c),
            tot.pending_bytes ? "" : " (every level is within its limit)");
}

enum { O_JSON };
static const mc_opt_spec specs[] = {
    [O_JSON] = {"json", false, NULL, "off", "print a JSON document instead of the table"},
    {NULL, false, NULL, NULL, NULL},
};

int mc_cmd_stat(int argc, char **argv, const mc_cli_ctx *ctx)
{
    mc_cmdline cl;
    int rc = mc_cmdline_parse(ctx, argc, argv, specs, 1, 1, &cl);
    if (rc != MC_EXIT_OK)
        return rc;
    if (ctx->rank == 0) {
        mc_manifest *m = NULL;
        mc_err err;
        mc_err_clear(&err);
        if (mc_view_load_manifest(cl.pos[0], &m, &err) != MC_OK) {   /* tolerates a racing commit */
            mc_log_err(ctx, &err);
            rc = MC_EXIT_FAIL;
        } else if (cl.value[O_JSON])
            print_json(ctx->out, cl.pos[0], m);
        else
            print_text(ctx->out, cl.pos[0], m);
        mc_manifest_destroy(&m);
    }
    rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    mc_cmdline_free(&cl);
    return rc;
}
