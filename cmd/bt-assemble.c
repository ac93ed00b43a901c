/*
 * bt-assemble: write a piece stream's pieces into the torrent's files
 * under a folder, checking each piece's SHA-1 first.
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
#include "phash.h"
#include "select.h"
#include "store.h"
#include "stream.h"
#include "util.h"
#include "wire.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bt-assemble [-pv] [-C dir] [--files list] "
	    "[--only glob] [file]\n");
	exit(BT_EX_USAGE);
}

/* A bigger pipe buffer lets the writer run ahead of our disk writes. */
static void
raise_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, BT_PIPE_BUF);
}

/* File i is written by this run: chosen, or every file without -f. */
static int
chosen(const struct bt_select *sel, size_t i)
{
	return !bt_select_given(sel) || bt_bit_get(sel->file, (uint32_t)i);
}

static void
print_done(struct bt_store *s, const struct bt_select *sel, const char *dir)
{
	const struct bt_torrent *t = s->t;
	size_t i, dl = strlen(dir);
	int slash = dl > 0 && dir[dl - 1] == '/';
	char esc[BT_MAX_PATH_BYTES * 4 + 1];

	for (i = 0; i < t->nfiles; i++) {
		if (!chosen(sel, i) || !bt_store_file_done(s, i))
			continue;
		/* Names are printed escaped (bt(7) FILE NAMES). */
		bt_escape(t->files[i].path, strlen(t->files[i].path), esc,
		    sizeof(esc));
		if (strcmp(dir, ".") == 0)
			printf("%s\n", esc);
		else
			printf("%s%s%s\n", dir, slash ? "" : "/", esc);
	}
}

enum { OPT_FILES = 256, OPT_ONLY };

static const struct option longopts[] = {
	{ "files", required_argument, NULL, OPT_FILES },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	const char *dir = ".", *in = "-", *ctx;
	struct bt_pstream ps;
	struct bt_store st;
	struct bt_select sel;
	struct bt_err e;
	const uint8_t *data;
	uint32_t index;
	size_t len, i, done = 0, nreal = 0;
	int c, fd, r, pflag = 0, vflag = 0, status = 0;

	bt_cli_init(argv[0]);
	bt_select_init(&sel);
	while ((c = getopt_long(argc, argv, "C:pv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FILES:
		case OPT_ONLY:
			if (bt_select_add(&sel, c == OPT_FILES ?
			    BT_SELECT_FILES : BT_SELECT_ONLY, optarg, &e) < 0)
				bt_die_err(NULL, &e);
			break;
		case 'C':
			dir = optarg;
			break;
		case 'p':
			pflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || *dir == '\0')
		usage();
	if (argc == 1)
		in = argv[0];
	ctx = strcmp(in, "-") == 0 ? "stdin" : in;
	if (strcmp(in, "-") == 0)
		fd = 0;
	else if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
		bt_die(BT_EX_NOINPUT, "%s: %s", in, strerror(errno));
	raise_pipe(fd);

	if (bt_pstream_open(&ps, fd, &e) < 0)
		bt_die_err(ctx, &e);
	if (bt_select_given(&sel) && bt_select_resolve(&sel, &ps.t, &e) < 0)
		bt_die_err(NULL, &e);
	if (bt_store_open(&st, &ps.t, dir, &e) < 0)
		bt_die_err(dir, &e);
	if (bt_select_given(&sel))
		bt_store_select(&st, sel.file);
	while ((r = bt_pstream_next(&ps, &index, &data, &len, &e)) != 0) {
		if (r < 0) {
			/* What was verified stays; unfinished files keep
			 * their temporary names. */
			bt_warn_err(ctx, &e);
			status = e.status;
			break;
		}
		r = bt_store_put(&st, index, data, len, &e);
		if (r < 0) {
			bt_warn_err(dir, &e);
			bt_store_close(&st);
			bt_pstream_close(&ps);
			return e.status;
		}
		if (r == 0)
			bt_warnx("piece %u: %s mismatch: not written",
			    index, bt_phash_name(&ps.t));
	}
	if (bt_store_finish(&st, &e) < 0) {
		bt_warn_err(dir, &e);
		bt_store_close(&st);
		bt_pstream_close(&ps);
		return e.status;
	}
	if (pflag)
		print_done(&st, &sel, dir);
	if (vflag) {
		for (i = 0; i < ps.t.nfiles; i++) {
			if (ps.t.files[i].pad || !chosen(&sel, i))
				continue;
			nreal++;
			done += bt_store_file_done(&st, i) ? 1 : 0;
		}
		if (bt_select_given(&sel))
			bt_warnx("%u pieces written, %u refused, %u outside "
			    "the selection; %zu of %zu chosen files complete",
			    st.nwritten, st.nbad, st.nskipped, done, nreal);
		else
			bt_warnx("%u pieces written, %u refused; %zu of %zu "
			    "files complete", st.nwritten, st.nbad, done,
			    nreal);
	}
	if (status == 0 && st.nbad > 0)
		status = BT_EX_NEGATIVE;
	bt_store_close(&st);
	bt_select_free(&sel);
	bt_pstream_close(&ps);
	if (fd != 0)
		close(fd);
	return bt_fshut_stdout(status);
}
