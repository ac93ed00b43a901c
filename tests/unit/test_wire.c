#include <stdlib.h>

#include "btlimits.h"
#include "t.h"
#include "wire.h"

static const uint8_t ih[20] = "0123456789abcdefghij";
static const uint8_t us[20] = "-BT0001-ourselves!!!";
static const uint8_t them[20] = "-XX0001-someoneelse!";

static void
test_handshake(void)
{
	uint8_t h[BT_WIRE_HANDSHAKE_LEN];
	struct bt_err e;

	bt_wire_handshake(h, ih, them);
	T_OK(h[0] == 19 && memcmp(h + 1, "BitTorrent protocol", 19) == 0,
	    "handshake starts with the protocol string");
	T_OK(memcmp(h + 20, "\0\0\0\0\0\0\0\0", 8) == 0,
	    "handshake advertises no extension");
	T_OK(bt_wire_handshake_check(h, 0, ih, us, &e) == BT_HS_PROTOCOL,
	    "nothing yet: awaiting the protocol");
	T_OK(bt_wire_handshake_check(h, 27, ih, us, &e) == BT_HS_PROTOCOL,
	    "27 bytes: still awaiting the protocol");
	T_OK(bt_wire_handshake_check(h, 28, ih, us, &e) == BT_HS_INFO_HASH,
	    "28 bytes: awaiting the info hash");
	T_OK(bt_wire_handshake_check(h, 48, ih, us, &e) == BT_HS_PEER_ID,
	    "48 bytes: awaiting the peer id");
	T_OK(bt_wire_handshake_check(h, 68, ih, us, &e) == BT_HS_DONE,
	    "68 good bytes: done");
	h[28 + 5] ^= 1;
	T_OK(bt_wire_handshake_check(h, 48, ih, us, &e) < 0,
	    "another info hash is refused as soon as it is in");
	T_STREQ(e.msg, "handshake: another torrent's info hash",
	    "names the info hash");
	bt_wire_handshake(h, ih, us);
	T_OK(bt_wire_handshake_check(h, 68, ih, us, &e) < 0,
	    "our own peer id is refused");
	T_STREQ(e.msg, "handshake: our own peer id (connected to ourselves)",
	    "names our own peer id");
	h[3] = 'X';
	T_OK(bt_wire_handshake_check(h, 5, ih, us, &e) < 0,
	    "a wrong protocol string is refused from its first bytes");
	T_STREQ(e.msg, "handshake: not the BitTorrent protocol",
	    "names the protocol");
	h[0] = 'G';
	T_OK(bt_wire_handshake_check(h, 1, ih, us, &e) < 0,
	    "an HTTP request is refused at its first byte");
	/* Reserved bits set by the peer are fine. */
	bt_wire_handshake(h, ih, them);
	h[25] = 0x10;
	h[27] = 0x05;
	T_OK(bt_wire_handshake_check(h, 68, ih, us, &e) == BT_HS_DONE,
	    "reserved bits (BEP 10, BEP 6, DHT) are tolerated");
}

