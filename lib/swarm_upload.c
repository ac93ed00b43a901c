/*
 * The upload side of the swarm: listening and accepting peers that dial
 * in, telling peers what we hold (bitfield, have as each piece passes
 * SHA-1), serving their requests from verified pieces only, and the
 * choker. The download side and the wire are in swarm.c; this file sees
 * them through swarm_int.h, and the data folder through lib/seed's
 * reader (bt_sdata: NAME or NAME.part, never following a link).
 *
 * What we hold is a bitfield set only by a piece that passed SHA-1: in
 * this run (bt_up_verified, before it is handed over) or in -C DIR at the
 * start. A request is served from the copies of the recent verified
 * pieces kept in memory (BT_SWARM_UP_CACHE bytes), else from DIR, whose
 * piece is checked again at its first read there (the folder may change
 * under us: bt-assemble writes into it). Anything else is rejected (BEP
 * 6) or dropped (BEP 3): never a byte still in flight.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fast.h"
#include "seed_int.h"
#include "store.h"
#include "swarm_int.h"

/* The upload buffer: a batch of blocks, with their headers. */
#define UP_BUF	(BT_SEED_BATCH * (BT_WIRE_PIECE_HDR_LEN + BT_BLOCK_LEN))

static void
send_simple(struct peer *p, uint8_t id)
{
	uint8_t m[5];

	bt_sw_out_add(p, m, bt_wire_simple(m, id));
}

static void
reject(struct peer *p, uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t m[17];

	/* BEP 6: a fast peer is told; BEP 3 has no way but silence. */
	if (p->rsv & BT_RSV_FAST)
		bt_sw_out_add(p, m, bt_wire_request(m, BT_MSG_REJECT, index,
		    begin, len));
}

static void
unchoke(struct peer *p)
{
	if (!p->up.sv.choked)
		return;
	bt_serve_unchoke(&p->up.sv);
	send_simple(p, BT_MSG_UNCHOKE);
}

/* BEP 3: a choke drops the queue; BEP 6: each request gets a reject. */
static void
choke(struct peer *p)
{
	struct bt_serve_req r;

	if (p->up.sv.choked)
		return;
	bt_serve_choke(&p->up.sv);
	p->up.optimistic = 0;
	send_simple(p, BT_MSG_CHOKE);
	while (bt_serve_next(&p->up.sv, &r))
		reject(p, r.index, r.begin, r.len);
}

/* ---- listening --------------------------------------------------------- */

static int
listen_on(struct swarm *s, int family, const void *addr, uint16_t port,
    struct bt_err *e)
{
	struct sockaddr_storage ss;
	struct epoll_event ev;
	char txt[INET6_ADDRSTRLEN];
	socklen_t sl;
	int fd, one = 1;

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
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "cannot listen on "
		    "%s port %u: %s", txt, port, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "cannot listen on "
		    "%s port %u: %s", txt, port, strerror(err));
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->st.port = ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &s->up.lfd[s->up.nl];
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "epoll: %s",
		    strerror(errno));
	}
	s->up.lfd[s->up.nl++] = fd;
	if (s->so != NULL && s->c->on_log != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "listening on %s port %u", txt,
		    s->st.port);
		s->c->on_log(s->c->arg, BT_LOG_INFO, msg);
	}
	return 0;
}

/* -b ADDRESS, or every address: IPv4, and IPv6 on the same port when
   the system has it. */
static int
open_listeners(struct swarm *s, const char *bind, uint16_t port,
    struct bt_err *e)
{
	uint8_t a[16];

