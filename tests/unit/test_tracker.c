/* Unit tests of lib/tracker's pure parts: URLs, answers, UDP packets. */
#include <stdlib.h>

#include "tracker.h"
#include "t.h"

static struct bt_announce
req(void)
{
	struct bt_announce a;
	int i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < BT_SHA1_LEN; i++)
		a.info_hash[i] = (uint8_t)(i * 13);	/* 00 0d 1a 27 ... */
	memcpy(a.peer_id, "-BT0001-abc~def.ghi_", BT_SHA1_LEN);
	a.port = 6881;
	a.uploaded = 1;
	a.downloaded = 2;
	a.left = 3;
	a.event = BT_EVENT_STARTED;
	a.numwant = 50;
	a.key = 0xdeadbeef;
	return a;
}

static void
test_urls(void)
{
	struct bt_announce a = req();
	struct bt_buf b = { 0 };
	struct bt_err e;
	uint8_t raw[] = { 0x00, 'A', 'z', '0', '-', '.', '_', '~', ' ', '%',
	    '/', 0xff };
	char out[3 * sizeof(raw) + 1];

	bt_url_escape(raw, sizeof(raw), out);
	T_STREQ(out, "%00Az0-._~%20%25%2F%FF",
	    "escapes every byte but the unreserved ones, upper case hex");

	T_OK(bt_http_announce_url("http://t/ann", &a, &b, &e) == 0,
	    "builds an announce URL");
	T_STREQ(b.p, "http://t/ann?info_hash=%00%0D%1A%274AN%5Bhu%82%8F"
	    "%9C%A9%B6%C3%D0%DD%EA%F7&peer_id=-BT0001-abc~def.ghi_&port=6881"
	    "&uploaded=1&downloaded=2&left=3&compact=1&event=started"
	    "&numwant=50&key=deadbeef", "announce URL has every key");
	a.event = BT_EVENT_NONE;
	T_OK(bt_http_announce_url("http://t/a?pk=1", &a, &b, &e) == 0 &&
	    strstr(b.p, "http://t/a?pk=1&info_hash=") == b.p &&
	    strstr(b.p, "event") == NULL,
	    "appends with & to a URL with a query; no event for none");

	T_OK(bt_http_scrape_url("http://t:80/x/announce.php?pk=1",
	    a.info_hash, &b, &e) == 0, "maps announce.php to scrape.php");
	T_STREQ(b.p, "http://t:80/x/scrape.php?pk=1&info_hash=%00%0D%1A%27"
	    "4AN%5Bhu%82%8F%9C%A9%B6%C3%D0%DD%EA%F7",
	    "scrape URL keeps the query and adds the info hash");
	T_OK(bt_http_scrape_url("http://t/a/ann", a.info_hash, &b, &e) < 0 &&
	    e.status == BT_EX_UNAVAILABLE,
	    "refuses to scrape a path not ending in announce (BEP 48)");
	T_OK(bt_http_announce_url("http://t/a#frag", &a, &b, &e) < 0,
	    "refuses a URL with a fragment");

	T_OK(bt_tracker_kind("HTTPS://x") == BT_TRACKER_HTTP &&
	    bt_tracker_kind("udp://x:1") == BT_TRACKER_UDP &&
	    bt_tracker_kind("wss://x") == BT_TRACKER_OTHER,
	    "tells the tracker kind by scheme");
	bt_buf_free(&b);
}

static void
test_udp_url(void)
{
	char host[256], port[8];
	struct bt_err e;

	T_OK(bt_udp_url_parse("udp://tracker.example:6969/announce", host,
	    sizeof(host), port, sizeof(port), &e) == 0 &&
	    strcmp(host, "tracker.example") == 0 && strcmp(port, "6969") == 0,
	    "splits udp://host:port/path");
	T_OK(bt_udp_url_parse("udp://[::1]:80", host, sizeof(host), port,
	    sizeof(port), &e) == 0 && strcmp(host, "::1") == 0 &&
	    strcmp(port, "80") == 0, "splits an IPv6 literal");
	T_OK(bt_udp_url_parse("udp://host/announce", host, sizeof(host), port,
	    sizeof(port), &e) < 0, "refuses a UDP URL without a port");
	T_STREQ(e.msg, "URL: no port", "names the missing port");
	T_OK(bt_udp_url_parse("udp://host:0/", host, sizeof(host), port,
	    sizeof(port), &e) < 0, "refuses port 0");
	T_OK(bt_udp_url_parse("udp://[::1:80", host, sizeof(host), port,
	    sizeof(port), &e) < 0, "refuses an unclosed IPv6 bracket");
}

