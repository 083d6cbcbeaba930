/* segment_raw: segment datasets read with pread and checked by our Fletcher32 (segment_raw.h). */
#include "segment_raw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

mc_status mc_raw_col_init(mc_raw_col *c, const mc_h5_col *col, hid_t dset, uint64_t file_size, uint64_t max_chunks,
                          bool *usable, const char *path, mc_err *err)
{
    *c = (mc_raw_col){.fd = -1, .held_chunk = UINT64_MAX, .held_piece = UINT64_MAX, .checked_chunk = UINT64_MAX};
    *usable = false;
    if (!col->direct || col->chunk_elems == 0)
        return MC_OK;
    c->esize = (size_t)col->type;
    c->len = col->len;
    c->chunk_elems = col->chunk_elems;
    c->chunk_bytes = col->chunk_elems * (uint64_t)c->esize;
    c->nchunks = c->len / c->chunk_elems + (c->len % c->chunk_elems != 0);
    c->piece = c->chunk_bytes <= MC_RAW_PIECE_MAX ? c->chunk_bytes : MC_RAW_PIECE;
    if (c->nchunks > max_chunks)
        return MC_OK;   /* HDF5 reads it, its file kept open */
    if (c->nchunks == 0) {
        *usable = true;
        return MC_OK;
    }
    if (c->nchunks > SIZE_MAX / sizeof *c->addr || !(c->addr = malloc(c->nchunks * sizeof *c->addr)))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: out of memory for a chunk table of %llu chunks", path,
                          (unsigned long long)c->nchunks);
    for (uint64_t i = 0; i < c->nchunks; i++) {
        hsize_t off[1] = {i * c->chunk_elems}, size = 0;
        haddr_t addr = HADDR_UNDEF;
        unsigned mask = 0;
        if (H5Dget_chunk_info_by_coord(dset, off, &mask, &addr, &size) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return MC_OK;
        }
        if (addr == HADDR_UNDEF || mask != 0 || size != c->chunk_bytes + 4 || addr > file_size ||
            size > file_size - addr)
            return MC_OK;   /* HDF5 reads it some other way, or refuses it: leave it to HDF5 */
        c->addr[i] = addr;
    }
    *usable = true;
    return MC_OK;
}

void mc_raw_col_attach(mc_raw_col *c, int fd)
{
    c->fd = fd;
}

/* LEN bytes at file offset OFF of chunk IDX into BUF. */
static mc_status read_at(const mc_raw_col *c, const char *path, const char *name, uint64_t idx, uint8_t *buf,
                         uint64_t len, uint64_t off, mc_err *err)
{
    while (len > 0) {
        ssize_t got = pread(c->fd, buf, (size_t)len, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            return mc_err_set(err, mc_status_from_errno(e), e, "%s: dataset %s: chunk %llu: read failed: %s", path,
                              name, (unsigned long long)idx, strerror(e));
        }
        if (got == 0)
            return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: chunk %llu: the file ends inside it (truncated?)",
                              path, name, (unsigned long long)idx);
        buf += got;
        len -= (uint64_t)got;
        off += (uint64_t)got;
    }
    return MC_OK;
}

