/*
 * Inside lib/swarm, the one engine of bt-fetch-piece and bt-seed: its
 * peers, pieces and state, shared by the swarm (swarm.c), the connection
 * (conn.c), the download role (picker.c, webseed_use.c), the upload role
 * (swarm_upload.c) and peer exchange (pex.c). Not for cmd/.
 */
#ifndef BT_SWARM_INT_H
#define BT_SWARM_INT_H

#include <pthread.h>
#include <stdint.h>

#include "bencode.h"
#include "btlimits.h"
#include "choker.h"
#include "held.h"
#include "seed_int.h"
#include "serve.h"
#include "swarm.h"
#include "webseed.h"
#include "wire.h"

/* Peers requesting one block at once in endgame. */
#define ENDGAME_MAX_REQ	3
/* Request slots per peer: live ones plus cancelled ones still in flight. */
#define QCAP		(2 * BT_SWARM_MAX_QUEUE)
/* Pipeline depth before the first rate estimate. */
#define QUEUE_START	64
/* Bytes read from one peer per wakeup, so one fast peer cannot starve. */
#define READ_BUDGET	(1024 * 1024)
/* Small-message buffer; a piece's header is followed by its block. */
#define HBUF		32
/* Out buffer: a full pipeline of requests and cancels, and a little. */
#define OUTCAP		(QCAP * 17 + 256)
/* Rate buckets hold a tenth of a second's worth (and a block at least). */
#define RATE_BURST(r)	((double)(r) / 10 > BT_BLOCK_LEN + 13 ? \
			    (double)(r) / 10 : (double)(BT_BLOCK_LEN + 13))
/* Pieces active at once, whatever the piece length. */
#define MAX_ACTIVE	4096
#define NO_PIECE	0xffff

enum peer_state {
	PS_WAITING,		/* not tried yet */
	PS_CONNECTING,
	PS_HANDSHAKE,		/* ours sent, theirs arriving */
	PS_PARKED,		/* handshake done, waiting for a free slot */
	PS_ACTIVE,
	PS_CLOSED,
};

enum { R_HEAD, R_BODY };
enum { BODY_SKIP, BODY_BLOCK, BODY_BITFIELD, BODY_EXT };
enum { Q_LIVE, Q_CANCELLED, Q_DONE };
enum { B_FREE, B_REQ, B_RECV, B_DONE };
enum { P_SKIP, P_WANTED, P_ACTIVE, P_DONE };

struct req {
	uint32_t index, begin, len;
	uint8_t st;
};

struct piece {
	uint32_t index, len, nblocks;
	uint8_t *buf;
	uint8_t *bst;		/* block states */
	uint8_t *bnreq;		/* live requests for the block */
	int32_t *bfrom;		/* peer that delivered it (or receives it) */
	uint32_t nfree, ndone;
	int owner;		/* peer that started it, or -1 */
	int solo;		/* failed once: one peer fetches it all */
	int held;		/* verified, waiting for its turn */
	int hashing;		/* in the hasher's hands */
	int ws;			/* web seed fetching it, plus 1, or 0 */
};

/*
 * SHA-1 of complete pieces runs in a second thread, so that hashing and
 * receiving use two cores. A job is a piece's index, bytes and expected
 * hash; nothing writes to a piece while it is being hashed (all its
 * blocks are in). Results come back through an eventfd in the epoll set.
 */
struct hjob {
	uint32_t index, len;
	const uint8_t *buf;
	const struct bt_torrent *t;	/* checked by lib/phash (v1, v2) */
	int ok;
};

struct hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hjob *in, *out;	/* a ring and a list of cap jobs */
	struct hjob *took;	/* results being handled */
	unsigned cap, in_head, in_n, out_n;
	int efd, stop, running;
};

/* The upload side of one peer (swarm_upload.c). */
struct up_peer {
	int interested;		/* it is interested in our pieces */
	int optimistic;		/* the choker's optimistic unchoke */
	int incoming;		/* it dialled us */
	int served;		/* it got at least one block */
	struct bt_serve sv;	/* its requests and our choke (lib/serve) */
	/* piece messages (or a long bitfield) being sent */
	uint8_t *buf;
	size_t len, off;
	uint64_t bytes, win;	/* block bytes sent to it */
	double rate;		/* bytes a second, recent */
	uint32_t hsent;		/* entries of the have log sent to it */
	long long t_active;	/* when it became active */
	long long t_up;		/* its last interest or block sent */
	long long t_unint;	/* since when it is not interested in us */
};

