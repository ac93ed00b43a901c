/*
 * BEP 6's allowed fast set: SHA-1 of the peer's /24 and the info hash,
 * then SHA-1 of that, and so on; each 20-byte digest gives five 32-bit
 * big-endian numbers, each taken modulo the piece count, duplicates
 * skipped, until k pieces are found.
 */
#include <netinet/in.h>
#include <string.h>

#include "fast.h"
#include "sha1.h"
#include "util.h"

size_t
bt_fast_allowed(const uint8_t ip[4], const uint8_t info_hash[20],
    uint32_t npieces, size_t k, uint32_t *out)
{
	uint8_t x[24], h[BT_SHA1_LEN];
	size_t n = 0, i, j;

	if (k > npieces)
		k = npieces;
	/* BEP 6: x = 0xFFFFFF00 & ip, then the info hash appended. */
	memcpy(x, ip, 3);
	x[3] = 0;
	memcpy(x + 4, info_hash, 20);
	bt_sha1(x, sizeof(x), h);
	for (;;) {
		for (i = 0; i < 5 && n < k; i++) {
			uint32_t y = bt_get32(h + 4 * i) % npieces;

			for (j = 0; j < n && out[j] != y; j++)
				;
			if (j == n)
				out[n++] = y;
		}
		if (n >= k)
			return n;
		memcpy(x, h, sizeof(h));
		bt_sha1(x, sizeof(h), h);
	}
}

size_t
bt_fast_allowed_addr(const struct bt_peer_addr *a,
    const uint8_t info_hash[20], uint32_t npieces, size_t k, uint32_t *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t *ip;

	if (a->sa.ss_family == AF_INET)
		ip = (const uint8_t *)&((const struct sockaddr_in *)
		    &a->sa)->sin_addr;
	else if (a->sa.ss_family == AF_INET6) {
		ip = (const uint8_t *)&((const struct sockaddr_in6 *)
		    &a->sa)->sin6_addr;
		if (memcmp(ip, mapped, sizeof(mapped)) != 0)
			return 0;
		ip += sizeof(mapped);
	} else
		return 0;
	return bt_fast_allowed(ip, info_hash, npieces, k, out);
}
