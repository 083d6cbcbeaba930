/* provenance: the report's record of the run's environment (provenance.h). */
#include "provenance.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h5version.h"

static void iso_now(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void count_levels(const mc_manifest *m, mc_level_count *out, unsigned *levels)
{
    unsigned n = mc_manifest_params(m)->levels;
    if (n > 32)
        n = 32;
    *levels = n;
    for (unsigned l = 0; l < n; l++)
        out[l] = (mc_level_count){mc_manifest_level_count(m, l), mc_manifest_level_items(m, l),
                                  mc_manifest_level_bytes(m, l)};
}

static char *join_args(int argc, char **argv)
{
    size_t len = strlen("mpicompact") + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "mpicompact");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

#define HOST_MAX MPI_MAX_PROCESSOR_NAME

/* Rank 0 keeps the distinct names of ALL (NRANKS names of HOST_MAX bytes),
 * in rank order of first appearance. */
static void distinct_hosts(mc_provenance *p, const char *all, int nranks)
{
    if (!(p->hosts = calloc((size_t)nranks * HOST_MAX + 1, 1)))
        return;
    size_t used = 0;
    for (int r = 0; r < nranks; r++) {
        const char *h = all + (size_t)r * HOST_MAX;
        bool seen = false;
        for (const char *q = p->hosts; q < p->hosts + used && !seen; q += strlen(q) + 1)
            seen = strcmp(q, h) == 0;
        if (!seen) {
            strcpy(p->hosts + used, h);
            used += strlen(h) + 1;
            p->nhosts++;
        }
    }
}

void mc_provenance_begin(mc_provenance *p, const mc_cli_ctx *ctx, int argc, char **argv, const char *store,
                         const mc_manifest *m)
{
    memset(p, 0, sizeof *p);
    /* A collective of fixed-size names: no point-to-point message that the
     * compaction protocol's receives could meet. */
    char host[HOST_MAX] = "";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    host[HOST_MAX - 1] = '\0';
    char *all = ctx->rank == 0 ? calloc((size_t)ctx->size, HOST_MAX) : NULL;
    int bad = ctx->rank == 0 && !all;
    MPI_Bcast(&bad, 1, MPI_INT, 0, ctx->comm);
    if (!bad)
        MPI_Gather(host, HOST_MAX, MPI_CHAR, all, HOST_MAX, MPI_CHAR, 0, ctx->comm);
    if (ctx->rank != 0)
        return;
    if (!bad)
        distinct_hosts(p, all, ctx->size);
    free(all);
    iso_now(p->started, sizeof p->started);
    mc_hdf5_version(p->hdf5_version, sizeof p->hdf5_version);
    MPI_Get_library_version(p->mpi_library, &len);
    p->mpi_library[strcspn(p->mpi_library, "\n")] = '\0';
    MPI_Get_version(&p->mpi_major, &p->mpi_minor);
    p->command_line = join_args(argc, argv);
    p->ranks = ctx->size;
    char real[PATH_MAX];
    p->store = strdup(realpath(store, real) ? real : store);
    if (m) {
        p->params = *mc_manifest_params(m);
        count_levels(m, p->before, &p->levels);
    }
}

void mc_provenance_end(mc_provenance *p, const mc_manifest *m)
{
    iso_now(p->ended, sizeof p->ended);
    if (m)
        count_levels(m, p->after, &p->levels);
}

static void levels_json(mc_json *j, const char *name, const mc_level_count *c, unsigned n)
{
    mc_json_array_begin(j, name);
    for (unsigned l = 0; l < n; l++) {
        mc_json_object_begin(j, NULL);
        mc_json_u64(j, "level", l);
        mc_json_u64(j, "segments", c[l].segments);
        mc_json_u64(j, "items", c[l].items);
        mc_json_u64(j, "bytes", c[l].bytes);
        mc_json_object_end(j);
    }
    mc_json_array_end(j);
}

void mc_provenance_json(mc_json *j, const mc_provenance *p)
{
    char mpi_version[16];
    snprintf(mpi_version, sizeof mpi_version, "%d.%d", p->mpi_major, p->mpi_minor);
    mc_json_u64(j, "schema_version", MC_REPORT_SCHEMA_VERSION);
    mc_json_object_begin(j, "tool");
    mc_json_str(j, "name", "mpicompact");
    mc_json_str(j, "version", mc_version());
    mc_json_object_end(j);
    mc_json_str(j, "hdf5_version", p->hdf5_version);
    mc_json_object_begin(j, "mpi");
    mc_json_str(j, "standard", mpi_version);
    mc_json_str(j, "library", p->mpi_library);
    mc_json_object_end(j);
    mc_json_str(j, "started", p->started);
    mc_json_str(j, "ended", p->ended);
    mc_json_str(j, "command_line", p->command_line ? p->command_line : "");
    mc_json_i64(j, "ranks", p->ranks);
    mc_json_array_begin(j, "hosts");
    for (const char *h = p->hosts; h && *h; h += strlen(h) + 1)
        mc_json_str(j, NULL, h);
    mc_json_array_end(j);
    mc_json_str(j, "store", p->store ? p->store : "");
    mc_json_object_begin(j, "params");
    mc_json_u64(j, "fanout", p->params.fanout);
    mc_json_u64(j, "l0_limit", p->params.l0_limit);
    mc_json_u64(j, "levels", p->params.levels);
    mc_json_u64(j, "segment_size", p->params.segment_size);
    mc_json_object_end(j);
    levels_json(j, "levels_before", p->before, p->levels);
    levels_json(j, "levels_after", p->after, p->levels);
}

void mc_provenance_free(mc_provenance *p)
{
    free(p->command_line);
    free(p->hosts);
    free(p->store);
    memset(p, 0, sizeof *p);
}