/* An address as PEX compares it: family, IP (IPv4 in the first 4
   bytes), port, so that memcmp sorts. */
struct pexkey {
	uint8_t k[19];
};

struct peer {
	int id;
	struct bt_peer_addr addr;
	char name[64];
	int fd, state;
	long long t_state, t_block, t_sent;
	long long t_asked;	/* when its pipeline last went from empty */
	/* handshake */
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN];
	size_t hslen;
	/* messages */
	uint8_t hdr[HBUF];
	size_t hlen;
	int rmode, body_kind;
	uint8_t *body;		/* NULL: skip into the scratch buffer */
	size_t bodylen, bodygot;
	uint32_t bpiece, bblock;	/* the block being received */
	/* what it has */
	uint8_t *have;
	int seed, saw_avail, choking, interested;
	/* extensions both sides set in the handshake (BT_RSV_*) */
	unsigned rsv;
	/* BEP 6: pieces we may ask for while choked, and its hints */
	uint32_t *allowed;	/* BT_SWARM_MAX_ALLOWED_FAST, or NULL */
	unsigned nallowed;
	uint32_t suggest[BT_SWARM_MAX_SUGGEST];
	unsigned nsuggest, suggest_next;
	int rejected;		/* a reject came: ask again at the tick */
	/* BEP 10 and BEP 11 */
	uint8_t *ext;		/* an extended message being read whole */
	int reqq;		/* its "reqq" (> 0), or 0 */
	uint8_t pex_id;		/* its id for ut_pex; 0: not spoken */
	long long t_pex;	/* when its last ut_pex was taken (0: never) */
	unsigned pflags;	/* its BT_PEX_* flags when learned by PEX */
	uint16_t lport;		/* "p" of its extension handshake, or 0 */
	/* ut_pex we send: when the next is due (0: not yet), what it has
	   been told (sorted) */
	long long t_pextx;
	struct pexkey *told;
	size_t ntold;
	long long t_rx;		/* its last byte received */
	/* cut for a limit: "limit NAME (VALUE)" for its line, and the
	   connection is reset, not closed */
	char limit[96];
	/*
	 * BEP 9: its id for ut_metadata (0: not spoken); the requests it
	 * made, counted against BT_SEED_MD_ASKS; the answers waiting, as
	 * piece numbers (allocated at its first request); the answer
	 * being sent, and how much of it is.
	 */
	uint8_t md_id;
	uint32_t *mdq;
	unsigned mdqhead, mdqn, mdasks, mdsent;
	struct bt_buf md;
	size_t mdoff;
	/* requests (q and out: allocated while connected) */
	struct req *q;
	unsigned qhead, qn, qlive, depth;
	int snubbed;
	/* figures */
	uint64_t bytes, win_bytes;
	double rate;
	int hashfails, badblocks, served;
	/* out */
	uint8_t *out;
	size_t outlen;
	int pollout;
	int rpaused;		/* not read: the download bucket is empty */
	int inoff;		/* EPOLLIN is off in the epoll set */
	struct up_peer up;
};

/* The upload side of the swarm (swarm_upload.c). */
struct up_state {
	int on;			/* listening and serving */
	int lfd[2], nl;		/* listening sockets */
	/* the pieces held verified, in memory (BT_SWARM_UP_CACHE) and in
	   -C DIR (lib/held) */
	struct bt_held held;
	/*
	 * The pieces verified during the run, in order: each peer is sent
	 * the haves from its own cursor (up_peer.hsent) as its out buffer
	 * has room, so none is lost to a full buffer. 4 bytes a piece.
	 */
	uint32_t *hlog;
	uint32_t hlen;
	struct bt_choker choker;
	int slots;
	unsigned nincoming;
	int said_incoming, said_refused;
	long long t_done;	/* when the last wanted piece came, or 0 */
	long long t_sec;
	uint32_t rnd;
};

struct swarm {
	const struct bt_swarm_conf *c;
	const struct bt_torrent *t;
	struct bt_err *e;
	int ep;
	uint8_t our_id[BT_WIRE_PEER_ID_LEN];
	uint8_t handshake[BT_WIRE_HANDSHAKE_LEN];
	long long start, now, t_tick, t_sec;
	int connect_ms, handshake_ms, idle_ms, snub_ms;

