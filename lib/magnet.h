/*
 * Magnet links (BEP 9): magnet:?xt=urn:btih:<40 hex | 32 base32>, with
 * dn (name), tr (trackers, several), x.pe (peer addresses), ws (web
 * seeds). v2 links (xt=urn:btmh:) are recognised and refused as
 * unsupported. Values are percent-decoded ('+' is a space in dn only).
 */
#ifndef BT_MAGNET_H
#define BT_MAGNET_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "err.h"
#include "peerlist.h"
#include "sha1.h"

struct bt_magnet {
	uint8_t info_hash[BT_SHA1_LEN];
	char *name;		/* dn, decoded, or NULL */
	char **tr;		/* trackers in the link's order, each once */
	size_t ntr;
	size_t tr_dropped;	/* past BT_MAX_TRACKERS */
	char **ws;		/* web seeds (BEP 19), each once */
	size_t nws;
	size_t ws_dropped;	/* past BT_MAGNET_MAX_WEBSEEDS */
	struct bt_peerlist peers;	/* x.pe with numeric addresses */
	size_t pe_names;	/* x.pe given as a host name: not resolved */
	size_t pe_dropped;	/* past BT_MAGNET_MAX_PEERS */
};

/* 1 if s starts with "magnet:" (any case): a link, not a file name. */
int bt_magnet_is(const char *s);

/*
 * Parse a magnet link (NUL-terminated, at most BT_MAGNET_MAX_BYTES).
 * Errors, all BT_EX_DATAERR naming the problem: not a magnet link, no
 * xt, a btih of the wrong length or alphabet, two different btih, a
 * v2-only link (urn:btmh: without urn:btih:, "not supported"), bad
 * percent escapes, a tracker or web seed that is not a URL, a malformed
 * x.pe. Unknown parameters are ignored. Free with bt_magnet_free
 * whatever the result.
 */
int bt_magnet_parse(struct bt_magnet *m, const char *uri, struct bt_err *e);
void bt_magnet_free(struct bt_magnet *m);

/*
 * An info hash given alone: 40 hex digits (any case) or 32 base32
 * characters (RFC 4648, any case). -1 (BT_EX_DATAERR) otherwise.
 */
int bt_info_hash_parse(const char *s, size_t n, uint8_t out[BT_SHA1_LEN],
    struct bt_err *e);

/*
 * Either form on the command line: a magnet link, or an info hash alone
 * (then m holds just the hash). Free with bt_magnet_free.
 */
int bt_magnet_or_hash(struct bt_magnet *m, const char *arg,
    struct bt_err *e);

/*
 * The .torrent made of an info dict fetched for m: keys in order,
 * "announce" (the first tracker) and "announce-list" (one tier per
 * tracker, BEP 12, in the link's order) when m has trackers, "info" (the
 * raw bytes as received, so the info hash is unchanged), "url-list"
 * when m has web seeds. Appended to out. Refused (BT_EX_DATAERR) unless
 * info is one bencoded dict whose SHA-1 is m's info hash.
 */
int bt_magnet_torrent(const struct bt_magnet *m, const char *info,
    size_t infolen, struct bt_buf *out, struct bt_err *e);

#endif
