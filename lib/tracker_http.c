/*
 * HTTP(S) trackers through libcurl: the only file that includes it. One
 * GET at a time (bt_http_get), or many at once in a multi handle whose
 * poll also waits on the UDP trackers' sockets.
 */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "tracker.h"
#include "util.h"

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

/* The options of every tracker GET. */
static void
setup(CURL *c, const char *url, const struct bt_tracker_opts *o,
    struct sink *k, char *cerr)
{
	long ms = (long)(o->timeout * 1000.0);

	if (ms < 1)
		ms = 1;
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
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
}

/* What a finished transfer means: 0, or -1 with e. */
static int
outcome(CURL *c, CURLcode rc, const struct sink *k, const char *cerr,
    long *status, struct bt_err *e)
{
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (k->toolarge)
		return bt_errf(e, BT_EX_DATAERR, -1, "answer larger than %d "
		    "bytes (limit BT_TRACKER_MAX_ANSWER)",
		    BT_TRACKER_MAX_ANSWER);
	if (k->oom)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	if (rc == CURLE_TOO_MANY_REDIRECTS)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "more than %d "
		    "redirects (limit BT_TRACKER_MAX_REDIRECTS)",
		    BT_TRACKER_MAX_REDIRECTS);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "timed out: %s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	if (rc != CURLE_OK)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	return 0;
}

int
bt_http_get(const char *url, const struct bt_tracker_opts *o,
    struct bt_buf *body, long *status, struct bt_err *e)
{
	char cerr[CURL_ERROR_SIZE];
	struct sink k = { body, 0, 0 };
	CURL *c;
	CURLcode rc;
	int r;

	body->len = 0;
	*status = 0;
	if ((c = curl_easy_init()) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "start a transfer");
	setup(c, url, o, &k, cerr);
	rc = curl_easy_perform(c);
	r = outcome(c, rc, &k, cerr, status, e);
	curl_easy_cleanup(c);
	return r;
}

/* Web seeds: one range of a file into a caller's buffer. */

struct range_sink {
	uint8_t *buf;
	size_t len, got;
	int toolong;
	const struct bt_http_range *o;
	long long t_byte;	/* the last byte, or the start */
	curl_off_t seen;	/* bytes counted at t_byte */
	int idle, stopped;
};

static size_t
on_range(char *p, size_t size, size_t nmemb, void *arg)
{
	struct range_sink *k = arg;
	size_t n = size * nmemb;

	if (n > k->len - k->got) {
		k->toolong = 1;
		return 0;
	}
	memcpy(k->buf + k->got, p, n);
	k->got += n;
	return n;
}

/* Called at least once a second: the idle clock and the stop flag. */
static int
on_range_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct range_sink *k = arg;
	long long now = bt_now_ms();

	(void)dltotal;
	(void)ultotal;
	(void)ulnow;
	if (k->o->stop != NULL && __atomic_load_n(k->o->stop,
	    __ATOMIC_RELAXED)) {
		k->stopped = 1;
		return 1;
	}
	if (dlnow != k->seen) {
		k->seen = dlnow;
		k->t_byte = now;
	} else if (k->o->idle_ms > 0 && now - k->t_byte > k->o->idle_ms) {
		k->idle = 1;
		return 1;
	}
	return 0;
}

