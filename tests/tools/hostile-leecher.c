/*
 * hostile-leecher: a downloader that misbehaves on purpose, for the tests
 * of bt-seed. It connects to ADDR PORT, shakes hands for TORRENT's info
 * hash, acts as MODE says, and reports on stdout what the seeder did:
 *
 *	hostile-leecher [-fx] [-p PIECE] [-r COUNT] [-t SECONDS] MODE
 *	    TORRENT ADDR PORT
 *
 * -f and -x set the fast extension (BEP 6) and extension protocol
 * (BEP 10) bits of its handshake; -P PORT is a port for the pex modes.
 *
 *	bitfield	prints "bitfield " and one 0 or 1 a piece, "have
 *			all" or "have none" (BEP 6), or "bitfield none"
 *			when the first message after the handshake is none
 *			of these (or none comes in 2 s)
 *	ask		interested; once unchoked, requests the first block
 *			of piece -p (default 0) and prints the answer:
 *			"piece I B L" (the block's header) or "reject I B L"
 *	ask-choked	the same at once, never interested nor unchoked
 *	allowed		(sets -f) never interested nor unchoked: prints
 *			"allowed fast I J ..." for the allowed fast messages
 *			that come (BEP 6), then asks for the first block of
 *			the first of them and of a piece not among them,
 *			printing each answer as ask does
 *	cancel		a 64 KiB receive buffer; interested; once unchoked,
 *			-r COUNT requests (default 2000), then a cancel of
 *			the last; prints "reject I B L" for each reject,
 *			and "pieces N" once COUNT - 1 blocks came
 *	metadata	(sets -x) sends an extension handshake offering
 *			ut_metadata, prints the seeder's ("extension
 *			handshake ut_metadata=ID metadata_size=N
 *			upload_only=U"), asks for metadata piece -p, and
 *			prints the answer: "ut_metadata PAYLOAD" for a
 *			reject (its bencoded bytes), or "ut_metadata data
 *			piece P total_size N good" (or bad) when the bytes
 *			are those of the torrent's info dict
 *	mdflood		(sets -x) as metadata, then -r COUNT requests for
 *			metadata piece 0 without reading the answers
 *	extbig		(sets -x) an extension handshake of one byte over
 *			BT_EXT_MAX_HANDSHAKE
 *	pex		(sets -x) offers ut_pex (and "p" -P PORT if given),
 *			prints "extension handshake ut_pex=ID" for the
 *			seeder's, then its first ut_pex message, one line
 *			a peer: "ut_pex added ADDR PORT FLAGS" or "ut_pex
 *			dropped ADDR PORT"
 *	nopex		(sets -x) offers only ut_metadata (and "p"); prints
 *			"extended ID LEN" for any extended message but the
 *			handshake
 *	pex-send	(sets -x) a ut_pex message under the seeder's id
 *			naming 127.0.0.1 -P PORT as added, -r COUNT times
 *			(default 1), then reads until closed
 *	pex-bad		(sets -x) a ut_pex message whose "added" is 5 bytes
 *	range		interested; once unchoked, requests piece npieces
 *	oversize	interested; once unchoked, requests 32 KiB blocks
 *	beyond		once unchoked, a block past the piece's end
 *	flood		interested; once unchoked, requests 5000 blocks
 *			without reading the answers
 *	choked		never interested; 3000 requests while choked
 *	idle		says nothing after the handshake
 *	keepalive	never interested; a keep-alive every 500 ms
 *	queue		interested; once unchoked, -r COUNT requests (default
 *			2000) for the blocks in turn, then reads nothing
 *	get		interested; downloads piece 0 and prints its SHA-1
 *			check ("piece 0 good" or "piece 0 bad")
 *	blackhole	no peer: listens on ADDR PORT (0: any) with its
 *			accept queue filled, so that a connection to it is
 *			never answered; prints the port, waits SECONDS
 *
 * Lines: "handshake", "unchoked", then "closed by peer" when the seeder
 * ends the connection, or "still open after N s" (exit 1) when -t
 * SECONDS (default 20) pass first.
 *
 *	hostile-leecher [-t SECONDS] [-n N] [-m KIND,...] [-s SEED]
 *	    [-b FROM] many TORRENT ADDR PORT
 *
 * N connections at once (default 200) from this one process (epoll),
 * from the address FROM if given (127.0.0.3, say, to tell them from
 * honest peers in the seeder's log), of the kinds listed (default all
 * but big), in turns, their order shuffled by SEED:
 *
 *	idle		connects and never sends a byte (no handshake)
 *	mute		shakes hands, then says nothing (reads what comes)
 *	slow		a 4 KiB receive buffer; interested, keep-alive every
 *			second; once unchoked, requests 256 blocks and never
 *			reads again
 *	flood		a 4 KiB receive buffer; interested and 5000 requests
 *			at once, never reads
 *	garbage		shakes hands, then a length prefix over
 *			BT_WIRE_MAX_MSG and 1 KiB of random bytes
 *	big		shakes hands, sends a message of an unknown id of
 *			BT_WIRE_MAX_MSG bytes, then a length prefix of one
 *			byte more
 *
 * It prints "connected N" once every connection is up (or failed), then,
 * when the seeder has closed them all or SECONDS (default 60) pass, one
 * line a kind: "KIND COUNT closed K", and exits 0 if all were closed,
 * else 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "ext.h"
#include "metainfo.h"
#include "sha1.h"
#include "util.h"
#include "wire.h"

static int fd;
static double deadline;
static int limit = 20;
static struct bt_torrent t;
static unsigned rsv;		/* BT_RSV_* of our handshake */
static uint32_t askpiece;	/* -p */
static int nreq = 2000;		/* -r */
static int pexport;		/* -P */
/* Our ut_metadata id (BEP 10: the one we receive under). */
#define OUR_UT_METADATA 3

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
closed(void)
{
	printf("closed by peer\n");
	exit(0);
}

