/*
 * bt-peers' input: a tracker answer stream read as cmd/bt-peers.c reads
 * it, bt_bseq over a file descriptor (a memfd holding the input), each
 * value checked by bt_tracker_answer_parse, each peer formatted by
 * bt_peer_format. Checks: the values read are consecutive, back to back,
 * and cover the input when the stream ends cleanly; every peer line
 * reads back (bt_peer_parse) as the same address.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"
#include "fuzz.h"
#include "peerlist.h"
#include "tracker.h"

static int memfd = -1;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_tracker_answer a;
	struct bt_peer_addr back;
	struct bt_bseq q;
	struct bt_err e;
	size_t i, end = 0;
	char line[80];
	int r;

	if (memfd < 0 && (memfd = memfd_create("fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET) != 0)
		abort();
	bt_bseq_init(&q, memfd, BT_TRACKER_MAX_RECORD);
	while ((r = bt_bseq_next(&q, &e)) == 1) {
		FUZZ_ASSERT(q.consumed == end, "value at %zu, expected %zu",
		    q.consumed, end);
		FUZZ_ASSERT(memcmp(q.doc.buf, data + end, q.doc.node[0].len) ==
		    0, "value bytes");
		end += q.doc.node[0].len;
		if (bt_tracker_answer_parse(&q.doc, &a, BT_TRACKER_MAX_PEERS,
		    &e) == 0) {
			for (i = 0; i < a.peers.n; i++) {
				const struct bt_peer_addr *p =
				    &a.peers.peer[i];

				bt_peer_format(p, line, sizeof(line));
				FUZZ_ASSERT(bt_peer_parse(line, &back,
				    &e) == 0, "'%s': %s", line, e.msg);
				FUZZ_ASSERT(back.salen == p->salen &&
				    memcmp(&back.sa, &p->sa, p->salen) == 0,
				    "'%s' reads back differently", line);
			}
		}
		bt_tracker_answer_free(&a);
	}
	if (r == 0)
		FUZZ_ASSERT(end == size, "clean end at %zu of %zu", end, size);
	else
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "status %d: %s",
		    e.status, e.msg);
	bt_bseq_free(&q);
	return 0;
}
