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

/* Files in a multi-file torrent: big archives reach 10^5; allow 10^6. */
#define BT_MAX_FILES		1000000

/* Components of one path, and bytes of one path joined with '/'. */
#define BT_MAX_PATH_DEPTH	64
#define BT_MAX_PATH_BYTES	4096
/* One path component: NAME_MAX on Linux file systems. */
#define BT_MAX_NAME_BYTES	255

/*
 * One value of a bencode sequence read from a pipe (the piece stream): a
 * piece dict holds at most one piece, or the metainfo itself.
 */
#define BT_SEQ_MAX_VALUE	(BT_TORRENT_MAX_BYTES + 1024)

/* Trackers in an announce-list, all tiers together. */
#define BT_MAX_TRACKERS		200

#endif
