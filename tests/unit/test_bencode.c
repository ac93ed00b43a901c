/*
 * lib/bencode: every valid form, every BEP 3 refusal with its message and
 * offset, the limits, the strictness report, the encoder, the incremental
 * scanner and the sequence reader over a pipe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"
#include "t.h"

/* Decode s[0..n) and check the refusal: status, message, offset. */
static void
refuse_n(const char *s, size_t n, const char *msg, long long off,
    const char *what)
{
	struct bt_bdoc d;
	struct bt_err e;
	long long r;

	bt_err_clear(&e);
	r = bt_bdecode(&d, s, n, 0, &e);
	bt_bdoc_free(&d);
	T_OK(r == -1 && e.status == BT_EX_DATAERR && e.off == off,
	    "refuses %s at byte %lld (got %lld, off %lld)", what, off, r,
	    e.off);
	T_STREQ(e.msg, msg, "names the reason for %s", what);
}

static void
refuse(const char *s, const char *msg, long long off, const char *what)
{
	refuse_n(s, strlen(s), msg, off, what);
}

/* Decode a whole string that must be valid; returns the root (d kept). */
static const struct bt_bnode *
ok(struct bt_bdoc *d, const char *s, size_t n)
{
	struct bt_err e;

	if (bt_bdecode(d, s, n, 0, &e) != (long long)n)
		return NULL;
	return &d->node[0];
}

static int
int_is(const char *s, int64_t want)
{
	struct bt_bdoc d;
	const struct bt_bnode *r = ok(&d, s, strlen(s));
	int good = r != NULL && r->type == BT_BINT && r->v.i == want &&
	    r->len == strlen(s) && d.nnode == 1;

	bt_bdoc_free(&d);
	return good;
}

static char *
repeat(const char *head, const char *unit, size_t times, const char *tail,
    size_t *lenp)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	size_t len = hl + ul * times + tl;
	char *p = malloc(len + 1), *q = p;

	if (p == NULL)
		abort();
	memcpy(q, head, hl);
	q += hl;
	for (i = 0; i < times; i++, q += ul)
		memcpy(q, unit, ul);
	memcpy(q, tail, tl);
	p[len] = '\0';
	*lenp = len;
	return p;
}