	struct peer **peer;
	size_t npeer, next_try;
	size_t ninitial;	/* peers given; those after came by PEX */
	size_t cappeer;		/* room in peer[] */
	struct bt_peerlist known;	/* every address in peer[] (for PEX) */
	unsigned nconn;		/* connecting, handshaking, parked or active */
	unsigned npending;	/* connecting, handshaking or parked */
	unsigned nparked;
	unsigned maxpending;	/* BT_SWARM_MAX_HALFOPEN, or fewer */
	int said_conns, said_pending, said_inflight;	/* limits logged */
	int said_pex;

	uint32_t npieces;
	uint8_t *pstate;
	uint16_t *avail;	/* peers that have it, seeds apart */
	unsigned nseeds;
	uint16_t *pmap;		/* piece -> slot in act[], or NO_PIECE */
	struct piece *act;	/* MAX_ACTIVE slots, maxact used */
	unsigned nact, maxact;
	uint8_t **pool;		/* spare piece buffers */
	unsigned npool;
	uint32_t cursor, minav, next_emit, first_wanted;
	uint32_t left_to_start;	/* wanted pieces not yet started */
	uint8_t scratch[BT_BLOCK_LEN];
	struct bt_swarm_stats st;
	struct hasher h;
	uint64_t win_bytes;
	int failed;		/* on_piece failed: e is set */
	/* --upload-rate and --download-rate: tokens are bytes */
	double up_tokens, dn_tokens;
	long long t_refill;
	unsigned npaused;	/* peers with rpaused set */
	int up_starved;		/* a block held back for want of tokens */
	struct up_state up;
	struct bt_webseeds ws;	/* BEP 19 (lib/webseed) */

	/* The seeding role (c->seed), see swarm.h. */
	const struct bt_seed_opts *so;
	unsigned maxconns;	/* connections at once */
	size_t nofile, inuse;	/* RLIMIT_NOFILE, descriptors open at start */
	int fdcache;		/* descriptors of the folder kept open */
	int spare;		/* kept for EMFILE (bt_up_accept) */
	long long paused_until;	/* listeners off: out of descriptors */
	int full;		/* at maxconns: said once until below */
	int starved;		/* a peer choked for want of descriptors */
	int need_fill;		/* an upload slot may have come free */
	struct bt_sann ann;	/* the announce thread */
	int peer_fd;		/* a peer list read as it comes, or -1 */
	char line[256];		/* a partial line of it */
	size_t linelen;
	int longline;
	unsigned lineno;
	size_t nadded;		/* peers added running (BT_SEED_MAX_DIAL) */
	int said_dial;
	/* ut_pex we send (both roles): every pex_ms; the peers connected
	   that others may dial, built once a tick when a message is due */
	int pex_ms;
	struct pexkey *pconn;
	uint8_t *pconnflags;
	size_t npconn;
	unsigned nclosed;	/* PS_CLOSED in peer[] (compacted) */
};

/* swarm.c: the table of peers, lines about them and about limits. */
void bt_sw_plog(struct swarm *, struct peer *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));
/* A limit of the engine was reached: said once a run. */
void bt_sw_slog(struct swarm *, int *said, const char *, ...)
    __attribute__((format(printf, 3, 4)));
/* Peers past the handshake at once: a seeder's cap, or a downloader's. */
unsigned bt_sw_max_active(const struct swarm *);
struct peer *bt_sw_peer_new(struct swarm *, const struct bt_peer_addr *);

