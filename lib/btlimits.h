/*
 * Every limit bt enforces on what it reads, in one place. Each says why it
 * has the value it has. Hitting one is a clear error naming the limit,
 * never a crash or an unbounded allocation. Modules add theirs here.
 */
#ifndef BT_LIMITS_H
#define BT_LIMITS_H

/*
 * Nesting depth of bencode. Real torrents nest about 5 deep (info, files,
 * a file dict, path list); libtorrent allows 100, Transmission 32. The
 * decoder is iterative, so depth costs a small fixed array, not stack.
 */
#define BT_BENCODE_MAX_DEPTH	100

/*
 * Values (tokens) in one bencoded document. A torrent of 100,000 files has
 * about 700,000; libtorrent allows 3,000,000 for torrents. Each costs 24
 * bytes, so the cap keeps the token table under about 100 MiB.
 */
#define BT_BENCODE_MAX_TOKENS	4000000

/*
 * Size of a .torrent file. libtorrent refuses over 10 MB, but a torrent of
 * 2^22 pieces has an 80 MiB piece table, which we accept (BT_MAX_PIECES).
 */
#define BT_TORRENT_MAX_BYTES	(100LL * 1024 * 1024)

/* Pieces in a torrent: libtorrent allows 2^21; we allow twice that. */
#define BT_MAX_PIECES		(1L << 22)

/*
 * Piece length. BEP 3 says powers of two, commonly 256 KiB to 4 MiB; some
 * large torrents use 16 or 32 MiB. 64 MiB bounds the memory of a piece in
 * flight and of one value of the piece stream.
 */
#define BT_MAX_PIECE_LENGTH	(64L * 1024 * 1024)

/*
 * Files in a multi-file torrent: big archives reach 10^5. A file costs at
 * least 6 bencode values (its dict, "length", the length, "path", the
 * list, a name), so 500,000 files stay well under BT_BENCODE_MAX_TOKENS
 * and this limit, not the token count, is the one a torrent of too many
 * files meets.
 */
#define BT_MAX_FILES		500000

/* Components of one path, and bytes of one path joined with '/'. */
#define BT_MAX_PATH_DEPTH	64
#define BT_MAX_PATH_BYTES	4096
/* One path component: NAME_MAX on Linux file systems. */
#define BT_MAX_NAME_BYTES	255

/*
 * Folders nested in a BEP 52 file tree, the name not counted: the same
 * as a v1 path's components, so a v2 torrent can hold no path a v1 one
 * could not. Each level is one bencode dict; with the top level, info,
 * the tree and a file's "" dict this stays under BT_BENCODE_MAX_DEPTH,
 * so this limit, not the decoder's, is the one a deep tree meets.
 */
#define BT_V2_MAX_DEPTH		BT_MAX_PATH_DEPTH

/*
 * One value of a bencode sequence read from a pipe (the piece stream): a
 * piece dict holds at most one piece, or the metainfo itself.
 */
#define BT_SEQ_MAX_VALUE	(BT_TORRENT_MAX_BYTES + 1024)

/* Trackers in an announce-list, all tiers together. */
#define BT_MAX_TRACKERS		200

/*
 * JSON (lib/json, bt-decode, bt-encode). Depth: the same as bencode's, so
 * whatever bt-encode writes bt-decode reads back. One JSON value read by
 * bt-encode: a piece stream value of BT_SEQ_MAX_VALUE bytes is about twice
 * that as "hex:" text, plus room for indentation.
 */
#define BT_JSON_MAX_DEPTH	BT_BENCODE_MAX_DEPTH
#define BT_JSON_MAX_VALUE	(2 * BT_SEQ_MAX_VALUE + 16LL * 1024 * 1024)

/*
 * Peer wire and download engine (lib/wire, lib/swarm, bt-fetch-piece).
 */
/*
 * Longest peer message (its length prefix) we accept. The biggest we
 * need is a bitfield of BT_MAX_PIECES pieces (512 KiB); libtorrent closes
 * on over 1 MiB before reading. Over it: close before any allocation.
 */
#define BT_WIRE_MAX_MSG		(1024 * 1024 + 16)
/* Block length we ask for: 16 KiB, what every client serves (BEP 3). */
#define BT_BLOCK_LEN		16384
/*
 * Bytes of piece buffers in flight (being received, or held for order by
 * --sequential). It bounds the engine's memory whatever the torrent's
 * size; at least two pieces are always allowed, so that 64 MiB pieces
 * still download.
 */
