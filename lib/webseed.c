/*
 * Web seeds (BEP 19): URLs, fetching a piece, and the threads that do
 * it for lib/swarm. See webseed.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "btlimits.h"
#include "tracker.h"
#include "webseed.h"

/* Append s (n bytes) to out at *len, percent-encoded if esc. */
static int
put(char *out, size_t cap, size_t *len, const char *s, size_t n, int esc,
    struct bt_err *e)
{
	char tmp[3 * 256 + 1];
	size_t m;

	while (n > 0) {
		size_t chunk = n > 256 ? 256 : n;
		const char *p = s;

		if (esc) {
			m = bt_url_escape((const uint8_t *)s, chunk, tmp);
			p = tmp;
		} else
			m = chunk;
		if (*len + m >= cap)
			return bt_errf(e, BT_EX_DATAERR, -1, "URL longer than "
			    "%zu bytes (limit BT_WEBSEED_MAX_URL)", cap - 1);
		memcpy(out + *len, p, m);
		*len += m;
		out[*len] = '\0';
		s += chunk;
		n -= chunk;
	}
	return 0;
}

int
bt_webseed_url(const struct bt_torrent *t, const char *base, size_t k,
    char *out, size_t cap, struct bt_err *e)
{
	size_t len = 0, bl = strlen(base);
	const char *p, *slash;

	if (cap == 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "no room for a URL");
	out[0] = '\0';
	if (put(out, cap, &len, base, bl, 0, e) < 0)
		return -1;
	/* BEP 19: a single file's URL is the file, unless it ends in '/'. */
	if (!t->multi) {
		if (bl > 0 && base[bl - 1] == '/')
			return put(out, cap, &len, t->name, strlen(t->name), 1,
			    e);
		return 0;
	}
	if (bl == 0 || base[bl - 1] != '/')
		if (put(out, cap, &len, "/", 1, 0, e) < 0)
			return -1;
	/* The path starts with the name: each component encoded. */
	for (p = t->files[k].path;; p = slash + 1) {
		slash = strchr(p, '/');
		if (put(out, cap, &len, p, slash != NULL ? (size_t)(slash - p) :
		    strlen(p), 1, e) < 0)
			return -1;
		if (slash == NULL)
			return 0;
		if (put(out, cap, &len, "/", 1, 0, e) < 0)
			return -1;
	}
}

