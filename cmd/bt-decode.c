/*
 * bt-decode: bencode to JSON, one value a line (the mapping of lib/json.h),
 * or with -i a summary of a torrent, as text or as one JSON object.
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

#include "bencode.h"
#include "btlimits.h"
#include "cli.h"
#include "json.h"
#include "metainfo.h"
#include "util.h"

/* Bytes of JSON gathered before they go to stdout, and stdout's buffer. */
#define OUT_CHUNK	(256 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: bt-decode [-ijs] [file | -]\n");
	exit(BT_EX_USAGE);
}

static int
out_oom(void)
{
	bt_warnx("out of memory");
	return BT_EX_SOFTWARE;
}

/* Write b to stdout and empty it; -1 on a write error. */
static int
flush_buf(struct bt_buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len)
		return -1;
	b->len = 0;
	return 0;
}

/*
 * The sequence reader says only "stream ends inside a value" or names the
 * byte where its scan stopped; the decoder, run on the bytes it holds,
 * names the first real problem (an unterminated list, a string length past
 * the end, a leading zero before the bad byte).
 */
static void
refine(const struct bt_bseq *q, struct bt_err *e)
{
	struct bt_bdoc d;
	struct bt_err e2;
	size_t avail;

	if (e->status != BT_EX_DATAERR || q->buf == NULL ||
	    q->start >= q->len)
		return;
	avail = q->len - q->start;
	if (!q->eof && e->off <= (long long)q->consumed)
		return;		/* too large, or bad at its first byte */
	if (bt_bdecode(&d, q->buf + q->start, avail, BT_BDEC_PREFIX,
	    &e2) < 0 && e2.status == BT_EX_DATAERR && e2.off >= 0) {
		e2.off += (long long)q->consumed;
		*e = e2;
	}
	bt_bdoc_free(&d);
}

static int
decode(const char *path, const char *ctx, int strict)
{
	struct bt_bseq q;
	struct bt_buf out = { 0 };
	struct bt_err e;
	unsigned long long nval = 0;
	int fd = 0, r, status = BT_EX_OK;

	if ((fd = bt_open_input(path, ctx)) < 0)
		return BT_EX_NOINPUT;
	bt_bseq_init(&q, fd, BT_SEQ_MAX_VALUE);
	q.limit = "BT_SEQ_MAX_VALUE";
	for (;;) {
		if ((r = bt_bseq_next(&q, &e)) == 0) {
			if (nval == 0) {
				bt_errf(&e, BT_EX_DATAERR, -1, "empty input");
				r = -1;
			}
			break;
		}
		if (r < 0) {
			refine(&q, &e);
			/* Junk after a value, not a bad next value. */
			if (nval > 0 && e.status == BT_EX_DATAERR &&
			    e.off == (long long)q.consumed &&
			    q.start < q.len &&
			    memchr("ild0123456789", q.buf[q.start], 13) == NULL)
				bt_err_prefix(&e, "trailing bytes after "
				    "value %llu", nval);
			break;
		}
		if (strict && bt_bdoc_strict(&q.doc, &e) < 0) {
			e.off += (long long)q.consumed;
			r = -1;
			break;
		}
		nval++;
		if (bt_json_bvalue(&out, &q.doc, &q.doc.node[0]) < 0 ||
		    bt_buf_add(&out, "\n", 1) < 0) {
			status = out_oom();
			break;
		}
		if (out.len >= OUT_CHUNK && flush_buf(&out) < 0)
			break;		/* bt_fshut_stdout reports it */
	}
	if (r < 0) {
		/* What came before the bad value is good: it goes out. */
		flush_buf(&out);
		fflush(stdout);
		bt_warn_err(ctx, &e);
		status = e.status;
	} else {
		flush_buf(&out);
	}
	bt_buf_free(&out);
	bt_bseq_free(&q);
	if (fd != 0)
		close(fd);
	return status;
}

/* Print s[0..n) made safe for a terminal (bt_escape). */
static void
put_safe(const char *s, size_t n)
{
	static char *buf;
	static size_t cap;

	if (n > (SIZE_MAX - 1) / 4)
		n = (SIZE_MAX - 1) / 4;
	if (4 * n + 1 > cap) {
		char *p = realloc(buf, 4 * n + 1);

		if (p == NULL) {
			fputs("(out of memory)", stdout);
			return;
		}
		buf = p;
		cap = 4 * n + 1;
	}
	fputs(bt_escape(s, n, buf, cap), stdout);
}

static void
put_safe_str(const char *s)
{
	put_safe(s, strlen(s));
}

