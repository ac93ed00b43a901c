/*
 * The upload engine of bt-seed: one non-blocking event loop (epoll) that
 * serves the pieces a folder holds to any number of peers (BEP 3 peer
 * wire), with a choker (regular slots by upload rate, re-chosen every
 * 10 s, and an optimistic unchoke rotated every 30 s), bounds checks on
 * every request, an upload rate limit, and announces to trackers
 * (started, periodic, stopped) on a thread of their own so that a slow
 * tracker never stalls the peers.
 *
 * Memory is bounded whatever the torrent's size: per peer a few hundred
 * bytes and its request queue; a send buffer of BT_SEED_BATCH blocks only
 * while it is unchoked; one buffer for checking a piece.
 */
#ifndef BT_SEED_H
#define BT_SEED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"
#include "peerlist.h"

struct bt_seed_opts {
	const char *bind;	/* address to listen on; NULL: all (v4, v6) */
	uint16_t port;		/* 0: let the kernel choose */
	int slots;		/* regular unchoke slots */
	int64_t rate;		/* upload limit, bytes a second; 0: none */
	int verify;		/* check all data at start (else each piece
				   at its first read) */
	int nthreads;		/* threads for the check at start */
	int idle_ms;		/* drop a silent or uninterested peer, or
				   one that reads nothing; under 10 s it
				   shortens the handshake and connect
				   waits too */
	double exit_after;	/* seconds; 0: run until *stop */
	const char *const *trackers;	/* announce to these */
	size_t ntrackers;
	double tracker_timeout;	/* seconds (bt_tracker_opts) */
	const char *torrent_path;	/* as given, for the tracker context */
	const struct bt_peerlist *dial;	/* peers to dial, or NULL */
	/*
	 * A pipe or socket carrying a peer list (bt(7)), read as it comes,
	 * each peer dialed as its line arrives; -1 for none. Malformed
	 * lines are logged and skipped.
	 */
	int peer_fd;
	/* ut_pex (BEP 11): ms between our messages to a peer; 0: the
	   default, BT_SEED_PEX_INTERVAL_MS. */
	int pex_ms;
	volatile sig_atomic_t *stop;	/* set by a signal handler */
	/* One line for people (-v), without a newline; may be called from
	   the announce thread. NULL: none. */
	void (*log)(void *arg, const char *line);
	void *logarg;
};

struct bt_seed_stats {
	uint16_t port;		/* the port listened on */
	uint32_t npieces, have;	/* pieces served at the end */
	uint32_t bad;		/* pieces found bad or missing */
	uint64_t peers;		/* handshakes completed */
	uint64_t served;	/* peers that got at least one block */
	uint64_t blocks, uploaded;	/* blocks and their bytes sent */
	uint64_t refused;	/* connections refused (limit, descriptors) */
	uint64_t dropped;	/* peers cut off for misbehaving */
	unsigned announces, announce_errors;
	double seconds;
};

/*
 * Serve t's data under dir until *o->stop is set or o->exit_after
 * passes. Returns 0 (a clean stop), or -1: BT_EX_UNAVAILABLE when it
 * cannot listen, BT_EX_NOINPUT when dir is not a folder, BT_EX_IOERR on
 * a read error of the check at start, BT_EX_SOFTWARE out of memory.
 * st is filled in both cases.
 */
int bt_seed_run(const struct bt_torrent *t, const char *dir,
    const struct bt_seed_opts *o, struct bt_seed_stats *st,
    struct bt_err *e);

#endif
