/*
 * What an engine holds to serve (the store view both upload engines
 * read from, and the only thing they read from): a bitfield of the
 * pieces it may serve, and where their bytes are. A piece is held once
 * it passed SHA-1, in this run (its bytes then kept in a memory cache of
 * the recent pieces, while it has room) or in a folder of the data
 * (NAME, else NAME.part, read through lib/seed_data) whose copy is
 * checked again at its first read unless it was checked already: the
 * folder may change under us. bt-seed holds every piece of its folder
 * from the start; bt-fetch-piece holds what -C DIR has and what it
 * verifies.
 */
#ifndef BT_HELD_H
#define BT_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"

struct bt_sdata;

struct bt_held {
	const struct bt_torrent *t;
	uint8_t *have;		/* BEP 3 bitfield: the pieces we serve */
	uint32_t n;		/* pieces set in have */
	struct bt_sdata *data;	/* the folder, or NULL */
	uint8_t *checked;	/* the folder's copy passed SHA-1 */
	/* verified pieces in memory: a FIFO ring of ncache */
	uint8_t **cbuf;
	uint32_t *cidx;
	int32_t *cslot;		/* piece -> ring slot, or -1 */
	unsigned ncache, cnext;
};

/*
 * Nothing held. dir (or NULL): the folder, with fdcache descriptors kept
 * open; cache: bytes of verified pieces kept in memory (whole pieces).
 * BT_EX_NOINPUT when dir is not a folder, BT_EX_SOFTWARE out of memory.
 */
int bt_held_open(struct bt_held *h, const struct bt_torrent *t,
    const char *dir, int fdcache, size_t cache, struct bt_err *e);
void bt_held_close(struct bt_held *h);

static inline int
bt_held_has(const struct bt_held *h, uint32_t i)
{
	return i < h->t->npieces && (h->have[i >> 3] >> (7 - (i & 7)) & 1);
}

/* Hold piece i of the folder; checked: its SHA-1 was checked there. */
void bt_held_set(struct bt_held *h, uint32_t i, int checked);
/* Piece i passed SHA-1 in this run: hold it, a copy in the cache.
   Returns 1 when it was not held before. */
int bt_held_keep(struct bt_held *h, uint32_t i, const uint8_t *buf,
    size_t len);
/* Not held any more (its bytes went bad or missing). */
void bt_held_drop(struct bt_held *h, uint32_t i);

/*
 * len bytes at begin of held piece i into out: BT_SDATA_OK, or
 * BT_SDATA_MISSING (not in memory, no folder or no file there),
 * BT_SDATA_BAD (the folder's copy fails SHA-1), BT_SDATA_IOERR,
 * BT_SDATA_AGAIN (out of descriptors: try later). The folder's copy is
 * checked at its first read.
 */
int bt_held_read(struct bt_held *h, uint32_t i, uint32_t begin, size_t len,
    uint8_t *out);

/* Check piece i in the folder (BT_SDATA_*); when good it is held. */
int bt_held_check(struct bt_held *h, uint32_t i);

#endif
