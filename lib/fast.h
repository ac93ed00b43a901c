/*
 * BEP 6, the fast extension: the canonical allowed fast set. Pure: the
 * same peer address and info hash give the same pieces on every client,
 * so that a peer reconnecting from another port of its /24 gets no more.
 */
#ifndef BT_FAST_H
#define BT_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "peerlist.h"

/*
 * The first k pieces of the allowed fast set of the peer at IPv4 address
 * ip (4 bytes, network order; only its /24 counts) for info_hash, into
 * out (room for k), in BEP 6's order. k above npieces is cut to npieces
 * (every piece is then allowed). Returns the number written.
 */
size_t bt_fast_allowed(const uint8_t ip[4], const uint8_t info_hash[20],
    uint32_t npieces, size_t k, uint32_t *out);

/*
 * The same for a peer's address: an IPv4 one, or IPv4 mapped into IPv6;
 * any other IPv6 peer has none (BEP 6 defines the set for IPv4 only),
 * and 0 is returned.
 */
size_t bt_fast_allowed_addr(const struct bt_peer_addr *a,
    const uint8_t info_hash[20], uint32_t npieces, size_t k, uint32_t *out);

#endif
