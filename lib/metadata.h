/*
 * Metadata exchange (BEP 9 over BEP 10): fetch a torrent's info dict from
 * peers, knowing only its info hash, as bt-fetch-metadata does. One
 * thread, non-blocking sockets in one poll loop, at most
 * BT_METADATA_MAX_CONNS peers at once. Each peer assembles its own copy
 * (struct bt_md_asm), so that a wrong piece or a wrong SHA-1 bans exactly
 * the peer that sent it; the first copy whose SHA-1 is the info hash and
 * which is one bencoded dict ends the run.
 *
 * The engine never prints: events about peers go to on_log.
 */
#ifndef BT_METADATA_H
#define BT_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ext.h"
#include "peerlist.h"
#include "sha1.h"

/*
 * The metadata of one peer being assembled: size bytes in pieces of
 * BT_METADATA_PIECE (the last one shorter).
 */
struct bt_md_asm {
	int64_t size;
	uint32_t npieces, ndone;
	uint8_t *buf;		/* size bytes */
	uint8_t *have;		/* one byte a piece: 1 once stored */
};

/* Room for metadata of size bytes (1 .. BT_METADATA_MAX_BYTES). */
int bt_md_asm_init(struct bt_md_asm *a, int64_t size, struct bt_err *e);
/*
 * Store a data message (BT_MD_DATA, as bt_md_parse gave it). Returns 1
 * if the piece was new, 0 if already held (its bytes ignored), -1
 * (BT_EX_DATAERR) when the peer is at fault: a piece out of range, of the
 * wrong length, or a total_size other than the size being assembled.
 */
int bt_md_asm_add(struct bt_md_asm *a, const struct bt_md_msg *m,
    struct bt_err *e);
/* 1 once every piece is in. */
int bt_md_asm_complete(const struct bt_md_asm *a);
/*
 * Check whole metadata: its SHA-1 is info_hash and it is one bencoded
 * dict with nothing after it. -1 (BT_EX_DATAERR) naming which failed.
 */
int bt_md_check(const uint8_t *p, size_t n,
    const uint8_t info_hash[BT_SHA1_LEN], struct bt_err *e);
void bt_md_asm_free(struct bt_md_asm *a);

/* Levels of on_log messages. */
enum {
	BT_MD_LOG_BAD = 1,	/* a peer misbehaved: banned or dropped */
	BT_MD_LOG_INFO = 2,	/* connects, timeouts, peers given up */
};

struct bt_metadata_conf {
	uint8_t info_hash[BT_SHA1_LEN];
	/* Timeouts in ms; 0 means the default (BT_SWARM_CONNECT_MS,
	   BT_SWARM_HANDSHAKE_MS, BT_METADATA_IDLE_MS). */
	int connect_ms, handshake_ms, idle_ms;
	/* Give up after this many ms (0: never); the error is TEMPFAIL. */
	long long timeout_ms;
	/* "ADDRESS PORT: what happened" about one peer. */
	void (*on_log)(void *arg, int level, const char *msg);
	void *arg;
};

struct bt_metadata_stats {
	unsigned tried;		/* peers we tried to connect to */
	unsigned banned;	/* for wrong metadata (see on_log) */
	unsigned timedout;	/* at a connect, handshake or idle timeout */
	long long elapsed_ms;
	char from[64];		/* "ADDRESS PORT" of the peer that gave it */
};

/*
 * Fetch the metadata (the raw info dict) from these peers, each tried
 * once. 0 with *info (malloc'd, *len bytes; its SHA-1 is the info
 * hash); -1 with e: BT_EX_UNAVAILABLE when no peer is left (the message
 * says how many were tried and banned), BT_EX_TEMPFAIL at the timeout,
 * BT_EX_SOFTWARE out of memory. st (if not NULL) holds the figures
 * either way.
 */
int bt_metadata_fetch(const struct bt_metadata_conf *c,
    const struct bt_peer_addr *peers, size_t npeers, uint8_t **info,
    size_t *len, struct bt_metadata_stats *st, struct bt_err *e);

#endif
