/*
 * Web seeds (BEP 19) in the download role: which piece each fetches
 * (lib/webseed does the HTTP), what becomes of it, bans and back-off.
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

	bt_sw_piece_free_slot(s, pc);
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
void
bt_sw_ws_banned(struct swarm *s, struct piece *pc)
{
	size_t k = (size_t)pc->ws - 1;

	if (!s->ws.w[k].dead) {
		s->ws.w[k].dead = 1;
		s->st.dropped++;
		/* Its piece in flight, if any, is not wanted either. */
		if (s->ws.w[k].busy)
			bt_webseed_abort(&s->ws, k);
		wlog(s, k, BT_LOG_BAD, "banned: piece %u failed its %s",
		    pc->index, s->t->v2only ? "SHA-256" : "SHA-1");
	}
	ws_release(s, pc);
}

/* ---- web seeds (BEP 19), part two ---------------------------------------- */

/* 1 while a web seed may still serve. */
int
bt_sw_ws_usable(const struct swarm *s)
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
void
bt_sw_ws_assign(struct swarm *s)
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
		    (pc = bt_sw_piece_start(s, (uint32_t)i, -1)) == NULL)
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
void
bt_sw_ws_yield(struct swarm *s)
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
			    p->qlive == 0 && bt_sw_peer_has(p, w->index)) {
				w->yield = 1;
				bt_webseed_abort(&s->ws, k);
				break;
			}
		}
	}
}

/* The eventfd fired: take the web seeds' pieces. */
void
bt_sw_ws_results(struct swarm *s)
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
		if ((pc = bt_sw_piece_of(s, index)) == NULL)
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
		bt_sw_piece_complete(s, pc);
	}
	bt_sw_ws_assign(s);
}
