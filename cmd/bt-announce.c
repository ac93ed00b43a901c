/*
 * bt-announce: ask a torrent's trackers (or a magnet link's) for peers,
 * write their answers (the tracker answer stream of bt(7)) on stdout.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "cli.h"
#include "magnet.h"
#include "metainfo.h"
#include "tracker.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bt-announce [-as] [-d bytes] [-e event] "
	    "[-i peer-id] [-l bytes] [-n numwant]\n"
	    "                   [-p port] [-r retries] [-t seconds] "
	    "[-T url] [-u bytes] torrent | magnet\n");
	exit(BT_EX_USAGE);
}

/*
 * What left says for a magnet link, whose size is unknown until its
 * metadata is fetched: not 0, which a tracker may take for a seed (and
 * then hand no seeds), but one block, as libtorrent sends.
 */
#define MAGNET_LEFT	16384
/* Bytes of a magnet link shown in a message before it is cut. */
#define LINK_SHOWN	80

/* The link made printable for a message, cut with "..." when long. */
static char *
show_link(const char *s, char *out, size_t outsz)
{
	size_t n = strlen(s);

	bt_escape(s, n > LINK_SHOWN ? LINK_SHOWN : n, out, outsz - 3);
	if (n > LINK_SHOWN)
		strcat(out, "...");
	return out;
}

static void
randbytes(void *p, size_t n)
{
	if (getrandom(p, n, 0) != (ssize_t)n) {
		/* Not secret: only needs to differ between runs. */
		unsigned char *q = p;
		size_t i;

		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		for (i = 0; i < n; i++)
			q[i] = (unsigned char)random();
	}
}

static double
seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 3600)
		bt_die(BT_EX_USAGE, "%s: '%s' is not a number of seconds "
		    "in (0, 3600]", opt, s);
	return v;
}

static int
event(const char *s)
{
	if (strcmp(s, "none") == 0)
		return BT_EVENT_NONE;
	if (strcmp(s, "started") == 0)
		return BT_EVENT_STARTED;
	if (strcmp(s, "completed") == 0)
		return BT_EVENT_COMPLETED;
	if (strcmp(s, "stopped") == 0)
		return BT_EVENT_STOPPED;
	bt_die(BT_EX_USAGE, "--event: '%s' is not started, completed, "
	    "stopped or none", s);
}

struct list {
	const char **url;
	size_t n, cap;
};

static void
add(struct list *l, const char *u)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->url[i], u) == 0)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		if ((l->url = realloc(l->url, l->cap * sizeof(*l->url))) ==
		    NULL)
			bt_die(BT_EX_SOFTWARE, "out of memory");
	}
	l->url[l->n++] = u;
}

/* BEP 12: each tier shuffled once, the tiers in order. */
static void
add_tiers(struct list *l, const struct bt_torrent *t)
{
	size_t i, j;

	for (i = 0; i < t->ntiers; i++) {
		size_t n = t->tiers[i].n, start = l->n;

		for (j = 0; j < n; j++)
			add(l, t->tiers[i].url[j]);
		for (j = l->n - start; j > 1; j--) {
			uint32_t r;
			const char *x;

			randbytes(&r, sizeof(r));
			r %= (uint32_t)j;
			x = l->url[start + j - 1];
			l->url[start + j - 1] = l->url[start + r];
			l->url[start + r] = x;
		}
	}
}

struct state {
	int ok;		/* a tracker answered */
	int bad;	/* a tracker answered garbage */
};

/*
 * One tracker's result: a failure said on stderr, an answer written at
 * once (the next stage can start). Non-zero stops the asking: stdout is
 * broken, and bt_fshut_stdout will say so.
 */
