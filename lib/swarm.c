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

static void
plog(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
plog(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_peer_vlog(s->c->on_log, s->c->arg, level, p->name, fmt, ap);
	va_end(ap);
}

/* A limit of the engine was reached: said once a run. */
static void
slog(struct swarm *s, int *said, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
slog(struct swarm *s, int *said, const char *fmt, ...)
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

void
bt_sw_plog(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	plog(s, p, level, "%s", msg);
}

/* Peers past the handshake at once: a seeder's cap, or a downloader's. */
static unsigned
max_active(const struct swarm *s)
{
	return s->so != NULL ? s->maxconns : BT_SWARM_MAX_CONNS;
}

static int
peer_has(const struct peer *p, uint32_t i)
{
	return p->seed || (p->have != NULL && bt_bit_get(p->have, i));
}

static struct piece *
piece_of(struct swarm *s, uint32_t i)
{
	return s->pmap[i] == NO_PIECE ? NULL : &s->act[s->pmap[i]];
}

/* ---- requests ---------------------------------------------------------- */

static struct req *
qat(struct peer *p, unsigned k)
{
	return &p->q[(p->qhead + k) % QCAP];
}

/* Our request for this block still outstanding to p, or NULL. */
static struct req *
find_req(struct peer *p, uint32_t index, uint32_t begin, uint32_t len)
{
	unsigned k;

	for (k = 0; k < p->qn; k++) {
		struct req *q = qat(p, k);

		if (q->st != Q_DONE && q->index == index &&
		    q->begin == begin && q->len == len)
			return q;
	}
	return NULL;
}

static void
qpop_done(struct peer *p)
{
	while (p->qn > 0 && p->q[p->qhead].st == Q_DONE) {
		p->qhead = (p->qhead + 1) % QCAP;
		p->qn--;
	}
}

static void
out_add(struct peer *p, const uint8_t *b, size_t n)
{
	if (p->outlen + n <= OUTCAP) {
		memcpy(p->out + p->outlen, b, n);
		p->outlen += n;
	}
}

void
bt_sw_out_add(struct peer *p, const uint8_t *b, size_t n)
{
	out_add(p, b, n);
}

size_t
bt_sw_out_room(const struct peer *p)
{
	return OUTCAP - p->outlen;
}

/* Give a live request's block back to the picker. */
static void
unrequest(struct swarm *s, struct req *r)
{
	struct piece *pc = piece_of(s, r->index);
	uint32_t b;

	if (pc == NULL)
		return;
	b = r->begin / BT_BLOCK_LEN;
	if (b >= pc->nblocks || pc->bnreq[b] == 0)
		return;
	if (--pc->bnreq[b] == 0 && pc->bst[b] == B_REQ) {
		pc->bst[b] = B_FREE;
		pc->nfree++;
	}
}

/* Release every live request of p (choke, snub, drop); cancel if asked. */
static void
release_requests(struct swarm *s, struct peer *p, int cancel, int forget)
{
	uint8_t m[17];
	unsigned k;

	for (k = 0; k < p->qn; k++) {
		struct req *r = qat(p, k);

		if (r->st != Q_LIVE)
			continue;
		unrequest(s, r);
		r->st = Q_CANCELLED;
		if (cancel)
			out_add(p, m, bt_wire_request(m, BT_MSG_CANCEL,
			    r->index, r->begin, r->len));
	}
	p->qlive = 0;
	if (forget)
		p->qn = p->qhead = 0;
}

/* ---- pieces ------------------------------------------------------------ */

static void
piece_free_slot(struct swarm *s, struct piece *pc)
{
	unsigned slot = (unsigned)(pc - s->act);

	s->pmap[pc->index] = NO_PIECE;
	if (pc->buf != NULL) {
		if (s->npool < s->maxact)
			s->pool[s->npool++] = pc->buf;
		else
			free(pc->buf);
	}
	free(pc->bst);
	free(pc->bnreq);
	free(pc->bfrom);
	/* Keep act[] dense: move the last slot here. */
	s->nact--;
	if (slot != s->nact) {
		s->act[slot] = s->act[s->nact];
		s->pmap[s->act[slot].index] = (uint16_t)slot;
	}
}

/* 1 while a piece is in the hasher's hands. */
static int
hashing(const struct swarm *s)
{
	unsigned k;

	for (k = 0; k < s->nact; k++)
		if (s->act[k].hashing)
			return 1;
	return 0;
}

static struct piece *
piece_start(struct swarm *s, uint32_t i, int owner)
{
	struct piece *pc;
	int64_t len = bt_piece_size(s->t, i);
	uint32_t b;

	if (s->nact >= s->maxact)
		return NULL;
	pc = &s->act[s->nact];
	memset(pc, 0, sizeof(*pc));
	pc->index = i;
	pc->len = (uint32_t)len;
	pc->nblocks = (uint32_t)((len + BT_BLOCK_LEN - 1) / BT_BLOCK_LEN);
	if (s->npool > 0)
		pc->buf = s->pool[--s->npool];
	else
		pc->buf = malloc((size_t)s->t->piece_length);
	pc->bst = calloc(pc->nblocks, 1);
	pc->bnreq = calloc(pc->nblocks, 1);
	pc->bfrom = calloc(pc->nblocks, sizeof(int32_t));
	if (pc->buf == NULL || pc->bst == NULL || pc->bnreq == NULL ||
	    pc->bfrom == NULL) {
		free(pc->buf);
		free(pc->bst);
		free(pc->bnreq);
		free(pc->bfrom);
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return NULL;
	}
	pc->nfree = pc->nblocks;
	for (b = 0; b < pc->nblocks; b++)
		pc->bfrom[b] = -1;
	pc->owner = owner;
	s->pmap[i] = (uint16_t)s->nact;
	s->nact++;
	s->pstate[i] = P_ACTIVE;
	s->left_to_start--;
	return pc;
}

static int
emit(struct swarm *s, struct piece *pc)
{
	if (s->c->on_piece(s->c->arg, pc->index, pc->buf, pc->len, s->e) != 0)
	{
		s->failed = 1;
		return -1;
	}
	s->st.done++;
	return 0;
}

/* In sequential mode, hand over the held pieces whose turn has come. */
static void
emit_in_order(struct swarm *s)
{
	struct piece *pc;

	while (!s->failed && s->next_emit < s->npieces) {
		if (s->pstate[s->next_emit] == P_SKIP ||
		    s->pstate[s->next_emit] == P_DONE) {
			s->next_emit++;
			continue;
		}
		pc = piece_of(s, s->next_emit);
		if (pc == NULL || !pc->held)
			break;
		if (emit(s, pc) < 0)
			break;
		s->pstate[pc->index] = P_DONE;
		piece_free_slot(s, pc);
		s->next_emit++;
	}
}

/* ---- web seeds (BEP 19), part one ---------------------------------------- */

static void
wlog(struct swarm *s, size_t k, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
wlog(struct swarm *s, size_t k, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_peer_vlog(s->c->on_log, s->c->arg, level, s->ws.w[k].url, fmt, ap);
	va_end(ap);
}

/* A web seed's piece goes back to the wanted ones, for anyone. */
static void
ws_release(struct swarm *s, struct piece *pc)
{
	uint32_t i = pc->index;

	piece_free_slot(s, pc);
	s->pstate[i] = P_WANTED;
	s->left_to_start++;
	s->minav = 0;
	if (i < s->first_wanted)
		s->first_wanted = i;
}

/*
 * A web seed's piece failed its SHA-1: banned at once, not after
 * BT_SWARM_BAN_HASHFAILS as a peer is. A piece from a web seed is all
 * its own, and a server that serves other bytes than the torrent's
 * (another version of the file) will serve them again.
 */
static void
ws_banned(struct swarm *s, struct piece *pc)
{
	size_t k = (size_t)pc->ws - 1;

	if (!s->ws.w[k].dead) {
		s->ws.w[k].dead = 1;
		s->st.dropped++;
		/* Its piece in flight, if any, is not wanted either. */
		if (s->ws.w[k].busy)
			bt_webseed_abort(&s->ws, k);
		wlog(s, k, BT_LOG_BAD, "banned: piece %u failed its SHA-1",
		    pc->index);
	}
	ws_release(s, pc);
}

static void drop(struct swarm *, struct peer *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
piece_verified(struct swarm *s, struct piece *pc, int ok)
{
	int32_t from = -1;
	int several = 0;
	uint32_t b;

	pc->hashing = 0;
	if (ok) {
		/* Held now: served (from a copy) and told with a have. */
		bt_up_verified(s, pc->index, pc->buf, pc->len);
		for (b = 0; b < pc->nblocks; b++) {
			struct peer *p;

			if (pc->bfrom[b] < 0)
				continue;
			p = s->peer[pc->bfrom[b]];
			if (!p->served)
				s->st.served++;
			p->served = 1;
		}
		if (s->c->sequential) {
			pc->held = 1;
			emit_in_order(s);
		} else {
			s->pstate[pc->index] = P_DONE;
			if (emit(s, pc) == 0)
				piece_free_slot(s, pc);
		}
		return;
	}
	s->st.hashfails++;
	if (pc->ws) {
		ws_banned(s, pc);
		return;
	}
	for (b = 0; b < pc->nblocks; b++) {
		if (from < 0)
			from = pc->bfrom[b];
		else if (pc->bfrom[b] != from)
			several = 1;
	}
	/*
	 * One source alone: that peer sent bad data. Several: we cannot
	 * tell which, so the piece is fetched again from one peer alone.
	 */
	if (!several && from >= 0) {
		struct peer *p = s->peer[from];

		if (++p->hashfails >= BT_SWARM_BAN_HASHFAILS &&
		    p->state != PS_CLOSED)
			drop(s, p, BT_LOG_BAD, "banned: %d pieces failed "
			    "their SHA-1 (limit BT_SWARM_BAN_HASHFAILS)",
			    p->hashfails);
	}
	for (b = 0; b < pc->nblocks; b++) {
		pc->bst[b] = pc->bnreq[b] > 0 ? B_REQ : B_FREE;
		pc->bfrom[b] = -1;
	}
	pc->ndone = 0;
	pc->nfree = 0;
	for (b = 0; b < pc->nblocks; b++)
		if (pc->bst[b] == B_FREE)
			pc->nfree++;
	pc->solo = 1;
	pc->owner = -1;
}

static void *
hash_main(void *arg)
{
	struct hasher *h = arg;
	struct hjob j;
	uint8_t d[BT_SHA1_LEN];
	uint64_t one = 1;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->in_n == 0 && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		j = h->in[h->in_head];
		pthread_mutex_unlock(&h->mu);
		bt_sha1(j.buf, j.len, d);
		j.ok = memcmp(d, j.want, BT_SHA1_LEN) == 0;
		pthread_mutex_lock(&h->mu);
		h->in_head = (h->in_head + 1) % h->cap;
		h->in_n--;
		h->out[h->out_n++] = j;
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Every block of pc is in: hash it (in the hasher if it runs). */
static void
piece_complete(struct swarm *s, struct piece *pc)
{
	struct hasher *h = &s->h;
	uint8_t d[BT_SHA1_LEN];

	if (!h->running) {
		bt_sha1(pc->buf, pc->len, d);
		piece_verified(s, pc, memcmp(d, bt_piece_hash(s->t, pc->index),
		    BT_SHA1_LEN) == 0);
		return;
	}
	pc->hashing = 1;
	pthread_mutex_lock(&h->mu);
	h->in[(h->in_head + h->in_n) % h->cap] = (struct hjob){ pc->index,
	    pc->len, pc->buf, bt_piece_hash(s->t, pc->index), 0 };
	h->in_n++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* The eventfd fired: take the hasher's results. */
static void
hash_results(struct swarm *s)
{
	struct hasher *h = &s->h;
	struct hjob *done = h->took;
	unsigned n, k;
	uint64_t v;

	if (read(h->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&h->mu);
	n = h->out_n;
	memcpy(done, h->out, n * sizeof(*done));
	h->out_n = 0;
	pthread_mutex_unlock(&h->mu);
	for (k = 0; k < n && !s->failed; k++) {
		struct piece *pc = piece_of(s, done[k].index);

		if (pc != NULL && pc->hashing)
			piece_verified(s, pc, done[k].ok);
	}
}

static int
hash_start(struct swarm *s)
{
	struct hasher *h = &s->h;
	struct epoll_event ev;

	h->efd = -1;
	h->cap = s->maxact;
	h->in = calloc(h->cap, sizeof(*h->in));
	h->out = calloc(h->cap, sizeof(*h->out));
	h->took = calloc(h->cap, sizeof(*h->took));
	if (h->in == NULL || h->out == NULL || h->took == NULL)
		return -1;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = h;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, h->efd, &ev) < 0)
		return -1;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	if (pthread_create(&h->th, NULL, hash_main, h) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	h->running = 1;
	return 0;
}

static void
hash_stop(struct swarm *s)
{
	struct hasher *h = &s->h;

	if (h->running) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->th, NULL);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		h->running = 0;
	}
	if (h->efd >= 0)
		close(h->efd);
	h->efd = -1;
	free(h->in);
	free(h->out);
	free(h->took);
	h->in = h->out = h->took = NULL;
}

/* ---- web seeds (BEP 19), part two ---------------------------------------- */

/* 1 while a web seed may still serve. */
static int
ws_usable(const struct swarm *s)
{
	size_t k;

	for (k = 0; k < s->ws.n; k++)
		if (!s->ws.w[k].dead || s->ws.w[k].busy)
			return 1;
	return 0;
}

/* A wanted piece for a web seed: from the end (the start if sequential). */
static int64_t
ws_pick(struct swarm *s)
{
	uint32_t i;

	if (s->left_to_start == 0 || s->nact >= s->maxact)
		return -1;
	if (s->c->sequential) {
		for (i = s->first_wanted; i < s->npieces; i++)
			if (s->pstate[i] == P_WANTED)
				return i;
		return -1;
	}
	for (i = s->npieces; i-- > 0;)
		if (s->pstate[i] == P_WANTED)
			return i;
	return -1;
}

/* Give each idle web seed a piece. */
static void
ws_assign(struct swarm *s)
{
	struct bt_webseed *w;
	struct piece *pc;
	uint32_t b;
	int64_t i;
	size_t k;

	for (k = 0; k < s->ws.n && !s->failed; k++) {
		w = &s->ws.w[k];
		if (w->dead || w->busy || s->now < w->t_retry)
			continue;
		if ((i = ws_pick(s)) < 0 ||
		    (pc = piece_start(s, (uint32_t)i, -1)) == NULL)
			return;
		/* Solo, no block free: no peer asks for any of it. */
		pc->ws = (int)k + 1;
		pc->solo = 1;
		pc->nfree = 0;
		for (b = 0; b < pc->nblocks; b++)
			pc->bst[b] = B_REQ;
		w->busy = 1;
		bt_webseed_give(&s->ws, k, pc->index, pc->buf);
	}
}

/*
 * Endgame: every wanted piece started. A web seed's piece that an
 * unchoking peer has, while that peer has nothing left to ask for, is
 * taken from the web seed and given to the peers: a stalled server
 * must not hold the last pieces while a peer could serve them (and the
 * peer be dropped as idle meanwhile).
 */
static void
ws_yield(struct swarm *s)
{
	struct bt_webseed *w;
	size_t k, j;

	if (s->left_to_start > 0)
		return;
	for (k = 0; k < s->ws.n; k++) {
		w = &s->ws.w[k];
		if (!w->busy || w->yield)
			continue;
		for (j = 0; j < s->npeer; j++) {
			struct peer *p = s->peer[j];

			if (p->state == PS_ACTIVE && !p->choking &&
			    p->qlive == 0 && peer_has(p, w->index)) {
				w->yield = 1;
				bt_webseed_abort(&s->ws, k);
				break;
			}
		}
	}
}

/* The eventfd fired: take the web seeds' pieces. */
static void
ws_results(struct swarm *s)
{
	struct bt_webseed *w;
	struct piece *pc;
	struct bt_err e;
	uint32_t index, b;
	uint64_t v;
	size_t k;
	int rc, yielded;

	if (read(s->ws.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (k = 0; k < s->ws.n && !s->failed; k++) {
		w = &s->ws.w[k];
		if (!bt_webseed_take(&s->ws, k, &index, &rc, &e))
			continue;
		w->busy = 0;
		if ((pc = piece_of(s, index)) == NULL)
			continue;
		yielded = w->yield;
		w->yield = 0;
		if (yielded && rc < 0 && !w->dead) {
			/* Endgame: the piece is the peers' now, block by
			   block, and never a web seed's again. */
			pc->ws = 0;
			pc->solo = 0;
			pc->owner = -1;
			for (b = 0; b < pc->nblocks; b++)
				pc->bst[b] = B_FREE;
			pc->nfree = pc->nblocks;
			wlog(s, k, BT_LOG_INFO, "piece %u left to the peers "
			    "(endgame)", index);
			continue;
		}
		if (w->dead) {
			/* Banned meanwhile: its bytes are not trusted. */
			ws_release(s, pc);
			continue;
		}
		if (rc < 0) {
			/* Few (BT_WEBSEED_RETRIES): said at -v. */
			ws_release(s, pc);
			wlog(s, k, BT_LOG_BAD, "%s", e.msg);
			if (++w->fails > BT_WEBSEED_RETRIES) {
				w->dead = 1;
				wlog(s, k, BT_LOG_BAD, "dropped after %d "
				    "failures in a row (limit "
				    "BT_WEBSEED_RETRIES)", w->fails);
			} else
				w->t_retry = s->now + ((long long)
				    BT_WEBSEED_BACKOFF_MS << (w->fails - 1));
			continue;
		}
		w->fails = 0;
		s->st.bytes += pc->len;
		s->win_bytes += pc->len;
		for (b = 0; b < pc->nblocks; b++)
			pc->bst[b] = B_DONE;
		pc->ndone = pc->nblocks;
		piece_complete(s, pc);
	}
	ws_assign(s);
}

/* ---- the picker -------------------------------------------------------- */

/* A new piece for p: rarest first (lowest index first if sequential). */
static int64_t
pick_new(struct swarm *s, struct peer *p)
{
	uint32_t i, k, av, best_av = UINT32_MAX, gmin = UINT32_MAX;
	int64_t best = -1;

	if (s->left_to_start == 0)
		return -1;
	/* BEP 6: a piece the peer suggested comes first, latest first. */
	for (k = p->nsuggest; k > 0 && !s->c->sequential; k--) {
		i = p->suggest[(p->suggest_next + BT_SWARM_MAX_SUGGEST - 1 -
		    (p->nsuggest - k)) % BT_SWARM_MAX_SUGGEST];
		if (s->pstate[i] == P_WANTED && peer_has(p, i))
			return i;
	}
	if (s->c->sequential) {
		while (s->first_wanted < s->npieces &&
		    s->pstate[s->first_wanted] != P_WANTED)
			s->first_wanted++;
		for (i = s->first_wanted; i < s->npieces; i++)
			if (s->pstate[i] == P_WANTED && peer_has(p, i))
				return i;
		return -1;
	}
	for (k = 0; k < s->npieces; k++) {
		i = s->cursor + k;
		if (i >= s->npieces)
			i -= s->npieces;
		if (s->pstate[i] != P_WANTED)
			continue;
		av = s->avail[i];
		if (av < gmin)
			gmin = av;
		if (!peer_has(p, i) || av >= best_av)
			continue;
		best = i;
		best_av = av;
		/* None rarer exists: stop scanning. */
		if (av <= s->minav)
			break;
	}
	if (k == s->npieces)
		s->minav = gmin;
	if (best >= 0)
		s->cursor = (uint32_t)best + 1 >= s->npieces ? 0 :
		    (uint32_t)best + 1;
	return best;
}

/* A free block of pc, or -1. */
static int64_t
free_block(struct piece *pc)
{
	uint32_t b;

	if (pc->nfree == 0)
		return -1;
	for (b = 0; b < pc->nblocks; b++)
		if (pc->bst[b] == B_FREE)
			return b;
	return -1;
}

static int
peer_asked(struct peer *p, uint32_t index, uint32_t begin)
{
	unsigned k;

	for (k = 0; k < p->qn; k++) {
		struct req *r = qat(p, k);

		if (r->st == Q_LIVE && r->index == index && r->begin == begin)
			return 1;
	}
	return 0;
}

/*
 * A block of a piece in p's allowed fast set (BEP 6), which p serves
 * while it chokes us: one already started, else a new one.
 */
static int
pick_allowed(struct swarm *s, struct peer *p, struct piece **out,
    uint32_t *blk)
{
	struct piece *pc;
	int64_t b;
	unsigned k;
	uint32_t i;

	for (k = 0; k < p->nallowed; k++) {
		i = p->allowed[k];
		if (!peer_has(p, i) || (pc = piece_of(s, i)) == NULL ||
		    pc->held)
			continue;
		if (pc->solo && pc->owner >= 0 && pc->owner != p->id)
			continue;
		if ((b = free_block(pc)) >= 0) {
			if (pc->solo)
				pc->owner = p->id;
			goto found;
		}
	}
	for (k = 0; k < p->nallowed && s->nact < s->maxact; k++) {
		i = p->allowed[k];
		if (s->pstate[i] != P_WANTED || !peer_has(p, i))
			continue;
		if ((pc = piece_start(s, i, p->id)) == NULL)
			return 0;
		if ((b = free_block(pc)) >= 0)
			goto found;
	}
	return 0;
found:
	*out = pc;
	*blk = (uint32_t)b;
	return 1;
}

/* Choose a block for p: its own pieces, a new one, others', endgame. */
static int
pick(struct swarm *s, struct peer *p, struct piece **out, uint32_t *blk)
{
	struct piece *pc;
	int64_t b, i;
	unsigned k;

	if (p->choking)
		return pick_allowed(s, p, out, blk);
	/* A snubbed peer may only race others for blocks (endgame). */
	if (p->snubbed)
		goto endgame;

	for (k = 0; k < s->nact; k++) {
		pc = &s->act[k];
		if (pc->owner == p->id && (b = free_block(pc)) >= 0)
			goto found;
	}
	if (s->nact >= s->maxact && s->left_to_start > 0)
		slog(s, &s->said_inflight, "%u pieces of %u bytes in flight: "
		    "no more started until one is done (limit "
		    "BT_SWARM_MAX_INFLIGHT)", s->maxact,
		    (unsigned)s->t->piece_length);
	if (s->nact < s->maxact && (i = pick_new(s, p)) >= 0) {
		pc = piece_start(s, (uint32_t)i, p->id);
		if (pc != NULL && (b = free_block(pc)) >= 0)
			goto found;
		if (pc == NULL)
			return 0;
	}
	for (k = 0; k < s->nact; k++) {
		pc = &s->act[k];
		if (pc->held || !peer_has(p, pc->index))
			continue;
		if (pc->solo) {
			if (pc->owner >= 0 && pc->owner != p->id)
				continue;
			if ((b = free_block(pc)) >= 0) {
				pc->owner = p->id;
				goto found;
			}
			continue;
		}
		if ((b = free_block(pc)) >= 0)
			goto found;
	}
	/* Endgame: every block asked; ask the slow ones again. */
	if (s->left_to_start > 0 && s->nact < s->maxact)
		return 0;
endgame:
	for (k = 0; k < s->nact; k++) {
		uint32_t j;

		pc = &s->act[k];
		if (pc->held || pc->solo || !peer_has(p, pc->index))
			continue;
		for (j = 0; j < pc->nblocks; j++) {
			if (pc->bst[j] != B_REQ ||
			    pc->bnreq[j] >= ENDGAME_MAX_REQ ||
			    peer_asked(p, pc->index, j * BT_BLOCK_LEN))
				continue;
			b = j;
			goto found;
		}
	}
	return 0;
found:
	*out = pc;
	*blk = (uint32_t)b;
	return 1;
}

static void
fill_requests(struct swarm *s, struct peer *p)
{
	uint8_t m[17];
	unsigned depth = p->snubbed ? 1 : p->depth;
	struct piece *pc;
	uint32_t b, begin, len;
	struct req *r;

	/* Choked: only the allowed fast pieces may be asked for (BEP 6). */
	if (p->state != PS_ACTIVE || (p->choking && p->nallowed == 0) ||
	    !p->interested || p->rejected)
		return;
	/* BEP 10: its "reqq" is what it queues without dropping. */
	if (p->reqq > 0 && depth > (unsigned)p->reqq)
		depth = (unsigned)p->reqq;
	if (p->qlive == 0)
		p->t_asked = s->now;	/* the snub clock starts now */
	while (p->qlive < depth && p->outlen + 17 <= OUTCAP && !s->failed) {
		/*
		 * A full ring: forget the oldest cancelled request (a block
		 * still sent for it will count as never asked for).
		 */
		while (p->qn == QCAP && p->q[p->qhead].st != Q_LIVE) {
			p->qhead = (p->qhead + 1) % QCAP;
			p->qn--;
		}
		if (p->qn == QCAP || !pick(s, p, &pc, &b))
			break;
		begin = b * BT_BLOCK_LEN;
		len = pc->len - begin < BT_BLOCK_LEN ? pc->len - begin :
		    BT_BLOCK_LEN;
		if (pc->bst[b] == B_FREE) {
			pc->bst[b] = B_REQ;
			pc->nfree--;
		}
		pc->bnreq[b]++;
		r = qat(p, p->qn);
		r->index = pc->index;
		r->begin = begin;
		r->len = len;
		r->st = Q_LIVE;
		p->qn++;
		p->qlive++;
		out_add(p, m, bt_wire_request(m, BT_MSG_REQUEST, pc->index,
		    begin, len));
	}
}

/* ---- connections ------------------------------------------------------- */

static void
set_events(struct swarm *s, struct peer *p, int out)
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
static int
out_pending(const struct swarm *s, const struct peer *p)
{
	return p->outlen > 0 || p->mdoff < p->md.len || p->mdqhead < p->mdqn ||
	    p->up.off < p->up.len || bt_up_pending(s, p);
}

static int md_next(struct swarm *, struct peer *);

/*
 * Send what waits, in the order of the stream: an answer to a ut_metadata
 * request being sent (it is up to 16 KiB, more than the out buffer holds,
 * so it has a buffer of its own), then the out buffer (requests added
 * meanwhile), then, once that is empty, the next answer waiting. An
 * answer is built only as the socket takes it: requests are not held up
 * by more than one, and the memory is one answer a peer.
 */
static int
flush(struct swarm *s, struct peer *p)
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
			drop(s, p, BT_LOG_INFO, "send: %s", strerror(errno));
			return -1;
		}
		p->t_sent = s->now;
		if (md == 2) {
			p->up.off += (size_t)w;
			if (p->up.off == p->up.len)
				p->up.off = p->up.len = 0;
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
	set_events(s, p, out_pending(s, p));
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
		plog(s, p, level, "%s", why);
	else if (p->state == PS_ACTIVE)
		plog(s, p, level, "%s%sdropped: %s (%llu bytes sent)",
		    p->limit, cut ? ": " : "", why,
		    (unsigned long long)p->up.bytes);
	else
		plog(s, p, level, "%s%sclosed: %s", p->limit,
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
	drop(s, p, bad ? BT_LOG_BAD : BT_LOG_INFO, "%s", why);
}

void
bt_sw_drop(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	drop(s, p, level, "%s", why);
}

static void
drop(struct swarm *s, struct peer *p, int level, const char *fmt, ...)
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
	    p->body != NULL && piece_of(s, p->bpiece) != NULL) {
		struct piece *pc = piece_of(s, p->bpiece);

		pc->bst[p->bblock] = pc->bnreq[p->bblock] > 0 ? B_REQ : B_FREE;
		if (pc->bst[p->bblock] == B_FREE)
			pc->nfree++;
		pc->bfrom[p->bblock] = -1;
	}
	release_requests(s, p, 0, 1);
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

static void
try_connect(struct swarm *s, struct peer *p)
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
		drop(s, p, BT_LOG_INFO, "out of memory");
		return;
	}
	p->out = (uint8_t *)(p->q + QCAP);
	fd = socket(p->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		drop(s, p, BT_LOG_INFO, "socket: %s", strerror(errno));
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
		drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&p->addr.sa, p->addr.salen) < 0 &&
	    errno != EINPROGRESS) {
		drop(s, p, BT_LOG_INFO, "connect: %s", strerror(errno));
		return;
	}
}

static struct peer *peer_new(struct swarm *, const struct bt_peer_addr *);

/* A peer that dialled us: the handshake is checked as a dialled one's. */
struct peer *
bt_sw_incoming(struct swarm *s, int fd, const struct bt_peer_addr *a)
{
	struct epoll_event ev;
	struct peer *p;
	int one = 1;

	if ((p = peer_new(s, a)) == NULL)
		return NULL;
	p->up.incoming = 1;
	s->nconn++;
	s->npending++;
	p->fd = fd;
	p->state = PS_HANDSHAKE;
	p->t_state = s->now;
	if ((p->q = malloc(QCAP * sizeof(struct req) + OUTCAP)) == NULL) {
		drop(s, p, BT_LOG_INFO, "out of memory");
		return p;
	}
	p->out = (uint8_t *)(p->q + QCAP);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = p;
	p->pollout = 0;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return p;
	}
	/* BEP 3: one torrent here, so ours goes at once. */
	out_add(p, s->handshake, sizeof(s->handshake));
	flush(s, p);
	return p;
}

int
bt_sw_flush(struct swarm *s, struct peer *p)
{
	return flush(s, p);
}

static void
connected(struct swarm *s, struct peer *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		drop(s, p, BT_LOG_INFO, "connect: %s", strerror(err));
		return;
	}
	p->state = PS_HANDSHAKE;
	p->t_state = s->now;
	p->pollout = -1;
	out_add(p, s->handshake, sizeof(s->handshake));
	flush(s, p);
}

