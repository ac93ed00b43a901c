/*
 * lib/peerlist: "ADDRESS PORT" lines, context lines, bad lines with their
 * numbers, duplicates, the maximum and the dropped count, and the format
 * read back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "peerlist.h"
#include "util.h"
#include "t.h"

static void
parse_ok(const char *line, int family, const char *back)
{
	struct bt_peer_addr a;
	struct bt_err e;
	char buf[128];
	int r = bt_peer_parse(line, &a, &e);

	T_OK(r == 0 && a.sa.ss_family == family && a.salen == (family ==
	    AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)), "parses '%s'", line);
	T_STREQ(r == 0 ? bt_peer_format(&a, buf, sizeof(buf)) : e.msg, back,
	    "formats '%s' back", line);
}

static void
parse_bad(const char *line, const char *msg)
{
	struct bt_peer_addr a;
	struct bt_err e;

	bt_err_clear(&e);
	T_OK(bt_peer_parse(line, &a, &e) == -1 && e.status == BT_EX_DATAERR,
	    "refuses '%s'", line);
	T_STREQ(e.msg, msg, "names the reason for '%s'", line);
}

static void
test_parse(void)
{
	struct bt_peer_addr a;
	struct bt_err e;

	parse_ok("127.0.0.1 6881", AF_INET, "127.0.0.1 6881");
	parse_ok("10.1.2.3 1", AF_INET, "10.1.2.3 1");
	parse_ok("::1 65535", AF_INET6, "::1 65535");
	parse_ok("2001:DB8:0:0::1 51413", AF_INET6, "2001:db8::1 51413");
	parse_ok("::ffff:1.2.3.4 80", AF_INET6, "::ffff:1.2.3.4 80");
	T_OK(bt_peer_parse("192.168.1.2 6881", &a, &e) == 0 &&
	    ntohs(((struct sockaddr_in *)&a.sa)->sin_port) == 6881 &&
	    ntohl(((struct sockaddr_in *)&a.sa)->sin_addr.s_addr) ==
	    0xc0a80102, "the sockaddr holds the address and port");
	parse_bad("1.2.3.4", "expected 'ADDRESS PORT'");
	parse_bad(" 80", "invalid address");
	parse_bad("1.2.3.4 0", "invalid port '0'");
	parse_bad("1.2.3.4 65536", "invalid port '65536'");
	parse_bad("1.2.3.4 80x", "invalid port '80x'");
	parse_bad("1.2.3.4  80", "invalid port ' 80'");
	parse_bad("1.2.3.4 ", "invalid port ''");
	parse_bad("1.2.3 80", "invalid IPv4 address '1.2.3'");
	parse_bad("1.2.3.256 80", "invalid IPv4 address '1.2.3.256'");
	parse_bad("localhost 80", "invalid IPv4 address 'localhost'");
	parse_bad("[::1] 80", "invalid IPv6 address '[::1]'");
	parse_bad("::g 80", "invalid IPv6 address '::g'");
	parse_bad("1.2.3.4:80 80", "invalid IPv6 address '1.2.3.4:80'");
}

static void
test_raw(void)
{
	static const uint8_t v4[4] = { 127, 0, 0, 2 };
	static const uint8_t v6[16] = { 0xfe, 0x80, [15] = 1 };
	struct bt_peer_addr a;
	char buf[128];

	bt_peer_from_raw(&a, v4, 4, 51413);
	T_STREQ(bt_peer_format(&a, buf, sizeof(buf)), "127.0.0.2 51413",
	    "from_raw: IPv4 compact bytes");
	bt_peer_from_raw(&a, v6, 16, 1);
	T_STREQ(bt_peer_format(&a, buf, sizeof(buf)), "fe80::1 1",
	    "from_raw: IPv6 compact bytes");
}

/* Read text as a peer list. */
static int
readl(const char *text, size_t max, struct bt_peerlist *l, size_t *dropped,
    struct bt_err *e)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int r;

	memset(l, 0, sizeof(*l));
	bt_err_clear(e);
	r = bt_peerlist_read(l, f, max, dropped, e);
	fclose(f);
	return r;
}

static void
read_bad(const char *text, const char *msg, const char *what)
{
	struct bt_peerlist l;
	struct bt_err e;

	T_OK(readl(text, 100, &l, NULL, &e) == -1 &&
	    e.status == BT_EX_DATAERR, "refuses %s", what);
	T_STREQ(e.msg, msg, "names the line for %s", what);
	bt_peerlist_free(&l);
}

