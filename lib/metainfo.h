/*
 * .torrent metainfo (BEP 3, BEP 12 announce-list, BEP 19 url-list, BEP 27
 * private, BEP 47 padding files; BEP 52 v2 recognised). Parsing checks
 * everything a later stage relies on: piece count against total length,
 * lengths, and paths that are safe to create under the output folder.
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
};

struct bt_tier {
	char **url;
	size_t n;
};

struct bt_torrent {
	char *raw;		/* the whole .torrent, owned */
	size_t rawlen;
	struct bt_bdoc doc;
	uint8_t info_hash[BT_SHA1_LEN];	/* SHA-1 of the raw info bytes */
	size_t info_off, info_len;	/* where info is in raw */

	char *name;
	int64_t piece_length;
	int64_t total_length;
	uint32_t npieces;
	const uint8_t *pieces;	/* npieces * 20 bytes, inside raw */
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

/*
 * Check one path component as the safe-path policy says (bt(7)): not
 * empty, not "." or "..", no '/' or NUL, at most BT_MAX_NAME_BYTES.
 * Returns NULL if safe, else the reason.
 */
const char *bt_path_component_problem(const char *p, size_t n);

#endif
