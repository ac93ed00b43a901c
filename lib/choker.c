/*
 * The choker: see choker.h. Ranking is a selection of the best slots
 * peers, n * slots steps: n is at most a few hundred connected peers.
 */
#include "choker.h"

int
bt_choker_due(struct bt_choker *c, long long now)
{
	int f = BT_CHOKE_NONE;

	if (c->t_round == 0 || now - c->t_round >= BT_CHOKE_ROUND_MS) {
		f |= BT_CHOKE_ROUND;
		c->t_round = now;
	}
	if (c->t_opt == 0 || now - c->t_opt >= BT_CHOKE_OPTIMISTIC_MS) {
		f |= BT_CHOKE_ROUND | BT_CHOKE_ROTATE;
		c->t_opt = now;
		c->t_round = now;
	}
	return f;
}

/* Worth a regular slot. */
static int
regular(const struct bt_choke_peer *p)
{
	return p->interested && !p->snubbed;
}

size_t
bt_choke(struct bt_choke_peer *p, size_t n, int slots, int flags,
    uint32_t rnd)
{
	size_t i, k, best, nun = 0, ncand = 0;
	long opt = -1;

	if (slots < 1)
		slots = 1;
	for (i = 0; i < n; i++) {
		if (p[i].optimistic && p[i].interested &&
		    !(flags & BT_CHOKE_ROTATE) && opt < 0)
			opt = (long)i;
		p[i].optimistic = 0;
		p[i].unchoke = 0;
	}
	/* The best slots peers by rate; ties keep the first. */
	for (k = 0; k < (size_t)slots; k++) {
		best = n;
		for (i = 0; i < n; i++)
			if (regular(&p[i]) && !p[i].unchoke &&
			    (best == n || p[i].rate > p[best].rate))
				best = i;
		if (best == n)
			break;
		p[best].unchoke = 1;
		nun++;
	}
	/* The optimistic unchoke: kept, or a new one among the rest. */
	if (opt >= 0 && p[opt].unchoke)
		opt = -1;	/* it earned a regular slot: choose again */
	if (opt < 0) {
		for (i = 0; i < n; i++)
			if (p[i].interested && !p[i].unchoke)
				ncand++;
		if (ncand > 0) {
			k = rnd % ncand;
			for (i = 0; i < n; i++)
				if (p[i].interested && !p[i].unchoke &&
				    k-- == 0) {
					opt = (long)i;
					break;
				}
		}
	}
	if (opt >= 0) {
		p[opt].optimistic = 1;
		p[opt].unchoke = 1;
		nun++;
	}
	return nun;
}

int
bt_choke_room(const struct bt_choke_peer *p, size_t n, int slots)
{
	size_t i, busy = 0;

	if (slots < 1)
		slots = 1;
	for (i = 0; i < n; i++)
		if (p[i].unchoke && p[i].interested)
			busy++;
	/* The regular slots and the optimistic one. */
	return busy < (size_t)slots + 1;
}
