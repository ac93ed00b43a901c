/*
 * bt-verify: check pieces against the torrent's SHA-1s.
 *
 * With one operand or none it is a filter on a piece stream: good pieces
 * pass, bad ones are reported and dropped. With TORRENT and DIR it
 * rechecks the data on disk and says, per piece, good, bad or missing.
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
#include "select.h"
#include "phash.h"
#include "store.h"
#include "stream.h"
#include "util.h"
#include "wire.h"

static const char *state_name[] = { "missing", "bad", "good", "skipped" };

/* Outside the selection: not counted, not listed, not to fetch. */
#define SKIPPED	3

static void
usage(void)
{
	fprintf(stderr, "usage: bt-verify [file]\n"
	    "       bt-verify [-j threads] [--json | --missing] "
	    "[--files list] [--only glob]\n"
	    "                 torrent dir\n");
	exit(BT_EX_USAGE);
}

static void
raise_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, BT_PIPE_BUF);
}

/* Filter mode: the stream in, the good part of it out. */
static int
filter(const char *in)
{
	const char *ctx = strcmp(in, "-") == 0 ? "stdin" : in;
	struct bt_pstream ps;
	struct bt_err e;
	const uint8_t *data;
	uint32_t index;
	size_t len;
	uint64_t nbad = 0;
	int fd, r, status = 0;

	if (strcmp(in, "-") == 0)
		fd = 0;
	else if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
		bt_die(BT_EX_NOINPUT, "%s: %s", in, strerror(errno));
	raise_pipe(fd);
	raise_pipe(1);
	if (bt_pstream_open(&ps, fd, &e) < 0)
		bt_die_err(ctx, &e);
	if (bt_stream_write_all(1, ps.t.raw, ps.t.rawlen, &e) < 0)
		bt_die_err("stdout", &e);
	while ((r = bt_pstream_next(&ps, &index, &data, &len, &e)) != 0) {
		if (r < 0) {
			bt_warn_err(ctx, &e);
			status = e.status;
			break;
		}
		if (bt_piece_ok(&ps.t, index, data, len) != 1) {
			bt_warnx("piece %u: %s mismatch", index,
			    bt_phash_name(&ps.t));
			nbad++;
			continue;
		}
		if (bt_stream_write_piece(1, index, data, len, &e) < 0)
			bt_die_err("stdout", &e);
	}
	bt_pstream_close(&ps);
	if (fd != 0)
		close(fd);
	if (status == 0 && nbad > 0)
		status = BT_EX_NEGATIVE;
	return status;
}

/* The pieces not good, as "0-9,42" (the LIST of bt-fetch-piece -i). */
static void
print_list(FILE *f, const uint8_t *state, uint32_t n)
{
	uint32_t i = 0, j;
	int first = 1;

	while (i < n) {
		if (state[i] == BT_PIECE_GOOD || state[i] == SKIPPED) {
			i++;
			continue;
		}
		for (j = i; j + 1 < n && state[j + 1] != BT_PIECE_GOOD &&
		    state[j + 1] != SKIPPED; j++)
			;
		fprintf(f, "%s%u", first ? "" : ",", i);
		if (j > i)
			fprintf(f, "-%u", j);
		first = 0;
		i = j + 1;
	}
}

