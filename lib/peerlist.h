/*
 * The peer list that travels from bt-peers to bt-fetch-piece (bt(7)):
 * one peer a line, "ADDRESS PORT", IPv4 dotted or IPv6 as inet_ntop writes
 * it; lines starting with '#' carry context:
 *
 *	# info-hash <40 lowercase hex digits>
 *	# torrent <path of the .torrent, as given to bt-announce>
 *
 * Other '#' lines and blank lines are ignored, so people may annotate.
 */
#ifndef BT_PEERLIST_H
#define BT_PEERLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "err.h"
#include "sha1.h"

struct bt_peer_addr {
	struct sockaddr_storage sa;	/* AF_INET or AF_INET6, port set */
	socklen_t salen;
};

struct bt_peerlist {
	struct bt_peer_addr *peer;
	size_t n, cap;
	/*
	 * A hash set over peer[0..nindexed-1] (slots hold index + 1, 0 is
	 * empty; nslot is a power of two), so that adding and looking up
	 * cost O(1) whatever the list's length. Kept by bt_peerlist_add;
	 * rebuilt there if peer[] grew another way.
	 */
	size_t *slot;
	size_t nslot, nindexed;
	int has_info_hash;
	uint8_t info_hash[BT_SHA1_LEN];
	char *torrent;		/* from "# torrent", or NULL */
};

/*
 * Read a peer list from f, at most max peers (more are dropped, counted
 * in *dropped if not NULL). Duplicates are kept once, in the order of
 * their first line. A malformed line is an error naming its line number.
 * Time is linear in the number of lines.
 */
int bt_peerlist_read(struct bt_peerlist *l, FILE *f, size_t max,
    size_t *dropped, struct bt_err *e);
/* Parse "ADDRESS PORT" (no newline) into a; -1 with the reason. */
int bt_peer_parse(const char *line, struct bt_peer_addr *a,
    struct bt_err *e);
/* 1 if a is in the list already. */
int bt_peerlist_has(const struct bt_peerlist *l,
    const struct bt_peer_addr *a);
/* Add one peer unless already there; 1 added, 0 duplicate, -1 no memory. */
int bt_peerlist_add(struct bt_peerlist *l, const struct bt_peer_addr *a);
/* "ADDRESS PORT" of a, into buf (at least 64 bytes). */
char *bt_peer_format(const struct bt_peer_addr *a, char *buf, size_t n);
/* Build an address from raw bytes (4 or 16) and a port. */
void bt_peer_from_raw(struct bt_peer_addr *a, const uint8_t *ip,
    size_t iplen, uint16_t port);
void bt_peerlist_free(struct bt_peerlist *l);

#endif
