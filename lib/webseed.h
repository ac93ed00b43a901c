/*
 * Web seeds (BEP 19, GetRight style): an HTTP server holding the
 * torrent's files, used as a seed that never chokes. The pieces come by
 * HTTP range requests (lib/tracker_http, the only user of libcurl), one
 * per file a piece spans.
 *
 * URLs (BEP 19): in a single-file torrent the URL is the file itself,
 * with the name appended if it ends with '/'; in a multi-file torrent
 * it is a folder: URL, '/' if it lacks one, then the name and the path
 * components, each percent-encoded, joined by '/'. BEP 47 padding files
 * are zeros and never fetched.
 *
 * Each web seed is one thread with a blocking transfer: the engine
 * (lib/swarm) gives it a piece and its buffer (bt_webseed_give), the
 * thread fetches the whole piece into it and writes to an eventfd that
 * the engine polls, and the engine takes the result (bt_webseed_take)
 * and checks the piece's SHA-1 as it does a peer's. The buffer is the
 * thread's alone until the result is taken.
 */
#ifndef BT_WEBSEED_H
#define BT_WEBSEED_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"

/* The URL of file k of t on the web seed base: 0, or -1 with e. */
int bt_webseed_url(const struct bt_torrent *t, const char *base, size_t k,
    char *out, size_t cap, struct bt_err *e);

/*
 * Fetch piece index of t from base into buf (the piece's length): a
 * range request per file it spans. connect_ms and idle_ms bound each
 * request (0: libcurl's connect timeout, no idle limit); *stop (if not
 * NULL) set by another thread ends it. 0, or -1 with e.
 */
int bt_webseed_fetch(const struct bt_torrent *t, const char *base,
    uint32_t index, uint8_t *buf, int connect_ms, int idle_ms,
    const int *stop, struct bt_err *e);

enum { BT_WS_IDLE, BT_WS_BUSY, BT_WS_DONE };

struct bt_webseed {
	const char *url;
	pthread_t th;
	int started;
	/* under the set's mutex */
	int state;		/* BT_WS_* */
	uint32_t index;
	uint8_t *buf;
	int rc;			/* of the last piece: 0, or -1 with err */
	struct bt_err err;
	int abort;		/* read atomically by the transfer */
	/* the engine's own, never touched by the thread */
	int busy, dead, fails;
	int yield;		/* its piece is aborted, for the peers */
	long long t_retry;
};

struct bt_webseeds {
	const struct bt_torrent *t;
	struct bt_webseed *w;
	size_t n;
	int connect_ms, idle_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;		/* written as a piece is done */
	int stop;		/* read atomically by the transfers */
	int locks;		/* mu and cv exist */
};

/*
 * Start one thread for each of the n URLs (the caller keeps them).
 * 0, or -1 with e (the set is then stopped).
 */
int bt_webseeds_start(struct bt_webseeds *ws, const struct bt_torrent *t,
    const char *const *urls, size_t n, int connect_ms, int idle_ms,
    struct bt_err *e);
/* End every transfer (within about a second) and every thread. */
void bt_webseeds_stop(struct bt_webseeds *ws);
/* End web seed k's transfer (within about a second): its piece comes
   back failed. */
void bt_webseed_abort(struct bt_webseeds *ws, size_t k);
/* Give web seed k piece index to fetch into buf. */
void bt_webseed_give(struct bt_webseeds *ws, size_t k, uint32_t index,
    uint8_t *buf);
/*
 * Take web seed k's finished piece: 1 with *index and *rc (0, or -1
 * with e), 0 if it has none.
 */
int bt_webseed_take(struct bt_webseeds *ws, size_t k, uint32_t *index,
    int *rc, struct bt_err *e);

#endif
