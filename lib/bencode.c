/*
 * Bencode per BEP 3. The decoder is iterative on purpose (recursive
 * decoders have crashed on "llll..." in many clients): an explicit stack of
 * BT_BENCODE_MAX_DEPTH open containers, and every length checked against
 * the end of the input before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"

#define E(off, ...) bt_errf(e, BT_EX_DATAERR, (long long)(off), __VA_ARGS__)

static int
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static struct bt_bnode *
newnode(struct bt_bdoc *d, size_t off, struct bt_err *e)
{
	struct bt_bnode *n;

	if (d->nnode == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct bt_bnode *p;

		if (d->nnode >= BT_BENCODE_MAX_TOKENS) {
			E(off, "more than %d values (limit "
			    "BT_BENCODE_MAX_TOKENS)", BT_BENCODE_MAX_TOKENS);
			return NULL;
		}
		if (cap > BT_BENCODE_MAX_TOKENS)
			cap = BT_BENCODE_MAX_TOKENS;
		p = realloc(d->node, cap * sizeof(*p));
		if (p == NULL) {
			bt_errf(e, BT_EX_SOFTWARE, (long long)off,
			    "out of memory");
			return NULL;
		}
		d->node = p;
		d->cap = cap;
	}
	n = &d->node[d->nnode++];
	memset(n, 0, sizeof(*n));
	n->off = (uint32_t)off;
	return n;
}

/* BEP 3: i-0e is invalid, as are leading zeros; the value must fit int64. */
static int
parse_int(const char *b, size_t len, size_t *pos, int64_t *out,
    struct bt_err *e)
{
	size_t p = *pos + 1, start;
	int neg = 0;
	uint64_t v = 0, lim;

	if (p < len && b[p] == '-') {
		neg = 1;
		p++;
	}
	start = p;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (p < len && isdig((unsigned char)b[p])) {
		unsigned dg = (unsigned)(b[p] - '0');

		if (v > (lim - dg) / 10)
			return E(*pos, "integer overflows 64 bits");
		v = v * 10 + dg;
		p++;
	}
	if (p >= len)
		return E(*pos, "unterminated integer");
	if (b[p] != 'e')
		return E(p, "invalid byte 0x%02x in integer",
		    (unsigned char)b[p]);
	if (p == start)
		return E(*pos, "empty integer");
	if (b[start] == '0' && p - start > 1)
		return E(*pos, "leading zero in integer");
	if (neg && v == 0)
		return E(*pos, "negative zero integer");
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*pos = p + 1;
	return 0;
}

/* A string "<len>:<bytes>"; sets *soff and *slen, advances *pos. */
static int
parse_str(const char *b, size_t len, size_t *pos, size_t *soff,
    size_t *slen, struct bt_err *e)
{
	size_t p = *pos, start = p;
	uint64_t v = 0;

	while (p < len && isdig((unsigned char)b[p])) {
		if (v > (UINT64_MAX - 9) / 10)
			return E(start, "string length overflows");
		v = v * 10 + (unsigned)(b[p] - '0');
		p++;
	}
	if (p >= len)
		return E(start, "unterminated string length");
	if (b[p] != ':')
		return E(p, "invalid byte 0x%02x in string length",
		    (unsigned char)b[p]);
	if (b[start] == '0' && p - start > 1)
		return E(start, "leading zero in string length");
	p++;
	if (v > len - p)
		return E(start, "string length %llu past end of input",
		    (unsigned long long)v);
	*soff = p;
	*slen = (size_t)v;
	*pos = p + (size_t)v;
	return 0;
}