static void
test_reserved(void)
{
	uint8_t h[BT_WIRE_HANDSHAKE_LEN], plain[BT_WIRE_HANDSHAKE_LEN];
	struct bt_err e;
	unsigned i;

	bt_wire_handshake(plain, ih, us);
	bt_wire_handshake_rsv(h, ih, us, 0);
	T_OK(memcmp(h, plain, sizeof(h)) == 0,
	    "no bits asked: the same bytes as bt_wire_handshake");
	T_OK(bt_wire_reserved(h) == 0, "and no bits read back");

	bt_wire_handshake_rsv(h, ih, us, BT_RSV_EXT);
	T_OK(memcmp(h + 20, "\0\0\0\0\0\x10\0\0", 8) == 0,
	    "BEP 10: reserved[5] is 0x10");
	bt_wire_handshake_rsv(h, ih, us, BT_RSV_FAST);
	T_OK(memcmp(h + 20, "\0\0\0\0\0\0\0\x04", 8) == 0,
	    "BEP 6: reserved[7] is 0x04");
	bt_wire_handshake_rsv(h, ih, us, BT_RSV_DHT);
	T_OK(memcmp(h + 20, "\0\0\0\0\0\0\0\x01", 8) == 0,
	    "BEP 5: reserved[7] is 0x01");
	bt_wire_handshake_rsv(h, ih, us, BT_RSV_EXT | BT_RSV_FAST);
	T_OK(memcmp(h + 20, "\0\0\0\0\0\x10\0\x04", 8) == 0,
	    "extension and fast together");
	T_OK(memcmp(h, plain, 20) == 0 && memcmp(h + 28, plain + 28, 40) == 0,
	    "only the reserved bytes change");
	T_OK(bt_wire_handshake_check(h, 68, ih, them, &e) == BT_HS_DONE,
	    "a handshake with bits set passes the check");

	for (i = 0; i < 8; i++) {
		bt_wire_handshake_rsv(h, ih, us, i);
		T_OK(bt_wire_reserved(h) == i, "bits %u read back", i);
	}
	/* Extension, fast and DHT among bits other clients use for
	   their own extensions: only ours are read. */
	memset(h + 20, 0, 8);
	h[20] = 0x80;
	h[25] = 0x10 | 0x08;
	h[27] = 0x04 | 0x01 | 0x08;
	T_OK(bt_wire_reserved(h) == (BT_RSV_EXT | BT_RSV_FAST | BT_RSV_DHT),
	    "extension, fast and DHT read, other bits ignored");
	memset(h + 20, 0xff, 8);
	h[25] = (uint8_t)~0x10;
	h[27] = (uint8_t)~0x05;
	T_OK(bt_wire_reserved(h) == 0,
	    "every other bit set: none of ours read");
	memset(h + 20, 0xff, 8);
	T_OK(bt_wire_reserved(h) == (BT_RSV_EXT | BT_RSV_FAST | BT_RSV_DHT),
	    "every bit set: all of ours read");
}

static void
test_lengths(void)
{
	struct bt_err e;

	T_OK(bt_wire_check_len(BT_MSG_CHOKE, 1, 10, BT_BLOCK_LEN, &e) == 0,
	    "choke of 1 byte");
	T_OK(bt_wire_check_len(BT_MSG_CHOKE, 2, 10, BT_BLOCK_LEN, &e) < 0,
	    "choke of 2 bytes is refused");
	T_STREQ(e.msg, "choke message of 2 bytes, not 1", "names it");
	T_OK(bt_wire_check_len(BT_MSG_HAVE, 5, 10, BT_BLOCK_LEN, &e) == 0,
	    "have of 5 bytes");
	T_OK(bt_wire_check_len(BT_MSG_HAVE, 4, 10, BT_BLOCK_LEN, &e) < 0,
	    "have of 4 bytes is refused");
	T_OK(bt_wire_check_len(BT_MSG_REQUEST, 13, 10, BT_BLOCK_LEN, &e) == 0,
	    "request of 13 bytes");
	T_OK(bt_wire_check_len(BT_MSG_CANCEL, 14, 10, BT_BLOCK_LEN, &e) < 0,
	    "cancel of 14 bytes is refused");
	T_OK(bt_wire_check_len(BT_MSG_PORT, 3, 10, BT_BLOCK_LEN, &e) == 0,
	    "port of 3 bytes");
	T_OK(bt_wire_check_len(BT_MSG_HAVE_ALL, 1, 10, BT_BLOCK_LEN, &e) == 0,
	    "have all of 1 byte");
	T_OK(bt_wire_check_len(BT_MSG_BITFIELD, 3, 10, BT_BLOCK_LEN, &e) == 0,
	    "bitfield of 2 bytes for 10 pieces");
	T_OK(bt_wire_check_len(BT_MSG_BITFIELD, 4, 10, BT_BLOCK_LEN, &e) < 0,
	    "bitfield of 3 bytes for 10 pieces is refused");
	T_STREQ(e.msg, "bitfield of 3 bytes for 10 pieces", "names it");
	T_OK(bt_wire_check_len(BT_MSG_BITFIELD, 2, 10, BT_BLOCK_LEN, &e) < 0,
	    "bitfield of 1 byte for 10 pieces is refused");
	T_OK(bt_wire_check_len(BT_MSG_PIECE, 9 + BT_BLOCK_LEN, 10,
	    BT_BLOCK_LEN, &e) == 0, "piece with a 16 KiB block");
	T_OK(bt_wire_check_len(BT_MSG_PIECE, 10 + BT_BLOCK_LEN, 10,
	    BT_BLOCK_LEN, &e) < 0, "piece with a block over 16 KiB refused");
	T_OK(bt_wire_check_len(BT_MSG_PIECE, 9, 10, BT_BLOCK_LEN, &e) < 0,
	    "piece with an empty block refused");
	T_OK(bt_wire_check_len(BT_MSG_EXTENDED, 1, 10, BT_BLOCK_LEN, &e) < 0,
	    "extended message without its id refused");
	T_OK(bt_wire_check_len(BT_MSG_EXTENDED, 1000, 10, BT_BLOCK_LEN,
	    &e) == 0, "extended message accepted (to be skipped)");
	T_OK(bt_wire_check_len(99, 1000, 10, BT_BLOCK_LEN, &e) == 0,
	    "unknown id accepted (to be skipped)");
	T_OK(bt_wire_check_len(99, BT_WIRE_MAX_MSG + 1, 10, BT_BLOCK_LEN,
	    &e) < 0, "any message over BT_WIRE_MAX_MSG refused");
	T_STREQ(e.msg, "message of 1048593 bytes over the limit of 1048592 "
	    "(limit BT_WIRE_MAX_MSG)", "the refusal names BT_WIRE_MAX_MSG");
	T_OK(bt_wire_check_len(20, BT_WIRE_MAX_MSG, 10, BT_BLOCK_LEN, &e) == 0,
	    "an extension message of exactly BT_WIRE_MAX_MSG is taken");
	T_OK(bt_wire_check_len(BT_MSG_BITFIELD, 1 + (1u << 19), 1u << 22,
	    BT_BLOCK_LEN, &e) == 0, "bitfield of BT_MAX_PIECES fits");
}

