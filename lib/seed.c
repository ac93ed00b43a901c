/*
 * The seeder's event loop: listening sockets, peers in and out, the peer
 * wire state machine of an uploader, the choker, the rate limit. One
 * thread, epoll edge-triggered; each peer remembers whether its socket
 * is readable and writable, and the loop serves it until EAGAIN.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "choker.h"
#include "ext.h"
#include "fast.h"
#include "held.h"
#include "seed_int.h"
#include "serve.h"
#include "store.h"
#include "util.h"
#include "wire.h"

/* Where a peer's incoming bytes are. */
enum { RX_HANDSHAKE, RX_LEN, RX_FIXED, RX_SKIP, RX_EXT };

/* An address as PEX compares it: family, IP (IPv4 in the first 4
   bytes), port, so that memcmp sorts. */
struct pexkey {
	uint8_t k[19];
};

struct peer {
	int fd;
	int outgoing, connecting, hs_sent, hs_done;
	int readable, writable, dead;
	int cut;		/* dropped for a limit: reset, not closed */
	int bad;		/* ... for misbehaving (counted in dropped) */
	struct bt_peer_addr addr;
	char name[64];
	char why[160];
	char limit[96];		/* "limit NAME (VALUE)" when cut */

	/* Receiving. */
	int rx;
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN];
	size_t hsn;
	uint8_t fx[BT_WIRE_MAX_FIXED + 4];
	size_t fxn, fxwant;
	uint32_t msglen, skip;
	int skip_bitfield;

	/* What we know of the peer. */
	int interested, optimistic;
	uint32_t peer_have;
	/* What both sides speak: BEP 10, BEP 6 (from its reserved bits). */
	int ext, fast;
	uint8_t ut_metadata;	/* its id for ut_metadata; 0: not spoken */
	uint8_t ut_pex;		/* its id for ut_pex; 0: not spoken */
	uint16_t lport;		/* "p" of its extension handshake; 0: none */

	/* ut_pex (BEP 11): when its last message was taken (0: never),
	   when ours is due (0: not yet), what it has been told (sorted). */
	int64_t pex_rx, pex_tx;
	struct pexkey *told;
	size_t ntold;

	/* An extended message read whole (RX_EXT): its id, payload. */
	uint8_t xid;
	uint8_t *xb;
	uint32_t xn, xwant, xcap;

	/* ut_metadata answers waiting (piece numbers, in order) and the
	   requests counted against BT_SEED_MD_ASKS. */
	uint32_t *mdq;
	size_t mdqhead, mdqn;
	unsigned mdasks, mdsent;

	/* Its requests, our choke, its allowed fast set (lib/serve). */
	struct bt_serve sv;

	/* Control messages waiting (handshake, bitfield, choke...). */
	uint8_t *ctl;
	size_t ctllen, ctloff, ctlcap;

	/* The batch of blocks being written. */
	uint8_t *buf;		/* BT_SEED_BATCH blocks, while unchoked */
	uint8_t hdr[BT_SEED_BATCH][BT_WIRE_PIECE_HDR_LEN];
	struct iovec iov[2 * BT_SEED_BATCH];
	int niov, iovpos;
	size_t nblocks, batchbytes;

	uint64_t up, up_round;
	/* last_tx: anything queued or sent (keep-alives); last_sent: a
	   byte taken by the socket (a peer that reads). */
	int64_t born, last_rx, last_tx, last_sent, uninterested_since;
};

struct seed {
	const struct bt_torrent *t;
	const struct bt_seed_opts *o;
	struct bt_seed_stats *st;
	struct bt_held held;	/* the pieces served, the folder */
	struct bt_sann ann;
	int fdcache;		/* descriptors of the folder kept open */
	uint8_t peer_id[BT_WIRE_PEER_ID_LEN];
	int ep;
	int lfd[2];
	int nl;
	int spare;		/* kept for EMFILE (see do_accept) */
	int64_t paused_until;	/* listeners off after EMFILE, no spare */
	struct peer **peer;
	size_t npeer, maxconns;
	size_t nofile;		/* RLIMIT_NOFILE, for messages */
	int full;		/* at maxconns; logged once until below */
	int starved;		/* a peer choked for want of descriptors */
	size_t inuse;		/* descriptors open at start under nofile */
	int hs_ms, connect_ms;	/* timeouts, lowered by o->idle_ms */
	int64_t now, start, next_rechoke, next_optimistic, next_tick;
	double tokens;		/* rate limit bucket, bytes */
	int64_t last_refill;
	int throttled;
	int need_fill;		/* a slot may have come free */
	uint64_t rng;
	struct bt_peerlist dialed;	/* every address we connected to */
	int peer_fd;		/* o->peer_fd until its end, else -1 */
	char line[256];		/* a partial line of it */
	size_t linelen;
	int longline;		/* skipping the rest of a long line */
	unsigned lineno;
	int pex_ms;		/* between our ut_pex messages to a peer */
	size_t npexdial;	/* peers dialed because of ut_pex */
	int pexfull;		/* BT_PEX_MAX_PEERS logged */
	/* The peers connected that others may dial, for ut_pex: built
	   once a tick when a message is due. */
	struct pexkey *conn;
	uint8_t *connflags;
	size_t nconn;
};

/* epoll tags for the non-peer descriptors. */
static char tag_listen0, tag_listen1, tag_event, tag_peers;

static uint32_t
rnd(struct seed *s)
{
	/* xorshift64: the optimistic unchoke only needs to vary. */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 16);
}

