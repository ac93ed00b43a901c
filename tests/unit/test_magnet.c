/*
 * lib/magnet: the info hash in hex and base32 (vectors from Python's
 * base64.b32encode), every parameter of BEP 9, every refusal with its
 * message, the limits, and bt_magnet_torrent read back by
 * bt_torrent_parse with the same info hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bencode.h"
#include "btlimits.h"
#include "magnet.h"
#include "metainfo.h"
#include "util.h"
#include "t.h"

#define HEX	"0102030405060708090a0b0c0d0e0f1011121314"
#define HEXUP	"0102030405060708090A0B0C0D0E0F1011121314"
#define B32	"AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYU"
#define HEX2	"ecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define B32_2	"5TW6537Q6HZPH5HV6337R6P27P6P37X7"
#define LINK	"magnet:?xt=urn:btih:" HEX

static int
hash_is(const uint8_t *h, const char *hex)
{
	char got[41];

	bt_hex(h, BT_SHA1_LEN, got);
	return strcmp(got, hex) == 0;
}

static void
test_is(void)
{
	T_OK(bt_magnet_is("magnet:?xt=x"), "is: magnet:?");
	T_OK(bt_magnet_is("MaGnEt:"), "is: any case");
	T_OK(!bt_magnet_is("magnet"), "is: not without the colon");
	T_OK(!bt_magnet_is("f.torrent"), "is: not a file name");
	T_OK(!bt_magnet_is(""), "is: not the empty string");
	T_OK(!bt_magnet_is("./magnet:x"), "is: not a path that has it inside");
}

static void
hash_bad(const char *s, const char *msg)
{
	uint8_t h[BT_SHA1_LEN];
	struct bt_err e;

	bt_err_clear(&e);
	T_OK(bt_info_hash_parse(s, strlen(s), h, &e) == -1 &&
	    e.status == BT_EX_DATAERR, "hash: refuses '%s'", s);
	T_STREQ(e.msg, msg, "hash: the reason for '%s'", s);
}

static void
test_hash(void)
{
	uint8_t h[BT_SHA1_LEN];
	struct bt_err e;

	T_OK(bt_info_hash_parse(HEX, 40, h, &e) == 0 && hash_is(h, HEX),
	    "hash: 40 hex digits");
	T_OK(bt_info_hash_parse(HEXUP, 40, h, &e) == 0 && hash_is(h, HEX),
	    "hash: upper-case hex");
	T_OK(bt_info_hash_parse(B32, 32, h, &e) == 0 && hash_is(h, HEX),
	    "hash: base32");
	T_OK(bt_info_hash_parse("aebagbafaydqqcikbmga2dqpcaireeyu", 32, h,
	    &e) == 0 && hash_is(h, HEX), "hash: lower-case base32");
	T_OK(bt_info_hash_parse(B32_2, 32, h, &e) == 0 && hash_is(h, HEX2),
	    "hash: base32 of high bytes");
	T_OK(bt_info_hash_parse(HEX "zz", 40, h, &e) == 0 && hash_is(h, HEX),
	    "hash: reads only n characters");
	hash_bad("0102030405060708090a0b0c0d0e0f101112131", "info hash of 39 "
	    "characters: want 40 hex digits or 32 base32 characters");
	hash_bad("", "info hash of 0 characters: want 40 hex digits or 32 "
	    "base32 characters");
	hash_bad("0102030405060708090a0b0c0d0e0f101112131g", "info hash of 40 "
	    "characters is not hex: 'g' at character 40");
	hash_bad("01 2030405060708090a0b0c0d0e0f1011121314", "info hash of 40 "
	    "characters is not hex: \\x20 at character 3");
	hash_bad("AEBAGBAFAYDQQCIKBMGA2DQPCAIREEY1", "info hash of 32 "
	    "characters is not base32: '1' at character 32");
	hash_bad("AEBAGBAFAYDQQCIKBMGA2DQPCAIREEY=", "info hash of 32 "
	    "characters is not base32: '=' at character 32");
}

static int
parse(struct bt_magnet *m, const char *uri, struct bt_err *e)
{
	bt_err_clear(e);
	return bt_magnet_parse(m, uri, e);
}

static void
bad(const char *uri, const char *msg, const char *what)
{
	struct bt_magnet m;
	struct bt_err e;

	T_OK(parse(&m, uri, &e) == -1 && e.status == BT_EX_DATAERR,
	    "refuses %s", what);
	T_STREQ(e.msg, msg, "the reason for %s", what);
	bt_magnet_free(&m);
}

static void
test_parse(void)
{
	struct bt_magnet m;
	struct bt_err e;
	char buf[80];
	int r;

	r = parse(&m, LINK, &e);
	T_OK(r == 0 && hash_is(m.info_hash, HEX) && m.name == NULL &&
	    m.ntr == 0 && m.nws == 0 && m.peers.n == 0, "the bare link");
	bt_magnet_free(&m);
	r = parse(&m, "MAGNET:?XT=URN:BTIH:" B32, &e);
	T_OK(r == 0 && hash_is(m.info_hash, HEX), "base32, keys in any case");
	bt_magnet_free(&m);

	r = parse(&m, "magnet:?dn=My+file%20%E2%82%AC.iso&xt=urn:btih:" HEX
	    "&tr=http%3A%2F%2Ft1%2Fannounce&tr=udp://t2:80&tr.1=http://t3/a"
	    "&tr.2=http://t1/announce&tr=http://a%2Bb/x+y&dn=second&kt=a+b"
	    "&ws=http%3A%2F%2Fw%2Ff&ws=http://w/f&xl=123&so=0-3", &e);
	T_OK(r == 0, "a full link: %s", e.msg);
	T_STREQ(m.name, "My file \xe2\x82\xac.iso",
	    "dn: decoded, '+' a space, the first kept");
	T_OK(m.ntr == 4, "tr: repeated and tr.N, each once (%zu)", m.ntr);
	if (m.ntr == 4) {
		T_STREQ(m.tr[0], "http://t1/announce", "tr: decoded, 1st");
		T_STREQ(m.tr[1], "udp://t2:80", "tr: in the link's order, 2nd");
		T_STREQ(m.tr[2], "http://t3/a", "tr.1 where it stands");
		T_STREQ(m.tr[3], "http://a+b/x+y",
		    "tr: '+' stays '+' outside dn");
	}
	T_OK(m.nws == 1 && strcmp(m.ws[0], "http://w/f") == 0,
	    "ws: decoded, once");
	bt_magnet_free(&m);

	r = parse(&m, LINK "&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D:6882"
	    "&x.pe=[fe80::1]:1&x.pe=127.0.0.1:6881&x.pe=peer.example:80"
	    "&x.pe=x:65535", &e);
	T_OK(r == 0 && m.peers.n == 3 && m.pe_names == 2,
	    "x.pe: 3 addresses, 2 names (%zu, %zu): %s", m.peers.n,
	    m.pe_names, e.msg);
	if (m.peers.n == 3) {
		T_STREQ(bt_peer_format(&m.peers.peer[0], buf, sizeof(buf)),
		    "127.0.0.1 6881", "x.pe: IPv4");
		T_STREQ(bt_peer_format(&m.peers.peer[1], buf, sizeof(buf)),
		    "::1 6882", "x.pe: [IPv6], percent-encoded");
		T_STREQ(bt_peer_format(&m.peers.peer[2], buf, sizeof(buf)),
		    "fe80::1 1", "x.pe: [IPv6]");
	}
	bt_magnet_free(&m);

	r = parse(&m, "magnet:?xt=urn:btih:" HEX "&xt=urn:btmh:1220" HEX
	    "aaaaaaaaaaaaaaaaaaaaaaaa&xt.1=urn:btih:" B32 "&tr=&x.pe=&&junk"
	    "&=&xt=urn:ed2k:abc&unknown=%zz", &e);
	T_OK(r == 0 && hash_is(m.info_hash, HEX) && m.ntr == 0,
	    "a hybrid link uses the btih; the same btih twice, empty values, "
	    "other xt kinds and unknown keys are ignored: %s", e.msg);
	bt_magnet_free(&m);

	T_OK(bt_magnet_or_hash(&m, HEXUP, &e) == 0 && hash_is(m.info_hash,
	    HEX) && m.ntr == 0, "or_hash: a hash alone");
	bt_magnet_free(&m);
	T_OK(bt_magnet_or_hash(&m, B32, &e) == 0 && hash_is(m.info_hash,
	    HEX), "or_hash: base32 alone");
	bt_magnet_free(&m);
	T_OK(bt_magnet_or_hash(&m, LINK "&tr=http://t/a", &e) == 0 &&
	    m.ntr == 1, "or_hash: a link");
	bt_magnet_free(&m);
	bt_err_clear(&e);
	T_OK(bt_magnet_or_hash(&m, "f.torrent", &e) == -1 &&
	    e.status == BT_EX_DATAERR, "or_hash: refuses anything else");
	T_STREQ(e.msg, "not a magnet link: info hash of 9 characters: want "
	    "40 hex digits or 32 base32 characters", "or_hash: the reason");
	bt_magnet_free(&m);
}

static void
test_bad(void)
{
	char *big;

	bad("http://x/?xt=urn:btih:" HEX, "not a magnet link (no magnet: at "
	    "the start)", "an http URL");
	bad("magnet:xt=urn:btih:" HEX, "not a magnet link (no '?' after "
	    "magnet:)", "no '?'");
	bad("magnet:?", "no info hash (xt=urn:btih:)", "an empty query");
	bad("magnet:?dn=x&tr=http://t/a", "no info hash (xt=urn:btih:)",
	    "no xt");
	bad("magnet:?xt=urn:btih:0102030405060708090a0b0c0d0e0f10111213zz",
	    "xt: info hash of 40 characters is not hex: 'z' at character 39",
	    "bad hex");
	bad("magnet:?xt=urn:btih:0102", "xt: info hash of 4 characters: want "
	    "40 hex digits or 32 base32 characters", "a short hash");
	bad("magnet:?xt=urn:btih:" HEX "&xt=urn:btih:" HEX2, "xt: two "
	    "different info hashes (urn:btih:)", "two hashes");
	bad("magnet:?xt=urn:btmh:1220" HEX "aaaaaaaaaaaaaaaaaaaaaaaa",
	    "v2 magnet links (urn:btmh) are not supported", "a v2 link");
	bad(LINK "&dn=100%", "dn: bad percent escape '%'", "a '%' at the end");
	bad(LINK "&tr=http://t/%4", "tr: bad percent escape '%4'",
	    "a '%' and one digit");
	bad(LINK "&tr.3=http://t/%g1", "tr: bad percent escape '%g1'",
	    "a '%' and no hex");
	bad(LINK "&ws=http://t/%00", "ws: percent escape %00 (a NUL byte)",
	    "%00");
	bad("magnet:?xt=urn:btih:%3", "xt: bad percent escape '%3'",
	    "a bad escape in xt");
	bad(LINK "&tr=tracker.example:80", "tr: 'tracker.example:80' is not a "
	    "URL", "a tracker without a scheme");
	bad(LINK "&tr=http://x/a%0Ab", "tr: 'http://x/a\\x0ab' is not a URL",
	    "a control byte in a tracker, escaped in the message");
	bad(LINK "&ws=http://", "ws: 'http://' is not a URL",
	    "a web seed with nothing after the scheme");
	bad(LINK "&x.pe=1.2.3.4", "x.pe: '1.2.3.4' is not ADDRESS:PORT or "
	    "[IPv6]:PORT", "x.pe without a port");
	bad(LINK "&x.pe=1.2.3.4:0", "x.pe: '1.2.3.4:0' is not ADDRESS:PORT or "
	    "[IPv6]:PORT", "port 0");
	bad(LINK "&x.pe=1.2.3.4:65536", "x.pe: '1.2.3.4:65536' is not "
	    "ADDRESS:PORT or [IPv6]:PORT", "port 65536");
	bad(LINK "&x.pe=::1:80", "x.pe: '::1:80' is not ADDRESS:PORT or "
	    "[IPv6]:PORT", "IPv6 without brackets");
	bad(LINK "&x.pe=[1.2.3.4]:80", "x.pe: '[1.2.3.4]:80' is not "
	    "ADDRESS:PORT or [IPv6]:PORT", "IPv4 in brackets");
	bad(LINK "&x.pe=1.2.3.999:80", "x.pe: '1.2.3.999:80' is not "
	    "ADDRESS:PORT or [IPv6]:PORT", "a bad IPv4 address");
	bad(LINK "&x.pe=a_b:80", "x.pe: 'a_b:80' is not ADDRESS:PORT or "
	    "[IPv6]:PORT", "a bad host name");
	bad(LINK "&tr=x" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789", "tr: 'x01234567890123"
	    "456789012345678901234567890123456789012345678...' is not a URL",
	    "a long value, cut in the message");

	/* BT_MAGNET_MAX_BYTES: at the limit parses, one more is refused. */
	if ((big = malloc(BT_MAGNET_MAX_BYTES + 2)) == NULL)
		return;
	memset(big, 'a', BT_MAGNET_MAX_BYTES + 1);
	memcpy(big, LINK "&x=", strlen(LINK "&x="));
	big[BT_MAGNET_MAX_BYTES] = '\0';
	{
		struct bt_magnet m;
		struct bt_err e;

		T_OK(parse(&m, big, &e) == 0, "a link of BT_MAGNET_MAX_BYTES");
		bt_magnet_free(&m);
	}
	big[BT_MAGNET_MAX_BYTES] = 'a';
	big[BT_MAGNET_MAX_BYTES + 1] = '\0';
	bad(big, "magnet link longer than 65536 bytes (limit "
	    "BT_MAGNET_MAX_BYTES)", "a link over BT_MAGNET_MAX_BYTES");
	free(big);
}