static void
test_valid(void)
{
	struct bt_bdoc d;
	const struct bt_bnode *r, *a, *l, *in, *c;
	static const char bin[] = "5:\0\xff\n e";

	T_OK(int_is("i0e", 0), "decodes i0e");
	T_OK(int_is("i42e", 42), "decodes a positive integer");
	T_OK(int_is("i-7e", -7), "decodes a negative integer");
	T_OK(int_is("i9223372036854775807e", INT64_MAX),
	    "decodes INT64_MAX");
	T_OK(int_is("i-9223372036854775808e", INT64_MIN),
	    "decodes INT64_MIN");

	r = ok(&d, "0:", 2);
	T_OK(r != NULL && r->type == BT_BSTR && r->v.s.len == 0 &&
	    r->v.s.off == 2 && r->len == 2, "decodes the empty string");
	bt_bdoc_free(&d);

	r = ok(&d, bin, sizeof(bin) - 1);
	T_OK(r != NULL && r->type == BT_BSTR && r->v.s.len == 5 &&
	    memcmp(bt_bstr(&d, r), "\0\xff\n e", 5) == 0,
	    "decodes a binary string with NUL, 0xff and 'e' in it");
	bt_bdoc_free(&d);

	r = ok(&d, "4:spam", 6);
	T_OK(r != NULL && bt_bstr_eq(&d, r, "spam") &&
	    !bt_bstr_eq(&d, r, "spa") && !bt_bstr_eq(&d, r, "spams"),
	    "bt_bstr_eq compares the whole string");
	bt_bdoc_free(&d);

	r = ok(&d, "le", 2);
	T_OK(r != NULL && r->type == BT_BLIST && r->v.n == 0 &&
	    r->skip == 1 && r->len == 2, "decodes the empty list");
	bt_bdoc_free(&d);
	r = ok(&d, "de", 2);
	T_OK(r != NULL && r->type == BT_BDICT && r->v.n == 0 &&
	    r->skip == 1 && bt_bdict_get(&d, r, "a") == NULL,
	    "decodes the empty dict");
	bt_bdoc_free(&d);

	/* 0 dict, 1 "a", 2 list, 3 dict, 4 "b", 5 i1, 6 "c", 7 "" */
	r = ok(&d, "d1:ald1:bi1eee1:c0:e", 20);
	T_OK(r != NULL && d.nnode == 8 && r->skip == 8 && r->v.n == 2 &&
	    r->len == 20, "nested: root has 8 nodes and 2 pairs");
	if (r == NULL)
		return;
	a = bt_bdict_get(&d, r, "a");
	T_OK(a == &d.node[2] && a->type == BT_BLIST && a->v.n == 1 &&
	    a->skip == 4 && a->off == 4 && a->len == 10,
	    "nested: the list under 'a', its subtree and byte range");
	l = a + 1;
	T_OK(l->type == BT_BDICT && l->skip == 3 && l->v.n == 1,
	    "nested: the list's first child is node+1");
	in = bt_bdict_get_type(&d, l, "b", BT_BINT);
	T_OK(in != NULL && in->v.i == 1, "nested: bt_bdict_get_type finds "
	    "an integer");
	T_OK(bt_bdict_get_type(&d, l, "b", BT_BSTR) == NULL,
	    "bt_bdict_get_type refuses the wrong type");
	c = bt_bdict_get(&d, r, "c");
	T_OK(c == bt_bnext(a) + 1 && c == &d.node[7] && c->v.s.len == 0,
	    "bt_bnext skips a whole subtree to the next key");
	T_OK(bt_bnext(r) == &d.node[8], "bt_bnext of the root is the end");
	T_OK(bt_bdict_get(&d, r, "b") == NULL &&
	    bt_bdict_get(&d, a, "a") == NULL,
	    "bt_bdict_get: missing key, and not a dict, give NULL");
	bt_bdoc_free(&d);

	/* The info hash is taken over exactly these bytes. */
	r = ok(&d, "d4:infod1:xi1ee3:zzz1:ye", 24);
	a = r ? bt_bdict_get(&d, r, "info") : NULL;
	T_OK(a != NULL && a->off == 7 && a->len == 8 &&
	    memcmp(bt_braw(&d, a), "d1:xi1ee", 8) == 0,
	    "raw byte range (off, len) of a value is exact");
	bt_bdoc_free(&d);
}