static void
drop(struct peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
drop(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->dead)
		return;
	p->dead = 1;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/*
 * Drop the peer for hitting a limit: the line logged names it, and the
 * connection is reset (SO_LINGER 0 at close), so that what we had queued
 * for a peer that does not read is not kept in the kernel. bad: the
 * peer misbehaved (counted in the summary's dropped).
 */
static void
cut(struct peer *p, int bad, const char *limit, double value,
    const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
cut(struct peer *p, int bad, const char *limit, double value,
    const char *unit, const char *fmt, ...)
{
	va_list ap;

	if (p->dead)
		return;
	p->dead = p->cut = 1;
	p->bad = bad;
	snprintf(p->limit, sizeof(p->limit), "limit %s (%.15g%s%s)", limit,
	    value, *unit ? " " : "", unit);
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

static int
ctl_add(struct peer *p, const void *b, size_t n)
{
	if (p->ctloff > 0 && p->ctloff == p->ctllen)
		p->ctloff = p->ctllen = 0;
	if (p->ctllen + n > p->ctlcap) {
		size_t cap = p->ctlcap ? p->ctlcap : 256;
		uint8_t *nb;

		while (cap < p->ctllen + n)
			cap *= 2;
		if ((nb = realloc(p->ctl, cap)) == NULL) {
			drop(p, "out of memory");
			return -1;
		}
		p->ctl = nb;
		p->ctlcap = cap;
	}
	memcpy(p->ctl + p->ctllen, b, n);
	p->ctllen += n;
	return 0;
}

static void
send_simple(struct peer *p, uint8_t id)
{
	uint8_t m[5];

	ctl_add(p, m, bt_wire_simple(m, id));
}

static void
send_handshake(struct seed *s, struct peer *p)
{
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN];

	/* BEP 10 and BEP 6: the extensions are used when both sides set
	   their bits; a peer without them sees plain BEP 3. */
	bt_wire_handshake_rsv(hs, s->t->info_hash, s->peer_id,
	    BT_RSV_EXT | BT_RSV_FAST);
	ctl_add(p, hs, sizeof(hs));
	p->hs_sent = 1;
}

/*
 * BEP 6: the canonical allowed fast set of a fast IPv4 peer (an IPv6 one
 * has none: BEP 6 defines it for IPv4 only), the pieces of it we hold,
 * after the have all or bitfield. Their requests are served even while
 * the peer is choked, up to BT_SEED_FAST_MAX_BLOCKS.
 */
static void
send_allowed_fast(struct seed *s, struct peer *p)
{
	uint32_t set[BT_SEED_ALLOWED_FAST];
	size_t n, i;
	uint8_t m[9];

	if (!p->fast)
		return;
	n = bt_fast_allowed_addr(&p->addr, s->t->info_hash, s->t->npieces,
	    BT_SEED_ALLOWED_FAST, set);
	for (i = 0; i < n; i++) {
		if (!bt_held_has(&s->held, set[i]))
			continue;
		p->sv.allowed[p->sv.nallowed++] = set[i];
		/* Same layout as have: length 5, id, index. */
		bt_wire_have(m, set[i]);
		m[4] = BT_MSG_ALLOWED_FAST;
		ctl_add(p, m, sizeof(m));
	}
}

/*
 * BEP 3: the bitfield follows the handshake, only if we have a piece (a
 * bitfield of zeros is allowed, but we send none). BEP 6: a fast peer
 * gets exactly one of have all, have none or the bitfield, first.
 */
static void
send_bitfield(struct seed *s, struct peer *p)
{
	size_t n = (s->t->npieces + 7) / 8;
	uint8_t hdr[5];

	if (p->fast && s->held.n == s->t->npieces) {
		send_simple(p, BT_MSG_HAVE_ALL);
		send_allowed_fast(s, p);
		return;
	}
	if (p->fast && s->held.n == 0) {
		send_simple(p, BT_MSG_HAVE_NONE);
		return;
	}
	if (s->held.n == 0)
		return;
	bt_put32(hdr, (uint32_t)(n + 1));
	hdr[4] = BT_MSG_BITFIELD;
	if (ctl_add(p, hdr, 5) == 0)
		ctl_add(p, s->held.have, n);
	send_allowed_fast(s, p);
}

/*
 * BEP 10: our extension handshake, after the bitfield. We are a
 * metadata source (BEP 9) and download nothing (BEP 21 upload_only).
 */
static void
send_ext_handshake(struct seed *s, struct peer *p)
{
	struct bt_ext_hs_conf c;
	struct bt_buf b = { 0 };

	memset(&c, 0, sizeof(c));
	c.metadata = 1;
	c.metadata_size = (int64_t)s->t->info_len;
	c.pex = 1;
	c.port = s->st->port;
	c.reqq = BT_SEED_MAX_QUEUE;
	c.upload_only = 1;
	if (bt_ext_hs_encode(&b, &c) < 0 || b.oom)
		drop(p, "out of memory");
	else
		ctl_add(p, b.p, b.len);
	bt_buf_free(&b);
}

/* BEP 6: a request we will not serve is rejected, not left unanswered
   (a peer without the fast extension gets nothing, as BEP 3 has it). */
static void
reject(struct peer *p, uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t m[17];

	if (p->fast)
		ctl_add(p, m, bt_wire_request(m, BT_MSG_REJECT, index, begin,
		    len));
}

static void
unchoke(struct seed *s, struct peer *p)
{
	(void)s;
	if (!p->sv.choked)
		return;
	if (p->buf == NULL &&
	    (p->buf = malloc(BT_SEED_BATCH * BT_BLOCK_LEN)) == NULL) {
		drop(p, "out of memory");
		return;
	}
	bt_serve_unchoke(&p->sv);
	send_simple(p, BT_MSG_UNCHOKE);
}

static void
choke(struct peer *p)
{
	struct bt_serve_req r;

	if (p->sv.choked)
		return;
	bt_serve_choke(&p->sv);
	p->optimistic = 0;
	send_simple(p, BT_MSG_CHOKE);
	/*
	 * BEP 3: choking discards the peer's requests. BEP 6: not
	 * implicitly any more; each is rejected.
	 */
	while (bt_serve_next(&p->sv, &r))
		reject(p, r.index, r.begin, r.len);
}

static void
peer_free(struct seed *s, struct peer *p)
{
	/* "PEER: limit NAME (VALUE): dropped: why": the last part as it
	   is without a limit. */
	if (s->o->log != NULL && p->hs_done)
		bt_seed_logf(s->o, "%s: %s%sdropped: %s (%llu bytes sent)",
		    p->name, p->limit, p->cut ? ": " : "", p->why,
		    (unsigned long long)p->up);
	else if (s->o->log != NULL)
		bt_seed_logf(s->o, "%s: %s%sclosed: %s", p->name, p->limit,
		    p->cut ? ": " : "", p->why);
	if (p->fd >= 0 && p->cut) {
		struct linger lg = { 1, 0 };

		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (p->fd >= 0)
		close(p->fd);
	bt_serve_free(&p->sv);
	free(p->ctl);
	free(p->buf);
	free(p->xb);
	free(p->mdq);
	free(p->told);
	free(p);
}

static struct peer *
peer_new(struct seed *s, int fd, const struct bt_peer_addr *a, int outgoing)
{
	struct epoll_event ev;
	struct peer *p;
	char nm[64];

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->fd = fd;
	p->addr = *a;
	p->outgoing = outgoing;
	bt_serve_init(&p->sv);
	p->born = p->last_rx = p->last_tx = p->last_sent =
	    p->uninterested_since = s->now;
	bt_peer_format(a, nm, sizeof(nm));
	snprintf(p->name, sizeof(p->name), "%s", nm);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = p;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(p);
		return NULL;
	}
	s->peer[s->npeer++] = p;
	return p;
}

/* A request: lib/serve checks it; refused, it gets a reject (BEP 6). */
static void
on_request(struct seed *s, struct peer *p, uint32_t index, uint32_t begin,
    uint32_t len)
{
	struct bt_serve_verdict v;
	int r;

	r = bt_serve_request(&p->sv, s->t, bt_held_has(&s->held, index),
	    index, begin, len, &v);
	if (r == BT_SERVE_QUEUED)
		return;
	reject(p, index, begin, len);
	if (r == BT_SERVE_CUT)
		cut(p, 1, v.limit, v.value, "", "%s", v.why);
	else if (r == BT_SERVE_NOMEM)
		drop(p, "out of memory");
	else if (r == BT_SERVE_FULL && v.why[0] != '\0')
		bt_seed_logf(s->o, "%s: limit %s (%u): %s", p->name, v.limit,
		    v.value, v.why);
}

static void
on_message(struct seed *s, struct peer *p)
{
	uint8_t id = p->fx[0];
	const uint8_t *b = p->fx + 1;

	switch (id) {
	case BT_MSG_INTERESTED:
		if (!p->interested) {
			p->interested = 1;
			s->need_fill = 1;
		}
		break;
	case BT_MSG_NOT_INTERESTED:
		if (p->interested) {
			p->interested = 0;
			p->uninterested_since = s->now;
			s->need_fill = 1;
		}
		break;
	case BT_MSG_HAVE:
		if (bt_get32(b) >= s->t->npieces) {
			drop(p, "have of piece %u of %u", bt_get32(b),
			    s->t->npieces);
			p->bad = 1;
			break;
		}
		p->peer_have++;
		break;
	case BT_MSG_HAVE_ALL:
		p->peer_have = s->t->npieces;
		break;
	case BT_MSG_HAVE_NONE:
		p->peer_have = 0;
		break;
	case BT_MSG_REQUEST:
		on_request(s, p, bt_get32(b), bt_get32(b + 4),
		    bt_get32(b + 8));
		break;
	case BT_MSG_CANCEL:
		/* BEP 3: a queued request goes (one being written is
		   sent); BEP 6: a cancel gets one answer, a reject. */
		if (bt_serve_cancel(&p->sv, bt_get32(b), bt_get32(b + 4),
		    bt_get32(b + 8)))
			reject(p, bt_get32(b), bt_get32(b + 4),
			    bt_get32(b + 8));
		break;
	default:
		/* choke, unchoke, port, and BEP 6's suggest, allowed fast
		   and reject (length-checked): we download nothing. An
		   extended message of a peer without the bit is skipped. */
		break;
	}
	/* Two seeds have nothing to say to each other. */
	if (!p->dead && s->held.n == s->t->npieces &&
	    p->peer_have >= s->t->npieces && !p->interested)
		drop(p, "peer is a seed");
}

/*
 * BEP 9: a ut_metadata request. Metadata is served whatever the choke
 * state (BEP 9 has no choking); a piece past the end is rejected; each
 * piece may be asked for BT_SEED_MD_ASKS times, more is a flood.
 */
static void
on_md_request(struct seed *s, struct peer *p, uint32_t piece)
{
	uint32_t np = bt_md_npieces((int64_t)s->t->info_len);
	size_t max = (size_t)BT_SEED_MD_ASKS * np;
	struct bt_buf b = { 0 };

	if (++p->mdasks > max) {
		cut(p, 1, "BT_SEED_MD_ASKS", BT_SEED_MD_ASKS, "", "ut_metadata "
		    "request flood: %u requests for %u piece%s of metadata",
		    p->mdasks, np, np == 1 ? "" : "s");
		return;
	}
	/* BEP 10: we can only answer under the id its handshake gave. */
	if (p->ut_metadata == 0)
		return;
	if (piece >= np) {
		if (bt_md_encode(&b, p->ut_metadata, BT_MD_REJECT, piece, -1,
		    NULL, 0) < 0 || b.oom)
			drop(p, "out of memory");
		else
			ctl_add(p, b.p, b.len);
		bt_buf_free(&b);
		return;
	}
	/* Answered from do_write, one at a time, as the peer reads. */
	if (p->mdq == NULL &&
	    (p->mdq = malloc(max * sizeof(*p->mdq))) == NULL) {
		drop(p, "out of memory");
		return;
	}
	p->mdq[p->mdqn++] = piece;
}

/* The next ut_metadata answer waiting, into the control bytes. */
static void
md_answer(struct seed *s, struct peer *p)
{
	int64_t size = (int64_t)s->t->info_len;
	uint32_t piece = p->mdq[p->mdqhead++];
	const uint8_t *info = (const uint8_t *)s->t->raw + s->t->info_off;
	struct bt_buf b = { 0 };

	if (bt_md_encode(&b, p->ut_metadata, BT_MD_DATA, piece, size,
	    info + (size_t)piece * BT_METADATA_PIECE,
	    bt_md_piece_len(size, piece)) < 0 || b.oom)
		drop(p, "out of memory");
	else
		ctl_add(p, b.p, b.len);
	bt_buf_free(&b);
	if (++p->mdsent == bt_md_npieces(size))
		bt_seed_logf(s->o, "%s: metadata sent (%lld bytes)", p->name,
		    (long long)size);
}

static int dial(struct seed *, const struct bt_peer_addr *);

/* Where a peer listens, for PEX: the address we dialed, or its IP with
   the "p" of its extension handshake; 0 if we do not know. */
static int
listen_addr(const struct peer *p, struct bt_peer_addr *a)
{
	*a = p->addr;
	if (p->outgoing)
		return 1;
	if (p->lport == 0)
		return 0;
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons(p->lport);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(p->lport);
	return 1;
}

static void
pex_key(const struct bt_peer_addr *a, struct pexkey *k)
{
	memset(k, 0, sizeof(*k));
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->sa;

		k->k[0] = 4;
		memcpy(k->k + 1, &in->sin_addr, 4);
		memcpy(k->k + 17, &in->sin_port, 2);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&a->sa;

		k->k[0] = 6;
		memcpy(k->k + 1, &in6->sin6_addr, 16);
		memcpy(k->k + 17, &in6->sin6_port, 2);
	}
}

static void
pex_addr(const struct pexkey *k, struct bt_peer_addr *a)
{
	bt_peer_from_raw(a, k->k + 1, k->k[0] == 4 ? 4 : 16,
	    (uint16_t)(k->k[17] << 8 | k->k[18]));
}

/* A peer connected whose listening address is a (it dialed us). */
static int
pex_connected(struct seed *s, const struct bt_peer_addr *a)
{
	struct bt_peer_addr l;
	struct pexkey x, y;
	size_t i;

	pex_key(a, &x);
	for (i = 0; i < s->npeer; i++)
		if (!s->peer[i]->dead && listen_addr(s->peer[i], &l)) {
			pex_key(&l, &y);
			if (memcmp(&x, &y, sizeof(x)) == 0)
				return 1;
		}
	return 0;
}

/*
 * BEP 11: a ut_pex message. Its added peers that are new are dialed,
 * BT_PEX_MAX_PEERS in a run; seeds are not (a seed has nothing to give
 * a seed); dropped peers change nothing (we keep what we connected to).
 */
static void
on_pex(struct seed *s, struct peer *p)
{
	struct bt_pex x;
	struct bt_err e;
	size_t i, ndial = 0, nseed = 0;
	char nm[64];

	if (p->pex_rx != 0 && s->now - p->pex_rx < BT_PEX_MIN_INTERVAL_MS) {
		bt_seed_logf(s->o, "%s: ut_pex message %lld ms after the last "
		    "one ignored (limit BT_PEX_MIN_INTERVAL_MS)", p->name,
		    (long long)(s->now - p->pex_rx));
		return;
	}
	p->pex_rx = s->now;
	if (bt_pex_parse(p->xb, p->xn, BT_PEX_MAX_MSG_PEERS, &x, &e) < 0) {
		bt_pex_free(&x);
		drop(p, "%s", e.msg);
		p->bad = e.status == BT_EX_DATAERR;
		return;
	}
	for (i = 0; i < x.nadded; i++) {
		if (x.flags[i] & BT_PEX_SEED) {
			nseed++;
			continue;
		}
		if (bt_peerlist_has(&s->dialed, &x.added[i]) ||
		    pex_connected(s, &x.added[i]))
			continue;
		if (s->npexdial >= BT_PEX_MAX_PEERS) {
			if (!s->pexfull)
				bt_seed_logf(s->o, "limit BT_PEX_MAX_PEERS "
				    "(%d): more peers from ut_pex not dialed",
				    BT_PEX_MAX_PEERS);
			s->pexfull = 1;
			break;
		}
		if (dial(s, &x.added[i])) {
			s->npexdial++;
			ndial++;
			bt_seed_logf(s->o, "%s: dialing (ut_pex from %s)",
			    bt_peer_format(&x.added[i], nm, sizeof(nm)),
			    p->name);
		}
	}
	bt_seed_logf(s->o, "%s: ut_pex: %zu added (%zu seeds), %zu dropped, "
	    "%zu dialed", p->name, x.nadded, nseed, x.ndropped, ndial);
	if (x.over > 0)
		bt_seed_logf(s->o, "%s: ut_pex: %zu peers past the first %d "
		    "ignored (limit BT_PEX_MAX_MSG_PEERS)", p->name, x.over,
		    BT_PEX_MAX_MSG_PEERS);
	bt_pex_free(&x);
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pexkey));
}