#define BT_SWARM_MAX_INFLIGHT	(32L * 1024 * 1024)
/*
 * Requests outstanding per peer: the pipeline depth follows the peer's
 * rate (about one second of its data) between these bounds. 16 blocks
 * keep a slow link busy; 256 (4 MiB) fill a fast local one.
 */
#define BT_SWARM_MIN_QUEUE	16
#define BT_SWARM_MAX_QUEUE	256
/* Connections open at once; more listed peers wait for a free slot. */
#define BT_SWARM_MAX_CONNS	64
/* Peers read from a peer list; the rest are ignored (and counted). */
#define BT_SWARM_MAX_PEERS	10000
/* Pieces that failed their SHA-1 with one peer alone as the source. */
#define BT_SWARM_BAN_HASHFAILS	3
/* Blocks never asked for, at a wrong offset or of a wrong length. */
#define BT_SWARM_BAN_BADBLOCKS	16
/* Timeouts in milliseconds (bt-fetch-piece has options to shorten them). */
#define BT_SWARM_CONNECT_MS	10000	/* TCP connect */
#define BT_SWARM_HANDSHAKE_MS	10000	/* handshake after connect */
#define BT_SWARM_IDLE_MS	120000	/* no block while interested */
#define BT_SWARM_SNUB_MS	20000	/* requests unanswered: snubbed */
#define BT_SWARM_KEEPALIVE_MS	90000	/* we send keep-alive after */
/* Socket receive buffer asked for (the kernel may give less). */
#define BT_SWARM_SOCK_RCVBUF	(4 * 1024 * 1024)
/* Pipe buffer asked for stdout when it is a pipe (F_SETPIPE_SZ). */
#define BT_PIPE_BUF		(1024 * 1024)

/*
 * lib/store (bt-verify, bt-assemble). Descriptors kept open while pieces
 * arrive in any order: enough for the files a few pieces span, far below
 * the usual 1024 RLIMIT_NOFILE.
 */
#define BT_STORE_MAX_OPEN	64
/*
 * bt-verify reads the data in batches of whole pieces of about this many
 * bytes per thread: large sequential reads, as fast as the page cache
 * gives (1-4 MiB is where the gain levels off).
 */
#define BT_VERIFY_BUF		(4L * 1024 * 1024)
/* Hashing threads of bt-verify: one a core, at most this many. */
#define BT_VERIFY_MAX_THREADS	16

/*
 * lib/tracker (bt-announce, bt-peers). A tracker answer is at most
 * 1 MiB, as libtorrent allows: 50 peers in compact form take 300 bytes,
 * so only a broken or hostile tracker comes near it.
 */
#define BT_TRACKER_MAX_ANSWER	(1024 * 1024)
/* HTTP redirects followed: a few for load balancers, then a loop. */
#define BT_TRACKER_MAX_REDIRECTS	5
/*
 * Peers kept from one answer; more are dropped and counted. Trackers give
 * 50 by default and rarely more than 200; 10,000 is far past any honest
 * answer and bounds the memory one answer can cost.
 */
#define BT_TRACKER_MAX_PEERS	10000
/* Peers asked for (numwant) unless told: what most trackers give anyway. */
#define BT_TRACKER_NUMWANT	50
/* Bytes of a tracker URL; browsers and servers stop near 2-8 KiB. */
#define BT_TRACKER_MAX_URL	4096
/* Host names (RFC 1035: 253) and dictionary-model "ip" values. */
#define BT_TRACKER_MAX_HOST	255
/* Bytes of a tracker's failure or warning text shown to the user. */
#define BT_TRACKER_MAX_TEXT	200
/*
 * Seconds: BEP 15's first wait for a UDP reply (doubled at each
 * retransmission), and the HTTP connect limit. A whole HTTP request may
 * take BT_HTTP_TOTAL_FACTOR times as long (libtorrent: 10 s receive).
 */
#define BT_TRACKER_TIMEOUT	15
#define BT_HTTP_TOTAL_FACTOR	2
/*
 * UDP retransmissions. BEP 15 goes up to n = 8 (over an hour in all);
 * a command line tool stops after 15 + 30 + 60 s by default, and allows
 * BEP 15's full count when asked.
 */
