/*
 * lib/util: bt_strtonum, hex, UTF-8 validation, escaping for terminals,
 * bt_read_file and its limits.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "t.h"

static void
num_ok(const char *s, long long min, long long max, long long want)
{
	struct bt_err e;
	long long v = -12345;

	T_OK(bt_strtonum(s, min, max, &v, &e) == 0 && v == want,
	    "strtonum '%s' is %lld", s, want);
}

static void
num_bad(const char *s, long long min, long long max, const char *msg)
{
	struct bt_err e;
	long long v = -12345;

	bt_err_clear(&e);
	T_OK(bt_strtonum(s, min, max, &v, &e) == -1 &&
	    e.status == BT_EX_USAGE && v == -12345,
	    "strtonum refuses '%s' as a usage error", s);
	T_STREQ(e.msg, msg, "strtonum names the reason for '%s'", s);
}

static void
test_strtonum(void)
{
	num_ok("0", 0, 10, 0);
	num_ok("10", 0, 10, 10);
	num_ok("-5", -10, 10, -5);
	num_ok("9223372036854775807", 0, LLONG_MAX, LLONG_MAX);
	num_ok("-9223372036854775808", LLONG_MIN, 0, LLONG_MIN);
	num_bad("", 0, 10, "'': not a number");
	num_bad("abc", 0, 10, "'abc': not a number");
	num_bad("12x", 0, 10, "'12x': not a number");
	num_bad(" 1", 0, 10, "' 1': not a number");
	num_bad("1 ", 0, 10, "'1 ': not a number");
	num_bad("+1", 0, 10, "'+1': not a number");
	num_bad("-", 0, 10, "'-': not a number");
	num_bad("0x10", 0, 100, "'0x10': not a number");
	num_bad("11", 0, 10, "'11': out of range 0 to 10");
	num_bad("-1", 0, 10, "'-1': out of range 0 to 10");
	num_bad("9223372036854775808", 0, LLONG_MAX,
	    "'9223372036854775808': out of range 0 to 9223372036854775807");
}

static void
test_hex(void)
{
	static const uint8_t in[] = { 0x00, 0x0f, 0xab, 0xff, 0x10 };
	uint8_t out[5];
	char h[11];

	bt_hex(in, 5, h);
	T_STREQ(h, "000fabff10", "hex is lowercase, two digits a byte");
	T_OK(bt_unhex("000FabfF10", 10, out, 5) == 0 &&
	    memcmp(out, in, 5) == 0, "unhex takes either case");
	T_OK(bt_unhex("000fabff1", 9, out, 5) == -1,
	    "unhex refuses an odd count of digits");
	T_OK(bt_unhex("000fabff1000", 12, out, 5) == -1,
	    "unhex refuses too many digits");
	T_OK(bt_unhex("000fagff10", 10, out, 5) == -1,
	    "unhex refuses a non-hex digit");
	T_OK(bt_unhex("000f ab ff1", 10, out, 5) == -1,
	    "unhex refuses spaces");
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		int valid;
		const char *what;
	} v[] = {
		{ "plain ascii", 1, "ASCII" },
		{ "h\xc3\xa9llo", 1, "a 2-byte sequence" },
		{ "\xe2\x82\xac", 1, "a 3-byte sequence (euro)" },
		{ "\xf0\x9f\x98\x80", 1, "a 4-byte sequence (emoji)" },
		{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF" },
		{ "\xed\x9f\xbf", 1, "U+D7FF, just before the surrogates" },
		{ "\xc0\xaf", 0, "an overlong '/' in 2 bytes" },
		{ "\xc1\xbf", 0, "an overlong in 2 bytes (C1)" },
		{ "\xe0\x80\xaf", 0, "an overlong '/' in 3 bytes" },
		{ "\xe0\x9f\xbf", 0, "an overlong U+07FF in 3 bytes" },
		{ "\xf0\x80\x80\xaf", 0, "an overlong '/' in 4 bytes" },
		{ "\xf0\x8f\xbf\xbf", 0, "an overlong U+FFFF in 4 bytes" },
		{ "\xed\xa0\x80", 0, "the surrogate U+D800" },
		{ "\xed\xbf\xbf", 0, "the surrogate U+DFFF" },
		{ "\xf4\x90\x80\x80", 0, "U+110000, past U+10FFFF" },
		{ "\xf5\x80\x80\x80", 0, "a lead byte F5" },
		{ "\xff", 0, "the byte FF" },
		{ "\xe2\x82", 0, "a truncated 3-byte sequence" },
		{ "a\xf0\x9f\x98", 0, "a truncated 4-byte sequence" },
		{ "\x80", 0, "a lone continuation byte" },
		{ "\xc3\x28", 0, "a lead byte without its continuation" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_OK(bt_utf8_valid(v[i].s, strlen(v[i].s)) == v[i].valid,
		    "utf8: %s is %s", v[i].what, v[i].valid ? "valid" :
		    "invalid");
	T_OK(bt_utf8_valid("a\0b", 3) == 1, "utf8: NUL is valid UTF-8");
	T_OK(bt_utf8_valid("", 0) == 1, "utf8: the empty string is valid");
}

static void
esc(const char *in, size_t n, const char *want, const char *what)
{
	char out[256];

	T_STREQ(bt_escape(in, n, out, sizeof(out)), want, "escape: %s",
	    what);
}

static void
test_escape(void)
{
	char small[8];

	esc("plain name.txt", 14, "plain name.txt", "printable ASCII kept");
	esc("a\tb\nc", 5, "a\\x09b\\x0ac", "control characters");
	esc("\x1b[31mred", 8, "\\x1b[31mred", "ESC");
	esc("a\\b", 3, "a\\x5cb", "backslash, so escapes are unambiguous");
	esc("\x7f", 1, "\\x7f", "DEL");
	esc("a\0b", 3, "a\\x00b", "NUL");
	esc("h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x98\x80", 14,
	    "h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x98\x80", "valid UTF-8 kept");
	esc("gpj.\xe2\x80\xae" "exe", 10, "gpj.\\xe2\\x80\\xaeexe",
	    "RLO U+202E (a name that reads backwards)");
	esc("\xe2\x81\xa6x\xe2\x80\x8f", 7, "\\xe2\\x81\\xa6x\\xe2\\x80\\x8f",
	    "isolates and marks (U+2066, U+200F)");
	esc("\xc2\x85", 2, "\\xc2\\x85", "a C1 control (U+0085)");
	esc("a\xff" "b", 3, "a\\xffb", "an invalid byte");
	esc("\xc3\x28", 2, "\\xc3(", "a lead byte without continuation");
	esc("\xed\xa0\x80", 3, "\\xed\\xa0\\x80", "a surrogate");
	esc("\xc0\xaf", 2, "\\xc0\\xaf", "an overlong");
	esc("\xe2\x82", 2, "\\xe2\\x82", "a truncated sequence");
	T_STREQ(bt_escape("abcdefghij", 10, small, sizeof(small)),
	    "abcdefg", "escape: truncates to the buffer, NUL-terminated");
	T_STREQ(bt_escape("ab\x1b", 3, small, 5), "ab",
	    "escape: never cuts an escape in half");
}

static char tmpdir[1024];

static void
test_read_file(void)
{
	char path[1100], *buf = NULL;
	size_t len = 0;
	struct bt_err e;
	int fd;

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_OK(fd >= 0 && write(fd, "hello\0world", 11) == 11,
	    "read_file: fixture written");
	close(fd);
	T_OK(bt_read_file(path, 11, NULL, &buf, &len, &e) == 0 && len == 11 &&
	    memcmp(buf, "hello\0world", 12) == 0,
	    "read_file: reads a file at the limit, NUL-terminated");
	free(buf);
	bt_err_clear(&e);
	T_OK(bt_read_file(path, 10, NULL, &buf, &len, &e) == -1 &&
	    e.status == BT_EX_DATAERR, "read_file: over the limit is 65");
	T_STREQ(e.msg, "file larger than 10 bytes",
	    "read_file: names the limit");

	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	T_OK(bt_read_file(path, 10, NULL, &buf, &len, &e) == 0 && len == 0 &&
	    buf[0] == '\0', "read_file: an empty file");
	free(buf);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	bt_err_clear(&e);
	T_OK(bt_read_file(path, 10, NULL, &buf, &len, &e) == -1 &&
	    e.status == BT_EX_NOINPUT, "read_file: a missing file is 66");
	T_STREQ(e.msg, "No such file or directory",
	    "read_file: names why it is missing");
	bt_err_clear(&e);
	T_OK(bt_read_file(tmpdir, 10, NULL, &buf, &len, &e) == -1 &&
	    e.status == BT_EX_NOINPUT && strcmp(e.msg, "is a directory") == 0,
	    "read_file: a directory is 66");

	/* Standard input from a pipe: the limit counts what arrives. */
	{
		int p[2], saved = dup(0);
		pid_t pid;
		int r;

		if (pipe(p) < 0 || (pid = fork()) < 0)
			abort();
		if (pid == 0) {
			char blk[4096];
			int i;

			close(p[0]);
			memset(blk, 'x', sizeof(blk));
			for (i = 0; i < 100; i++)
				if (write(p[1], blk, sizeof(blk)) < 0)
					_exit(0);
			_exit(0);
		}
		close(p[1]);
		dup2(p[0], 0);
		close(p[0]);
		bt_err_clear(&e);
		r = bt_read_file("-", 409599, NULL, &buf, &len, &e);
		T_OK(r == -1 && e.status == BT_EX_DATAERR &&
		    strcmp(e.msg, "input larger than 409599 bytes") == 0,
		    "read_file: stdin over the limit is 65 (%s)", e.msg);
		dup2(saved, 0);
		close(saved);
		waitpid(pid, NULL, 0);

		if (pipe(p) < 0 || (pid = fork()) < 0)
			abort();
		if (pid == 0) {
			char blk[4096];
			int i;

			close(p[0]);
			memset(blk, 'y', sizeof(blk));
			for (i = 0; i < 100; i++)
				if (write(p[1], blk, sizeof(blk)) < 0)
					_exit(1);
			_exit(0);
		}
		close(p[1]);
		saved = dup(0);
		dup2(p[0], 0);
		close(p[0]);
		r = bt_read_file("-", 409600, NULL, &buf, &len, &e);
		T_OK(r == 0 && len == 409600 && buf[409599] == 'y' &&
		    buf[409600] == '\0', "read_file: stdin at the limit");
		free(buf);
		dup2(saved, 0);
		close(saved);
		waitpid(pid, NULL, 0);
	}
}

