/*
 * Bencode (BEP 3): a zero-copy decoder into a flat table of nodes, an
 * encoder into a growable buffer, and a reader of bencoded values that
 * follow one another on a file descriptor (the piece stream of bt(7)).
 *
 * Decoding never copies: every node points into the input with offsets, and
 * records the exact byte range of its value, so the info hash is the SHA-1
 * of the bytes of "info" as they were received.
 *
 * Nodes are in document order; a node's subtree is the "skip" nodes that
 * start with it, so the first child of a list or dict is node+1 and the
 * next sibling of any node n is n + n->skip. A dict's children alternate
 * key, value.
 */
#ifndef BT_BENCODE_H
#define BT_BENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum bt_btype { BT_BINT = 1, BT_BSTR, BT_BLIST, BT_BDICT };

struct bt_bnode {
	uint32_t off;		/* first byte of the value in the input */
	uint32_t len;		/* bytes of the whole value, header included */
	uint32_t skip;		/* nodes in this subtree, this one included */
	uint8_t type;		/* enum bt_btype */
	union {
		int64_t i;	/* BT_BINT */
		struct {
			uint32_t off, len;	/* BT_BSTR: the string's bytes */
		} s;
		uint32_t n;	/* BT_BLIST items, BT_BDICT pairs */
	} v;
};

struct bt_bdoc {
	const char *buf;	/* the input; not owned */
	size_t buflen;
	struct bt_bnode *node;	/* node[0] is the root */
	size_t nnode, cap;
	/* Offsets of the first dict key out of order / repeated, or -1. */
	long long unsorted_off, dup_off;
};

/* Flags for bt_bdecode. */
#define BT_BDEC_PREFIX	0x1	/* stop after one value; trailing bytes ok */

/*
 * Decode the one value at buf[0..len). Without BT_BDEC_PREFIX, bytes after
 * the value are an error. On success returns the bytes the value takes;
 * on failure -1 with e->off at the offending byte. The doc must be freed
 * with bt_bdoc_free whether or not decoding succeeded.
 */
long long bt_bdecode(struct bt_bdoc *d, const char *buf, size_t len,
    int flags, struct bt_err *e);
void bt_bdoc_free(struct bt_bdoc *d);

/*
 * Strict check (BEP 3 says keys are sorted as raw strings, each once):
 * returns 0, or -1 naming the first key out of order or repeated.
 */
int bt_bdoc_strict(const struct bt_bdoc *d, struct bt_err *e);

/* Access. */
static inline const struct bt_bnode *
bt_bnext(const struct bt_bnode *n)
{
	return n + n->skip;
}
static inline const char *
bt_bstr(const struct bt_bdoc *d, const struct bt_bnode *n)
{
	return d->buf + n->v.s.off;
}
static inline const char *
bt_braw(const struct bt_bdoc *d, const struct bt_bnode *n)
{
	return d->buf + n->off;
}
/* The value under key in dict (first match), or NULL. */
const struct bt_bnode *bt_bdict_get(const struct bt_bdoc *d,
    const struct bt_bnode *dict, const char *key);
/* Same, and NULL unless the value has the given type. */
const struct bt_bnode *bt_bdict_get_type(const struct bt_bdoc *d,
    const struct bt_bnode *dict, const char *key, int type);
/* 1 if the string node equals the NUL-terminated s. */
int bt_bstr_eq(const struct bt_bdoc *d, const struct bt_bnode *n,
    const char *s);

/* Encoder: appends to a growable buffer. */
struct bt_buf {
	char *p;
	size_t len, cap;
	int oom;		/* set when an allocation failed */
};
void bt_buf_free(struct bt_buf *b);
int bt_buf_add(struct bt_buf *b, const void *p, size_t n);
int bt_benc_int(struct bt_buf *b, int64_t i);
int bt_benc_str(struct bt_buf *b, const void *p, size_t n);
int bt_benc_cstr(struct bt_buf *b, const char *s);
int bt_benc_list(struct bt_buf *b);	/* 'l' */
int bt_benc_dict(struct bt_buf *b);	/* 'd' */
int bt_benc_end(struct bt_buf *b);	/* 'e' */

/*
 * Incremental scanner: finds where one value ends without decoding it, in
 * time linear in the bytes, however the input arrives. Used by the
 * sequence reader; exposed for tests.
 */
struct bt_bscan {
	size_t pos;		/* next byte to look at */
	int depth;
	int started;
};
/*
 * Look at buf[0..len) (the same buffer, only growing, between calls).
 * Returns 1 and sets *vlen when a whole value is there, 0 when more bytes
 * are needed, -1 on malformed input (e->off set).
 */
int bt_bscan_step(struct bt_bscan *s, const char *buf, size_t len,
    size_t *vlen, struct bt_err *e);

/*
 * Sequence reader: bencoded values one after another on a file descriptor,
 * each at most max bytes, read incrementally: memory is bounded by the
 * largest value, never by the stream.
 */
struct bt_bseq {
	int fd;
	size_t max;
	const char *limit;	/* the limit's name for errors, or NULL */
	char *buf;
	size_t cap, len;	/* bytes held */
	size_t start;		/* where the current value starts */
	size_t consumed;	/* bytes of the stream before buf[start] */
	size_t next;		/* where the value after it starts */
	int eof;
	struct bt_bscan scan;
	struct bt_bdoc doc;
};
/*
 * Set q->limit after init to name the constant max comes from: a value
 * over it is then "value larger than MAX bytes (limit NAME)".
 */
void bt_bseq_init(struct bt_bseq *q, int fd, size_t max);
/*
 * Read the next value. Returns 1 with q->doc decoded (valid until the next
 * call), 0 at a clean end of stream, -1 on error (malformed, truncated,
 * too large, or read error; e->off is the offset in the whole stream).
 */
int bt_bseq_next(struct bt_bseq *q, struct bt_err *e);
void bt_bseq_free(struct bt_bseq *q);

#endif