static void
test_refusals(void)
{
	refuse("i03e", "leading zero in integer", 0, "a leading zero");
	refuse("i00e", "leading zero in integer", 0, "i00e");
	refuse("i-0e", "negative zero integer", 0, "i-0e");
	refuse("i-03e", "leading zero in integer", 0, "i-03e");
	refuse("ie", "empty integer", 0, "ie");
	refuse("i-e", "empty integer", 0, "i-e");
	refuse("i+1e", "invalid byte 0x2b in integer", 1, "i+1e");
	refuse("i1x2e", "invalid byte 0x78 in integer", 2, "a letter in an "
	    "integer");
	refuse("i12", "unterminated integer", 0, "an unterminated integer");
	refuse("i9223372036854775808e", "integer overflows 64 bits", 0,
	    "INT64_MAX + 1");
	refuse("i-9223372036854775809e", "integer overflows 64 bits", 0,
	    "INT64_MIN - 1");
	refuse("i99999999999999999999999e", "integer overflows 64 bits", 0,
	    "a 23-digit integer");
	refuse("5:abc", "string length 5 past end of input", 0,
	    "a string length past the end");
	refuse("l4:spam9:xe", "string length 9 past end of input", 7,
	    "a string length past the end inside a list");
	refuse("03:abc", "leading zero in string length", 0,
	    "a leading zero in a string length");
	refuse("3x", "invalid byte 0x78 in string length", 1,
	    "a letter in a string length");
	refuse("12", "unterminated string length", 0,
	    "an unterminated string length");
	refuse("99999999999999999999:", "string length overflows", 0,
	    "a string length over 64 bits");
	refuse("di1ei2ee", "dictionary key is not a string", 1,
	    "an integer dict key");
	refuse("d1:ad1:bi1eeli1eee", "dictionary key is not a string", 12,
	    "a list dict key");
	refuse("i1ei2e", "trailing bytes after the value", 3,
	    "trailing bytes");
	refuse("li1e", "unexpected end of input inside list", 4,
	    "a list without 'e'");
	refuse("d1:ai1e", "unexpected end of input inside dictionary", 7,
	    "a dict without 'e'");
	refuse("d1:ae", "dictionary key without a value", 4,
	    "a dict key without a value");
	refuse("d1:a", "unexpected end of input inside dictionary", 4,
	    "a dict ending after a key");
	refuse("x", "unexpected byte 0x78", 0, "an unexpected byte");
	refuse("e", "unexpected byte 0x65", 0, "a lone 'e'");
	refuse("li1e-e", "unexpected byte 0x2d", 4,
	    "an unexpected byte inside a list");
	refuse("", "empty input", 0, "empty input");
}

static void
test_prefix(void)
{
	struct bt_bdoc d;
	struct bt_err e;
	long long r = bt_bdecode(&d, "i1ei2e", 6, BT_BDEC_PREFIX, &e);

	T_OK(r == 3 && d.node[0].v.i == 1,
	    "BT_BDEC_PREFIX accepts trailing bytes and returns the length");
	bt_bdoc_free(&d);
	r = bt_bdecode(&d, "d1:ai1eexyz", 11, BT_BDEC_PREFIX, &e);
	T_OK(r == 8, "BT_BDEC_PREFIX returns the length of a dict");
	bt_bdoc_free(&d);
}

static void
test_limits(void)
{
	struct bt_bdoc d;
	struct bt_err e;
	size_t n;
	char *s;
	long long r;

	s = repeat("", "l", BT_BENCODE_MAX_DEPTH, "", &n);
	free(s);
	{
		char *open = repeat("", "l", BT_BENCODE_MAX_DEPTH, "", &n);
		char *all = malloc(2 * n + 1);

		memcpy(all, open, n);
		memset(all + n, 'e', n);
		r = bt_bdecode(&d, all, 2 * n, 0, &e);
		T_OK(r == (long long)(2 * n) && d.nnode ==
		    BT_BENCODE_MAX_DEPTH, "accepts %d nested lists",
		    BT_BENCODE_MAX_DEPTH);
		bt_bdoc_free(&d);
		free(all);
		free(open);
	}
	s = repeat("", "l", BT_BENCODE_MAX_DEPTH + 1, "", &n);
	{
		char *all = malloc(2 * n + 1);

		memcpy(all, s, n);
		memset(all + n, 'e', n);
		refuse_n(all, 2 * n, "nesting deeper than 100 (limit "
		    "BT_BENCODE_MAX_DEPTH)", BT_BENCODE_MAX_DEPTH,
		    "one list more than the depth limit");
		free(all);
	}
	free(s);
	s = repeat("", "l", 1000000, "", &n);
	refuse_n(s, n, "nesting deeper than 100 (limit "
	    "BT_BENCODE_MAX_DEPTH)", BT_BENCODE_MAX_DEPTH,
	    "1,000,000 nested lists, without recursion");
	free(s);
	s = repeat("", "d1:a", 1000, "", &n);
	refuse_n(s, n, "nesting deeper than 100 (limit "
	    "BT_BENCODE_MAX_DEPTH)", 4 * BT_BENCODE_MAX_DEPTH,
	    "deeply nested dicts");
	free(s);

	/* The list itself is one value: MAX - 1 strings fill the table. */
	s = repeat("l", "0:", BT_BENCODE_MAX_TOKENS - 1, "e", &n);
	r = bt_bdecode(&d, s, n, 0, &e);
	T_OK(r == (long long)n && d.nnode == BT_BENCODE_MAX_TOKENS,
	    "accepts exactly BT_BENCODE_MAX_TOKENS values");
	bt_bdoc_free(&d);
	free(s);
	s = repeat("l", "0:", BT_BENCODE_MAX_TOKENS, "e", &n);
	refuse_n(s, n, "more than 4000000 values (limit "
	    "BT_BENCODE_MAX_TOKENS)", 1 + 2LL * (BT_BENCODE_MAX_TOKENS - 1),
	    "one value more than the token limit");
	free(s);
}

