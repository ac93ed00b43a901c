/*
 * hostile-peer: a seeder that misbehaves on purpose, for tests.
 *
 *	hostile-peer [-6] -m MODE -t TORRENT -f DATA [-p PORT] [-l SECONDS]
 *	    [-o FILE] [-x PORT]
 *
 * Listens on 127.0.0.1:PORT (on [::1] with -6; 0 or none: any free
 * port), prints the port on stdout, serves each connection in a child
 * process from DATA (the single file of TORRENT) and exits after SECONDS
 * (default 60). Modes:
 *
 *	honest		serves correctly
 *	noisy		serves correctly, amid extension (BEP 10), port,
 *			suggest, unknown-id messages and keep-alives
 *	haveall		serves correctly, announcing its pieces with have all
 *	havenone	serves correctly, with have none then one have a piece
 *	haveall-nofast	haveall without the fast extension bit (BEP 6: an
 *			error)
 *	suggest		serves correctly, after suggesting (BEP 6) pieces
 *			200, 13 and 150, in that order, before its unchoke;
 *			prints "asked for piece N" on stdout for each request
 *	reject		rejects each block the first time it is asked for,
 *			serves it the next time (BEP 6)
 *	rejectunasked	answers each request with a reject of a block never
 *			asked for
 *	allowfast	never unchokes; allows pieces 0 to 9 (BEP 6 allowed
 *			fast), serves them, rejects the others
 *	chokereject	serves 16 blocks, chokes, rejects what is asked
 *			until 200 ms pass without a request, unchokes, again
 *	chokeserve	the same, but serves what is asked while choking
 *			(BEP 6: a choke leaves requests pending)
 *	badext		an extension handshake (BEP 10) that is not a dict
 *	bigext		an extension handshake of 70,000 bytes
 *	pex		serves correctly, after a ut_pex message (BEP 11) of
 *			250 added peers: 0.0.0.0 and 224.0.0.1, then 248 on
 *			127.1.0.0/16 that refuse connections (a block of them
 *			per listening port), and a second one at once
 *	pexchoke	the same PEX messages, then never unchokes
 *	pexdrop		never unchokes; names 127.0.0.1 PORT (-x) as added in
 *			a ut_pex message, then as dropped in another 31 s
 *			later (past bt's BT_PEX_MIN_INTERVAL_MS)
 *	mdask		serves correctly, after asking (BEP 9, under id 1,
 *			bt's) for each piece of the metadata, in order, and
 *			for the piece past the last; appends the payload of
 *			every ut_metadata message it gets (under its id 3)
 *			to FILE; unchokes once it has an answer to each
 *	mdflood		asks for piece 0 of the metadata 5 times a piece of
 *			it, then serves correctly
 *	mdbad		a ut_metadata message with no msg_type
 *	mdunknown	a ut_metadata message of msg_type 7, then serves
 *	mdbig		a ut_metadata message of 2000 bytes
 *	corrupt		every block has one byte flipped
 *	unasked		answers each request with a block at a wrong offset
 *	wronglen	answers each request with half the block
 *	oversize	sends a length prefix of 256 MiB after unchoking
 *	spare		a bitfield with the spare bits set
 *	badlen		a bitfield one byte too long
 *	badhave		a have of the piece past the last
 *	stall		unchokes, then never answers a request
 *	die		serves 8 blocks, then closes (a seeder killed midway)
 *	silent		accepts and never says a thing
 *	self		answers with the peer id it was sent
 *	wronghash	answers with another info hash
 */
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metainfo.h"
#include "wire.h"

static const char *mode;
static struct bt_torrent t;
static int data_fd;
/* Global, so that they are still reachable at exit (LeakSanitizer). */
static uint8_t *bf;		/* our bitfield */
static uint8_t *asked;		/* reject: blocks rejected once */
static const char *mdout;	/* mdask: where ut_metadata messages go */
static int xport;		/* pexdrop: the port of the peer it names */

static void die(const char *) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "hostile-peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
is(const char *m)
{
	return strcmp(mode, m) == 0;
}

static void
put(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w <= 0)
			exit(0);
		c += w;
		n -= (size_t)w;
	}
}

static void
get(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r <= 0)
			exit(0);
		c += r;
		n -= (size_t)r;
	}
}

static void
msg(int fd, uint8_t id, const void *payload, uint32_t n)
{
	uint8_t h[5];

	bt_put32(h, n + 1);
	h[4] = id;
	put(fd, h, 5);
	if (n > 0)
		put(fd, payload, n);
}

/* The fast extension's modes (all but honest, haveall-nofast and the
   modes that predate BEP 6 here) set its bit. */
