/* lib/fast: BEP 6's allowed fast set against the BEP's own example. */
#include <stdint.h>
#include <string.h>

#include "fast.h"
#include "t.h"

int
main(void)
{
	/* BEP 6: peer 80.4.4.200, info hash 20 bytes of 0xaa, 1313
	   pieces. */
	static const uint32_t want[9] = {
		1059, 431, 808, 1217, 287, 376, 1188, 353, 508
	};
	uint8_t ip[4] = { 80, 4, 4, 200 }, other[4] = { 80, 4, 4, 7 };
	uint8_t ih[20];
	uint32_t got[16], got2[16];
	size_t n, i;
	int distinct = 1;

	memset(ih, 0xaa, sizeof(ih));
	n = bt_fast_allowed(ip, ih, 1313, 7, got);
	T_OK(n == 7 && memcmp(got, want, 7 * sizeof(*got)) == 0,
	    "BEP 6 example, k = 7: 1059 431 808 1217 287 376 1188");
	n = bt_fast_allowed(ip, ih, 1313, 9, got);
	T_OK(n == 9 && memcmp(got, want, 9 * sizeof(*got)) == 0,
	    "BEP 6 example, k = 9: then 353 508");
	n = bt_fast_allowed(other, ih, 1313, 9, got2);
	T_OK(n == 9 && memcmp(got, got2, 9 * sizeof(*got)) == 0,
	    "only the /24 counts");
	ih[0] ^= 1;
	n = bt_fast_allowed(ip, ih, 1313, 9, got2);
	T_OK(n == 9 && memcmp(got, got2, 9 * sizeof(*got)) != 0,
	    "another info hash, another set");
	/* Fewer pieces than k: every piece, once each, no endless loop. */
	n = bt_fast_allowed(ip, ih, 3, 10, got);
	for (i = 0; i < n; i++)
		if (got[i] >= 3)
			distinct = 0;
	T_OK(n == 3 && distinct && got[0] != got[1] && got[1] != got[2] &&
	    got[0] != got[2], "k over the piece count: all 3 pieces");
	n = bt_fast_allowed(ip, ih, 1, 10, got);
	T_OK(n == 1 && got[0] == 0, "one piece: piece 0");
	return t_done();
}
