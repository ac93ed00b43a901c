/*
 * bt-encode: JSON to bencode, the reverse of bt-decode (lib/json.h). Each
 * JSON value of the input becomes one bencoded value, back to back.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bencode.h"
#include "cli.h"
#include "json.h"

/* Bytes of bencode gathered before they go to stdout. */
#define OUT_CHUNK	(256 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: bt-encode [file | -]\n");
	exit(BT_EX_USAGE);
}

static int
encode(const char *path, const char *ctx)
{
	struct bt_json_reader r;
	struct bt_buf out = { 0 };
	struct bt_err e;
	unsigned long long nval = 0;
	int fd = 0, rc, status = BT_EX_OK;

	if ((fd = bt_open_input(path, ctx)) < 0)
		return BT_EX_NOINPUT;
	bt_json_reader_init(&r, fd);
	for (;;) {
		size_t keep = out.len;

		if ((rc = bt_json_next(&r, &out, &e)) == 0) {
			if (nval == 0) {
				bt_errf(&e, BT_EX_DATAERR, -1, "empty input");
				rc = -1;
			}
			break;
		}
		if (rc < 0) {
			/* A value is written whole or not at all. */
			out.len = keep;
			break;
		}
		nval++;
		if (out.len >= OUT_CHUNK) {
			if (fwrite(out.p, 1, out.len, stdout) != out.len) {
				out.len = 0;
				break;	/* bt_fshut_stdout reports it */
			}
			out.len = 0;
		}
	}
	if (out.len > 0)
		fwrite(out.p, 1, out.len, stdout);
	if (rc < 0) {
		fflush(stdout);
		bt_warn_err(ctx, &e);
		status = e.status;
	}
	bt_buf_free(&out);
	bt_json_reader_free(&r);
	if (fd != 0)
		close(fd);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "-";
	int c;

	bt_cli_init(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		bt_bad_option(argv, usage);
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		path = argv[0];
	setvbuf(stdout, NULL, _IOFBF, OUT_CHUNK);
	return bt_fshut_stdout(encode(path,
	    strcmp(path, "-") == 0 ? "stdin" : path));
}
