#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"
#include "metadata.h"
#include "util.h"
#include "wire.h"

/*
 * The longest message we read whole: an extension handshake at its limit,
 * after the length prefix, the id and the extended id. Anything else we
 * read whole is shorter; what we do not need is skipped as it arrives.
 */
#define IN_CAP		(BT_WIRE_PREFIX_LEN + 2 + BT_EXT_MAX_HANDSHAKE)
/* A ut_metadata message: its dict (about 50 bytes) and one piece. */
#define MD_MSG_MAX	(BT_METADATA_PIECE + 1024)
/* Milliseconds between two looks at the timers. */
#define TICK_MS		100

/* ---- assembly ---------------------------------------------------------- */

int
bt_md_asm_init(struct bt_md_asm *a, int64_t size, struct bt_err *e)
{
	memset(a, 0, sizeof(*a));
	if (size < 1 || size > BT_METADATA_MAX_BYTES)
		return bt_errf(e, BT_EX_DATAERR, -1, "metadata of %lld bytes "
		    "(limit BT_METADATA_MAX_BYTES, %ld)", (long long)size,
		    (long)BT_METADATA_MAX_BYTES);
	a->size = size;
	a->npieces = bt_md_npieces(size);
	a->buf = malloc((size_t)size);
	a->have = calloc(a->npieces, 1);
	if (a->buf == NULL || a->have == NULL) {
		bt_md_asm_free(a);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	return 0;
}

int
bt_md_asm_add(struct bt_md_asm *a, const struct bt_md_msg *m,
    struct bt_err *e)
{
	size_t want;

	if (m->total_size != a->size)
		return bt_errf(e, BT_EX_DATAERR, -1, "total_size %lld, not "
		    "the metadata_size %lld of its extension handshake",
		    (long long)m->total_size, (long long)a->size);
	if (m->piece >= a->npieces)
		return bt_errf(e, BT_EX_DATAERR, -1, "piece %u out of range: "
		    "%lld bytes of metadata are %u pieces of %d bytes",
		    m->piece, (long long)a->size, a->npieces,
		    BT_METADATA_PIECE);
	want = bt_md_piece_len(a->size, m->piece);
	if (m->len != want)
		return bt_errf(e, BT_EX_DATAERR, -1, "piece %u of %zu bytes, "
		    "not %zu (limit BT_METADATA_PIECE)", m->piece, m->len,
		    want);
	if (a->have[m->piece])
		return 0;
	memcpy(a->buf + (size_t)m->piece * BT_METADATA_PIECE, m->data,
	    m->len);
	a->have[m->piece] = 1;
	a->ndone++;
	return 1;
}

int
bt_md_asm_complete(const struct bt_md_asm *a)
{
	return a->npieces > 0 && a->ndone == a->npieces;
}

int
bt_md_check(const uint8_t *p, size_t n, const uint8_t info_hash[BT_SHA1_LEN],
    struct bt_err *e)
{
	uint8_t h[BT_SHA1_LEN];
	char hex[2 * BT_SHA1_LEN + 1];
	struct bt_bdoc d;
	struct bt_err de;
	long long r;

	bt_sha1(p, n, h);
	if (memcmp(h, info_hash, BT_SHA1_LEN) != 0) {
		bt_hex(h, BT_SHA1_LEN, hex);
		return bt_errf(e, BT_EX_DATAERR, -1, "metadata of %zu bytes "
		    "fails its SHA-1 (%s, not the info hash)", n, hex);
	}
	/* BEP 9: the metadata is the info dict itself, bencoded. */
	memset(&d, 0, sizeof(d));
	r = bt_bdecode(&d, (const char *)p, n, 0, &de);
	if (r < 0) {
		bt_bdoc_free(&d);
		return bt_errf(e, BT_EX_DATAERR, de.off, "metadata is not "
		    "bencoded: %s", de.msg);
	}
	if (d.node[0].type != BT_BDICT) {
		bt_bdoc_free(&d);
		return bt_errf(e, BT_EX_DATAERR, 0, "metadata is not a "
		    "bencoded dict");
	}
	bt_bdoc_free(&d);
	return 0;
}

void
bt_md_asm_free(struct bt_md_asm *a)
{
	free(a->buf);
	free(a->have);
	memset(a, 0, sizeof(*a));
}

/* ---- the engine -------------------------------------------------------- */

enum peer_state {
	PS_WAITING,		/* not tried yet */
	PS_CONNECTING,
	PS_HANDSHAKE,		/* ours sent, theirs arriving */
	PS_EXT,			/* theirs had the BEP 10 bit: ours sent,
				   their extension handshake awaited */
	PS_ROOM,		/* would fetch: waits for buffer room */
	PS_FETCH,		/* asking pieces, assembling */
	PS_CLOSED,
};

struct peer {
	struct bt_peer_addr addr;
	char name[64];
	int state, fd;
	long long t_state;	/* when it entered its state */
	long long t_data;	/* last new piece (or the first request) */
	uint8_t *in;		/* IN_CAP bytes while connected */
	size_t inlen;
	uint32_t skip;		/* bytes of a skipped message yet to come */
	struct bt_buf out;
	uint8_t md_id;		/* its id for ut_metadata */
	int64_t size;		/* its metadata_size */
	struct bt_md_asm a;
	uint32_t next;		/* next piece to ask */
	unsigned nreq;		/* asked, not yet in */
};

struct md {
	const struct bt_metadata_conf *c;
	struct bt_err *e;
	uint8_t our_id[BT_WIRE_PEER_ID_LEN];
	uint8_t handshake[BT_WIRE_HANDSHAKE_LEN];
	long long start, now, t_tick;
	int connect_ms, handshake_ms, idle_ms;
	struct peer *peer;
	size_t npeer, next_try;
	unsigned nconn;		/* connecting to fetching */
	int64_t held;		/* bytes of assembly buffers */
	struct peer *winner;
	int failed;		/* e is set */
	struct bt_metadata_stats st;
};

static void
plog(struct md *s, struct peer *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
plog(struct md *s, struct peer *p, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_peer_vlog(s->c->on_log, s->c->arg, level, p->name, fmt, ap);
	va_end(ap);
}

static void drop(struct md *, struct peer *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Close a peer for good (each peer is tried once, so a ban lasts the
 * run). level BT_MD_LOG_BAD with a reason starting "banned" counts it
 * as banned.
 */
static void
drop(struct md *s, struct peer *p, int level, const char *fmt, ...)
{
	char why[640];
	va_list ap;

	if (p->state == PS_CLOSED || p->state == PS_WAITING)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	plog(s, p, level, "%s", why);
	if (strncmp(why, "banned", 6) == 0)
		s->st.banned++;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->a.buf != NULL)
		s->held -= p->a.size;
	bt_md_asm_free(&p->a);
	free(p->in);
	p->in = NULL;
	bt_buf_free(&p->out);
	p->state = PS_CLOSED;
	s->nconn--;
}

static void
flush(struct md *s, struct peer *p)
{
	ssize_t w;

	while (p->out.len > 0) {
		w = send(p->fd, p->out.p, p->out.len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop(s, p, BT_MD_LOG_INFO, "send: %s",
				    strerror(errno));
			return;
		}
		memmove(p->out.p, p->out.p + w, p->out.len - (size_t)w);
		p->out.len -= (size_t)w;
	}
}

static int
out_ok(struct md *s, struct peer *p)
{
	if (!p->out.oom)
		return 0;
	bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
	s->failed = 1;
	return -1;
}

static void
try_connect(struct md *s, struct peer *p)
{
	int one = 1;

	s->st.tried++;
	s->nconn++;
	p->state = PS_CONNECTING;
	p->t_state = s->now;
	if ((p->in = malloc(IN_CAP)) == NULL) {
		drop(s, p, BT_MD_LOG_INFO, "out of memory");
		return;
	}
	p->fd = socket(p->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		drop(s, p, BT_MD_LOG_INFO, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(p->fd, (struct sockaddr *)&p->addr.sa, p->addr.salen) < 0 &&
	    errno != EINPROGRESS)
		drop(s, p, BT_MD_LOG_INFO, "connect: %s", strerror(errno));
}

static void
connected(struct md *s, struct peer *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		drop(s, p, BT_MD_LOG_INFO, "connect: %s", strerror(err));
		return;
	}
	p->state = PS_HANDSHAKE;
	p->t_state = s->now;
	bt_buf_add(&p->out, s->handshake, sizeof(s->handshake));
	if (out_ok(s, p) == 0)
		flush(s, p);
}

/* Ask pieces in order, BT_METADATA_MAX_REQ at a time. */
static void
ask(struct md *s, struct peer *p)
{
	while (p->nreq < BT_METADATA_MAX_REQ && p->next < p->a.npieces) {
		bt_md_encode(&p->out, p->md_id, BT_MD_REQUEST, p->next++, -1,
		    NULL, 0);
		p->nreq++;
	}
	if (out_ok(s, p) == 0)
		flush(s, p);
}

/* Start assembling, if the buffers held leave room for its size. */
static void
start(struct md *s, struct peer *p)
{
	struct bt_err e;

	if (s->held + p->size > BT_METADATA_MAX_INFLIGHT) {
		if (p->state != PS_ROOM)
			plog(s, p, BT_MD_LOG_INFO, "waits: %lld bytes of "
			    "metadata being assembled from other peers "
			    "(limit BT_METADATA_MAX_INFLIGHT)",
			    (long long)s->held);
		p->state = PS_ROOM;
		return;
	}
	if (bt_md_asm_init(&p->a, p->size, &e) < 0) {
		*s->e = e;
		s->failed = 1;
		return;
	}
	s->held += p->size;
	p->state = PS_FETCH;
	p->t_state = p->t_data = s->now;
	plog(s, p, BT_MD_LOG_INFO, "asks %u pieces of metadata (%lld bytes)",
	    p->a.npieces, (long long)p->size);
	ask(s, p);
}

/* The peer's extension handshake. */
static void
ext_handshake(struct md *s, struct peer *p, const uint8_t *b, size_t n)
{
	struct bt_ext_hs h;
	struct bt_err e;

	if (bt_ext_hs_parse(b, n, &h, &e) < 0) {
		drop(s, p, BT_MD_LOG_BAD, "banned: %s",
		    e.msg);
		return;
	}
	if (p->state != PS_EXT) {
		/* BEP 10: a later handshake may change ids; sizes stay. */
		if (h.ut_metadata != 0)
			p->md_id = h.ut_metadata;
		return;
	}
	if (h.ut_metadata == 0) {
		drop(s, p, BT_MD_LOG_INFO, "does not offer ut_metadata "
		    "(BEP 9)%s%s", h.client[0] ? ": " : "", h.client);
		return;
	}
	if (h.metadata_size < 0) {
		drop(s, p, BT_MD_LOG_INFO, "offers ut_metadata without "
		    "metadata_size: it has no metadata to give");
		return;
	}
	p->md_id = h.ut_metadata;
	p->size = h.metadata_size;
	start(s, p);
}

/* A ut_metadata message. */
static void
md_message(struct md *s, struct peer *p, const uint8_t *b, size_t n)
{
	struct bt_md_msg m;
	struct bt_err e;
	int r;

	if (bt_md_parse(b, n, &m, &e) < 0) {
		if (m.type == BT_MD_UNKNOWN)
			return;		/* BEP 9: ignored */
		drop(s, p, BT_MD_LOG_BAD, "banned: %s", e.msg);
		return;
	}
	switch (m.type) {
	case BT_MD_REQUEST:
		/* BEP 9: we have no metadata to give, so we reject. */
		if (p->md_id != 0) {
			bt_md_encode(&p->out, p->md_id, BT_MD_REJECT, m.piece,
			    -1, NULL, 0);
			if (out_ok(s, p) == 0)
				flush(s, p);
		}
		return;
	case BT_MD_REJECT:
		if (p->state == PS_FETCH)
			drop(s, p, BT_MD_LOG_INFO, "rejected metadata piece "
			    "%u: another peer is tried", m.piece);
		return;
	}
	/* Data never asked for is ignored, unless it is out of range. */
	if (p->state != PS_FETCH ||
	    (m.piece >= p->next && m.piece < p->a.npieces))
		return;
	if ((r = bt_md_asm_add(&p->a, &m, &e)) < 0) {
		drop(s, p, BT_MD_LOG_BAD, "banned: %s", e.msg);
		return;
	}
	if (r == 0)
		return;		/* a repeat */
	p->nreq--;
	p->t_data = s->now;
	if (!bt_md_asm_complete(&p->a)) {
		ask(s, p);
		return;
	}
	if (bt_md_check(p->a.buf, (size_t)p->a.size, s->c->info_hash,
	    &e) < 0) {
		drop(s, p, BT_MD_LOG_BAD, "banned: %s", e.msg);
		return;
	}
	plog(s, p, BT_MD_LOG_INFO, "gave the metadata (%lld bytes)",
	    (long long)p->a.size);
	s->winner = p;
}

static void
consume(struct peer *p, size_t n)
{
	memmove(p->in, p->in + n, p->inlen - n);
	p->inlen -= n;
}

/* Our handshake, then theirs in p->in[0..68). */
static int
handshake(struct md *s, struct peer *p)
{
	struct bt_ext_hs_conf hc;
	struct bt_err e;
	size_t n = p->inlen < BT_WIRE_HANDSHAKE_LEN ? p->inlen :
	    BT_WIRE_HANDSHAKE_LEN;
	int st;

	st = bt_wire_handshake_check(p->in, n, s->c->info_hash, s->our_id,
	    &e);
	if (st < 0) {
		drop(s, p, BT_MD_LOG_BAD, "%s", e.msg);
		return -1;
	}
	if (st != BT_HS_DONE)
		return 0;
	if (!(bt_wire_reserved(p->in) & BT_RSV_EXT)) {
		drop(s, p, BT_MD_LOG_INFO, "no extension protocol bit (BEP "
		    "10) in its handshake: it cannot give metadata");
		return -1;
	}
	consume(p, BT_WIRE_HANDSHAKE_LEN);
	memset(&hc, 0, sizeof(hc));
	hc.metadata = 1;
	if (bt_ext_hs_encode(&p->out, &hc) < 0 || out_ok(s, p) < 0)
		return -1;
	p->state = PS_EXT;
	p->t_state = s->now;
	flush(s, p);
	return p->state == PS_CLOSED ? -1 : 1;
}

/*
 * Act on the whole messages in p->in. Messages we need are read whole
 * (their lengths checked first); the others are skipped by length.
 * Returns -1 once the peer is closed.
 */
static int
parse(struct md *s, struct peer *p)
{
	struct bt_err e;
	uint32_t len;
	size_t max;
	uint8_t id, xid;

	for (;;) {
		if (s->winner != NULL || s->failed)
			return 0;
		if (p->skip > 0) {
			size_t k = p->skip < p->inlen ? p->skip : p->inlen;

			consume(p, k);
			p->skip -= (uint32_t)k;
			if (p->skip > 0)
				return 0;
		}
		if (p->state == PS_HANDSHAKE) {
			int r = handshake(s, p);

			if (r <= 0)
				return r;
			continue;
		}
		if (p->inlen < BT_WIRE_PREFIX_LEN)
			return 0;
		len = bt_get32(p->in);
		if (len == 0) {		/* keep-alive */
			consume(p, BT_WIRE_PREFIX_LEN);
			continue;
		}
		if (p->inlen < BT_WIRE_PREFIX_LEN + 1)
			return 0;
		id = p->in[BT_WIRE_PREFIX_LEN];
		/*
		 * Without the metadata we do not know the piece count, so a
		 * bitfield is held only to the overall bound.
		 */
		if (id == BT_MSG_BITFIELD && len > BT_WIRE_MAX_MSG) {
			drop(s, p, BT_MD_LOG_BAD, "banned: message of %u "
			    "bytes over the limit of %d (limit "
			    "BT_WIRE_MAX_MSG)", len, BT_WIRE_MAX_MSG);
			return -1;
		}
		if (id != BT_MSG_BITFIELD &&
		    bt_wire_check_len(id, len, 0, BT_BLOCK_LEN, &e) < 0) {
			drop(s, p, BT_MD_LOG_BAD, "banned: %s", e.msg);
			return -1;
		}
		if (id != BT_MSG_EXTENDED) {
			p->skip = len + BT_WIRE_PREFIX_LEN;
			continue;
		}
		if (p->inlen < BT_WIRE_PREFIX_LEN + 2)
			return 0;
		xid = p->in[BT_WIRE_PREFIX_LEN + 1];
		if (xid == BT_EXT_HANDSHAKE)
			max = BT_EXT_MAX_HANDSHAKE;
		else if (xid == BT_EXT_UT_METADATA)
			max = MD_MSG_MAX;
		else {
			p->skip = len + BT_WIRE_PREFIX_LEN;
			continue;
		}
		if (len - 2 > max) {
			if (xid == BT_EXT_HANDSHAKE)
				drop(s, p, BT_MD_LOG_BAD, "banned: extension "
				    "handshake of %u bytes (limit "
				    "BT_EXT_MAX_HANDSHAKE, %d)", len - 2,
				    BT_EXT_MAX_HANDSHAKE);
			else
				drop(s, p, BT_MD_LOG_BAD, "banned: "
				    "ut_metadata message of %u bytes, more "
				    "than a piece and its dict (limit "
				    "BT_METADATA_PIECE)", len - 2);
			return -1;
		}
		if (p->inlen < BT_WIRE_PREFIX_LEN + len)
			return 0;
		if (xid == BT_EXT_HANDSHAKE)
			ext_handshake(s, p, p->in + 6, len - 2);
		else if (p->state == PS_EXT)
			;	/* before its handshake: ignored */
		else
			md_message(s, p, p->in + 6, len - 2);
		if (p->state == PS_CLOSED)
			return -1;
		consume(p, BT_WIRE_PREFIX_LEN + len);
	}
}

static void
readable(struct md *s, struct peer *p)
{
	ssize_t r;

	while (p->state != PS_CLOSED && s->winner == NULL && !s->failed) {
		r = recv(p->fd, p->in + p->inlen, IN_CAP - p->inlen, 0);
		if (r == 0) {
			drop(s, p, BT_MD_LOG_INFO, "closed by the peer");
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop(s, p, BT_MD_LOG_INFO, "recv: %s",
				    strerror(errno));
			return;
		}
		p->inlen += (size_t)r;
		if (parse(s, p) < 0)
			return;
	}
}

static void
tick(struct md *s)
{
	size_t i;

	for (i = 0; i < s->npeer && !s->failed && s->winner == NULL; i++) {
		struct peer *p = &s->peer[i];
		long long in = s->now - p->t_state;

		switch (p->state) {
		case PS_CONNECTING:
			if (in > s->connect_ms) {
				s->st.timedout++;
				drop(s, p, BT_MD_LOG_INFO, "no connection in "
				    "%d ms (limit BT_SWARM_CONNECT_MS)",
				    s->connect_ms);
			}
			break;
		case PS_HANDSHAKE:
		case PS_EXT:
			if (in > s->handshake_ms) {
				s->st.timedout++;
				drop(s, p, BT_MD_LOG_INFO, "no %shandshake in "
				    "%d ms (limit BT_SWARM_HANDSHAKE_MS)",
				    p->state == PS_EXT ? "extension " : "",
				    s->handshake_ms);
			}
			break;
		case PS_ROOM:
			start(s, p);
			break;
		case PS_FETCH:
			if (s->now - p->t_data > s->idle_ms) {
				s->st.timedout++;
				drop(s, p, BT_MD_LOG_INFO, "no metadata in %d "
				    "ms (limit BT_METADATA_IDLE_MS)",
				    s->idle_ms);
			}
			break;
		}
	}
}

static int
setup(struct md *s, const struct bt_metadata_conf *c,
    const struct bt_peer_addr *peers, size_t npeers, struct bt_err *e)
{
	size_t k;

	s->c = c;
	s->e = e;
	s->connect_ms = c->connect_ms > 0 ? c->connect_ms :
	    BT_SWARM_CONNECT_MS;
	s->handshake_ms = c->handshake_ms > 0 ? c->handshake_ms :
	    BT_SWARM_HANDSHAKE_MS;
	s->idle_ms = c->idle_ms > 0 ? c->idle_ms : BT_METADATA_IDLE_MS;
	/* "-BT0001-" and 12 random bytes (Azureus style, BEP 20). */
	memcpy(s->our_id, "-BT0001-", 8);
	if (getrandom(s->our_id + 8, 12, 0) != 12)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "getrandom: %s",
		    strerror(errno));
	bt_wire_handshake_rsv(s->handshake, c->info_hash, s->our_id,
	    BT_RSV_EXT);
	s->peer = calloc(npeers ? npeers : 1, sizeof(struct peer));
	if (s->peer == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (k = 0; k < npeers; k++) {
		struct peer *p = &s->peer[k];

		p->addr = peers[k];
		p->fd = -1;
		bt_peer_format(&p->addr, p->name, sizeof(p->name));
	}
	s->npeer = npeers;
	return 0;
}

static void
teardown(struct md *s)
{
	size_t k;

	for (k = 0; k < s->npeer; k++) {
		struct peer *p = &s->peer[k];

		if (p->fd >= 0)
			close(p->fd);
		bt_md_asm_free(&p->a);
		free(p->in);
		bt_buf_free(&p->out);
	}
	free(s->peer);
}

/* One poll over the connected peers; events handled. */
static int
poll_once(struct md *s)
{
	struct pollfd fds[BT_METADATA_MAX_CONNS];
	struct peer *who[BT_METADATA_MAX_CONNS];
	size_t i;
	int n = 0, k, r;

	for (i = 0; i < s->npeer && n < BT_METADATA_MAX_CONNS; i++) {
		struct peer *p = &s->peer[i];

		if (p->state == PS_WAITING || p->state == PS_CLOSED)
			continue;
		fds[n].fd = p->fd;
		fds[n].events = p->state == PS_CONNECTING ? POLLOUT :
		    POLLIN | (p->out.len > 0 ? POLLOUT : 0);
		fds[n].revents = 0;
		who[n++] = p;
	}
	r = poll(fds, (nfds_t)n, TICK_MS);
	if (r < 0 && errno != EINTR)
		return bt_errf(s->e, BT_EX_SOFTWARE, -1, "poll: %s",
		    strerror(errno));
	s->now = bt_now_ms();
	for (k = 0; k < n && r > 0; k++) {
		struct peer *p = who[k];
		short ev = fds[k].revents;

		if (ev == 0 || s->winner != NULL || s->failed)
			continue;
		if (p->state == PS_CONNECTING) {
			connected(s, p);
			continue;
		}
		if (ev & (POLLIN | POLLERR | POLLHUP))
			readable(s, p);
		if (p->state != PS_CLOSED && (ev & POLLOUT))
			flush(s, p);
	}
	return 0;
}

int
bt_metadata_fetch(const struct bt_metadata_conf *c,
    const struct bt_peer_addr *peers, size_t npeers, uint8_t **info,
    size_t *len, struct bt_metadata_stats *st, struct bt_err *e)
{
	struct md s;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	*info = NULL;
	*len = 0;
	s.start = s.now = s.t_tick = bt_now_ms();
	if (setup(&s, c, peers, npeers, e) < 0) {
		teardown(&s);
		return -1;
	}
	for (;;) {
		while (s.nconn < BT_METADATA_MAX_CONNS && s.next_try < s.npeer)
			try_connect(&s, &s.peer[s.next_try++]);
		if (s.failed) {
			rc = -1;
			break;
		}
		if (s.winner != NULL) {
			*info = s.winner->a.buf;
			*len = (size_t)s.winner->a.size;
			s.winner->a.buf = NULL;
			bt_peer_format(&s.winner->addr, s.st.from,
			    sizeof(s.st.from));
			break;
		}
		if (s.nconn == 0) {
			rc = bt_errf(e, BT_EX_UNAVAILABLE, -1, "no peer gave "
			    "the metadata: %u peers tried, %u banned",
			    s.st.tried, s.st.banned);
			break;
		}
		if (c->timeout_ms > 0 && s.now - s.start >= c->timeout_ms) {
			rc = bt_errf(e, BT_EX_TEMPFAIL, -1, "timed out after "
			    "%lld s: no peer gave the metadata (%u peers "
			    "tried, %u banned)", c->timeout_ms / 1000,
			    s.st.tried, s.st.banned);
			break;
		}
		if (poll_once(&s) < 0) {
			rc = -1;
			break;
		}
		if (s.now - s.t_tick >= TICK_MS) {
			s.t_tick = s.now;
			tick(&s);
		}
	}
	s.st.elapsed_ms = bt_now_ms() - s.start;
	if (st != NULL)
		*st = s.st;
	teardown(&s);
	return rc;
}