/* Raw-string order of two key nodes: <0, 0, >0. */
static int
keycmp(const struct bt_bdoc *d, const struct bt_bnode *a,
    const struct bt_bnode *b)
{
	size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
	int c = memcmp(d->buf + a->v.s.off, d->buf + b->v.s.off, n);

	if (c != 0)
		return c;
	return (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
}

long long
bt_bdecode(struct bt_bdoc *d, const char *b, size_t len, int flags,
    struct bt_err *e)
{
	struct open {
		size_t node;	/* index of the container */
		size_t nchild;
		size_t lastkey;	/* index of the previous key, dicts */
	} st[BT_BENCODE_MAX_DEPTH];
	int depth = 0;
	size_t pos = 0;

	memset(d, 0, sizeof(*d));
	d->buf = b;
	d->buflen = len;
	d->unsorted_off = d->dup_off = -1;
	if (len > UINT32_MAX)
		return E(0, "input over 4 GiB");
	if (len == 0)
		return E(0, "empty input");

	for (;;) {
		struct bt_bnode *n;
		size_t at = pos, idx;
		unsigned char c;

		if (pos >= len)
			return E(pos, "unexpected end of input inside %s",
			    depth > 0 && d->node[st[depth - 1].node].type ==
			    BT_BDICT ? "dictionary" : "list");
		c = (unsigned char)b[pos];
		if (depth > 0 && c == 'e') {
			struct open *o = &st[depth - 1];
			struct bt_bnode *cn = &d->node[o->node];

			if (cn->type == BT_BDICT && o->nchild % 2 != 0)
				return E(pos, "dictionary key without a value");
			cn->len = (uint32_t)(pos + 1 - cn->off);
			cn->skip = (uint32_t)(d->nnode - o->node);
			cn->v.n = (uint32_t)(cn->type == BT_BDICT ?
			    o->nchild / 2 : o->nchild);
			pos++;
			depth--;
			if (depth == 0)
				break;
			continue;
		}
		if (depth > 0 && d->node[st[depth - 1].node].type ==
		    BT_BDICT && st[depth - 1].nchild % 2 == 0 && !isdig(c))
			return E(pos, "dictionary key is not a string");

		if ((n = newnode(d, pos, e)) == NULL)
			return -1;
		idx = d->nnode - 1;
		n->skip = 1;
		if (c == 'i') {
			n->type = BT_BINT;
			if (parse_int(b, len, &pos, &n->v.i, e) < 0)
				return -1;
		} else if (isdig(c)) {
			size_t so = 0, sl = 0;

			n->type = BT_BSTR;
			if (parse_str(b, len, &pos, &so, &sl, e) < 0)
				return -1;
			n->v.s.off = (uint32_t)so;
			n->v.s.len = (uint32_t)sl;
		} else if (c == 'l' || c == 'd') {
			n->type = c == 'l' ? BT_BLIST : BT_BDICT;
		} else {
			return E(pos, "unexpected byte 0x%02x", c);
		}

		if (depth > 0) {
			struct open *o = &st[depth - 1];

			if (d->node[o->node].type == BT_BDICT &&
			    o->nchild % 2 == 0) {
				if (o->nchild > 0) {
					int cmp = keycmp(d, &d->node[o->lastkey],
					    n);

					if (cmp == 0 && d->dup_off < 0)
						d->dup_off = (long long)at;
					else if (cmp > 0 &&
					    d->unsorted_off < 0)
						d->unsorted_off = (long long)at;
				}
				o->lastkey = idx;
			}
			o->nchild++;
		}
		if (n->type == BT_BLIST || n->type == BT_BDICT) {
			if (depth == BT_BENCODE_MAX_DEPTH)
				return E(pos, "nesting deeper than %d "
				    "(limit BT_BENCODE_MAX_DEPTH)",
				    BT_BENCODE_MAX_DEPTH);
			st[depth].node = idx;
			st[depth].nchild = 0;
			st[depth].lastkey = 0;
			depth++;
			pos++;
			continue;
		}
		n->len = (uint32_t)(pos - at);
		if (depth == 0)
			break;
	}
	if (pos < len && !(flags & BT_BDEC_PREFIX))
		return E(pos, "trailing bytes after the value");
	return (long long)pos;
}

void
bt_bdoc_free(struct bt_bdoc *d)
{
	free(d->node);
	d->node = NULL;
	d->nnode = d->cap = 0;
}

int
bt_bdoc_strict(const struct bt_bdoc *d, struct bt_err *e)
{
	if (d->dup_off >= 0 && (d->unsorted_off < 0 ||
	    d->dup_off < d->unsorted_off))
		return E(d->dup_off, "dictionary key repeated");
	if (d->unsorted_off >= 0)
		return E(d->unsorted_off, "dictionary keys not sorted");
	return 0;
}

int
bt_bstr_eq(const struct bt_bdoc *d, const struct bt_bnode *n, const char *s)
{
	size_t l = strlen(s);

	return n->type == BT_BSTR && n->v.s.len == l &&
	    memcmp(d->buf + n->v.s.off, s, l) == 0;
}

const struct bt_bnode *
bt_bdict_get(const struct bt_bdoc *d, const struct bt_bnode *dict,
    const char *key)
{
	const struct bt_bnode *k;
	uint32_t i;

	if (dict == NULL || dict->type != BT_BDICT)
		return NULL;
	k = dict + 1;
	for (i = 0; i < dict->v.n; i++) {
		const struct bt_bnode *v = bt_bnext(k);

		if (bt_bstr_eq(d, k, key))
			return v;
		k = bt_bnext(v);
	}
	return NULL;
}

const struct bt_bnode *
bt_bdict_get_type(const struct bt_bdoc *d, const struct bt_bnode *dict,
    const char *key, int type)
{
	const struct bt_bnode *v = bt_bdict_get(d, dict, key);

	return v != NULL && v->type == type ? v : NULL;
}

/* Encoder. */

void
bt_buf_free(struct bt_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
bt_buf_add(struct bt_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return -1;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = 1;
				return -1;
			}
			cap *= 2;
		}
		if ((q = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return -1;
		}
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
bt_benc_int(struct bt_buf *b, int64_t i)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "i%llde", (long long)i);

	return bt_buf_add(b, s, (size_t)n);
}

