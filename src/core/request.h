/* request: one compaction as the coordinator asks for it and as the worker
 * answers, the worker's check of a request, the coordinator's validation of
 * a response, and applying a validated response to the manifest as one unit.
 *
 * A request merges inputs[0..nuppers) (at upper_level) with the lowers
 * inputs[nuppers..ninputs) (at out_level, sorted by key, not overlapping
 * each other, each overlapping the key range of the uppers).
 *   - Only items with key in [lo, hi] are this request's (lo/hi absent =
 *     unbounded); the lowers lie wholly inside [lo, hi].
 *   - sticky: items with key > split go back to upper_level (the lower level
 *     must not get overlapping segments when not every overlapping lower
 *     could be taken); items <= split go to out_level.
 *   - For each key the version with the highest seq survives.
 *   - A delete at seq s of key k is dropped only if MC_REQ_KEEP_DELETES is
 *     clear and no guard covers k with guard.min_seq < s: the guards are the
 *     segments outside the inputs that could hold an older version of a key
 *     in range (docs/COMPACTION.md).
 *   - Outputs use only the allocated segnos, each at most once, taken in
 *     order (mc_request_segno_at), split when a segment reaches
 *     segment_size key+value bytes.
 * Allocated output segnos are runs of consecutive numbers, never an
 * expanded list: a picked request has one run whatever its size (its
 * mc_request_max_outputs() segnos), a unit joined from slices one per slice.
 * The runs are sorted by first segno and disjoint, each has count >= 1, no
 * segno 0, first + count does not overflow; at most MC_REQUEST_MAX_RUNS runs
 * and MC_REQUEST_MAX_SEGNOS segnos in all (what the worker and the wire
 * accept). A non-NULL runs array has room for at least one run.
 * Ownership: everything a request or response points to is owned by it and
 * freed by the matching _clear(). */
#ifndef MC_REQUEST_H
#define MC_REQUEST_H

#include "manifest.h"

enum {
    MC_REQ_KEEP_DELETES = 1u << 0,
    MC_REQ_STICKY = 1u << 1,
    MC_REQ_HAS_LO = 1u << 2,
    MC_REQ_HAS_HI = 1u << 3,
};
#define MC_REQ_KNOWN_FLAGS 0xfu

typedef struct mc_key {
    uint8_t *p;     /* owned */
    size_t len;
} mc_key;

/* Segnos first, first + 1, ..., first + count - 1. */
typedef struct mc_segno_run {
    uint64_t first, count;
} mc_segno_run;

#define MC_REQUEST_MAX_RUNS 4096
/* Far above any real request (1 PiB of inputs at the smallest segment size);
 * nothing is allocated per segno, so it only catches nonsense. */
#define MC_REQUEST_MAX_SEGNOS ((uint64_t)1 << 40)

typedef struct mc_guard {
    mc_key lo, hi;
    uint64_t min_seq;
} mc_guard;

typedef struct mc_request {
    uint64_t id;             /* unique within a job; never reused */
    uint8_t upper_level, out_level;
    uint32_t flags;
    uint64_t segment_size;
    size_t nuppers, ninputs;
    mc_seg_meta *inputs;     /* ninputs entries, uppers first */
    mc_key lo, hi, split;    /* meaningful under HAS_LO / HAS_HI / STICKY */
    size_t nruns;
    mc_segno_run *runs;      /* output segnos allocated to it (rules at the top) */
    size_t nguards;
    mc_guard *guards;
} mc_request;

typedef struct mc_compact_stats {
    uint64_t items_in, bytes_in, items_out, bytes_out;
    uint64_t deletes_dropped, overwrites_dropped;
    uint64_t duplicates_dropped;   /* identical copies of a kept version (same key, seq, content) */
    double seconds;          /* wall time the worker spent on it */
} mc_compact_stats;

typedef struct mc_response {
    uint64_t id;
    int32_t status;          /* mc_status; MC_OK when the outputs are valid */
    int32_t sys_errno;
    char msg[512];
    size_t noutputs;
    mc_seg_meta *outputs;    /* each with its level set */
    mc_compact_stats stats;
} mc_response;

void mc_key_clear(mc_key *k);
mc_status mc_key_set(mc_key *k, const uint8_t *p, size_t len, mc_err *err);
void mc_request_clear(mc_request *req);
void mc_response_clear(mc_response *resp);
mc_status mc_request_copy(mc_request *dst, const mc_request *src, mc_err *err);

/* Drops the guards that cannot cover a key in REQ's [lo, hi] (a slice
 * carries only the guards of its own range). */
mc_status mc_request_trim_guards(mc_request *req, mc_err *err);

/* Upper bound of output segments REQ can produce (what to allocate). */
uint64_t mc_request_max_outputs(const mc_request *req);

/* REQ's output segnos become the one run FIRST..FIRST+COUNT-1. Reuses its
 * runs array when it has one (then it cannot fail). */
mc_status mc_request_set_run(mc_request *req, uint64_t first, uint64_t count, mc_err *err);
/* How many output segnos REQ was allocated (the sum of its runs). */
uint64_t mc_request_segno_count(const mc_request *req);
/* The I-th allocated segno in run order. REQUIRES i < mc_request_segno_count(). */
uint64_t mc_request_segno_at(const mc_request *req, uint64_t i);
/* True when one of REQ's runs holds SEGNO (binary search: runs sorted). */
bool mc_request_owns_segno(const mc_request *req, uint64_t segno);
/* NULL when RUNS[0..n) keep the rules at the top, else what is wrong, with
 * *AT the index of the first offending run. */
const char *mc_segno_runs_fault(const mc_segno_run *runs, size_t n, size_t *at);

/* Worker side: known flags, segno runs keep their rules, no input segno
 * twice or inside a run, uppers at upper_level and lowers at out_level =
 * upper_level + 1 (or = upper_level when there are no lowers, a rewrite in
 * place), lowers sorted and not overlapping each other, every lower
 * overlaps the uppers' range and lies inside [lo, hi]. */
mc_status mc_request_check(const mc_request *req, mc_err *err);

/* Coordinator side, using its own copy of the request: ids match, every
 * output segno lies in one of its runs and is used once, levels are
 * out_level or (sticky leftovers) upper_level, outputs at a level >= 1 do
 * not overlap each other and lie inside [lo, hi], metadata is sane. */
mc_status mc_response_validate(const mc_request *req, const mc_response *resp, mc_err *err);

/* Removes the inputs from M and adds the outputs, all or nothing: on failure
 * M is unchanged. REQUIRES mc_response_validate() passed. */
mc_status mc_manifest_apply(mc_manifest *m, const mc_request *req, const mc_response *resp, mc_err *err);

#endif
