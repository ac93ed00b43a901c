/*
 * HTTP(S) trackers through libcurl: the only file that includes it.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "btlimits.h"
#include "tracker.h"

static int curl_users;

int
bt_http_global_init(struct bt_err *e)
{
	if (curl_users++ > 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		curl_users = 0;
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "initialise");
	}
	return 0;
}

void
bt_http_global_free(void)
{
	if (curl_users > 0 && --curl_users == 0)
		curl_global_cleanup();
}

struct sink {
	struct bt_buf *body;
	int toolarge, oom;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *k = arg;
	size_t n = size * nmemb;

	/* Returning less than n makes libcurl stop the transfer. */
	if (n > BT_TRACKER_MAX_ANSWER - k->body->len) {
		k->toolarge = 1;
		return 0;
	}
	if (bt_buf_add(k->body, p, n) < 0) {
		k->oom = 1;
		return 0;
	}
	return n;
}

int
bt_http_get(const char *url, const struct bt_tracker_opts *o,
    struct bt_buf *body, long *status, struct bt_err *e)
{
	char cerr[CURL_ERROR_SIZE];
	struct sink k = { body, 0, 0 };
	long ms = (long)(o->timeout * 1000.0);
	CURL *c;
	CURLcode rc;
	int r = 0;

	body->len = 0;
	*status = 0;
	if (ms < 1)
		ms = 1;
	if ((c = curl_easy_init()) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "start a transfer");
	cerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)BT_TRACKER_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms * BT_HTTP_TOTAL_FACTOR);
	curl_easy_setopt(c, CURLOPT_USERAGENT, BT_USER_AGENT);
	/* Trackers answer small bodies; "gzip" lets big ones be smaller. */
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (k.toolarge)
		r = bt_errf(e, BT_EX_DATAERR, -1, "answer larger than %d "
		    "bytes (limit BT_TRACKER_MAX_ANSWER)",
		    BT_TRACKER_MAX_ANSWER);
	else if (k.oom)
		r = bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "more than %d redirects "
		    "(limit BT_TRACKER_MAX_REDIRECTS)",
		    BT_TRACKER_MAX_REDIRECTS);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "timed out: %s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (rc != CURLE_OK)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	return r;
}
