/* cores: CPUs per host for the coordinator's concurrency cap (cores.h). */
#include "cores.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What each rank sends: its host and the CPUs it may run on (its affinity
 * mask: Slurm's cgroup or mpirun's binding; all online CPUs when it cannot
 * be read). A host's count is the union over its ranks: ranks bound to one
 * core each count one each, a job confined to 8 CPUs of a 64-CPU node
 * counts 8. */
typedef struct rank_info {
    char host[MPI_MAX_PROCESSOR_NAME];
    cpu_set_t cpus;
} rank_info;

static void my_cpus(cpu_set_t *set)
{
    CPU_ZERO(set);
    if (sched_getaffinity(0, sizeof *set, set) == 0 && CPU_COUNT(set) > 0)
        return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(set);
    for (long i = 0; i < (n > 0 ? n : 1) && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, set);
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
    my_cpus(&mine.cpus);
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
        cpu_set_t *sets = calloc(n, sizeof *sets);  /* per host: the union of its ranks' CPUs */
        for (size_t r = 0; r < n && first && sets; r++) {
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
            CPU_OR(&sets[node], &sets[node], &all[r].cpus);
            out->cores[node] = fixed ? fixed : (unsigned)CPU_COUNT(&sets[node]);
        }
        bad = !first || !sets;
        free(first);
        free(sets);
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
