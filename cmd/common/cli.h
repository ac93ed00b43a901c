/*
 * What every program in cmd/ shares: reporting errors as one line on
 * stderr ("bt-x: context: reason"), and checking stdout before exiting so
 * that a full disk or a closed pipe does not look like success.
 */
#ifndef BT_CLI_H
#define BT_CLI_H

#include <stdint.h>

#include "err.h"

extern const char *bt_prog;	/* set by bt_cli_init from argv[0] */

void bt_cli_init(const char *argv0);
/* "prog: fmt" on stderr. */
void bt_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: ctx: byte N: msg" (ctx and the offset only when set). */
void bt_warn_err(const char *ctx, const struct bt_err *e);
/* bt_warn_err, then exit with e->status. */
void bt_die_err(const char *ctx, const struct bt_err *e)
    __attribute__((noreturn));
void bt_die(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
/*
 * The number an option takes, in [min, max]; otherwise "opt: reason" and
 * exit 64.
 */
long long bt_optnum(const char *opt, const char *s, long long min,
    long long max);
/*
 * A rate in bytes a second: a whole number with an optional K, M or G
 * suffix (powers of 1024, either case), at least 1; otherwise "opt:
 * reason" and exit 64.
 */
int64_t bt_optrate(const char *opt, const char *s);
/* Report an unknown option (naming bt_prog, not argv[0]), then usage(). */
void bt_bad_option(char *argv[], void (*usage)(void));
/*
 * Open an input file ("-" is standard input) for reading; on failure say
 * "ctx: reason" and return -1 (the caller exits 66).
 */
int bt_open_input(const char *path, const char *ctx);
/* Flush stdout; on failure report it and return BT_EX_IOERR, else st. */
int bt_fshut_stdout(int st);

#endif