static void
test_limits(void)
{
	struct bt_buf b = { 0 };
	struct bt_magnet m;
	struct bt_err e;
	char one[64];
	int i, r;

	bt_buf_add(&b, LINK, strlen(LINK));
	for (i = 0; i < BT_MAX_TRACKERS + 3; i++) {
		snprintf(one, sizeof(one), "&tr=http://t%d/a&tr=http://t0/a",
		    i);
		bt_buf_add(&b, one, strlen(one));
	}
	for (i = 0; i < BT_MAGNET_MAX_PEERS + 4; i++) {
		snprintf(one, sizeof(one), "&x.pe=10.0.%d.%d:1&x.pe=10.0.0.0:1",
		    i / 256, i % 256);
		bt_buf_add(&b, one, strlen(one));
	}
	for (i = 0; i < BT_MAGNET_MAX_WEBSEEDS + 5; i++) {
		snprintf(one, sizeof(one), "&ws=http://w%d/&ws=http://w0/", i);
		bt_buf_add(&b, one, strlen(one));
	}
	bt_buf_add(&b, "", 1);
	r = parse(&m, b.p, &e);
	T_OK(r == 0, "a link over every count limit parses: %s", e.msg);
	T_OK(m.ntr == BT_MAX_TRACKERS && m.tr_dropped == 3,
	    "BT_MAX_TRACKERS kept, 3 past it counted, repeats not (%zu, %zu)",
	    m.ntr, m.tr_dropped);
	T_OK(m.peers.n == BT_MAGNET_MAX_PEERS && m.pe_dropped == 4,
	    "BT_MAGNET_MAX_PEERS kept, 4 past it counted (%zu, %zu)",
	    m.peers.n, m.pe_dropped);
	T_OK(m.nws == BT_MAGNET_MAX_WEBSEEDS && m.ws_dropped == 5,
	    "BT_MAGNET_MAX_WEBSEEDS kept, 5 past it counted (%zu, %zu)",
	    m.nws, m.ws_dropped);
	bt_magnet_free(&m);
	bt_buf_free(&b);
}

