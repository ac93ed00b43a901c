/*
 * bt-create: make a .torrent from a file or a folder. The same files and
 * parameters as mktorrent give the same info hash for v1; as libtorrent's
 * create_torrent for v2 (--v2) and hybrid (--hybrid) torrents.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "cli.h"
#include "create.h"
#include "metainfo.h"
#include "stream.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bt-create [-a url[,url...]] [-c comment] "
	    "[-j threads] [-l size]\n"
	    "       [-n name] [-o file] [-w url[,url...]] "
	    "[--created-by string]\n"
	    "       [--hybrid | --v2] [--no-date] [--private] path\n");
	exit(BT_EX_USAGE);
}

/* Append s to the growing vector *v of *n strings. */
static void
push(char ***v, size_t *n, char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		bt_die(BT_EX_SOFTWARE, "out of memory");
	p[(*n)++] = s;
	*v = p;
}

/* The creation date: now, or SOURCE_DATE_EPOCH for reproducible builds. */
static int64_t
creation_date(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	struct bt_err e;
	long long v;

	if (s == NULL || *s == '\0')
		return (int64_t)time(NULL);
	if (bt_strtonum(s, 0, INT64_MAX, &v, &e) < 0)
		bt_die(BT_EX_USAGE, "SOURCE_DATE_EPOCH: %s", e.msg);
	return v;
}

/* Refuse an output file that is one of the files to hash. */
static void
check_output(const char *out, const struct bt_create *c)
{
	struct stat st;
	size_t i;

	if (stat(out, &st) < 0)
		return;
	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].dev == (uint64_t)st.st_dev &&
		    c->files[i].ino == (uint64_t)st.st_ino)
			bt_die(BT_EX_USAGE, "%s: the output is one of the "
			    "files of the torrent", out);
}

int
main(int argc, char **argv)
{
	enum { OPT_CREATED_BY = 256, OPT_HYBRID, OPT_V2 };
	static const struct option lopt[] = {
		{ "announce", required_argument, NULL, 'a' },
		{ "comment", required_argument, NULL, 'c' },
		{ "created-by", required_argument, NULL, OPT_CREATED_BY },
		{ "hybrid", no_argument, NULL, OPT_HYBRID },
		{ "no-date", no_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 'j' },
		{ "piece-length", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "private", no_argument, NULL, 'p' },
		{ "v2", no_argument, NULL, OPT_V2 },
		{ "web-seed", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct bt_create_meta m;
	struct bt_create c;
	struct bt_buf b;
	struct bt_err e;
	const char *name = NULL, *out = NULL, *why;
	enum bt_create_version version = BT_CREATE_V1;
	uint8_t *pieces = NULL, *layer = NULL;
	uint32_t np;
	long long v;
	long ncpu;
	int ch, nodate = 0, nthreads, fd, v2 = 0, hybrid = 0;

	bt_cli_init(argv[0]);
	memset(&m, 0, sizeof(m));
	m.created_by = BT_USER_AGENT;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = ncpu < 1 ? 1 : ncpu > BT_CREATE_MAX_THREADS ?
	    BT_CREATE_MAX_THREADS : (int)ncpu;
	while ((ch = getopt_long(argc, argv, "a:c:dj:l:n:o:pw:", lopt,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			push(&m.announce, &m.nannounce, optarg);
			break;
		case 'c':
			m.comment = optarg;
			break;
		case 'd':
			nodate = 1;
			break;
		case 'j':
			if (bt_strtonum(optarg, 1, BT_CREATE_MAX_THREADS, &v,
			    &e) < 0)
				bt_die(BT_EX_USAGE, "-j: %s", e.msg);
			nthreads = (int)v;
			break;
		case 'l':
			if (bt_create_parse_size(optarg, &m.piece_length,
			    &e) < 0 ||
			    bt_create_check_piece_length(m.piece_length,
			    &e) < 0)
				bt_die(BT_EX_USAGE, "-l: %s", e.msg);
			break;
		case 'n':
			name = optarg;
			if ((why = bt_path_component_problem(name,
			    strlen(name))) != NULL)
				bt_die(BT_EX_USAGE, "-n '%s': %s", name, why);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			m.private = 1;
			break;
		case 'w':
			push(&m.web, &m.nweb, optarg);
			break;
		case OPT_CREATED_BY:
			m.created_by = optarg;
			break;
		case OPT_HYBRID:
			hybrid = 1;
			break;
		case OPT_V2:
			v2 = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if (v2 && hybrid)
		bt_die(BT_EX_USAGE, "--v2 and --hybrid: choose one (a hybrid "
		    "torrent is v2 too)");
	version = v2 ? BT_CREATE_V2 : hybrid ? BT_CREATE_HYBRID :
	    BT_CREATE_V1;
	if (bt_create_check_meta(&m, &e) < 0)
		bt_die_err(NULL, &e);
	if (out != NULL && strcmp(out, "-") == 0)
		out = NULL;
	if (out == NULL && isatty(1))
		bt_die(BT_EX_USAGE, "will not write a binary torrent to a "
		    "terminal: use -o file or a redirection");
	m.date = nodate ? -1 : creation_date();

	if (bt_create_scan(&c, argv[0], name, &e) < 0)
		bt_die_err(NULL, &e);
	if (out != NULL)
		check_output(out, &c);
	if (m.piece_length == 0)
		m.piece_length = bt_create_auto_piece_length(c.total);
	if (bt_create_layout(&c, version, m.piece_length, &e) < 0 ||
	    bt_create_npieces(&c, m.piece_length, &np, &e) < 0)
		bt_die_err(NULL, &e);
	/* 20 bytes a piece for v1, 32 for v2's piece layers: what the
	   torrent holds anyway. */
	if ((version != BT_CREATE_V2 &&
	    (pieces = malloc((size_t)np * BT_SHA1_LEN)) == NULL) ||
	    (version != BT_CREATE_V1 &&
	    (layer = malloc((size_t)np * BT_SHA256_LEN)) == NULL))
		bt_die(BT_EX_SOFTWARE, "out of memory");
	if (bt_create_hash_v2(&c, m.piece_length, nthreads, pieces, layer,
	    &e) < 0)
		bt_die_err(NULL, &e);
	memset(&b, 0, sizeof(b));
	if (bt_create_encode(&c, &m, pieces, layer, &b, &e) < 0)
		bt_die_err(NULL, &e);

	/* Written only now: a failure above leaves an old file as it was. */
	fd = 1;
	if (out != NULL &&
	    (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) < 0)
		bt_die(BT_EX_IOERR, "%s: %s", out, strerror(errno));
	if (bt_stream_write_all(fd, b.p, b.len, &e) < 0)
		bt_die_err(out ? out : "stdout", &e);
	if (out != NULL && close(fd) < 0)
		bt_die(BT_EX_IOERR, "%s: %s", out, strerror(errno));
	bt_buf_free(&b);
	free(pieces);
	free(layer);
	bt_create_free(&c);
	free(m.announce);
	free(m.web);
	return bt_fshut_stdout(0);
}
