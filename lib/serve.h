/*
 * Serving one peer's requests (BEP 3, BEP 6): the part of the upload
 * side that bt-seed (lib/seed) and bt-fetch-piece (lib/swarm_upload)
 * share. A request is checked against the piece's bounds, our choke
 * and the pieces we hold before it is queued; a cancel takes it out of
 * the queue; the peer's bad requests are counted against the named
 * limits that cut it off. Pure: no socket, no data, no clock. The
 * engine sends what the verdict says (a reject to a fast peer, a line
 * and a cut) and reads the blocks of the requests it takes.
 */
#ifndef BT_SERVE_H
#define BT_SERVE_H

#include <stdint.h>

#include "btlimits.h"
#include "metainfo.h"

struct bt_serve_req {
	uint32_t index, begin, len;
};

struct bt_serve {
	struct bt_serve_req *q;	/* a ring of qcap, up to BT_SEED_MAX_QUEUE */
	unsigned qhead, qn, qcap;
	int choked;		/* we choke the peer */
	int fast;		/* it speaks BEP 6: refusals are rejects */
	/* BEP 6: its allowed fast set, the pieces of it we hold, and the
	   blocks of them asked for while choked */
	uint32_t allowed[BT_SEED_ALLOWED_FAST];
	unsigned nallowed, nfast;
	/* its bad requests, against BT_SEED_MAX_* */
	unsigned nbad, nchoked, noverflow;
	int qfull;		/* the queue was full once */
};

/* What became of a request. */
enum {
	BT_SERVE_QUEUED = 0,
	BT_SERVE_REFUSED = 1,	/* a reject to a fast peer, else nothing */
	BT_SERVE_FULL = 2,	/* refused, the queue full: v says so once */
	BT_SERVE_CUT = 3,	/* refused, and the peer is to be cut off */
	BT_SERVE_NOMEM = 4,	/* refused, out of memory */
};

struct bt_serve_verdict {
	const char *limit;	/* CUT, first FULL: the limit's name... */
	unsigned value;		/* ...and its value */
	char why[128];		/* what the peer did, for a line */
};

/* An empty queue; the peer choked. */
void bt_serve_init(struct bt_serve *s);
void bt_serve_free(struct bt_serve *s);

/*
 * A request for len bytes at begin in piece index of t; held: we hold
 * that piece verified (0 when index is past the last). Returns
 * BT_SERVE_*; v is filled for CUT and for the first FULL (v->why empty
 * otherwise).
 */
int bt_serve_request(struct bt_serve *s, const struct bt_torrent *t,
    int held, uint32_t index, uint32_t begin, uint32_t len,
    struct bt_serve_verdict *v);

/* BEP 3 cancel: 1 when it was queued and is taken out (BEP 6: the
   engine answers it with a reject), 0 when it was not. */
int bt_serve_cancel(struct bt_serve *s, uint32_t index, uint32_t begin,
    uint32_t len);

/* Take the next request in r: 1, or 0 when none is queued. */
int bt_serve_next(struct bt_serve *s, struct bt_serve_req *r);

/*
 * How many of the next requests (at most max, after a request r just
 * taken) continue r in its piece without a gap, so that one read serves
 * them all; *bytes gets r's length plus theirs.
 */
unsigned bt_serve_run(const struct bt_serve *s, const struct bt_serve_req *r,
    unsigned max, uint32_t *bytes);

/* Choke: every queued request goes (BEP 3); the engine rejects each one
   bt_serve_next gives (BEP 6) until none is left. */
void bt_serve_choke(struct bt_serve *s);
void bt_serve_unchoke(struct bt_serve *s);

/* BEP 6: piece index is in the peer's allowed fast set. */
int bt_serve_allowed(const struct bt_serve *s, uint32_t index);

#endif