static void
strict(const char *s, int want, const char *msg, long long off,
    const char *what)
{
	struct bt_bdoc d;
	struct bt_err e;
	long long r = bt_bdecode(&d, s, strlen(s), 0, &e);
	int sr;

	bt_err_clear(&e);
	sr = bt_bdoc_strict(&d, &e);
	if (want == 0) {
		T_OK(r >= 0 && sr == 0, "strict: %s", what);
	} else {
		T_OK(r >= 0 && sr == -1 && e.off == off &&
		    e.status == BT_EX_DATAERR,
		    "strict: %s: decoded, then reported at byte %lld "
		    "(got %lld)", what, off, e.off);
		T_STREQ(e.msg, msg, "strict: %s: message", what);
	}
	bt_bdoc_free(&d);
}

static void
test_strict(void)
{
	strict("d1:ai1e1:bi2ee", 0, NULL, 0, "sorted keys pass");
	strict("d1:a0:2:ab0:e", 0, NULL, 0, "a key before its extension");
	strict("d1:bi1e1:ai2ee", -1, "dictionary keys not sorted", 7,
	    "unsorted keys");
	strict("d2:ab0:1:a0:e", -1, "dictionary keys not sorted", 7,
	    "a longer key before its prefix");
	strict("d1:ai1e1:ai2ee", -1, "dictionary key repeated", 7,
	    "a repeated key");
	strict("ld1:b0:1:a0:ee", -1, "dictionary keys not sorted", 7,
	    "unsorted keys inside a list");
	strict("d1:ad1:b0:1:a0:e1:a0:e", -1, "dictionary keys not sorted",
	    10, "the first problem in document order");
	strict("d1:ad1:ai1e1:ai1ee1:b0:1:a0:e", -1, "dictionary key repeated",
	    11, "a repeat before an unsorted key is named first");
	strict("d1:\x80i1e1:\x7fi2ee", -1, "dictionary keys not sorted", 7,
	    "keys compare as unsigned bytes");
}

static int
encoded(struct bt_buf *b, const char *want, size_t n)
{
	int good = !b->oom && b->len == n && memcmp(b->p, want, n) == 0;

	bt_buf_free(b);
	return good;
}

