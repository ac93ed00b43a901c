/*
 * lib/merkle: BEP 52 roots and piece layers, checked against a tree
 * built the plain way here (every leaf of a power-of-two width, zeros
 * past the end, one layer up at a time), for files around the sizes
 * where the rules change: under a block, a block, under a piece, a
 * piece, more pieces, and feeds cut at odd places.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "t.h"

#define H BT_SHA256_LEN

/* The root of the file's whole tree, the plain way. */
static void
plain_root(const uint8_t *d, size_t len, uint64_t width, uint8_t out[H])
{
	uint8_t *v = calloc(width, H), b[2 * H];
	uint64_t i, n = width;
	size_t off;

	for (i = 0, off = 0; off < len; off += BT_MERKLE_BLOCK, i++)
		bt_sha256(d + off, len - off < BT_MERKLE_BLOCK ? len - off :
		    BT_MERKLE_BLOCK, v + i * H);
	for (; n > 1; n /= 2)
		for (i = 0; i < n / 2; i++) {
			memcpy(b, v + 2 * i * H, 2 * H);
			bt_sha256(b, sizeof(b), v + i * H);
		}
	memcpy(out, v, H);
	free(v);
}

int
main(void)
{
	static const int64_t plens[] = { 16384, 32768, 65536 };
	static const size_t lens[] = { 1, 16383, 16384, 16385, 32767, 32768,
	    32769, 65536, 65537, 100000, 200000, 262144, 300001 };
	uint8_t *d, root[H], want[H], pad[H], z[H] = { 0 }, zz[2 * H];
	size_t i, j, maxlen = 300001;
	int ok;

	d = malloc(maxlen);
	for (i = 0; i < maxlen; i++)
		d[i] = (uint8_t)(i * 2654435761u >> 13);
	bt_merkle_pad(1, pad);
	T_OK(memcmp(pad, z, H) == 0, "the pad of one leaf is 32 zero bytes");
	bt_merkle_pad(2, pad);
	bt_sha256(zz, 0, want);
	memset(zz, 0, sizeof(zz));
	bt_sha256(zz, sizeof(zz), want);
	T_OK(memcmp(pad, want, H) == 0, "the pad of two leaves is "
	    "SHA-256 of 64 zero bytes");
	T_OK(bt_merkle_width(1) == 1 && bt_merkle_width(5) == 8 &&
	    bt_merkle_width(8) == 8, "widths are powers of two");
	T_OK(bt_merkle_nblocks(0) == 0 && bt_merkle_nblocks(16384) == 1 &&
	    bt_merkle_nblocks(16385) == 2, "blocks of 16 KiB, the last short");
	for (j = 0; j < sizeof(plens) / sizeof(plens[0]); j++)
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct bt_merkle_file m;
			size_t len = lens[i], off = 0, step = 7919;
			uint64_t np = (len + (size_t)plens[j] - 1) / (size_t)plens[j];
			uint8_t *layer = malloc(np * H), ph[H];
			uint64_t k;

			plain_root(d, len, bt_merkle_width(
			    bt_merkle_nblocks((int64_t)len)), want);
			ok = bt_merkle_file_init(&m, (int64_t)len, plens[j],
			    layer) == 0;
			/* Fed in pieces of an odd size. */
			while (ok && off < len) {
				size_t n = len - off < step ? len - off : step;

				bt_merkle_file_feed(&m, d + off, n);
				off += n;
			}
			ok = ok && bt_merkle_file_root(&m, root) == 0;
			bt_merkle_file_free(&m);
			T_OK(ok && memcmp(root, want, H) == 0, "root of %zu "
			    "bytes in pieces of %lld", len,
			    (long long)plens[j]);
			/* Each layer hash is its piece's, zero-padded to the
			   piece; the root comes back from the layer. */
			for (k = 0, ok = 1; k < np; k++) {
				size_t po = (size_t)k * (size_t)plens[j];
				size_t pl = len - po < (size_t)plens[j] ?
				    len - po : (size_t)plens[j];

				ok &= bt_merkle_piece(d + po, pl, plens[j],
				    ph) == 0 && memcmp(ph, layer + k * H,
				    H) == 0;
			}
			if (np > 1)
				ok &= bt_merkle_root_from_layer(layer, np,
				    plens[j], ph) == 0 &&
				    memcmp(ph, want, H) == 0;
			T_OK(ok, "layer of %zu bytes in pieces of %lld (%llu "
			    "pieces)", len, (long long)plens[j],
			    (unsigned long long)np);
			free(layer);
		}
	{
		struct bt_merkle_file m;

		T_OK(bt_merkle_file_init(&m, 0, 16384, NULL) == 0 &&
		    bt_merkle_file_root(&m, root) < 0, "a file of 0 bytes "
		    "has no root");
		bt_merkle_file_free(&m);
		T_OK(bt_merkle_file_init(&m, 10, 20000, NULL) < 0,
		    "a piece length not a power of two is refused");
		T_OK(bt_merkle_file_init(&m, 10, 8192, NULL) < 0,
		    "a piece length under 16 KiB is refused");
		T_OK(bt_merkle_file_init(&m, 40000, 16384, NULL) == 0,
		    "a file fed short...");
		bt_merkle_file_feed(&m, d, 39999);
		T_OK(bt_merkle_file_root(&m, root) < 0, "...has no root");
		bt_merkle_file_free(&m);
	}
	free(d);
	return t_done();
}