/*
 * The peers others may dial (sorted, once each), for the messages due
 * this tick: those that dialed us and told their port, and those we
 * dialed. Flags: BT_PEX_SEED for a seed, BT_PEX_REACHABLE for one we
 * reached.
 */
static int
pex_build(struct seed *s)
{
	struct bt_peer_addr a;
	struct {
		struct pexkey k;
		uint8_t f;
	} *v;
	size_t i, n = 0;

	free(s->conn);
	free(s->connflags);
	s->conn = NULL;
	s->connflags = NULL;
	s->nconn = 0;
	if ((v = malloc((s->npeer + 1) * sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < s->npeer; i++) {
		struct peer *q = s->peer[i];

		if (q->dead || !q->hs_done || !listen_addr(q, &a))
			continue;
		pex_key(&a, &v[n].k);
		v[n].f = (q->peer_have >= s->t->npieces ? BT_PEX_SEED : 0) |
		    (q->outgoing ? BT_PEX_REACHABLE : 0);
		n++;
	}
	qsort(v, n, sizeof(*v), key_cmp);
	if ((s->conn = malloc((n + 1) * sizeof(*s->conn))) == NULL ||
	    (s->connflags = malloc(n + 1)) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s->nconn > 0 && memcmp(&s->conn[s->nconn - 1], &v[i].k,
		    sizeof(v[i].k)) == 0)
			continue;
		s->conn[s->nconn] = v[i].k;
		s->connflags[s->nconn++] = v[i].f;
	}
	free(v);
	return 0;
}

/*
 * BEP 11: our message to p: the peers connected since the last one
 * (never p itself) and those gone since, at most BT_PEX_SEND_PEERS of
 * each (the rest go next time). Nothing new: no message.
 */
static void
pex_send(struct seed *s, struct peer *p)
{
	struct bt_peer_addr add[BT_PEX_SEND_PEERS], del[BT_PEX_SEND_PEERS];
	uint8_t fl[BT_PEX_SEND_PEERS];
	struct bt_peer_addr me;
	struct pexkey self, *told;
	struct bt_buf b = { 0 };
	size_t i = 0, j = 0, nt = 0, na = 0, nd = 0;
	int hasself = listen_addr(p, &me);

	if (hasself)
		pex_key(&me, &self);
	if ((told = malloc((s->nconn + p->ntold + 1) * sizeof(*told))) ==
	    NULL)
		return;
	while (i < s->nconn || j < p->ntold) {
		int c = i == s->nconn ? 1 : j == p->ntold ? -1 :
		    key_cmp(&s->conn[i], &p->told[j]);

		if (c == 0) {
			told[nt++] = p->told[j];
			i++;
			j++;
		} else if (c < 0) {
			/* Connected, not told: added. */
			if ((!hasself || key_cmp(&s->conn[i], &self) != 0) &&
			    na < BT_PEX_SEND_PEERS) {
				pex_addr(&s->conn[i], &add[na]);
				fl[na++] = s->connflags[i];
				told[nt++] = s->conn[i];
			}
			i++;
		} else {
			/* Told, gone: dropped. */
			if (nd < BT_PEX_SEND_PEERS)
				pex_addr(&p->told[j], &del[nd++]);
			else
				told[nt++] = p->told[j];
			j++;
		}
	}
	free(p->told);
	p->told = told;
	p->ntold = nt;
	if (na == 0 && nd == 0)
		return;
	if (bt_pex_encode(&b, p->ut_pex, add, fl, na, del, nd) < 0 || b.oom)
		drop(p, "out of memory");
	else {
		ctl_add(p, b.p, b.len);
		p->last_tx = s->now;
		bt_seed_logf(s->o, "%s: ut_pex sent: %zu added, %zu dropped",
		    p->name, na, nd);
	}
	bt_buf_free(&b);
}

/* The messages due: about once a minute to each peer (BEP 11). */
static void
pex_tick(struct seed *s)
{
	size_t i;
	int built = 0;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p->dead || p->ut_pex == 0 || p->pex_tx == 0 ||
		    s->now < p->pex_tx)
			continue;
		if (!built && pex_build(s) < 0)
			return;
		built = 1;
		pex_send(s, p);
		p->pex_tx = s->now + s->pex_ms;
	}
}