static void
test_udp_packets(void)
{
	static const char dict[] = "d8:completei5e10:incompletei2e"
	    "8:intervali1800e5:peers6:\x7f\0\0\x01\x1a\xe1" "e";
	static const uint8_t conn[16] = {
		0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0,
		0x12, 0x34, 0x56, 0x78
	};
	struct bt_announce a = req();
	struct bt_udp_reply r;
	struct bt_buf b = { 0 };
	struct bt_err e;
	uint8_t p[128];
	const char *why = NULL;
	size_t n;

	n = bt_udp_connect_req(p, 0x12345678);
	T_OK(n == 16 && memcmp(p, conn, 16) == 0,
	    "connect request: magic, action 0, transaction id");
	n = bt_udp_announce_req(p, 0x0102030405060708ULL, 0xa1b2c3d4, &a);
	T_OK(n == 98 && p[0] == 1 && p[7] == 8 && p[11] == 1 &&
	    p[12] == 0xa1 && memcmp(p + 16, a.info_hash, 20) == 0 &&
	    memcmp(p + 36, a.peer_id, 20) == 0 && p[63] == 2 &&
	    p[71] == 3 && p[79] == 1 && p[83] == 2 && p[88] == 0xde &&
	    p[95] == 50 && p[96] == 0x1a && p[97] == 0xe1,
	    "announce request: BEP 15 offsets and byte order");
	T_STREQ(bt_udp_url_request("udp://t:1/ann?pk=a%2F"), "/ann?pk=a%2F",
	    "BEP 41: the request string is the path and query");
	T_STREQ(bt_udp_url_request("udp://[::1]:1?x=1"), "?x=1",
	    "past an IPv6 host's colons, a query alone");
	T_STREQ(bt_udp_url_request("udp://t:1"), "", "no path: empty");
	n = bt_udp_urldata(p, "/dir?a=b&c=d", 12);
	T_OK(n == 15 && memcmp(p, "\x02\x0c/dir?a=b&c=d\x00", 15) == 0,
	    "URLData: type 2, the length, the bytes, then EndOfOptions");
	T_OK(bt_udp_urldata(p, "", 0) == 0, "nothing for an empty request");
	{
		uint8_t big[BT_UDP_OPTIONS_MAX], want[600];
		char path[600];
		size_t k;

		memset(path, 'p', sizeof(path));
		path[0] = '/';
		n = bt_udp_urldata(big, path, 600);
		want[0] = 2;
		want[1] = 255;
		memcpy(want + 2, path, 255);
		T_OK(n == 600 + 3 * 2 + 1 && memcmp(big, want, 257) == 0 &&
		    big[257] == 2 && big[258] == 255 &&
		    memcmp(big + 259, path + 255, 255) == 0 &&
		    big[514] == 2 && big[515] == 90 &&
		    memcmp(big + 516, path + 510, 90) == 0 && big[606] == 0,
		    "600 bytes: chunks of 255, 255 and 90, then EndOfOptions");
		memset(path, 'q', sizeof(path));
		k = bt_udp_urldata(big, path, 255);
		T_OK(k == 258 && big[1] == 255 && big[257] == 0,
		    "exactly 255 bytes: one option");
	}
	{
		static uint8_t big[BT_UDP_OPTIONS_MAX + 1];
		static char path[BT_TRACKER_MAX_URL];

		memset(path, 'r', sizeof(path));
		big[BT_UDP_OPTIONS_MAX] = 0xee;
		n = bt_udp_urldata(big, path, sizeof(path));
		T_OK(n == BT_UDP_OPTIONS_MAX && big[n - 1] == 0 &&
		    big[BT_UDP_OPTIONS_MAX] == 0xee,
		    "a path of BT_TRACKER_MAX_URL bytes fills "
		    "BT_UDP_OPTIONS_MAX exactly");
	}
	n = bt_udp_scrape_req(p, 7, 9, a.info_hash);
	T_OK(n == 36 && p[7] == 7 && p[11] == 2 && p[15] == 9 &&
	    memcmp(p + 16, a.info_hash, 20) == 0, "scrape request");

	memcpy(p, "\0\0\0\0\x12\x34\x56\x78\x11\x22\x33\x44\x55\x66\x77\x88",
	    16);
	T_OK(bt_udp_reply_parse(p, 16, BT_UDP_CONNECT, 0x12345678, &r,
	    &why, &e) == 1 && r.conn == 0x1122334455667788ULL,
	    "connect reply gives the connection id");
	T_OK(bt_udp_reply_parse(p, 16, BT_UDP_CONNECT, 0x12345679, &r,
	    &why, &e) == 0, "another transaction id is not ours: ignored");
	T_STREQ(why, "a reply with another transaction id",
	    "says why it was ignored");
	T_OK(bt_udp_reply_parse(p, 7, BT_UDP_CONNECT, 0x12345678, &r,
	    &why, &e) == 0, "a reply of 7 bytes is ignored");
	T_OK(bt_udp_reply_parse(p, 12, BT_UDP_CONNECT, 0x12345678, &r,
	    &why, &e) < 0 && e.status == BT_EX_DATAERR,
	    "a connect reply of 12 bytes is malformed");
	p[3] = 2;
	T_OK(bt_udp_reply_parse(p, 16, BT_UDP_CONNECT, 0x12345678, &r,
	    &why, &e) < 0 && e.status == BT_EX_DATAERR,
	    "a reply with another action is malformed");
	T_STREQ(e.msg, "reply has action 2, expected 0", "names the action");
	p[3] = 3;
	memcpy(p + 8, "bad\0id\n", 7);
	T_OK(bt_udp_reply_parse(p, 15, BT_UDP_ANNOUNCE, 0x12345678, &r,
	    &why, &e) < 0 && e.status == BT_EX_UNAVAILABLE,
	    "the error action is a tracker failure");
	T_STREQ(e.msg, "tracker failure: bad\\x00id\\x0a",
	    "its text is escaped, the NUL not trusted");

	memcpy(p, "\0\0\0\1\0\0\0\x09\0\0\x07\x08\0\0\0\x02\0\0\0\x05"
	    "\x7f\0\0\x01\x1a\xe1", 26);
	T_OK(bt_udp_reply_parse(p, 26, BT_UDP_ANNOUNCE, 9, &r, &why,
	    &e) == 1 && r.interval == 1800 && r.leechers == 2 &&
	    r.seeders == 5 && r.peerslen == 6, "announce reply");
	T_OK(bt_udp_answer_dict(&r, 0, &b) == 0 &&
	    b.len == sizeof(dict) - 1 && memcmp(b.p, dict, b.len) == 0,
	    "becomes the dict an HTTP tracker sends");
	T_OK(bt_udp_answer_dict(&r, 1, &b) == 0 &&
	    memmem(b.p, b.len, "6:peers66:", 10) != NULL,
	    "over IPv6 the peers go under peers6");
	memcpy(p, "\0\0\0\2\0\0\0\x09\0\0\0\x03\0\0\0\x04\0\0\0\x05", 20);
	T_OK(bt_udp_reply_parse(p, 20, BT_UDP_SCRAPE, 9, &r, &why,
	    &e) == 1 && bt_udp_answer_dict(&r, 0, &b) == 0 &&
	    b.len == strlen("d8:completei3e10:downloadedi4e10:incompletei5ee")
	    && memcmp(b.p, "d8:completei3e10:downloadedi4e10:incompletei5ee",
	    b.len) == 0, "scrape reply: seeders, completed, leechers");
	bt_buf_free(&b);
}

