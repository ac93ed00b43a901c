/*
 * lib/peerlist: bt_peerlist_read, as bt-fetch-piece reads the peer list,
 * over fmemopen of the input. Checks: no duplicate kept, the limit
 * respected, every kept peer formats to a line that bt_peer_parse reads
 * back to the same address, and the context read is well formed.
 */
#include <string.h>

#include "fuzz.h"
#include "peerlist.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_peerlist l;
	struct bt_peer_addr back;
	struct bt_err e;
	size_t max, dropped = 0, i, j;
	char line[80];
	FILE *f;

	if (size == 0)
		return 0;
	/* The first byte: a small limit (1-7) now and then, else none. */
	max = data[0] < 8 && data[0] > 0 ? data[0] : (size_t)-1;
	if ((f = fmemopen((void *)(uintptr_t)(data + 1), size - 1, "r")) ==
	    NULL)
		return 0;
	memset(&l, 0, sizeof(l));
	if (bt_peerlist_read(&l, f, max, &dropped, &e) == 0) {
		FUZZ_ASSERT(l.n <= max, "%zu peers over the limit", l.n);
		FUZZ_ASSERT(dropped == 0 || l.n == max, "dropped early");
		for (i = 0; i < l.n; i++) {
			bt_peer_format(&l.peer[i], line, sizeof(line));
			FUZZ_ASSERT(bt_peer_parse(line, &back, &e) == 0,
			    "'%s': %s", line, e.msg);
			FUZZ_ASSERT(back.salen == l.peer[i].salen &&
			    memcmp(&back.sa, &l.peer[i].sa, back.salen) == 0,
			    "'%s' reads back differently", line);
			for (j = 0; j < i; j++)
				FUZZ_ASSERT(l.peer[j].salen != back.salen ||
				    memcmp(&l.peer[j].sa, &back.sa,
				    back.salen) != 0, "duplicate kept");
		}
		if (l.torrent != NULL)
			FUZZ_ASSERT(strchr(l.torrent, '\n') == NULL,
			    "newline in the torrent path");
	} else
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "status %d: %s",
		    e.status, e.msg);
	bt_peerlist_free(&l);
	fclose(f);
	return 0;
}
