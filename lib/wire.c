#include <string.h>

#include "btlimits.h"
#include "wire.h"

void
bt_wire_handshake(uint8_t out[BT_WIRE_HANDSHAKE_LEN],
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t peer_id[BT_WIRE_PEER_ID_LEN])
{
	out[0] = BT_WIRE_PSTRLEN;
	memcpy(out + 1, BT_WIRE_PSTR, BT_WIRE_PSTRLEN);
	memset(out + 20, 0, 8);		/* reserved: we advertise nothing */
	memcpy(out + 28, info_hash, BT_SHA1_LEN);
	memcpy(out + 48, peer_id, BT_WIRE_PEER_ID_LEN);
}

void
bt_wire_handshake_rsv(uint8_t out[BT_WIRE_HANDSHAKE_LEN],
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t peer_id[BT_WIRE_PEER_ID_LEN], unsigned rsv)
{
	bt_wire_handshake(out, info_hash, peer_id);
	if (rsv & BT_RSV_EXT)
		out[20 + 5] |= 0x10;	/* BEP 10 */
	if (rsv & BT_RSV_FAST)
		out[20 + 7] |= 0x04;	/* BEP 6 */
	if (rsv & BT_RSV_DHT)
		out[20 + 7] |= 0x01;	/* BEP 5 */
}

unsigned
bt_wire_reserved(const uint8_t *hs)
{
	unsigned rsv = 0;

	if (hs[20 + 5] & 0x10)
		rsv |= BT_RSV_EXT;
	if (hs[20 + 7] & 0x04)
		rsv |= BT_RSV_FAST;
	if (hs[20 + 7] & 0x01)
		rsv |= BT_RSV_DHT;
	return rsv;
}

int
bt_wire_handshake_check(const uint8_t *in, size_t n,
    const uint8_t info_hash[BT_SHA1_LEN],
    const uint8_t our_id[BT_WIRE_PEER_ID_LEN], struct bt_err *e)
{
	size_t k;

	/* Check the protocol string as far as it has come. */
	k = n < 20 ? n : 20;
	if (k > 0 && in[0] != BT_WIRE_PSTRLEN)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "handshake: not the BitTorrent protocol");
	if (k > 1 && memcmp(in + 1, BT_WIRE_PSTR, k - 1) != 0)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "handshake: not the BitTorrent protocol");
	if (n < 28)
		return BT_HS_PROTOCOL;
	/* The reserved bytes are ignored: extensions are tolerated. */
	if (n < 48)
		return BT_HS_INFO_HASH;
	if (memcmp(in + 28, info_hash, BT_SHA1_LEN) != 0)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "handshake: another torrent's info hash");
	if (n < BT_WIRE_HANDSHAKE_LEN)
		return BT_HS_PEER_ID;
	if (memcmp(in + 48, our_id, BT_WIRE_PEER_ID_LEN) != 0)
		return BT_HS_DONE;
	return bt_errf(e, BT_EX_DATAERR, -1,
	    "handshake: our own peer id (connected to ourselves)");
}

size_t
bt_wire_fixed_len(uint8_t id)
{
	switch (id) {
	case BT_MSG_CHOKE:
	case BT_MSG_UNCHOKE:
	case BT_MSG_INTERESTED:
	case BT_MSG_NOT_INTERESTED:
	case BT_MSG_HAVE_ALL:
	case BT_MSG_HAVE_NONE:
		return 1;
	case BT_MSG_HAVE:
	case BT_MSG_SUGGEST:
	case BT_MSG_ALLOWED_FAST:
		return 5;
	case BT_MSG_REQUEST:
	case BT_MSG_CANCEL:
	case BT_MSG_REJECT:
		return 13;
	case BT_MSG_PIECE:
		return 9;
	case BT_MSG_PORT:
		return 3;
	default:		/* bitfield, extended, unknown: payload apart */
		return 1;
	}
}

