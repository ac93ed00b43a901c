/*
 * The swarm: the table of peers and where they come from (the list given,
 * peers that dial in, the peer list on a pipe, trackers, ut_pex), the
 * clocks of both roles, the rate buckets, and the loop. The connection
 * is in conn.c, the download role in picker.c (and webseed_use.c), the
 * upload role in swarm_upload.c, PEX in pex.c.
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

static void dial_more(struct swarm *);

void
bt_sw_plog(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_peer_vlog(s->c->on_log, s->c->arg, level, p->name, fmt, ap);
	va_end(ap);
}

void
bt_sw_slog(struct swarm *s, int *said, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (*said || s->c->on_log == NULL)
		return;
	*said = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->c->on_log(s->c->arg, BT_LOG_LIMIT, msg);
}

/* Peers past the handshake at once: a seeder's cap, or a downloader's. */
unsigned
bt_sw_max_active(const struct swarm *s)
{
	return s->so != NULL ? s->maxconns : BT_SWARM_MAX_CONNS;
}

struct peer *
bt_sw_peer_new(struct swarm *s, const struct bt_peer_addr *a)
{
	struct peer *p;

	if (s->npeer >= s->cappeer) {
		size_t cap = s->cappeer * 2 + 64;
		struct peer **np = realloc(s->peer, cap * sizeof(*np));

		if (np == NULL)
			return NULL;
		s->peer = np;
		s->cappeer = cap;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->id = (int)s->npeer;
	s->peer[s->npeer++] = p;
	p->fd = -1;
	p->addr = *a;
	p->choking = 1;
	p->depth = QUEUE_START;
	p->pollout = -1;
	bt_peer_format(&p->addr, p->name, sizeof(p->name));
	return p;
}

/* ---- the peer list on a pipe (the seeding role) ------------------------ */


static void
peer_line(struct swarm *s)
{
	struct bt_peer_addr a;
	struct bt_err e;
	char *l = s->line, msg[sizeof(s->line) + 300];

	s->line[s->linelen] = '\0';
	s->lineno++;
	if (s->linelen > 0 && l[s->linelen - 1] == '\r')
		l[--s->linelen] = '\0';
	while (*l == ' ' || *l == '\t')
		l++;
	if (*l == '\0' || *l == '#')
		return;
	if (bt_peer_parse(l, &a, &e) < 0) {
		if (s->c->on_log != NULL) {
			snprintf(msg, sizeof(msg), "peer list: line %u: %.255s",
			    s->lineno, e.msg);
			s->c->on_log(s->c->arg, BT_LOG_INFO, msg);
		}
		return;
	}
	bt_sw_add_peer(s, &a);
}

/* Peer list lines as they arrive: each peer is dialled at once. */
static void
read_peer_fd(struct swarm *s)
{
	char buf[4096], msg[200];
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
			if (s->c->on_log != NULL) {
				snprintf(msg, sizeof(msg), "peer list: line "
				    "%u: over %zu bytes", s->lineno + 1,
				    sizeof(s->line) - 1);
				s->c->on_log(s->c->arg, BT_LOG_INFO, msg);
			}
		}
	}
	dial_more(s);
}

/* ---- timers ------------------------------------------------------------ */

/*
 * Connect to more listed peers: many at once, since most of a long list
 * may never answer and each such try waits for its timeout. Not while
 * every slot is taken and enough peers wait for one.
 */
static void
dial_more(struct swarm *s)
{
	while (s->next_try < s->npeer && s->npending < s->maxpending &&
	    (s->so != NULL ? s->nconn < s->maxconns :
	    s->st.peers < BT_SWARM_MAX_CONNS ||
	    s->nparked < BT_SWARM_MAX_PARKED)) {
		struct peer *p = s->peer[s->next_try++];

		/* Not a peer that dialled us (those join the table too). */
		if (p->state == PS_WAITING)
			bt_sw_try_connect(s, p);
	}
	if (s->next_try < s->npeer && s->npending >= s->maxpending)
		bt_sw_slog(s, &s->said_pending, "%u connects and handshakes in "
		    "progress: more listed peers wait (limit "
		    "BT_SWARM_MAX_HALFOPEN)", s->maxpending);
}