static void
timed_out(void)
{
	printf("still open after %d s\n", limit);
	exit(1);
}

/* Read exactly n bytes; 0 on timeout (ms from now, or the deadline). */
static int
readn(void *buf, size_t n, int ms)
{
	uint8_t *p = buf;
	double until = ms >= 0 ? now() + ms / 1000.0 : deadline;

	while (n > 0) {
		struct pollfd pf = { fd, POLLIN, 0 };
		double left = until - now();
		ssize_t r;

		if (left <= 0)
			return 0;
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = read(fd, p, n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			closed();
		}
		p += r;
		n -= (size_t)r;
	}
	return 1;
}

static void
writen(const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			closed();
		}
		p += w;
		n -= (size_t)w;
	}
}

/* The next message: its id (-1 keep-alive), payload into buf (cut). */
static int
next_msg(uint8_t *buf, size_t cap, uint32_t *len, int ms)
{
	uint8_t hdr[4], skip[4096];
	uint32_t n, k;

	if (!readn(hdr, 4, ms))
		return -2;
	n = bt_get32(hdr);
	if (n == 0)
		return -1;
	if (!readn(hdr, 1, -1))
		timed_out();
	n--;
	*len = n;
	k = n < cap ? n : (uint32_t)cap;
	if (k > 0 && !readn(buf, k, -1))
		timed_out();
	for (n -= k; n > 0; n -= k) {
		k = n < sizeof(skip) ? n : (uint32_t)sizeof(skip);
		if (!readn(skip, k, -1))
			timed_out();
	}
	return hdr[0];
}

static void
wait_unchoke(void)
{
	static uint8_t buf[1 << 20];
	uint32_t len;
	int id;

	for (;;) {
		id = next_msg(buf, sizeof(buf), &len, -1);
		if (id == -2)
			timed_out();
		if (id == BT_MSG_UNCHOKE) {
			printf("unchoked\n");
			fflush(stdout);
			return;
		}
	}
}

static void
request(uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t m[17];

	writen(m, bt_wire_request(m, BT_MSG_REQUEST, index, begin, len));
}

/* Requests for the blocks of the torrent in turn, n of them. */
static void
many_requests(int n)
{
	uint32_t index = 0, begin = 0;
	int i;

	for (i = 0; i < n; i++) {
		int64_t size = bt_piece_size(&t, index);
		uint32_t len = size - begin < BT_BLOCK_LEN ?
		    (uint32_t)(size - begin) : BT_BLOCK_LEN;

		request(index, begin, len);
		begin += len;
		if (begin >= size) {
			begin = 0;
			index = (index + 1) % t.npieces;
		}
	}
}

/* Read nothing; wait for the seeder to close (or reset). */
static void
hold(void)
{
	for (;;) {
		struct pollfd pf = { fd, 0, 0 };
		double left = deadline - now();

		if (left <= 0)
			timed_out();
		if (poll(&pf, 1, (int)(left * 1000) + 1) > 0 &&
		    (pf.revents & (POLLHUP | POLLERR)))
			closed();
	}
}

/*
 * A listener whose accept queue is full and never drained: Linux drops
 * the SYNs of further connections, which then never complete.
 */
static int
blackhole(const struct sockaddr_storage *ss, socklen_t sl)
{
	struct sockaddr_storage me = *ss;
	socklen_t ml = sl;
	int lfd, i, one = 1;

	if ((lfd = socket(ss->ss_family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) < 0 ||
	    bind(lfd, (const struct sockaddr *)ss, sl) < 0 ||
	    listen(lfd, 0) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&me, &ml) < 0) {
		perror("hostile-leecher: blackhole");
		return 69;
	}
	for (i = 0; i < 4; i++) {
		int f = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK,
		    0);

		if (f < 0 || (connect(f, (struct sockaddr *)&me, ml) < 0 &&
		    errno != EINPROGRESS)) {
			perror("hostile-leecher: blackhole");
			return 69;
		}
	}
	printf("%u\n", ntohs(me.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&me)->sin_port :
	    ((struct sockaddr_in6 *)&me)->sin6_port));
	fflush(stdout);
	while (now() < deadline)
		poll(NULL, 0, 100);
	return 0;
}