	if (bind != NULL) {
		if (inet_pton(AF_INET, bind, a) == 1)
			return listen_on(s, AF_INET, a, port, e);
		if (inet_pton(AF_INET6, bind, a) == 1)
			return listen_on(s, AF_INET6, a, port, e);
		return bt_errf(e, BT_EX_USAGE, -1, "'%s' is not an IPv4 or "
		    "IPv6 address", bind);
	}
	memset(a, 0, sizeof(a));
	if (listen_on(s, AF_INET, a, port, e) < 0)
		return -1;
	if (listen_on(s, AF_INET6, a, s->st.port, e) < 0 &&
	    errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL &&
	    errno != EADDRINUSE)
		return -1;
	return 0;
}

void
bt_up_listeners(struct swarm *s, int on)
{
	struct epoll_event ev;
	int i;

	for (i = 0; i < s->up.nl; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = on ? EPOLLIN : 0;
		ev.data.ptr = &s->up.lfd[i];
		epoll_ctl(s->ep, EPOLL_CTL_MOD, s->up.lfd[i], &ev);
	}
}

int
bt_up_is_listener(const struct swarm *s, const void *ptr)
{
	return ptr == &s->up.lfd[0] || ptr == &s->up.lfd[1];
}

static void
ulog(struct swarm *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ulog(struct swarm *s, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (s->c->on_log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->c->on_log(s->c->arg, BT_LOG_INFO, msg);
}

/*
 * Out of descriptors with a connection waiting: take it with the spare
 * descriptor and close it, so that it does not wake us again and again;
 * without a spare, the listeners go out of the epoll set for a second.
 */
static void
out_of_fds(struct swarm *s, int lfd)
{
	int fd;

	if (s->spare >= 0) {
		close(s->spare);
		if ((fd = accept(lfd, NULL, NULL)) >= 0)
			close(fd);
		s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->st.refused++;
		ulog(s, "connection refused: out of file descriptors "
		    "(RLIMIT_NOFILE %zu)", s->nofile);
		return;
	}
	ulog(s, "out of file descriptors (RLIMIT_NOFILE %zu): not accepting "
	    "for 1 s", s->nofile);
	bt_up_listeners(s, 0);
	s->paused_until = s->now + 1000;
}

/* The seeding role: a connection over BT_SEED_MAX_CONNS is closed. */
static int
seed_refuse(struct swarm *s, int fd)
{
	if (s->nconn < s->maxconns) {
		s->full = 0;
		return 0;
	}
	close(fd);
	s->st.refused++;
	if (!s->full) {
		if (s->maxconns < BT_SEED_MAX_CONNS && s->inuse > 7)
			ulog(s, "limit BT_SEED_MAX_CONNS (%u under "
			    "RLIMIT_NOFILE %zu, %zu open at start): more "
			    "connections refused", s->maxconns, s->nofile,
			    s->inuse);
		else if (s->maxconns < BT_SEED_MAX_CONNS)
			ulog(s, "limit BT_SEED_MAX_CONNS (%u under "
			    "RLIMIT_NOFILE %zu): more connections refused",
			    s->maxconns, s->nofile);
		else
			ulog(s, "limit BT_SEED_MAX_CONNS (%d): more "
			    "connections refused", BT_SEED_MAX_CONNS);
		s->full = 1;
	}
	ulog(s, "connection refused: %u peers already", s->nconn);
	return 1;
}

void
bt_up_accept(struct swarm *s, const void *ptr)
{
	int lfd = *(const int *)ptr;

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
			if (errno == EMFILE || errno == ENFILE)
				out_of_fds(s, lfd);
			return;		/* EAGAIN, or nothing to do */
		}
		if (s->so != NULL) {
			if (seed_refuse(s, fd))
				continue;
		} else if (s->up.nincoming >= BT_SWARM_MAX_INCOMING ||
		    s->npending >= s->maxpending) {
			close(fd);
			if (!s->up.said_refused && s->c->on_log != NULL) {
				char msg[200];

				snprintf(msg, sizeof(msg), "connections "
				    "refused: %s (limit %s)",
				    s->up.nincoming >= BT_SWARM_MAX_INCOMING ?
				    "too many in this run" :
				    "too many handshakes in progress",
				    s->up.nincoming >= BT_SWARM_MAX_INCOMING ?
				    "BT_SWARM_MAX_INCOMING" :
				    "BT_SWARM_MAX_HALFOPEN");
				s->c->on_log(s->c->arg, BT_LOG_LIMIT, msg);
				s->up.said_refused = 1;
			}
			continue;
		}
		if ((p = bt_sw_incoming(s, fd, &a)) == NULL) {
			close(fd);
			continue;
		}
		s->up.nincoming++;
		s->st.incoming++;
		if (p->state != PS_CLOSED && s->so == NULL)
			bt_sw_plog(s, p, BT_LOG_INFO, "dialled us");
	}
}

