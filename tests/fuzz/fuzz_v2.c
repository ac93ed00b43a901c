/*
 * lib/metainfo, BEP 52: bt_torrent_parse on any bytes; when the result
 * is a v2 or hybrid torrent, the promises the layout makes must hold:
 * both info hashes are over the info bytes, every file of more than 0
 * bytes starts a piece and has a pieces root, pads only fill to the next
 * piece, every piece belongs to one such file, and its v2 hash is there.
 */
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "merkle.h"
#include "metainfo.h"

/* Pieces larger than this are not hashed here: the fuzzer stays fast. */
#define CHECK_MAX	(256 * 1024)

static void
check_layout(const struct bt_torrent *t)
{
	int64_t pl = t->piece_length, off = 0;
	size_t i;

	for (i = 0; i < t->nfiles; i++) {
		const struct bt_file *f = &t->files[i];

		FUZZ_ASSERT(f->path != NULL && f->length >= 0, "file %zu", i);
		FUZZ_ASSERT(f->offset == off, "file %zu at %lld, expected %lld",
		    i, (long long)f->offset, (long long)off);
		if (f->pad) {
			FUZZ_ASSERT(f->root == NULL, "pad %zu has a root", i);
			if (t->v2only)
				FUZZ_ASSERT(f->length > 0 && f->length < pl &&
				    (f->offset + f->length) % pl == 0,
				    "pad %zu does not end a piece", i);
		} else if (f->length > 0) {
			FUZZ_ASSERT(f->offset % pl == 0,
			    "file %zu does not start a piece", i);
			FUZZ_ASSERT(f->root != NULL, "file %zu has no root", i);
		} else {
			FUZZ_ASSERT(f->root == NULL, "empty file %zu root", i);
		}
		off += f->length;
	}
	FUZZ_ASSERT(off == t->total_length, "files sum to %lld, total %lld",
	    (long long)off, (long long)t->total_length);
	if (t->v2only)
		FUZZ_ASSERT(t->total_length == (int64_t)t->npieces * pl,
		    "v2-only pieces are all whole");
}

static void
check_pieces(const struct bt_torrent *t)
{
	static uint8_t zero[CHECK_MAX];
	int64_t pl = t->piece_length;
	uint32_t k;

	FUZZ_ASSERT(t->v2hashes != NULL && t->v2file != NULL, "v2 arrays");
	for (k = 0; k < t->npieces; k++) {
		const struct bt_file *f;
		int64_t start = (int64_t)k * pl, n;

		FUZZ_ASSERT(t->v2file[k] < t->nfiles, "piece %u file", k);
		f = &t->files[t->v2file[k]];
		FUZZ_ASSERT(!f->pad && f->length > 0 && f->offset <= start &&
		    start < f->offset + f->length, "piece %u not in its file",
		    k);
		n = bt_piece_size_v2(t, k);
		FUZZ_ASSERT(n > 0 && n <= pl && n <= bt_piece_size(t, k),
		    "piece %u v2 size %lld", k, (long long)n);
		if (f->length <= pl)
			FUZZ_ASSERT(memcmp(bt_piece_hash_v2(t, k), f->root,
			    BT_SHA256_LEN) == 0, "piece %u: not its root", k);
	}
	FUZZ_ASSERT(bt_piece_size_v2(t, t->npieces) == 0, "past the end");
	/* Any answer but a crash; the hash of zeros is almost never good. */
	if (bt_piece_size_v2(t, 0) <= CHECK_MAX)
		(void)bt_piece_check_v2(t, 0, zero,
		    (size_t)bt_piece_size_v2(t, 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_torrent t;
	struct bt_err e;
	uint8_t h[BT_SHA256_LEN];
	char *copy;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (bt_torrent_parse(&t, copy, size, &e) < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR ||
		    e.status == BT_EX_SOFTWARE, "status %d", e.status);
		bt_torrent_free(&t);
		return 0;
	}
	FUZZ_ASSERT(t.npieces > 0 && t.npieces <= BT_MAX_PIECES, "npieces");
	FUZZ_ASSERT(t.total_length > 0 && (t.total_length - 1) /
	    t.piece_length + 1 == t.npieces, "piece count");
	FUZZ_ASSERT(t.nfiles > 0, "no files");
	if (!t.v2) {
		FUZZ_ASSERT(!t.v2only && !t.hybrid && t.v2hashes == NULL &&
		    t.pieces != NULL, "v1 flags");
		bt_torrent_free(&t);
		return 0;
	}
	FUZZ_ASSERT(t.v2only != t.hybrid, "v2only or hybrid");
	FUZZ_ASSERT(t.piece_length >= BT_MERKLE_BLOCK &&
	    (t.piece_length & (t.piece_length - 1)) == 0, "piece length");
	bt_sha256(t.raw + t.info_off, t.info_len, h);
	FUZZ_ASSERT(memcmp(h, t.info_hash_v2, BT_SHA256_LEN) == 0,
	    "v2 info hash");
	if (t.v2only) {
		FUZZ_ASSERT(t.pieces == NULL, "v2-only has v1 pieces");
		FUZZ_ASSERT(memcmp(h, t.info_hash, BT_SHA1_LEN) == 0,
		    "v2-only info hash is not the cut v2 one");
	} else {
		bt_sha1(t.raw + t.info_off, t.info_len, h);
		FUZZ_ASSERT(memcmp(h, t.info_hash, BT_SHA1_LEN) == 0,
		    "hybrid info hash is not the SHA-1");
	}
	check_layout(&t);
	check_pieces(&t);
	bt_torrent_free(&t);
	return 0;
}