#define BT_UDP_RETRIES		2
#define BT_UDP_MAX_RETRIES	8
/* Seconds a UDP connection id stays good (BEP 15: one minute). */
#define BT_UDP_CONNID_LIFETIME	60
/* A UDP datagram is at most 65,507 bytes of payload over IPv4. */
#define BT_UDP_MAX_PACKET	65536
/*
 * One answer of the tracker answer stream read back: the tracker's
 * answer plus the context keys (two URLs or paths of a few KiB).
 */
#define BT_TRACKER_MAX_RECORD	(BT_TRACKER_MAX_ANSWER + 64 * 1024)
/*
 * Distinct peers bt-peers keeps from all its input together (a hash set,
 * about 32 bytes each): far more than any swarm a tracker describes.
 */
#define BT_PEERS_MAX_TOTAL	1000000
/* What bt says it is in HTTP requests, and its peer id prefix. */
#define BT_USER_AGENT		"bt/0.1"
#define BT_PEER_ID_PREFIX	"-BT0001-"

/*
 * lib/create (bt-create). The smallest piece length: what BEP 3's
 * 16 KiB blocks and every client handle; mktorrent starts at 32 KiB,
 * transmission-create at 16 KiB.
 */
#define BT_CREATE_MIN_PIECE	(16L * 1024)
/*
 * Automatic piece length: the smallest power of two that keeps the piece
 * count at or below BT_CREATE_TARGET_PIECES (so 1,025 to 2,048 pieces
 * between 32 MiB and 32 GiB of data), at most 16 MiB, the largest that
 * common clients take without complaint.
 */
#define BT_CREATE_TARGET_PIECES	2048
#define BT_CREATE_MAX_AUTO_PIECE	(16L * 1024 * 1024)
/*
 * Bytes bt-create reads at once, and hands to a hashing thread: large
 * enough for sequential reads (the gain levels off from 1 MiB), small
 * enough that hashers get work often; bt-create holds two of them a
 * thread. Pieces larger than this are read in slices of it.
 */
#define BT_CREATE_BUF		(1L * 1024 * 1024)
/* Hashing threads of bt-create: one a core, at most this many. */
#define BT_CREATE_MAX_THREADS	16

/*
 * lib/seed (bt-seed), the upload engine. Connections at once: far more
 * than a seeder of one torrent sees; fewer when RLIMIT_NOFILE is low
 * (descriptors are kept for the data files and a spare, below).
 */
#define BT_SEED_MAX_CONNS	500
/*
 * Requests queued per peer. libtorrent allows 2000 (250 in old
 * releases) and its downloader keeps up to 500 outstanding on a fast
 * link: a smaller cap would leave its surplus unanswered. 12 bytes each,
 * the queue grows only as far as the peer fills it.
 */
#define BT_SEED_MAX_QUEUE	2000
/* Requests past a full queue before the peer is cut off (flooding). */
#define BT_SEED_MAX_OVERFLOW	64
/*
 * Requests out of range (index past the last piece, offset + length past
 * the piece, length 0 or over BT_BLOCK_LEN) before the peer is cut off:
 * no correct client sends one, a few forgive an off-by-one build.
 */
#define BT_SEED_MAX_BAD_REQUESTS	4
/*
 * Requests while choked, and for pieces we do not have, before the peer
 * is cut off. Requests in flight when we choke arrive after the choke
 * (BEP 3): up to a full queue of them is normal.
 */
#define BT_SEED_MAX_CHOKED_REQUESTS	BT_SEED_MAX_QUEUE
/* Regular unchoke slots unless told (libtorrent's default is 8). */
#define BT_SEED_SLOTS		8
#define BT_SEED_MAX_SLOTS	BT_SEED_MAX_CONNS
/* BEP 3: the choker runs every 10 s, the optimistic unchoke every 30 s. */
#define BT_SEED_RECHOKE_MS	10000
#define BT_SEED_OPTIMISTIC_MS	30000
/* Timeouts in milliseconds; idle is the default of --idle. */
#define BT_SEED_CONNECT_MS	10000
#define BT_SEED_HANDSHAKE_MS	10000
#define BT_SEED_IDLE_MS		120000
#define BT_SEED_KEEPALIVE_MS	90000
/*
 * Blocks read and written to a peer at once (pread of adjacent blocks in
 * one call, one writev): 64 KiB per unchoked peer, a few syscalls per
 * 64 KiB.
 */
