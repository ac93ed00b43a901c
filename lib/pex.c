/*
 * Peer exchange (BEP 11), both ways: the peers a ut_pex message names are
 * queued to be dialled, within limits; every --pex-interval each peer
 * that offered ut_pex is told the peers connected since, and those gone.
 * Also the addresses worth dialling, and our own.
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
		bt_sw_slog(s, &s->said_dial,
		    "%d peers added while running: more "
		    "are ignored (limit BT_SEED_MAX_DIAL)", BT_SEED_MAX_DIAL);
		return 0;
	}
	if (known_init(s) < 0 || (r = bt_peerlist_add(&s->known, a)) < 0)
		return 0;
	if (r == 0)
		return 0;
	if (bt_sw_peer_new(s, a) == NULL)
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
		bt_sw_drop(s, p, BT_LOG_INFO, "out of memory");
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
	bt_sw_out_add(p, (const uint8_t *)b.p, b.len);
	bt_sw_plog(s, p, BT_LOG_INFO, "ut_pex sent: %zu added, %zu dropped", na,
	    nd);
	bt_buf_free(&b);
}

/* The messages due: about once a minute to each peer (BEP 11). */
void
bt_sw_pex_tick(struct swarm *s)
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
			bt_sw_flush(s, p);
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
		bt_sw_slog(s, &s->said_pex,
		    "%d peers learned through PEX: more are "
		    "ignored (limit BT_PEX_MAX_PEERS)", BT_PEX_MAX_PEERS);
		return PEX_OVER;
	}
	if (known_init(s) < 0 || (r = bt_peerlist_add(&s->known, a)) < 0 ||
	    (r == 1 && (p = bt_sw_peer_new(s, a)) == NULL)) {
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
	bt_sw_plog(s, from, BT_LOG_INFO, "PEX: learned %s%s", p->name,
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
			bt_sw_plog(s, from, BT_LOG_INFO,
			    "PEX: %s dropped before we "
			    "dialled it: dialled all the same", name);
			return;
		}
	}
}

int
bt_sw_pex_message(struct swarm *s, struct peer *p, const uint8_t *x, size_t n)
{
	struct bt_pex px;
	struct bt_err e;
	size_t k;
	unsigned count[PEX_OVER + 1] = { 0 };

	/* BEP 11: one a minute at most; those sooner are ignored. */
	if (p->t_pex != 0 && s->now - p->t_pex < BT_PEX_MIN_INTERVAL_MS) {
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "ut_pex message %lld ms after the "
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
		bt_sw_drop(s, p, BT_LOG_BAD, "%s", e.msg);
		return -1;
	}
	for (k = 0; k < px.ndropped; k++)
		pex_dropped(s, p, &px.dropped[k]);
	for (k = 0; k < px.nadded && !s->failed; k++)
		count[pex_add(s, p, &px.added[k],
		    px.flags != NULL ? px.flags[k] : 0)]++;
	if (count[PEX_UNUSABLE] > 0)
		bt_sw_plog(s, p, BT_LOG_INFO, "PEX: %u unusable addresses not "
		    "dialled", count[PEX_UNUSABLE]);
	if (px.over > 0)
		bt_sw_plog(s, p, BT_LOG_INFO,
		    "ut_pex message: %zu peers past the "
		    "first %d ignored (limit BT_PEX_MAX_MSG_PEERS)", px.over,
		    BT_PEX_MAX_MSG_PEERS);
	bt_pex_free(&px);
	return s->failed ? -1 : 0;
}
