/*
 * lib/tracker_udp: a UDP tracker's reply packet, as bt_udp_job
 * handles it: bt_udp_reply_parse for the action we asked, then for an
 * announce or a scrape the dict of bt_udp_answer_dict, decoded and
 * checked as the answer stream's reader will (bt_tracker_answer_parse)
 * and re-encoded with the context keys (bt_answer_encode).
 *
 * Input: byte 0 picks the action asked (connect, announce, scrape) and
 * IPv4 or IPv6 peers; the rest is the packet. The transaction id we
 * "sent" is 0x01020304.
 */
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "tracker.h"

#define TX	0x01020304u

static const uint8_t ih[BT_SHA1_LEN] = "0123456789abcdefghij";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_udp_reply r;
	struct bt_buf raw = { 0 }, out = { 0 };
	struct bt_bdoc d, d2;
	struct bt_tracker_answer a;
	struct bt_err e;
	const char *why = NULL;
	int action, v6, st;

	if (size < 1)
		return 0;
	action = data[0] % 3;
	v6 = (data[0] >> 2) & 1;
	data++;
	size--;
	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	memset(&a, 0, sizeof(a));
	st = bt_udp_reply_parse(data, size, action, TX, &r, &why, &e);
	if (st == 0) {
		FUZZ_ASSERT(why != NULL, "ignored without a reason");
		FUZZ_ASSERT(size < 8 || data[4] != 1 || data[5] != 2 ||
		    data[6] != 3 || data[7] != 4, "our reply ignored");
		return 0;
	}
	if (st < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR ||
		    e.status == BT_EX_UNAVAILABLE, "status %d", e.status);
		FUZZ_ASSERT(strlen(e.msg) < sizeof(e.msg), "message");
		return 0;
	}
	FUZZ_ASSERT(st == 1 && r.action == action, "action");
	if (action == BT_UDP_CONNECT)
		return 0;
	if (action == BT_UDP_ANNOUNCE)
		FUZZ_ASSERT(r.peers == data + 20 && r.peerslen == size - 20,
		    "peers span");
	FUZZ_ASSERT(bt_udp_answer_dict(&r, v6, &raw) == 0, "answer dict");
	FUZZ_ASSERT(bt_bdecode(&d, raw.p, raw.len, 0, &e) ==
	    (long long)raw.len, "answer dict is not bencode: %s", e.msg);
	FUZZ_ASSERT(bt_bdoc_strict(&d, &e) == 0, "keys: %s", e.msg);
	if (action == BT_UDP_ANNOUNCE) {
		size_t each = v6 ? 18 : 6;

		st = bt_tracker_answer_parse(&d, &a, BT_TRACKER_MAX_PEERS,
		    &e);
		if (st == 0)
			FUZZ_ASSERT(r.peerslen % each == 0 &&
			    a.peers.n <= r.peerslen / each &&
			    a.interval == r.interval &&
			    a.complete == r.seeders &&
			    a.incomplete == r.leechers, "answer read back");
		else
			FUZZ_ASSERT(e.status == BT_EX_DATAERR, "status %d",
			    e.status);
	}
	FUZZ_ASSERT(bt_answer_encode(&d, ih, "-", "udp://127.0.0.1:1/",
	    &out, &e) == 0, "encode: %s", e.msg);
	FUZZ_ASSERT(bt_bdecode(&d2, out.p, out.len, 0, &e) ==
	    (long long)out.len && bt_bdoc_strict(&d2, &e) == 0,
	    "stream answer: %s", e.msg);
	bt_tracker_answer_free(&a);
	bt_bdoc_free(&d);
	bt_bdoc_free(&d2);
	bt_buf_free(&raw);
	bt_buf_free(&out);
	return 0;
}
