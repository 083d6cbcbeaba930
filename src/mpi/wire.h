/* wire: the compaction protocol's messages as bytes, and their transport.
 *
 * Tags (all messages go between rank 0 and one worker):
 *   MC_TAG_REQUEST   coordinator -> worker: an encoded mc_request
 *   MC_TAG_RESPONSE  worker -> coordinator: an encoded mc_response (success,
 *                    or an error carrying the request id, errno and message)
 *   MC_TAG_FAREWELL  worker -> coordinator, empty: the worker leaves; it has
 *                    stopped writing and will not answer what it was sent
 *   MC_TAG_STOP      coordinator -> worker, empty: the job is over
 *   MC_TAG_DONE      worker -> coordinator, empty: answer to STOP; the worker
 *                    has stopped writing and sends nothing after it
 *   MC_TAG_PROGRESS  worker -> coordinator, 16 bytes: the running request's
 *                    id and the input bytes it merged so far (u64 LE each);
 *                    best effort, for the progress display only; never
 *                    sent after that request's RESPONSE
 * Messages from one sender arrive in the order sent (MPI non-overtaking), so
 * a RESPONSE sent before a FAREWELL is always received before it.
 *
 * Encoding: little-endian, self-delimiting, a 4-byte magic per message kind.
 * A request's output segnos go as its runs (first, length), at most
 * MC_REQUEST_MAX_RUNS (request.h): neither the message nor what decoding
 * allocates grows with how many segnos it was allocated.
 * Segment descriptors use manifest_wire.h. Decoders check every length and
 * count against the end of the buffer, reject trailing bytes, keys longer
 * than MC_KEY_MAX and unknown status codes, and return MC_EPROTO for any of
 * it (the output is then left cleared). Decoded structs own their memory
 * (free with mc_request_clear / mc_response_clear). */
#ifndef MC_WIRE_H
#define MC_WIRE_H

#include <mpi.h>

#include "buf.h"
#include "request.h"

enum {
    MC_TAG_REQUEST = 301,
    MC_TAG_RESPONSE = 302,
    MC_TAG_FAREWELL = 303,
    MC_TAG_STOP = 304,
    MC_TAG_DONE = 305,
    MC_TAG_PROGRESS = 306,
};

#define MC_PROGRESS_SEND_INTERVAL 0.5   /* seconds between a worker's PROGRESS messages */

/* Appends the encoding to OUT (which may already hold bytes). */
mc_status mc_wire_encode_request(const mc_request *req, mc_buf *out, mc_err *err);
mc_status mc_wire_encode_response(const mc_response *resp, mc_buf *out, mc_err *err);
/* *REQ / *RESP is overwritten (not freed first): pass a zeroed struct. */
mc_status mc_wire_decode_request(const uint8_t *p, size_t len, mc_request *req, mc_err *err);
mc_status mc_wire_decode_response(const uint8_t *p, size_t len, mc_response *resp, mc_err *err);

/* The id of a request message whose header (magic and id) is intact, even
 * when the rest does not decode: a worker answers a malformed request with
 * an error carrying this id. False when the header itself is bad. */
bool mc_wire_request_id(const uint8_t *p, size_t len, uint64_t *id);

/* Receives the message STATUS announced (from an Iprobe/Probe) into OUT
 * (its previous content is replaced). */
mc_status mc_wire_recv(MPI_Comm comm, const MPI_Status *status, mc_buf *out, mc_err *err);
/* Blocking send of LEN bytes (the receiver must be receiving: workers
 * send to rank 0, which always is; rank 0 sends requests with MPI_Isend). */
mc_status mc_wire_send(MPI_Comm comm, int dest, int tag, const void *p, size_t len, mc_err *err);

#endif
