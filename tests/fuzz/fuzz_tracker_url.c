/*
 * lib/tracker: the announce URL a torrent gives (a hostile torrent picks
 * it): bt_tracker_kind, bt_udp_url_parse, bt_http_announce_url and
 * bt_http_scrape_url on any NUL-terminated string. Checks: host and port
 * come back terminated and within their buffers, the port is a number in
 * 1-65535, and the URLs built start with the base (announce) or the
 * base's part before "announce" (scrape) and end with the info hash.
 */
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "tracker.h"
#include "util.h"

/* The info hash below, as RFC 3986 percent-encoding writes it. */
#define SCRAPE_IH	"info_hash=%00%01%20%2F%3F%26%3D%25%23abcdefghijk"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[BT_TRACKER_MAX_HOST + 1], port[8], *url;
	struct bt_announce a;
	struct bt_buf out = { 0 };
	struct bt_err e;
	long long pn;
	size_t n;

	if ((url = malloc(size + 1)) == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	n = strlen(url);
	memset(&a, 0, sizeof(a));
	memcpy(a.info_hash, "\x00\x01 /?&=%#abcdefghijk", BT_SHA1_LEN);
	memcpy(a.peer_id, "-BT0001-abcdefghijkl", BT_SHA1_LEN);
	a.port = 6881;
	a.event = BT_EVENT_STARTED;
	a.numwant = BT_TRACKER_NUMWANT;

	(void)bt_tracker_kind(url);
	memset(host, 'x', sizeof(host));
	memset(port, 'x', sizeof(port));
	if (bt_udp_url_parse(url, host, sizeof(host), port, sizeof(port),
	    &e) == 0) {
		FUZZ_ASSERT(memchr(host, '\0', sizeof(host)) != NULL &&
		    memchr(port, '\0', sizeof(port)) != NULL, "unterminated");
		FUZZ_ASSERT(host[0] != '\0', "empty host");
		FUZZ_ASSERT(bt_strtonum(port, 1, 65535, &pn, NULL) == 0,
		    "port '%s'", port);
		FUZZ_ASSERT(strstr(url, host) != NULL, "host not in the URL");
	}
	if (bt_http_announce_url(url, &a, &out, &e) == 0) {
		FUZZ_ASSERT(n <= BT_TRACKER_MAX_URL, "long URL accepted");
		FUZZ_ASSERT(out.len > n && out.p[out.len] == '\0' &&
		    strlen(out.p) == out.len &&
		    memcmp(out.p, url, n) == 0, "announce URL");
		FUZZ_ASSERT(strchr(out.p + n, '#') == NULL &&
		    strchr(out.p + n, ' ') == NULL, "query not escaped");
	}
	if (bt_http_scrape_url(url, a.info_hash, &out, &e) == 0) {
		FUZZ_ASSERT(out.p[out.len] == '\0' &&
		    strlen(out.p) == out.len && strstr(out.p, "scrape") &&
		    out.len >= strlen(SCRAPE_IH), "scrape URL");
		FUZZ_ASSERT(strcmp(out.p + out.len - strlen(SCRAPE_IH),
		    SCRAPE_IH) == 0, "scrape info hash: %s", out.p);
	}
	bt_buf_free(&out);
	free(url);
	return 0;
}