/* ---- the fast extension (BEP 6) ---------------------------------------- */

/* BEP 6: these messages from a peer without the fast extension close the
   connection. */
static int
fast_only(struct swarm *s, struct peer *p, uint8_t id)
{
	if (p->rsv & BT_RSV_FAST)
		return 0;
	drop(s, p, BT_LOG_BAD, "%s without the fast extension (BEP 6)",
	    bt_wire_msg_name(id));
	return -1;
}

static void
on_choke(struct swarm *s, struct peer *p)
{
	if (p->choking)
		return;
	p->choking = 1;
	/*
	 * BEP 3: a choke discards our requests; they are asked again. BEP
	 * 6: a fast peer's does not, each request still gets its block or
	 * a reject (libtorrent rejects them at once); the snub timer takes
	 * them back from a peer that does neither.
	 */
	if (!(p->rsv & BT_RSV_FAST))
		release_requests(s, p, 0, 1);
}

/*
 * A reject: the block goes back to the picker, for another peer or for
 * this one at the next tick. A reject of a request never made counts as
 * a block never asked for.
 */
static int
on_reject(struct swarm *s, struct peer *p, uint32_t index, uint32_t begin,
    uint32_t len)
{
	struct req *r;

	r = find_req(p, index, begin, len);
	if (r == NULL) {
		if (++p->badblocks >= BT_SWARM_BAN_BADBLOCKS) {
			drop(s, p, BT_LOG_BAD, "banned: %d rejects or blocks "
			    "never asked for (limit BT_SWARM_BAN_BADBLOCKS)",
			    p->badblocks);
			return -1;
		}
		return 0;
	}
	if (r->st == Q_LIVE) {
		unrequest(s, r);
		p->qlive--;
		p->rejected = 1;
	}
	r->st = Q_DONE;
	qpop_done(p);
	return 0;
}

