/*
 * lib/serve, the request serving both upload engines share: bounds,
 * choke, pieces not held, BEP 6 allowed fast, the queue and its limits,
 * cancels, the runs of adjacent requests read at once, and the lines a
 * cut off peer is logged with.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "t.h"

int
main(void)
{
	struct bt_torrent t;
	struct bt_serve s;
	struct bt_serve_verdict v;
	struct bt_serve_req r;
	uint32_t bytes;
	unsigned i, n;
	int k;

	/* 65 pieces of 64 KiB, the last one 1000 bytes. */
	memset(&t, 0, sizeof(t));
	t.piece_length = 65536;
	t.npieces = 65;
	t.total_length = 64LL * 65536 + 1000;

	bt_serve_init(&s);
	T_OK(s.choked == 1 && s.qn == 0, "a new peer is choked, nothing queued");
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_REFUSED &&
	    v.why[0] == '\0', "a request while choked is refused");
	bt_serve_unchoke(&s);
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_QUEUED &&
	    s.qn == 1, "unchoked, a request for a held piece is queued");
	T_OK(bt_serve_request(&s, &t, 0, 1, 0, 16384, &v) == BT_SERVE_REFUSED,
	    "a piece not held is refused");
	T_OK(bt_serve_request(&s, &t, 1, 64, 0, 1000, &v) == BT_SERVE_QUEUED,
	    "the short last piece whole is queued");
	T_OK(bt_serve_request(&s, &t, 1, 64, 0, 1001, &v) == BT_SERVE_REFUSED,
	    "a byte past the last piece's end is refused");
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 32768, &v) == BT_SERVE_REFUSED,
	    "a block over 16 KiB is refused");
	T_OK(bt_serve_request(&s, &t, 1, 0, 65535, 2, &v) == BT_SERVE_REFUSED,
	    "a block over the piece's end is refused");
	k = bt_serve_request(&s, &t, 0, 65, 0, 16384, &v);
	T_OK(k == BT_SERVE_CUT, "the fourth bad request cuts the peer off");
	T_STREQ(v.limit, "BT_SEED_MAX_BAD_REQUESTS", "named by its limit");
	T_OK(v.value == BT_SEED_MAX_BAD_REQUESTS, "with its value");
	T_STREQ(v.why, "request for piece 65 of 65", "saying what it asked");
	bt_serve_free(&s);

	bt_serve_init(&s);
	bt_serve_unchoke(&s);
	for (i = 0; i < 3; i++)
		bt_serve_request(&s, &t, 1, 0, 65535, 2, &v);
	k = bt_serve_request(&s, &t, 1, 0, 65535, 2, &v);
	T_STREQ(v.why, "request of 2 bytes at 65535 in piece 0 of 65536 bytes",
	    "a range past the end says where");
	bt_serve_free(&s);

	/* Choked: 2000 refusals are allowed, the next cuts. */
	bt_serve_init(&s);
	for (i = 0, n = 0; i < BT_SEED_MAX_CHOKED_REQUESTS; i++)
		n += bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) ==
		    BT_SERVE_REFUSED;
	T_OK(n == BT_SEED_MAX_CHOKED_REQUESTS, "2000 requests while choked are "
	    "refused: %u", n);
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_CUT,
	    "the 2001st cuts the peer off");
	T_STREQ(v.why, "2001 requests while choked", "saying how many");
	T_STREQ(v.limit, "BT_SEED_MAX_CHOKED_REQUESTS", "named by its limit");
	bt_serve_free(&s);

	bt_serve_init(&s);
	bt_serve_unchoke(&s);
	for (i = 0; i < BT_SEED_MAX_CHOKED_REQUESTS; i++)
		bt_serve_request(&s, &t, 0, 3, 0, 16384, &v);
	T_OK(bt_serve_request(&s, &t, 0, 3, 0, 16384, &v) == BT_SERVE_CUT,
	    "2001 requests for pieces not held cut the peer off");
	T_STREQ(v.why, "2001 requests for pieces we do not have",
	    "saying so");
	bt_serve_free(&s);

	bt_serve_init(&s);
	for (i = 0; i < 10; i++)
		bt_serve_request(&s, &t, 1, 0, 0, 16384, &v);
	bt_serve_unchoke(&s);
	bt_serve_choke(&s);
	for (i = 0; i < BT_SEED_MAX_CHOKED_REQUESTS; i++)
		bt_serve_request(&s, &t, 1, 0, 0, 16384, &v);
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_CUT &&
	    strcmp(v.why, "2001 requests while choked") == 0,
	    "an unchoke starts the count of requests while choked again");
	bt_serve_free(&s);

	/* BEP 6: the allowed fast set is served while choked, bounded. */
	bt_serve_init(&s);
	s.fast = 1;
	s.allowed[s.nallowed++] = 7;
	T_OK(bt_serve_allowed(&s, 7) && !bt_serve_allowed(&s, 8),
	    "the allowed fast set is known");
	T_OK(bt_serve_request(&s, &t, 1, 7, 0, 16384, &v) == BT_SERVE_QUEUED,
	    "an allowed fast piece is queued while choked");
	T_OK(bt_serve_request(&s, &t, 0, 7, 0, 16384, &v) == BT_SERVE_REFUSED,
	    "but not when we do not hold it");
	T_OK(bt_serve_request(&s, &t, 1, 8, 0, 16384, &v) == BT_SERVE_REFUSED,
	    "a piece outside the set is refused while choked");
	for (i = 1, n = 1; i < BT_SEED_FAST_MAX_BLOCKS + 5; i++)
		n += bt_serve_request(&s, &t, 1, 7, 0, 16384, &v) ==
		    BT_SERVE_QUEUED;
	T_OK(n == BT_SEED_FAST_MAX_BLOCKS, "%u allowed fast blocks at most "
	    "while choked: %u", BT_SEED_FAST_MAX_BLOCKS, n);
	bt_serve_free(&s);

	/* The queue: full at 2000; said once; 64 past it cut. */
	bt_serve_init(&s);
	bt_serve_unchoke(&s);
	for (i = 0, n = 0; i < BT_SEED_MAX_QUEUE; i++)
		n += bt_serve_request(&s, &t, 1, i % 64, 0, 16384, &v) ==
		    BT_SERVE_QUEUED;
	T_OK(n == BT_SEED_MAX_QUEUE && s.qn == BT_SEED_MAX_QUEUE,
	    "2000 requests are queued");
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_FULL,
	    "the next is refused, the queue full");
	T_STREQ(v.why, "queue full, more requests ignored",
	    "said the first time (BEP 3 peer: ignored)");
	T_STREQ(v.limit, "BT_SEED_MAX_QUEUE", "naming the limit");
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_FULL &&
	    v.why[0] == '\0', "and not again");
	for (i = 2; i < BT_SEED_MAX_OVERFLOW - 2; i++)
		bt_serve_request(&s, &t, 1, 0, 0, 16384, &v);
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_FULL,
	    "63 past a full queue are refused");
	T_OK(bt_serve_request(&s, &t, 1, 0, 0, 16384, &v) == BT_SERVE_CUT,
	    "the 64th cuts the peer off");
	T_STREQ(v.why, "request flood: 64 past a full queue of 2000 requests",
	    "saying so");
	T_OK(bt_serve_next(&s, &r) && r.index == 0 && s.qn == 1999,
	    "requests come out in order");
	bt_serve_free(&s);

	bt_serve_init(&s);
	s.fast = 1;
	bt_serve_unchoke(&s);
	for (i = 0; i < BT_SEED_MAX_QUEUE + 1; i++)
		bt_serve_request(&s, &t, 1, 0, 0, 16384, &v);
	T_STREQ(v.why, "queue full, more requests rejected",
	    "to a fast peer they are rejected");
	bt_serve_free(&s);

	/* Cancels, runs, choke. */
	bt_serve_init(&s);
	bt_serve_unchoke(&s);
	for (i = 0; i < 4; i++)
		bt_serve_request(&s, &t, 1, 2, i * 16384, 16384, &v);
	bt_serve_request(&s, &t, 1, 3, 0, 16384, &v);
	T_OK(bt_serve_cancel(&s, 2, 16384, 16384) == 1 && s.qn == 4,
	    "a cancel takes a queued request out");
	T_OK(bt_serve_cancel(&s, 2, 16384, 16384) == 0 && s.qn == 4,
	    "a cancel of nothing queued changes nothing");
	T_OK(bt_serve_next(&s, &r) && r.index == 2 && r.begin == 0,
	    "the first request");
	T_OK(bt_serve_run(&s, &r, 8, &bytes) == 0 && bytes == 16384,
	    "the cancelled block breaks the run");
	T_OK(bt_serve_next(&s, &r) && r.begin == 32768 &&
	    bt_serve_run(&s, &r, 8, &bytes) == 1 && bytes == 32768,
	    "two adjacent blocks are one run; the next piece is not");
	T_OK(bt_serve_run(&s, &r, 0, &bytes) == 0 && bytes == 16384,
	    "a run is bounded by max");
	bt_serve_choke(&s);
	for (n = 0; bt_serve_next(&s, &r); n++)
		;
	T_OK(s.choked && n == 2 && s.qn == 0,
	    "after a choke every queued request comes out to be rejected");
	bt_serve_free(&s);
	return t_done();
}
