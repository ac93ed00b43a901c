/*
 * The connection: one peer, one wire state machine over TCP. Connect,
 * handshake (BEP 3, reserved bits of BEP 6 and BEP 10), framing with
 * every length checked before its payload is read, the extension
 * handshake and ut_metadata served (BEP 9), the out buffer, and the
 * close with its line. The messages are handed to the roles: picker.c
 * for what we download, swarm_upload.c for what we serve, pex.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "ext.h"
#include "sha1.h"
#include "swarm.h"
#include "util.h"
#include "wire.h"

#include "swarm_int.h"

static int md_next(struct swarm *, struct peer *);

void
bt_sw_out_add(struct peer *p, const uint8_t *b, size_t n)
{
	if (p->outlen + n <= OUTCAP) {
		memcpy(p->out + p->outlen, b, n);
		p->outlen += n;
	}
}

size_t
bt_sw_out_room(const struct peer *p)
{
	return OUTCAP - p->outlen;
}

/* ---- connections ------------------------------------------------------- */

void
bt_sw_set_events(struct swarm *s, struct peer *p, int out)
{
	struct epoll_event ev;

	if (p->pollout == out && p->inoff == p->rpaused)
		return;
	memset(&ev, 0, sizeof(ev));
	/* --download-rate: a paused peer is not read until the refill. */
	ev.events = (p->rpaused ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0);
	ev.data.ptr = p;
	epoll_ctl(s->ep, EPOLL_CTL_MOD, p->fd, &ev);
	p->pollout = out;
	p->inoff = p->rpaused;
}

/* Bytes to send: the out buffer, ut_metadata answers (BEP 9), blocks
   being sent or to send (swarm_upload.c). */
int
bt_sw_out_pending(const struct swarm *s, const struct peer *p)
{
	return p->outlen > 0 || p->mdoff < p->md.len || p->mdqhead < p->mdqn ||
	    p->up.off < p->up.len || bt_up_pending(s, p);
}


/*
 * Send what waits, in the order of the stream: an answer to a ut_metadata
 * request being sent (it is up to 16 KiB, more than the out buffer holds,
 * so it has a buffer of its own), then the out buffer (requests added
 * meanwhile), then, once that is empty, the next answer waiting. An
 * answer is built only as the socket takes it: requests are not held up
 * by more than one, and the memory is one answer a peer.
 */
int
bt_sw_flush(struct swarm *s, struct peer *p)
{
	const uint8_t *b;
	size_t n;
	ssize_t w;
	int md;

	for (;;) {
		/* Haves a full buffer held back (swarm_upload.c). */
		if (p->state == PS_ACTIVE && p->up.hsent < s->up.hlen)
			bt_up_haves(s, p);
		if (p->mdoff < p->md.len) {
			md = 1;
			b = (const uint8_t *)p->md.p + p->mdoff;
			n = p->md.len - p->mdoff;
		} else if (p->up.off < p->up.len) {
			/* Blocks we serve (swarm_upload.c), built as the
			   metadata answers are, when all before is sent. */
			md = 2;
			b = p->up.buf + p->up.off;
			n = p->up.len - p->up.off;
		} else if (p->outlen > 0) {
			md = 0;
			b = p->out;
			n = p->outlen;
		} else if (p->mdqhead < p->mdqn) {
			if (md_next(s, p) < 0)
				return -1;
			continue;
		} else if (bt_up_pending(s, p)) {
			if (bt_up_fill(s, p) <= 0)
				break;
			continue;
		} else
			break;
		w = send(p->fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			bt_sw_drop(s, p, BT_LOG_INFO, "send: %s",
			    strerror(errno));
			return -1;
		}
		p->t_sent = s->now;
		if (md == 2) {
			p->up.off += (size_t)w;
			if (p->up.off == p->up.len) {
				p->up.off = p->up.len = 0;
				/* Choked, it asks for nothing more: its
				   buffer goes back (a seeder has hundreds). */
				if (p->up.sv.choked && p->up.sv.qn == 0) {
					free(p->up.buf);
					p->up.buf = NULL;
				}
			}
			continue;
		}
		if (md) {
			p->mdoff += (size_t)w;
			if (p->mdoff == p->md.len) {
				p->mdoff = p->md.len = 0;
				if (p->mdqhead == p->mdqn)
					bt_buf_free(&p->md);
			}
			continue;
		}
		memmove(p->out, p->out + w, p->outlen - (size_t)w);
		p->outlen -= (size_t)w;
	}
	bt_sw_set_events(s, p, bt_sw_out_pending(s, p));
	return 0;
}

