/*
 * Checking a piece's bytes against its torrent, whatever the version:
 * SHA-1 for a v1 torrent and for a hybrid (its v1 part, which every peer
 * of it can serve), the BEP 52 merkle hash for a v2-only one (lib/merkle,
 * per file: the bytes past a file's end in its last piece, the pad, are
 * not hashed). Every place that checks a piece goes through here.
 */
#ifndef BT_PHASH_H
#define BT_PHASH_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "metainfo.h"
#include "sha1.h"

struct bt_phash {
	const struct bt_torrent *t;
	uint32_t index;
	int v2;
	struct bt_sha1 sha1;
	int64_t fed, hashed;	/* bytes fed; v2: file bytes to hash */
	uint8_t *leaves;	/* v2: a hash per 16 KiB block */
	uint64_t nleaves;
	uint8_t block[BT_MERKLE_BLOCK];
	size_t inblock;
};

/* Start checking piece i of t: 0, or -1 out of memory. */
int bt_phash_init(struct bt_phash *h, const struct bt_torrent *t,
    uint32_t i);
/* The piece's bytes, in order (the pad of a v2 file's last piece may be
   fed or not: it is not hashed). */
void bt_phash_update(struct bt_phash *h, const void *p, size_t n);
/* 1: the piece is good, 0: it is not (or short), -1: out of memory. */
int bt_phash_final(struct bt_phash *h);

/* What a piece is checked by, for messages: "SHA-1" or "SHA-256". */
static inline const char *
bt_phash_name(const struct bt_torrent *t)
{
	return t->v2only ? "SHA-256" : "SHA-1";
}

/* The same for a piece whole in memory (len bytes from its start). */
int bt_piece_ok(const struct bt_torrent *t, uint32_t i, const void *data,
    size_t len);

#endif