/* A small single-file info dict, as bt-create would make. */
static void
make_info(struct bt_buf *b)
{
	uint8_t h[BT_SHA1_LEN];

	bt_sha1("hello", 5, h);
	bt_benc_dict(b);
	bt_benc_cstr(b, "length");
	bt_benc_int(b, 5);
	bt_benc_cstr(b, "name");
	bt_benc_cstr(b, "hello.txt");
	bt_benc_cstr(b, "piece length");
	bt_benc_int(b, 16384);
	bt_benc_cstr(b, "pieces");
	bt_benc_str(b, h, sizeof(h));
	bt_benc_end(b);
}

static void
adds(struct bt_buf *b, const char *s)
{
	bt_buf_add(b, s, strlen(s));
}

static void
test_torrent(void)
{
	struct bt_buf info = { 0 }, out = { 0 }, want = { 0 };
	struct bt_magnet m;
	struct bt_torrent t;
	struct bt_err e;
	uint8_t h[BT_SHA1_LEN];
	char hex[41], link[512];
	int r;

	make_info(&info);
	bt_sha1(info.p, info.len, h);
	bt_hex(h, BT_SHA1_LEN, hex);

	/* The bare hash: only the info dict. */
	snprintf(link, sizeof(link), "magnet:?xt=urn:btih:%s", hex);
	T_OK(parse(&m, link, &e) == 0, "torrent: the bare link parses");
	r = bt_magnet_torrent(&m, info.p, info.len, &out, &e);
	bt_buf_add(&want, "d4:info", 7);
	bt_buf_add(&want, info.p, info.len);
	bt_buf_add(&want, "e", 1);
	T_OK(r == 0 && out.len == want.len && memcmp(out.p, want.p,
	    out.len) == 0, "torrent: d4:info<raw>e without trackers");
	bt_magnet_free(&m);

	/* Trackers and web seeds: the exact bytes, then read back. */
	snprintf(link, sizeof(link), "magnet:?xt=urn:btih:%s&dn=x"
	    "&tr=udp://b:1&tr=http://a/announce&ws=http://w/1&ws=http://w/2",
	    hex);
	T_OK(parse(&m, link, &e) == 0, "torrent: the full link parses");
	out.len = 0;
	bt_buf_add(&out, "keep", 4);
	r = bt_magnet_torrent(&m, info.p, info.len, &out, &e);
	want.len = 0;
	adds(&want, "keepd8:announce9:udp://b:113:announce-list"
	    "ll9:udp://b:1el17:http://a/announceee4:info");
	bt_buf_add(&want, info.p, info.len);
	adds(&want, "8:url-listl10:http://w/110:http://w/2ee");
	T_OK(r == 0 && out.len == want.len && memcmp(out.p, want.p,
	    out.len) == 0, "torrent: appended, keys sorted, one tier per "
	    "tracker in the link's order, url-list");
	if (r == 0) {
		char *copy = malloc(out.len - 4);

		memcpy(copy, out.p + 4, out.len - 4);
		r = bt_torrent_parse(&t, copy, out.len - 4, &e);
		T_OK(r == 0, "round trip: bt_torrent_parse reads it: %s",
		    e.msg);
		T_OK(r == 0 && memcmp(t.info_hash, m.info_hash,
		    BT_SHA1_LEN) == 0, "round trip: the same info hash");
		T_OK(r == 0 && t.ntiers == 2 && t.tiers[0].n == 1 &&
		    strcmp(t.tiers[0].url[0], "udp://b:1") == 0 &&
		    strcmp(t.tiers[1].url[0], "http://a/announce") == 0 &&
		    strcmp(t.announce, "udp://b:1") == 0,
		    "round trip: the trackers");
		T_OK(r == 0 && t.nurl == 2 && strcmp(t.url_list[1],
		    "http://w/2") == 0, "round trip: the web seeds");
		T_OK(r == 0 && t.total_length == 5 && strcmp(t.name,
		    "hello.txt") == 0, "round trip: the info");
		bt_torrent_free(&t);
	}

	/* Refusals: out is left as it was. */
	out.len = 0;
	bt_err_clear(&e);
	r = bt_magnet_torrent(&m, info.p, info.len - 1, &out, &e);
	T_OK(r == -1 && e.status == BT_EX_DATAERR && out.len == 0,
	    "torrent: refuses a cut info dict: %s", e.msg);
	bt_err_clear(&e);
	r = bt_magnet_torrent(&m, "le", 2, &out, &e);
	T_STREQ(e.msg, "info: not a dict", "torrent: refuses a list");
	bt_err_clear(&e);
	m.info_hash[0] ^= 1;
	r = bt_magnet_torrent(&m, info.p, info.len, &out, &e);
	T_OK(r == -1 && out.len == 0, "torrent: refuses another hash");
	T_STREQ(e.msg, "info: SHA-1 is not the link's info hash",
	    "torrent: the reason for another hash");
	bt_magnet_free(&m);
	bt_buf_free(&info);
	bt_buf_free(&out);
	bt_buf_free(&want);
}

int
main(void)
{
	test_is();
	test_hash();
	test_parse();
	test_bad();
	test_limits();
	test_torrent();
	return t_done();
}