/* Read and drop everything until the seeder closes. */
static void
drain(void)
{
	uint8_t buf[65536];

	while (readn(buf, 1, -1))
		;
	timed_out();
}

/* Request the first block of piece askpiece; print the answer. */
static int
ask(void)
{
	static uint8_t buf[1 << 20];
	int64_t size = bt_piece_size(&t, askpiece % t.npieces);
	uint32_t len, blk = size < BT_BLOCK_LEN ? (uint32_t)size :
	    BT_BLOCK_LEN;
	int k;

	request(askpiece, 0, blk);
	for (;;) {
		k = next_msg(buf, sizeof(buf), &len, -1);
		if (k == -2)
			timed_out();
		if (k == BT_MSG_REJECT && len == 12) {
			printf("reject %u %u %u\n", bt_get32(buf),
			    bt_get32(buf + 4), bt_get32(buf + 8));
			return 0;
		}
		if (k == BT_MSG_PIECE && len >= 8) {
			printf("piece %u %u %u\n", bt_get32(buf),
			    bt_get32(buf + 4), len - 8);
			return 0;
		}
	}
}

/* Mode allowed: BEP 6's allowed fast set, used while choked. */
static int
allowed(void)
{
	static uint8_t buf[1 << 20];
	uint32_t len, set[64], other;
	size_t n = 0, i;
	int k;

	while ((k = next_msg(buf, sizeof(buf), &len, 1000)) != -2)
		if (k == BT_MSG_ALLOWED_FAST && len == 4 &&
		    n < sizeof(set) / sizeof(*set))
			set[n++] = bt_get32(buf);
	printf("allowed fast");
	for (i = 0; i < n; i++)
		printf(" %u", set[i]);
	printf("\n");
	fflush(stdout);
	if (n == 0)
		return 1;
	for (other = 0; other < t.npieces; other++) {
		for (i = 0; i < n && set[i] != other; i++)
			;
		if (i == n)
			break;
	}
	askpiece = set[0];
	ask();
	askpiece = other;
	return ask();
}

/*
 * Requests, then a cancel of the last: BEP 6 has a queued request that
 * is cancelled answered by a reject. The small receive buffer keeps the
 * last request queued at the seeder when the cancel comes.
 */
static int
cancel(void)
{
	static uint8_t buf[1 << 20];
	uint32_t index = 0, begin = 0, len, li = 0, lb = 0, ll = 0;
	int i, k, got = 0;
	uint8_t m[17];

	for (i = 0; i < nreq; i++) {
		int64_t size = bt_piece_size(&t, index);

		li = index;
		lb = begin;
		ll = size - begin < BT_BLOCK_LEN ? (uint32_t)(size - begin) :
		    BT_BLOCK_LEN;
		request(li, lb, ll);
		begin += ll;
		if (begin >= size) {
			begin = 0;
			index = (index + 1) % t.npieces;
		}
	}
	writen(m, bt_wire_request(m, BT_MSG_CANCEL, li, lb, ll));
	while (got < nreq - 1) {
		k = next_msg(buf, sizeof(buf), &len, -1);
		if (k == -2)
			timed_out();
		if (k == BT_MSG_REJECT && len == 12)
			printf("reject %u %u %u\n", bt_get32(buf),
			    bt_get32(buf + 4), bt_get32(buf + 8));
		if (k == BT_MSG_PIECE)
			got++;
	}
	printf("pieces %d\n", got);
	return 0;
}

/* An extended message (BEP 10) of extended id xid, payload p. */
static void
ext_send(uint8_t xid, const void *p, size_t n)
{
	uint8_t hdr[6];

	bt_put32(hdr, (uint32_t)(n + 2));
	hdr[4] = BT_MSG_EXTENDED;
	hdr[5] = xid;
	writen(hdr, sizeof(hdr));
	writen(p, n);
}

/* A ut_metadata request for piece under the seeder's id. */
static void
md_request(uint8_t id, uint32_t piece)
{
	char d[64];
	int n;

	n = snprintf(d, sizeof(d), "d8:msg_typei0e5:piecei%uee", piece);
	ext_send(id, d, (size_t)n);
}

/*
 * Offer ut_metadata, print the seeder's extension handshake, and return
 * the id it receives ut_metadata under.
 */
