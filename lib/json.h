/*
 * JSON (RFC 8259) as bt-decode writes it and bt-encode reads it: the
 * one-to-one mapping between bencode and JSON that bt(7) describes.
 *
 *	integer		JSON integer, exact over the whole int64 range
 *	byte string	JSON string if the bytes are valid UTF-8 and do
 *			not start with "hex:"; otherwise "hex:" and the
 *			bytes in lowercase hex
 *	list		JSON array
 *	dict		JSON object, keys (same string rule) in the
 *			order they appear
 *
 * Floats, true, false and null have no bencode form and are refused by
 * the reader. The reader is iterative, with an explicit stack of
 * BT_JSON_MAX_DEPTH open containers, and reads any number of JSON values
 * from a file descriptor one at a time, so memory is bounded by one value.
 */
#ifndef BT_JSON_H
#define BT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "err.h"

/* Writer: each appends to b, returns 0 or -1 (b->oom set). */

/* A byte string, by the rule above (the "hex:" form when needed). */
int bt_json_str(struct bt_buf *b, const void *p, size_t n);
/* A NUL-terminated string, by the same rule. */
int bt_json_cstr(struct bt_buf *b, const char *s);
/* An integer, in decimal, exact. */
int bt_json_int(struct bt_buf *b, int64_t v);
/*
 * The bencode value n of d (and everything under it), compact, on one
 * line, without a newline. Iterative: depth costs no stack.
 */
int bt_json_bvalue(struct bt_buf *b, const struct bt_bdoc *d,
    const struct bt_bnode *n);

/* Reader: JSON text to bencode. */
struct bt_json_reader {
	int fd;			/* -1: read from the memory given */
	const char *mem;	/* the text, when fd is -1 */
	char *buf;		/* read buffer, when fd >= 0 */
	size_t cap;
	const char *p, *end;	/* unread text */
	int eof;
	long long off;		/* bytes of the input before p */
	long long line, col;	/* of the byte at p, from 1 */
	long long vstart;	/* offset where the current value began */
	int in_value;		/* in a value: BT_JSON_MAX_VALUE applies */
	int errnum;		/* errno of a failed read */
	struct bt_buf str;	/* one string being decoded */
};

/* Read from fd (not owned, not closed). */
void bt_json_reader_init(struct bt_json_reader *r, int fd);
/* Read from memory p[0..n) (not owned: must outlive the reader). */
void bt_json_reader_mem(struct bt_json_reader *r, const char *p, size_t n);
/*
 * Read the next JSON value and append its bencode to out. Returns 1 when
 * a value was read, 0 at the end of the input (only white space left),
 * -1 on error: e->off is -1 and e->msg starts "line L, column C: ".
 * On error, out may hold part of the value; the caller drops it.
 */
int bt_json_next(struct bt_json_reader *r, struct bt_buf *out,
    struct bt_err *e);
void bt_json_reader_free(struct bt_json_reader *r);

#endif