int
bt_http_get_range(const char *url, int64_t from, size_t len, uint8_t *buf,
    const struct bt_http_range *o, struct bt_err *e)
{
	char cerr[CURL_ERROR_SIZE], range[64];
	struct range_sink k;
	long status = 0;
	CURL *c;
	CURLcode rc;
	int r = 0;

	if (len == 0)
		return 0;
	memset(&k, 0, sizeof(k));
	k.buf = buf;
	k.len = len;
	k.o = o;
	k.t_byte = bt_now_ms();
	if ((c = curl_easy_init()) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "start a transfer");
	snprintf(range, sizeof(range), "%lld-%lld", (long long)from,
	    (long long)from + (long long)len - 1);
	cerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RANGE, range);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)o->max_redirects);
	if (o->connect_ms > 0)
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)o->connect_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, BT_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_range);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_range_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &k);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (k.stopped)
		r = bt_errf(e, BT_EX_TEMPFAIL, -1, "stopped");
	else if (k.idle)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "no data in %d ms "
		    "(limit BT_SWARM_IDLE_MS, --idle-timeout)", o->idle_ms);
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "more than %d redirects "
		    "(limit BT_WEBSEED_MAX_REDIRECTS)", o->max_redirects);
	else if (status != 0 && status != 206 && status != 200)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "HTTP status %ld for "
		    "bytes %s", status, range);
	else if (k.toolong)
		r = bt_errf(e, BT_EX_DATAERR, -1, "more than the %zu bytes "
		    "asked for (bytes %s, HTTP status %ld)", len, range,
		    status);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "timed out: %s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (rc != CURLE_OK)
		r = bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s",
		    cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (k.got != len)
		r = bt_errf(e, BT_EX_DATAERR, -1, "%zu bytes for the %zu "
		    "asked for (bytes %s, HTTP status %ld)", k.got, len, range,
		    status);
	else if (status == 200 && from != 0)
		/* The whole resource, not our range: it is longer. */
		r = bt_errf(e, BT_EX_DATAERR, -1, "HTTP status 200, not 206, "
		    "for bytes %s", range);
	curl_easy_cleanup(c);
	return r;
}

/* Many transfers at once. */

struct xfer {
	struct xfer *next;	/* in the multi handle's list */
	CURL *c;
	struct sink k;
	char cerr[CURL_ERROR_SIZE];
	void *tag;
};

struct bt_http_multi {
	CURLM *m;
	int running;
	struct xfer *head;	/* every transfer not yet handed back */
};

struct bt_http_multi *
bt_http_multi_new(void)
{
	struct bt_http_multi *m = calloc(1, sizeof(*m));

	if (m != NULL && (m->m = curl_multi_init()) == NULL) {
		free(m);
		m = NULL;
	}
	return m;
}

static void
xfer_free(struct bt_http_multi *m, struct xfer *x)
{
	struct xfer **p;

	for (p = &m->head; *p != NULL; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	curl_multi_remove_handle(m->m, x->c);
	curl_easy_cleanup(x->c);
	free(x);
}

void
bt_http_multi_free(struct bt_http_multi *m)
{
	if (m == NULL)
		return;
	/* The transfers still running: stopped, freed. */
	while (m->head != NULL)
		xfer_free(m, m->head);
	curl_multi_cleanup(m->m);
	free(m);
}

int
bt_http_multi_add(struct bt_http_multi *m, const char *url,
    const struct bt_tracker_opts *o, struct bt_buf *body, void *tag,
    struct bt_err *e)
{
	struct xfer *x;

	body->len = 0;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	if ((x->c = curl_easy_init()) == NULL) {
		free(x);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "start a transfer");
	}
	x->k.body = body;
	x->tag = tag;
	setup(x->c, url, o, &x->k, x->cerr);
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(m->m, x->c) != CURLM_OK) {
		curl_easy_cleanup(x->c);
		free(x);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: cannot "
		    "add a transfer");
	}
	x->next = m->head;
	m->head = x;
	m->running++;
	return 0;
}

int
bt_http_multi_wait(struct bt_http_multi *m, struct pollfd *extra,
    size_t nextra, int ms, struct bt_err *e)
{
	struct curl_waitfd *w = NULL;
	CURLMcode mc;
	size_t i;

	if (nextra > 0 && (w = calloc(nextra, sizeof(*w))) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (i = 0; i < nextra; i++) {
		w[i].fd = extra[i].fd;
		w[i].events = CURL_WAIT_POLLIN;
	}
	/* Returns at the first event, or at curl's own next timeout. */
	mc = curl_multi_poll(m->m, w, (unsigned)nextra, ms, NULL);
	for (i = 0; i < nextra; i++)
		extra[i].revents = (w[i].revents & CURL_WAIT_POLLIN) ?
		    POLLIN : 0;
	free(w);
	if (mc == CURLM_OK)
		mc = curl_multi_perform(m->m, &m->running);
	if (mc != CURLM_OK)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "libcurl: %s",
		    curl_multi_strerror(mc));
	return 0;
}

int
bt_http_multi_done(struct bt_http_multi *m, void **tag, long *status,
    int *result, struct bt_err *e)
{
	struct xfer *x;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		*result = outcome(x->c, msg->data.result, &x->k, x->cerr,
		    status, e);
		*tag = x->tag;
		xfer_free(m, x);
		return 1;
	}
	return 0;
}
