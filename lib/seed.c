/*
 * bt-seed's engine is the swarm's (lib/swarm) in its seeding role: every
 * piece of the folder held, nothing wanted, a seeder's limits. This file
 * only configures it and gives its figures the shape bt-seed prints.
 */
#include <string.h>

#include "seed.h"
#include "swarm.h"

static void
seed_log(void *arg, int level, const char *msg)
{
	const struct bt_seed_opts *o = arg;

	(void)level;
	o->log(o->logarg, msg);
}

int
bt_seed_run(const struct bt_torrent *t, const char *dir,
    const struct bt_seed_opts *o, struct bt_seed_stats *st,
    struct bt_err *e)
{
	struct bt_swarm_conf c;
	struct bt_swarm_stats ss;
	int r;

	memset(&c, 0, sizeof(c));
	memset(&ss, 0, sizeof(ss));
	c.t = t;
	c.dir = dir;
	c.seed = o;
	c.upload_rate = o->rate;
	c.slots = o->slots;
	c.on_log = o->log != NULL ? seed_log : NULL;
	c.arg = (void *)o;
	r = bt_swarm_run(&c, NULL, 0, &ss, e);
	memset(st, 0, sizeof(*st));
	st->port = ss.port;
	st->npieces = t->npieces;
	st->have = ss.held;
	st->bad = ss.bad;
	st->peers = ss.handshakes;
	st->served = ss.uploaded_to;
	st->blocks = ss.blocks;
	st->uploaded = ss.uploaded;
	st->refused = ss.refused;
	st->dropped = ss.dropped;
	st->announces = ss.announces;
	st->announce_errors = ss.announce_errors;
	st->seconds = (double)ss.elapsed_ms / 1000;
	return r;
}