static void
test_read(void)
{
	static const char text[] =
	    "# info-hash 0123456789ABCDEF0123456789abcdef01234567\n"
	    "# torrent dir/my file.torrent\n"
	    "# any other comment\n"
	    "\n"
	    "127.0.0.1 6881\n"
	    "::1 6882\r\n"
	    "127.0.0.1 6881\n"
	    "0:0::1 6882\n"
	    "127.0.0.2 6881\n"
	    "127.0.0.1 6882";
	struct bt_peerlist l;
	struct bt_err e;
	char buf[128], hex[41];
	size_t dropped = 99;
	int r;

	r = readl(text, 100, &l, &dropped, &e);
	T_OK(r == 0 && l.n == 4 && dropped == 0,
	    "reads 4 peers of 6 lines: duplicates kept once (%zu)", l.n);
	bt_hex(l.info_hash, 20, hex);
	T_OK(l.has_info_hash, "context: has the info hash");
	T_STREQ(hex, "0123456789abcdef0123456789abcdef01234567",
	    "context: the info hash");
	T_STREQ(l.torrent, "dir/my file.torrent", "context: the torrent");
	T_STREQ(l.n == 4 ? bt_peer_format(&l.peer[0], buf, sizeof(buf)) : "",
	    "127.0.0.1 6881", "peers kept in order: first");
	T_STREQ(l.n == 4 ? bt_peer_format(&l.peer[1], buf, sizeof(buf)) : "",
	    "::1 6882", "CRLF line endings accepted");
	T_STREQ(l.n == 4 ? bt_peer_format(&l.peer[3], buf, sizeof(buf)) : "",
	    "127.0.0.1 6882", "a last line without newline; same address, "
	    "other port is another peer");
	bt_peerlist_free(&l);

	r = readl(text, 2, &l, &dropped, &e);
	T_OK(r == 0 && l.n == 2 && dropped == 2,
	    "at most max peers; the rest counted as dropped, "
	    "duplicates not (n %zu, dropped %zu)", l.n, dropped);
	bt_peerlist_free(&l);

	r = readl("", 10, &l, &dropped, &e);
	T_OK(r == 0 && l.n == 0 && !l.has_info_hash && l.torrent == NULL,
	    "an empty list");
	bt_peerlist_free(&l);

	read_bad("127.0.0.1 1\n\n# x\n1.2.3.4 x\n",
	    "line 4: invalid port 'x'", "a bad port");
	read_bad("127.0.0.1 1\nhello\n",
	    "line 2: expected 'ADDRESS PORT'", "a word");
	read_bad("# info-hash 0123\n",
	    "line 1: info hash is not 40 hex digits", "a short info hash");
	read_bad("::1 1\n"
	    "# info-hash 0123456789abcdef0123456789abcdef0123456z\n",
	    "line 2: info hash is not 40 hex digits", "a non-hex info hash");
	{
		char long_line[700];

		memset(long_line, '1', sizeof(long_line));
		long_line[sizeof(long_line) - 2] = '\n';
		long_line[sizeof(long_line) - 1] = '\0';
		read_bad(long_line, "line 1: longer than 510 bytes",
		    "a line too long");
	}
}

static void
test_roundtrip(void)
{
	static const char *in[] = {
		"1.2.3.4 1", "255.255.255.255 65535", "::1 2",
		"::ffff:1.2.3.4 3", "2001:db8:85a3::8a2e:370:7334 4",
		"fe80::1 5", "1:2:3:4:5:6:7:8 6",
	};
	struct bt_peerlist l;
	struct bt_err e;
	char text[1024] = "", buf[128];
	size_t i, bad = 0;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		strcat(text, in[i]);
		strcat(text, "\n");
	}
	if (readl(text, 100, &l, NULL, &e) < 0)
		bad = 100;
	for (i = 0; i < l.n; i++)
		if (strcmp(bt_peer_format(&l.peer[i], buf, sizeof(buf)),
		    in[i]) != 0)
			bad++;
	T_OK(bad == 0 && l.n == sizeof(in) / sizeof(in[0]),
	    "round trip: every formatted line reads back the same");
	bt_peerlist_free(&l);
	{
		struct bt_peer_addr a;

		memset(&l, 0, sizeof(l));
		bt_peer_parse("1.2.3.4 5", &a, &e);
		T_OK(bt_peerlist_add(&l, &a) == 1 &&
		    bt_peerlist_add(&l, &a) == 0 && bt_peerlist_has(&l, &a) &&
		    l.n == 1, "add: 1 when added, 0 for a duplicate");
		bt_peerlist_free(&l);
	}
}