/*
 * The line of a peer closed: as it happened while we download; in the
 * seeding role, and for a limit, "[limit NAME (VALUE): ]dropped: why (N
 * bytes sent)" once past the handshake, "...closed: why" before it.
 */
static void
drop_line(struct swarm *s, struct peer *p, int level, const char *why)
{
	int cut = p->limit[0] != '\0';

	if (s->so == NULL && !cut)
		bt_sw_plog(s, p, level, "%s", why);
	else if (p->state == PS_ACTIVE)
		bt_sw_plog(s, p, level, "%s%sdropped: %s (%llu bytes sent)",
		    p->limit, cut ? ": " : "", why,
		    (unsigned long long)p->up.bytes);
	else
		bt_sw_plog(s, p, level, "%s%sclosed: %s", p->limit,
		    cut ? ": " : "", why);
}

void
bt_sw_cut(struct swarm *s, struct peer *p, int bad, const char *limit,
    double value, const char *unit, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (p->state == PS_CLOSED)
		return;
	snprintf(p->limit, sizeof(p->limit), "limit %s (%.15g%s%s)", limit,
	    value, *unit ? " " : "", unit);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bt_sw_drop(s, p, bad ? BT_LOG_BAD : BT_LOG_INFO, "%s", why);
}

void
bt_sw_drop(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	uint32_t i;

	if (p->state == PS_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	drop_line(s, p, level, why);
	if (level == BT_LOG_BAD)
		s->st.dropped++;
	/* An upload slot comes free: given at the next tick. */
	if (!p->up.sv.choked && p->up.interested)
		s->need_fill = 1;
	free(p->told);
	p->told = NULL;
	p->ntold = 0;
	if (p->rmode == R_BODY && p->body_kind == BODY_BLOCK &&
	    p->body != NULL && bt_sw_piece_of(s, p->bpiece) != NULL) {
		struct piece *pc = bt_sw_piece_of(s, p->bpiece);

		pc->bst[p->bblock] = pc->bnreq[p->bblock] > 0 ? B_REQ : B_FREE;
		if (pc->bst[p->bblock] == B_FREE)
			pc->nfree++;
		pc->bfrom[p->bblock] = -1;
	}
	bt_sw_release_requests(s, p, 0, 1);
	for (i = 0; i < s->nact; i++)
		if (s->act[i].owner == p->id)
			s->act[i].owner = -1;
	if (p->seed) {
		s->nseeds--;
		p->seed = 0;
	} else if (p->have != NULL) {
		for (i = 0; i < s->npieces; i++)
			if (bt_bit_get(p->have, i) && s->avail[i] > 0)
				s->avail[i]--;
	}
	s->minav = 0;
	free(p->have);
	p->have = NULL;
	free(p->ext);
	p->ext = NULL;
	free(p->allowed);
	p->allowed = NULL;
	p->nallowed = 0;
	free(p->mdq);
	p->mdq = NULL;
	p->mdqhead = p->mdqn = 0;
	bt_buf_free(&p->md);
	memset(&p->md, 0, sizeof(p->md));
	p->mdoff = 0;
	bt_up_drop(p);
	if (p->rpaused)
		s->npaused--;
	p->rpaused = p->inoff = 0;
	if (p->fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, p->fd, NULL);
		if (p->limit[0] != '\0') {
			struct linger lg = { 1, 0 };

			setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		}
		close(p->fd);
		p->fd = -1;
	}
	s->nclosed++;
	free(p->q);
	p->q = NULL;
	p->out = NULL;		/* the same allocation */
	p->outlen = 0;
	if (p->state == PS_ACTIVE)
		s->st.peers--;
	else
		s->npending--;
	if (p->state == PS_PARKED)
		s->nparked--;
	p->state = PS_CLOSED;
	s->nconn--;
}