#define BT_SEED_BATCH		4
/* Data file descriptors kept open (fewer under a low RLIMIT_NOFILE). */
#define BT_SEED_FD_CACHE	64
/* Bytes read at once to check a piece at its first read (--no-verify). */
#define BT_SEED_CHECK_BUF	(256L * 1024)
/*
 * Announce intervals in seconds: the tracker's interval, but at least
 * BT_SEED_ANNOUNCE_MIN (a tracker asking for less is ignored), at most
 * BT_SEED_ANNOUNCE_MAX; BT_SEED_ANNOUNCE_RETRY after a failure, and the
 * time limit of the stopped announce at exit.
 */
#define BT_SEED_ANNOUNCE_MIN	30
#define BT_SEED_ANNOUNCE_MAX	3600
#define BT_SEED_ANNOUNCE_RETRY	60
#define BT_SEED_STOP_TIMEOUT	5
/* Peers from trackers and the peer list kept for connecting out. */
#define BT_SEED_MAX_DIAL	BT_SWARM_MAX_PEERS
/*
 * ut_metadata (BEP 9) served by bt-seed. A message under our ut_metadata
 * id is a small dict (a request is about 25 bytes): one over
 * BT_SEED_MD_MAX_MSG is refused before it is read. A peer may ask for
 * each piece of the metadata BT_SEED_MD_ASKS times on one connection (a
 * client asks once, again after a reject); more is a flood, each answer
 * up to 16 KiB, and the peer is cut off. Answers waiting to be sent are
 * queued as piece numbers, at most that many.
 */
#define BT_SEED_MD_MAX_MSG	1024
#define BT_SEED_MD_ASKS		4
/*
 * ut_pex (BEP 11) sent by bt-seed: to each peer that speaks it, the
 * peers connected to us added and dropped since our last message, at
 * most BT_PEX_SEND_PEERS of each (BEP 11: 50), every
 * BT_SEED_PEX_INTERVAL_MS (BEP 11: not more than once a minute; the
 * default of --pex-interval), the first BT_SEED_PEX_FIRST_MS after the
 * peer's extension handshake, so that a newcomer learns the swarm soon.
 */
#define BT_PEX_SEND_PEERS	50
#define BT_SEED_PEX_INTERVAL_MS	60000
#define BT_SEED_PEX_FIRST_MS	5000
/*
 * BEP 6 allowed fast set sent by bt-seed to each fast IPv4 peer (BEP 6's
 * k; libtorrent sends 5), and the blocks of it served to one peer while
 * choked: 10 pieces of 256 KiB, enough to start trading, not a free
 * ride past the choker. Requests past it are rejected.
 */
#define BT_SEED_ALLOWED_FAST	10
#define BT_SEED_FAST_MAX_BLOCKS	160

/*
 * lib/swarm (bt-fetch-piece) under load. Connects and handshakes in
 * progress at once, besides the BT_SWARM_MAX_CONNS connected peers: most
 * of a long peer list may never answer, each such try waits for its
 * timeout, and a half-open connect costs only a descriptor (libtorrent
 * allows hundreds). Fewer under a low RLIMIT_NOFILE.
 */
#define BT_SWARM_MAX_HALFOPEN	256
/*
 * Peers past the handshake waiting for a connection slot (parked: their
 * socket unread) while every slot is taken: enough to fill slots as
 * they free up, without holding many idle sockets.
 */
#define BT_SWARM_MAX_PARKED	16
/*
 * BEP 6 on the download side (lib/swarm). Allowed fast pieces kept per
 * peer: BEP 6's example set is 10 and libtorrent sends 5; more from one
 * peer are ignored. Suggested pieces kept per peer: the most recent
 * ones, a hint to the picker only.
 */
#define BT_SWARM_MAX_ALLOWED_FAST	32
#define BT_SWARM_MAX_SUGGEST	8
/*
 * The upload side of lib/swarm (bt-fetch-piece serving while it
 * downloads). Verified pieces kept in memory to serve once handed over:
 * the most recent whole pieces within this many bytes (none if a piece
 * is larger); older
 * ones are served from -C DIR or rejected. Incoming connections accepted
 * in a run (each takes a peer slot that is never reused). After the
 * last piece, --linger waits for peers that are interested in us; one
 * that connected less than BT_SWARM_LINGER_GRACE_MS ago counts as
 * interested (it has not had time to say so). Requests are limited as
 * bt-seed's are: BT_SEED_MAX_QUEUE, BT_SEED_MAX_OVERFLOW,
 * BT_SEED_MAX_BAD_REQUESTS, BT_SEED_MAX_CHOKED_REQUESTS, BT_SEED_BATCH.
 */