/* A parked peer takes a free slot; what it sent meanwhile is read now. */
static void
unpark(struct swarm *s, struct peer *p)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = p;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, p->fd, &ev) < 0) {
		bt_sw_drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return;
	}
	p->pollout = 0;
	if (bt_sw_activate(s, p) < 0)
		return;
	bt_sw_readable(s, p);
}

/*
 * Data from p waits unread: paused for want of download tokens, or bytes
 * in its socket that the bucket has not let us read yet.
 */
static int
held_back(struct peer *p)
{
	char c;

	return p->rpaused ||
	    recv(p->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * The seeding role's clocks (a seeder's limits, named as bt-seed names
 * them): a connect or a handshake that takes too long; a peer that
 * does not read what we send, says nothing, or is not interested, for
 * --idle. A peer waiting for an unchoke has nothing to say but
 * keep-alives (BEP 3: every two minutes), so it is allowed
 * BT_SEED_IDLE_MS at least whatever --idle says. Two seeds have
 * nothing to say to each other.
 */
static void
seed_timers(struct swarm *s, struct peer *p)
{
	long long idle = s->so->idle_ms, silent = idle;
	uint8_t m[4];

	switch (p->state) {
	case PS_CONNECTING:
		if (s->now - p->t_state > s->connect_ms)
			bt_sw_cut(s, p, 0, "BT_SEED_CONNECT_MS",
			    s->connect_ms / 1000.0, "s", "connect: no answer "
			    "in %g s", s->connect_ms / 1000.0);
		return;
	case PS_HANDSHAKE:
		if (s->now - p->t_state > s->handshake_ms)
			bt_sw_cut(s, p, 0, "BT_SEED_HANDSHAKE_MS",
			    s->handshake_ms / 1000.0, "s", "no handshake in "
			    "%g s", s->handshake_ms / 1000.0);
		return;
	case PS_PARKED:
		if (s->st.peers < bt_sw_max_active(s))
			unpark(s, p);
		return;
	case PS_ACTIVE:
		break;
	default:
		return;
	}
	if (bt_sw_out_pending(s, p) && s->now - p->t_sent > idle) {
		bt_sw_cut(s, p, 0, "--idle", idle / 1000.0, "s", "not reading: "
		    "nothing sent for %g s", idle / 1000.0);
		return;
	}
	if (p->up.sv.choked && p->up.interested && silent < BT_SEED_IDLE_MS)
		silent = BT_SEED_IDLE_MS;
	if (s->now - p->t_rx > silent) {
		bt_sw_cut(s, p, 0, silent > idle ? "BT_SEED_IDLE_MS" : "--idle",
		    silent / 1000.0, "s", "idle for %g s", silent / 1000.0);
		return;
	}
	if (!p->up.interested && s->now - p->up.t_unint > idle) {
		bt_sw_cut(s, p, 0, "--idle", idle / 1000.0, "s", "not "
		    "interested for %g s", idle / 1000.0);
		return;
	}
	if (p->seed && !p->up.interested && s->up.held.n == s->npieces) {
		bt_sw_drop(s, p, BT_LOG_INFO, "peer is a seed");
		return;
	}
	if (!bt_sw_out_pending(s, p) &&
	    s->now - p->t_sent > BT_SEED_KEEPALIVE_MS) {
		bt_sw_out_add(p, m, bt_wire_keepalive(m));
		p->t_sent = s->now;
	}
	if (bt_sw_out_pending(s, p))
		bt_sw_flush(s, p);
}

/* Bytes we do not serve, for the trackers. */
static int64_t
seed_left(const struct swarm *s)
{
	int64_t l = s->t->total_length - (int64_t)s->up.held.n *
	    s->t->piece_length;

	return l < 0 ? 0 : l;
}

/* Once a second in the seeding role. */
static void
seed_second(struct swarm *s)
{
	if (s->starved) {
		s->starved = 0;
		s->need_fill = 1;
	}
	if (s->paused_until != 0 && s->now >= s->paused_until) {
		if (s->spare < 0)
			s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->paused_until = 0;
		bt_up_listeners(s, 1);
	}
	if (s->ann.efd >= 0)
		bt_sann_update(&s->ann, (int64_t)s->st.uploaded,
		    seed_left(s));
}

/*
 * Every wanted piece is in: BEP 3 has us say we are not interested any
 * more, so that a peer lingering for ours (bt-fetch-piece --linger) does
 * not wait on a want we no longer have.
 */
static void
uninterested(struct swarm *s)
{
	uint8_t m[5];
	size_t j;

	for (j = 0; j < s->npeer; j++) {
		struct peer *p = s->peer[j];

		if (p->state != PS_ACTIVE || !p->interested)
			continue;
		p->interested = 0;
		bt_sw_out_add(p, m, bt_wire_simple(m, BT_MSG_NOT_INTERESTED));
		bt_sw_flush(s, p);
	}
}

/*
 * Closed peers leave the table once they are many (a seeder meets
 * peers for days): the rest keep their order, their ids change, and
 * the pieces in flight learn the new ids of their peers.
 */
static void
compact(struct swarm *s)
{
	int *map;
	size_t j, n = 0, try = 0, init = 0;
	unsigned i, b;

	if ((map = malloc(s->npeer * sizeof(*map))) == NULL)
		return;
	for (j = 0; j < s->npeer; j++) {
		struct peer *p = s->peer[j];

		if (p->state == PS_CLOSED) {
			map[j] = -1;
			free(p);
			continue;
		}
		if (j < s->next_try)
			try++;
		if (j < s->ninitial)
			init++;
		map[j] = (int)n;
		p->id = (int)n;
		s->peer[n++] = p;
	}
	for (i = 0; i < s->nact; i++) {
		struct piece *pc = &s->act[i];

		if (pc->owner >= 0)
			pc->owner = map[pc->owner];
		for (b = 0; b < pc->nblocks; b++)
			if (pc->bfrom[b] >= 0)
				pc->bfrom[b] = map[pc->bfrom[b]];
	}
	free(map);
	s->npeer = n;
	s->next_try = try;
	s->ninitial = init;
	s->nclosed = 0;
}

static void
tick(struct swarm *s)
{
	uint8_t m[4];
	int second = s->now - s->t_sec >= 1000;
	double dt = (double)(s->now - s->t_sec) / 1000.0;
	size_t i;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (s->so != NULL) {
			seed_timers(s, p);
			continue;
		}
		switch (p->state) {
		case PS_CONNECTING:
			if (s->now - p->t_state > s->connect_ms) {
				s->st.timedout++;
				bt_sw_drop(s, p, BT_LOG_INFO,
				    "no connection in %d "
				    "ms (limit BT_SWARM_CONNECT_MS, "
				    "--connect-timeout)", s->connect_ms);
			}
			continue;
		case PS_HANDSHAKE:
			if (s->now - p->t_state > s->handshake_ms) {
				s->st.timedout++;
				bt_sw_drop(s, p, BT_LOG_INFO,
				    "no handshake in %d "
				    "ms (limit BT_SWARM_HANDSHAKE_MS, "
				    "--handshake-timeout)", s->handshake_ms);
			}
			continue;
		case PS_PARKED:
			/* A free slot: parked peers come in, in list order. */
			if (s->st.peers < bt_sw_max_active(s))
				unpark(s, p);
			continue;
		case PS_ACTIVE:
			break;
		default:
			continue;
		}
		/*
		 * Every slot taken and peers wait for one: a peer that
		 * keeps us choked, or has nothing we want, gives its slot
		 * up after the handshake timeout, not the idle one.
		 */
		if (s->nparked > 0 && !p->served && !p->up.interested &&
		    (p->choking || !p->interested) &&
		    s->now - p->t_state > s->handshake_ms) {
			s->st.timedout++;
			bt_sw_drop(s, p, BT_LOG_INFO,
			    "%s for %d ms while peers wait "
			    "for a slot (limit BT_SWARM_MAX_CONNS)",
			    p->choking ? "choked us" : "has nothing we want",
			    s->handshake_ms);
			continue;
		}
		/*
		 * --download-rate: while its data waits unread for our
		 * bucket, the peer is not idle, we are; that time does not
		 * count against it (snub and idle clocks restart).
		 */
		if (s->c->download_rate > 0 &&
		    (s->now - p->t_block > s->snub_ms ||
		    s->now - p->t_block > s->idle_ms) && held_back(p))
			p->t_block = s->now;
		/*
		 * Unchoked, wanted, and nothing asked of it: every free
		 * block is asked of others (peers that may stall, until they
		 * are snubbed). It waits on us, not we on it: its clock does
		 * not run.
		 */
		if (!p->choking && p->interested && p->qlive == 0 &&
		    !p->snubbed)
			p->t_block = s->now;
		if (s->now - p->t_block > s->idle_ms &&
		    s->now - p->up.t_up > s->idle_ms) {
			s->st.timedout++;
			bt_sw_drop(s, p, BT_LOG_INFO,
			    "no block in %d ms (limit "
			    "BT_SWARM_IDLE_MS, --idle-timeout)", s->idle_ms);
			continue;
		}
		if (p->qlive > 0 && !p->snubbed &&
		    s->now - p->t_block > s->snub_ms &&
		    s->now - p->t_asked > s->snub_ms) {
			/* Snubbed: its requests go to other peers. */
			p->snubbed = 1;
			bt_sw_plog(s, p, BT_LOG_INFO,
			    "snubbed: no block in %d ms "
			    "(limit BT_SWARM_SNUB_MS)", s->snub_ms);
			bt_sw_release_requests(s, p, 1, 0);
		}
		if (second) {
			double r = (double)p->win_bytes / dt;
			double d;

			p->rate = p->rate == 0 ? r : 0.5 * p->rate + 0.5 * r;
			p->win_bytes = 0;
			/* About one second of the peer's data in flight. */
			d = p->rate / BT_BLOCK_LEN;
			if (d < BT_SWARM_MIN_QUEUE)
				d = BT_SWARM_MIN_QUEUE;
			if (d > BT_SWARM_MAX_QUEUE)
				d = BT_SWARM_MAX_QUEUE;
			if (p->rate > 0 || p->depth < BT_SWARM_MIN_QUEUE)
				p->depth = (unsigned)d;
		}
		if (s->now - p->t_sent > BT_SWARM_KEEPALIVE_MS)
			bt_sw_out_add(p, m, bt_wire_keepalive(m));
		p->rejected = 0;
		bt_sw_fill_requests(s, p);
		if (bt_sw_out_pending(s, p))
			bt_sw_flush(s, p);
	}
	if (second) {
		double r = (double)s->win_bytes / dt;

		s->st.rate = s->st.rate == 0 ? r : 0.5 * s->st.rate + 0.5 * r;
		s->win_bytes = 0;
		s->t_sec = s->now;
		s->st.elapsed_ms = s->now - s->start;
		if (s->c->on_progress != NULL)
			s->c->on_progress(s->c->arg, &s->st);
	}
	if (second) {
		if (s->so != NULL)
			seed_second(s);
		bt_sw_pex_tick(s);
	}
	bt_up_tick(s);
	if (s->need_fill) {
		s->need_fill = 0;
		bt_up_fill_slots(s);
	}
	bt_sw_ws_assign(s);
	bt_sw_ws_yield(s);
	if (s->nclosed > 64 && s->nclosed * 2 > s->npeer)
		compact(s);
	dial_more(s);
}

