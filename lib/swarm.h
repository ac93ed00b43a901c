/*
 * The download engine: one thread, non-blocking sockets in one epoll loop,
 * many peers at once, a request pipeline per peer sized by its rate,
 * rarest-first piece choice (or lowest index first), endgame with
 * cancels, SHA-1 of every piece before it is handed over, and memory
 * bounded by the pieces in flight (BT_SWARM_MAX_INFLIGHT), never by the
 * torrent. Blocks are received straight into their piece's buffer.
 *
 * The engine never prints: pieces go to on_piece, events about peers to
 * on_log, figures to on_progress.
 *
 * It also uploads (lib/swarm_upload.c) unless told not to: it listens for
 * peers that dial in (they join the same peer table and connection cap),
 * tells every peer the pieces it holds verified (bitfield, have as each
 * piece passes SHA-1), and serves requests for them, from the recent
 * verified pieces it keeps in memory (BT_SWARM_UP_CACHE) or from a
 * folder of the torrent's data (dir), never from bytes still in flight.
 * One choker (lib/choker) decides whom it serves: tit-for-tat by their
 * rate to us while it downloads, by ours to them once complete.
 *
 * Besides BEP 3 it speaks, with peers that set the same handshake bits:
 * the fast extension (BEP 6: have all and have none, reject, allowed
 * fast, suggest; a request to us is rejected), the extension protocol
 * (BEP 10: its handshake, "reqq" capping our pipeline to the peer) and
 * peer exchange over it (BEP 11 ut_pex: peers learned are dialled,
 * BT_PEX_MAX_PEERS at most in a run, and told to on_pex).
 */
#ifndef BT_SWARM_H
#define BT_SWARM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"
#include "peerlist.h"
#include "seed.h"

struct bt_swarm_stats {
	uint32_t wanted;	/* pieces asked for */
	uint32_t done;		/* of them, verified and handed over */
	uint64_t bytes;		/* block bytes received (all peers) */
	double rate;		/* bytes per second, recent */
	long long elapsed_ms;
	unsigned peers;		/* connected and past the handshake */
	unsigned tried;		/* peers we tried to connect to */
	unsigned served;	/* peers that gave at least one good block */
	unsigned dropped;	/* for misbehaviour (see on_log) */
	unsigned hashfails;	/* pieces that failed their SHA-1 */
	unsigned timedout;	/* peers closed at a connect, handshake or
				   idle timeout */
	unsigned learned;	/* peers learned through PEX and queued */
	uint16_t port;		/* listened on (0: not listening) */
	uint32_t held;		/* pieces found good in dir at the start */
	unsigned incoming;	/* connections accepted */
	unsigned uploaded_to;	/* peers that got at least one block */
	uint64_t uploaded;	/* block bytes sent */
	uint64_t blocks;	/* blocks sent */
	uint64_t handshakes;	/* peers past the handshake, in all */
	uint64_t refused;	/* connections refused (limits, descriptors) */
	uint32_t bad;		/* held pieces found bad or missing */
	unsigned announces, announce_errors;	/* the seeding role's */
};

/* Levels of on_log messages. */
enum {
	BT_LOG_BAD = 1,		/* a peer misbehaved and was dropped */
	BT_LOG_INFO = 2,	/* connection failures, ordinary closes */
	BT_LOG_LIMIT = 1,	/* a limit of the engine reached (once) */
};

