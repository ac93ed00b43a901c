/*
 * JSON <-> bencode, the mapping of json.h. The writer never goes through
 * double (int64 stays exact); the reader is iterative with an explicit
 * stack, so "[[[[..." costs a fixed array and hits BT_JSON_MAX_DEPTH, not
 * the C stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btlimits.h"
#include "json.h"
#include "util.h"

#define JSON_READ	65536	/* bytes asked of read(2) at once */

static const char hexdig[] = "0123456789abcdef";

/* Writer. */

static int
has_hex_prefix(const void *p, size_t n)
{
	return n >= 4 && memcmp(p, "hex:", 4) == 0;
}

/* Two hex digits of every byte, for one copy a byte: pieces are megabytes. */
static const char hexpair[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static int
put_hex(struct bt_buf *b, const unsigned char *p, size_t n)
{
	char chunk[8192];
	size_t i = 0, o;

	if (bt_buf_add(b, "\"hex:", 5) < 0)
		return -1;
	while (i < n) {
		for (o = 0; i < n && o + 2 <= sizeof(chunk); i++, o += 2)
			memcpy(chunk + o, hexpair + 2 * p[i], 2);
		if (bt_buf_add(b, chunk, o) < 0)
			return -1;
	}
	return bt_buf_add(b, "\"", 1);
}

/*
 * The UTF-8 length of a character at p that a terminal would obey, and
 * so is written as \uXXXX (the same string to any JSON reader): DEL, the
 * C1 controls U+0080 to U+009F, and the bidirectional controls (bt(7)
 * FILE NAMES). 0 for any other character.
 */
static size_t
term_ctl(const unsigned char *p, size_t n, unsigned *cp)
{
	if (p[0] == 0x7f) {
		*cp = 0x7f;
		return 1;
	}
	if (n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		*cp = p[1];
		return 2;
	}
	if (n >= 2 && p[0] == 0xd8 && p[1] == 0x9c) {
		*cp = 0x061c;
		return 2;
	}
	if (n >= 3 && p[0] == 0xe2 && ((p[1] == 0x80 && (p[2] == 0x8e ||
	    p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae))) ||
	    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
		*cp = 0x2000 | (unsigned)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		return 3;
	}
	return 0;
}

/*
 * RFC 8259 section 7: '"', '\' and U+0000 to U+001F must be escaped; so
 * are the characters term_ctl finds.
 */
static int
put_text(struct bt_buf *b, const unsigned char *p, size_t n)
{
	size_t i = 0, run, l;
	unsigned cp;

	if (bt_buf_add(b, "\"", 1) < 0)
		return -1;
	while (i < n) {
		char esc[6];

		for (run = i; run < n && p[run] >= 0x20 && p[run] != '"' &&
		    p[run] != '\\' && term_ctl(p + run, n - run, &cp) == 0;
		    run++)
			;
		if (run > i && bt_buf_add(b, p + i, run - i) < 0)
			return -1;
		if ((i = run) == n)
			break;
		l = 1;
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			if (bt_buf_add(b, esc, 2) < 0)
				return -1;
		} else {
			if ((l = term_ctl(p + i, n - i, &cp)) == 0) {
				cp = p[i];
				l = 1;
			}
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = hexdig[cp >> 12 & 15];
			esc[3] = hexdig[cp >> 8 & 15];
			esc[4] = hexdig[cp >> 4 & 15];
			esc[5] = hexdig[cp & 15];
			if (bt_buf_add(b, esc, 6) < 0)
				return -1;
		}
		i += l;
	}
	return bt_buf_add(b, "\"", 1);
}

int
bt_json_str(struct bt_buf *b, const void *p, size_t n)
{
	if (has_hex_prefix(p, n) || !bt_utf8_valid(p, n))
		return put_hex(b, p, n);
	return put_text(b, p, n);
}

int
bt_json_cstr(struct bt_buf *b, const char *s)
{
	return bt_json_str(b, s, strlen(s));
}