/* conn.c: the connection. */
void bt_sw_out_add(struct peer *, const uint8_t *, size_t);
size_t bt_sw_out_room(const struct peer *);
void bt_sw_set_events(struct swarm *, struct peer *, int out);
/* Bytes waiting to be sent: the out buffer, metadata, blocks. */
int bt_sw_out_pending(const struct swarm *, const struct peer *);
int bt_sw_flush(struct swarm *, struct peer *);
void bt_sw_drop(struct swarm *, struct peer *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Cut p off for a limit: its line says "limit NAME (VALUE UNIT)", and
 * the connection is reset, so that what was queued for it is not kept
 * in the kernel. bad: it misbehaved (counted in dropped).
 */
void bt_sw_cut(struct swarm *, struct peer *, int bad, const char *limit,
    double value, const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void bt_sw_try_connect(struct swarm *, struct peer *);
/* A peer that dialled us: the handshake is checked as a dialled one's. */
struct peer *bt_sw_incoming(struct swarm *, int fd,
    const struct bt_peer_addr *);
void bt_sw_connected(struct swarm *, struct peer *);
/* Past the handshake, with a free slot: a connected peer. */
int bt_sw_activate(struct swarm *, struct peer *);
void bt_sw_readable(struct swarm *, struct peer *);

/* picker.c: the download role. */
int bt_sw_peer_has(const struct peer *, uint32_t);
struct piece *bt_sw_piece_of(struct swarm *, uint32_t);
void bt_sw_release_requests(struct swarm *, struct peer *, int cancel,
    int forget);
void bt_sw_piece_free_slot(struct swarm *, struct piece *);
int bt_sw_hashing(const struct swarm *);
struct piece *bt_sw_piece_start(struct swarm *, uint32_t, int owner);
void bt_sw_piece_complete(struct swarm *, struct piece *);
void bt_sw_hash_results(struct swarm *);
int bt_sw_hash_start(struct swarm *);
void bt_sw_hash_stop(struct swarm *);
void bt_sw_fill_requests(struct swarm *, struct peer *);
void bt_sw_on_choke(struct swarm *, struct peer *);
int bt_sw_on_reject(struct swarm *, struct peer *, uint32_t, uint32_t,
    uint32_t);
void bt_sw_on_allowed_fast(struct swarm *, struct peer *, uint32_t);
void bt_sw_on_suggest(struct swarm *, struct peer *, uint32_t);
/* i: the piece a have named, or -1 for all it has. */
void bt_sw_interest(struct swarm *, struct peer *, int64_t i);
void bt_sw_became_seed(struct swarm *, struct peer *);
/* A piece message's header: decide where its block goes. */
int bt_sw_piece_header(struct swarm *, struct peer *, uint32_t, uint32_t,
    uint32_t);
void bt_sw_cancel_others(struct swarm *, struct peer *, uint32_t index,
    uint32_t begin);

/* webseed_use.c: web seeds in the download role. */
void bt_sw_ws_banned(struct swarm *, struct piece *);
int bt_sw_ws_usable(const struct swarm *);
void bt_sw_ws_assign(struct swarm *);
void bt_sw_ws_yield(struct swarm *);
void bt_sw_ws_results(struct swarm *);

/* pex.c: peer exchange, and peers added while running. */
/* A peer to dial while running (a tracker, the peer list on a pipe, ut_pex
   in the seeding role): 1 queued, 0 known, ours or over a limit. */
int bt_sw_add_peer(struct swarm *, const struct bt_peer_addr *);
void bt_sw_pex_tick(struct swarm *);
int bt_sw_pex_message(struct swarm *, struct peer *, const uint8_t *,
    size_t);

/*
 * swarm_upload.c: the upload side. bt_up_open listens (unless
 * c->upload is 0) and reads -C DIR (marking the pieces found good there
 * as held and not wanted); the loop calls bt_up_accept when a listening
 * socket is readable, the wire calls bt_up_avail once a peer is active
 * (our bitfield), bt_up_message for interested, not interested, request
 * and cancel, bt_up_verified as a piece passes SHA-1 (before it is
 * handed over), bt_up_fill when the socket takes more (1: a batch was
 * built in p->up.buf), bt_up_tick about every 100 ms (rates, the
 * choker), bt_up_linger once every wanted piece is in (1: keep going),
 * bt_up_drop when a peer closes, bt_up_close at the end.
 */
int bt_up_open(struct swarm *, struct bt_err *);
void bt_up_close(struct swarm *);
int bt_up_is_listener(const struct swarm *, const void *);
void bt_up_accept(struct swarm *, const void *);
int bt_up_avail(struct swarm *, struct peer *);
int bt_up_message(struct swarm *, struct peer *, uint8_t, const uint8_t *);
void bt_up_verified(struct swarm *, uint32_t, const uint8_t *, size_t);
int bt_up_fill(struct swarm *, struct peer *);
int bt_up_pending(const struct swarm *, const struct peer *);
/* Queue the haves a peer has not been sent yet, as far as room allows. */
void bt_up_haves(struct swarm *, struct peer *);
void bt_up_tick(struct swarm *);
int bt_up_linger(struct swarm *);
int bt_up_waiting(const struct swarm *);
void bt_up_drop(struct peer *);
/* The seeding role: a seeder's limits, connections and open data files
   within RLIMIT_NOFILE (before any descriptor of the engine's). */
void bt_up_seed_limits(struct swarm *);
/* Free upload slots to the interested peers waiting, at once. */
void bt_up_fill_slots(struct swarm *);
/* The listeners in the epoll set (1) or out of it (0). */
void bt_up_listeners(struct swarm *, int on);
/* The announce thread found peers; at the end, announce stopped. */
void bt_up_announced(struct swarm *);
void bt_up_stop_announcing(struct swarm *);

#endif