static unsigned
reserved(void)
{
	if (is("noisy") || is("badext") || is("bigext") || is("pex") ||
	    is("pexchoke") || is("pexdrop") || strncmp(mode, "md", 2) == 0)
		return BT_RSV_FAST | BT_RSV_EXT;
	if (is("haveall") || is("havenone") || is("reject") ||
	    is("rejectunasked") || is("allowfast") || is("chokereject") ||
	    is("chokeserve") || is("suggest"))
		return BT_RSV_FAST;
	return 0;
}

static void
send_reject(int fd, uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t r[17];

	bt_wire_request(r, BT_MSG_REJECT, index, begin, len);
	put(fd, r, sizeof(r));
}

/*
 * Extension messages: a handshake offering ut_pex, and ut_pex messages
 * sent under id 2, the one bt's handshake gives it (BT_EXT_UT_PEX).
 */
static void
send_ext(int fd, uint8_t xid, const void *p, uint32_t n)
{
	uint8_t h[6];

	bt_put32(h, n + 2);
	h[4] = BT_MSG_EXTENDED;
	h[5] = xid;
	put(fd, h, 6);
	put(fd, p, n);
}

static void
send_pex(int fd, uint16_t lport)
{
	static const char pre[] = "d5:added1500:";
	char m[sizeof(pre) + 1500 + 64];
	uint8_t *a;
	size_t n = sizeof(pre) - 1;
	int i;

	memcpy(m, pre, n);
	a = (uint8_t *)m + n;
	memset(a, 0, 1500);
	/* 0.0.0.0 7 and 224.0.0.1 7: not addresses to dial. */
	a[5] = 7;
	a[6] = 224;
	a[9] = 1;
	a[11] = 7;
	for (i = 2; i < 250; i++) {
		uint8_t *e = a + 6 * i;

		/* 127.1.H.L, H.L being our port; port i. */
		e[0] = 127;
		e[1] = 1;
		bt_put32(e + 2, ((uint32_t)lport << 16) | (uint32_t)i);
	}
	n += 1500;
	memcpy(m + n, "e", 1);
	n += 1;
	send_ext(fd, 2, m, (uint32_t)n);
}

/* pexdrop: a ut_pex message naming 127.0.0.1 xport under key. */
static void
send_pex_one(int fd, const char *key)
{
	char m[64];
	int n;

	n = snprintf(m, sizeof(m), "d%zu:%s6:", strlen(key), key);
	m[n++] = 127;
	m[n++] = 0;
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = (char)(xport >> 8);
	m[n++] = (char)(xport & 0xff);
	m[n++] = 'e';
	send_ext(fd, 2, m, (uint32_t)n);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A ut_metadata request for piece i, under bt's id for it (1). */
static void
send_md_request(int fd, uint32_t i)
{
	char m[64];
	int n;

	n = snprintf(m, sizeof(m), "d8:msg_typei0e5:piecei%uee", i);
	send_ext(fd, 1, m, (uint32_t)n);
}

/* The metadata modes' first messages, after the extension handshake. */
static void
send_md(int fd)
{
	static const char xhs[] = "d1:md11:ut_metadatai3ee1:v7:hostilee";
	uint32_t np = (uint32_t)((t.info_len + 16383) / 16384), i;

	send_ext(fd, 0, xhs, sizeof(xhs) - 1);
	if (is("mdask")) {
		for (i = 0; i <= np; i++)
			send_md_request(fd, i);
	} else if (is("mdflood")) {
		for (i = 0; i < 5 * np; i++)
			send_md_request(fd, 0);
	} else if (is("mdbad"))
		send_ext(fd, 1, "d5:piecei0ee", 12);
	else if (is("mdunknown"))
		send_ext(fd, 1, "d8:msg_typei7e5:piecei0ee", 25);
	else if (is("mdbig")) {
		uint8_t h[6];

		bt_put32(h, 2000 + 2);
		h[4] = BT_MSG_EXTENDED;
		h[5] = 1;
		put(fd, h, 6);
	}
}

/*
 * mdask: a ut_metadata message for us (id 3), its payload to mdout; once
 * the answers to each request are in, unchoke.
 */
static void
save_md(int fd, const uint8_t *m, uint32_t len)
{
	static uint32_t got;
	uint32_t np = (uint32_t)((t.info_len + 16383) / 16384);
	FILE *f;

	if (mdout == NULL || len < 2 || m[0] != BT_MSG_EXTENDED || m[1] != 3)
		return;
	if ((f = fopen(mdout, "ab")) == NULL)
		die(mdout);
	fwrite(m + 2, 1, len - 2, f);
	if (fclose(f) != 0)
		die(mdout);
	if (++got == np + 1)
		msg(fd, BT_MSG_UNCHOKE, NULL, 0);
}

/* 1 when fd has something to read within ms. */
static int
readable_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms) != 0;
}