void
bt_sw_try_connect(struct swarm *s, struct peer *p)
{
	struct epoll_event ev;
	int fd, one = 1, rcv = BT_SWARM_SOCK_RCVBUF;

	s->st.tried++;
	s->nconn++;
	s->npending++;
	p->state = PS_CONNECTING;
	p->t_state = s->now;
	/* Request ring and out buffer: only while connected. */
	p->q = malloc(QCAP * sizeof(struct req) + OUTCAP);
	if (p->q == NULL) {
		bt_sw_drop(s, p, BT_LOG_INFO, "out of memory");
		return;
	}
	p->out = (uint8_t *)(p->q + QCAP);
	fd = socket(p->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "socket: %s", strerror(errno));
		return;
	}
	p->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = p;
	p->pollout = 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&p->addr.sa, p->addr.salen) < 0 &&
	    errno != EINPROGRESS) {
		bt_sw_drop(s, p, BT_LOG_INFO, "connect: %s", strerror(errno));
		return;
	}
}


/* A peer that dialled us: the handshake is checked as a dialled one's. */
struct peer *
bt_sw_incoming(struct swarm *s, int fd, const struct bt_peer_addr *a)
{
	struct epoll_event ev;
	struct peer *p;
	int one = 1;

	if ((p = bt_sw_peer_new(s, a)) == NULL)
		return NULL;
	p->up.incoming = 1;
	s->nconn++;
	s->npending++;
	p->fd = fd;
	p->state = PS_HANDSHAKE;
	p->t_state = s->now;
	if ((p->q = malloc(QCAP * sizeof(struct req) + OUTCAP)) == NULL) {
		bt_sw_drop(s, p, BT_LOG_INFO, "out of memory");
		return p;
	}
	p->out = (uint8_t *)(p->q + QCAP);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = p;
	p->pollout = 0;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return p;
	}
	/* BEP 3: one torrent here, so ours goes at once. */
	bt_sw_out_add(p, s->handshake, sizeof(s->handshake));
	bt_sw_flush(s, p);
	return p;
}

void
bt_sw_connected(struct swarm *s, struct peer *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "connect: %s", strerror(err));
		return;
	}
	p->state = PS_HANDSHAKE;
	p->t_state = s->now;
	p->pollout = -1;
	bt_sw_out_add(p, s->handshake, sizeof(s->handshake));
	bt_sw_flush(s, p);
}

/* ---- the fast extension (BEP 6) ---------------------------------------- */

/* BEP 6: these messages from a peer without the fast extension close the
   connection. */
static int
fast_only(struct swarm *s, struct peer *p, uint8_t id)
{
	if (p->rsv & BT_RSV_FAST)
		return 0;
	bt_sw_drop(s, p, BT_LOG_BAD, "%s without the fast extension (BEP 6)",
	    bt_wire_msg_name(id));
	return -1;
}

/* ---- the extension protocol (BEP 10) and peer exchange (BEP 11) -------- */

/* After the handshake: have none (BEP 6), our extension handshake. */
static int
send_extensions(struct swarm *s, struct peer *p)
{
	struct bt_ext_hs_conf hc;
	struct bt_buf b;

	/* BEP 6: a bitfield, have all or have none comes first. */
	if (bt_up_avail(s, p) < 0)
		return -1;
	if (!(p->rsv & BT_RSV_EXT))
		return 0;
	memset(&hc, 0, sizeof(hc));
	memset(&b, 0, sizeof(b));
	hc.pex = 1;
	hc.reqq = s->so != NULL ? BT_SEED_MAX_QUEUE : BT_SWARM_MAX_QUEUE;
	/* BEP 21: a seeder downloads nothing. */
	hc.upload_only = s->so != NULL;
	/* BEP 10 "p": the port we listen on, so that it may dial back. */
	if (s->up.on)
		hc.port = s->st.port;
	/* BEP 9: a peer that came from a magnet link gets the info dict. */
	hc.metadata = 1;
	hc.metadata_size = (int64_t)s->t->info_len;
	if (bt_ext_hs_encode(&b, &hc) < 0 || b.oom) {
		bt_buf_free(&b);
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return -1;
	}
	bt_sw_out_add(p, (const uint8_t *)b.p, b.len);
	bt_buf_free(&b);
	return 0;
}