static void
json_str(FILE *f, const char *s)
{
	char buf[BT_MAX_PATH_BYTES * 4 + 1];
	const unsigned char *p;

	/* bt_escape leaves valid UTF-8, so the JSON is valid too. */
	bt_escape(s, strlen(s), buf, sizeof(buf));
	putc('"', f);
	for (p = (const unsigned char *)buf; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}

static void
print_json(const char *tpath, const char *dir, const struct bt_torrent *t,
    const uint8_t *state, int longer)
{
	uint32_t count[4] = { 0, 0, 0, 0 }, i, n;
	char hex[BT_SHA1_LEN * 2 + 1];

	for (i = 0; i < t->npieces; i++)
		count[state[i]]++;
	n = t->npieces - count[SKIPPED];
	bt_hex(t->info_hash, BT_SHA1_LEN, hex);
	printf("{\"torrent\":");
	json_str(stdout, tpath);
	printf(",\"dir\":");
	json_str(stdout, dir);
	printf(",\"info_hash\":\"%s\",\"pieces\":%u,\"good\":%u,\"bad\":%u,"
	    "\"missing\":%u,\"complete\":%s,\"fetch\":\"", hex, n,
	    count[BT_PIECE_GOOD], count[BT_PIECE_BAD],
	    count[BT_PIECE_MISSING],
	    count[BT_PIECE_GOOD] == n && !longer ? "true" : "false");
	print_list(stdout, state, t->npieces);
	printf("\",\"state\":[");
	for (i = 0; i < t->npieces; i++)
		printf("%s\"%s\"", i ? "," : "", state_name[state[i]]);
	printf("]}\n");
}

enum { OUT_TEXT, OUT_JSON, OUT_MISSING };

static int
disk(const char *tpath, const char *dir, int nthreads, int out,
    struct bt_select *sel)
{
	struct bt_torrent t;
	struct bt_err e;
	uint8_t *state;
	uint32_t i, good = 0, n;
	int longer;

	if (bt_torrent_load(&t, tpath, &e) < 0)
		bt_die_err(tpath, &e);
	if ((state = malloc(t.npieces)) == NULL)
		bt_die(BT_EX_SOFTWARE, "out of memory");
	if (bt_select_given(sel) && bt_select_resolve(sel, &t, &e) < 0)
		bt_die_err(NULL, &e);
	if (bt_store_verify(&t, dir, nthreads, state, &e) < 0 ||
	    bt_store_verify_side(&t, dir, state, &e) < 0)
		bt_die_err(dir, &e);
	/* Said on stderr: the lines per piece cannot tell why. */
	if ((longer = bt_store_too_long(&t, dir, &e)) != 0)
		bt_warn_err(dir, &e);
	n = t.npieces;
	for (i = 0; i < t.npieces; i++) {
		if (bt_select_given(sel) && !bt_bit_get(sel->piece, i)) {
			state[i] = SKIPPED;
			n--;
		} else
			good += state[i] == BT_PIECE_GOOD;
	}
	switch (out) {
	case OUT_JSON:
		print_json(tpath, dir, &t, state, longer);
		break;
	case OUT_MISSING:
		if (good < n) {
			print_list(stdout, state, t.npieces);
			putchar('\n');
		}
		break;
	default:
		for (i = 0; i < t.npieces; i++)
			if (state[i] != SKIPPED)
				printf("%u %s\n", i, state_name[state[i]]);
	}
	free(state);
	bt_torrent_free(&t);
	return good == n && !longer ? 0 : BT_EX_NEGATIVE;
}

int
main(int argc, char **argv)
{
	static const struct option lopt[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "missing", no_argument, NULL, 'm' },
		{ "files", required_argument, NULL, 'f' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct bt_select sel;
	struct bt_err e;
	long long n;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c, out = OUT_TEXT, nthreads = cores > 0 ? (int)cores : 1;
	int setout = 0;

	bt_cli_init(argv[0]);
	bt_select_init(&sel);
	/* --files and --only have no short form: "Jj:m" as before. */
	while ((c = getopt_long(argc, argv, "Jj:m", lopt, NULL)) != -1) {
		switch (c) {
		case 'f':
		case 'o':
			if (bt_select_add(&sel, c == 'f' ? BT_SELECT_FILES :
			    BT_SELECT_ONLY, optarg, &e) < 0)
				bt_die_err(NULL, &e);
			break;
		case 'J':
		case 'm':
			if (setout)
				usage();
			setout = 1;
			out = c == 'J' ? OUT_JSON : OUT_MISSING;
			break;
		case 'j':
			if (bt_strtonum(optarg, 1, BT_VERIFY_MAX_THREADS, &n,
			    &e) < 0)
				bt_die(BT_EX_USAGE, "-j: %s",
				    e.msg);
			nthreads = (int)n;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 2) {
		c = disk(argv[0], argv[1], nthreads, out, &sel);
		bt_select_free(&sel);
		return bt_fshut_stdout(c);
	}
	if (argc > 2 || setout || bt_select_given(&sel))
		usage();
	return filter(argc == 1 ? argv[0] : "-");
}
