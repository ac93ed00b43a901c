/*
 * bt-fetch-metadata: fetch a torrent's info dict from the peers of a peer
 * list (BEP 9 over BEP 10), knowing only a magnet link or an info hash,
 * and write the .torrent on standard output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "cli.h"
#include "magnet.h"
#include "metadata.h"
#include "peerlist.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-qv] [-p PEERS] [--timeout SECONDS] "
	    "[MAGNET | INFOHASH]\n", bt_prog);
	exit(BT_EX_USAGE);
}

static void
on_log(void *arg, int level, const char *msg)
{
	int verbose = *(int *)arg;

	(void)level;
	if (verbose)
		bt_warnx("%s", msg);
}

enum { OPT_TIMEOUT = 256 };

static const struct option longopts[] = {
	{ "peers", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char *argv[])
{
	struct bt_metadata_conf c;
	struct bt_metadata_stats st;
	struct bt_magnet m;
	struct bt_peerlist pl;
	struct bt_buf out;
	struct bt_err e;
	const char *pfile = "-";
	uint8_t *info;
	size_t len, i, dropped = 0;
	int quiet = 0, verbose = 0, ch, rc;
	FILE *pf = stdin;

	bt_cli_init(argv[0]);
	memset(&c, 0, sizeof(c));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "p:qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pfile = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_TIMEOUT:
			c.timeout_ms = bt_optnum("--timeout", optarg, 1,
			    86400) * 1000;
			break;
		default:
			bt_bad_option(argv, usage);
		}
	}
	if (argc - optind > 1)
		usage();
	if (quiet)
		verbose = 0;

	memset(&m, 0, sizeof(m));
	if (optind < argc && bt_magnet_or_hash(&m, argv[optind], &e) < 0)
		bt_die_err(NULL, &e);

	memset(&pl, 0, sizeof(pl));
	if (strcmp(pfile, "-") != 0 && (pf = fopen(pfile, "r")) == NULL)
		bt_die(BT_EX_NOINPUT, "%s: %s", pfile, strerror(errno));
	if (bt_peerlist_read(&pl, pf, BT_SWARM_MAX_PEERS, &dropped, &e) < 0)
		bt_die_err(pfile, &e);
	if (pf != stdin)
		fclose(pf);
	if (dropped > 0 && !quiet)
		bt_warnx("%s: %zu peers after the first %d ignored (limit "
		    "BT_SWARM_MAX_PEERS)", pfile, dropped, BT_SWARM_MAX_PEERS);
	if (optind == argc) {
		if (!pl.has_info_hash) {
			bt_warnx("no info hash: give a magnet link, an info "
			    "hash or a \"# info-hash\" line");
			usage();
		}
		memcpy(m.info_hash, pl.info_hash, BT_SHA1_LEN);
	} else if (pl.has_info_hash && memcmp(pl.info_hash, m.info_hash,
	    BT_SHA1_LEN) != 0)
		bt_die(BT_EX_DATAERR, "%s: the peer list is for another "
		    "torrent (info hash differs)", pfile);
	/* The link's own peers (x.pe) come after the list's. */
	for (i = 0; i < m.peers.n; i++)
		if (bt_peerlist_add(&pl, &m.peers.peer[i]) < 0)
			bt_die(BT_EX_SOFTWARE, "out of memory");
	if (verbose && m.pe_names > 0)
		bt_warnx("%zu x.pe peers given by host name: not resolved",
		    m.pe_names);

	memcpy(c.info_hash, m.info_hash, BT_SHA1_LEN);
	c.on_log = on_log;
	c.arg = &verbose;
	rc = bt_metadata_fetch(&c, pl.peer, pl.n, &info, &len, &st, &e);
	if (rc < 0)
		bt_die_err(NULL, &e);
	if (verbose)
		bt_warnx("metadata of %zu bytes from %s in %.1f s (%u peers "
		    "tried, %u banned)", len, st.from,
		    (double)st.elapsed_ms / 1000.0, st.tried, st.banned);
	memset(&out, 0, sizeof(out));
	if (bt_magnet_torrent(&m, (const char *)info, len, &out, &e) < 0)
		bt_die_err(NULL, &e);
	fwrite(out.p, 1, out.len, stdout);
	bt_buf_free(&out);
	free(info);
	bt_magnet_free(&m);
	bt_peerlist_free(&pl);
	return bt_fshut_stdout(0);
}