/* A whole extended message (BEP 10) of an extension we speak. */
static void
on_extended(struct seed *s, struct peer *p)
{
	struct bt_ext_hs h;
	struct bt_md_msg m;
	struct bt_err e;

	if (p->xid == BT_EXT_HANDSHAKE) {
		if (bt_ext_hs_parse(p->xb, p->xn, &h, &e) < 0) {
			drop(p, "%s", e.msg);
			p->bad = 1;
			return;
		}
		/* BEP 10: a later handshake updates the ids. */
		p->ut_metadata = h.ut_metadata;
		p->ut_pex = h.ut_pex;
		p->lport = h.port;
		if (p->ut_pex != 0 && p->pex_tx == 0)
			p->pex_tx = s->now + (s->pex_ms < BT_SEED_PEX_FIRST_MS ?
			    s->pex_ms : BT_SEED_PEX_FIRST_MS);
		return;
	}
	if (p->xid == BT_EXT_UT_PEX) {
		on_pex(s, p);
		return;
	}
	if (bt_md_parse(p->xb, p->xn, &m, &e) < 0) {
		drop(p, "%s", e.msg);
		p->bad = 1;
		return;
	}
	/* Data and rejects answer requests we never send: ignored. */
	if (m.type == BT_MD_REQUEST)
		on_md_request(s, p, m.piece);
}

/*
 * The extended id of a message is in: read the payload whole, bounded
 * by what its kind needs, or skip an extension we do not speak.
 */
static void
ext_begin(struct seed *s, struct peer *p)
{
	uint32_t n = p->msglen - 2, max;
	const char *lim, *what;

	p->xid = p->fx[1];
	p->fxn = 0;
	p->rx = RX_LEN;
	if (p->xid == BT_EXT_HANDSHAKE) {
		max = BT_EXT_MAX_HANDSHAKE;
		lim = "BT_EXT_MAX_HANDSHAKE";
		what = "extension handshake";
	} else if (p->xid == BT_EXT_UT_METADATA) {
		max = BT_SEED_MD_MAX_MSG;
		lim = "BT_SEED_MD_MAX_MSG";
		what = "ut_metadata message";
	} else if (p->xid == BT_EXT_UT_PEX) {
		/* As lib/swarm: BT_PEX_MAX_MSG_PEERS of each kind fit in
		   far less. */
		max = BT_EXT_MAX_HANDSHAKE;
		lim = "BT_EXT_MAX_HANDSHAKE";
		what = "ut_pex message";
	} else {
		p->skip = n;
		p->skip_bitfield = 0;
		if (n > 0)
			p->rx = RX_SKIP;
		return;
	}
	if (n > max) {
		/* Before reading any of it. */
		cut(p, 1, lim, max, "bytes", "%s of %u bytes", what, n);
		return;
	}
	if (n > p->xcap) {
		free(p->xb);
		if ((p->xb = malloc(n)) == NULL) {
			p->xcap = 0;
			drop(p, "out of memory");
			return;
		}
		p->xcap = n;
	}
	p->xn = 0;
	p->xwant = n;
	if (n > 0) {
		p->rx = RX_EXT;
		return;
	}
	on_extended(s, p);
}

static void
popcount_bits(struct peer *p, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p->peer_have += (uint32_t)__builtin_popcount(b[i]);
}

/* Feed n received bytes through the peer's state machine. */
static void
rx_bytes(struct seed *s, struct peer *p, const uint8_t *b, size_t n)
{
	struct bt_err e;

	while (n > 0 && !p->dead) {
		size_t k;

		switch (p->rx) {
		case RX_HANDSHAKE:
			k = BT_WIRE_HANDSHAKE_LEN - p->hsn;
			if (k > n)
				k = n;
			memcpy(p->hs + p->hsn, b, k);
			p->hsn += k;
			b += k;
			n -= k;
			if (bt_wire_handshake_check(p->hs, p->hsn,
			    s->t->info_hash, s->peer_id, &e) < 0) {
				drop(p, "%s", e.msg);
				break;
			}
			if (p->hsn < BT_WIRE_HANDSHAKE_LEN)
				break;
			if (!p->hs_sent)
				send_handshake(s, p);
			p->hs_done = 1;
			p->ext = (bt_wire_reserved(p->hs) & BT_RSV_EXT) != 0;
			p->fast = (bt_wire_reserved(p->hs) & BT_RSV_FAST) != 0;
			p->sv.fast = p->fast;
			/* Not interested since now, not since connected:
			   a silent peer is then cut for idleness alone. */
			p->uninterested_since = s->now;
			s->st->peers++;
			send_bitfield(s, p);
			if (p->ext)
				send_ext_handshake(s, p);
			p->rx = RX_LEN;
			p->fxn = 0;
			if (s->o->log != NULL)
				bt_seed_logf(s->o, "%s: connected (%s)",
				    p->name, p->outgoing ? "out" : "in");
			break;
		case RX_LEN:
			k = 4 - p->fxn;
			if (k > n)
				k = n;
			memcpy(p->fx + p->fxn, b, k);
			p->fxn += k;
			b += k;
			n -= k;
			if (p->fxn < 4)
				break;
			p->msglen = bt_get32(p->fx);
			p->fxn = 0;
			if (p->msglen == 0)
				break;		/* keep-alive */
			if (p->msglen > BT_WIRE_MAX_MSG) {
				/* Before reading any of it. */
				cut(p, 1, "BT_WIRE_MAX_MSG", BT_WIRE_MAX_MSG,
				    "bytes", "message of %u bytes",
				    p->msglen);
				break;
			}
			p->rx = RX_FIXED;
			p->fxwant = 1;		/* the id first */
			break;
		case RX_FIXED:
			k = p->fxwant - p->fxn;
			if (k > n)
				k = n;
			memcpy(p->fx + p->fxn, b, k);
			p->fxn += k;
			b += k;
			n -= k;
			if (p->fxn < p->fxwant)
				break;
			if (p->fxn == 1) {
				size_t fl;

				if (bt_wire_check_len(p->fx[0], p->msglen,
				    s->t->npieces, BT_BLOCK_LEN, &e) < 0) {
					drop(p, "%s", e.msg);
					p->bad = 1;
					break;
				}
				if (p->fx[0] == BT_MSG_EXTENDED && p->ext) {
					p->fxwant = 2;	/* and its id */
					break;
				}
				fl = bt_wire_fixed_len(p->fx[0]);
				if (fl > p->msglen)
					fl = p->msglen;
				if (fl > 1) {
					p->fxwant = fl;
					break;
				}
			}
			if (p->fx[0] == BT_MSG_EXTENDED && p->fxn == 2) {
				ext_begin(s, p);
				break;
			}
			on_message(s, p);
			p->skip = p->msglen - (uint32_t)p->fxn;
			p->skip_bitfield = p->fx[0] == BT_MSG_BITFIELD;
			p->fxn = 0;
			p->rx = p->skip > 0 ? RX_SKIP : RX_LEN;
			break;
		case RX_SKIP:
			k = p->skip;
			if (k > n)
				k = n;
			if (p->skip_bitfield)
				popcount_bits(p, b, k);
			p->skip -= (uint32_t)k;
			b += k;
			n -= k;
			if (p->skip == 0) {
				p->rx = RX_LEN;
				if (p->skip_bitfield) {
					p->skip_bitfield = 0;
					p->fx[0] = BT_MSG_BITFIELD;
					on_message(s, p);
				}
			}
			break;
		case RX_EXT:
			k = p->xwant - p->xn;
			if (k > n)
				k = n;
			memcpy(p->xb + p->xn, b, k);
			p->xn += (uint32_t)k;
			b += k;
			n -= k;
			if (p->xn < p->xwant)
				break;
			p->rx = RX_LEN;
			on_extended(s, p);
			/* A handshake's buffer is not kept. */
			if (p->xcap > BT_SEED_MD_MAX_MSG) {
				free(p->xb);
				p->xb = NULL;
				p->xcap = 0;
			}
			break;
		}
	}
}