int
bt_json_int(struct bt_buf *b, int64_t v)
{
	char s[24], *q = s + sizeof(s);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--q = '-';
	return bt_buf_add(b, q, (size_t)(s + sizeof(s) - q));
}

int
bt_json_bvalue(struct bt_buf *b, const struct bt_bdoc *d,
    const struct bt_bnode *n)
{
	struct open {
		size_t end;	/* index of the first node after it */
		size_t k;	/* children written */
		int dict;
	} st[BT_BENCODE_MAX_DEPTH + 1];
	size_t i = (size_t)(n - d->node), last = i + n->skip;
	int depth = 0;

	for (; i < last; i++) {
		const struct bt_bnode *c = &d->node[i];

		while (depth > 0 && i >= st[depth - 1].end) {
			depth--;
			bt_buf_add(b, st[depth].dict ? "}" : "]", 1);
		}
		if (depth > 0) {
			struct open *o = &st[depth - 1];

			if (o->dict && o->k % 2 == 1)
				bt_buf_add(b, ":", 1);
			else if (o->k > 0)
				bt_buf_add(b, ",", 1);
			o->k++;
		}
		switch (c->type) {
		case BT_BINT:
			bt_json_int(b, c->v.i);
			break;
		case BT_BSTR:
			bt_json_str(b, bt_bstr(d, c), c->v.s.len);
			break;
		case BT_BLIST:
		case BT_BDICT:
			/* The decoder allows no deeper; never trust it. */
			if (depth == BT_BENCODE_MAX_DEPTH + 1) {
				b->oom = 1;
				return -1;
			}
			st[depth].end = i + c->skip;
			st[depth].k = 0;
			st[depth].dict = c->type == BT_BDICT;
			depth++;
			bt_buf_add(b, c->type == BT_BDICT ? "{" : "[", 1);
			break;
		default:
			b->oom = 1;
			return -1;
		}
		if (b->oom)
			return -1;
	}
	while (depth > 0) {
		depth--;
		bt_buf_add(b, st[depth].dict ? "}" : "]", 1);
	}
	return b->oom ? -1 : 0;
}

/* Reader. */

enum {
	J_EOF = -1,
	J_IOERR = -2,
	J_BIG = -3,
	J_NOMEM = -4,
};

void
bt_json_reader_init(struct bt_json_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->line = r->col = 1;
}

void
bt_json_reader_mem(struct bt_json_reader *r, const char *p, size_t n)
{
	bt_json_reader_init(r, -1);
	r->mem = p;
	r->p = p;
	r->end = p + n;
	r->eof = 1;
}

void
bt_json_reader_free(struct bt_json_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	bt_buf_free(&r->str);
}

/* Make unread bytes available: 1, or one of J_*. */
static int
fill(struct bt_json_reader *r)
{
	ssize_t n;

	if (r->p < r->end)
		return 1;
	if (r->eof)
		return J_EOF;
	if (r->buf == NULL) {
		if ((r->buf = malloc(JSON_READ)) == NULL)
			return J_NOMEM;
		r->cap = JSON_READ;
	}
	do
		n = read(r->fd, r->buf, r->cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->errnum = errno;
		return J_IOERR;
	}
	if (n == 0) {
		r->eof = 1;
		return J_EOF;
	}
	r->p = r->buf;
	r->end = r->buf + n;
	return 1;
}

static inline int
peekc(struct bt_json_reader *r)
{
	int f;

	/* No byte of a value past BT_JSON_MAX_VALUE is looked at. */
	if (r->in_value && r->off - r->vstart >= BT_JSON_MAX_VALUE)
		return J_BIG;
	if (r->p == r->end && (f = fill(r)) < 0)
		return f;
	return (unsigned char)*r->p;
}

static inline void
advance(struct bt_json_reader *r)
{
	if (*r->p == '\n') {
		r->line++;
		r->col = 1;
	} else {
		r->col++;
	}
	r->p++;
	r->off++;
}