/* Past the last piece: ignored, as libtorrent does (BEP 6 is silent). */
static void
on_allowed_fast(struct swarm *s, struct peer *p, uint32_t i)
{
	unsigned k;

	if (i >= s->npieces)
		return;
	for (k = 0; k < p->nallowed; k++)
		if (p->allowed[k] == i)
			return;
	if (p->nallowed >= BT_SWARM_MAX_ALLOWED_FAST)
		return;
	if (p->allowed == NULL && (p->allowed = malloc(
	    BT_SWARM_MAX_ALLOWED_FAST * sizeof(uint32_t))) == NULL)
		return;		/* a hint lost, nothing more */
	p->allowed[p->nallowed++] = i;
}

static void
on_suggest(struct swarm *s, struct peer *p, uint32_t i)
{
	if (i >= s->npieces)
		return;
	p->suggest[p->suggest_next] = i;
	p->suggest_next = (p->suggest_next + 1) % BT_SWARM_MAX_SUGGEST;
	if (p->nsuggest < BT_SWARM_MAX_SUGGEST)
		p->nsuggest++;
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
	out_add(p, (const uint8_t *)b.p, b.len);
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
		drop(s, p, BT_LOG_BAD, "%s", e.msg);
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
		plog(s, p, BT_LOG_INFO, "extension handshake: client \"%s\"%s, "
		    "reqq %d", h.client, h.ut_pex ? ", ut_pex" : "", p->reqq);
	else
		plog(s, p, BT_LOG_INFO, "extension handshake: client \"%s\"%s",
		    h.client, h.ut_pex ? ", ut_pex" : "");
	return 0;
}