int
bt_wire_check_len(uint8_t id, uint32_t len, uint32_t npieces,
    uint32_t maxblock, struct bt_err *e)
{
	uint32_t want;

	if (len > BT_WIRE_MAX_MSG)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "message of %u bytes over the limit of %d (limit "
		    "BT_WIRE_MAX_MSG)", len, BT_WIRE_MAX_MSG);
	switch (id) {
	case BT_MSG_BITFIELD:
		want = 1 + (npieces + 7) / 8;
		if (len != want)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "bitfield of %u bytes for %u pieces", len - 1,
			    npieces);
		return 0;
	case BT_MSG_PIECE:
		if (len <= 9 || len - 9 > maxblock)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "piece message with a block of %ld bytes",
			    (long)len - 9);
		return 0;
	case BT_MSG_EXTENDED:
		if (len < 2)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "extended message without its id");
		return 0;
	case BT_MSG_CHOKE:
	case BT_MSG_UNCHOKE:
	case BT_MSG_INTERESTED:
	case BT_MSG_NOT_INTERESTED:
	case BT_MSG_HAVE_ALL:
	case BT_MSG_HAVE_NONE:
	case BT_MSG_HAVE:
	case BT_MSG_SUGGEST:
	case BT_MSG_ALLOWED_FAST:
	case BT_MSG_REQUEST:
	case BT_MSG_CANCEL:
	case BT_MSG_REJECT:
	case BT_MSG_PORT:
		want = (uint32_t)bt_wire_fixed_len(id);
		if (len != want)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "%s message of %u bytes, not %u",
			    bt_wire_msg_name(id), len, want);
		return 0;
	default:
		/* Unknown ids are skipped (BEP 3 leaves room for more). */
		return 0;
	}
}

int
bt_wire_bitfield_check(const uint8_t *bf, size_t n, uint32_t npieces,
    struct bt_err *e)
{
	unsigned spare;

	if (n != (npieces + 7) / 8)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "bitfield of %zu bytes for %u pieces", n, npieces);
	spare = (unsigned)(n * 8 - npieces);
	/* BEP 3: spare bits at the end are cleared; a peer that sets them
	 * does not know the torrent it claims to have. */
	if (spare > 0 && (bf[n - 1] & ((1u << spare) - 1)) != 0)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "bitfield with spare bits set");
	return 0;
}

size_t
bt_wire_simple(uint8_t out[5], uint8_t id)
{
	bt_put32(out, 1);
	out[4] = id;
	return 5;
}

size_t
bt_wire_have(uint8_t out[9], uint32_t index)
{
	bt_put32(out, 5);
	out[4] = BT_MSG_HAVE;
	bt_put32(out + 5, index);
	return 9;
}

size_t
bt_wire_request(uint8_t out[17], uint8_t id, uint32_t index, uint32_t begin,
    uint32_t len)
{
	bt_put32(out, 13);
	out[4] = id;
	bt_put32(out + 5, index);
	bt_put32(out + 9, begin);
	bt_put32(out + 13, len);
	return 17;
}

size_t
bt_wire_piece_hdr(uint8_t out[13], uint32_t index, uint32_t begin,
    uint32_t len)
{
	bt_put32(out, 9 + len);
	out[4] = BT_MSG_PIECE;
	bt_put32(out + 5, index);
	bt_put32(out + 9, begin);
	return 13;
}

size_t
bt_wire_keepalive(uint8_t out[4])
{
	bt_put32(out, 0);
	return 4;
}

const char *
bt_wire_msg_name(uint8_t id)
{
	static const char *name[] = {
		"choke", "unchoke", "interested", "not interested", "have",
		"bitfield", "request", "piece", "cancel", "port", NULL, NULL,
		NULL, "suggest", "have all", "have none", "reject",
		"allowed fast", NULL, NULL, "extended",
	};

	if (id < sizeof(name) / sizeof(name[0]) && name[id] != NULL)
		return name[id];
	return "unknown";
}
