#include <stdlib.h>
#include <string.h>

#include "phash.h"

int
bt_phash_init(struct bt_phash *h, const struct bt_torrent *t, uint32_t i)
{
	memset(h, 0, sizeof(*h));
	h->t = t;
	h->index = i;
	h->v2 = t->v2only;
	if (!h->v2)
		return bt_sha1_init(&h->sha1);
	h->hashed = bt_piece_size_v2(t, i);
	if (h->hashed <= 0)
		return 0;	/* out of range: final says bad */
	h->leaves = malloc(bt_merkle_nblocks(h->hashed) * BT_SHA256_LEN);
	return h->leaves == NULL ? -1 : 0;
}

static void
leaf(struct bt_phash *h)
{
	bt_sha256(h->block, h->inblock, h->leaves + h->nleaves *
	    BT_SHA256_LEN);
	h->nleaves++;
	h->inblock = 0;
}

void
bt_phash_update(struct bt_phash *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (!h->v2) {
		bt_sha1_update(&h->sha1, p, n);
		h->fed += (int64_t)n;
		return;
	}
	while (n > 0 && h->fed < h->hashed) {
		size_t k = BT_MERKLE_BLOCK - h->inblock;

		/* A whole block in place: hashed where it is, not copied. */
		if (h->inblock == 0 && n >= BT_MERKLE_BLOCK &&
		    h->hashed - h->fed >= BT_MERKLE_BLOCK) {
			bt_sha256(b, BT_MERKLE_BLOCK, h->leaves +
			    h->nleaves++ * BT_SHA256_LEN);
			h->fed += BT_MERKLE_BLOCK;
			b += BT_MERKLE_BLOCK;
			n -= BT_MERKLE_BLOCK;
			continue;
		}

		if (k > n)
			k = n;
		if ((int64_t)k > h->hashed - h->fed)
			k = (size_t)(h->hashed - h->fed);
		memcpy(h->block + h->inblock, b, k);
		h->inblock += k;
		h->fed += (int64_t)k;
		b += k;
		n -= k;
		if (h->inblock == BT_MERKLE_BLOCK || h->fed == h->hashed)
			leaf(h);
	}
}

int
bt_phash_final(struct bt_phash *h)
{
	static const uint8_t zero[BT_SHA256_LEN];
	const struct bt_torrent *t = h->t;
	uint8_t d[BT_SHA256_LEN];
	int r;

	if (!h->v2) {
		bt_sha1_final(&h->sha1, d);
		return h->fed == bt_piece_size(t, h->index) &&
		    memcmp(d, bt_piece_hash(t, h->index), BT_SHA1_LEN) == 0;
	}
	if (h->hashed <= 0 || h->fed != h->hashed) {
		free(h->leaves);
		h->leaves = NULL;
		return 0;
	}
	r = bt_merkle_root(h->leaves, h->nleaves, bt_piece_width_v2(t,
	    h->index), zero, d);
	free(h->leaves);
	h->leaves = NULL;
	if (r < 0)
		return -1;
	return memcmp(d, bt_piece_hash_v2(t, h->index), BT_SHA256_LEN) == 0;
}

/* In memory, each way in one pass over the bytes (the engine's hasher
   runs this on every piece): no copy through the block buffer. */
int
bt_piece_ok(const struct bt_torrent *t, uint32_t i, const void *data,
    size_t len)
{
	uint8_t d[BT_SHA1_LEN];
	int64_t n;

	if (i >= t->npieces)
		return 0;
	if (!t->v2only) {
		if ((int64_t)len != bt_piece_size(t, i))
			return 0;
		bt_sha1(data, len, d);
		return memcmp(d, bt_piece_hash(t, i), BT_SHA1_LEN) == 0;
	}
	/* The pad after a file's end is not hashed (BEP 52). */
	n = bt_piece_size_v2(t, i);
	if (n <= 0 || (int64_t)len < n)
		return 0;
	return bt_piece_check_v2(t, i, data, (size_t)n);
}
