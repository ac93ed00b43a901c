/*
 * bt-fetch-piece: download pieces of a torrent from the peers of a peer
 * list; one piece as raw bytes, several as the piece stream (bt(7)).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btlimits.h"
#include "cli.h"
#include "metainfo.h"
#include "peerlist.h"
#include "select.h"
#include "stream.h"
#include "swarm.h"
#include "util.h"
#include "wire.h"

struct out {
	int fd;
	int raw;		/* one piece, plain bytes */
	int progress;		/* a progress line on the terminal */
	int verbose;
	int shown;		/* the progress line is on screen */
	FILE *pex;		/* --pex-out, or NULL */
};

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-aqv] [-C DIR] [-i LIST] [-o FILE] "
	    "[-P PORT] [-p FILE]\n"
	    "\t[-t FILE] [--download-rate RATE] [--files LIST] [--linger SEC]\n"
	    "\t[--no-upload] [--no-webseed] [--only GLOB]"
	    "\n"
	    "\t[--pex-out FILE] [--sequential] [--stream] [--timeout SEC]\n"
	    "\t[--upload-rate RATE]\n"
	    "\t[--connect-timeout SEC] [--handshake-timeout SEC]\n"
	    "\t[--idle-timeout SEC] [--snub-timeout SEC]\n", bt_prog);
	exit(BT_EX_USAGE);
}

static void
clear_progress(struct out *o)
{
	if (o->shown) {
		fputs("\r\033[K", stderr);
		o->shown = 0;
	}
}

static int
on_piece(void *arg, uint32_t index, const uint8_t *data, size_t len,
    struct bt_err *e)
{
	struct out *o = arg;

	if (o->raw)
		return bt_stream_write_all(o->fd, data, len, e);
	return bt_stream_write_piece(o->fd, index, data, len, e);
}

static void
on_log(void *arg, int level, const char *msg)
{
	struct out *o = arg;

	if (o->verbose >= level) {
		clear_progress(o);
		bt_warnx("%s", msg);
	}
}

/* A peer learned through PEX: one line of the peer list (bt(7)). */
static void
on_pex(void *arg, const struct bt_peer_addr *a, unsigned flags)
{
	struct out *o = arg;
	char name[64];

	(void)flags;
	if (o->pex == NULL)
		return;
	fprintf(o->pex, "%s\n", bt_peer_format(a, name, sizeof(name)));
	/* Line by line, so that a reader following the file sees each. */
	fflush(o->pex);
}

static void
on_progress(void *arg, const struct bt_swarm_stats *s)
{
	struct out *o = arg;
	long eta = -1;

	if (!o->progress)
		return;
	if (s->done > 0 && s->elapsed_ms > 0)
		eta = (long)((double)(s->wanted - s->done) *
		    ((double)s->elapsed_ms / 1000.0) / s->done);
	fprintf(stderr, "\r\033[K%s: %u/%u pieces, %.1f MiB/s, %u peers",
	    bt_prog, s->done, s->wanted, s->rate / 1048576.0, s->peers);
	if (eta >= 0)
		fprintf(stderr, ", ETA %ld:%02ld", eta / 60, eta % 60);
	o->shown = 1;
}

static void
on_listen(void *arg, uint16_t port)
{
	struct out *o = arg;

	if (o->verbose) {
		clear_progress(o);
		bt_warnx("listening on port %u", port);
	}
}

/* "0-9,42": ranges and single pieces, each below npieces. */
static int
parse_list(const char *arg, uint32_t npieces, uint8_t *want, long *count)
{
	char *s, *tok, *save = NULL, *dash;
	long long a, b, i;
	struct bt_err e;

	if ((s = strdup(arg)) == NULL)
		bt_die(BT_EX_SOFTWARE, "out of memory");
	*count = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		dash = strchr(tok, '-');
		if (dash != NULL)
			*dash = '\0';
		if (bt_strtonum(tok, 0, (long long)npieces - 1, &a, &e) < 0 ||
		    (dash != NULL && bt_strtonum(dash + 1, a,
		    (long long)npieces - 1, &b, &e) < 0)) {
			bt_warnx("-i %s: %s (the torrent has %u pieces)", arg,
			    e.msg, npieces);
			free(s);
			return -1;
		}
		if (dash == NULL)
			b = a;
		for (i = a; i <= b; i++) {
			if (!bt_bit_get(want, (uint32_t)i))
				(*count)++;
			bt_bit_set(want, (uint32_t)i);
		}
	}
	free(s);
	if (*count == 0) {
		bt_warnx("-i %s: no piece", arg);
		return -1;
	}
	return 0;
}

