/* Small helpers every module and program shares. */
#ifndef BT_UTIL_H
#define BT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Read a whole file ("-" is standard input) of at most max bytes into a
 * new buffer (NUL-terminated, not counted in *len). Missing or unreadable:
 * BT_EX_NOINPUT; larger than max: BT_EX_DATAERR naming the limit (its
 * constant's name, when limit is not NULL).
 */
int bt_read_file(const char *path, long long max, const char *limit,
    char **buf, size_t *len, struct bt_err *e);

/*
 * Parse a whole decimal number in [min, max], like OpenBSD's strtonum:
 * garbage, an empty string or a value out of range is an error.
 */
int bt_strtonum(const char *s, long long min, long long max, long long *out,
    struct bt_err *e);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void bt_hex(const uint8_t *p, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int bt_hexval(int c);
/*
 * "name: message" to an engine's on_log callback (if not NULL): the one
 * shape of every line about a peer, for lib/swarm and lib/metadata.
 */
void bt_peer_vlog(void (*on_log)(void *, int, const char *), void *arg,
    int level, const char *name, const char *fmt, va_list ap);
/* Milliseconds of CLOCK_MONOTONIC: for timeouts, never for dates. */
long long bt_now_ms(void);
/* Parse exactly 2n hex digits into out; -1 if not hex. */
int bt_unhex(const char *s, size_t slen, uint8_t *out, size_t n);

/* 1 if p[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int bt_utf8_valid(const char *p, size_t n);

/*
 * Make a name safe to print on a terminal: printable ASCII and valid
 * UTF-8 stay, except the bidirectional controls; every other byte, and
 * the backslash, becomes \xNN. Returns out (always NUL-terminated).
 */
char *bt_escape(const char *p, size_t n, char *out, size_t outsz);

/* Big-endian (network order) reads and writes of 32 and 64 bits. */
static inline uint32_t
bt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
bt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint64_t
bt_get64(const uint8_t *p)
{
	return (uint64_t)bt_get32(p) << 32 | bt_get32(p + 4);
}

static inline void
bt_put64(uint8_t *p, uint64_t v)
{
	bt_put32(p, (uint32_t)(v >> 32));
	bt_put32(p + 4, (uint32_t)v);
}

#endif