static void
test_bitfield(void)
{
	uint8_t bf[2] = { 0xff, 0xc0 };
	struct bt_err e;

	T_OK(bt_wire_bitfield_check(bf, 2, 10, &e) == 0,
	    "10 pieces, spare bits clear");
	bf[1] = 0xc1;
	T_OK(bt_wire_bitfield_check(bf, 2, 10, &e) < 0,
	    "a spare bit set is refused");
	T_STREQ(e.msg, "bitfield with spare bits set", "names the spare bits");
	bf[1] = 0xff;
	T_OK(bt_wire_bitfield_check(bf, 2, 16, &e) == 0,
	    "16 pieces: no spare bits");
	T_OK(bt_wire_bitfield_check(bf, 1, 16, &e) < 0,
	    "short bitfield refused");
	memset(bf, 0, sizeof(bf));
	bt_bit_set(bf, 0);
	bt_bit_set(bf, 9);
	T_OK(bf[0] == 0x80 && bf[1] == 0x40, "bit 0 is the high bit (BEP 3)");
	T_OK(bt_bit_get(bf, 9) && !bt_bit_get(bf, 8), "bits read back");
}

static void
test_encode(void)
{
	uint8_t m[17];

	T_OK(bt_wire_request(m, BT_MSG_REQUEST, 1, 16384, 16384) == 17 &&
	    memcmp(m, "\0\0\0\x0d\x06\0\0\0\x01\0\0\x40\0\0\0\x40\0", 17) == 0,
	    "request encodes as BEP 3 says");
	T_OK(bt_wire_simple(m, BT_MSG_INTERESTED) == 5 &&
	    memcmp(m, "\0\0\0\x01\x02", 5) == 0, "interested encodes");
	T_OK(bt_wire_have(m, 258) == 9 &&
	    memcmp(m, "\0\0\0\x05\x04\0\0\x01\x02", 9) == 0, "have encodes");
	T_OK(bt_wire_piece_hdr(m, 2, 0, 100) == 13 && bt_get32(m) == 109 &&
	    m[4] == BT_MSG_PIECE, "piece header counts its block");
	T_OK(bt_wire_keepalive(m) == 4 && bt_get32(m) == 0,
	    "keep-alive is four zero bytes");
	T_STREQ(bt_wire_msg_name(BT_MSG_HAVE_NONE), "have none",
	    "message names");
	T_STREQ(bt_wire_msg_name(200), "unknown", "unknown message name");
}

int
main(void)
{
	test_handshake();
	test_reserved();
	test_lengths();
	test_bitfield();
	test_encode();
	return t_done();
}