enum { A_BAD, A_LOOPBACK, A_OK };

static int
v4_kind(const uint8_t *b)
{
	/* 0/8 is "this network"; 224/4 multicast, 240/4 and broadcast. */
	if (b[0] == 0 || b[0] >= 224)
		return A_BAD;
	return b[0] == 127 ? A_LOOPBACK : A_OK;
}

static int
addr_kind(const struct bt_peer_addr *a)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->sa;
	const uint8_t *b;

	if (a->sa.ss_family == AF_INET) {
		if (in->sin_port == 0)
			return A_BAD;
		return v4_kind((const uint8_t *)&in->sin_addr);
	}
	if (a->sa.ss_family != AF_INET6 || in6->sin6_port == 0)
		return A_BAD;
	b = in6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return v4_kind(b + 12);
	/* Link-local needs an interface we cannot know; ff00::/8 is
	   multicast. */
	if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) || b[0] == 0xff ||
	    IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
		return A_BAD;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ? A_LOOPBACK : A_OK;
}

/*
 * Worth dialling: not unspecified, multicast, broadcast or link-local,
 * port not 0; a loopback address only from a peer on loopback itself (a
 * remote peer's 127.0.0.1 is its own host, not ours).
 */
static int
addr_usable(const struct bt_peer_addr *a, const struct bt_peer_addr *from)
{
	int k = addr_kind(a);

	return k == A_OK || (k == A_LOOPBACK && addr_kind(from) == A_LOOPBACK);
}