/* ---- what we hold ------------------------------------------------------ */

/* -C DIR: the pieces found good there are held and not fetched. */
static int
scan_dir(struct swarm *s, struct bt_err *e)
{
	uint32_t i;

	for (i = 0; i < s->npieces; i++) {
		int r = bt_held_check(&s->up.held, i);

		if (r == BT_SDATA_IOERR)
			return bt_errf(e, BT_EX_IOERR, -1, "%s: read error "
			    "in piece %u", s->c->dir, i);
		if (r != BT_SDATA_OK)
			continue;
		s->st.held++;
		if (s->pstate[i] == P_WANTED) {
			s->pstate[i] = P_DONE;
			s->st.wanted--;
			s->left_to_start--;
		}
	}
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

void
bt_up_seed_limits(struct swarm *s)
{
	const struct bt_seed_opts *o = s->so;
	struct rlimit rl;
	size_t cache = BT_SEED_FD_CACHE, nofile, extra, max;

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
	max = nofile > cache + 16 + extra ? nofile - cache - 16 - extra : 1;
	s->maxconns = max > BT_SEED_MAX_CONNS ? BT_SEED_MAX_CONNS :
	    (unsigned)max;
	s->maxpending = s->maxconns < BT_SWARM_MAX_HALFOPEN ? s->maxconns :
	    BT_SWARM_MAX_HALFOPEN;
	/* A short --idle shortens the waits before a peer speaks too. */
	s->handshake_ms = BT_SEED_HANDSHAKE_MS;
	s->connect_ms = BT_SEED_CONNECT_MS;
	if (o->idle_ms > 0 && o->idle_ms < s->handshake_ms)
		s->handshake_ms = o->idle_ms;
	if (o->idle_ms > 0 && o->idle_ms < s->connect_ms)
		s->connect_ms = o->idle_ms;
}

/* Every piece of the folder: checked now, or each at its first read. */
static int
seed_check(struct swarm *s, struct bt_err *e)
{
	uint8_t *state;
	uint32_t i;

	if (!s->so->verify) {
		for (i = 0; i < s->npieces; i++)
			bt_held_set(&s->up.held, i, 0);
		return 0;
	}
	if ((state = calloc(s->npieces ? s->npieces : 1, 1)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	if (bt_store_verify(s->t, s->c->dir, s->so->nthreads, state, e) < 0) {
		free(state);
		return -1;
	}
	for (i = 0; i < s->npieces; i++) {
		if (state[i] == BT_PIECE_GOOD)
			bt_held_set(&s->up.held, i, 1);
		else
			s->st.bad++;
	}
	free(state);
	return 0;
}

/*
 * The seeding role: listen first (a port in use fails at once), check
 * the folder, then the trackers, the peers given, the peer list on a
 * pipe.
 */
static int
seed_open(struct swarm *s, struct bt_err *e)
{
	const struct bt_seed_opts *o = s->so;
	struct epoll_event ev;
	int64_t left;
	size_t i;

	s->up.slots = o->slots > 0 ? o->slots : BT_SEED_SLOTS;
	if (bt_held_open(&s->up.held, s->t, s->c->dir, s->fdcache, 0, e) < 0)
		return -1;
	if (open_listeners(s, o->bind, o->port, e) < 0)
		return -1;
	s->up.on = 1;
	if (seed_check(s, e) < 0)
		return -1;
	ulog(s, "%u of %u pieces to serve", s->up.held.n, s->npieces);
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Bytes we do not serve (the last piece may be short). */
	left = s->t->total_length - (int64_t)s->up.held.n * s->t->piece_length;
	if (bt_sann_start(&s->ann, s->t, o, s->our_id, s->st.port,
	    left < 0 ? 0 : left, e) < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &s->ann;
	if (s->ann.efd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ann.efd, &ev);
	if (o->dial != NULL)
		for (i = 0; i < o->dial->n; i++)
			bt_sw_add_peer(s, &o->dial->peer[i]);
	if (o->peer_fd >= 0) {
		int fl = fcntl(o->peer_fd, F_GETFL);

		ev.data.ptr = &s->peer_fd;
		if (fl >= 0 &&
		    fcntl(o->peer_fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
		    epoll_ctl(s->ep, EPOLL_CTL_ADD, o->peer_fd, &ev) == 0)
			s->peer_fd = o->peer_fd;
		else
			ulog(s, "peer list: cannot wait on it: %s",
			    strerror(errno));
	}
	return 0;
}

void
bt_up_announced(struct swarm *s)
{
	struct bt_peerlist l = { 0 };
	uint64_t cnt;
	size_t i;

	/* Reset the counter; EAGAIN only means nothing new. */
	(void)!read(s->ann.efd, &cnt, sizeof(cnt));
	bt_sann_take(&s->ann, &l);
	for (i = 0; i < l.n; i++)
		bt_sw_add_peer(s, &l.peer[i]);
	bt_peerlist_free(&l);
}

void
bt_up_stop_announcing(struct swarm *s)
{
	if (s->ann.efd < 0)
		return;
	bt_sann_stop(&s->ann);
	s->st.announces = s->ann.ok;
	s->st.announce_errors = s->ann.failed;
	s->ann.efd = -1;
}

int
bt_up_open(struct swarm *s, struct bt_err *e)
{
	const struct bt_swarm_conf *c = s->c;

	s->up.lfd[0] = s->up.lfd[1] = -1;
	if (getrandom(&s->up.rnd, sizeof(s->up.rnd), 0) != sizeof(s->up.rnd))
		s->up.rnd = 1;
	if ((s->up.hlog = malloc(((size_t)s->npieces + 1) *
	    sizeof(*s->up.hlog))) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	if (s->so != NULL)
		return seed_open(s, e);
	s->up.slots = c->slots > 0 ? c->slots : BT_CHOKE_SLOTS;
	/* Whole pieces within BT_SWARM_UP_CACHE (none past it: served
	   from DIR); none when not uploading. */
	if (bt_held_open(&s->up.held, s->t, c->dir, BT_SEED_FD_CACHE,
	    c->no_upload ? 0 : BT_SWARM_UP_CACHE, e) < 0)
		return -1;
	if (c->dir != NULL && scan_dir(s, e) < 0)
		return -1;
	if (c->no_upload)
		return 0;
	if (open_listeners(s, NULL, c->port, e) < 0)
		return -1;
	s->up.on = 1;
	/* Under a low RLIMIT_NOFILE the listeners take connects' room. */
	if (s->maxpending < BT_SWARM_MAX_HALFOPEN &&
	    s->maxpending > 4 + (unsigned)s->up.nl)
		s->maxpending -= (unsigned)s->up.nl;
	if (c->on_listen != NULL)
		c->on_listen(c->arg, s->st.port);
	return 0;
}

void
bt_up_close(struct swarm *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (s->up.lfd[i] >= 0)
			close(s->up.lfd[i]);
	s->up.lfd[0] = s->up.lfd[1] = -1;
	if (s->up.held.t != NULL)
		bt_held_close(&s->up.held);
	free(s->up.hlog);
}

/*
 * BEP 6: a fast peer's allowed fast set, the pieces of it we hold when
 * it connects, after our bitfield: served even while it is choked (up to
 * BT_SEED_FAST_MAX_BLOCKS), as bt-seed does.
 */
static void
send_allowed_fast(struct swarm *s, struct peer *p)
{
	uint32_t set[BT_SEED_ALLOWED_FAST];
	size_t n, i;
	uint8_t m[9];

	if (!s->up.on || !(p->rsv & BT_RSV_FAST))
		return;
	n = bt_fast_allowed_addr(&p->addr, s->t->info_hash, s->npieces,
	    BT_SEED_ALLOWED_FAST, set);
	for (i = 0; i < n; i++) {
		if (!bt_held_has(&s->up.held, set[i]) ||
		    bt_sw_out_room(p) < sizeof(m))
			continue;
		p->up.sv.allowed[p->up.sv.nallowed++] = set[i];
		/* The layout of have: length 5, id, index. */
		bt_wire_have(m, set[i]);
		m[4] = BT_MSG_ALLOWED_FAST;
		bt_sw_out_add(p, m, sizeof(m));
	}
}

/* After the handshake: our bitfield, or have all / have none (BEP 6). */
int
bt_up_avail(struct swarm *s, struct peer *p)
{
	size_t nb = (s->npieces + 7) / 8;
	uint8_t h[5];

	bt_serve_init(&p->up.sv);
	p->up.sv.fast = (p->rsv & BT_RSV_FAST) != 0;
	p->up.t_active = s->now;
	/* What is held now is in the bitfield; later pieces get haves. */
	p->up.hsent = s->up.hlen;
	if (!s->up.on || s->up.held.n == 0) {
		if (p->rsv & BT_RSV_FAST)
			send_simple(p, BT_MSG_HAVE_NONE);
		return 0;
	}
	if (s->up.held.n == s->npieces && (p->rsv & BT_RSV_FAST)) {
		send_simple(p, BT_MSG_HAVE_ALL);
		send_allowed_fast(s, p);
		return 0;
	}
	bt_put32(h, (uint32_t)nb + 1);
	h[4] = BT_MSG_BITFIELD;
	if (bt_sw_out_room(p) >= nb + 5) {
		bt_sw_out_add(p, h, 5);
		bt_sw_out_add(p, s->up.held.have, nb);
		send_allowed_fast(s, p);
		return 0;
	}
	/* Longer than the out buffer: sent from the upload buffer, which
	   goes before it (it is empty this early: our handshake is out).
	   The buffer stays for the blocks (bt_up_fill): room for both. */
	if (p->outlen > 0 || (p->up.buf = malloc(nb + 5 > UP_BUF ? nb + 5 :
	    UP_BUF)) == NULL) {
		bt_sw_drop(s, p, BT_LOG_INFO, "no room for our bitfield");
		return -1;
	}
	memcpy(p->up.buf, h, 5);
	memcpy(p->up.buf + 5, s->up.held.have, nb);
	p->up.len = nb + 5;
	p->up.off = 0;
	send_allowed_fast(s, p);
	return 0;
}

/* A piece passed SHA-1: keep a copy to serve, and tell every peer. */
void
bt_up_verified(struct swarm *s, uint32_t index, const uint8_t *buf,
    size_t len)
{
	struct up_state *u = &s->up;
	size_t j;

	if (!u->on || !bt_held_keep(&u->held, index, buf, len))
		return;
	u->hlog[u->hlen++] = index;
	for (j = 0; j < s->npeer; j++)
		if (s->peer[j]->state == PS_ACTIVE)
			bt_up_haves(s, s->peer[j]);
}

void
bt_up_haves(struct swarm *s, struct peer *p)
{
	uint8_t m[9];

	while (p->up.hsent < s->up.hlen && bt_sw_out_room(p) >= sizeof(m)) {
		bt_wire_have(m, s->up.hlog[p->up.hsent++]);
		bt_sw_out_add(p, m, sizeof(m));
	}
}

/* ---- requests ---------------------------------------------------------- */

/* A request: lib/serve checks it; refused, it gets a reject (BEP 6). */
static int
on_request(struct swarm *s, struct peer *p, uint32_t index, uint32_t begin,
    uint32_t len)
{
	struct bt_serve_verdict v;
	int r;

	if (!s->up.on) {
		reject(p, index, begin, len);
		return 0;
	}
	r = bt_serve_request(&p->up.sv, s->t, bt_held_has(&s->up.held,
	    index), index, begin, len, &v);
	if (r == BT_SERVE_QUEUED)
		return 0;
	reject(p, index, begin, len);
	if (r == BT_SERVE_CUT) {
		bt_sw_cut(s, p, 1, v.limit, v.value, "", "%s", v.why);
		return -1;
	}
	if (r == BT_SERVE_NOMEM) {
		bt_sw_drop(s, p, BT_LOG_INFO, "out of memory");
		return -1;
	}
	if (r == BT_SERVE_FULL && v.why[0] != '\0')
		bt_sw_plog(s, p, BT_LOG_INFO, "limit %s (%u): %s", v.limit,
		    v.value, v.why);
	return 0;
}

static size_t
unchoked(struct swarm *s)
{
	size_t j, n = 0;

	for (j = 0; j < s->npeer; j++) {
		struct peer *q = s->peer[j];

		if (q->state == PS_ACTIVE && !q->up.sv.choked &&
		    q->up.interested)
			n++;
	}
	return n;
}

int
bt_up_message(struct swarm *s, struct peer *p, uint8_t id, const uint8_t *m)
{
	switch (id) {
	case BT_MSG_INTERESTED:
		p->up.interested = 1;
		p->up.t_up = s->now;
		/* A free slot is given at once, not at the next round. */
		if (s->up.on && p->up.sv.choked &&
		    unchoked(s) < (size_t)s->up.slots + 1)
			unchoke(p);
		return 0;
	case BT_MSG_NOT_INTERESTED:
		if (p->up.interested) {
			p->up.t_unint = s->now;
			/* Its slot is free for another. */
			if (!p->up.sv.choked)
				s->need_fill = 1;
		}
		p->up.interested = 0;
		return 0;
	case BT_MSG_REQUEST:
		return on_request(s, p, bt_get32(m + 1), bt_get32(m + 5),
		    bt_get32(m + 9));
	case BT_MSG_CANCEL:
		/* BEP 3: a queued request goes; BEP 6: with a reject. */
		if (bt_serve_cancel(&p->up.sv, bt_get32(m + 1),
		    bt_get32(m + 5), bt_get32(m + 9)))
			reject(p, bt_get32(m + 1), bt_get32(m + 5),
			    bt_get32(m + 9));
		return 0;
	}
	return 0;
}

/* ---- serving ----------------------------------------------------------- */

/* Blocks to send, and (--upload-rate) the tokens to send them. */
int
bt_up_pending(const struct swarm *s, const struct peer *p)
{
	/* Choked, the queue holds only allowed fast requests (BEP 6). */
	return p->up.sv.qn > 0 &&
	    (s->c->upload_rate == 0 || s->up_tokens > 0);
}

/* A held piece read bad or missing: not served again, and said. */
static void
drop_piece(struct swarm *s, uint32_t index, int st)
{
	if (!bt_held_has(&s->up.held, index))
		return;
	bt_held_drop(&s->up.held, index);
	s->st.bad++;
	ulog(s, "piece %u: %s: no longer served", index,
	    st == BT_SDATA_BAD ? (s->t->v2only ? "SHA-256 mismatch" :
	    "SHA-1 mismatch") : st == BT_SDATA_IOERR ?
	    "read error" : "data missing");
}

/*
 * The next BT_SEED_BATCH requests into the upload buffer (1), or 0:
 * adjacent requests that follow in the queue are read at once (the
 * piece is checked at its first read). A piece held that cannot be read
 * is rejected, never guessed.
 */
int
bt_up_fill(struct swarm *s, struct peer *p)
{
	struct up_peer *u = &p->up;
	size_t len = 0;
	unsigned k = 0;
	int did = 0;

	if (!bt_up_pending(s, p))
		return 0;
	if (u->buf == NULL && (u->buf = malloc(UP_BUF)) == NULL) {
		bt_sw_drop(s, p, BT_LOG_INFO, "out of memory");
		return -1;
	}
	/* --upload-rate: a block only while the bucket is not empty. */
	while (k < BT_SEED_BATCH && bt_up_pending(s, p)) {
		struct bt_serve_req r, rr[BT_SEED_BATCH];
		uint8_t *run;
		unsigned n, j;
		uint32_t runlen, off;
		int st;

		bt_serve_next(&u->sv, &r);
		did = 1;
		if (!bt_held_has(&s->up.held, r.index)) {
			reject(p, r.index, r.begin, r.len);
			continue;
		}
		n = bt_serve_run(&u->sv, &r, BT_SEED_BATCH - 1 - k, &runlen);
		rr[0] = r;
		for (j = 1; j <= n; j++)
			bt_serve_next(&u->sv, &rr[j]);
		/* The blocks go after their headers: read into the space
		   of the last ones, then moved into place. */
		run = u->buf + len + (size_t)(n + 1) * BT_WIRE_PIECE_HDR_LEN;
		st = bt_held_read(&s->up.held, r.index, r.begin, runlen, run);
		if (st == BT_SDATA_AGAIN) {
			/*
			 * Out of descriptors: not the piece's fault. The
			 * peer is choked (BEP 3: its requests go, it asks
			 * again once unchoked) and unchoked within a second,
			 * when some may be free: never left waiting for
			 * blocks that will not come, never a busy loop.
			 */
			bt_sw_plog(s, p, BT_LOG_INFO, "out of file descriptors "
			    "(RLIMIT_NOFILE %zu) reading piece %u: choked for "
			    "now", s->nofile, r.index);
			for (j = 0; j <= n; j++)
				reject(p, rr[j].index, rr[j].begin, rr[j].len);
			choke(p);
			s->starved = 1;
			break;
		}
		if (st != BT_SDATA_OK) {
			/* DIR changed under us, or the piece is not in
			   memory any more and DIR does not have it. */
			if (st != BT_SDATA_MISSING || s->so != NULL)
				drop_piece(s, r.index, st);
			for (j = 0; j <= n; j++)
				reject(p, rr[j].index, rr[j].begin, rr[j].len);
			continue;
		}
		for (j = 0, off = 0; j <= n; j++) {
			uint8_t *h = u->buf + len;

			memmove(h + BT_WIRE_PIECE_HDR_LEN, run + off,
			    rr[j].len);
			bt_wire_piece_hdr(h, rr[j].index, rr[j].begin,
			    rr[j].len);
			off += rr[j].len;
			len += BT_WIRE_PIECE_HDR_LEN + rr[j].len;
			if (s->c->upload_rate > 0)
				s->up_tokens -= (double)(BT_WIRE_PIECE_HDR_LEN +
				    rr[j].len);
			u->bytes += rr[j].len;
			u->win += rr[j].len;
			s->st.uploaded += rr[j].len;
			s->st.blocks++;
			k++;
		}
		u->t_up = s->now;
		if (!u->served) {
			u->served = 1;
			s->st.uploaded_to++;
		}
	}
	u->len = len;
	u->off = 0;
	return did;
}

/* Between rounds of the choker: free slots go to waiting peers. */
void
bt_up_fill_slots(struct swarm *s)
{
	size_t j, busy = 0, cap = (size_t)s->up.slots + 1;

	if (!s->up.on)
		return;
	for (j = 0; j < s->npeer; j++) {
		struct peer *p = s->peer[j];

		if (p->state == PS_ACTIVE && !p->up.sv.choked &&
		    p->up.interested)
			busy++;
	}
	for (j = 0; j < s->npeer && busy < cap; j++) {
		struct peer *p = s->peer[j];

		if (p->state == PS_ACTIVE && p->up.sv.choked &&
		    p->up.interested) {
			unchoke(p);
			busy++;
			bt_sw_flush(s, p);
		}
	}
}

/* ---- the choker and lingering ------------------------------------------ */

void
bt_up_tick(struct swarm *s)
{
	struct up_state *u = &s->up;
	struct bt_choke_peer *cp;
	struct peer **who;
	size_t j, n = 0;
	int due, complete = s->st.done == s->st.wanted;

	if (!u->on)
		return;
	if (s->now - u->t_sec >= 1000) {
		double dt = (double)(s->now - u->t_sec) / 1000.0;

		for (j = 0; j < s->npeer && u->t_sec > 0; j++) {
			struct peer *p = s->peer[j];
			double r = (double)p->up.win / dt;

			p->up.rate = p->up.rate == 0 ? r : 0.5 * p->up.rate +
			    0.5 * r;
			p->up.win = 0;
		}
		u->t_sec = s->now;
	}
	if ((due = bt_choker_due(&u->choker, s->now)) == BT_CHOKE_NONE)
		return;
	cp = calloc(s->npeer + 1, sizeof(*cp));
	who = calloc(s->npeer + 1, sizeof(*who));
	if (cp == NULL || who == NULL) {
		free(cp);
		free(who);
		return;
	}
	for (j = 0; j < s->npeer; j++) {
		struct peer *p = s->peer[j];

		if (p->state != PS_ACTIVE)
			continue;
		/* BEP 3: tit-for-tat while we leech, our upload once
		   complete. */
		cp[n].rate = complete ? p->up.rate : p->rate;
		cp[n].interested = p->up.interested;
		cp[n].snubbed = p->snubbed;
		cp[n].optimistic = p->up.optimistic;
		who[n++] = p;
	}
	u->rnd = u->rnd * 1103515245u + 12345u;
	bt_choke(cp, n, u->slots, due, u->rnd >> 8);
	for (j = 0; j < n; j++) {
		who[j]->up.optimistic = cp[j].optimistic;
		if (cp[j].unchoke)
			unchoke(who[j]);
		else if (who[j]->up.interested)
			choke(who[j]);
	}
	free(cp);
	free(who);
}

int
bt_up_waiting(const struct swarm *s)
{
	return s->up.on && s->c->linger_ms > 0 &&
	    s->now - s->start < s->c->linger_ms;
}

int
bt_up_linger(struct swarm *s)
{
	size_t j;

	if (s->up.t_done == 0) {
		s->up.t_done = s->now;
		if (s->up.on && s->c->linger_ms > 0 && s->c->on_log != NULL)
			s->c->on_log(s->c->arg, BT_LOG_INFO, "every piece in: "
			    "serving the peers interested (--linger)");
	}
	if (!s->up.on || s->c->linger_ms <= 0 ||
	    s->now - s->up.t_done >= s->c->linger_ms)
		return 0;
	if (s->npending > 0)
		return 1;
	for (j = 0; j < s->npeer; j++) {
		struct peer *p = s->peer[j];

		if (p->state == PS_ACTIVE && (p->up.interested ||
		    s->now - p->up.t_active < BT_SWARM_LINGER_GRACE_MS))
			return 1;
	}
	return 0;
}

void
bt_up_drop(struct peer *p)
{
	bt_serve_free(&p->up.sv);
	free(p->up.buf);
	p->up.buf = NULL;
	p->up.len = p->up.off = 0;
	p->up.interested = 0;
}
