#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

const char *bt_prog = "bt";

void
bt_cli_init(const char *argv0)
{
	const char *s;

	if (argv0 != NULL && *argv0 != '\0') {
		s = strrchr(argv0, '/');
		bt_prog = s ? s + 1 : argv0;
	}
	/* A closed pipe is an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
}

void
bt_warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", bt_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
bt_warn_err(const char *ctx, const struct bt_err *e)
{
	fprintf(stderr, "%s: ", bt_prog);
	if (ctx != NULL)
		fprintf(stderr, "%s: ", ctx);
	if (e->off >= 0)
		fprintf(stderr, "byte %lld: ", e->off);
	fprintf(stderr, "%s\n", e->msg[0] ? e->msg : "unknown error");
}

void
bt_die_err(const char *ctx, const struct bt_err *e)
{
	bt_warn_err(ctx, e);
	exit(e->status ? e->status : 70);
}

void
bt_die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", bt_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

int
bt_fshut_stdout(int st)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error on standard output: %s\n",
		    bt_prog, strerror(errno ? errno : EIO));
		return BT_EX_IOERR;
	}
	return st;
}

long long
bt_optnum(const char *opt, const char *s, long long min, long long max)
{
	struct bt_err e;
	long long v;

	if (bt_strtonum(s, min, max, &v, &e) < 0)
		bt_die(BT_EX_USAGE, "%s: %s", opt, e.msg);
	return v;
}

int64_t
bt_optrate(const char *opt, const char *s)
{
	char buf[32];
	size_t n = strlen(s);
	long long mult = 1, v;

	if (n == 0 || n >= sizeof(buf))
		bt_die(BT_EX_USAGE, "%s: '%s' is not a rate", opt, s);
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 'k': case 'K':
		mult = 1024;
		break;
	case 'm': case 'M':
		mult = 1024 * 1024;
		break;
	case 'g': case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	}
	if (mult > 1)
		buf[n - 1] = '\0';
	v = bt_optnum(opt, buf, 1, LLONG_MAX / mult);
	return (int64_t)(v * mult);
}

void
bt_bad_option(char *argv[], void (*usage)(void))
{
	if (optopt != 0)
		bt_warnx("unknown option '-%c'", optopt);
	else
		bt_warnx("unknown option '%s'", argv[optind - 1]);
	usage();
}

int
bt_open_input(const char *path, const char *ctx)
{
	struct stat st;
	int fd = 0;

	if (strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		bt_warnx("%s: %s", ctx, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		bt_warnx("%s: is a directory", ctx);
		close(fd);
		return -1;
	}
	return fd;
}