static uint8_t
md_hello(uint8_t *buf, size_t cap)
{
	static const char hs[] = "d1:md11:ut_metadatai3eee";
	struct bt_ext_hs h;
	struct bt_err e;
	uint32_t len;
	int k;

	ext_send(BT_EXT_HANDSHAKE, hs, sizeof(hs) - 1);
	for (;;) {
		k = next_msg(buf, cap, &len, -1);
		if (k == -2)
			timed_out();
		if (k != BT_MSG_EXTENDED || len < 1 || buf[0] != 0)
			continue;
		if (bt_ext_hs_parse(buf + 1, len - 1, &h, &e) < 0) {
			printf("extension handshake: %s\n", e.msg);
			exit(65);
		}
		printf("extension handshake ut_metadata=%u metadata_size=%lld "
		    "upload_only=%d\n", h.ut_metadata,
		    (long long)h.metadata_size, h.upload_only);
		fflush(stdout);
		return h.ut_metadata;
	}
}

static int
metadata(int flood)
{
	static uint8_t buf[1 << 20];
	struct bt_md_msg md;
	struct bt_err e;
	uint32_t len;
	uint8_t id;
	int k;

	id = md_hello(buf, sizeof(buf));
	if (flood) {
		for (k = 0; k < nreq; k++)
			md_request(id, 0);
		hold();
	}
	md_request(id, askpiece);
	for (;;) {
		k = next_msg(buf, sizeof(buf), &len, -1);
		if (k == -2)
			timed_out();
		if (k != BT_MSG_EXTENDED || len < 1 ||
		    buf[0] != OUR_UT_METADATA)
			continue;
		if (bt_md_parse(buf + 1, len - 1, &md, &e) < 0) {
			printf("ut_metadata: %s\n", e.msg);
			return 65;
		}
		if (md.type != BT_MD_DATA) {
			printf("ut_metadata %.*s\n", (int)(len - 1),
			    (const char *)buf + 1);
			return 0;
		}
		printf("ut_metadata data piece %u total_size %lld %s\n",
		    md.piece, (long long)md.total_size,
		    md.total_size == (int64_t)t.info_len &&
		    (size_t)md.piece * BT_METADATA_PIECE + md.len <=
		    t.info_len && memcmp(md.data, t.raw + t.info_off +
		    (size_t)md.piece * BT_METADATA_PIECE, md.len) == 0 ?
		    "good" : "bad");
		return 0;
	}
}

/* Our ut_pex id (BEP 10: the one we receive under). */
#define OUR_UT_PEX 4

/*
 * The pex modes: an extension handshake offering ut_pex (unless nopex),
 * the seeder's read and printed; returns the seeder's ut_pex id.
 */
static uint8_t
pex_hello(int offer, int port, uint8_t *buf, size_t cap)
{
	struct bt_ext_hs h;
	struct bt_err e;
	char d[128];
	uint32_t len;
	int k, n;

	if (!offer && port > 0)
		n = snprintf(d, sizeof(d), "d1:md11:ut_metadatai3ee1:pi%dee",
		    port);
	else if (!offer)
		n = snprintf(d, sizeof(d), "d1:md11:ut_metadatai3eee");
	else if (port > 0)
		n = snprintf(d, sizeof(d), "d1:md6:ut_pexi%dee1:pi%dee",
		    OUR_UT_PEX, port);
	else
		n = snprintf(d, sizeof(d), "d1:md6:ut_pexi%deee", OUR_UT_PEX);
	ext_send(BT_EXT_HANDSHAKE, d, (size_t)n);
	for (;;) {
		k = next_msg(buf, cap, &len, -1);
		if (k == -2)
			timed_out();
		if (k != BT_MSG_EXTENDED || len < 1 || buf[0] != 0)
			continue;
		if (bt_ext_hs_parse(buf + 1, len - 1, &h, &e) < 0) {
			printf("extension handshake: %s\n", e.msg);
			exit(65);
		}
		printf("extension handshake ut_pex=%u\n", h.ut_pex);
		fflush(stdout);
		return h.ut_pex;
	}
}