static uint32_t le32(const uint8_t *t)
{
    return (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
}

/* Bytes piece PC of a chunk holds (the last one may be shorter). */
static uint64_t piece_len(const mc_raw_col *c, uint64_t pc)
{
    uint64_t from = pc * c->piece;
    return c->chunk_bytes - from < c->piece ? c->chunk_bytes - from : c->piece;
}

/* Checks chunk IDX (larger than one piece) by reading it through the buffer. */
static mc_status check_pieced(mc_raw_col *c, const char *path, const char *name, uint64_t idx, mc_err *err)
{
    mc_fletcher32_state f = {0, 0};
    uint64_t npieces = (c->chunk_bytes + c->piece - 1) / c->piece;
    c->held_chunk = c->held_piece = UINT64_MAX;
    for (uint64_t pc = 0; pc < npieces; pc++) {
        uint64_t len = piece_len(c, pc);
        mc_status st = read_at(c, path, name, idx, c->buf, len, c->addr[idx] + pc * c->piece, err);
        if (st != MC_OK)
            return st;
        mc_fletcher32_update(&f, c->buf, (size_t)len);
    }
    uint8_t tail[4];
    mc_status st = read_at(c, path, name, idx, tail, 4, c->addr[idx] + c->chunk_bytes, err);
    if (st != MC_OK)
        return st;
    if (!mc_fletcher32_matches(le32(tail), mc_fletcher32_final(&f)))
        return mc_h5_checksum_fail(err, path, name);
    c->checked_chunk = idx;
    c->held_chunk = idx;
    c->held_piece = npieces - 1;
    return MC_OK;
}

/* Makes the buffer hold piece PC of chunk IDX, checked. */
static mc_status hold(mc_raw_col *c, const char *path, const char *name, uint64_t idx, uint64_t pc, mc_err *err)
{
    if (c->held_chunk == idx && c->held_piece == pc)
        return MC_OK;
    if (!c->buf && !(c->buf = malloc((size_t)c->piece + 4)))
        return mc_err_set(err, MC_ENOMEM, ENOMEM, "%s: dataset %s: out of memory for a chunk of %llu bytes", path,
                          name, (unsigned long long)c->piece);
    mc_status st;
    if (c->piece == c->chunk_bytes) {   /* the whole chunk and its checksum */
        c->held_chunk = UINT64_MAX;
        if ((st = read_at(c, path, name, idx, c->buf, c->chunk_bytes + 4, c->addr[idx], err)) != MC_OK)
            return st;
        if (!mc_fletcher32_matches(le32(c->buf + c->chunk_bytes), mc_fletcher32(c->buf, (size_t)c->chunk_bytes)))
            return mc_h5_checksum_fail(err, path, name);
        c->held_chunk = idx;
        c->held_piece = 0;
        return MC_OK;
    }
    if (c->checked_chunk != idx && (st = check_pieced(c, path, name, idx, err)) != MC_OK)
        return st;
    if (c->held_chunk == idx && c->held_piece == pc)
        return MC_OK;
    c->held_chunk = UINT64_MAX;
    if ((st = read_at(c, path, name, idx, c->buf, piece_len(c, pc), c->addr[idx] + pc * c->piece, err)) != MC_OK)
        return st;
    c->held_chunk = idx;
    c->held_piece = pc;
    return MC_OK;
}

mc_status mc_raw_col_read(mc_raw_col *c, const char *path, const char *name, uint64_t start, uint64_t n,
                          void *out, mc_err *err)
{
    uint8_t *o = out;
    if (n > c->len || start > c->len - n)
        return mc_err_set(err, MC_ECORRUPT, 0, "%s: dataset %s: elements %llu..%llu are beyond its %llu", path, name,
                          (unsigned long long)start, (unsigned long long)(start + n), (unsigned long long)c->len);
    while (n > 0) {
        uint64_t idx = start / c->chunk_elems, within = start % c->chunk_elems;
        uint64_t take = c->chunk_elems - within < n ? c->chunk_elems - within : n;
        uint64_t from = within * c->esize, left = take * c->esize;
        while (left > 0) {
            uint64_t pc = from / c->piece, at = from % c->piece;
            mc_status st = hold(c, path, name, idx, pc, err);
            if (st != MC_OK)
                return st;
            uint64_t k = piece_len(c, pc) - at < left ? piece_len(c, pc) - at : left;
            memcpy(o, c->buf + at, (size_t)k);
            o += k;
            from += k;
            left -= k;
        }
        start += take;
        n -= take;
    }
    return MC_OK;
}

void mc_raw_col_free(mc_raw_col *c)
{
    free(c->addr);
    free(c->buf);
    c->addr = NULL;
    c->buf = NULL;
    c->held_chunk = c->held_piece = c->checked_chunk = UINT64_MAX;
}
