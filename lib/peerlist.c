#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peerlist.h"
#include "util.h"

#define PEER_LINE_MAX	512	/* longer lines are not peer lines */

int
bt_peer_parse(const char *line, struct bt_peer_addr *a, struct bt_err *e)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *sp = strchr(line, ' ');
	long long port;
	size_t hl;

	memset(a, 0, sizeof(*a));
	if (sp == NULL)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "expected 'ADDRESS PORT'");
	hl = (size_t)(sp - line);
	if (hl == 0 || hl >= sizeof(host))
		return bt_errf(e, BT_EX_DATAERR, -1, "invalid address");
	memcpy(host, line, hl);
	host[hl] = '\0';
	if (bt_strtonum(sp + 1, 1, 65535, &port, NULL) < 0)
		return bt_errf(e, BT_EX_DATAERR, -1, "invalid port '%s'",
		    sp + 1);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "invalid IPv6 address '%s'", host);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		a->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "invalid IPv4 address '%s'", host);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		a->salen = sizeof(*s4);
	}
	return 0;
}

char *
bt_peer_format(const struct bt_peer_addr *a, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&a->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, n, "%s %u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&a->sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, n, "%s %u", host, ntohs(s4->sin_port));
	}
	return buf;
}

void
bt_peer_from_raw(struct bt_peer_addr *a, const uint8_t *ip, size_t iplen,
    uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (iplen == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ip, 16);
		s6->sin6_port = htons(port);
		a->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, ip, 4);
		s4->sin_port = htons(port);
		a->salen = sizeof(*s4);
	}
}

static int
same(const struct bt_peer_addr *a, const struct bt_peer_addr *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

/* FNV-1a of the address bytes (family, port, address; the rest zero). */
static size_t
hash(const struct bt_peer_addr *a)
{
	const uint8_t *p = (const uint8_t *)&a->sa;
	uint64_t h = 14695981039346656037ULL;
	socklen_t i;

	for (i = 0; i < a->salen && i < sizeof(a->sa); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

/* The slot of a in the index: where it is, or the empty one it would go. */
static size_t
find(const struct bt_peerlist *l, const struct bt_peer_addr *a)
{
	size_t mask = l->nslot - 1, k = hash(a) & mask;

	while (l->slot[k] != 0 && !same(&l->peer[l->slot[k] - 1], a))
		k = (k + 1) & mask;
	return k;
}

/* (Re)build the index for n entries, at most half full. -1: no memory. */
static int
reindex(struct bt_peerlist *l, size_t n)
{
	size_t nslot = 64, i;
	size_t *slot;

	while (nslot < 2 * (n + 1))
		nslot *= 2;
	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return -1;
	free(l->slot);
	l->slot = slot;
	l->nslot = nslot;
	for (i = 0; i < l->n; i++)
		l->slot[find(l, &l->peer[i])] = i + 1;
	l->nindexed = l->n;
	return 0;
}

int
bt_peerlist_has(const struct bt_peerlist *l, const struct bt_peer_addr *a)
{
	size_t i;

	if (l->slot != NULL && l->nindexed == l->n)
		return l->slot[find(l, a)] != 0;
	/* peer[] was filled without bt_peerlist_add: look at each. */
	for (i = 0; i < l->n; i++)
		if (same(&l->peer[i], a))
			return 1;
	return 0;
}

int
bt_peerlist_add(struct bt_peerlist *l, const struct bt_peer_addr *a)
{
	size_t k;

	if ((l->slot == NULL || l->nindexed != l->n ||
	    2 * (l->n + 1) > l->nslot) && reindex(l, 2 * l->n) < 0)
		return -1;
	k = find(l, a);
	if (l->slot[k] != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct bt_peer_addr *p = realloc(l->peer, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		l->peer = p;
		l->cap = cap;
	}
	l->peer[l->n++] = *a;
	l->slot[k] = l->n;
	l->nindexed = l->n;
	return 1;
}

int
bt_peerlist_read(struct bt_peerlist *l, FILE *f, size_t max,
    size_t *dropped, struct bt_err *e)
{
	char line[PEER_LINE_MAX];
	size_t lineno = 0;

	if (dropped != NULL)
		*dropped = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		struct bt_peer_addr a;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			return bt_errf(e, BT_EX_DATAERR, -1,
			    "line %zu: longer than %d bytes", lineno,
			    PEER_LINE_MAX - 2);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (line[0] == '#') {
			const char *v;

			if (strncmp(line, "# info-hash ", 12) == 0) {
				v = line + 12;
				if (bt_unhex(v, strlen(v), l->info_hash,
				    BT_SHA1_LEN) < 0)
					return bt_errf(e, BT_EX_DATAERR, -1,
					    "line %zu: info hash is not 40 "
					    "hex digits", lineno);
				l->has_info_hash = 1;
			} else if (strncmp(line, "# torrent ", 10) == 0) {
				free(l->torrent);
				if ((l->torrent = strdup(line + 10)) == NULL)
					return bt_errf(e, BT_EX_SOFTWARE, -1,
					    "out of memory");
			}
			continue;
		}
		if (bt_peer_parse(line, &a, e) < 0) {
			bt_err_prefix(e, "line %zu", lineno);
			return -1;
		}
		if (l->n >= max) {
			/* A duplicate of a kept peer is not a dropped one. */
			if (dropped != NULL && !bt_peerlist_has(l, &a))
				(*dropped)++;
			continue;
		}
		if (bt_peerlist_add(l, &a) < 0)
			return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	if (ferror(f))
		return bt_errf(e, BT_EX_IOERR, -1, "read error");
	return 0;
}

void
bt_peerlist_free(struct bt_peerlist *l)
{
	free(l->peer);
	free(l->slot);
	free(l->torrent);
	memset(l, 0, sizeof(*l));
}