int
bt_webseed_fetch(const struct bt_torrent *t, const char *base,
    uint32_t index, uint8_t *buf, int connect_ms, int idle_ms,
    const int *stop, struct bt_err *e)
{
	struct bt_http_range o = { connect_ms, idle_ms,
	    BT_WEBSEED_MAX_REDIRECTS, stop };
	int64_t start = (int64_t)index * t->piece_length;
	int64_t end = start + bt_piece_size(t, index);
	char *url;
	size_t k;

	if ((url = malloc(BT_WEBSEED_MAX_URL)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (k = 0; k < t->nfiles; k++) {
		const struct bt_file *f = &t->files[k];
		int64_t a = start > f->offset ? start : f->offset;
		int64_t b = end < f->offset + f->length ? end :
		    f->offset + f->length;

		if (a >= b)
			continue;
		/* BEP 47: padding is zeros, on no server. */
		if (f->pad) {
			memset(buf + (a - start), 0, (size_t)(b - a));
			continue;
		}
		if (bt_webseed_url(t, base, k, url, BT_WEBSEED_MAX_URL, e) < 0 ||
		    bt_http_get_range(url, a - f->offset, (size_t)(b - a),
		    buf + (a - start), &o, e) < 0) {
			free(url);
			return -1;
		}
	}
	free(url);
	return 0;
}

struct arg {
	struct bt_webseeds *ws;
	size_t k;
};

static void *
ws_main(void *p)
{
	struct bt_webseeds *ws = ((struct arg *)p)->ws;
	struct bt_webseed *w = &ws->w[((struct arg *)p)->k];
	struct bt_err e;
	uint64_t one = 1;
	uint32_t index;
	uint8_t *buf;
	int rc;

	free(p);
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		while (w->state != BT_WS_BUSY && !ws->stop)
			pthread_cond_wait(&ws->cv, &ws->mu);
		if (ws->stop)
			break;
		index = w->index;
		buf = w->buf;
		pthread_mutex_unlock(&ws->mu);
		bt_err_clear(&e);
		rc = bt_webseed_fetch(ws->t, w->url, index, buf, ws->connect_ms,
		    ws->idle_ms, &w->abort, &e);
		pthread_mutex_lock(&ws->mu);
		w->rc = rc;
		w->err = e;
		w->state = BT_WS_DONE;
		if (write(ws->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
	pthread_mutex_unlock(&ws->mu);
	return NULL;
}

int
bt_webseeds_start(struct bt_webseeds *ws, const struct bt_torrent *t,
    const char *const *urls, size_t n, int connect_ms, int idle_ms,
    struct bt_err *e)
{
	size_t k;

	memset(ws, 0, sizeof(*ws));
	ws->efd = -1;
	ws->t = t;
	ws->connect_ms = connect_ms;
	ws->idle_ms = idle_ms;
	if (n == 0)
		return 0;
	if (bt_http_global_init(e) < 0)
		return -1;
	if ((ws->w = calloc(n, sizeof(*ws->w))) == NULL) {
		bt_http_global_free();
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	ws->n = n;
	ws->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ws->efd < 0 || pthread_mutex_init(&ws->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&ws->cv, NULL) != 0) {
		pthread_mutex_destroy(&ws->mu);
		goto fail;
	}
	ws->locks = 1;
	for (k = 0; k < n; k++) {
		struct arg *a = malloc(sizeof(*a));

		ws->w[k].url = urls[k];
		if (a == NULL)
			goto fail;
		a->ws = ws;
		a->k = k;
		if (pthread_create(&ws->w[k].th, NULL, ws_main, a) != 0) {
			free(a);
			goto fail;
		}
		ws->w[k].started = 1;
	}
	return 0;
fail:
	bt_errf(e, BT_EX_SOFTWARE, -1, "web seeds: cannot start: %s",
	    strerror(errno));
	bt_webseeds_stop(ws);
	return -1;
}

void
bt_webseeds_stop(struct bt_webseeds *ws)
{
	size_t k;

	if (ws->locks) {
		pthread_mutex_lock(&ws->mu);
		ws->stop = 1;
		for (k = 0; k < ws->n; k++)
			__atomic_store_n(&ws->w[k].abort, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&ws->cv);
		pthread_mutex_unlock(&ws->mu);
	}
	for (k = 0; k < ws->n; k++)
		if (ws->w[k].started)
			pthread_join(ws->w[k].th, NULL);
	if (ws->locks) {
		pthread_cond_destroy(&ws->cv);
		pthread_mutex_destroy(&ws->mu);
	}
	if (ws->efd >= 0)
		close(ws->efd);
	if (ws->n > 0)
		bt_http_global_free();
	free(ws->w);
	memset(ws, 0, sizeof(*ws));
	ws->efd = -1;
}

void
bt_webseed_give(struct bt_webseeds *ws, size_t k, uint32_t index,
    uint8_t *buf)
{
	pthread_mutex_lock(&ws->mu);
	ws->w[k].index = index;
	ws->w[k].buf = buf;
	ws->w[k].state = BT_WS_BUSY;
	__atomic_store_n(&ws->w[k].abort, 0, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&ws->cv);
	pthread_mutex_unlock(&ws->mu);
}

void
bt_webseed_abort(struct bt_webseeds *ws, size_t k)
{
	__atomic_store_n(&ws->w[k].abort, 1, __ATOMIC_RELAXED);
}

int
bt_webseed_take(struct bt_webseeds *ws, size_t k, uint32_t *index, int *rc,
    struct bt_err *e)
{
	int got = 0;

	pthread_mutex_lock(&ws->mu);
	if (ws->w[k].state == BT_WS_DONE) {
		*index = ws->w[k].index;
		*rc = ws->w[k].rc;
		*e = ws->w[k].err;
		ws->w[k].state = BT_WS_IDLE;
		ws->w[k].buf = NULL;
		got = 1;
	}
	pthread_mutex_unlock(&ws->mu);
	return got;
}