static struct peer *
peer_new(struct swarm *s, const struct bt_peer_addr *a)
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

/* Every address in peer[], once, the first time PEX needs it. */
static int
known_init(struct swarm *s)
{
	size_t j;

	if (s->known.n > 0)
		return 0;
	for (j = 0; j < s->npeer; j++)
		if (bt_peerlist_add(&s->known, &s->peer[j]->addr) < 0)
			return -1;
	return 0;
}

/*
 * A learned seed is dialled before the learned non-seeds still waiting:
 * we download, and it has every piece. Waiting peers hold no state
 * under their id, so two of them may swap places.
 */
static void
seed_first(struct swarm *s, struct peer *p)
{
	size_t j = s->next_try > s->ninitial ? s->next_try : s->ninitial;
	struct peer *q;

	for (; j < (size_t)p->id; j++) {
		q = s->peer[j];
		if (q->state != PS_WAITING || (q->pflags & BT_PEX_SEED))
			continue;
		s->peer[j] = p;
		s->peer[p->id] = q;
		q->id = p->id;
		p->id = (int)j;
		return;
	}
}

enum { PEX_ADDED, PEX_KNOWN, PEX_UNUSABLE, PEX_OVER };

/* Our own listening address (trackers and ut_pex list us). */
static int
is_self(const struct swarm *s, const struct bt_peer_addr *a)
{
	uint8_t ip[16];
	uint16_t port;

	if (s->st.port == 0)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->sa;

		port = ntohs(in->sin_port);
		if (port != s->st.port)
			return 0;
		if (in->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
			return 1;
		return s->so != NULL && s->so->bind != NULL &&
		    inet_pton(AF_INET, s->so->bind, ip) == 1 &&
		    memcmp(&in->sin_addr, ip, 4) == 0;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&a->sa;

		port = ntohs(in6->sin6_port);
		if (port != s->st.port)
			return 0;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 1;
		return s->so != NULL && s->so->bind != NULL &&
		    inet_pton(AF_INET6, s->so->bind, ip) == 1 &&
		    memcmp(&in6->sin6_addr, ip, 16) == 0;
	}
}