static void
do_read(struct seed *s, struct peer *p)
{
	uint8_t buf[16384];
	ssize_t r;
	int rounds = 0;

	/* Bounded, so that one fast sender does not starve the rest; the
	   flag stays set and the loop comes back. */
	while (p->readable && !p->dead && rounds++ < 16) {
		r = read(p->fd, buf, sizeof(buf));
		if (r > 0) {
			p->last_rx = s->now;
			rx_bytes(s, p, buf, (size_t)r);
			continue;
		}
		if (r == 0) {
			drop(p, "closed by the peer");
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			p->readable = 0;
			return;
		}
		if (errno == EINTR)
			continue;
		drop(p, "read: %s", strerror(errno));
		return;
	}
}

static void
drop_piece(struct seed *s, uint32_t index, const char *why)
{
	if (!bt_held_has(&s->held, index))
		return;
	bt_held_drop(&s->held, index);
	s->st->bad++;
	bt_seed_logf(s->o, "piece %u: %s: no longer served", index, why);
}

/*
 * Fill the peer's batch from its queue: up to BT_SEED_BATCH blocks,
 * adjacent ones read in one pread. Returns bytes loaded.
 */
static size_t
fill_batch(struct seed *s, struct peer *p)
{
	uint8_t *dst = p->buf;
	size_t k = 0;

	p->niov = p->iovpos = 0;
	p->batchbytes = 0;
	/* A choked peer's queue holds only allowed fast requests (BEP 6;
	   choke() empties it); its buffer went back once written. */
	if (p->buf == NULL && p->sv.qn > 0) {
		if ((p->buf = malloc(BT_SEED_BATCH * BT_BLOCK_LEN)) == NULL) {
			drop(p, "out of memory");
			return 0;
		}
		dst = p->buf;
	}
	while (k < BT_SEED_BATCH && p->sv.qn > 0) {
		struct bt_serve_req r;
		unsigned run, j;
		uint32_t runlen;
		int st;

		bt_serve_next(&p->sv, &r);
		if (!bt_held_has(&s->held, r.index)) {
			reject(p, r.index, r.begin, r.len);
			continue;
		}
		/* Adjacent requests that follow in the queue: one read (the
		   piece is checked at its first). */
		run = bt_serve_run(&p->sv, &r, BT_SEED_BATCH - 1 - (unsigned)k,
		    &runlen);
		st = bt_held_read(&s->held, r.index, r.begin, runlen, dst);
		if (st == BT_SDATA_AGAIN) {
			/*
			 * Out of descriptors: not the piece's fault. The peer
			 * is choked (BEP 3: its requests are dropped, it asks
			 * again once unchoked) and unchoked within a second,
			 * when some may be free: never left waiting for
			 * blocks that will not come, never a busy loop.
			 */
			bt_seed_logf(s->o, "%s: out of file descriptors "
			    "(RLIMIT_NOFILE %zu) reading piece %u: choked for "
			    "now", p->name, s->nofile, r.index);
			reject(p, r.index, r.begin, r.len);
			choke(p);
			s->starved = 1;
			break;
		}
		if (st != BT_SDATA_OK) {
			drop_piece(s, r.index, st == BT_SDATA_BAD ?
			    "SHA-1 mismatch" : st == BT_SDATA_IOERR ?
			    "read error" : "data missing");
			reject(p, r.index, r.begin, r.len);
			continue;
		}
		for (j = 0; j <= run; j++) {
			struct bt_serve_req b = r;

			if (j > 0)
				bt_serve_next(&p->sv, &b);
			bt_wire_piece_hdr(p->hdr[k], b.index, b.begin, b.len);
			p->iov[p->niov].iov_base = p->hdr[k];
			p->iov[p->niov++].iov_len = BT_WIRE_PIECE_HDR_LEN;
			p->iov[p->niov].iov_base = dst;
			p->iov[p->niov++].iov_len = b.len;
			dst += b.len;
			p->batchbytes += BT_WIRE_PIECE_HDR_LEN + b.len;
			k++;
		}
	}
	if (k > 0 && p->up == 0)
		s->st->served++;
	p->nblocks = k;
	return p->batchbytes;
}

/* Write what the peer has waiting, until EAGAIN or the rate limit. */
static void
do_write(struct seed *s, struct peer *p)
{
	struct msghdr mh;
	ssize_t w;
	int rounds = 0;

	/* Bounded like do_read: the loop comes back while work is left. */
	while (p->writable && !p->dead && rounds++ < 32) {
		if (p->connecting)
			return;
		if (p->iovpos < p->niov) {
			if (s->o->rate > 0 && s->tokens <= 0) {
				s->throttled = 1;
				return;
			}
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = p->iov + p->iovpos;
			mh.msg_iovlen = (size_t)(p->niov - p->iovpos);
			w = sendmsg(p->fd, &mh, MSG_NOSIGNAL);
			if (w < 0)
				goto err;
			p->last_tx = p->last_sent = s->now;
			p->up += (uint64_t)w;
			p->up_round += (uint64_t)w;
			if (s->o->rate > 0)
				s->tokens -= (double)w;
			while (w > 0) {
				struct iovec *v = &p->iov[p->iovpos];

				if ((size_t)w >= v->iov_len) {
					w -= (ssize_t)v->iov_len;
					v->iov_len = 0;
					p->iovpos++;
				} else {
					v->iov_base = (uint8_t *)v->iov_base +
					    w;
					v->iov_len -= (size_t)w;
					w = 0;
				}
			}
			if (p->iovpos == p->niov) {
				s->st->blocks += p->nblocks;
				s->st->uploaded += p->batchbytes -
				    p->nblocks * BT_WIRE_PIECE_HDR_LEN;
				p->niov = p->iovpos = 0;
				p->nblocks = 0;
			}
			continue;
		}
		if (p->ctloff < p->ctllen) {
			w = send(p->fd, p->ctl + p->ctloff,
			    p->ctllen - p->ctloff, MSG_NOSIGNAL);
			if (w < 0)
				goto err;
			p->last_tx = p->last_sent = s->now;
			p->ctloff += (size_t)w;
			if (p->ctloff == p->ctllen)
				p->ctloff = p->ctllen = 0;
			continue;
		}
		if (p->mdqhead < p->mdqn) {
			md_answer(s, p);
			continue;
		}
		if (p->hs_done && p->sv.qn > 0) {
			if (s->o->rate > 0 && s->tokens <= 0) {
				s->throttled = 1;
				return;
			}
			if (fill_batch(s, p) == 0 && p->sv.qn == 0)
				return;
			continue;
		}
		return;
	}
	return;
err:
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		p->writable = 0;
		return;
	}
	if (errno == EINTR)
		return;
	drop(p, "write: %s", strerror(errno));
}