static int
pex(const char *mode)
{
	static uint8_t buf[1 << 20];
	struct bt_peer_addr a;
	struct bt_pex x;
	struct bt_buf b = { 0 };
	struct bt_err e;
	uint32_t len;
	uint8_t id, ip[4] = { 127, 0, 0, 1 }, fl = 0;
	size_t i;
	char nm[64];
	int k;

	/* -P is our "p" in pex and nopex, the peer we name in pex-send. */
	id = pex_hello(strcmp(mode, "nopex") != 0, strcmp(mode, "pex") == 0 ||
	    strcmp(mode, "nopex") == 0 ? pexport : 0, buf, sizeof(buf));
	if (strcmp(mode, "pex-bad") == 0) {
		static const char bad[] = "d5:added5:abcdee";

		ext_send(id, bad, sizeof(bad) - 1);
		drain();
	}
	if (strcmp(mode, "pex-send") == 0) {
		bt_peer_from_raw(&a, ip, 4, (uint16_t)pexport);
		if (bt_pex_encode(&b, id, &a, &fl, 1, NULL, 0) < 0 || b.oom)
			return 70;
		for (k = 0; k < (nreq == 2000 ? 1 : nreq); k++)
			writen(b.p, b.len);
		bt_buf_free(&b);
		printf("ut_pex sent\n");
		fflush(stdout);
		drain();
	}
	for (;;) {
		k = next_msg(buf, sizeof(buf), &len, -1);
		if (k == -2)
			timed_out();
		if (k != BT_MSG_EXTENDED || len < 1 || buf[0] == 0)
			continue;
		if (strcmp(mode, "nopex") == 0 || buf[0] != OUR_UT_PEX) {
			printf("extended %u %u\n", buf[0], len - 1);
			fflush(stdout);
			continue;
		}
		if (bt_pex_parse(buf + 1, len - 1, 1000, &x, &e) < 0) {
			printf("ut_pex: %s\n", e.msg);
			return 65;
		}
		for (i = 0; i < x.nadded; i++)
			printf("ut_pex added %s %u\n", bt_peer_format(&x.added[i],
			    nm, sizeof(nm)), x.flags[i]);
		for (i = 0; i < x.ndropped; i++)
			printf("ut_pex dropped %s\n",
			    bt_peer_format(&x.dropped[i], nm, sizeof(nm)));
		bt_pex_free(&x);
		return 0;
	}
}

/*
 * Mode "many": N connections of hostile kinds at once, one epoll loop.
 */
enum { K_IDLE, K_MUTE, K_SLOW, K_FLOOD, K_GARBAGE, K_BIG, K_N };
static const char *const kname[K_N] = {
	"idle", "mute", "slow", "flood", "garbage", "big"
};

struct conn {
	int fd, kind;
	int connecting, closed, reading, unchoked;
	uint8_t *out;
	size_t outlen, outoff, outcap;
	/* What the seeder sent: handshake bytes left, then messages. */
	size_t hsleft;
	uint8_t hdr[5];
	size_t hdrn;
	uint32_t skip;
};

static int nmany = 200;
static const char *mix = "idle,mute,slow,flood,garbage";
static uint64_t seed = 1;
static const char *from;	/* -b: local address of "many" */

static uint32_t
rnd32(void)
{
	/* xorshift64: the order and the garbage only need to vary. */
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed >> 16);
}

static void
out_add(struct conn *c, const void *b, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 1024;

		while (cap < c->outlen + n)
			cap *= 2;
		if ((c->out = realloc(c->out, cap)) == NULL) {
			perror("hostile-leecher");
			exit(70);
		}
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, b, n);
	c->outlen += n;
}

static void
out_request(struct conn *c, uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t m[17];

	out_add(c, m, bt_wire_request(m, BT_MSG_REQUEST, index, begin, len));
}

/* n requests for the blocks of the torrent in turn. */
static void
out_requests(struct conn *c, int n)
{
	uint32_t index = 0, begin = 0;
	int i;

	for (i = 0; i < n; i++) {
		int64_t size = bt_piece_size(&t, index);
		uint32_t len = size - begin < BT_BLOCK_LEN ?
		    (uint32_t)(size - begin) : BT_BLOCK_LEN;

		out_request(c, index, begin, len);
		begin += len;
		if (begin >= size) {
			begin = 0;
			index = (index + 1) % t.npieces;
		}
	}
}

static void
arm(int ep, struct conn *c, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLRDHUP;
	if (c->reading)
		ev.events |= EPOLLIN;
	if (c->connecting || c->outoff < c->outlen)
		ev.events |= EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, op, c->fd, &ev) < 0) {
		perror("hostile-leecher: epoll_ctl");
		exit(70);
	}
}

static void
conn_close(int ep, struct conn *c, int *open)
{
	if (c->closed)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->closed = 1;
	(*open)--;
}

/* Connected: what the kind says first. */
static void
hello(struct conn *c, const uint8_t *id)
{
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], m[5], junk[1024];
	size_t i;

	c->connecting = 0;
	c->reading = c->kind != K_SLOW && c->kind != K_FLOOD;
	if (c->kind == K_IDLE)
		return;
	bt_wire_handshake(hs, t.info_hash, id);
	out_add(c, hs, sizeof(hs));
	switch (c->kind) {
	case K_SLOW:
		c->reading = 1;		/* until unchoked */
		out_add(c, m, bt_wire_simple(m, BT_MSG_INTERESTED));
		break;
	case K_FLOOD:
		out_add(c, m, bt_wire_simple(m, BT_MSG_INTERESTED));
		out_requests(c, 5000);
		break;
	case K_GARBAGE:
		bt_put32(m, BT_WIRE_MAX_MSG + 1 + rnd32() % (1u << 20));
		out_add(c, m, 4);
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rnd32();
		out_add(c, junk, sizeof(junk));
		break;
	case K_BIG:
		/* The longest message allowed, of an id nobody knows
		   (skipped), then one a byte longer. */
		bt_put32(m, BT_WIRE_MAX_MSG);
		m[4] = 99;
		out_add(c, m, 5);
		memset(junk, 0, sizeof(junk));
		for (i = 1; i < BT_WIRE_MAX_MSG; i += sizeof(junk))
			out_add(c, junk, BT_WIRE_MAX_MSG - i < sizeof(junk) ?
			    BT_WIRE_MAX_MSG - i : sizeof(junk));
		bt_put32(m, BT_WIRE_MAX_MSG + 1);
		out_add(c, m, 4);
		out_add(c, junk, sizeof(junk));
		break;
	}
}