int
bt_sw_add_peer(struct swarm *s, const struct bt_peer_addr *a)
{
	int r;

	if (is_self(s, a))
		return 0;
	if (s->nadded >= BT_SEED_MAX_DIAL) {
		slog(s, &s->said_dial, "%d peers added while running: more "
		    "are ignored (limit BT_SEED_MAX_DIAL)", BT_SEED_MAX_DIAL);
		return 0;
	}
	if (known_init(s) < 0 || (r = bt_peerlist_add(&s->known, a)) < 0)
		return 0;
	if (r == 0)
		return 0;
	if (peer_new(s, a) == NULL)
		return 0;
	s->nadded++;
	return 1;
}

/* ---- ut_pex we send (BEP 11) ------------------------------------------- */

/* Where a peer listens, for PEX: the address we dialled, or its IP with
   the "p" of its extension handshake; 0 if we do not know. */
static int
listen_addr(const struct peer *p, struct bt_peer_addr *a)
{
	*a = p->addr;
	if (!p->up.incoming)
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

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pexkey));
}

/*
 * The peers others may dial (sorted, once each), for the messages due
 * this tick: those that dialled us and told their port, and those we
 * dialled. Flags: BT_PEX_SEED for a seed, BT_PEX_REACHABLE for one we
 * reached.
 */