static int
parse(const char *s, size_t n, struct bt_tracker_answer *a,
    struct bt_err *e)
{
	struct bt_bdoc d;
	int r = -1;

	if (bt_bdecode(&d, s, n, 0, e) >= 0)
		r = bt_tracker_answer_parse(&d, a, 3, e);
	bt_bdoc_free(&d);
	return r;
}

#define P(lit, a, e) parse(lit, sizeof(lit) - 1, a, e)

static void
test_answers(void)
{
	struct bt_tracker_answer a;
	struct bt_err e;
	char line[64];

	T_OK(P("d8:intervali60e5:peers12:\x7f\0\0\x01\x1a\xe1"
	    "\x7f\0\0\x01\x1a\xe1" "e", &a, &e) == 0 && a.peers.n == 1 &&
	    a.interval == 60, "compact peers, a repeated one kept once");
	T_STREQ(bt_peer_format(&a.peers.peer[0], line, sizeof(line)),
	    "127.0.0.1 6881", "compact peer address and port");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peers24:\x7f\0\0\x01\0\x01\x7f\0\0\x01\0\x02"
	    "\x7f\0\0\x01\0\x03\x7f\0\0\x01\0\x04" "e", &a, &e) == 0 &&
	    a.peers.n == 3 && a.dropped == 1,
	    "peers past the limit are dropped and counted");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peers5:\x7f\0\0\x01\x1a" "e", &a, &e) < 0 &&
	    e.status == BT_EX_DATAERR, "a compact list of 5 bytes fails");
	T_STREQ(e.msg, "peers: compact list of 5 bytes is not a multiple "
	    "of 6", "names the length");
	bt_tracker_answer_free(&a);
	T_OK(P("d6:peers617:0123456789abcdefge", &a, &e) < 0,
	    "a peers6 list of 17 bytes fails");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peers6:\x7f\0\0\x01\0\0" "e", &a, &e) < 0, "port 0 fails");
	T_STREQ(e.msg, "peers: peer 1 has port 0", "names the peer");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peersld2:ip7:1.2.3.44:porti80eed2:ip5:a.org4:porti1eeee",
	    &a, &e) == 0 && a.peers.n == 1 && a.named == 1,
	    "dictionary model; host names skipped and counted");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peersld2:ip7:1.2.3.44:porti65536eeee", &a, &e) < 0,
	    "a dictionary port past 65535 fails");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peersld4:porti80eeee", &a, &e) < 0, "a peer without ip");
	T_STREQ(e.msg, "peers: entry 1 lacks ip", "names what lacks");
	bt_tracker_answer_free(&a);
	T_OK(P("d14:failure reason3:no!5:peers0:e", &a, &e) < 0 &&
	    e.status == BT_EX_UNAVAILABLE, "a failure reason wins");
	T_STREQ(e.msg, "tracker failure: no!", "shows the tracker's text");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:filesdee", &a, &e) < 0, "a scrape answer is refused");
	T_STREQ(e.msg, "not a tracker answer: a scrape answer has no peers",
	    "says it is a scrape answer");
	bt_tracker_answer_free(&a);
	T_OK(P("d14:x-bt-info-hash3:abc5:peers0:e", &a, &e) < 0,
	    "a context info hash not 20 bytes fails");
	bt_tracker_answer_free(&a);
	T_OK(P("d5:peers0:15:warning message4:slowe", &a, &e) == 0 &&
	    a.warning_len == 4 && memcmp(a.warning, "slow", 4) == 0,
	    "keeps the warning message");
	bt_tracker_answer_free(&a);
}