/*
 * An extended message's header: the handshake and ut_pex are read whole
 * (at most BT_EXT_MAX_HANDSHAKE bytes), ut_metadata too (at most
 * BT_SEED_MD_MAX_MSG: a request is a small dict), others skipped, as are
 * all from a peer that did not set the BEP 10 bit.
 */
static int
ext_begin(struct swarm *s, struct peer *p, uint8_t xid, uint32_t len)
{
	size_t n = (size_t)len - 1;	/* the extended id and payload */

	if (!(p->rsv & BT_RSV_EXT) || (xid != BT_EXT_HANDSHAKE &&
	    xid != BT_EXT_UT_PEX && xid != BT_EXT_UT_METADATA))
		return 0;
	/* Before reading any of it. */
	if (xid == BT_EXT_UT_METADATA && n - 1 > BT_SEED_MD_MAX_MSG) {
		bt_sw_cut(s, p, 1, "BT_SEED_MD_MAX_MSG", BT_SEED_MD_MAX_MSG,
		    "bytes", "ut_metadata message of %zu bytes", n - 1);
		return -1;
	}
	if (n - 1 > BT_EXT_MAX_HANDSHAKE) {
		bt_sw_cut(s, p, 1, "BT_EXT_MAX_HANDSHAKE", BT_EXT_MAX_HANDSHAKE,
		    "bytes", "%s of %zu bytes", xid == BT_EXT_HANDSHAKE ?
		    "extension handshake" : "ut_pex message", n - 1);
		return -1;
	}
	if ((p->ext = malloc(n)) == NULL) {
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return -1;
	}
	p->body_kind = BODY_EXT;
	p->body = p->ext;
	return 0;
}

static int
ext_handshake(struct swarm *s, struct peer *p, const uint8_t *x, size_t n)
{
	struct bt_ext_hs h;
	struct bt_err e;

	if (bt_ext_hs_parse(x, n, &h, &e) < 0) {
		bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	/* BEP 10: a later handshake updates what an earlier one said. */
	p->pex_id = h.ut_pex;
	p->md_id = h.ut_metadata;
	p->reqq = h.reqq > 0 ? h.reqq : 0;
	p->lport = h.port;
	/* BEP 11: our first ut_pex soon, then every pex_ms. */
	if (p->pex_id != 0 && p->t_pextx == 0)
		p->t_pextx = s->now + (s->pex_ms < BT_SEED_PEX_FIRST_MS ?
		    s->pex_ms : BT_SEED_PEX_FIRST_MS);
	if (p->reqq > 0)
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "extension handshake: client \"%s\"%s, "
		    "reqq %d", h.client, h.ut_pex ? ", ut_pex" : "", p->reqq);
	else
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "extension handshake: client \"%s\"%s",
		    h.client, h.ut_pex ? ", ut_pex" : "");
	return 0;
}

/* ---- metadata served (BEP 9) ------------------------------------------ */

/*
 * A ut_metadata request: answered whatever the choke state (BEP 9 has
 * none), a piece past the last with a reject. Each piece may be asked
 * for BT_SEED_MD_ASKS times on a connection (a client asks once, again
 * after a reject); more is a flood. The answer waits its turn in mdq.
 */
static int
md_request(struct swarm *s, struct peer *p, uint32_t piece)
{
	uint32_t np = bt_md_npieces((int64_t)s->t->info_len);
	size_t max = (size_t)BT_SEED_MD_ASKS * np;

	if (++p->mdasks > max) {
		bt_sw_cut(s, p, 1, "BT_SEED_MD_ASKS", BT_SEED_MD_ASKS, "",
		    "ut_metadata request flood: %u requests for %u piece%s of "
		    "metadata", p->mdasks, np, np == 1 ? "" : "s");
		return -1;
	}
	/* BEP 10: an answer goes under the id its handshake gave. */
	if (p->md_id == 0) {
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "ut_metadata request ignored: its "
		    "extension handshake gave no ut_metadata id");
		return 0;
	}
	if (p->mdq == NULL &&
	    (p->mdq = malloc(max * sizeof(*p->mdq))) == NULL) {
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return -1;
	}
	p->mdq[p->mdqn++] = piece;
	return 0;
}