static void
test_err(void)
{
	struct bt_err e;
	char big[600];

	T_OK(bt_errf(NULL, BT_EX_DATAERR, 3, "x") == -1,
	    "err: bt_errf with no struct still returns -1");
	T_OK(bt_errf(&e, BT_EX_IOERR, 42, "read: %s", "gone") == -1 &&
	    e.status == BT_EX_IOERR && e.off == 42, "err: status and offset");
	T_STREQ(e.msg, "read: gone", "err: formatted message");
	bt_err_prefix(&e, "file %d", 3);
	T_OK(e.status == BT_EX_IOERR && e.off == 42,
	    "err: prefix keeps status and offset");
	T_STREQ(e.msg, "file 3: read: gone", "err: prefix");
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bt_errf(&e, BT_EX_DATAERR, -1, "%s", big);
	T_OK(strlen(e.msg) == sizeof(e.msg) - 1, "err: a long message is cut");
	bt_err_prefix(&e, "p");
	T_OK(strlen(e.msg) == sizeof(e.msg) - 1 &&
	    strncmp(e.msg, "p: mmm", 6) == 0,
	    "err: prefixing a full message keeps it within bounds");
	bt_err_clear(&e);
	T_OK(e.status == 0 && e.off == -1 && e.msg[0] == '\0', "err: clear");
}

int
main(void)
{
	char path[1100];

	snprintf(tmpdir, sizeof(tmpdir), "%s/bt-test-util-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	test_err();
	test_strtonum();
	test_hex();
	test_utf8();
	test_escape();
	test_read_file();
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return t_done();
}