/*
 * The choker (lib/choker, the one bt-fetch-piece uses too). BEP 3: the
 * peers we upload to fastest in the round get the regular slots,
 * re-chosen every 10 s, so that rates can be measured; one more peer,
 * chosen at random every 30 s, is unchoked optimistically, to find
 * better peers. A peer not interested is left as it is: it asks for
 * nothing, and is unchoked when it says it is interested (fill_slots).
 */
static void
rechoke(struct seed *s, int optimistic_turn)
{
	struct bt_choke_peer *c;
	struct peer **who;
	size_t i, nc = 0;

	c = calloc(s->npeer + 1, sizeof(*c));
	who = malloc((s->npeer + 1) * sizeof(*who));
	if (c == NULL || who == NULL) {
		free(c);
		free(who);
		return;
	}
	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p->dead || !p->hs_done)
			continue;
		c[nc].rate = (double)p->up_round;
		c[nc].interested = p->interested;
		c[nc].optimistic = p->optimistic;
		who[nc++] = p;
	}
	bt_choke(c, nc, s->o->slots, optimistic_turn ? BT_CHOKE_ROTATE : 0,
	    rnd(s));
	for (i = 0; i < nc; i++) {
		struct peer *p = who[i];

		p->optimistic = c[i].optimistic;
		if (c[i].unchoke)
			unchoke(s, p);
		else if (p->interested)
			choke(p);
	}
	for (i = 0; i < s->npeer; i++)
		s->peer[i]->up_round = 0;
	free(c);
	free(who);
}

/* Between rounds: give free slots to waiting peers at once. */
static void
fill_slots(struct seed *s)
{
	size_t i, busy = 0, cap = (size_t)s->o->slots + 1;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (!p->dead && !p->sv.choked && p->interested)
			busy++;
	}
	for (i = 0; i < s->npeer && busy < cap; i++) {
		struct peer *p = s->peer[i];

		if (!p->dead && p->hs_done && p->sv.choked && p->interested) {
			unchoke(s, p);
			busy++;
		}
	}
}

/*
 * The listeners in or out of epoll. Out when descriptors run out and no
 * spare is left to take and close the connection waiting: a listening
 * socket still readable would wake us at once, again and again.
 */
static void
listeners(struct seed *s, int on)
{
	struct epoll_event ev;
	int i;

	for (i = 0; i < s->nl; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = on ? EPOLLIN : 0;
		ev.data.ptr = i == 0 ? &tag_listen0 : &tag_listen1;
		epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd[i], &ev);
	}
}

static void
do_accept(struct seed *s, int lfd)
{
	for (;;) {
		struct bt_peer_addr a;
		struct peer *p;
		int fd;

		a.salen = sizeof(a.sa);
		fd = accept4(lfd, (struct sockaddr *)&a.sa, &a.salen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    s->spare >= 0) {
				/* Out of descriptors: take the connection
				   with the spare one and close it, so that
				   it does not wake us again and again. */
				close(s->spare);
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				s->spare = open("/dev/null",
				    O_RDONLY | O_CLOEXEC);
				s->st->refused++;
				bt_seed_logf(s->o, "connection refused: out "
				    "of file descriptors (RLIMIT_NOFILE "
				    "%zu)", s->nofile);
				continue;
			}
			if (errno == EMFILE || errno == ENFILE) {
				bt_seed_logf(s->o, "out of file descriptors "
				    "(RLIMIT_NOFILE %zu): not accepting for "
				    "1 s", s->nofile);
				listeners(s, 0);
				s->paused_until = s->now + 1000;
			}
			return;		/* EAGAIN, or nothing to do */
		}
		if (s->npeer >= s->maxconns) {
			close(fd);
			s->st->refused++;
			if (!s->full) {
				if (s->maxconns < BT_SEED_MAX_CONNS &&
				    s->inuse > 7)
					bt_seed_logf(s->o, "limit "
					    "BT_SEED_MAX_CONNS (%zu under "
					    "RLIMIT_NOFILE %zu, %zu open at "
					    "start): more connections refused",
					    s->maxconns, s->nofile, s->inuse);
				else if (s->maxconns < BT_SEED_MAX_CONNS)
					bt_seed_logf(s->o, "limit "
					    "BT_SEED_MAX_CONNS (%zu under "
					    "RLIMIT_NOFILE %zu): more "
					    "connections refused",
					    s->maxconns, s->nofile);
				else
					bt_seed_logf(s->o, "limit "
					    "BT_SEED_MAX_CONNS (%d): more "
					    "connections refused",
					    BT_SEED_MAX_CONNS);
				s->full = 1;
			}
			bt_seed_logf(s->o, "connection refused: %zu peers "
			    "already", s->npeer);
			continue;
		}
		if ((p = peer_new(s, fd, &a, 0)) == NULL) {
			close(fd);
			continue;
		}
	}
}

/* Our own listening address by -b (the loopback one is in dial). */
static int
is_self(struct seed *s, const struct bt_peer_addr *a)
{
	uint8_t ip[16];

	if (s->o->bind == NULL)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->sa;

		return ntohs(in->sin_port) == s->st->port &&
		    inet_pton(AF_INET, s->o->bind, ip) == 1 &&
		    memcmp(&in->sin_addr, ip, 4) == 0;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&a->sa;

		return ntohs(in6->sin6_port) == s->st->port &&
		    inet_pton(AF_INET6, s->o->bind, ip) == 1 &&
		    memcmp(&in6->sin6_addr, ip, 16) == 0;
	}
}

static int
peer_known(struct seed *s, const struct bt_peer_addr *a)
{
	return bt_peerlist_has(&s->dialed, a);
}

/* Connect to a, unless known, our own, or over a limit: 1 if tried. */
static int
dial(struct seed *s, const struct bt_peer_addr *a)
{
	struct peer *p;
	char nm[64];
	int fd;

	if (peer_known(s, a) || s->npeer >= s->maxconns)
		return 0;
	if (s->dialed.n >= BT_SEED_MAX_DIAL ||
	    bt_peerlist_add(&s->dialed, a) < 0)
		return 0;
	/* Our own listening address (trackers list us): not dialed. */
	if (a->sa.ss_family == AF_INET && s->st->port ==
	    ntohs(((const struct sockaddr_in *)&a->sa)->sin_port) &&
	    ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr ==
	    htonl(INADDR_LOOPBACK))
		return 0;
	if (is_self(s, a))
		return 0;
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		bt_seed_logf(s->o, "%s: socket: %s",
		    bt_peer_format(a, nm, sizeof(nm)), strerror(errno));
		return 0;
	}
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) < 0 &&
	    errno != EINPROGRESS) {
		bt_seed_logf(s->o, "%s: connect: %s",
		    bt_peer_format(a, nm, sizeof(nm)), strerror(errno));
		close(fd);
		return 0;
	}
	if ((p = peer_new(s, fd, a, 1)) == NULL) {
		close(fd);
		return 0;
	}
	p->connecting = 1;
	return 1;
}

static void
on_connected(struct seed *s, struct peer *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		drop(p, "connect: %s", strerror(err));
		return;
	}
	p->connecting = 0;
	p->last_rx = s->now;
	send_handshake(s, p);
}

/* Bytes we do not serve, for the trackers. */
static int64_t
left(const struct seed *s)
{
	int64_t l = s->t->total_length - (int64_t)s->held.n *
	    s->t->piece_length;

	return l < 0 ? 0 : l;
}

