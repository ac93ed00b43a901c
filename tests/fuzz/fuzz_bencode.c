/*
 * lib/bencode: bt_bdecode, bt_bdoc_strict and the incremental scanner
 * (bt_bscan_step) on any bytes. Beyond "no crash", it checks:
 *   - the node table describes the input exactly: re-encoding it from the
 *     nodes gives back the very bytes decoded (ints and lengths are
 *     canonical once decoded, so this holds for every accepted input);
 *   - without BT_BDEC_PREFIX the decoder accepts exactly when the prefix
 *     value is the whole input;
 *   - the scanner, fed the whole input at once or one byte at a time,
 *     ends a value exactly where the decoder does;
 *   - the strictness offsets are the first repeated and the first
 *     unsorted key, found here again by a separate walk.
 */
#include <string.h>

#include "bencode.h"
#include "btlimits.h"
#include "fuzz.h"

/* Re-encode node n from the table into out; returns the next node. */
static const struct bt_bnode *
reencode(const struct bt_bdoc *d, const struct bt_bnode *n,
    struct bt_buf *out)
{
	const struct bt_bnode *c;
	uint32_t i, nchild;

	FUZZ_ASSERT((size_t)n->off + n->len <= d->buflen, "node past input");
	switch (n->type) {
	case BT_BINT:
		bt_benc_int(out, n->v.i);
		return n + 1;
	case BT_BSTR:
		FUZZ_ASSERT((size_t)n->v.s.off + n->v.s.len <=
		    (size_t)n->off + n->len, "string past its node");
		bt_benc_str(out, bt_bstr(d, n), n->v.s.len);
		return n + 1;
	case BT_BLIST:
	case BT_BDICT:
		bt_buf_add(out, n->type == BT_BLIST ? "l" : "d", 1);
		nchild = n->type == BT_BLIST ? n->v.n : 2 * n->v.n;
		for (c = n + 1, i = 0; i < nchild; i++) {
			const struct bt_bnode *next;

			if (n->type == BT_BDICT && i % 2 == 0)
				FUZZ_ASSERT(c->type == BT_BSTR,
				    "dict key not a string");
			next = reencode(d, c, out);
			FUZZ_ASSERT(next == bt_bnext(c), "skip of node %zu",
			    (size_t)(c - d->node));
			c = next;
		}
		FUZZ_ASSERT(c == n + n->skip, "container skip");
		bt_benc_end(out);
		return c;
	default:
		FUZZ_ASSERT(0, "node type %d", n->type);
	}
	return NULL;
}

static int
keycmp(const struct bt_bdoc *d, const struct bt_bnode *a,
    const struct bt_bnode *b)
{
	size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
	int c = memcmp(bt_bstr(d, a), bt_bstr(d, b), n);

	if (c != 0)
		return c;
	return (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
}

/* First repeated and first unsorted key offsets, over every dict. */
static void
key_order(const struct bt_bdoc *d, long long *dup, long long *unsorted)
{
	size_t i;

	*dup = *unsorted = -1;
	for (i = 0; i < d->nnode; i++) {
		const struct bt_bnode *n = &d->node[i], *k, *prev = NULL;
		uint32_t j;

		if (n->type != BT_BDICT)
			continue;
		for (k = n + 1, j = 0; j < n->v.n; j++) {
			if (prev != NULL) {
				int c = keycmp(d, prev, k);

				if (c == 0 && (*dup < 0 || k->off < *dup))
					*dup = k->off;
				if (c > 0 && (*unsorted < 0 ||
				    k->off < *unsorted))
					*unsorted = k->off;
			}
			prev = k;
			k = bt_bnext(bt_bnext(k));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct bt_bdoc d, whole;
	struct bt_bscan sc;
	struct bt_buf out = { 0 };
	struct bt_err e;
	long long r, r2, dup, uns;
	size_t vlen = 0, k;
	int s;

	r = bt_bdecode(&d, buf, size, BT_BDEC_PREFIX, &e);
	r2 = bt_bdecode(&whole, buf, size, 0, &e);
	bt_bdoc_free(&whole);
	if (r >= 0) {
		FUZZ_ASSERT(r > 0 && (size_t)r <= size, "length %lld", r);
		FUZZ_ASSERT((r2 >= 0) == ((size_t)r == size),
		    "prefix %lld, whole %lld, size %zu", r, r2, size);
		FUZZ_ASSERT(d.nnode == d.node[0].skip &&
		    d.node[0].off == 0 && d.node[0].len == r,
		    "root node");
		reencode(&d, &d.node[0], &out);
		FUZZ_ASSERT(!out.oom, "out of memory");
		FUZZ_ASSERT(out.len == (size_t)r &&
		    memcmp(out.p, buf, out.len) == 0,
		    "re-encoding differs from the input");
		bt_buf_free(&out);

		key_order(&d, &dup, &uns);
		FUZZ_ASSERT(dup == d.dup_off && uns == d.unsorted_off,
		    "key order: dup %lld/%lld unsorted %lld/%lld", dup,
		    d.dup_off, uns, d.unsorted_off);
		s = bt_bdoc_strict(&d, &e);
		FUZZ_ASSERT((s == 0) == (dup < 0 && uns < 0), "strict");
		if (s < 0)
			FUZZ_ASSERT(e.off == (dup >= 0 && (uns < 0 ||
			    dup < uns) ? dup : uns), "strict offset");
	} else
		FUZZ_ASSERT(r2 < 0, "whole accepted, prefix refused");
	bt_bdoc_free(&d);

	/* The scanner, all at once. */
	memset(&sc, 0, sizeof(sc));
	s = bt_bscan_step(&sc, buf, size, &vlen, &e);
	if (r >= 0)
		FUZZ_ASSERT(s == 1 && vlen == (size_t)r,
		    "scanner %d at %zu, decoder %lld", s, vlen, r);
	if (s == 1)
		FUZZ_ASSERT(vlen > 0 && vlen <= size, "scanner length");

	/* One byte at a time, as bytes trickle in from a pipe. */
	if (r >= 0) {
		memset(&sc, 0, sizeof(sc));
		for (k = 0; k <= size; k++) {
			s = bt_bscan_step(&sc, buf, k, &vlen, &e);
			if (s != 0)
				break;
		}
		FUZZ_ASSERT(s == 1 && k == (size_t)r && vlen == (size_t)r,
		    "incremental scanner %d at %zu (%zu), decoder %lld", s,
		    k, vlen, r);
	}
	return 0;
}