/* ---- setup and the loop ------------------------------------------------ */

/*
 * Connects in progress at once: BT_SWARM_MAX_HALFOPEN, fewer if the
 * descriptor limit would not leave room for them beside the connected
 * peers, the output, the data files of the caller and a few more.
 */
static unsigned
max_pending(void)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return BT_SWARM_MAX_HALFOPEN;
	room = rl.rlim_cur > BT_SWARM_MAX_CONNS + 64 ?
	    rl.rlim_cur - BT_SWARM_MAX_CONNS - 64 : 0;
	if (room < 4)
		room = 4;
	return room < BT_SWARM_MAX_HALFOPEN ? (unsigned)room :
	    BT_SWARM_MAX_HALFOPEN;
}

/*
 * The rate buckets fill with the time gone by, up to a tenth of a
 * second's worth. Peers paused for want of download tokens are read
 * again (epoll is level-triggered: what waits wakes us at once), and
 * peers whose blocks were held back get them sent.
 */
static void
refill(struct swarm *s)
{
	const struct bt_swarm_conf *c = s->c;
	double dt = (double)(s->now - s->t_refill) / 1000.0;
	size_t j;
	int up_was_empty = s->up_tokens <= 0;

	if (dt <= 0)
		return;
	s->t_refill = s->now;
	if (c->download_rate > 0) {
		s->dn_tokens += dt * (double)c->download_rate;
		if (s->dn_tokens > RATE_BURST(c->download_rate))
			s->dn_tokens = RATE_BURST(c->download_rate);
	}
	if (c->upload_rate > 0) {
		s->up_tokens += dt * (double)c->upload_rate;
		if (s->up_tokens > RATE_BURST(c->upload_rate))
			s->up_tokens = RATE_BURST(c->upload_rate);
	}
	if (s->npaused > 0 && s->dn_tokens >= 1)
		for (j = 0; j < s->npeer; j++) {
			struct peer *p = s->peer[j];

			if (!p->rpaused)
				continue;
			p->rpaused = 0;
			s->npaused--;
			if (p->state == PS_ACTIVE)
				bt_sw_set_events(s, p, bt_sw_out_pending(s, p));
		}
	if (c->upload_rate > 0 && up_was_empty && s->up_tokens > 0)
		for (j = 0; j < s->npeer; j++) {
			struct peer *p = s->peer[j];

			if (p->state == PS_ACTIVE && bt_up_pending(s, p))
				bt_sw_flush(s, p);
		}
}

