#include <stdlib.h>
#include <string.h>

#include "merkle.h"

static const uint8_t zero[BT_SHA256_LEN];

static void
pair(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
	uint8_t b[2 * BT_SHA256_LEN];

	memcpy(b, l, BT_SHA256_LEN);
	memcpy(b + BT_SHA256_LEN, r, BT_SHA256_LEN);
	bt_sha256(b, sizeof(b), out);
}

uint64_t
bt_merkle_nblocks(int64_t len)
{
	return len <= 0 ? 0 : ((uint64_t)len + BT_MERKLE_BLOCK - 1) /
	    BT_MERKLE_BLOCK;
}

uint64_t
bt_merkle_width(uint64_t n)
{
	uint64_t w = 1;

	while (w < n)
		w <<= 1;
	return w;
}

void
bt_merkle_pad(uint64_t width, uint8_t out[BT_SHA256_LEN])
{
	memcpy(out, zero, BT_SHA256_LEN);
	for (; width > 1; width >>= 1)
		pair(out, out, out);
}

int
bt_merkle_root(const uint8_t *leaves, uint64_t n, uint64_t width,
    const uint8_t pad[BT_SHA256_LEN], uint8_t root[BT_SHA256_LEN])
{
	uint8_t *v, p[BT_SHA256_LEN];
	uint64_t i;

	if (n == 0 || width < n)
		return -1;
	if ((v = malloc(n * BT_SHA256_LEN)) == NULL)
		return -1;
	memcpy(v, leaves, n * BT_SHA256_LEN);
	memcpy(p, pad, BT_SHA256_LEN);
	/* One layer up at a time; a node without a right sibling takes the
	   pad of its layer, which doubles at each step. */
	for (; width > 1; width >>= 1) {
		for (i = 0; i < n / 2; i++)
			pair(v + 2 * i * BT_SHA256_LEN,
			    v + (2 * i + 1) * BT_SHA256_LEN,
			    v + i * BT_SHA256_LEN);
		if (n & 1) {
			pair(v + (n - 1) * BT_SHA256_LEN, p,
			    v + (n / 2) * BT_SHA256_LEN);
			n = n / 2 + 1;
		} else
			n /= 2;
		pair(p, p, p);
	}
	memcpy(root, v, BT_SHA256_LEN);
	free(v);
	return 0;
}

static int
pow2_piece(int64_t piece_length)
{
	return piece_length >= BT_MERKLE_BLOCK &&
	    (piece_length & (piece_length - 1)) == 0;
}

uint64_t
bt_merkle_leaves(const uint8_t *data, size_t len, uint8_t *out)
{
	uint64_t k = 0;
	size_t off;

	for (off = 0; off < len; off += BT_MERKLE_BLOCK, k++)
		bt_sha256(data + off, len - off < BT_MERKLE_BLOCK ? len - off :
		    BT_MERKLE_BLOCK, out + k * BT_SHA256_LEN);
	return k;
}

int
bt_merkle_piece(const uint8_t *data, size_t len, int64_t piece_length,
    uint8_t out[BT_SHA256_LEN])
{
	uint64_t bpp, n;
	uint8_t *l;
	int r;

	if (!pow2_piece(piece_length) || len == 0 ||
	    (int64_t)len > piece_length)
		return -1;
	bpp = (uint64_t)piece_length / BT_MERKLE_BLOCK;
	if ((l = malloc(bpp * BT_SHA256_LEN)) == NULL)
		return -1;
	n = bt_merkle_leaves(data, len, l);
	r = bt_merkle_root(l, n, bpp, zero, out);
	free(l);
	return r;
}

int
bt_merkle_root_from_layer(const uint8_t *layer, uint64_t npieces,
    int64_t piece_length, uint8_t root[BT_SHA256_LEN])
{
	uint8_t pad[BT_SHA256_LEN];

	if (!pow2_piece(piece_length) || npieces == 0)
		return -1;
	/* A missing piece is a subtree of zero leaves. */
	bt_merkle_pad((uint64_t)piece_length / BT_MERKLE_BLOCK, pad);
	return bt_merkle_root(layer, npieces, bt_merkle_width(npieces), pad,
	    root);
}

int
bt_merkle_file_init(struct bt_merkle_file *m, int64_t len,
    int64_t piece_length, uint8_t *layer)
{
	memset(m, 0, sizeof(*m));
	if (!pow2_piece(piece_length) || len < 0)
		return -1;
	m->piece_length = piece_length;
	m->len = len;
	m->bpp = (uint64_t)piece_length / BT_MERKLE_BLOCK;
	m->npieces = len == 0 ? 0 : ((uint64_t)len + (uint64_t)piece_length -
	    1) / (uint64_t)piece_length;
	if ((m->pleaves = malloc(m->bpp * BT_SHA256_LEN)) == NULL)
		return -1;
	m->layer = layer;
	if (m->layer == NULL && m->npieces > 0) {
		if ((m->layer = malloc(m->npieces * BT_SHA256_LEN)) == NULL) {
			free(m->pleaves);
			m->pleaves = NULL;
			return -1;
		}
		m->own = 1;
	}
	return 0;
}

/* A block is whole (or the file's last): its leaf; a piece is whole (or
   the file's last): its layer hash. */
static void
leaf(struct bt_merkle_file *m)
{
	bt_sha256(m->block, m->inblock, m->pleaves + m->npl * BT_SHA256_LEN);
	m->npl++;
	m->inblock = 0;
	if (m->npl == m->bpp || m->fed == m->len) {
		static const uint8_t z[BT_SHA256_LEN];

		bt_merkle_root(m->pleaves, m->npl, m->bpp, z,
		    m->layer + m->done * BT_SHA256_LEN);
		/* A file of one piece or less: its tree is as wide as its
		   own blocks, not the piece (BEP 52). */
		if (m->npieces == 1)
			bt_merkle_root(m->pleaves, m->npl,
			    bt_merkle_width(m->npl), z, m->root1);
		m->done++;
		m->npl = 0;
	}
}

void
bt_merkle_file_feed(struct bt_merkle_file *m, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0 && m->fed < m->len) {
		size_t k = BT_MERKLE_BLOCK - m->inblock;

		if (k > n)
			k = n;
		if ((int64_t)k > m->len - m->fed)
			k = (size_t)(m->len - m->fed);
		memcpy(m->block + m->inblock, b, k);
		m->inblock += k;
		m->fed += (int64_t)k;
		b += k;
		n -= k;
		if (m->inblock == BT_MERKLE_BLOCK || m->fed == m->len)
			leaf(m);
	}
}

int
bt_merkle_file_root(struct bt_merkle_file *m, uint8_t root[BT_SHA256_LEN])
{
	if (m->len == 0 || m->fed != m->len || m->done != m->npieces)
		return -1;
	if (m->npieces > 1)
		return bt_merkle_root_from_layer(m->layer, m->npieces,
		    m->piece_length, root);
	/* One piece or less: kept as its last piece was hashed. */
	memcpy(root, m->root1, BT_SHA256_LEN);
	return 0;
}

void
bt_merkle_file_free(struct bt_merkle_file *m)
{
	free(m->pleaves);
	if (m->own)
		free(m->layer);
	m->pleaves = NULL;
	m->layer = NULL;
}
