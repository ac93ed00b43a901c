/*
 * BEP 52 merkle trees: each file of a v2 torrent is hashed in blocks of
 * 16 KiB (the last one may be short), SHA-256 each; a node is the
 * SHA-256 of its two children; the leaves past the end of the file, up
 * to a power of two, are 32 zero bytes. The "pieces root" of a file is
 * the root of its tree; its piece layer is the layer where one hash
 * stands for one piece (piece length / 16 KiB leaves below each).
 *
 * Pure: no file, no allocation the caller does not free. Hashes are
 * BT_SHA256_LEN (32) bytes, laid end to end.
 */
#ifndef BT_MERKLE_H
#define BT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sha1.h"

#define BT_MERKLE_BLOCK	16384

/* Blocks (leaves) of a file of len bytes: ceil(len / 16 KiB). */
uint64_t bt_merkle_nblocks(int64_t len);

/*
 * The root of a subtree whose n leaves are given (n >= 1), padded with
 * pad (a 32-byte hash, the same for every missing leaf) to width leaves,
 * a power of two at least n. Returns 0, or -1 out of memory.
 */
int bt_merkle_root(const uint8_t *leaves, uint64_t n, uint64_t width,
    const uint8_t pad[BT_SHA256_LEN], uint8_t root[BT_SHA256_LEN]);

/* The hash of a subtree of width zero leaves (width a power of two):
   the pad of a piece layer when width is the leaves of a piece. */
void bt_merkle_pad(uint64_t width, uint8_t out[BT_SHA256_LEN]);

/* The hashes of the 16 KiB blocks of data[0..len) into out, end to end
   (ceil(len / 16 KiB) of them, the last block short); their count. */
uint64_t bt_merkle_leaves(const uint8_t *data, size_t len, uint8_t *out);

/* The smallest power of two at least n (n >= 1). */
uint64_t bt_merkle_width(uint64_t n);

/*
 * The piece-layer hash of the bytes of one piece of a file (len bytes,
 * at most piece_length): its blocks' hashes padded with zero leaves to
 * piece_length / 16 KiB. piece_length is a power of two, at least
 * 16 KiB.
 */
int bt_merkle_piece(const uint8_t *data, size_t len, int64_t piece_length,
    uint8_t out[BT_SHA256_LEN]);

/*
 * The pieces root of a file from its piece layer (npieces hashes; a file
 * of one piece or less has none: its root is its piece's hash padded to
 * its own blocks, see bt_merkle_file_root). Returns 0, or -1 out of memory.
 */
int bt_merkle_root_from_layer(const uint8_t *layer, uint64_t npieces,
    int64_t piece_length, uint8_t root[BT_SHA256_LEN]);

/*
 * Incremental: the pieces root of a whole file fed in order, in any
 * sizes, and its piece layer (npieces = ceil(len / piece_length) hashes:
 * into the caller's layer when not NULL). Memory: the layer and one
 * piece's leaves, whatever the file's size. A file of 0 bytes has no
 * root (v2 gives it no "pieces root").
 */
struct bt_merkle_file {
	int64_t piece_length, len, fed;
	uint64_t bpp;		/* leaves in a piece */
	uint64_t npieces, done;	/* pieces in the file, hashed so far */
	uint8_t *pleaves;	/* bpp * 32: the current piece's leaves */
	uint64_t npl;
	uint8_t *layer;		/* npieces * 32 */
	int own;		/* layer is ours to free */
	uint8_t root1[BT_SHA256_LEN];	/* the root of a one-piece file */
	uint8_t block[BT_MERKLE_BLOCK];
	size_t inblock;
};

/* 0, or -1 out of memory (or piece_length not a power of two >= 16 KiB). */
int bt_merkle_file_init(struct bt_merkle_file *m, int64_t len,
    int64_t piece_length, uint8_t *layer);
void bt_merkle_file_feed(struct bt_merkle_file *m, const void *p, size_t n);
/* Once len bytes are fed: the root, the layer filled. -1: not len bytes,
   a file of 0 bytes, or out of memory. */
int bt_merkle_file_root(struct bt_merkle_file *m, uint8_t root[BT_SHA256_LEN]);
void bt_merkle_file_free(struct bt_merkle_file *m);

#endif
