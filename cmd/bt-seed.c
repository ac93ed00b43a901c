/*
 * bt-seed: upload the pieces a folder holds to any number of peers, and
 * announce them to the torrent's trackers, until a signal.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btlimits.h"
#include "cli.h"
#include "metainfo.h"
#include "peerlist.h"
#include "seed.h"
#include "tracker.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void
usage(void)
{
	fprintf(stderr, "usage: bt-seed [-jnqvV] [-b address] [-e seconds] "
	    "[-i seconds] [-P peers]\n"
	    "               [-p port] [-r rate] [-s slots] [-t seconds] "
	    "[-T url]\n"
	    "               [--pex-interval seconds] torrent dir\n");
	exit(BT_EX_USAGE);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
logline(void *arg, const char *line)
{
	(void)arg;
	/* One fprintf: a whole line even from the announce thread. */
	fprintf(stderr, "%s: %s\n", bt_prog, line);
}

static double
seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v) || v <= 0 ||
	    v > 1e7)
		bt_die(BT_EX_USAGE, "%s: '%s' is not a number of seconds",
		    opt, s);
	return v;
}

static void
read_peers(struct bt_peerlist *l, const char *path)
{
	struct bt_err e;
	FILE *f;
	size_t dropped = 0;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL)
		bt_die(BT_EX_NOINPUT, "%s: %s", path, strerror(errno));
	if (bt_peerlist_read(l, f, BT_SEED_MAX_DIAL, &dropped, &e) < 0)
		bt_die_err(strcmp(path, "-") == 0 ? "standard input" : path,
		    &e);
	if (dropped > 0)
		bt_warnx("%s: %zu peers past the first %d ignored", path,
		    dropped, BT_SEED_MAX_DIAL);
	if (f != stdin)
		fclose(f);
}

/*
 * Standard input as a peer list: a file is read at once; a pipe or a
 * socket is read by the engine as lines arrive (1), so that a producer
 * that never ends does not keep us from serving. A terminal: not at all.
 */
static int
stdin_peers(struct bt_peerlist *l)
{
	struct stat sb;

	if (isatty(0) || fstat(0, &sb) < 0)
		return 0;
	if (S_ISREG(sb.st_mode)) {
		read_peers(l, "-");
		return 0;
	}
	return S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode);
}

static void
trackers(const struct bt_torrent *t, const char ***out, size_t *n)
{
	size_t i, j, k;

	for (i = 0; i < t->ntiers; i++)
		for (j = 0; j < t->tiers[i].n; j++) {
			const char *u = t->tiers[i].url[j];

			for (k = 0; k < *n; k++)
				if (strcmp((*out)[k], u) == 0)
					break;
			if (k < *n || bt_tracker_kind(u) == BT_TRACKER_OTHER)
				continue;
			if ((*out = realloc(*out, (*n + 1) * sizeof(**out))) ==
			    NULL)
				bt_die(BT_EX_SOFTWARE, "out of memory");
			(*out)[(*n)++] = u;
		}
	/* BEP 12: announce is ignored when there is an announce-list. */
	if (t->ntiers == 0 && t->announce != NULL &&
	    bt_tracker_kind(t->announce) != BT_TRACKER_OTHER) {
		if ((*out = realloc(*out, sizeof(**out))) == NULL)
			bt_die(BT_EX_SOFTWARE, "out of memory");
		(*out)[(*n)++] = t->announce;
	}
}

