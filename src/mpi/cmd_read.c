/* cmd_read: `mpicompact get STORE KEY` and `mpicompact scan STORE [--from KEY] [--to KEY] [--limit N]
 * [--keys-only] [--count] [--format text|json]` (rank 0 reads). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "err.h"
#include "escape.h"
#include "json.h"
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

/* How scan prints (get: one value, no options). */
typedef struct scan_opts {
    uint64_t limit;    /* items at most; UINT64_MAX: all */
    bool keys_only;
    bool count;        /* only the number of items */
    bool json;         /* JSON lines instead of KEY<TAB>VALUE */
} scan_opts;

/* The JSON lines format: {"key": K, "value": V}, K and V in the text
 * format's escapes (escape.h) inside JSON strings, so that any bytes come
 * back exactly. MEM is a memory stream whose buffer is *BUF. */
static void json_escaped(mc_json *j, const char *name, FILE *mem, char **buf, const uint8_t *p, size_t n, bool arg)
{
    rewind(mem);
    if (arg)
        mc_escape_write_arg(mem, p, n);
    else
        mc_escape_write(mem, p, n);
    putc('\0', mem);
    fflush(mem);
    mc_json_str(j, name, *buf);
}

static void print_item(FILE *out, const scan_opts *o, const mc_item *it, FILE *mem, char **buf)
{
    if (o->json) {
        mc_json j;
        mc_json_init(&j, out, false);
        mc_json_object_begin(&j, NULL);
        json_escaped(&j, "key", mem, buf, it->key, it->key_len, true);
        if (!o->keys_only)
            json_escaped(&j, "value", mem, buf, it->value, it->value_len, false);
        mc_json_object_end(&j);
        mc_json_finish(&j);
        return;
    }
    mc_escape_write_arg(out, it->key, it->key_len);
    if (!o->keys_only) {
        putc('\t', out);
        mc_escape_write(out, it->value, it->value_len);
    }
    putc('\n', out);
}

/* One pass: loads the manifest and prints the view over [lo, hi] per MODE;
 * *found once something was printed. *generation: the one read (0 when
 * the load failed). */
static mc_status read_pass(const mc_cli_ctx *ctx, const char *store, read_mode mode, const scan_opts *o,
                           const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len, bool *found,
                           uint64_t *generation, mc_err *err)
{
    mc_manifest *m = NULL;
    mc_view *v = NULL;
    char *membuf = NULL;
    size_t memlen = 0;
    FILE *mem = NULL;
    uint64_t n = 0;
    *generation = 0;
    if (mode == READ_SCAN && o->json && !(mem = open_memstream(&membuf, &memlen)))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "scan: out of memory");
    mc_status st = mc_view_load_manifest(store, &m, err);
    if (st == MC_OK) {
        *generation = mc_manifest_generation(m);
        st = mc_view_open(store, m, lo, lo_len, hi, hi_len, &v, err);
    }
    for (bool eof = false; st == MC_OK && (mode == READ_GET || n < o->limit);) {
        mc_item it;
        st = mc_view_next(v, &it, &eof, err);
        if (st != MC_OK || eof)
            break;
        n++;
        if (mode == READ_SCAN && o->count)
            continue;   /* printed at the end */
        if (mode == READ_SCAN) {
            print_item(ctx->out, o, &it, mem, &membuf);
        } else {
            mc_escape_write(ctx->out, it.value, it.value_len);
            putc('\n', ctx->out);
        }
        *found = true;
        if (mode == READ_GET || ferror(ctx->out))
            break;   /* no use reading on when nothing gets out */
    }
    if (st == MC_OK && mode == READ_SCAN && o->count) {
        if (o->json) {
            mc_json j;
            mc_json_init(&j, ctx->out, false);
            mc_json_object_begin(&j, NULL);
            mc_json_u64(&j, "count", n);
            mc_json_object_end(&j);
            mc_json_finish(&j);
        } else
            fprintf(ctx->out, "%" PRIu64 "\n", n);
        *found = true;
    }
    mc_view_close(&v);
    mc_manifest_destroy(&m);
    if (mem)
        fclose(mem);
    free(membuf);
    return st;
}

/* Rank 0's work: the view over [lo, hi], printed per MODE. A pass that
 * failed before printing anything because a commit moved the store to
 * another generation (view.h) starts over on the new one. */
static int read_store(const mc_cli_ctx *ctx, const char *store, read_mode mode, const scan_opts *o,
                      const char *key_text, const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len)
{
    mc_err err;
    mc_err_clear(&err);
    int rc = MC_EXIT_FAIL;
    bool found = false;
    mc_status st = MC_OK;
    for (int attempt = 0; attempt < MC_VIEW_ATTEMPTS; attempt++) {
        uint64_t generation = 0;
        st = read_pass(ctx, store, mode, o, lo, lo_len, hi, hi_len, &found, &generation, &err);
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
            rc = read_store(ctx, cl.pos[0], READ_GET, NULL, cl.pos[1], key, len, key, len);
        rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    }
    free(key);
    mc_cmdline_free(&cl);
    return rc;
}

enum { O_FROM, O_TO, O_LIMIT, O_KEYS_ONLY, O_COUNT, O_FORMAT };
static const mc_opt_spec scan_specs[] = {
    [O_FROM] = {"from", true, "KEY", "the first key", "inclusive low bound (escapes as in KEY)"},
    [O_TO] = {"to", true, "KEY", "the last key", "inclusive high bound"},
    [O_LIMIT] = {"limit", true, "N", "no limit", "stop after N items"},
    [O_KEYS_ONLY] = {"keys-only", false, NULL, "off", "print keys without values"},
    [O_COUNT] = {"count", false, NULL, "off", "print only the number of live items (with --limit: at most N)"},
    [O_FORMAT] = {"format", true, "text|json", "text",
                  "text: KEY<TAB>VALUE lines; json: one {\"key\", \"value\"} object per line"},
    {NULL, false, NULL, NULL, NULL},
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
    scan_opts o = {.limit = UINT64_MAX, .keys_only = cl.value[O_KEYS_ONLY] != NULL, .count = cl.value[O_COUNT] != NULL};
    if (rc == MC_EXIT_OK)
        rc = mc_opt_u64(ctx, "scan", "--limit", cl.value[O_LIMIT], &o.limit);
    const char *format = cl.value[O_FORMAT] ? cl.value[O_FORMAT] : "text";
    if (rc == MC_EXIT_OK && strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
        rc = mc_usage_error(ctx, "scan", "--format %s: text or json", format);
    o.json = strcmp(format, "json") == 0;
    if (rc == MC_EXIT_OK) {
        if (ctx->rank == 0)
            rc = read_store(ctx, cl.pos[0], READ_SCAN, &o, NULL, from, from_len, to, to_len);
        rc = (int)mc_bcast_u64_quiet((uint64_t)rc, 0, ctx->comm);
    }
    free(from);
    free(to);
    mc_cmdline_free(&cl);
    return rc;
}
