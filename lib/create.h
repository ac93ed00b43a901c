/*
 * Making a .torrent from a file or a folder: walk the files in a stable
 * order, choose the piece length, hash the pieces on several threads,
 * and encode the metainfo with sorted keys. Version 1 (BEP 3) by
 * default; version 2 (BEP 52) or a hybrid of both (BEP 52 with BEP 47
 * pad files) after bt_create_layout.
 *
 * The order and the walk follow mktorrent's, so that the same files and
 * parameters give the same info hash: files sorted by their '/'-joined
 * path relative to the folder, compared as bytes (strcmp); hidden files
 * kept; zero-length files kept; symbolic links followed; files that are
 * neither regular files nor folders (FIFOs, sockets, devices) left out;
 * empty folders leave no trace.
 */
#ifndef BT_CREATE_H
#define BT_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "err.h"
#include "sha1.h"

/* What bt_create_layout lays out. */
enum bt_create_version {
	BT_CREATE_V1,		/* BEP 3, mktorrent's order (the default) */
	BT_CREATE_V2,		/* BEP 52 only */
	BT_CREATE_HYBRID	/* one info dict for both, BEP 47 pad files */
};

struct bt_cfile {
	char *path;		/* relative to the folder, '/'-joined;
				   "" for a single-file torrent */
	int64_t length;
	int64_t offset;		/* of its first byte in the torrent's data */
	int64_t pad;		/* zero bytes after it in the data (v2) */
	uint64_t dev, ino;	/* of the file read (links followed) */
	int exec;		/* lstat(2) gave S_IXUSR: libtorrent's
				   "attr" "x" in v2 and hybrid torrents */
	uint8_t root[BT_SHA256_LEN];	/* BEP 52 pieces root, once hashed */
};

struct bt_create {
	char *root;		/* the path given: the file or the folder */
	char *name;		/* the torrent's name */
	int multi;		/* a folder: a "files" list */
	enum bt_create_version version;	/* as laid out */
	struct bt_cfile *files;
	size_t nfiles, cap;
	int64_t total;
};

/*
 * Walk path (a file or a folder) into c, files sorted. name is the
 * torrent's name, or NULL for the last component of path (for "." and
 * the like, of its real path). Errors: BT_EX_NOINPUT when path is
 * missing; BT_EX_IOERR when something under it cannot be read (a broken
 * link, a folder without permission); BT_EX_DATAERR for what no torrent
 * can hold (a name refused by the safe-path policy of bt(7), a path too
 * deep or too long, a symbolic link loop, too many files, no data at
 * all). Call bt_create_free afterwards whether or not it succeeded.
 */
int bt_create_scan(struct bt_create *c, const char *path, const char *name,
    struct bt_err *e);
void bt_create_free(struct bt_create *c);

/*
 * The piece length chosen for total bytes: the smallest power of two
 * from BT_CREATE_MIN_PIECE to BT_CREATE_MAX_AUTO_PIECE that keeps the
 * piece count at or below BT_CREATE_TARGET_PIECES.
 */
int64_t bt_create_auto_piece_length(int64_t total);

/*
 * Check a piece length asked for: a power of two from BT_CREATE_MIN_PIECE
 * to BT_MAX_PIECE_LENGTH (BT_EX_USAGE otherwise).
 */
int bt_create_check_piece_length(int64_t plen, struct bt_err *e);

/*
 * Parse a size in bytes with an optional K or M suffix (binary: 1K is
 * 1024), as -l takes it. BT_EX_USAGE for garbage.
 */
int bt_create_parse_size(const char *s, int64_t *out, struct bt_err *e);

/* Pieces of c with piece length plen (BT_EX_DATAERR over BT_MAX_PIECES). */
int bt_create_npieces(const struct bt_create *c, int64_t plen,
    uint32_t *n, struct bt_err *e);

/*
 * Lay c out for version v with pieces of plen bytes, as libtorrent 2.0's
 * create_torrent does, so that the info hashes are the same. For
 * BT_CREATE_V1, nothing changes. Otherwise the files are sorted by
 * their paths compared component by component, as bytes (the order of
 * the BEP 52 file tree); when there are several files, each non-empty
 * one whose end falls inside a piece is followed by a pad of zeros to
 * the next piece (the last one included, an empty one never), so that
 * every file starts a piece and no piece holds two files' bytes. In a
 * hybrid these pads are the BEP 47 pad files ".pad/N" of attr "p".
 * c->total becomes the length of the data with its pads.
 */
int bt_create_layout(struct bt_create *c, enum bt_create_version v,
    int64_t plen, struct bt_err *e);

/*
 * Hash every piece of c into out (npieces * 20 bytes) with nthreads
 * hashing threads (at least 1) and, for pieces up to BT_CREATE_BUF, one
 * more that reads. Memory: about 2 * BT_CREATE_BUF a thread. Errors:
 * BT_EX_IOERR naming the file that could not be opened or read, or that
 * changed meanwhile; the first in data order when several fail.
 */
int bt_create_hash(const struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, struct bt_err *e);

/*
 * The same for c as laid out, with the same threads and memory: the
 * SHA-1 of each piece into out when not NULL (V1, HYBRID), and for V2
 * and HYBRID the BEP 52 hash of each piece into layer (npieces * 32
 * bytes): its piece-layer hash, or the pieces root of a file of one
 * piece or less. Then each non-empty file's root is set.
 */
int bt_create_hash_v2(struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, uint8_t *layer, struct bt_err *e);

/* What goes around the info dict. */
struct bt_create_meta {
	int64_t piece_length;
	/* Each one tier of trackers: "URL[,URL...]". The first URL is
	   "announce"; "announce-list" is written when there are several. */
	char **announce;
	size_t nannounce;
	/* Each "URL[,URL...]": web seeds (BEP 19 url-list). */
	char **web;
	size_t nweb;
	const char *comment;	/* or NULL */
	const char *created_by;	/* or NULL (or "") to leave it out */
	int64_t date;		/* creation date, or < 0 to leave it out */
	int private;		/* BEP 27: "private" 1 in info */
};

/*
 * Check the URLs of m (not empty, at most BT_TRACKER_MAX_URL bytes, at
 * most BT_MAX_TRACKERS trackers): BT_EX_USAGE otherwise.
 */
int bt_create_check_meta(const struct bt_create_meta *m, struct bt_err *e);

/*
 * Encode the metainfo of c into out: every dict's keys sorted (BEP 3).
 * pieces and layer are the output of bt_create_hash or
 * bt_create_hash_v2 (layer NULL for V1, pieces NULL for V2). For V2
 * and HYBRID, info holds "file tree" and "meta version" 2, and the top
 * level "piece layers" (always, empty when no file is longer than a
 * piece, as libtorrent writes it).
 */
int bt_create_encode(const struct bt_create *c, const struct bt_create_meta *m,
    const uint8_t *pieces, const uint8_t *layer, struct bt_buf *out,
    struct bt_err *e);

#endif
