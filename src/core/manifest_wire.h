/* manifest_wire: a manifest and segment descriptors as bytes, for messages.
 *
 * Little-endian, self-delimiting; decoders check every length against the
 * end of the buffer and return MC_EPROTO for anything malformed. The
 * manifest encoding carries params, generation, next segno/seq and every
 * entry with its level; decoding rebuilds it through mc_manifest_add(), so
 * the manifest invariants are checked again on the receiving side. */
#ifndef MC_MANIFEST_WIRE_H
#define MC_MANIFEST_WIRE_H

#include "buf.h"
#include "manifest.h"

mc_status mc_seg_meta_encode(mc_buf *b, const mc_seg_meta *meta, mc_err *err);
/* Reads one descriptor at *P (advanced past it), not beyond END. *META owns its keys. */
mc_status mc_seg_meta_decode(const uint8_t **p, const uint8_t *end, mc_seg_meta *meta, mc_err *err);

mc_status mc_manifest_encode(const mc_manifest *m, mc_buf *b, mc_err *err);
mc_status mc_manifest_decode(const uint8_t *p, size_t len, mc_manifest **out, mc_err *err);

#endif