int
bt_benc_str(struct bt_buf *b, const void *p, size_t len)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "%zu:", len);

	if (bt_buf_add(b, s, (size_t)n) < 0)
		return -1;
	return bt_buf_add(b, p, len);
}

int
bt_benc_cstr(struct bt_buf *b, const char *s)
{
	return bt_benc_str(b, s, strlen(s));
}

int
bt_benc_list(struct bt_buf *b)
{
	return bt_buf_add(b, "l", 1);
}

int
bt_benc_dict(struct bt_buf *b)
{
	return bt_buf_add(b, "d", 1);
}

int
bt_benc_end(struct bt_buf *b)
{
	return bt_buf_add(b, "e", 1);
}

/* Scanner. */

int
bt_bscan_step(struct bt_bscan *s, const char *b, size_t len, size_t *vlen,
    struct bt_err *e)
{
	while (s->pos < len) {
		unsigned char c = (unsigned char)b[s->pos];

		if (c == 'e' && s->depth > 0) {
			s->pos++;
			if (--s->depth == 0)
				goto done;
			continue;
		}
		s->started = 1;
		if (c == 'l' || c == 'd') {
			if (s->depth == BT_BENCODE_MAX_DEPTH)
				return E(s->pos, "nesting deeper than %d "
				    "(limit BT_BENCODE_MAX_DEPTH)",
				    BT_BENCODE_MAX_DEPTH);
			s->depth++;
			s->pos++;
			continue;
		}
		if (c == 'i') {
			const char *q = memchr(b + s->pos, 'e', len - s->pos);

			if (q == NULL) {
				if (len - s->pos > 24)
					return E(s->pos, "integer too long");
				return 0;
			}
			s->pos = (size_t)(q - b) + 1;
		} else if (isdig(c)) {
			size_t p = s->pos;
			uint64_t v = 0;

			/* 19 digits always fit in 64 bits. */
			while (p < len && isdig((unsigned char)b[p])) {
				if (p - s->pos == 19)
					return E(s->pos, "string length too "
					    "long");
				v = v * 10 + (unsigned)(b[p++] - '0');
			}
			if (p >= len)
				return 0;
			if (b[p] != ':')
				return E(p, "invalid byte 0x%02x in string "
				    "length", (unsigned char)b[p]);
			p++;
			if (v > len - p)
				return 0;
			s->pos = p + (size_t)v;
		} else {
			return E(s->pos, "unexpected byte 0x%02x", c);
		}
		if (s->depth == 0)
			goto done;
	}
	return 0;
done:
	*vlen = s->pos;
	return 1;
}