static void
test_encoder(void)
{
	struct bt_buf b = { 0 };

	bt_benc_int(&b, 0);
	T_OK(encoded(&b, "i0e", 3), "encodes 0");
	bt_benc_int(&b, -42);
	T_OK(encoded(&b, "i-42e", 5), "encodes a negative integer");
	bt_benc_int(&b, INT64_MIN);
	T_OK(encoded(&b, "i-9223372036854775808e", 22), "encodes INT64_MIN");
	bt_benc_int(&b, INT64_MAX);
	T_OK(encoded(&b, "i9223372036854775807e", 21), "encodes INT64_MAX");
	bt_benc_str(&b, "", 0);
	T_OK(encoded(&b, "0:", 2), "encodes the empty string");
	bt_benc_str(&b, "a\0b", 3);
	T_OK(encoded(&b, "3:a\0b", 5), "encodes a binary string");
	bt_benc_cstr(&b, "spam");
	T_OK(encoded(&b, "4:spam", 6), "encodes a C string");
	bt_benc_list(&b);
	bt_benc_end(&b);
	T_OK(encoded(&b, "le", 2), "encodes an empty list");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "a");
	bt_benc_list(&b);
	bt_benc_int(&b, 1);
	bt_benc_cstr(&b, "xy");
	bt_benc_end(&b);
	bt_benc_cstr(&b, "b");
	bt_benc_dict(&b);
	bt_benc_end(&b);
	bt_benc_end(&b);
	T_OK(encoded(&b, "d1:ali1e2:xye1:bdee", 19), "encodes nested values");
	{
		char big[5000];
		size_t i;

		memset(big, 'z', sizeof(big));
		for (i = 0; i < 10; i++)
			bt_benc_str(&b, big, sizeof(big));
		T_OK(!b.oom && b.len == 10 * (5 + sizeof(big)) &&
		    memcmp(b.p + 9 * 5005, "5000:zz", 7) == 0,
		    "the buffer grows over many appends");
		bt_buf_free(&b);
	}
}

/* Scan s whole, then byte by byte: same answer both ways. */
static void
scan_same(const char *s, size_t n, int want, size_t wantlen,
    const char *what)
{
	struct bt_bscan a = { 0 }, b = { 0 };
	struct bt_err ea, eb;
	size_t la = 0, lb = 0, i;
	int ra, rb = 0;

	bt_err_clear(&ea);
	bt_err_clear(&eb);
	ra = bt_bscan_step(&a, s, n, &la, &ea);
	for (i = 1; i <= n; i++) {
		rb = bt_bscan_step(&b, s, i, &lb, &eb);
		if (rb != 0)
			break;
	}
	T_OK(ra == want && rb == want && (want != 1 ||
	    (la == wantlen && lb == wantlen)) && (want != -1 ||
	    (ea.off == eb.off && strcmp(ea.msg, eb.msg) == 0)),
	    "scanner, whole and byte by byte: %s (got %d/%d, %zu/%zu)",
	    what, ra, rb, la, lb);
}

static void
test_scanner(void)
{
	static const char tor[] = "d8:announce3:x/y4:infod6:lengthi1e"
	    "4:name1:a12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAee";

	scan_same("i42e", 4, 1, 4, "an integer");
	scan_same("i-9223372036854775808e", 22, 1, 22, "INT64_MIN");
	scan_same("4:spam", 6, 1, 6, "a string");
	scan_same("0:", 2, 1, 2, "the empty string");
	scan_same("12:e:ld1:i2e4:", 15, 1, 15,
	    "a string holding bencode bytes");
	scan_same("d1:ali1e2:xyee", 14, 1, 14, "nested containers");
	scan_same("llleee", 6, 1, 6, "nested empty lists");
	scan_same(tor, sizeof(tor) - 1, 1, sizeof(tor) - 1, "a torrent");
	scan_same("i1ei2e", 6, 1, 3, "stops after the first value");
	scan_same("d1:ai1e", 7, 0, 0, "an unfinished dict needs more");
	scan_same("5:ab", 4, 0, 0, "an unfinished string needs more");
	scan_same("x", 1, -1, 0, "an unexpected byte");
	scan_same("l3x", 3, -1, 0, "a letter in a string length");
	scan_same("12345678901234567890:", 21, -1, 0,
	    "a 20-digit string length");
	scan_same("i123456789012345678901234567890", 31, -1, 0,
	    "an integer with no end in sight");
	scan_same("i1234567890", 11, 0, 0, "an unfinished integer needs more");
	{
		size_t n;
		char *s = repeat("", "l", BT_BENCODE_MAX_DEPTH + 1, "", &n);
		struct bt_bscan sc = { 0 };
		struct bt_err e;
		size_t vl;

		scan_same(s, n, -1, 0, "nesting over the limit");
		T_OK(bt_bscan_step(&sc, s, n, &vl, &e) == -1 &&
		    e.off == BT_BENCODE_MAX_DEPTH && strcmp(e.msg,
		    "nesting deeper than 100 (limit BT_BENCODE_MAX_DEPTH)")
		    == 0, "scanner names the depth limit at its byte");
		free(s);
	}
}

