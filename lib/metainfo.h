/*
 * .torrent metainfo (BEP 3, BEP 12 announce-list, BEP 19 url-list, BEP 27
 * private, BEP 47 padding files, BEP 52 v2 and hybrid). Parsing checks
 * everything a later stage relies on: piece count against total length,
 * lengths, and paths that are safe to create under the output folder;
 * for v2, the file tree, the piece layers against each pieces root, and
 * for a hybrid that its v1 and v2 parts describe the same files.
 *
 * A v2-only torrent is laid out as a v1 torrent with BEP 47 pads, the way
 * libtorrent lays it out: the files in file-tree order, a pad after every
 * file of more than 0 bytes whose end is not on a piece boundary (after
 * the last one too), so every piece belongs to one file and every piece
 * is piece_length bytes. Pads have pad = 1 and the path NAME/.pad/N (N
 * their length), as libtorrent names them; they are never written.
 * A v2 torrent whose tree holds one file at its root is a single-file
 * torrent (multi = 0): as in libtorrent, its name and its file's path are
 * the tree's key (BEP 52 makes it equal to 'name'), followed by its pad.
 */
#ifndef BT_METAINFO_H
#define BT_METAINFO_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "err.h"
#include "sha1.h"

struct bt_file {
	char *path;		/* relative to the output folder, '/'-joined;
				   for multi-file torrents it starts with
				   the torrent's name */
	int64_t length;
	int64_t offset;		/* of its first byte in the torrent's data */
	int pad;		/* BEP 47 padding file: in the pieces, not
				   written to disk */
	const uint8_t *root;	/* BEP 52 pieces root (BT_SHA256_LEN bytes,
				   inside raw), or NULL: a v1 torrent, a
				   pad, a file of 0 bytes */
};

struct bt_tier {
	char **url;
	size_t n;
};

struct bt_torrent {
	char *raw;		/* the whole .torrent, owned */
	size_t rawlen;
	struct bt_bdoc doc;
	/*
	 * SHA-1 of the raw info bytes (v1, hybrid). For a v2-only torrent
	 * the first 20 bytes of info_hash_v2: what BEP 52 puts in the
	 * handshake and in tracker requests.
	 */
	uint8_t info_hash[BT_SHA1_LEN];
	uint8_t info_hash_v2[BT_SHA256_LEN]; /* SHA-256 of the raw info
					   bytes, when v2 */
	size_t info_off, info_len;	/* where info is in raw */

	char *name;
	int64_t piece_length;
	int64_t total_length;
	uint32_t npieces;
	const uint8_t *pieces;	/* npieces * 20 bytes, inside raw; NULL
				   when v2only */
	int multi;		/* has a "files" list */
	struct bt_file *files;
	size_t nfiles;

	char *announce;		/* or NULL */
	struct bt_tier *tiers;	/* announce-list, or NULL */
	size_t ntiers;
	size_t trackers_dropped; /* URLs past BT_MAX_TRACKERS, not kept */
	char **url_list;	/* web seeds */
	size_t nurl;
	int private;
	int has_date;
	int64_t creation_date;
	char *comment, *created_by;
	int hybrid;		/* v1 + v2 (BEP 52): we use the v1 part */
	int v2;			/* 'meta version' 2: hybrid or v2-only */
	/*
	 * v2 without a v1 part: no SHA-1 piece hashes (pieces is NULL).
	 * A program that checks pieces with bt_piece_hash must refuse such
	 * a torrent until it checks them with bt_piece_check_v2.
	 */
	int v2only;
	/*
	 * When v2: for each piece of the layout, its v2 hash (npieces *
	 * BT_SHA256_LEN bytes, owned) and the index in files of the file
	 * it belongs to (npieces, owned). The hash is the piece's entry
	 * in its file's piece layer when the file is longer than a piece,
	 * else the file's pieces root.
	 */
	uint8_t *v2hashes;
	uint32_t *v2file;
};

/* Parse buf[0..len); takes ownership of buf (malloc'd) even on failure. */
int bt_torrent_parse(struct bt_torrent *t, char *buf, size_t len,
    struct bt_err *e);
/* Read and parse a .torrent ("-" for standard input). */
int bt_torrent_load(struct bt_torrent *t, const char *path, struct bt_err *e);
void bt_torrent_free(struct bt_torrent *t);

/* Bytes in piece i (the last one may be short). */
int64_t bt_piece_size(const struct bt_torrent *t, uint32_t i);
/* The expected SHA-1 of piece i. */
static inline const uint8_t *
bt_piece_hash(const struct bt_torrent *t, uint32_t i)
{
	return t->pieces + (size_t)i * BT_SHA1_LEN;
}

/* The expected v2 hash of piece i (t->v2 only). */
static inline const uint8_t *
bt_piece_hash_v2(const struct bt_torrent *t, uint32_t i)
{
	return t->v2hashes + (size_t)i * BT_SHA256_LEN;
}

/*
 * BEP 52 hashes a file's bytes only: piece i of a v2 torrent covers the
 * bytes of its file from i * piece_length to the end of the piece or of
 * the file, whichever comes first; the pad after a file's end is not
 * hashed. bt_piece_size_v2 is that count (bt_piece_size counts the pad
 * too); 0 if t is not v2 or i is out of range.
 */
int64_t bt_piece_size_v2(const struct bt_torrent *t, uint32_t i);

/*
 * Check data[0..len), the file bytes of piece i as above (len must be
 * bt_piece_size_v2), against the torrent's v2 hashes: for a file longer
 * than a piece, the merkle root of the piece's 16 KiB blocks padded with
 * zero leaves to piece_length / 16 KiB must be the piece-layer entry;
 * for a file of one piece or less, the root of its blocks padded to the
 * next power of two must be its pieces root. Returns 1 good, 0 bad (or
 * not a v2 torrent, i out of range, len wrong), -1 out of memory.
 */
/*
 * Leaves under piece i's subtree (t->v2 only): piece_length / 16 KiB for
 * a file longer than a piece, else its own blocks to the next power of
 * two. Both bt_piece_check_v2 and lib/phash take it from here.
 */
uint64_t bt_piece_width_v2(const struct bt_torrent *t, uint32_t i);

int bt_piece_check_v2(const struct bt_torrent *t, uint32_t i,
    const uint8_t *data, size_t len);

/*
 * Check one path component as the safe-path policy says (bt(7)): not
 * empty, not "." or "..", no '/' or NUL, at most BT_MAX_NAME_BYTES.
 * Returns NULL if safe, else the reason.
 */
const char *bt_path_component_problem(const char *p, size_t n);

#endif
