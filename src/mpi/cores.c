/* cores: CPUs per host for the coordinator's concurrency cap (cores.h). */
#include "cores.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What each rank sends: its host and its CPUs. */
typedef struct rank_info {
    char host[MPI_MAX_PROCESSOR_NAME];
    unsigned cpus;
} rank_info;

static unsigned my_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static unsigned env_cores(void)
{
    const char *v = getenv("MPICOMPACT_CORES");
    if (!v || !*v)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    return *end || n == 0 || n > 1u << 20 ? 0 : (unsigned)n;
}

void mc_cores_gather(const mc_cli_ctx *ctx, mc_cores *out)
{
    memset(out, 0, sizeof *out);
    rank_info mine;
    memset(&mine, 0, sizeof mine);
    int len = 0;
    MPI_Get_processor_name(mine.host, &len);
    mine.host[sizeof mine.host - 1] = '\0';
    mine.cpus = my_cpus();
    size_t n = (size_t)ctx->size;
    rank_info *all = NULL;
    int bad = 0;
    if (ctx->rank == 0) {
        all = calloc(n, sizeof *all);
        out->node_of = calloc(n, sizeof *out->node_of);
        out->cores = calloc(n, sizeof *out->cores);
        bad = !all || !out->node_of || !out->cores;
    }
    /* A collective of fixed-size records: no point-to-point message that
     * the compaction protocol's receives could meet. */
    MPI_Bcast(&bad, 1, MPI_INT, 0, ctx->comm);
    if (!bad)
        MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0, ctx->comm);
    if (ctx->rank == 0 && !bad) {
        unsigned fixed = env_cores();
        size_t *first = calloc(n, sizeof *first);   /* a rank of each host */
        for (size_t r = 0; r < n && first; r++) {
            size_t node = out->nnodes;
            if (r > 0 && strcmp(all[r - 1].host, all[r].host) == 0)
                node = (size_t)out->node_of[r - 1];   /* ranks of a host are usually consecutive */
            for (size_t k = 0; k < out->nnodes && node == out->nnodes; k++)
                if (strcmp(all[first[k]].host, all[r].host) == 0)
                    node = k;
            if (node == out->nnodes) {
                first[node] = r;
                out->cores[out->nnodes++] = 0;
            }
            out->node_of[r] = (int)node;
            unsigned c = fixed ? fixed : all[r].cpus;
            if (c > out->cores[node])
                out->cores[node] = c;
        }
        bad = !first;
        free(first);
    }
    free(all);
    if (bad)
        mc_cores_free(out);
}

void mc_cores_free(mc_cores *c)
{
    free(c->node_of);
    free(c->cores);
    memset(c, 0, sizeof *c);
}