/* The next answer waiting, into the peer's answer buffer (flush). */
static int
md_next(struct swarm *s, struct peer *p)
{
	const uint8_t *info = (const uint8_t *)s->t->raw + s->t->info_off;
	uint32_t np = bt_md_npieces((int64_t)s->t->info_len);
	uint32_t piece = p->mdq[p->mdqhead++];

	p->md.len = p->mdoff = 0;
	if (bt_md_answer(&p->md, p->md_id, info, s->t->info_len, piece) < 0 ||
	    p->md.oom) {
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return -1;
	}
	if (piece >= np)
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "ut_metadata request for piece %u "
		    "past the last (%u): rejected", piece, np - 1);
	else if (++p->mdsent == np)
		bt_sw_plog(s, p, BT_LOG_INFO, "metadata sent (%zu bytes)",
		    s->t->info_len);
	return 0;
}

/*
 * A ut_metadata message: a request is answered; data and rejects answer
 * requests we never make and are ignored, as is a message of an unknown
 * type (BEP 9); one that does not parse drops the peer.
 */
static int
md_message(struct swarm *s, struct peer *p, const uint8_t *x, size_t n)
{
	struct bt_md_msg m;
	struct bt_err e;

	if (bt_md_parse(x, n, &m, &e) < 0) {
		if (m.type == BT_MD_UNKNOWN) {
			bt_sw_plog(s, p, BT_LOG_INFO, "ignored: %s", e.msg);
			return 0;
		}
		bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	if (m.type == BT_MD_REQUEST)
		return md_request(s, p, m.piece);
	return 0;
}

/* A whole extended message: its id, then its payload. */
static int
ext_message(struct swarm *s, struct peer *p, const uint8_t *x, size_t n)
{
	if (x[0] == BT_EXT_HANDSHAKE)
		return ext_handshake(s, p, x + 1, n - 1);
	if (x[0] == BT_EXT_UT_METADATA)
		return md_message(s, p, x + 1, n - 1);
	return bt_sw_pex_message(s, p, x + 1, n - 1);
}

static int
body_done(struct swarm *s, struct peer *p)
{
	struct piece *pc;
	uint32_t b;

	p->rmode = R_HEAD;
	if (p->body_kind == BODY_EXT) {
		uint8_t *x = p->ext;
		int rc;

		/* Ours now: dropping the peer meanwhile must not free it. */
		p->ext = NULL;
		p->body = NULL;
		rc = ext_message(s, p, x, p->bodylen);
		free(x);
		return rc;
	}
	if (p->body_kind == BODY_BITFIELD) {
		struct bt_err e;
		uint32_t i, n = 0;

		if (bt_wire_bitfield_check(p->have, (s->npieces + 7) / 8,
		    s->npieces, &e) < 0) {
			bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
			return -1;
		}
		for (i = 0; i < s->npieces; i++)
			if (bt_bit_get(p->have, i))
				n++;
		if (n == s->npieces)
			bt_sw_became_seed(s, p);
		else
			for (i = 0; i < s->npieces; i++)
				if (bt_bit_get(p->have, i))
					s->avail[i]++;
		bt_sw_interest(s, p, -1);
		return 0;
	}
	if (p->body_kind != BODY_BLOCK || p->body == NULL)
		return 0;
	pc = bt_sw_piece_of(s, p->bpiece);
	b = p->bblock;
	p->body = NULL;
	if (pc == NULL)
		return 0;
	pc->bst[b] = B_DONE;
	pc->ndone++;
	p->t_block = s->now;
	if (p->snubbed)
		p->snubbed = 0;
	if (pc->bnreq[b] > 0)
		bt_sw_cancel_others(s, p, pc->index, b * BT_BLOCK_LEN);
	if (pc->ndone == pc->nblocks)
		bt_sw_piece_complete(s, pc);
	/* The piece may have got this very peer banned. */
	return p->state == PS_CLOSED ? -1 : 0;
}

/* A whole fixed-size message in p->hdr + 4 (id first). */
static int
message(struct swarm *s, struct peer *p, uint8_t id, const uint8_t *m,
    uint32_t len)
{
	uint32_t i;

	switch (id) {
	case BT_MSG_CHOKE:
		bt_sw_on_choke(s, p);
		return 0;
	case BT_MSG_UNCHOKE:
		if (p->choking) {
			p->choking = 0;
			p->t_block = s->now;
		}
		return 0;
	case BT_MSG_HAVE:
		i = bt_get32(m + 1);
		if (i >= s->npieces) {
			bt_sw_drop(s, p, BT_LOG_BAD,
			    "have of piece %u past the "
			    "last (%u)", i, s->npieces - 1);
			return -1;
		}
		p->saw_avail = 1;
		if (p->seed || bt_bit_get(p->have, i))
			return 0;
		bt_bit_set(p->have, i);
		s->avail[i]++;
		bt_sw_interest(s, p, i);
		return 0;
	case BT_MSG_BITFIELD:
		/* aria2 sends one after have none: a seeder, which uses
		   none of it, lets it pass. */
		if (p->saw_avail && s->so != NULL)
			return 0;
		if (p->saw_avail) {
			bt_sw_drop(s, p, BT_LOG_BAD, "bitfield not first");
			return -1;
		}
		p->saw_avail = 1;
		p->body_kind = BODY_BITFIELD;
		p->body = p->have;
		return 0;
	case BT_MSG_HAVE_ALL:
		if (fast_only(s, p, id) < 0)
			return -1;
		if (p->saw_avail && s->so != NULL) {
			/* aria2 says it so once complete. */
			if (!p->seed)
				bt_sw_became_seed(s, p);
			return 0;
		}
		if (p->saw_avail) {
			bt_sw_drop(s, p, BT_LOG_BAD, "have all not first");
			return -1;
		}
		p->saw_avail = 1;
		bt_sw_became_seed(s, p);
		bt_sw_interest(s, p, -1);
		return 0;
	case BT_MSG_HAVE_NONE:
		if (fast_only(s, p, id) < 0)
			return -1;
		if (p->saw_avail && s->so != NULL)
			return 0;
		if (p->saw_avail) {
			bt_sw_drop(s, p, BT_LOG_BAD, "have none not first");
			return -1;
		}
		p->saw_avail = 1;
		return 0;
	case BT_MSG_PIECE:
		return bt_sw_piece_header(s, p, bt_get32(m + 1),
		    bt_get32(m + 5),
		    len - 9);
	case BT_MSG_REJECT:
		if (fast_only(s, p, id) < 0)
			return -1;
		return bt_sw_on_reject(s, p, bt_get32(m + 1), bt_get32(m + 5),
		    bt_get32(m + 9));
	case BT_MSG_ALLOWED_FAST:
		if (fast_only(s, p, id) < 0)
			return -1;
		bt_sw_on_allowed_fast(s, p, bt_get32(m + 1));
		return 0;
	case BT_MSG_SUGGEST:
		if (fast_only(s, p, id) < 0)
			return -1;
		bt_sw_on_suggest(s, p, bt_get32(m + 1));
		return 0;
	case BT_MSG_REQUEST:
	case BT_MSG_CANCEL:
	case BT_MSG_INTERESTED:
	case BT_MSG_NOT_INTERESTED:
		return bt_up_message(s, p, id, m);
	case BT_MSG_EXTENDED:
		return ext_begin(s, p, m[1], len);
	default:
		/*
		 * port, unknown ids: skipped.
		 */
		return 0;
	}
}

/* Parse what hdr holds; *need is set when more bytes are wanted. */
static int
parse(struct swarm *s, struct peer *p, size_t *need)
{
	struct bt_err e;
	uint32_t len;
	size_t fixed, k;
	uint8_t id;

	for (;;) {
		if (p->hlen < 4) {
			*need = 4;
			return 0;
		}
		len = bt_get32(p->hdr);
		if (len == 0) {			/* keep-alive */
			memmove(p->hdr, p->hdr + 4, p->hlen - 4);
			p->hlen -= 4;
			continue;
		}
		if (len > BT_WIRE_MAX_MSG) {
			/* Before reading any of it. */
			bt_sw_cut(s, p, 1, "BT_WIRE_MAX_MSG", BT_WIRE_MAX_MSG,
			    "bytes", "message of %u bytes", len);
			return -1;
		}
		if (p->hlen < 5) {
			*need = 5;
			return 0;
		}
		id = p->hdr[4];
		if (bt_wire_check_len(id, len, s->npieces, BT_BLOCK_LEN,
		    &e) < 0) {
			bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
			return -1;
		}
		fixed = bt_wire_fixed_len(id);
		/* An extended message's own id decides whether it is read. */
		if (p->hlen < 4 + fixed + (id == BT_MSG_EXTENDED)) {
			*need = 4 + fixed + (id == BT_MSG_EXTENDED);
			return 0;
		}
		p->body_kind = BODY_SKIP;
		p->body = NULL;
		if (message(s, p, id, p->hdr + 4, len) < 0)
			return -1;
		if (s->failed)
			return -1;
		memmove(p->hdr, p->hdr + 4 + fixed, p->hlen - 4 - fixed);
		p->hlen -= 4 + fixed;
		p->bodylen = len - fixed;
		p->bodygot = 0;
		if (p->bodylen == 0)
			continue;
		/* The start of the body may already be here. */
		k = p->hlen < p->bodylen ? p->hlen : p->bodylen;
		if (k > 0) {
			if (p->body != NULL)
				memcpy(p->body, p->hdr, k);
			memmove(p->hdr, p->hdr + k, p->hlen - k);
			p->hlen -= k;
			p->bodygot = k;
		}
		if (p->bodygot == p->bodylen) {
			if (body_done(s, p) < 0 || s->failed)
				return -1;
			continue;
		}
		p->rmode = R_BODY;
		return 0;
	}
}

/* Past the handshake, with a free slot: a connected peer. */
int
bt_sw_activate(struct swarm *s, struct peer *p)
{
	if (p->state == PS_PARKED)
		s->nparked--;
	s->npending--;
	p->state = PS_ACTIVE;
	p->t_state = p->t_block = s->now;
	p->have = calloc(1, (s->npieces + 7) / 8);
	if (p->have == NULL) {
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return -1;
	}
	s->st.peers++;
	s->st.handshakes++;
	p->up.t_unint = s->now;
	if (s->so != NULL)
		bt_sw_plog(s, p, BT_LOG_INFO, "connected (%s)",
		    p->up.incoming ? "in" : "out");
	else
		bt_sw_plog(s, p, BT_LOG_INFO, "handshake done%s",
	    p->rsv == (BT_RSV_FAST | BT_RSV_EXT) ?
	    " (fast extension, extension protocol)" :
	    p->rsv == BT_RSV_FAST ? " (fast extension)" :
	    p->rsv == BT_RSV_EXT ? " (extension protocol)" : "");
	return send_extensions(s, p);
}

static int
handshake_read(struct swarm *s, struct peer *p)
{
	struct bt_err e;
	ssize_t r;
	int st;

	r = recv(p->fd, p->hs + p->hslen, sizeof(p->hs) - p->hslen, 0);
	if (r == 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "closed during the handshake");
		return -1;
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		bt_sw_drop(s, p, BT_LOG_INFO, "recv: %s", strerror(errno));
		return -1;
	}
	p->hslen += (size_t)r;
	p->t_rx = s->now;
	st = bt_wire_handshake_check(p->hs, p->hslen, s->t->info_hash,
	    s->our_id, &e);
	if (st < 0) {
		bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	if (st != BT_HS_DONE)
		return 1;
	/* What both sides speak: the bits we set that it set too. */
	p->rsv = bt_wire_reserved(p->hs) & (BT_RSV_FAST | BT_RSV_EXT);
	if (s->st.peers >= bt_sw_max_active(s)) {
		/*
		 * Every slot taken: it waits, its socket unread, until one
		 * is free (its messages stay in the kernel's buffer).
		 */
		struct epoll_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.data.ptr = p;
		epoll_ctl(s->ep, EPOLL_CTL_MOD, p->fd, &ev);
		p->pollout = -1;
		p->state = PS_PARKED;
		p->t_state = s->now;
		s->nparked++;
		bt_sw_slog(s, &s->said_conns,
		    "%d peers connected: others wait for "
		    "a free slot (limit BT_SWARM_MAX_CONNS)",
		    BT_SWARM_MAX_CONNS);
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "handshake done; waits for a free "
		    "slot (limit BT_SWARM_MAX_CONNS)");
		return 1;
	}
	return bt_sw_activate(s, p);
}