static void
summary_json(const struct bt_seed_stats *st)
{
	printf("{\"port\":%u,\"pieces\":%u,\"have\":%u,\"bad\":%u,"
	    "\"peers\":%llu,\"served\":%llu,\"blocks\":%llu,"
	    "\"uploaded\":%llu,\"refused\":%llu,\"dropped\":%llu,"
	    "\"announces\":%u,\"announce_errors\":%u,\"seconds\":%.3f}\n",
	    st->port, st->npieces, st->have, st->bad,
	    (unsigned long long)st->peers, (unsigned long long)st->served,
	    (unsigned long long)st->blocks, (unsigned long long)st->uploaded,
	    (unsigned long long)st->refused, (unsigned long long)st->dropped,
	    st->announces, st->announce_errors, st->seconds);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "exit-after", required_argument, NULL, 'e' },
		{ "idle", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-announce", no_argument, NULL, 'n' },
		{ "peers", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rate", required_argument, NULL, 'r' },
		{ "slots", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "tracker", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "pex-interval", required_argument, NULL, 1 },
		{ NULL, 0, NULL, 0 },
	};
	struct bt_seed_opts o;
	struct bt_seed_stats st;
	struct bt_torrent t;
	struct bt_peerlist peers = { 0 };
	struct sigaction sa;
	struct bt_err e;
	struct stat sb;
	const char *tpath, *dir, *peerpath = NULL, **urls = NULL;
	size_t nurls = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c, json = 0, quiet = 0, verbose = 0, announce = 1, r;

	bt_cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.port = 6881;
	o.slots = BT_SEED_SLOTS;
	o.verify = 1;
	o.nthreads = cores > 0 ? (int)cores : 1;
	o.idle_ms = BT_SEED_IDLE_MS;
	o.stop = &stop;
	while ((c = getopt_long(argc, argv, "b:e:i:jnP:p:qr:s:t:T:vV",
	    longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bind = optarg;
			break;
		case 'e':
			o.exit_after = seconds("--exit-after", optarg);
			break;
		case 'i':
			o.idle_ms = (int)(seconds("--idle", optarg) * 1000);
			if (o.idle_ms < 1 || o.idle_ms > 86400000)
				bt_die(BT_EX_USAGE, "--idle: '%s' is not in "
				    "(0, 86400]", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			announce = 0;
			break;
		case 'P':
			peerpath = optarg;
			break;
		case 'p':
			o.port = (uint16_t)bt_optnum("--port", optarg, 0, 65535);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'r':
			o.rate = bt_optrate("--rate", optarg);
			break;
		case 's':
			o.slots = (int)bt_optnum("--slots", optarg, 1,
			    BT_SEED_MAX_SLOTS);
			break;
		case 't':
			o.tracker_timeout = seconds("--timeout", optarg);
			break;
		case 'T':
			if ((urls = realloc(urls, (nurls + 1) *
			    sizeof(*urls))) == NULL)
				bt_die(BT_EX_SOFTWARE, "out of memory");
			urls[nurls++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			o.verify = 0;
			break;
		case 1:
			/* BEP 11 asks for a minute; shorter is for tests. */
			o.pex_ms = (int)(seconds("--pex-interval", optarg) *
			    1000);
			if (o.pex_ms < 1 || o.pex_ms > 86400000)
				bt_die(BT_EX_USAGE, "--pex-interval: '%s' is "
				    "not in (0, 86400]", optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	tpath = argv[optind];
	dir = argv[optind + 1];
	if (peerpath != NULL && strcmp(peerpath, "-") == 0 &&
	    strcmp(tpath, "-") == 0)
		bt_die(BT_EX_USAGE, "the torrent and the peer list cannot "
		    "both be standard input");

	if (bt_torrent_load(&t, tpath, &e) < 0)
		bt_die_err(tpath, &e);
	if (stat(dir, &sb) < 0)
		bt_die(BT_EX_NOINPUT, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		bt_die(BT_EX_NOINPUT, "%s: not a folder", dir);
	o.peer_fd = -1;
	if (peerpath != NULL && strcmp(peerpath, "-") != 0)
		read_peers(&peers, peerpath);
	else if (strcmp(tpath, "-") != 0 && stdin_peers(&peers))
		o.peer_fd = 0;
	if (announce && nurls == 0)
		trackers(&t, &urls, &nurls);
	if (!announce)
		nurls = 0;
	o.trackers = urls;
	o.ntrackers = nurls;
	o.torrent_path = tpath;
	o.dial = &peers;
	if (verbose) {
		o.log = logline;
		o.logarg = NULL;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = bt_seed_run(&t, dir, &o, &st, &e);
	if (r < 0)
		bt_warn_err(NULL, &e);
	else if (json)
		summary_json(&st);
	else if (!quiet)
		fprintf(stderr, "%s: %llu bytes up to %llu peers (%llu "
		    "connected), %u of %u pieces, %.1f s\n", bt_prog,
		    (unsigned long long)st.uploaded,
		    (unsigned long long)st.served,
		    (unsigned long long)st.peers, st.have, st.npieces,
		    st.seconds);
	bt_peerlist_free(&peers);
	free(urls);
	bt_torrent_free(&t);
	return bt_fshut_stdout(r < 0 ? e.status : BT_EX_OK);
}
