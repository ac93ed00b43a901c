/*
 * Making a v1 .torrent (BEP 3) from a file or a folder: walk the files
 * in a stable order, choose the piece length, hash the pieces on several
 * threads, and encode the metainfo with sorted keys.
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

struct bt_cfile {
	char *path;		/* relative to the folder, '/'-joined;
				   "" for a single-file torrent */
	int64_t length;
	int64_t offset;		/* of its first byte in the torrent's data */
	uint64_t dev, ino;	/* of the file read (links followed) */
};

struct bt_create {
	char *root;		/* the path given: the file or the folder */
	char *name;		/* the torrent's name */
	int multi;		/* a folder: a "files" list */
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
 * Hash every piece of c into out (npieces * 20 bytes) with nthreads
 * hashing threads (at least 1) and, for pieces up to BT_CREATE_BUF, one
 * more that reads. Memory: about 2 * BT_CREATE_BUF a thread. Errors:
 * BT_EX_IOERR naming the file that could not be opened or read, or that
 * changed meanwhile; the first in data order when several fail.
 */
int bt_create_hash(const struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, struct bt_err *e);

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
 * pieces is the output of bt_create_hash.
 */
int bt_create_encode(const struct bt_create *c, const struct bt_create_meta *m,
    const uint8_t *pieces, struct bt_buf *out, struct bt_err *e);

#endif