/* "N bytes (H.H KiB)": exact, then in binary units for people. */
static void
put_size(int64_t v)
{
	static const char *unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
	    "EiB" };
	double d = (double)v;
	int u = -1;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u < 0)
		printf("%lld bytes\n", (long long)v);
	else
		printf("%lld bytes (%.1f %s)\n", (long long)v, d, unit[u]);
}

/* ISO 8601 in UTC, or 0 if the date has no four-digit year. */
static int
iso_date(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt;

	/* 0001-01-01 to 9999-12-31 */
	if (t < -62135596800LL || t > 253402300799LL)
		return 0;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	return strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

/* Tiers of trackers: BEP 12's announce-list, else the one announce. */
static size_t
ntiers(const struct bt_torrent *t)
{
	if (t->ntiers > 0)
		return t->ntiers;
	return t->announce != NULL ? 1 : 0;
}

static size_t
tier_len(const struct bt_torrent *t, size_t i)
{
	return t->ntiers > 0 ? t->tiers[i].n : 1;
}

static const char *
tier_url(const struct bt_torrent *t, size_t i, size_t j)
{
	return t->ntiers > 0 ? t->tiers[i].url[j] : t->announce;
}

/* BEP 52: what the torrent holds, for the Version line. */
static const char *
version(const struct bt_torrent *t)
{
	if (t->v2only)
		return "v2";
	return t->hybrid ? "hybrid v1+v2 (v1 used)" : "v1";
}

static int
info_text(const struct bt_torrent *t)
{
	char hex[2 * BT_SHA256_LEN + 1], date[64];
	size_t i, j;

	fputs("Name: ", stdout);
	put_safe_str(t->name);
	bt_hex(t->info_hash, BT_SHA1_LEN, hex);
	printf("\nInfo hash: %s\n", hex);
	if (t->v2) {
		bt_hex(t->info_hash_v2, BT_SHA256_LEN, hex);
		printf("Info hash v2: %s\n", hex);
	}
	fputs("Total size: ", stdout);
	put_size(t->total_length);
	fputs("Piece length: ", stdout);
	put_size(t->piece_length);
	printf("Pieces: %lu\n", (unsigned long)t->npieces);
	printf("Private: %s\n", t->private ? "yes" : "no");
	printf("Version: %s\n", version(t));
	if (t->v2)
		fputs("Meta version: 2\n", stdout);
	if (t->has_date) {
		if (iso_date(t->creation_date, date, sizeof(date)))
			printf("Created: %s\n", date);
		else
			printf("Created: %lld\n", (long long)t->creation_date);
	}
	if (t->created_by != NULL) {
		fputs("Created by: ", stdout);
		put_safe_str(t->created_by);
		putchar('\n');
	}
	if (t->comment != NULL) {
		fputs("Comment: ", stdout);
		put_safe_str(t->comment);
		putchar('\n');
	}
	if (ntiers(t) > 0) {
		fputs("Trackers:\n", stdout);
		for (i = 0; i < ntiers(t); i++) {
			printf("  tier %zu:", i + 1);
			for (j = 0; j < tier_len(t, i); j++) {
				putchar(' ');
				put_safe_str(tier_url(t, i, j));
			}
			putchar('\n');
		}
	}
	if (t->nurl > 0) {
		fputs("Web seeds:\n", stdout);
		for (i = 0; i < t->nurl; i++) {
			fputs("  ", stdout);
			put_safe_str(t->url_list[i]);
			putchar('\n');
		}
	}
	printf("Files: %zu\n", t->nfiles);
	for (i = 0; i < t->nfiles; i++) {
		printf("  %lld ", (long long)t->files[i].length);
		put_safe_str(t->files[i].path);
		putchar('\n');
		if (t->files[i].root != NULL) {
			bt_hex(t->files[i].root, BT_SHA256_LEN, hex);
			printf("    pieces root: %s\n", hex);
		}
	}
	return BT_EX_OK;
}

static void
jkey(struct bt_buf *b, const char *k)
{
	bt_buf_add(b, ",", b->len > 1);
	bt_json_cstr(b, k);
	bt_buf_add(b, ":", 1);
}

static void
jstr_or_null(struct bt_buf *b, const char *s)
{
	if (s != NULL)
		bt_json_cstr(b, s);
	else
		bt_buf_add(b, "null", 4);
}

static void
jbool(struct bt_buf *b, int v)
{
	if (v)
		bt_buf_add(b, "true", 4);
	else
		bt_buf_add(b, "false", 5);
}

static int
info_json(const struct bt_torrent *t)
{
	struct bt_buf b = { 0 };
	char hex[2 * BT_SHA256_LEN + 1];
	size_t i, j;
	int st = BT_EX_OK;

	bt_buf_add(&b, "{", 1);
	jkey(&b, "name");
	bt_json_cstr(&b, t->name);
	jkey(&b, "info_hash");
	bt_hex(t->info_hash, BT_SHA1_LEN, hex);
	bt_json_cstr(&b, hex);
	jkey(&b, "total_size");
	bt_json_int(&b, t->total_length);
	jkey(&b, "piece_length");
	bt_json_int(&b, t->piece_length);
	jkey(&b, "piece_count");
	bt_json_int(&b, t->npieces);
	jkey(&b, "private");
	jbool(&b, t->private);
	jkey(&b, "hybrid");
	jbool(&b, t->hybrid);
	/* Only for v2, so that a v1 summary stays what it was. */
	if (t->v2) {
		jkey(&b, "version");
		bt_json_cstr(&b, t->v2only ? "v2" : "hybrid");
		jkey(&b, "info_hash_v2");
		bt_hex(t->info_hash_v2, BT_SHA256_LEN, hex);
		bt_json_cstr(&b, hex);
		jkey(&b, "meta_version");
		bt_json_int(&b, 2);
	}
	jkey(&b, "creation_date");
	if (t->has_date)
		bt_json_int(&b, t->creation_date);
	else
		bt_buf_add(&b, "null", 4);
	jkey(&b, "created_by");
	jstr_or_null(&b, t->created_by);
	jkey(&b, "comment");
	jstr_or_null(&b, t->comment);
	jkey(&b, "trackers");
	bt_buf_add(&b, "[", 1);
	for (i = 0; i < ntiers(t); i++) {
		bt_buf_add(&b, ",", i > 0);
		bt_buf_add(&b, "[", 1);
		for (j = 0; j < tier_len(t, i); j++) {
			bt_buf_add(&b, ",", j > 0);
			bt_json_cstr(&b, tier_url(t, i, j));
		}
		bt_buf_add(&b, "]", 1);
	}
	bt_buf_add(&b, "]", 1);
	jkey(&b, "url_list");
	bt_buf_add(&b, "[", 1);
	for (i = 0; i < t->nurl; i++) {
		bt_buf_add(&b, ",", i > 0);
		bt_json_cstr(&b, t->url_list[i]);
	}
	bt_buf_add(&b, "]", 1);
	jkey(&b, "files");
	bt_buf_add(&b, "[", 1);
	for (i = 0; i < t->nfiles; i++) {
		bt_buf_add(&b, ",", i > 0);
		bt_buf_add(&b, "{\"path\":", 8);
		bt_json_cstr(&b, t->files[i].path);
		bt_buf_add(&b, ",\"length\":", 10);
		bt_json_int(&b, t->files[i].length);
		if (t->files[i].pad)
			bt_buf_add(&b, ",\"padding\":true", 15);
		if (t->files[i].root != NULL) {
			bt_buf_add(&b, ",\"pieces_root\":", 15);
			bt_hex(t->files[i].root, BT_SHA256_LEN, hex);
			bt_json_cstr(&b, hex);
		}
		bt_buf_add(&b, "}", 1);
		if (b.len >= OUT_CHUNK && !b.oom && flush_buf(&b) < 0)
			break;
	}
	bt_buf_add(&b, "]}\n", 3);
	if (b.oom)
		st = out_oom();
	else
		flush_buf(&b);
	bt_buf_free(&b);
	return st;
}

static int
info(const char *path, const char *ctx, int json, int strict)
{
	struct bt_torrent t;
	struct bt_err e;
	int st;

	if (bt_torrent_load(&t, path, &e) < 0 ||
	    (strict && bt_bdoc_strict(&t.doc, &e) < 0)) {
		bt_warn_err(ctx, &e);
		bt_torrent_free(&t);
		return e.status;
	}
	st = json ? info_json(&t) : info_text(&t);
	bt_torrent_free(&t);
	return st;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "info", no_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "-", *ctx;
	int c, iflag = 0, jflag = 0, sflag = 0;

	bt_cli_init(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ijs", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iflag = 1;
			break;
		case 'j':
			jflag = 1;
			break;
		case 's':
			sflag = 1;
			break;
		default:
			bt_bad_option(argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		path = argv[0];
	ctx = strcmp(path, "-") == 0 ? "stdin" : path;
	setvbuf(stdout, NULL, _IOFBF, OUT_CHUNK);
	if (iflag)
		return bt_fshut_stdout(info(path, ctx, jflag, sflag));
	return bt_fshut_stdout(decode(path, ctx, sflag));
}
