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
	uint64_t width;
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
	/*
	 * A file longer than a piece: the piece's subtree, as wide as a
	 * piece; one of a piece or less: its whole tree, as wide as its own
	 * blocks (BEP 52).
	 */
	if (t->files[t->v2file[h->index]].length > t->piece_length)
		width = (uint64_t)t->piece_length / BT_MERKLE_BLOCK;
	else
		width = bt_merkle_width(h->nleaves);
	r = bt_merkle_root(h->leaves, h->nleaves, width, zero, d);
	free(h->leaves);
	h->leaves = NULL;
	if (r < 0)
		return -1;
	return memcmp(d, bt_piece_hash_v2(t, h->index), BT_SHA256_LEN) == 0;
}

int
bt_piece_ok(const struct bt_torrent *t, uint32_t i, const void *data,
    size_t len)
{
	struct bt_phash h;

	if (i >= t->npieces)
		return 0;
	if (bt_phash_init(&h, t, i) < 0)
		return -1;
	bt_phash_update(&h, data, len);
	return bt_phash_final(&h);
}
