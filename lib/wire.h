/*
 * The peer wire protocol (BEP 3): the handshake, message framing, and the
 * encoding and length checks of each message. No I/O here: the engine
 * (swarm) reads bytes and asks this module what they mean and how many
 * more it needs. Every length is checked against the message's type
 * before its payload is read, as Transmission's messageLengthIsCorrect()
 * does: choke is 1 byte, have 5, a bitfield exactly fits the piece count.
 */
#ifndef BT_WIRE_H
#define BT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sha1.h"
#include "util.h"

/* BEP 3: <19>"BitTorrent protocol"<8 reserved><info hash><peer id> */
#define BT_WIRE_PSTR		"BitTorrent protocol"
#define BT_WIRE_PSTRLEN		19
#define BT_WIRE_HANDSHAKE_LEN	68
#define BT_WIRE_PEER_ID_LEN	20

/* Length prefix and id: every message but keep-alive starts with these. */
#define BT_WIRE_PREFIX_LEN	4
/* Prefix, id, index and begin: what precedes a block's bytes. */
#define BT_WIRE_PIECE_HDR_LEN	13
/* Longest fixed part of any message we parse in full (request, cancel). */
#define BT_WIRE_MAX_FIXED	17

enum bt_msg_id {
	BT_MSG_CHOKE = 0,
	BT_MSG_UNCHOKE = 1,
	BT_MSG_INTERESTED = 2,
	BT_MSG_NOT_INTERESTED = 3,
	BT_MSG_HAVE = 4,
	BT_MSG_BITFIELD = 5,
	BT_MSG_REQUEST = 6,
	BT_MSG_PIECE = 7,
	BT_MSG_CANCEL = 8,
	BT_MSG_PORT = 9,		/* BEP 5 */
	BT_MSG_SUGGEST = 13,		/* BEP 6, from here to ALLOWED_FAST */
	BT_MSG_HAVE_ALL = 14,
	BT_MSG_HAVE_NONE = 15,
	BT_MSG_REJECT = 16,
	BT_MSG_ALLOWED_FAST = 17,
	BT_MSG_EXTENDED = 20,		/* BEP 10 */
};

/*
 * The handshake's explicit states, in the order its bytes arrive, so that
 * a wrong protocol or info hash ends the connection as soon as it is seen.
 */
enum bt_hs_state {
	BT_HS_PROTOCOL,		/* want pstrlen, pstr, reserved (28 bytes) */
	BT_HS_INFO_HASH,	/* want the info hash (20 bytes) */
	BT_HS_PEER_ID,		/* want the peer id (20 bytes) */
	BT_HS_DONE,
};

/*
 * Bits of the 8 reserved handshake bytes, as flags of our own (the byte
 * and mask each stands for are in wire.c): BEP 10 extension protocol,
 * BEP 6 fast extension, BEP 5 DHT.
 */
#define BT_RSV_EXT	0x1u	/* reserved[5] & 0x10 */
#define BT_RSV_FAST	0x2u	/* reserved[7] & 0x04 */
#define BT_RSV_DHT	0x4u	/* reserved[7] & 0x01 */

/* Our handshake: no extension bits advertised (reserved all zero). */
void bt_wire_handshake(uint8_t out[BT_WIRE_HANDSHAKE_LEN],
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t peer_id[BT_WIRE_PEER_ID_LEN]);
/* The same, advertising the BT_RSV_* bits in rsv. */
void bt_wire_handshake_rsv(uint8_t out[BT_WIRE_HANDSHAKE_LEN],
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t peer_id[BT_WIRE_PEER_ID_LEN], unsigned rsv);
/* The BT_RSV_* bits set in a handshake's bytes 20..27 (hs[0..27] read). */
unsigned bt_wire_reserved(const uint8_t *hs);

/*
 * Check the first n bytes (n <= 68) of a peer's handshake. Returns the
 * state reached (BT_HS_DONE once all 68 bytes are in and good), or -1
 * with the reason: not BitTorrent, another torrent, or our own peer id.
 */
int bt_wire_handshake_check(const uint8_t *in, size_t n,
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t our_id[BT_WIRE_PEER_ID_LEN], struct bt_err *e);

/*
 * Bytes of a message (after the 4-byte prefix, counting the id) that we
 * read in full into a small buffer before acting on it: the whole message
 * for the fixed-size ones, the 9 bytes before the block for piece, only
 * the id for bitfield and the ones whose payload we skip.
 */
size_t bt_wire_fixed_len(uint8_t id);

/*
 * Check a message's length (the prefix value, which counts the id) against
 * its type, before any payload is read. npieces is the torrent's piece
 * count (for bitfield), maxblock the longest block we ask for. Unknown
 * ids and extension messages are accepted up to BT_WIRE_MAX_MSG (their
 * payload is skipped). -1 with the reason if the length is wrong.
 */
int bt_wire_check_len(uint8_t id, uint32_t len, uint32_t npieces,
    uint32_t maxblock, struct bt_err *e);

/*
 * A bitfield's payload: exactly ceil(npieces / 8) bytes (checked by
 * bt_wire_check_len) with the spare bits at the end clear (BEP 3).
 */
int bt_wire_bitfield_check(const uint8_t *bf, size_t n, uint32_t npieces,
    struct bt_err *e);

static inline int
bt_bit_get(const uint8_t *bf, uint32_t i)
{
	return (bf[i >> 3] >> (7 - (i & 7))) & 1;
}

static inline void
bt_bit_set(uint8_t *bf, uint32_t i)
{
	bf[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
}

static inline void
bt_bit_clear(uint8_t *bf, uint32_t i)
{
	bf[i >> 3] &= (uint8_t)~(0x80 >> (i & 7));
}

/* A message without payload (choke .. not interested, have all/none). */
size_t bt_wire_simple(uint8_t out[5], uint8_t id);
/* have: 9 bytes. */
size_t bt_wire_have(uint8_t out[9], uint32_t index);
/* request or cancel (or reject): 17 bytes. */
size_t bt_wire_request(uint8_t out[17], uint8_t id, uint32_t index,
    uint32_t begin, uint32_t len);
/* The 13 bytes before a block's data in a piece message. */
size_t bt_wire_piece_hdr(uint8_t out[13], uint32_t index, uint32_t begin,
    uint32_t len);
/* keep-alive: the 4 zero bytes. */
size_t bt_wire_keepalive(uint8_t out[4]);

/* A readable name of a message id, for messages to people. */
const char *bt_wire_msg_name(uint8_t id);

#endif