void
bt_sw_readable(struct swarm *s, struct peer *p)
{
	struct iovec v[2];
	size_t need, got = 0, want;
	ssize_t r;
	int n;

	if (p->state == PS_HANDSHAKE) {
		if (handshake_read(s, p) != 0)
			return;
	}
	while (p->state == PS_ACTIVE && got < READ_BUDGET) {
		/* --download-rate: nothing more from anyone till the refill. */
		if (s->c->download_rate > 0 && s->dn_tokens < 1) {
			if (!p->rpaused)
				s->npaused++;
			p->rpaused = 1;
			break;
		}
		if (p->rmode == R_BODY) {
			size_t left = p->bodylen - p->bodygot;

			if (p->body != NULL)
				v[0].iov_base = p->body + p->bodygot;
			else {
				v[0].iov_base = s->scratch;
				if (left > sizeof(s->scratch))
					left = sizeof(s->scratch);
			}
			/* No more than the bucket holds. */
			if (s->c->download_rate > 0 && left > s->dn_tokens)
				left = (size_t)s->dn_tokens;
			v[0].iov_len = left;
			/* The next message's header comes in the same call. */
			v[1].iov_base = p->hdr + p->hlen;
			v[1].iov_len = BT_WIRE_PIECE_HDR_LEN;
			n = left == p->bodylen - p->bodygot ? 2 : 1;
			want = left + (n == 2 ? BT_WIRE_PIECE_HDR_LEN : 0);
		} else {
			if (parse(s, p, &need) < 0)
				return;
			if (p->rmode == R_BODY)
				continue;
			if (need < BT_WIRE_PIECE_HDR_LEN)
				need = BT_WIRE_PIECE_HDR_LEN;
			if (need > HBUF)
				need = HBUF;
			v[0].iov_base = p->hdr + p->hlen;
			v[0].iov_len = need - p->hlen;
			n = 1;
			want = v[0].iov_len;
		}
		r = readv(p->fd, v, n);
		if (r == 0) {
			bt_sw_drop(s, p, BT_LOG_INFO, "closed by the peer");
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				bt_sw_drop(s, p, BT_LOG_INFO, "recv: %s",
				    strerror(errno));
			break;
		}
		got += (size_t)r;
		p->t_rx = s->now;
		if (s->c->download_rate > 0)
			s->dn_tokens -= (double)r;
		if (p->rmode == R_BODY) {
			size_t inbody = (size_t)r < v[0].iov_len ? (size_t)r :
			    v[0].iov_len;

			p->bodygot += inbody;
			p->hlen += (size_t)r - inbody;
			if (p->body_kind == BODY_BLOCK && p->body != NULL) {
				p->bytes += inbody;
				p->win_bytes += inbody;
				s->st.bytes += inbody;
				s->win_bytes += inbody;
			}
			if (p->bodygot == p->bodylen &&
			    (body_done(s, p) < 0 || s->failed))
				return;
		} else
			p->hlen += (size_t)r;
		if ((size_t)r < want)
			break;		/* drained for now */
	}
	if (p->state == PS_ACTIVE && p->rmode == R_HEAD &&
	    parse(s, p, &need) < 0)
		return;
	if (p->state == PS_ACTIVE) {
		bt_sw_fill_requests(s, p);
		bt_sw_flush(s, p);
	}
}