/* Bytes from the seeder: the handshake, then messages, skipped. */
static void
parse(struct conn *c, const uint8_t *b, size_t n)
{
	while (n > 0 && c->reading) {
		size_t k;

		if (c->hsleft > 0) {
			k = n < c->hsleft ? n : c->hsleft;
			c->hsleft -= k;
		} else if (c->skip > 0) {
			k = n < c->skip ? n : c->skip;
			c->skip -= (uint32_t)k;
		} else {
			c->hdr[c->hdrn++] = *b;
			k = 1;
			if (c->hdrn == 4 && bt_get32(c->hdr) == 0)
				c->hdrn = 0;	/* keep-alive */
			else if (c->hdrn == 5) {
				c->skip = bt_get32(c->hdr) - 1;
				c->hdrn = 0;
				if (c->hdr[4] == BT_MSG_UNCHOKE &&
				    c->kind == K_SLOW && !c->unchoked) {
					/* Asks for much, reads no more. */
					c->unchoked = 1;
					c->reading = 0;
					out_requests(c, 256);
				}
			}
		}
		b += k;
		n -= k;
	}
}

/* "-HL0001-" and the connection's number in 12 digits. */
static void
peer_id(uint8_t id[20], int i)
{
	char num[16];

	memcpy(id, "-HL0001-", 8);
	snprintf(num, sizeof(num), "%012d", i);
	memcpy(id + 8, num, 12);
}

static int
bind_from(int s, int family)
{
	struct sockaddr_storage me;

	memset(&me, 0, sizeof(me));
	me.ss_family = (sa_family_t)family;
	if (family == AF_INET && inet_pton(AF_INET, from,
	    &((struct sockaddr_in *)&me)->sin_addr) == 1)
		return bind(s, (struct sockaddr *)&me,
		    sizeof(struct sockaddr_in));
	if (family == AF_INET6 && inet_pton(AF_INET6, from,
	    &((struct sockaddr_in6 *)&me)->sin6_addr) == 1)
		return bind(s, (struct sockaddr *)&me,
		    sizeof(struct sockaddr_in6));
	errno = EINVAL;
	return -1;
}