static int
on_result(void *arg, const struct bt_tracker_result *r)
{
	struct state *st = arg;
	char u[4 * 256 + 1];

	bt_escape(r->url, strlen(r->url), u, sizeof(u));
	if (r->answer == NULL) {
		bt_warn_err(u, r->e);
		if (r->e->status == BT_EX_SOFTWARE)
			exit(BT_EX_SOFTWARE);
		if (r->e->status == BT_EX_DATAERR)
			st->bad = 1;
		return 0;
	}
	if (r->warn[0] != '\0')
		bt_warnx("%s: tracker warning: %s", u, r->warn);
	if (fwrite(r->answer->p, 1, r->answer->len, stdout) !=
	    r->answer->len || fflush(stdout) != 0)
		return 1;
	st->ok = 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "downloaded", required_argument, NULL, 'd' },
		{ "event", required_argument, NULL, 'e' },
		{ "peer-id", required_argument, NULL, 'i' },
		{ "left", required_argument, NULL, 'l' },
		{ "numwant", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "retries", required_argument, NULL, 'r' },
		{ "scrape", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "tracker", required_argument, NULL, 'T' },
		{ "uploaded", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct bt_tracker_opts o = { BT_TRACKER_TIMEOUT, BT_UDP_RETRIES };
	struct bt_tracker_session s;
	struct bt_announce a;
	struct bt_torrent t;
	struct bt_magnet m;
	struct list given = { 0 }, use = { 0 };
	struct state st = { 0, 0 };
	struct bt_err e;
	const char *path, *what, *torrent, *peer_id = NULL;
	char link[4 * LINK_SHOWN + 4];
	long long left = -1;
	int all = 0, scrape = 0, magnet, c, r;
	size_t i, dropped;

	bt_cli_init(argv[0]);
	memset(&a, 0, sizeof(a));
	a.port = 6881;
	a.event = BT_EVENT_STARTED;
	a.numwant = BT_TRACKER_NUMWANT;
	while ((c = getopt_long(argc, argv, "ad:e:i:l:n:p:r:st:T:u:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'd':
			a.downloaded = bt_optnum("--downloaded", optarg, 0,
			    LLONG_MAX);
			break;
		case 'e':
			a.event = event(optarg);
			break;
		case 'i':
			peer_id = optarg;
			break;
		case 'l':
			left = bt_optnum("--left", optarg, 0, LLONG_MAX);
			break;
		case 'n':
			a.numwant = (int32_t)bt_optnum("--numwant", optarg, 0,
			    BT_TRACKER_MAX_PEERS);
			break;
		case 'p':
			a.port = (uint16_t)bt_optnum("--port", optarg, 1, 65535);
			break;
		case 'r':
			o.retries = (int)bt_optnum("--retries", optarg, 0,
			    BT_UDP_MAX_RETRIES);
			break;
		case 's':
			scrape = 1;
			break;
		case 't':
			o.timeout = seconds("--timeout", optarg);
			break;
		case 'T':
			add(&given, optarg);
			break;
		case 'u':
			a.uploaded = bt_optnum("--uploaded", optarg, 0, LLONG_MAX);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	path = argv[optind];

	if (peer_id == NULL) {
		/* Azureus style: our client prefix, then random bytes. */
		memcpy(a.peer_id, BT_PEER_ID_PREFIX, 8);
		randbytes(a.peer_id + 8, BT_SHA1_LEN - 8);
	} else if (strlen(peer_id) == 2 * BT_SHA1_LEN &&
	    bt_unhex(peer_id, 2 * BT_SHA1_LEN, a.peer_id, BT_SHA1_LEN) == 0) {
		;
	} else if (strlen(peer_id) == BT_SHA1_LEN) {
		memcpy(a.peer_id, peer_id, BT_SHA1_LEN);
	} else
		bt_die(BT_EX_USAGE, "--peer-id: expected 20 bytes or 40 hex "
		    "digits");
	randbytes(&a.key, sizeof(a.key));

	memset(&t, 0, sizeof(t));
	memset(&m, 0, sizeof(m));
	if ((magnet = bt_magnet_is(path))) {
		/* No file: the answers name only the info hash. */
		what = show_link(path, link, sizeof(link));
		torrent = NULL;
		if (bt_magnet_parse(&m, path, &e) < 0)
			bt_die_err(what, &e);
		memcpy(a.info_hash, m.info_hash, BT_SHA1_LEN);
		a.left = left >= 0 ? left : MAGNET_LEFT;
		dropped = m.tr_dropped;
	} else {
		what = torrent = path;
		if (bt_torrent_load(&t, path, &e) < 0)
			bt_die_err(path, &e);
		memcpy(a.info_hash, t.info_hash, BT_SHA1_LEN);
		a.left = left >= 0 ? left : t.total_length;
		dropped = t.trackers_dropped;
	}

	if (given.n > 0)
		use = given;
	else if (magnet) {
		/* One tier per tracker (BEP 12): the link's order. */
		for (i = 0; i < m.ntr; i++)
			add(&use, m.tr[i]);
	} else if (t.ntiers > 0)
		add_tiers(&use, &t);	/* BEP 12: announce is ignored */
	else if (t.announce != NULL)
		add(&use, t.announce);
	if (given.n == 0 && dropped > 0)
		bt_warnx("%s: %zu trackers past the first %d ignored "
		    "(limit BT_MAX_TRACKERS)", what, dropped, BT_MAX_TRACKERS);
	if (use.n == 0)
		bt_die(BT_EX_UNAVAILABLE, "%s: no tracker in the %s "
		    "(give one with --tracker)", what,
		    magnet ? "magnet link" : "torrent");

	if (bt_tracker_session_init(&s, &o, &e) < 0)
		bt_die_err(NULL, &e);
	if (all) {
		/* Every tracker at once, each answer written as it comes. */
		r = bt_tracker_ask(&s, use.url, use.n, scrape, &a, torrent,
		    on_result, &st, &e);
	} else {
		/* BEP 12: one after another, until one answers. */
		for (i = 0, r = 0; i < use.n && r == 0 && !st.ok; i++)
			r = bt_tracker_ask(&s, use.url + i, 1, scrape, &a,
			    torrent, on_result, &st, &e);
	}
	if (r < 0)
		bt_die_err(NULL, &e);
	bt_tracker_session_free(&s);
	free(use.url);
	if (magnet)
		bt_magnet_free(&m);
	else
		bt_torrent_free(&t);
	/* A write error wins: bt_fshut_stdout reports it. */
	return bt_fshut_stdout(st.ok ? BT_EX_OK :
	    st.bad ? BT_EX_DATAERR : BT_EX_UNAVAILABLE);
}
