/*
 * lib/ext: the BEP 10 extension handshake, BEP 9 ut_metadata and BEP 11
 * ut_pex messages. Our encodings pinned byte for byte, every encoder
 * read back by its parser, BEP 9's own examples, and each refusal with
 * its message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "btlimits.h"
#include "ext.h"
#include "peerlist.h"
#include "t.h"
#include "wire.h"

#define S(lit)	(const uint8_t *)(lit), sizeof(lit) - 1

/*
 * Check the framing of the one extended message in b (length prefix, id
 * 20, extended id) and return its payload.
 */
static const uint8_t *
payload(const struct bt_buf *b, uint8_t id, size_t *n, const char *what)
{
	const uint8_t *p = (const uint8_t *)b->p;
	int ok = b->len >= 6 && bt_get32(p) == b->len - 4 && p[4] == 20 &&
	    p[5] == id;

	T_OK(ok, "%s: framed as extended message %u, length prefix right",
	    what, id);
	*n = ok ? b->len - 6 : 0;
	return ok ? p + 6 : (const uint8_t *)"";
}

/* The payload as a C string, for exact comparisons of bencoded text. */
static char *
text(const uint8_t *p, size_t n)
{
	static char s[4096];

	if (n >= sizeof(s))
		n = sizeof(s) - 1;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
test_hs_encode(void)
{
	struct bt_ext_hs_conf c = { 1, 31235, 1, 6881, 250, 0 };
	struct bt_buf b = { 0 };
	struct bt_ext_hs h;
	struct bt_err e;
	const uint8_t *p;
	size_t n;

	T_OK(bt_ext_hs_encode(&b, &c) == 0, "handshake encodes");
	p = payload(&b, 0, &n, "handshake");
	T_STREQ(text(p, n), "d1:md11:ut_metadatai1e6:ut_pexi2ee"
	    "13:metadata_sizei31235e1:pi6881e4:reqqi250e1:v6:bt/0.1e",
	    "our handshake, keys sorted, pinned");
	T_OK(bt_ext_hs_parse(p, n, &h, &e) == 0, "it parses back");
	T_OK(h.ut_metadata == BT_EXT_UT_METADATA && h.ut_pex == BT_EXT_UT_PEX,
	    "ids read back: ut_metadata %u, ut_pex %u", h.ut_metadata,
	    h.ut_pex);
	T_OK(h.metadata_size == 31235 && h.port == 6881 && h.reqq == 250 &&
	    h.upload_only == 0, "size, port, reqq, upload_only read back");
	T_STREQ(h.client, "bt/0.1", "client read back");
	bt_buf_free(&b);

	/* Nothing offered, not told: "m" stays, empty, and "v". */
	memset(&c, 0, sizeof(c));
	c.metadata_size = 99;	/* not told without ut_metadata */
	bt_ext_hs_encode(&b, &c);
	p = payload(&b, 0, &n, "bare handshake");
	T_STREQ(text(p, n), "d1:mde1:v6:bt/0.1e", "a bare handshake");
	T_OK(bt_ext_hs_parse(p, n, &h, &e) == 0 && h.ut_metadata == 0 &&
	    h.ut_pex == 0 && h.metadata_size == -1 && h.reqq == -1 &&
	    h.port == 0 && h.upload_only == 0,
	    "a bare handshake reads back as nothing offered");
	bt_buf_free(&b);

	/* A leecher without the metadata yet, upload_only (BEP 21). */
	c.metadata = 1;
	c.metadata_size = 0;
	c.upload_only = 1;
	bt_ext_hs_encode(&b, &c);
	p = payload(&b, 0, &n, "leecher handshake");
	T_STREQ(text(p, n), "d1:md11:ut_metadatai1ee11:upload_onlyi1e"
	    "1:v6:bt/0.1e", "no metadata_size until we have it");
	T_OK(bt_ext_hs_parse(p, n, &h, &e) == 0 && h.upload_only == 1 &&
	    h.metadata_size == -1, "upload_only read back");
	bt_buf_free(&b);

	/* Two messages appended one after the other. */
	bt_ext_hs_encode(&b, &c);
	n = b.len;
	bt_ext_hs_encode(&b, &c);
	T_OK(b.len == 2 * n && memcmp(b.p, b.p + n, n) == 0,
	    "encoders append to what the buffer holds");
	bt_buf_free(&b);
}

static void
test_hs_parse(void)
{
	struct bt_ext_hs h;
	struct bt_err e;
	uint8_t *big;

	/* libtorrent's, roughly: more keys than we know, all ignored. */
	T_OK(bt_ext_hs_parse(S("d12:complete_agoi-1e1:md11:lt_donthavei7e"
	    "10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e"
	    "11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei2891e1:pi6881e"
	    "4:reqqi500e11:upload_onlyi0e1:v17:libtorrent 2.0.11"
	    "6:yourip4:\x7f\0\0\1e"), &h, &e) == 0,
	    "a libtorrent handshake parses");
	T_OK(h.ut_metadata == 2 && h.ut_pex == 1 && h.metadata_size == 2891 &&
	    h.port == 6881 && h.reqq == 500 && h.upload_only == 0,
	    "its ids, size, port and reqq are read");
	T_STREQ(h.client, "libtorrent 2.0.11", "its client");

	T_OK(bt_ext_hs_parse(S("d1:md11:ut_metadatai0e6:ut_pexi3eee"), &h,
	    &e) == 0 && h.ut_metadata == 0 && h.ut_pex == 3,
	    "id 0 says an extension is off");
	T_OK(bt_ext_hs_parse(S("d1:md11:ut_metadatai256e6:ut_pex1:1ee"), &h,
	    &e) == 0 && h.ut_metadata == 0 && h.ut_pex == 0,
	    "an id over 255 or not an integer is taken as absent");
	T_OK(bt_ext_hs_parse(S("d1:md11:ut_metadatai-1eee"), &h, &e) == 0 &&
	    h.ut_metadata == 0, "a negative id is taken as absent");
	T_OK(bt_ext_hs_parse(S("d1:mli1eee"), &h, &e) == 0 &&
	    h.ut_metadata == 0, "an \"m\" that is not a dict: nothing offered");
	T_OK(bt_ext_hs_parse(S("de"), &h, &e) == 0 && h.ut_metadata == 0 &&
	    h.metadata_size == -1 && h.client[0] == '\0',
	    "an empty dict: nothing offered, nothing told");
	T_OK(bt_ext_hs_parse(S("d1:pi0e4:reqqi0ee"), &h, &e) == 0 &&
	    h.port == 0 && h.reqq == -1, "port 0 and reqq 0: not told");
	T_OK(bt_ext_hs_parse(S("d1:pi65536e4:reqqi-5ee"), &h, &e) == 0 &&
	    h.port == 0 && h.reqq == -1, "port 65536, reqq -5: not told");
	T_OK(bt_ext_hs_parse(S("d1:pi65535e4:reqqi2147483648ee"), &h,
	    &e) == 0 && h.port == 65535 && h.reqq == -1,
	    "port 65535 kept; reqq over INT_MAX not told");
	T_OK(bt_ext_hs_parse(S("d13:metadata_size1:5e"), &h, &e) == 0 &&
	    h.metadata_size == -1, "a metadata_size not an integer: absent");
	T_OK(bt_ext_hs_parse(S("d1:md6:ut_pexi1ee1:md11:ut_metadatai1eee"),
	    &h, &e) == 0 && h.ut_pex == 1 && h.ut_metadata == 0,
	    "a repeated key: the first one counts");
	T_OK(bt_ext_hs_parse(S("d1:v1:x1:md6:ut_pexi1eee"), &h, &e) == 0 &&
	    h.ut_pex == 1, "keys out of order are tolerated");

	/* "v": never trusted to be printable, NUL-free or short. */
	T_OK(bt_ext_hs_parse(S("d1:v11:a\0b\x1b[2J\\\xff\xc3\xa9" "e"), &h,
	    &e) == 0, "a hostile client name parses");
	T_STREQ(h.client, "a\\x00b\\x1b[2J\\x5c\\xff\xc3\xa9",
	    "NUL, escape, backslash, bad UTF-8 escaped; good UTF-8 kept");
	T_OK(bt_ext_hs_parse(S("d1:v100:"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "01234567890123456789e"), &h, &e) == 0 &&
	    strlen(h.client) == sizeof(h.client) - 1 &&
	    memcmp(h.client, "0123456789", 10) == 0,
	    "a long client name is cut to fit");
	T_OK(bt_ext_hs_parse(S("d1:v200:"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01" "e"), &h, &e) == 0 &&
	    strlen(h.client) == 60 &&
	    memcmp(h.client, "\\x01\\x01", 8) == 0,
	    "escapes are cut whole, never in the middle");

	/* Refusals. */
	T_OK(bt_ext_hs_parse(S("li1ee"), &h, &e) < 0 &&
	    e.status == BT_EX_DATAERR, "a list is refused");
	T_STREQ(e.msg, "extension handshake: not a dict", "says not a dict");
	T_OK(bt_ext_hs_parse(S(""), &h, &e) < 0, "an empty payload is refused");
	T_OK(strncmp(e.msg, "extension handshake: ", 21) == 0,
	    "the bencode error is prefixed: %s", e.msg);
	T_OK(bt_ext_hs_parse(S("d1:md11:ut_metadatai1ee"), &h, &e) < 0,
	    "a truncated dict is refused");
	T_OK(bt_ext_hs_parse(S("d1:mdeeX"), &h, &e) < 0 &&
	    strncmp(e.msg, "extension handshake: ", 21) == 0,
	    "bytes after the dict are refused: %s", e.msg);
	T_OK(bt_ext_hs_parse(S("d13:metadata_sizei0ee"), &h, &e) < 0 &&
	    e.status == BT_EX_DATAERR, "metadata_size 0 is refused");
	T_STREQ(e.msg, "extension handshake: metadata_size 0 out of range "
	    "1..16777216 (limit BT_METADATA_MAX_BYTES)", "says why");
	T_OK(bt_ext_hs_parse(S("d13:metadata_sizei16777217ee"), &h, &e) < 0,
	    "metadata_size over BT_METADATA_MAX_BYTES is refused");
	T_STREQ(e.msg, "extension handshake: metadata_size 16777217 out of "
	    "range 1..16777216 (limit BT_METADATA_MAX_BYTES)", "names it");
	T_OK(bt_ext_hs_parse(S("d13:metadata_sizei16777216ee"), &h, &e) == 0 &&
	    h.metadata_size == BT_METADATA_MAX_BYTES,
	    "metadata_size at BT_METADATA_MAX_BYTES is kept");

	/* Too big: refused before anything is decoded. */
	big = calloc(BT_EXT_MAX_HANDSHAKE + 1, 1);
	T_OK(big != NULL, "memory");
	if (big == NULL)
		return;
	T_OK(bt_ext_hs_parse(big, BT_EXT_MAX_HANDSHAKE + 1, &h, &e) < 0,
	    "a handshake over BT_EXT_MAX_HANDSHAKE is refused");
	T_STREQ(e.msg, "extension handshake: 65537 bytes, over 65536 "
	    "(limit BT_EXT_MAX_HANDSHAKE)", "names the limit");
	/* At the limit: a dict padded with one long unknown string. */
	memcpy(big, "d1:x65525:", 10);
	memset(big + 10, 'a', 65525);
	big[BT_EXT_MAX_HANDSHAKE - 1] = 'e';
	T_OK(bt_ext_hs_parse(big, BT_EXT_MAX_HANDSHAKE, &h, &e) == 0,
	    "a handshake of BT_EXT_MAX_HANDSHAKE bytes is read: %s", e.msg);
	free(big);
}

static void
test_md(void)
{
	static uint8_t data[BT_METADATA_PIECE + 1];
	struct bt_md_msg m;
	struct bt_buf b = { 0 };
	struct bt_err e;
	const uint8_t *p;
	size_t n, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);

	/* BEP 9's examples, byte for byte. */
	T_OK(bt_md_parse(S("d8:msg_typei0e5:piecei0ee"), &m, &e) == 0 &&
	    m.type == BT_MD_REQUEST && m.piece == 0 && m.total_size == -1 &&
	    m.data == NULL && m.len == 0, "BEP 9's request");
	T_OK(bt_md_parse(S("d8:msg_typei1e5:piecei0e10:total_sizei34256e"
	    "exxxxxxxx"), &m, &e) == 0 && m.type == BT_MD_DATA &&
	    m.piece == 0 && m.total_size == 34256 && m.len == 8 &&
	    memcmp(m.data, "xxxxxxxx", 8) == 0,
	    "BEP 9's data: the bytes after the dict are the piece");
	T_OK(bt_md_parse(S("d8:msg_typei2e5:piecei0ee"), &m, &e) == 0 &&
	    m.type == BT_MD_REJECT && m.piece == 0, "BEP 9's reject");
	T_OK(bt_md_parse(S("d8:msg_typei0e5:piecei3e4:junk3:abce"), &m,
	    &e) == 0 && m.piece == 3, "unknown keys are ignored");
	T_OK(bt_md_parse(S("d5:piecei2e8:msg_typei0ee"), &m, &e) == 0 &&
	    m.piece == 2, "keys out of order are tolerated");
	T_OK(bt_md_parse(S("d8:msg_typei0e5:piecei2147483647ee"), &m,
	    &e) == 0 && m.piece == 2147483647, "piece 2^31-1 is read");

	/* Round trips. */
	bt_md_encode(&b, 3, BT_MD_REQUEST, 5, -1, NULL, 0);
	p = payload(&b, 3, &n, "request");
	T_STREQ(text(p, n), "d8:msg_typei0e5:piecei5ee", "our request");
	T_OK(bt_md_parse(p, n, &m, &e) == 0 && m.type == BT_MD_REQUEST &&
	    m.piece == 5, "our request reads back");
	bt_buf_free(&b);
	bt_md_encode(&b, 7, BT_MD_REJECT, 9, 12345, NULL, 0);
	p = payload(&b, 7, &n, "reject");
	T_STREQ(text(p, n), "d8:msg_typei2e5:piecei9ee",
	    "our reject (no total_size)");
	T_OK(bt_md_parse(p, n, &m, &e) == 0 && m.type == BT_MD_REJECT &&
	    m.piece == 9 && m.total_size == -1, "our reject reads back");
	bt_buf_free(&b);
	bt_md_encode(&b, 2, BT_MD_DATA, 1, 20000, data, 20000 - 16384);
	p = payload(&b, 2, &n, "data");
	T_OK(n == 45 + 3616 && memcmp(p, "d8:msg_typei1e5:piecei1e"
	    "10:total_sizei20000ee", 45) == 0 &&
	    memcmp(p + 45, data, 3616) == 0, "our data: dict, then bytes");
	T_OK(bt_md_parse(p, n, &m, &e) == 0 && m.type == BT_MD_DATA &&
	    m.piece == 1 && m.total_size == 20000 && m.len == 3616 &&
	    m.data == p + 45, "our data reads back");
	bt_buf_free(&b);
	bt_md_encode(&b, 2, BT_MD_DATA, 0, BT_METADATA_MAX_BYTES, data,
	    BT_METADATA_PIECE);
	p = payload(&b, 2, &n, "full piece");
	T_OK(bt_md_parse(p, n, &m, &e) == 0 && m.len == BT_METADATA_PIECE &&
	    m.total_size == BT_METADATA_MAX_BYTES &&
	    memcmp(m.data, data, BT_METADATA_PIECE) == 0,
	    "a whole 16 KiB piece of the largest metadata reads back");
	bt_buf_free(&b);
	T_OK(bt_md_encode(&b, 2, 3, 0, -1, NULL, 0) < 0 && b.len == 0,
	    "msg_type 3 is not encoded");
	T_OK(bt_md_encode(&b, 2, BT_MD_DATA, 0, 5, NULL, 5) < 0 &&
	    b.len == 0, "data of 5 bytes at NULL is not encoded");

	/* Refusals. */
#define MD_BAD(in, want, what) do {					\
	T_OK(bt_md_parse(S(in), &m, &e) < 0 &&				\
	    e.status == BT_EX_DATAERR && m.data == NULL &&		\
	    (m.type == -1 || m.type == BT_MD_UNKNOWN), what);		\
	T_STREQ(e.msg, want, "%s: says why", what);			\
} while (0)
	MD_BAD("li0ee", "ut_metadata: not a dict", "a list is refused");
	MD_BAD("d8:msg_typei3e5:piecei0ee", "ut_metadata: unknown msg_type 3",
	    "msg_type 3 is refused");
	T_OK(m.type == BT_MD_UNKNOWN, "as unknown, for the caller to ignore");
	MD_BAD("d8:msg_typei9e1:xi1ee", "ut_metadata: unknown msg_type 9",
	    "an unknown type is told before its other keys are checked");
	T_OK(m.type == BT_MD_UNKNOWN, "as unknown");
	MD_BAD("d8:msg_typei-1e5:piecei0ee",
	    "ut_metadata: unknown msg_type -1", "msg_type -1 is refused");
	MD_BAD("d5:piecei0ee", "ut_metadata: no integer msg_type",
	    "no msg_type is refused");
	T_OK(m.type == -1, "as malformed, not unknown");
	MD_BAD("d8:msg_type1:05:piecei0ee", "ut_metadata: no integer msg_type",
	    "a msg_type string is refused");
	MD_BAD("d8:msg_typei0ee", "ut_metadata: no integer piece",
	    "no piece is refused");
	MD_BAD("d8:msg_typei0e5:piecei-1ee",
	    "ut_metadata: piece -1 out of range 0..2147483647",
	    "piece -1 is refused");
	MD_BAD("d8:msg_typei0e5:piecei2147483648ee",
	    "ut_metadata: piece 2147483648 out of range 0..2147483647",
	    "piece 2^31 is refused");
	MD_BAD("d8:msg_typei0e5:piecei0eeX",
	    "ut_metadata: 1 bytes after the dict of a request",
	    "bytes after a request's dict are refused");
	MD_BAD("d8:msg_typei2e5:piecei0eed8:msg_typei0e5:piecei0ee",
	    "ut_metadata: 25 bytes after the dict of a reject",
	    "a second dict after a reject is refused");
	MD_BAD("d8:msg_typei1e5:piecei0eexx",
	    "ut_metadata: data without an integer total_size",
	    "data without total_size is refused");
	MD_BAD("d8:msg_typei1e5:piecei0e10:total_sizei0eexx",
	    "ut_metadata: total_size 0 out of range 1..16777216 "
	    "(limit BT_METADATA_MAX_BYTES)", "total_size 0 is refused");
	MD_BAD("d8:msg_typei1e5:piecei0e10:total_sizei16777217eexx",
	    "ut_metadata: total_size 16777217 out of range 1..16777216 "
	    "(limit BT_METADATA_MAX_BYTES)",
	    "total_size over BT_METADATA_MAX_BYTES is refused");
	MD_BAD("d8:msg_typei1e5:piecei0e10:total_sizei5ee",
	    "ut_metadata: data message without data",
	    "data without bytes is refused");
	MD_BAD("d8:msg_typei0e5:piecei0e",
	    "ut_metadata: unexpected end of input inside dictionary",
	    "a truncated dict is refused");
#undef MD_BAD
	bt_md_encode(&b, 2, BT_MD_DATA, 0, 100000, data, BT_METADATA_PIECE + 1);
	p = payload(&b, 2, &n, "oversize piece");
	T_OK(bt_md_parse(p, n, &m, &e) < 0 && m.data == NULL && m.len == 0,
	    "data over BT_METADATA_PIECE is refused");
	T_STREQ(e.msg, "ut_metadata: 16385 bytes of data, over 16384 "
	    "(limit BT_METADATA_PIECE)", "names the limit");
	bt_buf_free(&b);
}

static void
test_md_pieces(void)
{
	T_OK(bt_md_npieces(0) == 0 && bt_md_npieces(-1) == 0,
	    "no pieces for size 0 or below");
	T_OK(bt_md_npieces(1) == 1 && bt_md_piece_len(1, 0) == 1 &&
	    bt_md_piece_len(1, 1) == 0, "size 1: one piece of 1 byte");
	T_OK(bt_md_npieces(16383) == 1 && bt_md_piece_len(16383, 0) == 16383 &&
	    bt_md_piece_len(16383, 1) == 0, "size 16383: one short piece");
	T_OK(bt_md_npieces(16384) == 1 && bt_md_piece_len(16384, 0) == 16384 &&
	    bt_md_piece_len(16384, 1) == 0, "size 16384: one whole piece");
	T_OK(bt_md_npieces(16385) == 2 && bt_md_piece_len(16385, 0) == 16384 &&
	    bt_md_piece_len(16385, 1) == 1 && bt_md_piece_len(16385, 2) == 0,
	    "size 16385: a whole piece and one byte");
	T_OK(bt_md_npieces(BT_METADATA_MAX_BYTES) == 1024 &&
	    bt_md_piece_len(BT_METADATA_MAX_BYTES, 1023) == 16384 &&
	    bt_md_piece_len(BT_METADATA_MAX_BYTES, 1024) == 0,
	    "BT_METADATA_MAX_BYTES: 1024 whole pieces");
	T_OK(bt_md_piece_len(16385, UINT32_MAX) == 0,
	    "a piece index far past the end has no length");
}

static struct bt_peer_addr
addr(const char *s, uint16_t port)
{
	struct bt_peer_addr a;
	uint8_t ip[16];
	int v6 = strchr(s, ':') != NULL;

	inet_pton(v6 ? AF_INET6 : AF_INET, s, ip);
	bt_peer_from_raw(&a, ip, v6 ? 16 : 4, port);
	return a;
}

static int
same(const struct bt_peer_addr *a, const struct bt_peer_addr *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

static void
test_pex(void)
{
	struct bt_peer_addr added[4], dropped[2];
	uint8_t flags[4] = { BT_PEX_SEED, BT_PEX_ENCRYPT | BT_PEX_UTP,
	    BT_PEX_REACHABLE, BT_PEX_HOLEPUNCH };
	struct bt_buf b = { 0 };
	struct bt_pex x;
	struct bt_err e;
	const uint8_t *p;
	char line[80];
	size_t n, i;

	added[0] = addr("127.0.0.1", 6881);
	added[1] = addr("::1", 6882);
	added[2] = addr("10.1.2.3", 0x1ae1);
	added[3] = addr("::ffff:10.0.0.1", 1);
	dropped[0] = addr("fe80::2", 80);
	dropped[1] = addr("192.168.0.1", 65535);
	T_OK(bt_pex_encode(&b, 9, added, flags, 4, dropped, 2) == 0,
	    "pex encodes");
	p = payload(&b, 9, &n, "pex");
	T_OK(n == sizeof("d5:added12:\x7f\0\0\1\x1a\xe1\n\1\2\3\x1a\xe1"
	    "7:added.f2:\x02\x10" "6:added636:0123456789abcdef01"
	    "0123456789abcdef01" "8:added6.f2:\x05\x08"
	    "7:dropped6:\xc0\xa8\0\1\xff\xff" "8:dropped618:0123456789abcdef01"
	    "e") - 1, "pex payload length: %zu", n);
	T_OK(memcmp(p, "d5:added12:\x7f\0\0\1\x1a\xe1\n\1\2\3\x1a\xe1"
	    "7:added.f2:\x02\x10" "6:added636:", 47) == 0,
	    "IPv4 peers and their flags first, in order");
	T_OK(memcmp(p + 47, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\x1a\xe2"
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff\n\0\0\1\0\1"
	    "8:added6.f2:\x05\x08" "7:dropped6:\xc0\xa8\0\1\xff\xff"
	    "8:dropped618:\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\2\0\x50" "e",
	    n - 47) == 0, "then IPv6 peers, flags, dropped, dropped6");
	T_OK(bt_pex_parse(p, n, 50, &x, &e) == 0, "it parses back");
	T_OK(x.nadded == 4 && x.ndropped == 2 && x.over == 0,
	    "4 added, 2 dropped");
	T_OK(same(&x.added[0], &added[0]) && same(&x.added[1], &added[2]) &&
	    same(&x.added[2], &added[1]) && same(&x.added[3], &added[3]),
	    "added: IPv4 then IPv6 (the mapped address stays IPv6)");
	T_OK(x.flags[0] == flags[0] && x.flags[1] == flags[2] &&
	    x.flags[2] == flags[1] && x.flags[3] == flags[3],
	    "each added peer keeps its flags");
	T_OK(same(&x.dropped[0], &dropped[1]) && same(&x.dropped[1],
	    &dropped[0]), "dropped: IPv4 then IPv6");
	T_STREQ(bt_peer_format(&x.added[1], line, sizeof(line)),
	    "10.1.2.3 6881", "ports are big-endian");
	bt_pex_free(&x);
	bt_buf_free(&b);

	bt_pex_encode(&b, 1, NULL, NULL, 0, NULL, 0);
	p = payload(&b, 1, &n, "empty pex");
	T_STREQ(text(p, n), "d5:added0:7:added.f0:6:added60:8:added6.f0:"
	    "7:dropped0:8:dropped60:e", "an empty pex has every key");
	T_OK(bt_pex_parse(p, n, 50, &x, &e) == 0 && x.nadded == 0 &&
	    x.ndropped == 0 && x.added == NULL,
	    "an empty pex parses to nothing");
	bt_pex_free(&x);
	bt_buf_free(&b);

	bt_pex_encode(&b, 1, added, NULL, 1, NULL, 0);
	p = payload(&b, 1, &n, "pex without flags");
	T_OK(bt_pex_parse(p, n, 50, &x, &e) == 0 && x.nadded == 1 &&
	    x.flags[0] == 0, "no flags given: 0 sent");
	bt_pex_free(&x);
	bt_buf_free(&b);

	/* What others send. */
	T_OK(bt_pex_parse(S("d5:added6:\x7f\0\0\1\0\x01" "e"), 50, &x,
	    &e) == 0 && x.nadded == 1 && x.flags[0] == 0 && x.ndropped == 0,
	    "added alone: flags 0");
	bt_pex_free(&x);
	T_OK(bt_pex_parse(S("d5:added12:\x7f\0\0\1\0\x01\x7f\0\0\2\0\x02"
	    "7:added.f1:\x02" "e"), 50, &x, &e) == 0 && x.nadded == 2 &&
	    x.flags[0] == 0 && x.flags[1] == 0,
	    "an added.f of the wrong length is ignored");
	bt_pex_free(&x);
	T_OK(bt_pex_parse(S("d1:xi1e5:added6:\x7f\0\0\1\0\x01" "e"), 50, &x,
	    &e) == 0 && x.nadded == 1, "unknown keys are ignored");
	bt_pex_free(&x);
	T_OK(bt_pex_parse(S("d7:added.fi1ee"), 50, &x, &e) == 0 &&
	    x.nadded == 0, "an added.f not a string is ignored");
	bt_pex_free(&x);

	/* Over max: counted, not kept, added and dropped each. */
	T_OK(bt_pex_parse(S("d5:added12:\x7f\0\0\1\0\x01\x7f\0\0\2\0\x02"
	    "7:added.f2:\x01\x02" "6:added618:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\1\0\3" "7:dropped18:\x7f\0\0\3\0\x01\x7f\0\0\4\0\x01"
	    "\x7f\0\0\5\0\x01" "e"), 2, &x, &e) == 0,
	    "a pex over max parses");
	T_OK(x.nadded == 2 && x.ndropped == 2 && x.over == 2,
	    "2 added and 2 dropped kept, 2 over: %zu %zu %zu", x.nadded,
	    x.ndropped, x.over);
	T_OK(x.flags[0] == 1 && x.flags[1] == 2 &&
	    strcmp(bt_peer_format(&x.added[1], line, sizeof(line)),
	    "127.0.0.2 2") == 0, "the first ones are kept");
	bt_pex_free(&x);
	T_OK(bt_pex_parse(S("d5:added6:\x7f\0\0\1\0\x01" "e"), 0, &x,
	    &e) == 0 && x.nadded == 0 && x.over == 1 && x.added == NULL,
	    "max 0: every peer counted over");
	bt_pex_free(&x);

	/* Refusals. */
#define PEX_BAD(in, want, what) do {					\
	T_OK(bt_pex_parse(S(in), 50, &x, &e) < 0 &&			\
	    e.status == BT_EX_DATAERR, what);				\
	T_STREQ(e.msg, want, "%s: says why", what);			\
	bt_pex_free(&x);						\
	T_OK(x.added == NULL && x.nadded == 0, "%s: freed", what);	\
} while (0)
	PEX_BAD("le", "ut_pex: not a dict", "a list is refused");
	PEX_BAD("d5:added5:\x7f\0\0\1\0" "e",
	    "ut_pex: added of 5 bytes, not a multiple of 6",
	    "added of 5 bytes is refused");
	PEX_BAD("d6:added66:\x7f\0\0\1\0\1" "e",
	    "ut_pex: added6 of 6 bytes, not a multiple of 18",
	    "added6 of 6 bytes is refused");
	PEX_BAD("d7:dropped7:\x7f\0\0\1\0\1\0" "e",
	    "ut_pex: dropped of 7 bytes, not a multiple of 6",
	    "dropped of 7 bytes is refused");
	PEX_BAD("d8:dropped617:00000000000000000e",
	    "ut_pex: dropped6 of 17 bytes, not a multiple of 18",
	    "dropped6 of 17 bytes is refused");
	PEX_BAD("d5:added12:\x7f\0\0\1\0\1\x7f\0\0\2\0\0" "e",
	    "ut_pex: added: peer 2 has port 0", "port 0 is refused");
	PEX_BAD("d8:dropped618:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\0" "e",
	    "ut_pex: dropped6: peer 1 has port 0",
	    "port 0 in dropped6 is refused");
	PEX_BAD("d5:addedi1ee", "ut_pex: added is not a string",
	    "added not a string is refused");
	PEX_BAD("d5:added0:ee", "ut_pex: trailing bytes after the value",
	    "bytes after the dict are refused");
#undef PEX_BAD

	/* A large message: linear, bounded by max. */
	{
		size_t cnt = 10000, len = cnt * 6;
		struct bt_buf in = { 0 };
		uint8_t c[6] = { 10, 0, 0, 0, 0, 1 };
		char hdr[32];

		bt_buf_add(&in, "d5:added", 8);
		snprintf(hdr, sizeof(hdr), "%zu:", len);
		bt_buf_add(&in, hdr, strlen(hdr));
		for (i = 0; i < cnt; i++) {
			c[2] = (uint8_t)(i >> 8);
			c[3] = (uint8_t)i;
			bt_buf_add(&in, c, 6);
		}
		bt_buf_add(&in, "e", 1);
		T_OK(bt_pex_parse((uint8_t *)in.p, in.len, BT_PEX_MAX_MSG_PEERS,
		    &x, &e) == 0 && x.nadded == BT_PEX_MAX_MSG_PEERS &&
		    x.over == cnt - BT_PEX_MAX_MSG_PEERS,
		    "10000 peers: BT_PEX_MAX_MSG_PEERS kept, the rest counted");
		bt_pex_free(&x);
		bt_buf_free(&in);
	}
}

int
main(void)
{
	test_hs_encode();
	test_hs_parse();
	test_md();
	test_md_pieces();
	test_pex();
	return t_done();
}