static int
setup(struct swarm *s, const struct bt_swarm_conf *c,
    const struct bt_peer_addr *peers, size_t npeers, struct bt_err *e)
{
	const struct bt_torrent *t = c->t;
	long cap = c->inflight > 0 ? c->inflight : BT_SWARM_MAX_INFLIGHT;
	uint32_t i;
	size_t k;

	s->c = c;
	s->t = t;
	s->e = e;
	s->so = c->seed;
	s->npieces = t->npieces;
	s->pex_ms = c->seed != NULL && c->seed->pex_ms > 0 ? c->seed->pex_ms :
	    BT_SEED_PEX_INTERVAL_MS;
	s->connect_ms = c->connect_ms > 0 ? c->connect_ms : BT_SWARM_CONNECT_MS;
	s->handshake_ms = c->handshake_ms > 0 ? c->handshake_ms :
	    BT_SWARM_HANDSHAKE_MS;
	s->idle_ms = c->idle_ms > 0 ? c->idle_ms : BT_SWARM_IDLE_MS;
	s->snub_ms = c->snub_ms > 0 ? c->snub_ms : BT_SWARM_SNUB_MS;
	s->maxpending = max_pending();
	if (s->so != NULL)
		bt_up_seed_limits(s);
	s->maxact = (unsigned)(cap / t->piece_length);
	if (s->maxact < 2)
		s->maxact = 2;
	if (s->maxact > MAX_ACTIVE)
		s->maxact = MAX_ACTIVE;
	/* "-BT0001-" and 12 random bytes (Azureus style, BEP 20). */
	memcpy(s->our_id, "-BT0001-", 8);
	if (getrandom(s->our_id + 8, 12, 0) != 12)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "getrandom: %s",
		    strerror(errno));
	bt_wire_handshake_rsv(s->handshake, t->info_hash, s->our_id,
	    BT_RSV_FAST | BT_RSV_EXT);
	s->pstate = calloc(s->npieces, 1);
	s->avail = calloc(s->npieces, sizeof(uint16_t));
	s->pmap = malloc(s->npieces * sizeof(uint16_t));
	s->act = calloc(s->maxact, sizeof(struct piece));
	s->pool = calloc(s->maxact, sizeof(uint8_t *));
	/* Room for the peers PEX may teach, so that peer[] never moves. */
	s->cappeer = npeers + BT_PEX_MAX_PEERS + BT_SWARM_MAX_INCOMING;
	s->peer = calloc(s->cappeer, sizeof(struct peer *));
	if (s->pstate == NULL || s->avail == NULL || s->pmap == NULL ||
	    s->act == NULL || s->pool == NULL || s->peer == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (i = 0; i < s->npieces; i++) {
		s->pmap[i] = NO_PIECE;
		/* A seeder wants nothing. */
		if (c->seed == NULL &&
		    (c->want == NULL || bt_bit_get(c->want, i))) {
			s->pstate[i] = P_WANTED;
			s->st.wanted++;
		}
	}
	s->left_to_start = s->st.wanted;
	if (getrandom(&s->cursor, sizeof(s->cursor), 0) !=
	    sizeof(s->cursor))
		s->cursor = 0;
	if (s->npieces > 0)
		s->cursor %= s->npieces;
	for (k = 0; k < npeers; k++)
		if (bt_sw_peer_new(s, &peers[k]) == NULL)
			return bt_errf(e, BT_EX_SOFTWARE, -1,
			    "out of memory");
	s->ninitial = s->npeer;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "epoll: %s",
		    strerror(errno));
	/* Without the thread, pieces are hashed inline: slower, as safe.
	   A seeder hashes nothing it receives. */
	if (s->so != NULL || bt_sw_hash_start(s) < 0)
		s->h.running = 0;
	if (c->nwebseeds > 0) {
		struct epoll_event ev;

		if (bt_webseeds_start(&s->ws, t, c->webseeds,
		    c->nwebseeds > BT_WEBSEED_MAX ? BT_WEBSEED_MAX :
		    c->nwebseeds, s->connect_ms, s->idle_ms, e) < 0)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &s->ws;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ws.efd, &ev) < 0)
			return bt_errf(e, BT_EX_SOFTWARE, -1, "epoll: %s",
			    strerror(errno));
	}
	return bt_up_open(s, e);
}