static int
seconds(const char *opt, const char *arg)
{
	long long v;
	struct bt_err e;

	if (bt_strtonum(arg, 1, 86400, &v, &e) < 0) {
		bt_warnx("%s %s: %s", opt, arg, e.msg);
		usage();
	}
	return (int)v * 1000;
}

enum {
	OPT_SEQUENTIAL = 256, OPT_STREAM, OPT_TIMEOUT, OPT_CONNECT,
	OPT_HANDSHAKE, OPT_IDLE, OPT_SNUB, OPT_PEX_OUT, OPT_NO_UPLOAD,
	OPT_LINGER, OPT_UPLOAD_RATE, OPT_DOWNLOAD_RATE, OPT_FILES, OPT_ONLY,
	OPT_NO_WEBSEED,
};

static const struct option longopts[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "directory", required_argument, NULL, 'C' },
	{ "port", required_argument, NULL, 'P' },
	{ "no-upload", no_argument, NULL, OPT_NO_UPLOAD },
	{ "no-webseed", no_argument, NULL, OPT_NO_WEBSEED },
	{ "linger", required_argument, NULL, OPT_LINGER },
	{ "upload-rate", required_argument, NULL, OPT_UPLOAD_RATE },
	{ "download-rate", required_argument, NULL, OPT_DOWNLOAD_RATE },
	{ "index", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "peers", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "torrent", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "sequential", no_argument, NULL, OPT_SEQUENTIAL },
	{ "stream", no_argument, NULL, OPT_STREAM },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "snub-timeout", required_argument, NULL, OPT_SNUB },
	{ "pex-out", required_argument, NULL, OPT_PEX_OUT },
	{ "files", required_argument, NULL, OPT_FILES },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char *argv[])
{
	struct bt_swarm_conf c;
	struct bt_swarm_stats st;
	struct bt_peerlist pl;
	struct bt_torrent t;
	struct bt_select sel;
	struct bt_err e;
	struct out o;
	const char *list = NULL, *ofile = NULL, *pfile = NULL, *tfile = NULL;
	const char *xfile = NULL;
	const char *tpath;
	uint8_t *want;
	long count = 0;
	size_t dropped = 0;
	int all = 0, quiet = 0, stream = 0, no_webseed = 0, ch, rc;
	FILE *pf;

	bt_cli_init(argv[0]);
	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	bt_select_init(&sel);
	while ((ch = getopt_long(argc, argv, "C:P:ai:o:p:qt:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C':
			c.dir = optarg;
			break;
		case 'P': {
			long long v;

			if (bt_strtonum(optarg, 0, 65535, &v, &e) < 0) {
				bt_warnx("-P %s: %s", optarg, e.msg);
				usage();
			}
			c.port = (uint16_t)v;
			break;
		}
		case 'a':
			all = 1;
			break;
		case 'i':
			list = optarg;
			break;
		case 'o':
			ofile = optarg;
			break;
		case 'p':
			pfile = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 't':
			tfile = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case OPT_SEQUENTIAL:
			c.sequential = 1;
			break;
		case OPT_STREAM:
			stream = 1;
			break;
		case OPT_TIMEOUT:
			c.timeout_ms = seconds("--timeout", optarg);
			break;
		case OPT_CONNECT:
			c.connect_ms = seconds("--connect-timeout", optarg);
			break;
		case OPT_HANDSHAKE:
			c.handshake_ms = seconds("--handshake-timeout",
			    optarg);
			break;
		case OPT_IDLE:
			c.idle_ms = seconds("--idle-timeout", optarg);
			break;
		case OPT_SNUB:
			c.snub_ms = seconds("--snub-timeout", optarg);
			break;
		case OPT_NO_UPLOAD:
			c.no_upload = 1;
			break;
		case OPT_NO_WEBSEED:
			no_webseed = 1;
			break;
		case OPT_LINGER:
			c.linger_ms = seconds("--linger", optarg);
			break;
		case OPT_PEX_OUT:
			xfile = optarg;
			break;
		case OPT_FILES:
		case OPT_ONLY:
			if (bt_select_add(&sel, ch == OPT_FILES ?
			    BT_SELECT_FILES : BT_SELECT_ONLY, optarg, &e) < 0)
				bt_die_err(NULL, &e);
			break;
		case OPT_UPLOAD_RATE:
			c.upload_rate = bt_optrate("--upload-rate", optarg);
			break;
		case OPT_DOWNLOAD_RATE:
			c.download_rate = bt_optrate("--download-rate",
			    optarg);
			break;
		default:
			usage();
		}
	}
	/* One of -a, -i or a selection; -i with a selection: both. */
	if (optind != argc || (all && (list != NULL ||
	    bt_select_given(&sel))) || (!all && list == NULL &&
	    !bt_select_given(&sel)))
		usage();
	if (quiet)
		o.verbose = 0;

	/* The peer list first: it may name the torrent. */
	memset(&pl, 0, sizeof(pl));
	if (pfile != NULL && strcmp(pfile, "-") != 0) {
		if ((pf = fopen(pfile, "r")) == NULL)
			bt_die(BT_EX_NOINPUT, "%s: %s", pfile,
			    strerror(errno));
	} else {
		pf = stdin;
		pfile = "-";
	}
	if (bt_peerlist_read(&pl, pf, BT_SWARM_MAX_PEERS, &dropped, &e) < 0)
		bt_die_err(pfile, &e);
	if (pf != stdin)
		fclose(pf);
	/* Said even without -v: the user may wonder why a peer is not tried. */
	if (dropped > 0 && !quiet)
		bt_warnx("%s: %zu peers after the first %d ignored (limit "
		    "BT_SWARM_MAX_PEERS)", pfile, dropped, BT_SWARM_MAX_PEERS);
	tpath = tfile != NULL ? tfile : pl.torrent;
	if (tpath == NULL) {
		bt_warnx("no torrent: give -t FILE or a \"# torrent\" line");
		usage();
	}
	if (strcmp(tpath, "-") == 0 && strcmp(pfile, "-") == 0)
		bt_die(BT_EX_USAGE, "the torrent and the peer list cannot both "
		    "come from standard input: give -p FILE or -t FILE");
	if (bt_torrent_load(&t, tpath, &e) < 0)
		bt_die_err(tpath, &e);
	if (pl.has_info_hash && memcmp(pl.info_hash, t.info_hash,
	    BT_SHA1_LEN) != 0)
		bt_die(BT_EX_DATAERR, "%s: the peer list is for another "
		    "torrent (info hash differs)", pfile);

	if ((want = calloc(1, (t.npieces + 7) / 8 + 1)) == NULL)
		bt_die(BT_EX_SOFTWARE, "out of memory");
	if (all) {
		uint32_t i;

		for (i = 0; i < t.npieces; i++)
			bt_bit_set(want, i);
		count = t.npieces;
	} else if (list != NULL && parse_list(list, t.npieces, want,
	    &count) < 0)
		exit(BT_EX_USAGE);
	if (bt_select_given(&sel)) {
		uint32_t i;

		if (bt_select_resolve(&sel, &t, &e) < 0)
			bt_die_err(NULL, &e);
		count = 0;
		for (i = 0; i < t.npieces; i++) {
			if (list != NULL && !bt_bit_get(want, i))
				continue;
			if (bt_bit_get(sel.piece, i)) {
				bt_bit_set(want, i);
				count++;
			} else
				bt_bit_clear(want, i);
		}
		if (count == 0)
			bt_die(BT_EX_USAGE, "-i %s: no piece of the chosen "
			    "files", list);
		/* Always a stream: bt-assemble needs the index. */
		stream = 1;
	}
	o.raw = count == 1 && !all && !stream;

	if (ofile != NULL) {
		o.fd = open(ofile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0666);
		if (o.fd < 0)
			bt_die(BT_EX_IOERR, "%s: %s", ofile, strerror(errno));
	} else {
		struct stat sb;

		o.fd = STDOUT_FILENO;
		/* A bigger pipe: fewer wakeups for us and the reader. */
		if (fstat(o.fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
			fcntl(o.fd, F_SETPIPE_SZ, BT_PIPE_BUF);
	}
	if (!o.raw && bt_stream_write_all(o.fd, t.raw, t.rawlen, &e) < 0)
		bt_die_err(ofile != NULL ? ofile : "standard output", &e);

	if (xfile != NULL) {
		char hex[2 * BT_SHA1_LEN + 1];

		if ((o.pex = fopen(xfile, "we")) == NULL)
			bt_die(BT_EX_IOERR, "%s: %s", xfile, strerror(errno));
		bt_hex(t.info_hash, BT_SHA1_LEN, hex);
		fprintf(o.pex, "# info-hash %s\n", hex);
		fflush(o.pex);
	}
	o.progress = !quiet && isatty(STDERR_FILENO);
	c.t = &t;
	c.want = want;
	/* BEP 19: the torrent's url-list, unless --no-webseed. */
	if (!no_webseed) {
		c.webseeds = (const char *const *)t.url_list;
		c.nwebseeds = t.nurl;
	}
	c.on_piece = on_piece;
	c.on_log = on_log;
	c.on_progress = on_progress;
	c.on_pex = on_pex;
	c.on_listen = on_listen;
	/* bt-assemble creates DIR too: whichever comes first. */
	if (c.dir != NULL && mkdir(c.dir, 0777) < 0 && errno != EEXIST)
		bt_die(BT_EX_IOERR, "%s: %s", c.dir, strerror(errno));
	c.arg = &o;
	rc = bt_swarm_run(&c, pl.peer, pl.n, &st, &e);
	clear_progress(&o);
	/* Before the summary, which stays the last line. */
	if (o.verbose && (st.held > 0 || st.incoming > 0 || st.uploaded > 0))
		bt_warnx("%u pieces held from the start, %.1f MiB uploaded "
		    "to %u peers, %u peers dialled us", st.held,
		    (double)st.uploaded / 1048576.0, st.uploaded_to,
		    st.incoming);
	if (o.verbose)
		bt_warnx("%u/%u pieces, %.1f MiB in %.1f s (%.1f MiB/s), "
		    "%u timed out of %u peers tried, %u served, %u dropped, "
		    "%u hash failures",
		    st.done, st.wanted, (double)st.bytes / 1048576.0,
		    (double)st.elapsed_ms / 1000.0,
		    st.elapsed_ms > 0 ? (double)st.bytes / 1048576.0 /
		    ((double)st.elapsed_ms / 1000.0) : 0.0,
		    st.timedout, st.tried, st.served, st.dropped,
		    st.hashfails);
	if (rc < 0)
		bt_warn_err(NULL, &e);
	if (o.pex != NULL && (ferror(o.pex) | fclose(o.pex)) != 0) {
		bt_warnx("%s: write error", xfile);
		if (rc == 0) {
			rc = -1;
			e.status = BT_EX_IOERR;
		}
	}
	if (ofile != NULL && close(o.fd) < 0 && rc == 0) {
		bt_warnx("%s: %s", ofile, strerror(errno));
		return BT_EX_IOERR;
	}
	free(want);
	bt_select_free(&sel);
	bt_torrent_free(&t);
	bt_peerlist_free(&pl);
	return bt_fshut_stdout(rc < 0 ? e.status : 0);
}