/* A child writes p[0..n) to a pipe in chunks of step bytes and exits. */
static int
feed(const void *p, size_t n, size_t step, pid_t *pid)
{
	int fd[2];

	if (pipe(fd) < 0)
		abort();
	if ((*pid = fork()) < 0)
		abort();
	if (*pid == 0) {
		const char *c = p;
		size_t o = 0;

		close(fd[0]);
		while (o < n) {
			size_t k = n - o < step ? n - o : step;
			ssize_t w = write(fd[1], c + o, k);

			if (w <= 0)
				_exit(1);
			o += (size_t)w;
		}
		_exit(0);
	}
	close(fd[1]);
	return fd[0];
}

static void
reap(int fd, pid_t pid)
{
	close(fd);
	waitpid(pid, NULL, 0);
}

static void
test_seq(void)
{
	static const char three[] = "i1e4:spamd1:ai2ee";
	struct bt_bseq q;
	struct bt_err e;
	pid_t pid;
	int fd, r1, r2, r3, r4;
	long long c1, c2, c3;

	fd = feed(three, sizeof(three) - 1, 1, &pid);
	bt_bseq_init(&q, fd, 1024);
	r1 = bt_bseq_next(&q, &e);
	c1 = (long long)q.consumed;
	T_OK(r1 == 1 && q.doc.node[0].type == BT_BINT &&
	    q.doc.node[0].v.i == 1, "bseq: first value from a pipe");
	r2 = bt_bseq_next(&q, &e);
	c2 = (long long)q.consumed;
	T_OK(r2 == 1 && bt_bstr_eq(&q.doc, &q.doc.node[0], "spam"),
	    "bseq: second value");
	r3 = bt_bseq_next(&q, &e);
	c3 = (long long)q.consumed;
	T_OK(r3 == 1 && q.doc.node[0].type == BT_BDICT &&
	    bt_bdict_get(&q.doc, &q.doc.node[0], "a")->v.i == 2,
	    "bseq: third value");
	T_OK(c1 == 0 && c2 == 3 && c3 == 9,
	    "bseq: consumed is each value's offset in the stream");
	r4 = bt_bseq_next(&q, &e);
	T_OK(r4 == 0, "bseq: clean end of stream gives 0");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("i1e4:sp", 7, 7, &pid);
	bt_bseq_init(&q, fd, 1024);
	r1 = bt_bseq_next(&q, &e);
	r2 = bt_bseq_next(&q, &e);
	T_OK(r1 == 1 && r2 == -1 && e.off == 7 &&
	    e.status == BT_EX_DATAERR, "bseq: a truncated last value is "
	    "refused at the end of the stream (off %lld)", e.off);
	T_STREQ(e.msg, "stream ends inside a value",
	    "bseq: names the truncation");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("i1e20:aaaaaaaaaaaaaaaaaaaa", 26, 1, &pid);
	bt_bseq_init(&q, fd, 10);
	r1 = bt_bseq_next(&q, &e);
	r2 = bt_bseq_next(&q, &e);
	T_OK(r1 == 1 && r2 == -1 && e.off == 3,
	    "bseq: a value over the max arriving slowly is refused");
	T_STREQ(e.msg, "value larger than 10 bytes", "bseq: names the max");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("12:aaaaaaaaaaaa", 15, 15, &pid);
	bt_bseq_init(&q, fd, 10);
	r1 = bt_bseq_next(&q, &e);
	T_OK(r1 == -1 && e.off == 0 &&
	    strcmp(e.msg, "value larger than 10 bytes") == 0,
	    "bseq: a value over the max arriving in one read is refused");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("i1ei01e", 7, 7, &pid);
	bt_bseq_init(&q, fd, 100);
	r1 = bt_bseq_next(&q, &e);
	r2 = bt_bseq_next(&q, &e);
	T_OK(r1 == 1 && r2 == -1 && e.off == 3 &&
	    strcmp(e.msg, "leading zero in integer") == 0,
	    "bseq: a malformed value is refused at its offset in the stream");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("i1exe", 5, 5, &pid);
	bt_bseq_init(&q, fd, 100);
	r1 = bt_bseq_next(&q, &e);
	r2 = bt_bseq_next(&q, &e);
	T_OK(r1 == 1 && r2 == -1 && e.off == 3 &&
	    strcmp(e.msg, "unexpected byte 0x78") == 0,
	    "bseq: a byte that starts no value is refused at its offset");
	bt_bseq_free(&q);
	reap(fd, pid);

	fd = feed("", 0, 1, &pid);
	bt_bseq_init(&q, fd, 100);
	T_OK(bt_bseq_next(&q, &e) == 0, "bseq: an empty stream gives 0");
	bt_bseq_free(&q);
	reap(fd, pid);

	{
		/* Values of growing size straddle every buffer boundary. */
		struct bt_buf b = { 0 };
		size_t i, nv = 400, bad = 0, got = 0;
		char *v = malloc(20000 + nv);

		for (i = 0; i < nv; i++) {
			memset(v, 'a' + (int)(i % 26), 10000 + i);
			bt_benc_str(&b, v, 10000 + i);
			bt_benc_int(&b, (int64_t)i);
		}
		fd = feed(b.p, b.len, 65536, &pid);
		bt_bseq_init(&q, fd, 20000);
		for (i = 0; i < nv; i++) {
			const struct bt_bnode *n;

			if (bt_bseq_next(&q, &e) != 1)
				break;
			n = &q.doc.node[0];
			if (n->type != BT_BSTR || n->v.s.len != 10000 + i ||
			    bt_bstr(&q.doc, n)[0] != 'a' + (int)(i % 26) ||
			    bt_bstr(&q.doc, n)[n->v.s.len - 1] !=
			    'a' + (int)(i % 26))
				bad++;
			if (bt_bseq_next(&q, &e) != 1 ||
			    q.doc.node[0].v.i != (int64_t)i)
				bad++;
			got++;
		}
		T_OK(got == nv && bad == 0 && bt_bseq_next(&q, &e) == 0,
		    "bseq: %zu values over %zu bytes read back intact "
		    "(%zu read, %zu bad)", 2 * nv, b.len, got, bad);
		bt_bseq_free(&q);
		reap(fd, pid);
		bt_buf_free(&b);
		free(v);
	}
	{
		/* Many small values: the buffer is not moved per value. */
		size_t n, i, cnt = 0;
		char *s = repeat("", "i7e", 300000, "", &n);

		fd = feed(s, n, 1 << 20, &pid);
		bt_bseq_init(&q, fd, 100);
		while ((r1 = bt_bseq_next(&q, &e)) == 1 &&
		    q.doc.node[0].v.i == 7)
			cnt++;
		T_OK(r1 == 0 && cnt == 300000,
		    "bseq: 300,000 small values, all read (%zu)", cnt);
		bt_bseq_free(&q);
		reap(fd, pid);
		free(s);
		(void)i;
	}
}

int
main(void)
{
	test_valid();
	test_refusals();
	test_prefix();
	test_limits();
	test_strict();
	test_encoder();
	test_scanner();
	test_seq();
	return t_done();
}
