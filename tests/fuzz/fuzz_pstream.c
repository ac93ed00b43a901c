/*
 * lib/stream: the piece stream reader (bt_pstream_open, bt_pstream_next)
 * as bt-verify and bt-assemble use it, over a file descriptor (a memfd
 * holding the input). Checks: the torrent read first is the stream's
 * first value, byte for byte; every piece handed over has an index in
 * range and exactly that piece's size, and lies inside the input.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "metainfo.h"
#include "stream.h"

static int memfd = -1;

/* 1 if [p, p + n) lies inside [base, base + size). */
static int
inside(const void *p, size_t n, const void *base, size_t size)
{
	const char *q = p, *b = base;

	return q >= b && q <= b + size && n <= (size_t)(b + size - q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_pstream s;
	struct bt_err e;
	const uint8_t *piece;
	uint32_t index;
	uint64_t n = 0;
	size_t len;
	int r;

	if (memfd < 0 && (memfd = memfd_create("fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET) != 0)
		abort();
	if (bt_pstream_open(&s, memfd, &e) < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "open: status %d: %s",
		    e.status, e.msg);
		bt_pstream_close(&s);
		return 0;
	}
	FUZZ_ASSERT(s.t.rawlen <= size &&
	    memcmp(s.t.raw, data, s.t.rawlen) == 0,
	    "torrent is not the stream's first value");
	while ((r = bt_pstream_next(&s, &index, &piece, &len, &e)) == 1) {
		n++;
		FUZZ_ASSERT(index < s.t.npieces, "index %u of %u", index,
		    s.t.npieces);
		FUZZ_ASSERT((int64_t)len == bt_piece_size(&s.t, index),
		    "piece %u: %zu bytes", index, len);
		FUZZ_ASSERT(s.npiece == n, "piece count");
		/* The bytes handed over are the input's own bytes. */
		FUZZ_ASSERT(inside(piece, len, s.seq.buf, s.seq.len),
		    "piece outside the reader's buffer");
		FUZZ_ASSERT(s.seq.consumed + (size_t)(piece -
		    (const uint8_t *)s.seq.buf - s.seq.start) + len <= size &&
		    memcmp(piece, data + s.seq.consumed + (size_t)(piece -
		    (const uint8_t *)s.seq.buf - s.seq.start), len) == 0,
		    "piece bytes differ from the input");
	}
	if (r < 0)
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "next: status %d: %s",
		    e.status, e.msg);
	bt_pstream_close(&s);
	return 0;
}