static void
test_encode(void)
{
	static const char in[] = "d5:peers0:1:ad1:zi1e1:yi2ee1:ai9e"
	    "12:x-bt-torrent4:evil8:intervali5ee";
	static const char want[] = "d1:ad1:yi2e1:zi1ee8:intervali5e"
	    "5:peers0:14:x-bt-info-hash20:AAAAAAAAAAAAAAAAAAAA"
	    "12:x-bt-torrent3:t.t12:x-bt-tracker8:http://xe";
	uint8_t ih[BT_SHA1_LEN];
	struct bt_buf b = { 0 };
	struct bt_bdoc d;
	struct bt_err e;

	memset(ih, 'A', sizeof(ih));
	T_OK(bt_bdecode(&d, in, sizeof(in) - 1, 0, &e) >= 0,
	    "decodes an unsorted answer");
	T_OK(bt_answer_encode(&d, ih, "t.t", "http://x", &b, &e) == 0 &&
	    b.len == sizeof(want) - 1 && memcmp(b.p, want, b.len) == 0,
	    "re-encodes sorted at every depth, the first of a repeated key, "
	    "the context keys in place of the tracker's x-bt- ones");
	if (b.len != sizeof(want) - 1 || memcmp(b.p, want, b.len) != 0)
		printf("# got %.*s\n", (int)b.len, b.p);
	bt_bdoc_free(&d);
	bt_buf_free(&b);
}

int
main(void)
{
	test_urls();
	test_udp_url();
	test_udp_packets();
	test_answers();
	test_encode();
	return t_done();
}
