/*
 * The choker (BEP 3), pure: no sockets, no clock of its own, no random
 * source of its own, so that both engines can use it and a test can
 * drive it. The caller fills one bt_choke_peer a connected peer, calls
 * bt_choker_due with the time to learn whether a round is due, and
 * bt_choke to decide; then it sends choke and unchoke as .unchoke says.
 *
 * A round: the interested peers that are not snubbed, ranked by .rate
 * (the caller's choice: their download rate to us while we leech,
 * tit-for-tat; our upload rate to them once we are complete), take the
 * regular slots; one more interested peer, chosen at random among the
 * others, is the optimistic unchoke, kept between rounds and changed
 * every BT_CHOKE_OPTIMISTIC_MS. Peers not interested are choked: they
 * ask for nothing, and are unchoked when they say they are interested
 * (bt_choke_room says whether a slot is free at once).
 */
#ifndef BT_CHOKER_H
#define BT_CHOKER_H

#include <stddef.h>
#include <stdint.h>

/* Regular unchoke slots unless told (BEP 3's client had 4). */
#define BT_CHOKE_SLOTS		4
/* BEP 3: rechoke every 10 s, rotate the optimistic unchoke every 30 s. */
#define BT_CHOKE_ROUND_MS	10000
#define BT_CHOKE_OPTIMISTIC_MS	30000

struct bt_choke_peer {
	double rate;		/* in: bytes a second, the ranking */
	int interested;		/* in: it is interested in our pieces */
	int snubbed;		/* in: no regular slot for it */
	int optimistic;		/* in and out: the optimistic unchoke */
	int unchoke;		/* out: 1 unchoked, 0 choked */
};

struct bt_choker {
	long long t_round, t_opt;	/* last round and rotation; 0: none */
};

/* bt_choker_due: what is due at time now (ms). */
enum {
	BT_CHOKE_NONE = 0,
	BT_CHOKE_ROUND = 1,	/* rank again */
	BT_CHOKE_ROTATE = 2,	/* and pick a new optimistic unchoke */
};

/* What is due at now; records it as done. The first call is both. */
int bt_choker_due(struct bt_choker *c, long long now);

/*
 * Decide for the n peers: slots regular slots (at least 1); rotate
 * (BT_CHOKE_ROTATE in the flags) picks a new optimistic unchoke with rnd;
 * else the optimistic peer stays if it is still interested and choked by
 * the ranking. Returns the number of peers unchoked.
 */
size_t bt_choke(struct bt_choke_peer *p, size_t n, int slots, int flags,
    uint32_t rnd);

/* 1 when a newly interested peer may be unchoked at once. */
int bt_choke_room(const struct bt_choke_peer *p, size_t n, int slots);

#endif