static void
housekeeping(struct seed *s)
{
	size_t i;

	if (s->starved) {
		s->starved = 0;
		s->need_fill = 1;
	}
	if (s->paused_until != 0 && s->now >= s->paused_until) {
		if (s->spare < 0)
			s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->paused_until = 0;
		listeners(s, 1);
	}

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];
		int64_t silent;
		int out;

		if (p->dead)
			continue;
		if (p->connecting) {
			if (s->now - p->born > s->connect_ms)
				cut(p, 0, "BT_SEED_CONNECT_MS",
				    s->connect_ms / 1000.0, "s", "connect: "
				    "no answer in %g s", s->connect_ms / 1000.0);
			continue;
		}
		if (!p->hs_done) {
			if (s->now - p->last_rx > s->hs_ms)
				cut(p, 0, "BT_SEED_HANDSHAKE_MS",
				    s->hs_ms / 1000.0, "s", "no handshake in "
				    "%g s", s->hs_ms / 1000.0);
			continue;
		}
		/*
		 * A peer that does not read what we send: nothing taken by
		 * its socket for --idle while we have bytes waiting (a
		 * slow-reader attack holds an upload slot and our memory).
		 */
		out = p->iovpos < p->niov || p->ctloff < p->ctllen ||
		    p->mdqhead < p->mdqn;
		if (out && !p->writable &&
		    s->now - p->last_sent > s->o->idle_ms) {
			cut(p, 0, "--idle", s->o->idle_ms / 1000.0, "s",
			    "not reading: nothing sent for %g s",
			    s->o->idle_ms / 1000.0);
			continue;
		}
		/*
		 * Silence. A peer that waits for an unchoke has nothing to
		 * say but keep-alives (BEP 3: every two minutes), so it is
		 * allowed at least BT_SEED_IDLE_MS whatever --idle says.
		 */
		silent = s->o->idle_ms;
		if (p->sv.choked && p->interested && silent < BT_SEED_IDLE_MS)
			silent = BT_SEED_IDLE_MS;
		if (s->now - p->last_rx > silent) {
			cut(p, 0, silent > s->o->idle_ms ? "BT_SEED_IDLE_MS" :
			    "--idle", silent / 1000.0, "s", "idle for %g s",
			    silent / 1000.0);
			continue;
		}
		if (!p->interested &&
		    s->now - p->uninterested_since > s->o->idle_ms) {
			cut(p, 0, "--idle", s->o->idle_ms / 1000.0, "s",
			    "not interested for %g s", s->o->idle_ms / 1000.0);
			continue;
		}
		if (!out && s->now - p->last_tx > BT_SEED_KEEPALIVE_MS) {
			uint8_t ka[4];

			ctl_add(p, ka, bt_wire_keepalive(ka));
			p->last_tx = s->now;
		}
	}
	bt_sann_update(&s->ann, (int64_t)s->st->uploaded, left(s));
}

/* Remove the dead peers; a slot may have come free. */
static void
reap(struct seed *s)
{
	size_t i, j = 0;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p->dead) {
			if (!p->sv.choked && p->interested)
				s->need_fill = 1;
			if (p->hs_done && p->bad)
				s->st->dropped++;
			peer_free(s, p);
		} else
			s->peer[j++] = p;
	}
	s->npeer = j;
	if (s->npeer < s->maxconns)
		s->full = 0;
}

static int
listen_on(struct seed *s, int family, const void *addr, uint16_t port,
    int v6only, struct bt_err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char txt[INET6_ADDRSTRLEN];
	int fd, one = 1;
	struct epoll_event ev;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
		sl = sizeof(*in6);
	}
	inet_ntop(family, addr, txt, sizeof(txt));
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "cannot listen on "
		    "%s port %u: %s", txt, port, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "cannot listen on "
		    "%s port %u: %s", txt, port, strerror(err));
	}
	if (port == 0) {
		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		s->st->port = ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		s->st->port = port;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = s->nl == 0 ? &tag_listen0 : &tag_listen1;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	s->lfd[s->nl++] = fd;
	bt_seed_logf(s->o, "listening on %s port %u", txt, s->st->port);
	return 0;
}

static int
open_listeners(struct seed *s, struct bt_err *e)
{
	const struct bt_seed_opts *o = s->o;
	uint8_t a[16];

	if (o->bind != NULL) {
		if (inet_pton(AF_INET, o->bind, a) == 1)
			return listen_on(s, AF_INET, a, o->port, 0, e);
		if (inet_pton(AF_INET6, o->bind, a) == 1)
			return listen_on(s, AF_INET6, a, o->port, 1, e);
		return bt_errf(e, BT_EX_USAGE, -1, "'%s' is not an IPv4 or "
		    "IPv6 address", o->bind);
	}
	memset(a, 0, sizeof(a));
	if (listen_on(s, AF_INET, a, o->port, 0, e) < 0)
		return -1;
	/* IPv6 on the same port, if the system has it. */
	if (listen_on(s, AF_INET6, a, s->st->port, 1, e) < 0 &&
	    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
		return 0;
	return s->nl == 2 ? 0 : -1;
}

static void
dial_found(struct seed *s)
{
	struct bt_peerlist l = { 0 };
	uint64_t cnt;
	size_t i;

	/* Reset the counter; EAGAIN only means nothing new. */
	(void)!read(s->ann.efd, &cnt, sizeof(cnt));
	bt_sann_take(&s->ann, &l);
	for (i = 0; i < l.n; i++)
		dial(s, &l.peer[i]);
	bt_peerlist_free(&l);
}

static void
peer_line(struct seed *s)
{
	struct bt_peer_addr a;
	struct bt_err e;
	char *l = s->line;

	s->line[s->linelen] = '\0';
	s->lineno++;
	if (s->linelen > 0 && l[s->linelen - 1] == '\r')
		l[--s->linelen] = '\0';
	while (*l == ' ' || *l == '\t')
		l++;
	if (*l == '\0' || *l == '#')
		return;
	if (bt_peer_parse(l, &a, &e) < 0) {
		bt_seed_logf(s->o, "peer list: line %u: %s", s->lineno, e.msg);
		return;
	}
	dial(s, &a);
}

/* Peer list lines as they arrive on a pipe: each peer dialed at once. */
static void
read_peer_fd(struct seed *s)
{
	char buf[4096];
	ssize_t r, i;

	r = read(s->peer_fd, buf, sizeof(buf));
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		if (s->linelen > 0 && !s->longline)
			peer_line(s);
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->peer_fd, NULL);
		s->peer_fd = -1;
		return;
	}
	for (i = 0; i < r; i++) {
		if (buf[i] == '\n') {
			if (!s->longline)
				peer_line(s);
			else
				s->lineno++;
			s->linelen = 0;
			s->longline = 0;
		} else if (s->linelen + 1 < sizeof(s->line))
			s->line[s->linelen++] = buf[i];
		else if (!s->longline) {
			s->longline = 1;
			bt_seed_logf(s->o, "peer list: line %u: over %zu "
			    "bytes", s->lineno + 1, sizeof(s->line) - 1);
		}
	}
}

static int
check_data(struct seed *s, const char *dir, struct bt_err *e)
{
	uint32_t i;

	uint8_t *state;

	/* Unchecked, each piece is checked at its first read. */
	if (!s->o->verify) {
		for (i = 0; i < s->t->npieces; i++)
			bt_held_set(&s->held, i, 0);
		return 0;
	}
	if ((state = calloc(s->t->npieces ? s->t->npieces : 1, 1)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	if (bt_store_verify(s->t, dir, s->o->nthreads, state, e) < 0) {
		free(state);
		return -1;
	}
	for (i = 0; i < s->t->npieces; i++) {
		if (state[i] == BT_PIECE_GOOD)
			bt_held_set(&s->held, i, 1);
		else
			s->st->bad++;
	}
	free(state);
	return 0;
}

/*
 * Descriptors open now under nofile (stdio, and any a parent left us):
 * the ones that take a number we could use.
 */
static size_t
open_fds(size_t nofile)
{
	struct dirent *de;
	DIR *d;
	size_t n = 0;
	int self;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 3;
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (de->d_name[0] != '.' && *end == '\0' && fd != self &&
		    fd >= 0 && (size_t)fd < nofile)
			n++;
	}
	closedir(d);
	return n;
}

static void
limits(struct seed *s)
{
	struct rlimit rl;
	size_t cache = BT_SEED_FD_CACHE, nofile, extra;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		nofile = (size_t)rl.rlim_cur;
	else
		nofile = 1 << 20;
	s->nofile = nofile;
	/*
	 * 16 for the rest: stdio, epoll, listeners, eventfd, spare, data
	 * dir (9), the announces' sockets (3), and up to 4 a parent left
	 * open; more than that lower the peers.
	 */
	s->inuse = open_fds(nofile);
	extra = s->inuse > 7 ? s->inuse - 7 : 0;
	if (cache > nofile / 4)
		cache = nofile / 4 ? nofile / 4 : 1;
	s->fdcache = (int)cache;
	s->maxconns = nofile > cache + 16 + extra ?
	    nofile - cache - 16 - extra : 1;
	if (s->maxconns > BT_SEED_MAX_CONNS)
		s->maxconns = BT_SEED_MAX_CONNS;
	/* A short --idle shortens the waits before a peer speaks too. */
	s->hs_ms = BT_SEED_HANDSHAKE_MS;
	s->connect_ms = BT_SEED_CONNECT_MS;
	if (s->o->idle_ms > 0 && s->o->idle_ms < s->hs_ms)
		s->hs_ms = s->o->idle_ms;
	if (s->o->idle_ms > 0 && s->o->idle_ms < s->connect_ms)
		s->connect_ms = s->o->idle_ms;
}

/* Work left that no new epoll event will announce (ET, bounded turns). */
static int
pending(struct seed *s)
{
	size_t i;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p->connecting)
			continue;
		if (p->readable)
			return 1;
		if (p->writable && (p->iovpos < p->niov ||
		    p->ctloff < p->ctllen || p->mdqhead < p->mdqn ||
		    p->sv.qn > 0))
			return 1;
	}
	return 0;
}