static void
send_block(int fd, uint32_t index, uint32_t begin, uint32_t len)
{
	static uint8_t buf[65536];
	uint8_t h[13];
	off_t off = (off_t)index * t.piece_length + begin;

	if (len > sizeof(buf))
		exit(0);
	if (pread(data_fd, buf, len, off) != (ssize_t)len)
		die("pread");
	if (is("corrupt"))
		buf[len / 2] ^= 0x55;
	if (is("unasked"))
		begin += 1;
	if (is("wronglen"))
		len /= 2;
	bt_wire_piece_hdr(h, index, begin, len);
	put(fd, h, 13);
	put(fd, buf, len);
}

static void
serve(int fd)
{
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], id[20], m[80];
	size_t nbf = (t.npieces + 7) / 8;
	uint32_t len, i, served = 0, bpp, index, begin, blen;
	int choking = 0;
	long long drop_at = 0;

	if (is("silent")) {
		while (read(fd, m, sizeof(m)) > 0)
			;
		exit(0);
	}
	get(fd, hs, sizeof(hs));
	memcpy(id, "-HP0001-hostilepeer!", 20);
	if (is("self"))
		memcpy(id, hs + 48, 20);
	bt_wire_handshake_rsv(m, t.info_hash, id, reserved());
	if (is("wronghash"))
		m[30] ^= 1;
	put(fd, m, BT_WIRE_HANDSHAKE_LEN);

	if ((bf = calloc(1, nbf + 1)) == NULL)
		die("calloc");
	for (i = 0; i < t.npieces; i++)
		bt_bit_set(bf, i);
	if (is("spare"))
		bf[nbf - 1] = 0xff;
	if (is("noisy")) {
		static const char ext[] = "\0d1:md11:ut_metadatai3ee1:v4:teste";

		msg(fd, BT_MSG_EXTENDED, ext, sizeof(ext) - 1);
	}
	if (is("badext"))
		send_ext(fd, 0, "i1e", 3);
	if (is("bigext")) {
		uint8_t h[6];

		bt_put32(h, 70000 + 2);
		h[4] = BT_MSG_EXTENDED;
		h[5] = 0;
		put(fd, h, 6);
	}
	if (is("pex") || is("pexchoke")) {
		struct sockaddr_in sin;
		socklen_t slen = sizeof(sin);
		static const char xhs[] = "d1:md6:ut_pexi1ee1:v7:hostilee";

		if (getsockname(fd, (struct sockaddr *)&sin, &slen) < 0)
			die("getsockname");
		send_ext(fd, 0, xhs, sizeof(xhs) - 1);
		send_pex(fd, ntohs(sin.sin_port));
		send_pex(fd, ntohs(sin.sin_port));
	}
	if (is("pexdrop")) {
		static const char xhs[] = "d1:md6:ut_pexi1ee1:v7:hostilee";

		send_ext(fd, 0, xhs, sizeof(xhs) - 1);
		send_pex_one(fd, "added");
		drop_at = now_ms() + 31000;
	}
	if (strncmp(mode, "md", 2) == 0)
		send_md(fd);
	if (is("haveall") || is("haveall-nofast"))
		msg(fd, BT_MSG_HAVE_ALL, NULL, 0);
	else if (is("havenone")) {
		uint8_t h[9];

		msg(fd, BT_MSG_HAVE_NONE, NULL, 0);
		for (i = 0; i < t.npieces; i++) {
			bt_wire_have(h, i);
			put(fd, h, 9);
		}
	} else
		msg(fd, BT_MSG_BITFIELD, bf,
		    (uint32_t)nbf + (is("badlen") ? 1 : 0));
	if (is("badhave")) {
		uint8_t h[9];

		bt_wire_have(h, t.npieces);
		put(fd, h, 9);
	}
	if (is("noisy")) {
		uint8_t x[4] = { 0x1a, 0xe1, 0, 0 };

		put(fd, "\0\0\0\0", 4);
		msg(fd, BT_MSG_PORT, x, 2);
		msg(fd, BT_MSG_SUGGEST, x, 4);
		msg(fd, 99, "whatever", 8);
	}
	if (is("suggest")) {
		static const uint32_t sug[] = { 200, 13, 150 };
		uint8_t x[4];

		for (i = 0; i < sizeof(sug) / sizeof(sug[0]); i++) {
			bt_put32(x, sug[i]);
			msg(fd, BT_MSG_SUGGEST, x, 4);
		}
	}
	if (is("allowfast")) {
		uint8_t x[4];

		for (i = 0; i < 10 && i < t.npieces; i++) {
			bt_put32(x, i);
			msg(fd, BT_MSG_ALLOWED_FAST, x, 4);
		}
		choking = 1;
	} else if (!is("pexchoke") && !is("pexdrop") && !is("mdask"))
		msg(fd, BT_MSG_UNCHOKE, NULL, 0);
	bpp = (uint32_t)((t.piece_length + 16383) / 16384);
	if (is("reject") && (asked = calloc((size_t)t.npieces * bpp, 1)) ==
	    NULL)
		die("calloc");
	if (is("oversize")) {
		bt_put32(m, 256u << 20);
		m[4] = BT_MSG_PIECE;
		put(fd, m, 5);
	}
	for (;;) {
		if (drop_at > 0) {
			long long left = drop_at - now_ms();

			if (left <= 0 || !readable_within(fd, (int)left)) {
				send_pex_one(fd, "dropped");
				drop_at = 0;
			}
		}
		if (choking && (is("chokereject") || is("chokeserve")) &&
		    !readable_within(fd, 200)) {
			msg(fd, BT_MSG_UNCHOKE, NULL, 0);
			choking = 0;
		}
		get(fd, m, 4);
		len = bt_get32(m);
		if (len == 0)
			continue;
		if (len > sizeof(m) && mdout != NULL) {
			uint8_t *x = malloc(len);

			if (x == NULL)
				die("malloc");
			get(fd, x, len);
			save_md(fd, x, len);
			free(x);
			continue;
		}
		if (len > sizeof(m)) {
			/* a message we do not care about: skip it */
			while (len > 0) {
				uint32_t k = len > sizeof(m) ? sizeof(m) : len;

				get(fd, m, k);
				len -= k;
			}
			continue;
		}
		get(fd, m, len);
		save_md(fd, m, len);
		if (m[0] != BT_MSG_REQUEST || len != 13 || is("stall"))
			continue;
		if (is("noisy"))
			msg(fd, BT_MSG_EXTENDED, "\x03junk", 5);
		if (is("die") && served++ == 8)
			exit(0);
		index = bt_get32(m + 1);
		begin = bt_get32(m + 5);
		blen = bt_get32(m + 9);
		if (is("suggest")) {
			printf("asked for piece %u\n", index);
			fflush(stdout);
		}
		if (is("rejectunasked")) {
			send_reject(fd, index, begin + 1, blen);
			continue;
		}
		if (is("reject") && index < t.npieces &&
		    !asked[(size_t)index * bpp + begin / 16384]) {
			asked[(size_t)index * bpp + begin / 16384] = 1;
			send_reject(fd, index, begin, blen);
			continue;
		}
		if (is("allowfast") && index >= 10) {
			send_reject(fd, index, begin, blen);
			continue;
		}
		if (choking && is("chokereject")) {
			send_reject(fd, index, begin, blen);
			continue;
		}
		send_block(fd, index, begin, blen);
		if ((is("chokereject") || is("chokeserve")) && !choking &&
		    ++served % 16 == 0) {
			msg(fd, BT_MSG_CHOKE, NULL, 0);
			choking = 1;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	socklen_t slen;
	struct bt_err e;
	const char *tfile = NULL, *dfile = NULL;
	int ch, port = 0, life = 60, ls, fd, one = 1, six = 0;

	while ((ch = getopt(argc, argv, "6f:l:m:o:p:t:x:")) != -1) {
		switch (ch) {
		case '6':
			six = 1;
			break;
		case 'f':
			dfile = optarg;
			break;
		case 'l':
			life = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'o':
			mdout = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			tfile = optarg;
			break;
		case 'x':
			xport = atoi(optarg);
			break;
		default:
			exit(64);
		}
	}
	if (mode == NULL || tfile == NULL || dfile == NULL) {
		fprintf(stderr, "usage: hostile-peer [-6] -m MODE -t TORRENT "
		    "-f DATA [-p PORT] [-l SECONDS] [-o FILE] [-x PORT]\n");
		exit(64);
	}
	if (bt_torrent_load(&t, tfile, &e) < 0) {
		fprintf(stderr, "hostile-peer: %s: %s\n", tfile, e.msg);
		exit(66);
	}
	if ((data_fd = open(dfile, O_RDONLY)) < 0)
		die(dfile);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if ((ls = socket(six ? AF_INET6 : AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (six) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		sin6.sin6_addr = in6addr_loopback;
		if (bind(ls, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
			die("bind");
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			die("bind");
	}
	if (listen(ls, 16) < 0)
		die("listen");
	slen = sizeof(sin6);
	if (getsockname(ls, (struct sockaddr *)&sin6, &slen) < 0)
		die("getsockname");
	printf("%d\n", ntohs(sin6.sin6_port));
	fflush(stdout);
	alarm((unsigned)life);
	for (;;) {
		fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			close(ls);
			alarm((unsigned)life);
			serve(fd);
			exit(0);
		default:
			close(fd);
		}
	}
}