static void
teardown(struct swarm *s)
{
	size_t k;

	/* Web seeds and the hasher may still use a piece: stop them
	   before any free. */
	bt_up_stop_announcing(s);
	bt_webseeds_stop(&s->ws);
	if (s->spare >= 0)
		close(s->spare);
	bt_sw_hash_stop(s);
	for (k = 0; k < s->npeer; k++) {
		struct peer *p = s->peer[k];

		if (p->fd >= 0)
			close(p->fd);
		free(p->have);
		free(p->ext);
		free(p->allowed);
		free(p->mdq);
		free(p->told);
		bt_buf_free(&p->md);
		bt_up_drop(p);
		free(p->q);
		free(p);
	}
	while (s->nact > 0)
		bt_sw_piece_free_slot(s, &s->act[0]);
	while (s->npool > 0)
		free(s->pool[--s->npool]);
	free(s->peer);
	bt_peerlist_free(&s->known);
	free(s->pconn);
	free(s->pconnflags);
	free(s->pstate);
	free(s->avail);
	free(s->pmap);
	free(s->act);
	free(s->pool);
	bt_up_close(s);
	if (s->ep >= 0)
		close(s->ep);
}

int
bt_swarm_run(const struct bt_swarm_conf *c, const struct bt_peer_addr *peers,
    size_t npeers, struct bt_swarm_stats *st, struct bt_err *e)
{
	struct swarm *s;
	struct epoll_event ev[64];
	int i, n, rc = 0;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	s->ep = -1;
	s->h.efd = -1;
	s->ws.efd = -1;
	s->ann.efd = -1;
	s->spare = -1;
	s->peer_fd = -1;
	s->up.lfd[0] = s->up.lfd[1] = -1;
	s->start = s->now = s->t_tick = s->t_sec = bt_now_ms();
	s->t_refill = s->start;
	s->up_tokens = c->upload_rate > 0 ? RATE_BURST(c->upload_rate) : 0;
	s->dn_tokens = c->download_rate > 0 ? RATE_BURST(c->download_rate) :
	    0;
	if (setup(s, c, peers, npeers, e) < 0) {
		teardown(s);
		free(s);
		return -1;
	}
	tick(s);
	for (;;) {
		if (s->failed) {
			rc = -1;
			break;
		}
		/* A seeder runs until it is told to stop. */
		if (s->so != NULL) {
			if ((s->so->stop != NULL && *s->so->stop) ||
			    (s->so->exit_after > 0 && s->now - s->start >=
			    (long long)(s->so->exit_after * 1000)))
				break;
			goto wait;
		}
		if (s->st.done == s->st.wanted) {
			if (s->up.t_done == 0)
				uninterested(s);
			/* --linger: serve the peers that still want ours. */
			if (!bt_up_linger(s))
				break;
			goto wait;
		}
		/* Pieces still in the hasher may yet complete the run;
		   peers may yet dial in (--linger). */
		if (s->nconn == 0 && s->next_try >= s->npeer &&
		    !bt_sw_hashing(s) && !bt_up_waiting(s) &&
		    !bt_sw_ws_usable(s)) {
			rc = bt_errf(e, BT_EX_UNAVAILABLE, -1,
			    "%u of %u pieces missing: no usable peer%s left "
			    "(%u tried)", s->st.wanted - s->st.done,
			    s->st.wanted, s->ws.n > 0 ? " or web seed" : "",
			    s->st.tried);
			break;
		}
		if (c->timeout_ms > 0 && s->now - s->start >= c->timeout_ms) {
			rc = bt_errf(e, BT_EX_TEMPFAIL, -1,
			    "timed out after %lld s: %u of %u pieces missing",
			    c->timeout_ms / 1000, s->st.wanted - s->st.done,
			    s->st.wanted);
			break;
		}
wait:
		n = epoll_wait(s->ep, ev, 64, 100);
		if (n < 0 && errno != EINTR) {
			rc = bt_errf(e, BT_EX_SOFTWARE, -1, "epoll_wait: %s",
			    strerror(errno));
			break;
		}
		s->now = bt_now_ms();
		refill(s);
		for (i = 0; i < n && !s->failed; i++) {
			struct peer *p = ev[i].data.ptr;

			if (ev[i].data.ptr == &s->h) {
				bt_sw_hash_results(s);
				continue;
			}
			if (ev[i].data.ptr == &s->ws) {
				bt_sw_ws_results(s);
				continue;
			}
			if (bt_up_is_listener(s, ev[i].data.ptr)) {
				bt_up_accept(s, ev[i].data.ptr);
				continue;
			}
			if (ev[i].data.ptr == &s->ann) {
				bt_up_announced(s);
				continue;
			}
			if (ev[i].data.ptr == &s->peer_fd) {
				read_peer_fd(s);
				continue;
			}
			if (p->state == PS_CONNECTING) {
				bt_sw_connected(s, p);
				continue;
			}
			if (p->state == PS_CLOSED)
				continue;
			if (p->state == PS_PARKED) {
				/* Only errors are reported while parked. */
				bt_sw_drop(s, p, BT_LOG_INFO,
				    "closed while waiting "
				    "for a free slot");
				continue;
			}
			/* Paused (--download-rate), an error or hang-up
			   would wake us again and again: it ends the peer. */
			if (p->rpaused && (ev[i].events & (EPOLLERR |
			    EPOLLHUP))) {
				bt_sw_drop(s, p, BT_LOG_INFO,
				    "closed by the peer");
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				bt_sw_readable(s, p);
			if (p->state != PS_CLOSED &&
			    (ev[i].events & EPOLLOUT))
				bt_sw_flush(s, p);
		}
		if (s->now - s->t_tick >= 100) {
			s->t_tick = s->now;
			tick(s);
		} else if (!s->failed)
			dial_more(s);	/* slots freed by refusals and closes */
	}
	if (s->so != NULL) {
		size_t k;

		for (k = 0; k < s->npeer; k++)
			bt_sw_drop(s, s->peer[k], BT_LOG_INFO, "stopping");
	}
	bt_up_stop_announcing(s);
	s->st.elapsed_ms = bt_now_ms() - s->start;
	if (s->so != NULL)
		s->st.held = s->up.held.n;
	if (st != NULL)
		*st = s->st;
	teardown(s);
	free(s);
	return rc;
}