static void
loop(struct seed *s)
{
	struct epoll_event ev[64];
	size_t i;
	int n, timeout;

	while (!*s->o->stop) {
		s->now = bt_now_ms();
		if (s->o->exit_after > 0 &&
		    s->now - s->start >= (int64_t)(s->o->exit_after * 1000))
			break;
		timeout = (int)(s->next_tick - s->now);
		if (pending(s))
			timeout = s->throttled ? 10 : 0;
		if (s->o->exit_after > 0) {
			int64_t left = s->start +
			    (int64_t)(s->o->exit_after * 1000) - s->now;

			if (left < timeout)
				timeout = (int)left;
		}
		if (timeout < 0)
			timeout = 0;
		n = epoll_wait(s->ep, ev, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		s->now = bt_now_ms();
		for (i = 0; i < (size_t)n; i++) {
			void *ptr = ev[i].data.ptr;
			struct peer *p;

			if (ptr == &tag_listen0) {
				do_accept(s, s->lfd[0]);
				continue;
			}
			if (ptr == &tag_listen1) {
				do_accept(s, s->lfd[1]);
				continue;
			}
			if (ptr == &tag_event) {
				dial_found(s);
				continue;
			}
			if (ptr == &tag_peers) {
				if (s->peer_fd >= 0)
					read_peer_fd(s);
				continue;
			}
			p = ptr;
			if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
			    EPOLLERR))
				p->readable = 1;
			if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				p->writable = 1;
			if (p->connecting && (ev[i].events & (EPOLLOUT |
			    EPOLLERR | EPOLLHUP)))
				on_connected(s, p);
		}
		if (s->o->rate > 0) {
			double burst = (double)s->o->rate / 10;

			if (burst < BT_SEED_BATCH * (BT_BLOCK_LEN + 13))
				burst = BT_SEED_BATCH * (BT_BLOCK_LEN + 13);
			s->tokens += (double)(s->now - s->last_refill) *
			    (double)s->o->rate / 1000;
			if (s->tokens > burst)
				s->tokens = burst;
			s->last_refill = s->now;
			s->throttled = 0;
		}
		for (i = 0; i < s->npeer; i++) {
			struct peer *p = s->peer[i];

			if (p->readable && !p->connecting)
				do_read(s, p);
		}
		if (s->now >= s->next_rechoke) {
			int opt = s->now >= s->next_optimistic;

			rechoke(s, opt);
			s->next_rechoke = s->now + BT_SEED_RECHOKE_MS;
			if (opt)
				s->next_optimistic = s->now +
				    BT_SEED_OPTIMISTIC_MS;
			s->need_fill = 0;
		}
		if (s->now >= s->next_tick) {
			housekeeping(s);
			pex_tick(s);
			s->next_tick = s->now + 1000;
		}
		reap(s);
		if (s->need_fill) {
			fill_slots(s);
			s->need_fill = 0;
		}
		for (i = 0; i < s->npeer; i++) {
			struct peer *p = s->peer[i];

			if (p->writable)
				do_write(s, p);
			/* A choked peer's buffer goes back once written. */
			if (p->sv.choked && p->buf != NULL &&
			    p->iovpos >= p->niov) {
				free(p->buf);
				p->buf = NULL;
			}
		}
		reap(s);
	}
}

int
bt_seed_run(const struct bt_torrent *t, const char *dir,
    const struct bt_seed_opts *o, struct bt_seed_stats *st,
    struct bt_err *e)
{
	struct seed s;
	struct epoll_event ev;
	size_t i;
	int r = -1;

	memset(&s, 0, sizeof(s));
	memset(st, 0, sizeof(*st));
	s.t = t;
	s.o = o;
	s.st = st;
	s.ep = s.spare = s.peer_fd = -1;
	s.ann.efd = -1;
	st->npieces = t->npieces;
	s.start = s.now = bt_now_ms();
	memcpy(s.peer_id, BT_PEER_ID_PREFIX, 8);
	if (getrandom(s.peer_id + 8, sizeof(s.peer_id) - 8, 0) !=
	    (ssize_t)(sizeof(s.peer_id) - 8) ||
	    getrandom(&s.rng, sizeof(s.rng), 0) != sizeof(s.rng))
		s.rng = (uint64_t)s.start * 2654435761u;
	s.rng |= 1;
	s.pex_ms = o->pex_ms > 0 ? o->pex_ms : BT_SEED_PEX_INTERVAL_MS;
	limits(&s);
	if (bt_held_open(&s.held, t, dir, s.fdcache, 0, e) < 0)
		goto out;
	if ((s.peer = calloc(s.maxconns, sizeof(*s.peer))) == NULL) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
		goto out;
	}
	if ((s.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "epoll: %s", strerror(errno));
		goto out;
	}
	if (open_listeners(&s, e) < 0)
		goto out;
	if (check_data(&s, dir, e) < 0)
		goto out;
	bt_seed_logf(o, "%u of %u pieces to serve", s.held.n, t->npieces);
	s.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (bt_sann_start(&s.ann, t, o, s.peer_id, st->port, left(&s),
	    e) < 0)
		goto out;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_event;
	epoll_ctl(s.ep, EPOLL_CTL_ADD, s.ann.efd, &ev);
	s.now = bt_now_ms();
	s.next_rechoke = s.now + BT_SEED_RECHOKE_MS;
	s.next_optimistic = s.now + BT_SEED_OPTIMISTIC_MS;
	s.next_tick = s.now + 1000;
	s.last_refill = s.now;
	if (o->dial != NULL)
		for (i = 0; i < o->dial->n; i++)
			dial(&s, &o->dial->peer[i]);
	s.peer_fd = -1;
	if (o->peer_fd >= 0) {
		int fl = fcntl(o->peer_fd, F_GETFL);

		ev.events = EPOLLIN;
		ev.data.ptr = &tag_peers;
		if (fl >= 0 &&
		    fcntl(o->peer_fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
		    epoll_ctl(s.ep, EPOLL_CTL_ADD, o->peer_fd, &ev) == 0)
			s.peer_fd = o->peer_fd;
		else
			bt_seed_logf(o, "peer list: cannot wait on it: %s",
			    strerror(errno));
	}
	loop(&s);
	for (i = 0; i < s.npeer; i++)
		drop(s.peer[i], "stopping");
	reap(&s);
	r = 0;
out:
	if (s.ann.efd >= 0)
		bt_sann_stop(&s.ann);
	st->announces = s.ann.ok;
	st->announce_errors = s.ann.failed;
	st->have = s.held.n;
	st->seconds = (double)(bt_now_ms() - s.start) / 1000;
	for (i = 0; i < (size_t)s.nl; i++)
		close(s.lfd[i]);
	if (s.ep >= 0)
		close(s.ep);
	if (s.spare >= 0)
		close(s.spare);
	bt_held_close(&s.held);
	bt_peerlist_free(&s.dialed);
	free(s.conn);
	free(s.connflags);
	free(s.peer);
	return r;
}