/* Sequence reader. */

#define SEQ_READ	(1024 * 1024)	/* bytes asked of read(2) at once */

void
bt_bseq_init(struct bt_bseq *q, int fd, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	q->max = max;
}

static int
toolarge(const struct bt_bseq *q, struct bt_err *e)
{
	if (q->limit == NULL)
		return bt_errf(e, BT_EX_DATAERR, (long long)q->consumed,
		    "value larger than %zu bytes", q->max);
	return bt_errf(e, BT_EX_DATAERR, (long long)q->consumed,
	    "value larger than %zu bytes (limit %s)", q->max, q->limit);
}

void
bt_bseq_free(struct bt_bseq *q)
{
	bt_bdoc_free(&q->doc);
	free(q->buf);
	q->buf = NULL;
}

int
bt_bseq_next(struct bt_bseq *q, struct bt_err *e)
{
	size_t vlen, avail;

	bt_bdoc_free(&q->doc);
	/*
	 * Step past the value returned last time. The buffer is compacted
	 * only when it needs room to read, never per value: moving the rest
	 * of the buffer for each small value would be quadratic.
	 */
	q->consumed += q->next - q->start;
	q->start = q->next;
	memset(&q->scan, 0, sizeof(q->scan));
	for (;;) {
		const char *b = q->buf != NULL ? q->buf + q->start : NULL;
		ssize_t n;
		int r;

		avail = q->len - q->start;
		r = bt_bscan_step(&q->scan, b, avail, &vlen, e);
		if (r < 0) {
			if (e != NULL)
				e->off += (long long)q->consumed;
			return -1;
		}
		if (r == 1)
			break;
		if (q->eof) {
			if (avail == 0)
				return 0;
			return bt_errf(e, BT_EX_DATAERR,
			    (long long)(q->consumed + avail),
			    "stream ends inside a value");
		}
		if (avail >= q->max)
			return toolarge(q, e);
		if (q->cap - q->len < SEQ_READ / 4 && q->start > 0) {
			/* The scanner's positions are relative: still valid. */
			memmove(q->buf, q->buf + q->start, avail);
			q->len = avail;
			q->start = q->next = 0;
		}
		if (q->cap - q->len < SEQ_READ / 4) {
			size_t cap = q->cap ? q->cap * 2 : SEQ_READ;
			char *p;

			if (cap > q->max + SEQ_READ)
				cap = q->max + SEQ_READ;
			if ((p = realloc(q->buf, cap)) == NULL)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
			q->buf = p;
			q->cap = cap;
		}
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return bt_errf(e, BT_EX_IOERR, -1, "read: %s",
			    strerror(errno));
		}
		if (n == 0)
			q->eof = 1;
		q->len += (size_t)n;
	}
	if (vlen > q->max)
		return toolarge(q, e);
	if (bt_bdecode(&q->doc, q->buf + q->start, vlen, 0, e) < 0) {
		if (e != NULL)
			e->off += (long long)q->consumed;
		return -1;
	}
	q->next = q->start + vlen;
	return 1;
}