/* The address of distinct peer k: IPv4 in 127/8 or IPv6 in fd00::/8. */
static void
big_peer(unsigned k, char *buf, size_t n)
{
	if (k % 3 == 2)
		snprintf(buf, n, "fd00::1:%x:%x %u", k >> 16, k & 0xffff,
		    1 + k % 60000);
	else
		snprintf(buf, n, "127.%u.%u.%u %u", (k >> 16) & 0xff,
		    (k >> 8) & 0xff, k & 0xff, 1 + (k * 7) % 65535);
}

/*
 * 100,000 distinct peers and 50,000 repeats of earlier lines, in an order
 * drawn from a fixed seed: kept once each, in the order of their first
 * line, and fast (the old linear search took seconds here).
 */
static void
test_big(void)
{
	enum { NDIST = 100000, NDUP = 50000 };
	size_t cap = (size_t)(NDIST + NDUP) * 48, len = 0;
	char *text = malloc(cap), buf[64], want[64];
	struct bt_peerlist l;
	struct bt_err e;
	unsigned k = 0, d = 0, seed = 12345, bad = 0;
	size_t dropped = 99, i;
	int r;

	if (text == NULL) {
		T_OK(0, "memory for the big list");
		return;
	}
	while (k < NDIST || d < NDUP) {
		seed = seed * 1103515245 + 12345;
		if (k > 0 && d < NDUP && ((seed >> 16) % 3 == 0 ||
		    k == NDIST)) {
			seed = seed * 1103515245 + 12345;
			big_peer((seed >> 8) % k, buf, sizeof(buf));
			d++;
		} else
			big_peer(k++, buf, sizeof(buf));
		len += (size_t)snprintf(text + len, cap - len, "%s\n", buf);
	}
	r = readl(text, NDIST + NDUP, &l, &dropped, &e);
	T_OK(r == 0 && l.n == NDIST && dropped == 0,
	    "150,000 lines: 100,000 distinct peers kept (%zu), none dropped",
	    l.n);
	for (i = 0; i < l.n; i++) {
		big_peer((unsigned)i, want, sizeof(want));
		if (strcmp(bt_peer_format(&l.peer[i], buf, sizeof(buf)),
		    want) != 0)
			bad++;
	}
	T_OK(r == 0 && bad == 0, "150,000 lines: each peer once, in the "
	    "order of its first line (%u out of place)", bad);
	bt_peerlist_free(&l);

	r = readl(text, NDIST / 2, &l, &dropped, &e);
	bad = 0;
	for (i = 0; i < l.n; i++) {
		big_peer((unsigned)i, want, sizeof(want));
		if (strcmp(bt_peer_format(&l.peer[i], buf, sizeof(buf)),
		    want) != 0)
			bad++;
	}
	T_OK(r == 0 && l.n == NDIST / 2 && bad == 0 && dropped >= NDIST / 2,
	    "over the maximum: the first 50,000 peers kept, later ones "
	    "counted (%zu)", dropped);
	bt_peerlist_free(&l);
	free(text);
}

static void
test_add_index(void)
{
	struct bt_peerlist l;
	struct bt_peer_addr a, b;
	struct bt_err e;
	char buf[64];
	unsigned k, bad = 0;

	/* Entries appended without bt_peerlist_add are still seen. */
	memset(&l, 0, sizeof(l));
	bt_peer_parse("1.2.3.4 5", &a, &e);
	bt_peer_parse("1.2.3.4 6", &b, &e);
	T_OK(bt_peerlist_add(&l, &a) == 1, "add to an empty list");
	if (l.n == l.cap) {
		l.cap *= 2;
		l.peer = realloc(l.peer, l.cap * sizeof(*l.peer));
	}
	l.peer[l.n++] = b;
	T_OK(bt_peerlist_has(&l, &b) && bt_peerlist_add(&l, &b) == 0 &&
	    l.n == 2, "a peer put in peer[] by hand is found and not added "
	    "again");
	for (k = 0; k < 5000; k++) {
		big_peer(k, buf, sizeof(buf));
		bt_peer_parse(buf, &a, &e);
		if (bt_peerlist_add(&l, &a) != 1 ||
		    bt_peerlist_add(&l, &a) != 0 || !bt_peerlist_has(&l, &a))
			bad++;
	}
	T_OK(bad == 0 && l.n == 5002, "5,000 adds: each added once while "
	    "the index grows (%zu)", l.n);
	bt_peerlist_free(&l);
}

int
main(void)
{
	test_parse();
	test_raw();
	test_read();
	test_roundtrip();
	test_big();
	test_add_index();
	return t_done();
}
