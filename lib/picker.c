/*
 * The download role: our requests to each peer, the pieces in flight,
 * rarest-first choice, endgame, the hasher thread that checks SHA-1, and
 * what the peer wire tells the picker (choke, reject, allowed fast,
 * suggest, have, the blocks that arrive).
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

#include "phash.h"
#include "swarm_int.h"

int
bt_sw_peer_has(const struct peer *p, uint32_t i)
{
	return p->seed || (p->have != NULL && bt_bit_get(p->have, i));
}

struct piece *
bt_sw_piece_of(struct swarm *s, uint32_t i)
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

/* Give a live request's block back to the picker. */
static void
unrequest(struct swarm *s, struct req *r)
{
	struct piece *pc = bt_sw_piece_of(s, r->index);
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
void
bt_sw_release_requests(struct swarm *s, struct peer *p, int cancel, int forget)
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
			bt_sw_out_add(p, m, bt_wire_request(m, BT_MSG_CANCEL,
			    r->index, r->begin, r->len));
	}
	p->qlive = 0;
	if (forget)
		p->qn = p->qhead = 0;
}

/* ---- pieces ------------------------------------------------------------ */

void
bt_sw_piece_free_slot(struct swarm *s, struct piece *pc)
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
int
bt_sw_hashing(const struct swarm *s)
{
	unsigned k;

	for (k = 0; k < s->nact; k++)
		if (s->act[k].hashing)
			return 1;
	return 0;
}

struct piece *
bt_sw_piece_start(struct swarm *s, uint32_t i, int owner)
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
		pc = bt_sw_piece_of(s, s->next_emit);
		if (pc == NULL || !pc->held)
			break;
		if (emit(s, pc) < 0)
			break;
		s->pstate[pc->index] = P_DONE;
		bt_sw_piece_free_slot(s, pc);
		s->next_emit++;
	}
}


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
				bt_sw_piece_free_slot(s, pc);
		}
		return;
	}
	s->st.hashfails++;
	if (pc->ws) {
		bt_sw_ws_banned(s, pc);
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
			bt_sw_drop(s, p, BT_LOG_BAD, "banned: %d pieces failed "
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
	uint64_t one = 1;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->in_n == 0 && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		j = h->in[h->in_head];
		pthread_mutex_unlock(&h->mu);
		/* Out of memory (v2) counts as a failure: asked again. */
		j.ok = bt_piece_ok(j.t, j.index, j.buf, j.len) == 1;
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
void
bt_sw_piece_complete(struct swarm *s, struct piece *pc)
{
	struct hasher *h = &s->h;

	if (!h->running) {
		piece_verified(s, pc, bt_piece_ok(s->t, pc->index, pc->buf,
		    pc->len) == 1);
		return;
	}
	pc->hashing = 1;
	pthread_mutex_lock(&h->mu);
	h->in[(h->in_head + h->in_n) % h->cap] = (struct hjob){ pc->index,
	    pc->len, pc->buf, s->t, 0 };
	h->in_n++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* The eventfd fired: take the hasher's results. */
void
bt_sw_hash_results(struct swarm *s)
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
		struct piece *pc = bt_sw_piece_of(s, done[k].index);

		if (pc != NULL && pc->hashing)
			piece_verified(s, pc, done[k].ok);
	}
}

int
bt_sw_hash_start(struct swarm *s)
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

void
bt_sw_hash_stop(struct swarm *s)
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
		if (s->pstate[i] == P_WANTED && bt_sw_peer_has(p, i))
			return i;
	}
	if (s->c->sequential) {
		while (s->first_wanted < s->npieces &&
		    s->pstate[s->first_wanted] != P_WANTED)
			s->first_wanted++;
		for (i = s->first_wanted; i < s->npieces; i++)
			if (s->pstate[i] == P_WANTED && bt_sw_peer_has(p, i))
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
		if (!bt_sw_peer_has(p, i) || av >= best_av)
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
		if (!bt_sw_peer_has(p, i) || (pc = bt_sw_piece_of(s, i)) == NULL
		    ||
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
		if (s->pstate[i] != P_WANTED || !bt_sw_peer_has(p, i))
			continue;
		if ((pc = bt_sw_piece_start(s, i, p->id)) == NULL)
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
		bt_sw_slog(s, &s->said_inflight,
		    "%u pieces of %u bytes in flight: "
		    "no more started until one is done (limit "
		    "BT_SWARM_MAX_INFLIGHT)", s->maxact,
		    (unsigned)s->t->piece_length);
	if (s->nact < s->maxact && (i = pick_new(s, p)) >= 0) {
		pc = bt_sw_piece_start(s, (uint32_t)i, p->id);
		if (pc != NULL && (b = free_block(pc)) >= 0)
			goto found;
		if (pc == NULL)
			return 0;
	}
	for (k = 0; k < s->nact; k++) {
		pc = &s->act[k];
		if (pc->held || !bt_sw_peer_has(p, pc->index))
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
		if (pc->held || pc->solo || !bt_sw_peer_has(p, pc->index))
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

void
bt_sw_fill_requests(struct swarm *s, struct peer *p)
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
		bt_sw_out_add(p, m, bt_wire_request(m, BT_MSG_REQUEST,
		    pc->index,
		    begin, len));
	}
}

void
bt_sw_on_choke(struct swarm *s, struct peer *p)
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
		bt_sw_release_requests(s, p, 0, 1);
}

/*
 * A reject: the block goes back to the picker, for another peer or for
 * this one at the next tick. A reject of a request never made counts as
 * a block never asked for.
 */
int
bt_sw_on_reject(struct swarm *s, struct peer *p, uint32_t index, uint32_t begin,
    uint32_t len)
{
	struct req *r;

	r = find_req(p, index, begin, len);
	if (r == NULL) {
		if (++p->badblocks >= BT_SWARM_BAN_BADBLOCKS) {
			bt_sw_drop(s, p, BT_LOG_BAD,
			    "banned: %d rejects or blocks "
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
void
bt_sw_on_allowed_fast(struct swarm *s, struct peer *p, uint32_t i)
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

void
bt_sw_on_suggest(struct swarm *s, struct peer *p, uint32_t i)
{
	if (i >= s->npieces)
		return;
	p->suggest[p->suggest_next] = i;
	p->suggest_next = (p->suggest_next + 1) % BT_SWARM_MAX_SUGGEST;
	if (p->nsuggest < BT_SWARM_MAX_SUGGEST)
		p->nsuggest++;
}

/* ---- messages ---------------------------------------------------------- */

void
bt_sw_interest(struct swarm *s, struct peer *p, int64_t i)
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
			    s->pstate[k] == P_ACTIVE) && bt_sw_peer_has(p, k))
				break;
		if (k == s->npieces)
			return;
	}
	p->interested = 1;
	bt_sw_out_add(p, m, bt_wire_simple(m, BT_MSG_INTERESTED));
}

void
bt_sw_became_seed(struct swarm *s, struct peer *p)
{
	p->seed = 1;
	s->nseeds++;
	free(p->have);
	p->have = NULL;
}

/* A piece message's header: decide where its block goes. */
int
bt_sw_piece_header(struct swarm *s, struct peer *p, uint32_t index,
    uint32_t begin,
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
			bt_sw_drop(s, p, BT_LOG_BAD,
			    "banned: %d blocks never asked "
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
	pc = bt_sw_piece_of(s, index);
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

void
bt_sw_cancel_others(struct swarm *s, struct peer *self, uint32_t index,
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
			bt_sw_out_add(p, m, bt_wire_request(m, BT_MSG_CANCEL,
			    r->index, r->begin, r->len));
		}
	}
}
