/*
 * lib/magnet: byte 0 picks what the rest is.
 *
 * Even: a magnet link. bt_magnet_parse and bt_magnet_or_hash either
 * refuse it as malformed data or give a result within every limit, each
 * tracker and web seed once; bt_magnet_torrent then wraps a fixed info
 * dict, and bt_torrent_parse reads that back with the same info hash,
 * one tier per tracker and the web seeds.
 *
 * Odd: raw info bytes wrapped for a fixed link whose hash is theirs:
 * refused as malformed, or a torrent whose info hash is unchanged
 * whenever bt_torrent_parse accepts it.
 */
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "magnet.h"
#include "metainfo.h"

static const char info_dict[] = "d6:lengthi5e4:name5:hello12:piece "
    "lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
static const char fixed_link[] = "magnet:?xt=urn:btih:"
    "0102030405060708090a0b0c0d0e0f1011121314&tr=udp://t:1&"
    "tr=http://u/announce&ws=http://w/";

/* Wrap info for m, read it back, check what survives the trip. */
static void
round_trip(const struct bt_magnet *m, const char *info, size_t n,
    int must_parse)
{
	struct bt_buf out = { 0 };
	struct bt_torrent t;
	struct bt_err e;
	size_t i;
	char *copy;

	if (bt_magnet_torrent(m, info, n, &out, &e) < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR && !must_parse,
		    "torrent: status %d: %s", e.status, e.msg);
		bt_buf_free(&out);
		return;
	}
	if ((copy = malloc(out.len + 1)) == NULL)
		abort();
	memcpy(copy, out.p, out.len);
	if (bt_torrent_parse(&t, copy, out.len, &e) == 0) {
		FUZZ_ASSERT(memcmp(t.info_hash, m->info_hash,
		    BT_SHA1_LEN) == 0, "the info hash changed");
		FUZZ_ASSERT(t.ntiers == m->ntr, "%zu tiers for %zu trackers",
		    t.ntiers, m->ntr);
		for (i = 0; i < t.ntiers; i++)
			FUZZ_ASSERT(t.tiers[i].n == 1 &&
			    strcmp(t.tiers[i].url[0], m->tr[i]) == 0,
			    "tier %zu is not tracker %zu", i, i);
		FUZZ_ASSERT(t.nurl == m->nws, "%zu web seeds of %zu",
		    t.nurl, m->nws);
	} else
		FUZZ_ASSERT(!must_parse, "bt_torrent_parse: %s", e.msg);
	bt_torrent_free(&t);
	bt_buf_free(&out);
}

static void
check(const struct bt_magnet *m)
{
	size_t i, j;

	FUZZ_ASSERT(m->ntr <= BT_MAX_TRACKERS, "%zu trackers", m->ntr);
	FUZZ_ASSERT(m->nws <= BT_MAGNET_MAX_WEBSEEDS, "%zu web seeds",
	    m->nws);
	FUZZ_ASSERT(m->peers.n <= BT_MAGNET_MAX_PEERS, "%zu peers",
	    m->peers.n);
	FUZZ_ASSERT(m->tr_dropped == 0 || m->ntr == BT_MAX_TRACKERS,
	    "trackers dropped early");
	FUZZ_ASSERT(m->pe_dropped == 0 || m->peers.n == BT_MAGNET_MAX_PEERS,
	    "peers dropped early");
	for (i = 0; i < m->ntr; i++) {
		FUZZ_ASSERT(strstr(m->tr[i], "://") != NULL &&
		    strpbrk(m->tr[i], " \t\r\n") == NULL, "tracker '%s'",
		    m->tr[i]);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(m->tr[i], m->tr[j]) != 0,
			    "tracker '%s' twice", m->tr[i]);
	}
	for (i = 0; i < m->nws; i++)
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(m->ws[i], m->ws[j]) != 0,
			    "web seed '%s' twice", m->ws[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_magnet m;
	struct bt_err e;
	char *s;

	if (size == 0 || size > BT_MAGNET_MAX_BYTES + 16)
		return 0;
	if (data[0] & 1) {
		if (bt_magnet_parse(&m, fixed_link, &e) < 0)
			abort();
		bt_sha1(data + 1, size - 1, m.info_hash);
		round_trip(&m, (const char *)data + 1, size - 1, 0);
		bt_magnet_free(&m);
		return 0;
	}
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (bt_magnet_parse(&m, s, &e) == 0) {
		check(&m);
		bt_sha1(info_dict, strlen(info_dict), m.info_hash);
		round_trip(&m, info_dict, strlen(info_dict), 1);
	} else
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "parse: status %d: %s",
		    e.status, e.msg);
	bt_magnet_free(&m);
	if (bt_magnet_or_hash(&m, s, &e) == 0)
		check(&m);
	else
		FUZZ_ASSERT(e.status == BT_EX_DATAERR, "or_hash: status %d: %s",
		    e.status, e.msg);
	bt_magnet_free(&m);
	free(s);
	return 0;
}