#define BT_SWARM_UP_CACHE	(16L * 1024 * 1024)
#define BT_SWARM_MAX_INCOMING	1000
#define BT_SWARM_LINGER_GRACE_MS	5000

/*
 * Magnet links (lib/magnet, BEP 9). A link longer than this is refused:
 * a few hundred trackers and peers fit in it, and no browser or site
 * hands out more. Trackers (tr) are capped by BT_MAX_TRACKERS like a
 * torrent's; peer addresses (x.pe) and web seeds (ws) by these.
 */
#define BT_MAGNET_MAX_BYTES	(64 * 1024)
#define BT_MAGNET_MAX_PEERS	200
#define BT_MAGNET_MAX_WEBSEEDS	200

/*
 * Extension protocol (lib/ext, BEP 10). An extension handshake is a small
 * dict (libtorrent's is about 200 bytes); one over this is refused
 * before it is decoded.
 */
#define BT_EXT_MAX_HANDSHAKE	(64 * 1024)
/*
 * Metadata exchange (BEP 9, bt-fetch-metadata and the serving side).
 * BEP 9's pieces are 16 KiB. The info dict of a torrent at
 * BT_MAX_PIECES pieces would be 80 MiB; real ones are far smaller
 * (libtorrent refuses over 4 MiB by default), so a peer announcing more
 * than 16 MiB is lying or hostile and is dropped before any allocation.
 */
#define BT_METADATA_PIECE	16384
#define BT_METADATA_MAX_BYTES	(16L * 1024 * 1024)
/* Peers asked for metadata at once by bt-fetch-metadata. */
#define BT_METADATA_MAX_CONNS	8
/* Metadata requests outstanding per peer (libtorrent serves 3 at once
   and rejects more at a time; more only fill its reject queue). */
#define BT_METADATA_MAX_REQ	2
/* A peer sending no metadata for this long is given up (ms). */
#define BT_METADATA_IDLE_MS	30000
/*
 * Bytes of metadata buffers held at once by bt-fetch-metadata (each
 * peer assembles its own copy, so that a wrong SHA-1 bans exactly that
 * peer): two of the largest, so that a liar announcing the maximum
 * cannot keep an honest peer waiting; a peer that would go over waits.
 */
#define BT_METADATA_MAX_INFLIGHT (2 * BT_METADATA_MAX_BYTES)

/*
 * Peer exchange (BEP 11). BEP 11 allows 50 added and 50 dropped peers per
 * message; more than BT_PEX_MAX_MSG_PEERS in one message are ignored
 * (counted). Peers learned through PEX and dialled in a whole run are
 * bounded by BT_PEX_MAX_PEERS, so a swarm of liars cannot make us dial
 * without end; a message more often than BT_PEX_MIN_INTERVAL_MS from one
 * peer is ignored (BEP 11: at most one a minute).
 */
#define BT_PEX_MAX_MSG_PEERS	200
#define BT_PEX_MAX_PEERS	1000
#define BT_PEX_MIN_INTERVAL_MS	30000

/*
 * Web seeds (BEP 19). At most BT_WEBSEED_MAX of a torrent's url-list are
 * used in a run, each by one thread fetching one piece at a time, so
 * that a long list cannot make us start threads without end. A web seed
 * whose fetch fails (an HTTP error, a wrong length, a redirect loop, no
 * byte for the idle timeout) is tried again after BT_WEBSEED_BACKOFF_MS,
 * doubling, and dropped for the run after BT_WEBSEED_RETRIES failures in
 * a row: a server that is down is rarely back within seconds. Redirects
 * followed: as for trackers. A URL built from a base, the name and a
 * file's path, each percent-encoded, is at most BT_WEBSEED_MAX_URL bytes.
 */
#define BT_WEBSEED_MAX		8
#define BT_WEBSEED_RETRIES	3
#define BT_WEBSEED_BACKOFF_MS	1000
#define BT_WEBSEED_MAX_REDIRECTS 5
#define BT_WEBSEED_MAX_URL	8192

#endif
