/*
 * Serving one peer's requests: the queue and the checks both upload
 * engines share (lib/serve.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void
bt_serve_init(struct bt_serve *s)
{
	memset(s, 0, sizeof(*s));
	s->choked = 1;
}

void
bt_serve_free(struct bt_serve *s)
{
	free(s->q);
	s->q = NULL;
	s->qn = s->qcap = s->qhead = 0;
}

static int
cut(struct bt_serve_verdict *v, const char *limit, unsigned value,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
cut(struct bt_serve_verdict *v, const char *limit, unsigned value,
    const char *fmt, ...)
{
	va_list ap;

	v->limit = limit;
	v->value = value;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return BT_SERVE_CUT;
}

/* Room for one more request: the ring doubles up to the limit. */
static int
grow(struct bt_serve *s)
{
	unsigned cap = s->qcap ? 2 * s->qcap : 64, i;
	struct bt_serve_req *nq;

	if (s->qn < s->qcap)
		return 0;
	if (cap > BT_SEED_MAX_QUEUE)
		cap = BT_SEED_MAX_QUEUE;
	if ((nq = malloc(cap * sizeof(*nq))) == NULL)
		return -1;
	for (i = 0; i < s->qn; i++)
		nq[i] = s->q[(s->qhead + i) % s->qcap];
	free(s->q);
	s->q = nq;
	s->qcap = cap;
	s->qhead = 0;
	return 0;
}

int
bt_serve_request(struct bt_serve *s, const struct bt_torrent *t, int held,
    uint32_t index, uint32_t begin, uint32_t len,
    struct bt_serve_verdict *v)
{
	int64_t size;

	v->limit = NULL;
	v->value = 0;
	v->why[0] = '\0';
	if (index >= t->npieces) {
		if (++s->nbad >= BT_SEED_MAX_BAD_REQUESTS)
			return cut(v, "BT_SEED_MAX_BAD_REQUESTS",
			    BT_SEED_MAX_BAD_REQUESTS, "request for piece %u "
			    "of %u", index, t->npieces);
		return BT_SERVE_REFUSED;
	}
	size = bt_piece_size(t, index);
	if (len == 0 || len > BT_BLOCK_LEN || begin >= size ||
	    (int64_t)begin + len > size) {
		if (++s->nbad >= BT_SEED_MAX_BAD_REQUESTS)
			return cut(v, "BT_SEED_MAX_BAD_REQUESTS",
			    BT_SEED_MAX_BAD_REQUESTS, "request of %u bytes at "
			    "%u in piece %u of %lld bytes", len, begin, index,
			    (long long)size);
		return BT_SERVE_REFUSED;
	}
	if (s->choked && held && s->nfast < BT_SEED_FAST_MAX_BLOCKS &&
	    bt_serve_allowed(s, index)) {
		/* BEP 6: served while choked. */
		s->nfast++;
	} else if (s->choked) {
		if (++s->nchoked > BT_SEED_MAX_CHOKED_REQUESTS)
			return cut(v, "BT_SEED_MAX_CHOKED_REQUESTS",
			    BT_SEED_MAX_CHOKED_REQUESTS, "%u requests while "
			    "choked", s->nchoked);
		return BT_SERVE_REFUSED;
	}
	/* Only pieces that passed SHA-1: never bytes in flight. */
	if (!held) {
		if (++s->nchoked > BT_SEED_MAX_CHOKED_REQUESTS)
			return cut(v, "BT_SEED_MAX_CHOKED_REQUESTS",
			    BT_SEED_MAX_CHOKED_REQUESTS, "%u requests for "
			    "pieces we do not have", s->nchoked);
		return BT_SERVE_REFUSED;
	}
	if (s->qn >= BT_SEED_MAX_QUEUE) {
		/* BEP 3 has no way to refuse a request but to choke: past
		   the queue they are ignored (BEP 6: rejected), then the
		   peer is cut off. */
		if (++s->noverflow >= BT_SEED_MAX_OVERFLOW)
			return cut(v, "BT_SEED_MAX_OVERFLOW",
			    BT_SEED_MAX_OVERFLOW, "request flood: %u past a "
			    "full queue of %d requests", s->noverflow,
			    BT_SEED_MAX_QUEUE);
		if (!s->qfull) {
			v->limit = "BT_SEED_MAX_QUEUE";
			v->value = BT_SEED_MAX_QUEUE;
			snprintf(v->why, sizeof(v->why), "queue full, more "
			    "requests %s", s->fast ? "rejected" : "ignored");
		}
		s->qfull = 1;
		return BT_SERVE_FULL;
	}
	if (grow(s) < 0)
		return BT_SERVE_NOMEM;
	s->q[(s->qhead + s->qn) % s->qcap] = (struct bt_serve_req){ index,
	    begin, len };
	s->qn++;
	return BT_SERVE_QUEUED;
}

int
bt_serve_cancel(struct bt_serve *s, uint32_t index, uint32_t begin,
    uint32_t len)
{
	unsigned i, j;

	for (i = 0; i < s->qn; i++) {
		struct bt_serve_req *r = &s->q[(s->qhead + i) % s->qcap];

		if (r->index == index && r->begin == begin && r->len == len)
			break;
	}
	if (i == s->qn)
		return 0;
	for (j = i; j + 1 < s->qn; j++)
		s->q[(s->qhead + j) % s->qcap] =
		    s->q[(s->qhead + j + 1) % s->qcap];
	s->qn--;
	return 1;
}

int
bt_serve_next(struct bt_serve *s, struct bt_serve_req *r)
{
	if (s->qn == 0) {
		s->qhead = 0;
		return 0;
	}
	*r = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qn--;
	return 1;
}

unsigned
bt_serve_run(const struct bt_serve *s, const struct bt_serve_req *r,
    unsigned max, uint32_t *bytes)
{
	unsigned k;

	*bytes = r->len;
	for (k = 0; k < max && k < s->qn; k++) {
		const struct bt_serve_req *nx = &s->q[(s->qhead + k) %
		    s->qcap];

		if (nx->index != r->index || nx->begin != r->begin + *bytes)
			break;
		*bytes += nx->len;
	}
	return k;
}

void
bt_serve_choke(struct bt_serve *s)
{
	s->choked = 1;
}

void
bt_serve_unchoke(struct bt_serve *s)
{
	s->choked = 0;
	s->nchoked = 0;
}

int
bt_serve_allowed(const struct bt_serve *s, uint32_t index)
{
	unsigned i;

	for (i = 0; i < s->nallowed; i++)
		if (s->allowed[i] == index)
			return 1;
	return 0;
}