static int
many(const struct sockaddr_storage *ss, socklen_t sl)
{
	struct epoll_event ev[64];
	struct conn *cs;
	uint8_t id[20], buf[65536];
	int kinds[K_N], nk = 0, count[K_N] = { 0 }, closed[K_N] = { 0 };
	int ep, open, pending, i, j, n, small = 4096;
	double next_ka;
	char *list, *tok, *save;

	if ((list = strdup(mix)) == NULL)
		return 70;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (j = 0; j < K_N; j++)
			if (strcmp(tok, kname[j]) == 0)
				break;
		if (j == K_N || nk == K_N) {
			fprintf(stderr, "hostile-leecher: -m: unknown kind "
			    "%s\n", tok);
			return 64;
		}
		kinds[nk++] = j;
	}
	free(list);
	if (nk == 0 || nmany < 1)
		return 64;
	if ((cs = calloc((size_t)nmany, sizeof(*cs))) == NULL ||
	    (ep = epoll_create1(0)) < 0) {
		perror("hostile-leecher");
		return 70;
	}
	for (i = 0; i < nmany; i++)
		cs[i].kind = kinds[i % nk];
	for (i = nmany - 1; i > 0; i--) {
		int k = (int)(rnd32() % (uint32_t)(i + 1)), tmp = cs[i].kind;

		cs[i].kind = cs[k].kind;
		cs[k].kind = tmp;
	}
	open = pending = nmany;
	for (i = 0; i < nmany; i++) {
		struct conn *c = &cs[i];

		count[c->kind]++;
		c->hsleft = BT_WIRE_HANDSHAKE_LEN;
		if ((c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK,
		    0)) < 0) {
			perror("hostile-leecher: socket");
			return 70;
		}
		if (c->kind == K_SLOW || c->kind == K_FLOOD)
			setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small,
			    sizeof(small));
		if (from != NULL && bind_from(c->fd, ss->ss_family) < 0) {
			perror("hostile-leecher: bind");
			return 69;
		}
		if (connect(c->fd, (const struct sockaddr *)ss, sl) < 0 &&
		    errno != EINPROGRESS) {
			close(c->fd);
			c->closed = 1;
			open--;
			pending--;
			continue;
		}
		c->connecting = 1;
		arm(ep, c, EPOLL_CTL_ADD);
	}
	next_ka = now() + 1;
	while (open > 0 && now() < deadline) {
		if ((n = epoll_wait(ep, ev, 64, 100)) < 0) {
			if (errno == EINTR)
				continue;
			perror("hostile-leecher: epoll_wait");
			return 70;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			uint32_t e = ev[i].events;

			if (c->closed)
				continue;
			if (c->connecting) {
				int err = 0;
				socklen_t el = sizeof(err);

				pending--;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
				    &el);
				if (err != 0) {
					conn_close(ep, c, &open);
					continue;
				}
				peer_id(id, (int)(c - cs));
				hello(c, id);
			}
			if (e & EPOLLIN) {
				ssize_t r = read(c->fd, buf, sizeof(buf));

				if (r == 0 || (r < 0 && errno != EAGAIN &&
				    errno != EINTR)) {
					conn_close(ep, c, &open);
					continue;
				}
				if (r > 0)
					parse(c, buf, (size_t)r);
			} else if (e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
				/* Not reading: the seeder closed or reset. */
				conn_close(ep, c, &open);
				continue;
			}
			while (c->outoff < c->outlen) {
				ssize_t w = send(c->fd, c->out + c->outoff,
				    c->outlen - c->outoff, MSG_NOSIGNAL);

				if (w < 0) {
					if (errno != EAGAIN && errno != EINTR)
						conn_close(ep, c, &open);
					break;
				}
				c->outoff += (size_t)w;
			}
			if (c->outoff == c->outlen)
				c->outoff = c->outlen = 0;
			if (!c->closed)
				arm(ep, c, EPOLL_CTL_MOD);
		}
		if (pending == 0) {
			printf("connected %d\n", nmany);
			fflush(stdout);
			pending = -1;
		}
		if (now() >= next_ka) {
			/* Slow readers show they are alive; a reset
			   answer tells that the seeder closed. */
			next_ka = now() + 1;
			for (i = 0; i < nmany; i++) {
				struct conn *c = &cs[i];
				uint8_t ka[4];

				if (c->closed || c->connecting ||
				    c->kind != K_SLOW)
					continue;
				out_add(c, ka, bt_wire_keepalive(ka));
				arm(ep, c, EPOLL_CTL_MOD);
			}
		}
	}
	for (i = 0; i < nmany; i++) {
		if (cs[i].closed)
			closed[cs[i].kind]++;
		else
			close(cs[i].fd);
		free(cs[i].out);
	}
	for (j = 0; j < K_N; j++)
		if (count[j] > 0)
			printf("%s %d closed %d\n", kname[j], count[j],
			    closed[j]);
	free(cs);
	close(ep);
	return open == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static uint8_t buf[1 << 20];
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], id[20], m[5];
	struct sockaddr_storage ss;
	socklen_t sl;
	struct bt_err e;
	const char *mode;
	uint32_t len, i;
	int c, k;

	while ((c = getopt(argc, argv, "b:fm:n:P:p:r:s:t:x")) != -1) {
		if (c == 'P')
			pexport = atoi(optarg);
		else if (c == 'f')
			rsv |= BT_RSV_FAST;
		else if (c == 'x')
			rsv |= BT_RSV_EXT;
		else if (c == 'p')
			askpiece = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 't')
			limit = atoi(optarg);
		else if (c == 'm')
			mix = optarg;
		else if (c == 'n')
			nmany = atoi(optarg);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 10) | 1;
		else if (c == 'r')
			nreq = atoi(optarg);
		else if (c == 'b')
			from = optarg;
		else
			return 64;
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: hostile-leecher [-fx] [-t seconds] "
		    "[-b from] [-m kinds] [-n count] [-P port] [-p piece] "
		    "[-r count] [-s seed] mode torrent addr port\n");
		return 64;
	}
	mode = argv[optind];
	if (strcmp(mode, "many") == 0 && limit == 20)
		limit = 60;
	if (bt_torrent_load(&t, argv[optind + 1], &e) < 0) {
		fprintf(stderr, "hostile-leecher: %s\n", e.msg);
		return 65;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind + 2],
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port =
		    htons((uint16_t)atoi(argv[optind + 3]));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind + 2],
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)atoi(argv[optind + 3]));
		sl = sizeof(struct sockaddr_in6);
	} else
		return 64;
	deadline = now() + limit;
	if (strcmp(mode, "many") == 0)
		return many(&ss, sl);
	if (strcmp(mode, "blackhole") == 0)
		return blackhole(&ss, sl);
	if (strcmp(mode, "metadata") == 0 || strcmp(mode, "mdflood") == 0 ||
	    strcmp(mode, "extbig") == 0 || strncmp(mode, "pex", 3) == 0 ||
	    strcmp(mode, "nopex") == 0)
		rsv |= BT_RSV_EXT;
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0) {
		perror("hostile-leecher: socket");
		return 69;
	}
	if (strcmp(mode, "allowed") == 0)
		rsv |= BT_RSV_FAST;
	if (strcmp(mode, "cancel") == 0) {
		int small = 65536;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("hostile-leecher: connect");
		return 69;
	}
	memcpy(id, "-HL0001-abcdefghijkl", 20);
	bt_wire_handshake_rsv(hs, t.info_hash, id, rsv);
	writen(hs, sizeof(hs));
	if (!readn(hs, sizeof(hs), -1))
		timed_out();
	printf("handshake\n");
	fflush(stdout);

	if (strcmp(mode, "bitfield") == 0) {
		do
			k = next_msg(buf, sizeof(buf), &len, 2000);
		while (k == -1);
		if (k == BT_MSG_HAVE_ALL || k == BT_MSG_HAVE_NONE) {
			printf("have %s\n", k == BT_MSG_HAVE_ALL ? "all" :
			    "none");
			return 0;
		}
		if (k != BT_MSG_BITFIELD) {
			printf("bitfield none\n");
			return 0;
		}
		printf("bitfield ");
		for (i = 0; i < t.npieces && i / 8 < len; i++)
			putchar('0' + bt_bit_get(buf, i));
		putchar('\n');
		return 0;
	}
	if (strcmp(mode, "idle") == 0)
		drain();
	if (strcmp(mode, "keepalive") == 0) {
		for (;;) {
			struct pollfd pf = { fd, POLLIN, 0 };

			writen(m, bt_wire_keepalive(m));
			if (now() >= deadline)
				timed_out();
			if (poll(&pf, 1, 500) > 0 && read(fd, buf,
			    sizeof(buf)) <= 0)
				closed();
		}
	}
	if (strcmp(mode, "choked") == 0) {
		many_requests(3000);
		drain();
	}
	if (strcmp(mode, "ask-choked") == 0)
		return ask();
	if (strcmp(mode, "allowed") == 0)
		return allowed();
	if (strcmp(mode, "metadata") == 0 || strcmp(mode, "mdflood") == 0)
		return metadata(strcmp(mode, "mdflood") == 0);
	if (strncmp(mode, "pex", 3) == 0 || strcmp(mode, "nopex") == 0)
		return pex(mode);
	if (strcmp(mode, "extbig") == 0) {
		memset(buf, ' ', BT_EXT_MAX_HANDSHAKE + 1);
		ext_send(BT_EXT_HANDSHAKE, buf, BT_EXT_MAX_HANDSHAKE + 1);
		drain();
	}
	writen(m, bt_wire_simple(m, BT_MSG_INTERESTED));
	wait_unchoke();
	if (strcmp(mode, "range") == 0) {
		for (i = 0; i < 10; i++)
			request(t.npieces, 0, BT_BLOCK_LEN);
	} else if (strcmp(mode, "oversize") == 0) {
		for (i = 0; i < 10; i++)
			request(0, 0, 2 * BT_BLOCK_LEN);
	} else if (strcmp(mode, "beyond") == 0) {
		for (i = 0; i < 10; i++)
			request(0, (uint32_t)bt_piece_size(&t, 0) - 1, 2);
	} else if (strcmp(mode, "flood") == 0) {
		many_requests(5000);
	} else if (strcmp(mode, "ask") == 0) {
		return ask();
	} else if (strcmp(mode, "cancel") == 0) {
		return cancel();
	} else if (strcmp(mode, "queue") == 0) {
		many_requests(nreq);
		hold();
	} else if (strcmp(mode, "get") == 0) {
		int64_t size = bt_piece_size(&t, 0), got = 0;
		uint8_t md[BT_SHA1_LEN], *piece;

		if ((piece = malloc((size_t)size)) == NULL)
			return 70;
		for (got = 0; got < size; got += BT_BLOCK_LEN)
			request(0, (uint32_t)got, size - got < BT_BLOCK_LEN ?
			    (uint32_t)(size - got) : BT_BLOCK_LEN);
		for (got = 0; got < size;) {
			k = next_msg(buf, sizeof(buf), &len, -1);
			if (k == -2)
				timed_out();
			if (k != BT_MSG_PIECE || len < 8)
				continue;
			if (bt_get32(buf + 4) + (int64_t)len - 8 > size)
				return 65;
			memcpy(piece + bt_get32(buf + 4), buf + 8, len - 8);
			got += len - 8;
		}
		bt_sha1(piece, (size_t)size, md);
		printf("piece 0 %s\n", memcmp(md, bt_piece_hash(&t, 0),
		    BT_SHA1_LEN) == 0 ? "good" : "bad");
		free(piece);
		bt_torrent_free(&t);
		return 0;
	} else {
		fprintf(stderr, "hostile-leecher: unknown mode %s\n", mode);
		return 64;
	}
	drain();
	return 0;
}
