/* The choker (lib/choker): rounds, ranking, snubbed peers, optimism. */
#include <string.h>

#include "choker.h"
#include "t.h"

static struct bt_choke_peer
peer(double rate, int interested, int snubbed)
{
	struct bt_choke_peer p;

	memset(&p, 0, sizeof(p));
	p.rate = rate;
	p.interested = interested;
	p.snubbed = snubbed;
	return p;
}

int
main(void)
{
	struct bt_choke_peer p[8];
	struct bt_choker c;
	size_t n, i, opt;

	memset(&c, 0, sizeof(c));
	T_OK(bt_choker_due(&c, 1000) == (BT_CHOKE_ROUND | BT_CHOKE_ROTATE),
	    "the first call is a round and a rotation");
	T_OK(bt_choker_due(&c, 5000) == BT_CHOKE_NONE, "nothing before 10 s");
	T_OK(bt_choker_due(&c, 11000) == BT_CHOKE_ROUND, "a round at 10 s");
	T_OK(bt_choker_due(&c, 21000) == BT_CHOKE_ROUND, "a round at 20 s");
	T_OK(bt_choker_due(&c, 31000) == (BT_CHOKE_ROUND | BT_CHOKE_ROTATE),
	    "a rotation at 30 s");

	/* Six interested peers, two slots: the two fastest, one optimist. */
	for (i = 0; i < 6; i++)
		p[i] = peer((double)(i * 100), 1, 0);
	n = bt_choke(p, 6, 2, BT_CHOKE_ROUND | BT_CHOKE_ROTATE, 0);
	T_OK(n == 3, "two slots and an optimistic unchoke: %zu", n);
	T_OK(p[5].unchoke && p[4].unchoke && !p[5].optimistic &&
	    !p[4].optimistic, "the two fastest have the regular slots");
	T_OK(p[0].unchoke && p[0].optimistic,
	    "rnd 0: the first of the others is the optimistic unchoke");
	T_OK(!p[1].unchoke && !p[2].unchoke && !p[3].unchoke,
	    "the rest are choked");

	/* The next round without rotation keeps the optimistic peer. */
	n = bt_choke(p, 6, 2, BT_CHOKE_ROUND, 3);
	T_OK(p[0].optimistic && p[0].unchoke && n == 3,
	    "the optimistic unchoke stays between rotations");
	/* A rotation chooses again with rnd (2: the third candidate). */
	n = bt_choke(p, 6, 2, BT_CHOKE_ROUND | BT_CHOKE_ROTATE, 2);
	T_OK(p[2].optimistic && p[2].unchoke && !p[0].unchoke && n == 3,
	    "a rotation picks another optimistic unchoke");

	/* The optimistic peer lost interest: another one is chosen. */
	p[2].interested = 0;
	bt_choke(p, 6, 2, BT_CHOKE_ROUND, 0);
	T_OK(!p[2].unchoke && !p[2].optimistic && p[0].optimistic,
	    "a peer no longer interested is choked, another is optimistic");

	/* Snubbed peers get no regular slot, whatever their rate. */
	for (i = 0; i < 4; i++)
		p[i] = peer((double)(1000 - i), 1, i < 2);
	bt_choke(p, 4, 2, BT_CHOKE_ROUND | BT_CHOKE_ROTATE, 1);
	T_OK(p[2].unchoke && p[3].unchoke && !p[2].optimistic &&
	    !p[3].optimistic, "the regular slots skip snubbed peers");
	for (opt = 0, i = 0; i < 4; i++)
		opt += (size_t)p[i].optimistic;
	T_OK(opt == 1 && p[1].optimistic,
	    "a snubbed peer may still be the optimistic unchoke");

	/* Not interested: choked, and never the optimistic unchoke. */
	for (i = 0; i < 3; i++)
		p[i] = peer(500, 0, 0);
	n = bt_choke(p, 3, 4, BT_CHOKE_ROUND | BT_CHOKE_ROTATE, 7);
	T_OK(n == 0 && !p[0].unchoke && !p[1].unchoke && !p[2].unchoke,
	    "peers not interested stay choked");

	/* Fewer interested peers than slots: all unchoked, no optimist. */
	p[0] = peer(1, 1, 0);
	p[1] = peer(0, 1, 0);
	n = bt_choke(p, 2, 4, BT_CHOKE_ROUND | BT_CHOKE_ROTATE, 9);
	T_OK(n == 2 && p[0].unchoke && p[1].unchoke, "room for everyone");
	T_OK(bt_choke_room(p, 2, 4), "a slot is free for a newcomer");
	T_OK(!bt_choke_room(p, 2, 1), "no slot with 1 slot and 2 busy");
	T_OK(bt_choke(p, 0, 4, BT_CHOKE_ROUND, 0) == 0, "no peer");
	return t_done();
}