struct bt_swarm_conf {
	const struct bt_torrent *t;
	/* Bitfield (BEP 3 order) of the pieces to fetch; NULL: all. */
	const uint8_t *want;
	/* Hand pieces over in index order (else in order of completion). */
	int sequential;
	/* Timeouts in ms; 0 means the BT_SWARM_*_MS default. */
	int connect_ms, handshake_ms, idle_ms, snub_ms;
	/* Give up after this many ms (0: never); the error is TEMPFAIL. */
	long long timeout_ms;
	/* Bytes of pieces in flight; 0 means BT_SWARM_MAX_INFLIGHT. */
	long inflight;
	/*
	 * Each verified piece, once. A non-zero return stops the run; e is
	 * then the error bt_swarm_run returns.
	 */
	int (*on_piece)(void *arg, uint32_t index, const uint8_t *data,
	    size_t len, struct bt_err *e);
	/* "ADDRESS PORT: what happened" about one peer. */
	void (*on_log)(void *arg, int level, const char *msg);
	/* About once a second. */
	void (*on_progress)(void *arg, const struct bt_swarm_stats *s);
	/*
	 * Each peer learned through PEX (BEP 11) when it is queued to be
	 * dialled, with its BT_PEX_* flags (lib/ext.h); may be NULL.
	 */
	void (*on_pex)(void *arg, const struct bt_peer_addr *a,
	    unsigned flags);
	/*
	 * The upload side: listen on port (0: one the kernel chooses) and
	 * serve, unless no_upload. dir (or NULL): a folder of the data, as
	 * bt-assemble writes it; pieces found good there at the start are
	 * held, not fetched, and served (a piece is read from NAME, else
	 * NAME.part, and its SHA-1 checked at its first read). slots: regular
	 * unchoke slots (0: BT_CHOKE_SLOTS). linger_ms: once every wanted
	 * piece is in, keep serving while a peer is interested in us, this
	 * long at most; and, while listening, no peer left is not an error
	 * before this long from the start (peers may still dial in).
	 */
	int no_upload;
	uint16_t port;
	const char *dir;
	int slots;
	long long linger_ms;
	/*
	 * Token buckets, bytes a second (0: no limit), each holding about a
	 * tenth of a second's worth: upload_rate for the blocks we serve
	 * (no new block while it is empty), download_rate for every byte
	 * read from peers once past the handshake (their sockets are not
	 * read while it is empty; requests stay pipelined).
	 */
	int64_t upload_rate, download_rate;
	/*
	 * Web seeds (BEP 19, lib/webseed): URLs used beside the peers, the
	 * first BT_WEBSEED_MAX of them, each one piece at a time from the
	 * end of the wanted pieces (the start when sequential), so that
	 * peers and web seeds seldom want the same piece. A piece a web
	 * seed fetches is its alone until it is done; a web seed whose
	 * piece fails its SHA-1 is banned at once (it serves other bytes
	 * than the torrent's); one whose fetch fails is tried again
	 * after a back-off, and dropped after BT_WEBSEED_RETRIES failures.
	 * connect_ms bounds its connects, idle_ms the wait for its bytes.
	 * Messages about one are "URL: what happened".
	 */
	const char *const *webseeds;
	size_t nwebseeds;
	/*
	 * The seeding role (bt-seed), when not NULL: nothing is fetched;
	 * the pieces of dir are held (checked at the start by
	 * seed->nthreads threads when seed->verify, else each at its first
	 * read); the engine listens on seed->bind (NULL: every address) and
	 * seed->port, dials seed->dial and the lines of seed->peer_fd as
	 * they come, announces to seed->trackers on a thread of its own,
	 * and runs until *seed->stop is set or seed->exit_after passes.
	 * A seeder's limits apply: BT_SEED_MAX_CONNS connections (fewer
	 * under a low RLIMIT_NOFILE), BT_SEED_CONNECT_MS and
	 * BT_SEED_HANDSHAKE_MS (shortened by seed->idle_ms), and a peer
	 * silent, not interested or not reading for seed->idle_ms is cut.
	 * Its lines go to on_log; want, sequential, the timeouts, port,
	 * slots, linger_ms and upload_rate above are not read.
	 */
	const struct bt_seed_opts *seed;
	/* Told the port once listening (may be NULL). */
	void (*on_listen)(void *arg, uint16_t port);
	void *arg;
};

/*
 * Download the wanted pieces from these peers. 0 when every one arrived;
 * -1 with e: BT_EX_UNAVAILABLE when no usable peer is left (the message
 * says how many pieces are missing), BT_EX_TEMPFAIL at the timeout,
 * BT_EX_SOFTWARE out of memory, or on_piece's error. st (if not NULL)
 * holds the figures either way.
 */
int bt_swarm_run(const struct bt_swarm_conf *c,
    const struct bt_peer_addr *peers, size_t npeers,
    struct bt_swarm_stats *st, struct bt_err *e);

#endif
