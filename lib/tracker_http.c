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
