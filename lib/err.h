/*
 * Errors in the bt library. The library never prints and never exits: a
 * function that fails fills a struct bt_err and returns -1; the program in
 * cmd/ reports it as "bt-x: context: message" and exits with e->status.
 * Statuses are the sysexits(3) values that each man page's EXIT STATUS lists.
 */
#ifndef BT_ERR_H
#define BT_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum {
	BT_EX_OK = 0,
	BT_EX_NEGATIVE = 1,	/* a negative answer: bad piece found, like cmp(1) */
	BT_EX_USAGE = 64,
	BT_EX_DATAERR = 65,	/* malformed bencode, torrent, answer, message */
	BT_EX_NOINPUT = 66,	/* an input file is missing or unreadable */
	BT_EX_SOFTWARE = 70,	/* internal error (out of memory) */
	BT_EX_UNAVAILABLE = 69,	/* no tracker or peer could serve */
	BT_EX_IOERR = 74,	/* read or write failed */
	BT_EX_TEMPFAIL = 75,	/* try again later */
};

struct bt_err {
	int status;		/* one of BT_EX_* */
	long long off;		/* byte offset in the input, or -1 */
	char msg[512];
};

/* Fill e (if not NULL) and return -1, so callers can "return bt_errf(...)". */
int bt_errf(struct bt_err *e, int status, long long off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int bt_verrf(struct bt_err *e, int status, long long off, const char *fmt,
    va_list ap);
/* Prefix e->msg with "what: " (keeps status and offset). */
void bt_err_prefix(struct bt_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void bt_err_clear(struct bt_err *e);

#endif
