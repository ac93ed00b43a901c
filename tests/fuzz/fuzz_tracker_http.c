/*
 * lib/tracker: what bt_tracker_announce does with an HTTP tracker's body
 * once libcurl has it (decode, check the answer, re-encode it with the
 * context keys for the tracker answer stream). decode_answer is static
 * in lib/tracker.c, so its two steps are called here as it calls them.
 * Checks: the re-encoded answer is strict bencode (keys sorted, once),
 * carries our context, reads back to the same peers and numbers, and
 * re-encoding it again changes nothing.
 */
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "tracker.h"

static const uint8_t ih[BT_SHA1_LEN] = "0123456789abcdefghij";
#define TORRENT	"some dir/f.torrent"
#define URL	"http://127.0.0.1:6969/announce"

static void
same_answer(const struct bt_tracker_answer *a,
    const struct bt_tracker_answer *b)
{
	size_t i;

	FUZZ_ASSERT(a->peers.n == b->peers.n, "peers %zu then %zu",
	    a->peers.n, b->peers.n);
	for (i = 0; i < a->peers.n; i++)
		FUZZ_ASSERT(a->peers.peer[i].salen == b->peers.peer[i].salen &&
		    memcmp(&a->peers.peer[i].sa, &b->peers.peer[i].sa,
		    a->peers.peer[i].salen) == 0, "peer %zu differs", i);
	FUZZ_ASSERT(a->dropped == b->dropped && a->named == b->named,
	    "dropped or named");
	FUZZ_ASSERT(a->interval == b->interval &&
	    a->min_interval == b->min_interval &&
	    a->complete == b->complete && a->incomplete == b->incomplete,
	    "numbers");
	FUZZ_ASSERT((a->warning == NULL) == (b->warning == NULL) &&
	    a->warning_len == b->warning_len && (a->warning == NULL ||
	    memcmp(a->warning, b->warning, a->warning_len) == 0), "warning");
}

/* Parse the stream answer in out; check the context keys. */
static void
reread(const struct bt_buf *out, struct bt_bdoc *d,
    struct bt_tracker_answer *a, size_t maxpeers)
{
	struct bt_err e;

	FUZZ_ASSERT(bt_bdecode(d, out->p, out->len, 0, &e) ==
	    (long long)out->len, "re-encoded answer: %s", e.msg);
	FUZZ_ASSERT(bt_bdoc_strict(d, &e) == 0, "not strict: %s", e.msg);
	FUZZ_ASSERT(bt_tracker_answer_parse(d, a, maxpeers, &e) == 0,
	    "re-encoded answer refused: %s", e.msg);
	FUZZ_ASSERT(a->has_info_hash &&
	    memcmp(a->info_hash, ih, BT_SHA1_LEN) == 0, "info hash");
	FUZZ_ASSERT(a->torrent_len == strlen(TORRENT) &&
	    memcmp(a->torrent, TORRENT, a->torrent_len) == 0, "torrent");
	FUZZ_ASSERT(a->tracker_len == strlen(URL) &&
	    memcmp(a->tracker, URL, a->tracker_len) == 0, "tracker");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_bdoc d, d2;
	struct bt_tracker_answer a, a2;
	struct bt_buf out = { 0 }, out2 = { 0 };
	struct bt_err e;
	size_t maxpeers = BT_TRACKER_MAX_PEERS;
	int r;

	/* A small peer limit now and then, to reach the dropping path. */
	if (size > 0 && data[0] == 'd' && size % 7 == 0)
		maxpeers = 3;
	memset(&a, 0, sizeof(a));
	memset(&d2, 0, sizeof(d2));
	if (bt_bdecode(&d, (const char *)data, size, 0, &e) < 0 ||
	    d.node[0].type != BT_BDICT)
		goto done;
	r = bt_tracker_answer_parse(&d, &a, maxpeers, &e);
	if (r < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR ||
		    e.status == BT_EX_UNAVAILABLE ||
		    e.status == BT_EX_SOFTWARE, "status %d", e.status);
		FUZZ_ASSERT(memchr(e.msg, '\0', sizeof(e.msg)) != NULL,
		    "message not terminated");
		goto done;
	}
	FUZZ_ASSERT(a.peers.n <= maxpeers, "more peers than the limit");
	FUZZ_ASSERT(bt_answer_encode(&d, ih, TORRENT, URL, &out, &e) == 0,
	    "encode: %s", e.msg);
	reread(&out, &d2, &a2, maxpeers);
	same_answer(&a, &a2);
	bt_tracker_answer_free(&a2);
	FUZZ_ASSERT(bt_answer_encode(&d2, ih, TORRENT, URL, &out2, &e) == 0,
	    "encode again: %s", e.msg);
	FUZZ_ASSERT(out2.len == out.len &&
	    memcmp(out.p, out2.p, out.len) == 0, "re-encoding not stable");
done:
	bt_tracker_answer_free(&a);
	bt_bdoc_free(&d);
	bt_bdoc_free(&d2);
	bt_buf_free(&out);
	bt_buf_free(&out2);
	return 0;
}