static int
skip_ws(struct bt_json_reader *r)
{
	int c;

	while ((c = peekc(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		advance(r);
	return c;
}

struct pos {
	long long line, col;
};

static struct pos
here(const struct bt_json_reader *r)
{
	struct pos p = { r->line, r->col };

	return p;
}

/* "line L, column C: msg" as a malformed-data error. */
static int
jerr(struct bt_err *e, struct pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
jerr(struct bt_err *e, struct pos at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bt_verrf(e, BT_EX_DATAERR, -1, fmt, ap);
	va_end(ap);
	bt_err_prefix(e, "line %lld, column %lld", at.line, at.col);
	return -1;
}

/* An error for c, a byte that is not what was expected, or a J_* code. */
static int
unexpected(struct bt_json_reader *r, struct bt_err *e, int c,
    const char *where)
{
	struct pos at = here(r);

	switch (c) {
	case J_EOF:
		return jerr(e, at, "unexpected end of input%s%s",
		    where ? " " : "", where ? where : "");
	case J_IOERR:
		return bt_errf(e, BT_EX_IOERR, -1, "read: %s",
		    strerror(r->errnum));
	case J_BIG:
		return jerr(e, at, "JSON value longer than %lld bytes "
		    "(limit BT_JSON_MAX_VALUE)", (long long)BT_JSON_MAX_VALUE);
	case J_NOMEM:
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	if (c > 0x20 && c < 0x7f)
		return jerr(e, at, "unexpected character '%c'%s%s", c,
		    where ? " " : "", where ? where : "");
	return jerr(e, at, "unexpected byte 0x%02x%s%s", c,
	    where ? " " : "", where ? where : "");
}

/* The 4 hex digits of a \u escape (after "\u"); -1 on error. */
static long
read_u4(struct bt_json_reader *r, struct bt_err *e)
{
	long v = 0;
	int i, c, h;

	for (i = 0; i < 4; i++) {
		c = peekc(r);
		if (c < 0 || (h = bt_hexval(c)) < 0) {
			if (c == J_EOF)
				return unexpected(r, e, c, "in a string");
			if (c < 0)
				return unexpected(r, e, c, NULL);
			return jerr(e, here(r), "invalid \\u escape");
		}
		advance(r);
		v = v * 16 + h;
	}
	return v;
}

static int
put_utf8(struct bt_buf *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return bt_buf_add(b, u, n);
}

/* One escape, after the backslash, appended to r->str. */
static int
read_escape(struct bt_json_reader *r, struct bt_err *e)
{
	struct pos at = here(r);
	int c = peekc(r);
	long hi, lo;

	at.col--;		/* name the backslash */
	char ch;

	if (c < 0)
		return unexpected(r, e, c, c == J_EOF ? "in a string" : NULL);
	advance(r);
	switch (c) {
	case '"': case '\\': case '/':
		ch = (char)c;
		break;
	case 'b':
		ch = '\b';
		break;
	case 'f':
		ch = '\f';
		break;
	case 'n':
		ch = '\n';
		break;
	case 'r':
		ch = '\r';
		break;
	case 't':
		ch = '\t';
		break;
	case 'u':
		if ((hi = read_u4(r, e)) < 0)
			return -1;
		if (hi >= 0xdc00 && hi <= 0xdfff)
			return jerr(e, at, "lone low surrogate \\u%04lx has "
			    "no UTF-8 form", hi);
		if (hi < 0xd800 || hi > 0xdbff)
			return put_utf8(&r->str, (unsigned long)hi);
		/* RFC 8259 section 7: a pair for a character past U+FFFF. */
		if (peekc(r) != '\\')
			return jerr(e, at, "lone high surrogate \\u%04lx has "
			    "no UTF-8 form", hi);
		advance(r);
		if (peekc(r) != 'u')
			return jerr(e, at, "lone high surrogate \\u%04lx has "
			    "no UTF-8 form", hi);
		advance(r);
		if ((lo = read_u4(r, e)) < 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return jerr(e, at, "lone high surrogate \\u%04lx has "
			    "no UTF-8 form", hi);
		return put_utf8(&r->str, 0x10000 + ((unsigned long)(hi -
		    0xd800) << 10 | (unsigned long)(lo - 0xdc00)));
	default:
		return jerr(e, at, "invalid escape '\\%c'",
		    c > 0x20 && c < 0x7f ? c : '?');
	}
	return bt_buf_add(&r->str, &ch, 1);
}

/*
 * A string (at its opening quote), appended to out as bencode: the
 * "hex:" form decoded back to its bytes.
 */
static int
read_string(struct bt_json_reader *r, struct bt_buf *out, struct bt_err *e)
{
	struct pos at = here(r);
	struct bt_buf *s = &r->str;
	size_t n;
	int c;

	advance(r);		/* the quote */
	s->len = 0;
	for (;;) {
		const char *q, *end;

		if ((c = peekc(r)) < 0)
			return unexpected(r, e, c,
			    c == J_EOF ? "in a string" : NULL);
		/* peekc leaves at least one byte of the value's room. */
		end = r->end;
		if (end - r->p > BT_JSON_MAX_VALUE - (r->off - r->vstart))
			end = r->p + (BT_JSON_MAX_VALUE - (r->off - r->vstart));
		for (q = r->p; q < end && *q != '"' && *q != '\\' &&
		    (unsigned char)*q >= 0x20; q++)
			;
		if (q > r->p) {
			/* No newline in the run: it is a control char. */
			if (bt_buf_add(s, r->p, (size_t)(q - r->p)) < 0)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
			r->col += q - r->p;
			r->off += q - r->p;
			r->p = q;
			continue;
		}
		if (c == '"') {
			advance(r);
			break;
		}
		if (c == '\\') {
			advance(r);
			if (read_escape(r, e) < 0)
				return -1;
			if (s->oom)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
			continue;
		}
		return jerr(e, here(r), "control character 0x%02x in a "
		    "string (must be escaped)", c);
	}
	if (!bt_utf8_valid(s->p, s->len))
		return jerr(e, at, "string is not valid UTF-8");
	n = s->len;
	if (has_hex_prefix(s->p, n)) {
		/* Decoded in place: byte i comes from bytes 4+2i, 5+2i. */
		if ((n - 4) % 2 != 0 ||
		    bt_unhex(s->p + 4, n - 4, (uint8_t *)s->p, (n - 4) / 2) < 0)
			return jerr(e, at, "\"hex:\" string with an odd number "
			    "of digits or a non-hex digit");
		n = (n - 4) / 2;
	}
	if (bt_benc_str(out, s->p, n) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	return 0;
}

static int
isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/* A number (at its first byte): only integers have a bencode form. */
static int
read_number(struct bt_json_reader *r, struct bt_buf *out, struct bt_err *e)
{
	struct pos at = here(r);
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	int c, neg = 0, over = 0;

	if (peekc(r) == '-') {
		neg = 1;
		lim = (uint64_t)INT64_MAX + 1;
		advance(r);
	}
	c = peekc(r);
	if (!isdigit_(c)) {
		if (c < 0 && c != J_EOF)
			return unexpected(r, e, c, NULL);
		return jerr(e, at, "invalid number");
	}
	if (c == '0') {
		advance(r);
		if (isdigit_(peekc(r)))
			return jerr(e, at, "leading zero in a number");
	} else {
		while (isdigit_(c = peekc(r))) {
			unsigned dg = (unsigned)(c - '0');

			if (v > (lim - dg) / 10)
				over = 1;
			else
				v = v * 10 + dg;
			advance(r);
		}
	}
	c = peekc(r);
	if (c == '.' || c == 'e' || c == 'E')
		return jerr(e, at, "number with a fraction or exponent has no "
		    "bencode form (bencode has only integers)");
	if (over)
		return jerr(e, at, "integer out of the 64-bit range");
	if (neg && v == 0)
		return jerr(e, at, "-0 has no bencode form");
	if (bt_benc_int(out, neg ? (int64_t)(0 - v) : (int64_t)v) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	return 0;
}

/* A word (true, false, null or garbage): never a bencode value. */
static int
read_word(struct bt_json_reader *r, struct bt_err *e)
{
	struct pos at = here(r);
	char w[8];
	size_t n = 0;
	int c;

	while (n < sizeof(w) - 1 && (c = peekc(r)) >= 'a' && c <= 'z') {
		w[n++] = (char)c;
		advance(r);
	}
	w[n] = '\0';
	if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0 ||
	    strcmp(w, "null") == 0)
		return jerr(e, at, "%s has no bencode form", w);
	return jerr(e, at, "invalid literal (not JSON)");
}

/* An object key (after '{' or ','), then its colon. */
static int
read_key(struct bt_json_reader *r, struct bt_buf *out, struct bt_err *e)
{
	int c = skip_ws(r);

	if (c != '"') {
		if (c == J_EOF || c < -1 || c == '}' || c == ',' || c == ']')
			return unexpected(r, e, c, c == J_EOF ?
			    "inside an object" : "(expected an object key)");
		return jerr(e, here(r), "object key is not a string");
	}
	if (read_string(r, out, e) < 0)
		return -1;
	if ((c = skip_ws(r)) != ':')
		return unexpected(r, e, c, c == J_EOF ? "inside an object" :
		    "(expected ':' after an object key)");
	advance(r);
	return 0;
}

int
bt_json_next(struct bt_json_reader *r, struct bt_buf *out, struct bt_err *e)
{
	char st[BT_JSON_MAX_DEPTH];	/* 'd' object, 'l' array */
	size_t ostart = out->len;
	int depth = 0, c;

	r->in_value = 0;
	if ((c = skip_ws(r)) == J_EOF)
		return 0;
	r->vstart = r->off;
	r->in_value = 1;
	for (;;) {
		c = skip_ws(r);
		switch (c) {
		case '{':
		case '[':
			if (depth == BT_JSON_MAX_DEPTH)
				return jerr(e, here(r), "nesting deeper than "
				    "%d (limit BT_JSON_MAX_DEPTH)",
				    BT_JSON_MAX_DEPTH);
			advance(r);
			st[depth++] = c == '{' ? 'd' : 'l';
			if (bt_buf_add(out, st[depth - 1] == 'd' ? "d" : "l",
			    1) < 0)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
			c = skip_ws(r);
			if (c == (st[depth - 1] == 'd' ? '}' : ']')) {
				advance(r);
				depth--;
				if (bt_benc_end(out) < 0)
					return bt_errf(e, BT_EX_SOFTWARE, -1,
					    "out of memory");
				break;
			}
			if (st[depth - 1] == 'd' && read_key(r, out, e) < 0)
				return -1;
			continue;
		case '"':
			if (read_string(r, out, e) < 0)
				return -1;
			break;
		case 't':
		case 'f':
		case 'n':
			return read_word(r, e);
		default:
			if (c == '-' || isdigit_(c)) {
				if (read_number(r, out, e) < 0)
					return -1;
				break;
			}
			return unexpected(r, e, c, c == J_EOF && depth > 0 ?
			    (st[depth - 1] == 'd' ? "inside an object" :
			    "inside an array") : NULL);
		}
		/* A value is complete: close what it completes. */
		for (;;) {
			if (out->len - ostart > (size_t)BT_SEQ_MAX_VALUE)
				return jerr(e, here(r), "bencoded value larger "
				    "than %lld bytes (limit BT_SEQ_MAX_VALUE)",
				    (long long)BT_SEQ_MAX_VALUE);
			if (depth == 0) {
				r->in_value = 0;
				return 1;
			}
			c = skip_ws(r);
			if (c == ',') {
				advance(r);
				if (st[depth - 1] == 'd' &&
				    read_key(r, out, e) < 0)
					return -1;
				break;
			}
			if (c != (st[depth - 1] == 'd' ? '}' : ']'))
				return unexpected(r, e, c, c == J_EOF ?
				    (st[depth - 1] == 'd' ? "inside an object" :
				    "inside an array") : (st[depth - 1] == 'd' ?
				    "(expected ',' or '}')" :
				    "(expected ',' or ']')"));
			advance(r);
			depth--;
			if (bt_benc_end(out) < 0)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "out of memory");
		}
	}
}