static int
pex_build(struct swarm *s)
{
	struct bt_peer_addr a;
	struct {
		struct pexkey k;
		uint8_t f;
	} *v;
	size_t i, n = 0;

	free(s->pconn);
	free(s->pconnflags);
	s->pconn = NULL;
	s->pconnflags = NULL;
	s->npconn = 0;
	if ((v = malloc((s->npeer + 1) * sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < s->npeer; i++) {
		struct peer *q = s->peer[i];

		if (q->state != PS_ACTIVE || !listen_addr(q, &a))
			continue;
		pex_key(&a, &v[n].k);
		v[n].f = (q->seed ? BT_PEX_SEED : 0) |
		    (q->up.incoming ? 0 : BT_PEX_REACHABLE);
		n++;
	}
	qsort(v, n, sizeof(*v), key_cmp);
	if ((s->pconn = malloc((n + 1) * sizeof(*s->pconn))) == NULL ||
	    (s->pconnflags = malloc(n + 1)) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s->npconn > 0 && memcmp(&s->pconn[s->npconn - 1], &v[i].k,
		    sizeof(v[i].k)) == 0)
			continue;
		s->pconn[s->npconn] = v[i].k;
		s->pconnflags[s->npconn++] = v[i].f;
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
pex_send(struct swarm *s, struct peer *p)
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
	if ((told = malloc((s->npconn + p->ntold + 1) * sizeof(*told))) ==
	    NULL)
		return;
	while (i < s->npconn || j < p->ntold) {
		int c = i == s->npconn ? 1 : j == p->ntold ? -1 :
		    key_cmp(&s->pconn[i], &p->told[j]);

		if (c == 0) {
			told[nt++] = p->told[j];
			i++;
			j++;
		} else if (c < 0) {
			/* Connected, not told: added. */
			if ((!hasself || key_cmp(&s->pconn[i], &self) != 0) &&
			    na < BT_PEX_SEND_PEERS) {
				pex_addr(&s->pconn[i], &add[na]);
				fl[na++] = s->pconnflags[i];
				told[nt++] = s->pconn[i];
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
	if (na == 0 && nd == 0) {
		free(p->told);
		p->told = told;
		p->ntold = nt;
		return;
	}
	if (bt_pex_encode(&b, p->pex_id, add, fl, na, del, nd) < 0 || b.oom) {
		free(told);
		bt_buf_free(&b);
		drop(s, p, BT_LOG_INFO, "out of memory");
		return;
	}
	/* The out buffer full of requests: the same diff next time. */
	if (bt_sw_out_room(p) < b.len) {
		free(told);
		bt_buf_free(&b);
		return;
	}
	free(p->told);
	p->told = told;
	p->ntold = nt;
	out_add(p, (const uint8_t *)b.p, b.len);
	plog(s, p, BT_LOG_INFO, "ut_pex sent: %zu added, %zu dropped", na, nd);
	bt_buf_free(&b);
}

/* The messages due: about once a minute to each peer (BEP 11). */
static void
pex_tick(struct swarm *s)
{
	size_t i;
	int built = 0;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p->state != PS_ACTIVE || p->pex_id == 0 ||
		    p->t_pextx == 0 || s->now < p->t_pextx)
			continue;
		if (!built && pex_build(s) < 0)
			return;
		built = 1;
		pex_send(s, p);
		p->t_pextx = s->now + s->pex_ms;
		if (p->state == PS_ACTIVE)
			flush(s, p);
	}
}

static int
pex_add(struct swarm *s, struct peer *from, const struct bt_peer_addr *a,
    unsigned flags)
{
	struct peer *p = NULL;
	int r;

	if (!addr_usable(a, &from->addr))
		return PEX_UNUSABLE;
	/* A seeder has nothing to get from a seed. */
	if (s->so != NULL && (flags & BT_PEX_SEED))
		return PEX_KNOWN;
	if (is_self(s, a))
		return PEX_KNOWN;
	if (s->st.learned >= BT_PEX_MAX_PEERS) {
		slog(s, &s->said_pex, "%d peers learned through PEX: more are "
		    "ignored (limit BT_PEX_MAX_PEERS)", BT_PEX_MAX_PEERS);
		return PEX_OVER;
	}
	if (known_init(s) < 0 || (r = bt_peerlist_add(&s->known, a)) < 0 ||
	    (r == 1 && (p = peer_new(s, a)) == NULL)) {
		bt_errf(s->e, BT_EX_SOFTWARE, -1, "out of memory");
		s->failed = 1;
		return PEX_OVER;
	}
	if (r == 0)
		return PEX_KNOWN;
	p->pflags = flags;
	if (flags & BT_PEX_SEED)
		seed_first(s, p);
	s->st.learned++;
	plog(s, from, BT_LOG_INFO, "PEX: learned %s%s", p->name,
	    (flags & BT_PEX_SEED) ? " (seed)" : "");
	if (s->c->on_pex != NULL)
		s->c->on_pex(s->c->arg, a, flags);
	return PEX_ADDED;
}

/*
 * BEP 11 dropped: the sender left that peer, which may well be in the
 * swarm still (a peer that completes leaves the seeds it had, the very
 * peers a downloader wants). It changes nothing, as in libtorrent and
 * bt-seed: a peer queued is dialled all the same. Said of those still
 * waiting (all of them past next_try), so that -vv shows the message.
 */
static void
pex_dropped(struct swarm *s, struct peer *from, const struct bt_peer_addr *a)
{
	char name[64];
	size_t j;

	if (s->c->on_log == NULL)
		return;
	bt_peer_format(a, name, sizeof(name));
	for (j = s->next_try; j < s->npeer; j++) {
		struct peer *q = s->peer[j];

		if (q->state == PS_WAITING && strcmp(q->name, name) == 0) {
			plog(s, from, BT_LOG_INFO, "PEX: %s dropped before we "
			    "dialled it: dialled all the same", name);
			return;
		}
	}
}

static int
pex_message(struct swarm *s, struct peer *p, const uint8_t *x, size_t n)
{
	struct bt_pex px;
	struct bt_err e;
	size_t k;
	unsigned count[PEX_OVER + 1] = { 0 };

	/* BEP 11: one a minute at most; those sooner are ignored. */
	if (p->t_pex != 0 && s->now - p->t_pex < BT_PEX_MIN_INTERVAL_MS) {
		plog(s, p, BT_LOG_INFO, "ut_pex message %lld ms after the "
		    "last one ignored (limit BT_PEX_MIN_INTERVAL_MS)",
		    s->now - p->t_pex);
		return 0;
	}
	p->t_pex = s->now;
	memset(&px, 0, sizeof(px));
	/* A message that does not parse drops the peer, as a malformed
	   ut_metadata one does. */
	if (bt_pex_parse(x, n, BT_PEX_MAX_MSG_PEERS, &px, &e) < 0) {
		bt_pex_free(&px);
		drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	for (k = 0; k < px.ndropped; k++)
		pex_dropped(s, p, &px.dropped[k]);
	for (k = 0; k < px.nadded && !s->failed; k++)
		count[pex_add(s, p, &px.added[k],
		    px.flags != NULL ? px.flags[k] : 0)]++;
	if (count[PEX_UNUSABLE] > 0)
		plog(s, p, BT_LOG_INFO, "PEX: %u unusable addresses not "
		    "dialled", count[PEX_UNUSABLE]);
	if (px.over > 0)
		plog(s, p, BT_LOG_INFO, "ut_pex message: %zu peers past the "
		    "first %d ignored (limit BT_PEX_MAX_MSG_PEERS)", px.over,
		    BT_PEX_MAX_MSG_PEERS);
	bt_pex_free(&px);
	return s->failed ? -1 : 0;
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
		plog(s, p, BT_LOG_INFO, "ut_metadata request ignored: its "
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
		plog(s, p, BT_LOG_INFO, "ut_metadata request for piece %u "
		    "past the last (%u): rejected", piece, np - 1);
	else if (++p->mdsent == np)
		plog(s, p, BT_LOG_INFO, "metadata sent (%zu bytes)",
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
			plog(s, p, BT_LOG_INFO, "ignored: %s", e.msg);
			return 0;
		}
		drop(s, p, BT_LOG_BAD, "%s", e.msg);
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
	return pex_message(s, p, x + 1, n - 1);
}

/* ---- messages ---------------------------------------------------------- */

static void
interest(struct swarm *s, struct peer *p, int64_t i)
{
	uint8_t m[5];
	uint32_t k;

	if (p->interested)
		return;
	if (i >= 0) {
		if (s->pstate[i] != P_WANTED && s->pstate[i] != P_ACTIVE)
			return;
	} else {
		for (k = 0; k < s->npieces; k++)
			if ((s->pstate[k] == P_WANTED ||
			    s->pstate[k] == P_ACTIVE) && peer_has(p, k))
				break;
		if (k == s->npieces)
			return;
	}
	p->interested = 1;
	out_add(p, m, bt_wire_simple(m, BT_MSG_INTERESTED));
}

static void
became_seed(struct swarm *s, struct peer *p)
{
	p->seed = 1;
	s->nseeds++;
	free(p->have);
	p->have = NULL;
}

/* A piece message's header: decide where its block goes. */
static int
piece_header(struct swarm *s, struct peer *p, uint32_t index, uint32_t begin,
    uint32_t len)
{
	struct piece *pc;
	struct req *r;
	uint32_t b;

	p->body_kind = BODY_SKIP;
	p->body = NULL;
	r = find_req(p, index, begin, len);
	if (r == NULL) {
		if (++p->badblocks >= BT_SWARM_BAN_BADBLOCKS) {
			drop(s, p, BT_LOG_BAD, "banned: %d blocks never asked "
			    "for, or of a wrong offset or length (limit "
			    "BT_SWARM_BAN_BADBLOCKS)", p->badblocks);
			return -1;
		}
		return 0;
	}
	if (r->st == Q_CANCELLED) {
		r->st = Q_DONE;
		qpop_done(p);
		return 0;
	}
	r->st = Q_DONE;
	p->qlive--;
	unrequest(s, r);
	qpop_done(p);
	pc = piece_of(s, index);
	b = begin / BT_BLOCK_LEN;
	if (pc == NULL || pc->bst[b] == B_RECV || pc->bst[b] == B_DONE)
		return 0;	/* another peer was faster (endgame) */
	if (pc->bst[b] == B_FREE)
		pc->nfree--;
	pc->bst[b] = B_RECV;
	pc->bfrom[b] = p->id;
	p->body_kind = BODY_BLOCK;
	p->body = pc->buf + begin;
	p->bpiece = index;
	p->bblock = b;
	return 0;
}

static void
cancel_others(struct swarm *s, struct peer *self, uint32_t index,
    uint32_t begin)
{
	uint8_t m[17];
	size_t i;
	unsigned k;

	for (i = 0; i < s->npeer; i++) {
		struct peer *p = s->peer[i];

		if (p == self || p->state != PS_ACTIVE || p->qlive == 0)
			continue;
		for (k = 0; k < p->qn; k++) {
			struct req *r = qat(p, k);

			if (r->st != Q_LIVE || r->index != index ||
			    r->begin != begin)
				continue;
			unrequest(s, r);
			r->st = Q_CANCELLED;
			p->qlive--;
			out_add(p, m, bt_wire_request(m, BT_MSG_CANCEL,
			    r->index, r->begin, r->len));
		}
	}
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
			drop(s, p, BT_LOG_BAD, "%s", e.msg);
			return -1;
		}
		for (i = 0; i < s->npieces; i++)
			if (bt_bit_get(p->have, i))
				n++;
		if (n == s->npieces)
			became_seed(s, p);
		else
			for (i = 0; i < s->npieces; i++)
				if (bt_bit_get(p->have, i))
					s->avail[i]++;
		interest(s, p, -1);
		return 0;
	}
	if (p->body_kind != BODY_BLOCK || p->body == NULL)
		return 0;
	pc = piece_of(s, p->bpiece);
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
		cancel_others(s, p, pc->index, b * BT_BLOCK_LEN);
	if (pc->ndone == pc->nblocks)
		piece_complete(s, pc);
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
		on_choke(s, p);
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
			drop(s, p, BT_LOG_BAD, "have of piece %u past the "
			    "last (%u)", i, s->npieces - 1);
			return -1;
		}
		p->saw_avail = 1;
		if (p->seed || bt_bit_get(p->have, i))
			return 0;
		bt_bit_set(p->have, i);
		s->avail[i]++;
		interest(s, p, i);
		return 0;
	case BT_MSG_BITFIELD:
		/* aria2 sends one after have none: a seeder, which uses
		   none of it, lets it pass. */
		if (p->saw_avail && s->so != NULL)
			return 0;
		if (p->saw_avail) {
			drop(s, p, BT_LOG_BAD, "bitfield not first");
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
				became_seed(s, p);
			return 0;
		}
		if (p->saw_avail) {
			drop(s, p, BT_LOG_BAD, "have all not first");
			return -1;
		}
		p->saw_avail = 1;
		became_seed(s, p);
		interest(s, p, -1);
		return 0;
	case BT_MSG_HAVE_NONE:
		if (fast_only(s, p, id) < 0)
			return -1;
		if (p->saw_avail && s->so != NULL)
			return 0;
		if (p->saw_avail) {
			drop(s, p, BT_LOG_BAD, "have none not first");
			return -1;
		}
		p->saw_avail = 1;
		return 0;
	case BT_MSG_PIECE:
		return piece_header(s, p, bt_get32(m + 1), bt_get32(m + 5),
		    len - 9);
	case BT_MSG_REJECT:
		if (fast_only(s, p, id) < 0)
			return -1;
		return on_reject(s, p, bt_get32(m + 1), bt_get32(m + 5),
		    bt_get32(m + 9));
	case BT_MSG_ALLOWED_FAST:
		if (fast_only(s, p, id) < 0)
			return -1;
		on_allowed_fast(s, p, bt_get32(m + 1));
		return 0;
	case BT_MSG_SUGGEST:
		if (fast_only(s, p, id) < 0)
			return -1;
		on_suggest(s, p, bt_get32(m + 1));
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
			drop(s, p, BT_LOG_BAD, "%s", e.msg);
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
static int
activate(struct swarm *s, struct peer *p)
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
		plog(s, p, BT_LOG_INFO, "connected (%s)",
		    p->up.incoming ? "in" : "out");
	else
		plog(s, p, BT_LOG_INFO, "handshake done%s",
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
		drop(s, p, BT_LOG_INFO, "closed during the handshake");
		return -1;
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		drop(s, p, BT_LOG_INFO, "recv: %s", strerror(errno));
		return -1;
	}
	p->hslen += (size_t)r;
	p->t_rx = s->now;
	st = bt_wire_handshake_check(p->hs, p->hslen, s->t->info_hash,
	    s->our_id, &e);
	if (st < 0) {
		drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	if (st != BT_HS_DONE)
		return 1;
	/* What both sides speak: the bits we set that it set too. */
	p->rsv = bt_wire_reserved(p->hs) & (BT_RSV_FAST | BT_RSV_EXT);
	if (s->st.peers >= max_active(s)) {
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
		slog(s, &s->said_conns, "%d peers connected: others wait for "
		    "a free slot (limit BT_SWARM_MAX_CONNS)",
		    BT_SWARM_MAX_CONNS);
		plog(s, p, BT_LOG_INFO, "handshake done; waits for a free "
		    "slot (limit BT_SWARM_MAX_CONNS)");
		return 1;
	}
	return activate(s, p);
}

static void
readable(struct swarm *s, struct peer *p)
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
		/* --download-rate: nothing more from anyone until the refill. */
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
			drop(s, p, BT_LOG_INFO, "closed by the peer");
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				drop(s, p, BT_LOG_INFO, "recv: %s",
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
		fill_requests(s, p);
		flush(s, p);
	}
}

/* ---- the peer list on a pipe (the seeding role) ------------------------ */

static void dial_more(struct swarm *);

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
			try_connect(s, p);
	}
	if (s->next_try < s->npeer && s->npending >= s->maxpending)
		slog(s, &s->said_pending, "%u connects and handshakes in "
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
		drop(s, p, BT_LOG_INFO, "epoll: %s", strerror(errno));
		return;
	}
	p->pollout = 0;
	if (activate(s, p) < 0)
		return;
	readable(s, p);
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
		if (s->st.peers < max_active(s))
			unpark(s, p);
		return;
	case PS_ACTIVE:
		break;
	default:
		return;
	}
	if (out_pending(s, p) && s->now - p->t_sent > idle) {
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
		drop(s, p, BT_LOG_INFO, "peer is a seed");
		return;
	}
	if (!out_pending(s, p) && s->now - p->t_sent > BT_SEED_KEEPALIVE_MS) {
		out_add(p, m, bt_wire_keepalive(m));
		p->t_sent = s->now;
	}
	if (out_pending(s, p))
		flush(s, p);
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
				drop(s, p, BT_LOG_INFO, "no connection in %d "
				    "ms (limit BT_SWARM_CONNECT_MS, "
				    "--connect-timeout)", s->connect_ms);
			}
			continue;
		case PS_HANDSHAKE:
			if (s->now - p->t_state > s->handshake_ms) {
				s->st.timedout++;
				drop(s, p, BT_LOG_INFO, "no handshake in %d "
				    "ms (limit BT_SWARM_HANDSHAKE_MS, "
				    "--handshake-timeout)", s->handshake_ms);
			}
			continue;
		case PS_PARKED:
			/* A free slot: parked peers come in, in list order. */
			if (s->st.peers < max_active(s))
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
			drop(s, p, BT_LOG_INFO, "%s for %d ms while peers wait "
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
		if (s->now - p->t_block > s->idle_ms &&
		    s->now - p->up.t_up > s->idle_ms) {
			s->st.timedout++;
			drop(s, p, BT_LOG_INFO, "no block in %d ms (limit "
			    "BT_SWARM_IDLE_MS, --idle-timeout)", s->idle_ms);
			continue;
		}
		if (p->qlive > 0 && !p->snubbed &&
		    s->now - p->t_block > s->snub_ms &&
		    s->now - p->t_asked > s->snub_ms) {
			/* Snubbed: its requests go to other peers. */
			p->snubbed = 1;
			plog(s, p, BT_LOG_INFO, "snubbed: no block in %d ms "
			    "(limit BT_SWARM_SNUB_MS)", s->snub_ms);
			release_requests(s, p, 1, 0);
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
			out_add(p, m, bt_wire_keepalive(m));
		p->rejected = 0;
		fill_requests(s, p);
		if (out_pending(s, p))
			flush(s, p);
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
		pex_tick(s);
	}
	bt_up_tick(s);
	if (s->need_fill) {
		s->need_fill = 0;
		bt_up_fill_slots(s);
	}
	ws_assign(s);
	ws_yield(s);
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
				set_events(s, p, out_pending(s, p));
		}
	if (c->upload_rate > 0 && up_was_empty && s->up_tokens > 0)
		for (j = 0; j < s->npeer; j++) {
			struct peer *p = s->peer[j];

			if (p->state == PS_ACTIVE && bt_up_pending(s, p))
				flush(s, p);
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
		if (peer_new(s, &peers[k]) == NULL)
			return bt_errf(e, BT_EX_SOFTWARE, -1,
			    "out of memory");
	s->ninitial = s->npeer;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "epoll: %s",
		    strerror(errno));
	/* Without the thread, pieces are hashed inline: slower, as safe.
	   A seeder hashes nothing it receives. */
	if (s->so != NULL || hash_start(s) < 0)
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
	hash_stop(s);
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
		piece_free_slot(s, &s->act[0]);
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
			/* --linger: serve the peers that still want ours. */
			if (!bt_up_linger(s))
				break;
			goto wait;
		}
		/* Pieces still in the hasher may yet complete the run;
		   peers may yet dial in (--linger). */
		if (s->nconn == 0 && s->next_try >= s->npeer &&
		    !hashing(s) && !bt_up_waiting(s) && !ws_usable(s)) {
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
				hash_results(s);
				continue;
			}
			if (ev[i].data.ptr == &s->ws) {
				ws_results(s);
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
				connected(s, p);
				continue;
			}
			if (p->state == PS_CLOSED)
				continue;
			if (p->state == PS_PARKED) {
				/* Only errors are reported while parked. */
				drop(s, p, BT_LOG_INFO, "closed while waiting "
				    "for a free slot");
				continue;
			}
			/* Paused (--download-rate), an error or hang-up
			   would wake us again and again: it ends the peer. */
			if (p->rpaused && (ev[i].events & (EPOLLERR |
			    EPOLLHUP))) {
				drop(s, p, BT_LOG_INFO, "closed by the peer");
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				readable(s, p);
			if (p->state != PS_CLOSED &&
			    (ev[i].events & EPOLLOUT))
				flush(s, p);
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
			drop(s, s->peer[k], BT_LOG_INFO, "stopping");
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
