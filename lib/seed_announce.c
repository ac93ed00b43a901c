/*
 * The seeder's announces, on a thread of their own: a tracker that is slow
 * or dead (an HTTP request may take BT_HTTP_TOTAL_FACTOR times the
 * timeout) must not stall the peers. BEP 3: "started" first, then
 * announces at the tracker's interval, "stopped" when the seeder ends.
 * Every tracker given is announced to (a seeder wants to be found through
 * each of them), and "stopped" goes to those that answered.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bencode.h"
#include "seed_int.h"
#include "tracker.h"
#include "util.h"

void
bt_seed_logf(const struct bt_seed_opts *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (o->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->log(o->logarg, line);
}

/* Announce to one tracker; the interval it asks for, or -1 on failure. */
static int64_t
announce_one(struct bt_sann *a, struct bt_tracker_session *s,
    const char *url, int event)
{
	static const char *const name[] = { "", "completed", "started",
	    "stopped" };
	struct bt_announce an;
	struct bt_buf out = { 0 };
	struct bt_bdoc d = { 0 };
	struct bt_tracker_answer ans;
	char warn[4 * BT_TRACKER_MAX_TEXT + 1], u[4 * 256 + 1];
	struct bt_err e;
	int64_t interval = -1;
	size_t i, added = 0;

	memset(&an, 0, sizeof(an));
	memset(&ans, 0, sizeof(ans));
	memcpy(an.info_hash, a->t->info_hash, BT_SHA1_LEN);
	memcpy(an.peer_id, a->peer_id, 20);
	an.port = a->port;
	pthread_mutex_lock(&a->mu);
	an.uploaded = a->uploaded;
	an.left = a->left;
	pthread_mutex_unlock(&a->mu);
	an.event = event;
	an.numwant = event == BT_EVENT_STOPPED ? 0 : BT_TRACKER_NUMWANT;
	if (getrandom(&an.key, sizeof(an.key), 0) != sizeof(an.key))
		an.key = (uint32_t)time(NULL);
	bt_escape(url, strlen(url), u, sizeof(u));
	if (bt_tracker_announce(s, url, &an, a->o->torrent_path, &out, warn,
	    sizeof(warn), &e) < 0) {
		bt_seed_logf(a->o, "%s: announce%s%s: %s", u,
		    *name[event] ? " " : "", name[event], e.msg);
		goto fail;
	}
	if (warn[0] != '\0')
		bt_seed_logf(a->o, "%s: tracker warning: %s", u, warn);
	if (bt_bdecode(&d, out.p, out.len, 0, &e) < 0 ||
	    bt_tracker_answer_parse(&d, &ans, BT_SEED_MAX_DIAL, &e) < 0) {
		bt_seed_logf(a->o, "%s: announce answer: %s", u, e.msg);
		goto fail;
	}
	interval = ans.interval > 0 ? ans.interval : BT_SEED_ANNOUNCE_MAX;
	if (event != BT_EVENT_STOPPED) {
		pthread_mutex_lock(&a->mu);
		for (i = 0; i < ans.peers.n; i++)
			if (a->found.n < BT_SEED_MAX_DIAL &&
			    bt_peerlist_add(&a->found, &ans.peers.peer[i]) > 0)
				added++;
		pthread_mutex_unlock(&a->mu);
		if (added > 0) {
			uint64_t one = 1;

			/* A full counter means the loop is woken anyway. */
			(void)!write(a->efd, &one, sizeof(one));
		}
	}
	bt_seed_logf(a->o, "%s: announce%s%s: %zu peers, interval %lld s", u,
	    *name[event] ? " " : "", name[event], ans.peers.n,
	    (long long)interval);
fail:
	pthread_mutex_lock(&a->mu);
	if (interval >= 0)
		a->ok++;
	else
		a->failed++;
	pthread_mutex_unlock(&a->mu);
	bt_tracker_answer_free(&ans);
	bt_bdoc_free(&d);
	bt_buf_free(&out);
	return interval;
}

static void *
announcer(void *arg)
{
	struct bt_sann *a = arg;
	struct bt_tracker_opts to = { BT_TRACKER_TIMEOUT, BT_UDP_RETRIES };
	struct bt_tracker_session s;
	struct bt_err e;
	uint8_t *started;
	int event = BT_EVENT_STARTED, stop;
	size_t i, n = a->o->ntrackers;

	if (a->o->tracker_timeout > 0)
		to.timeout = a->o->tracker_timeout;
	if ((started = calloc(n ? n : 1, 1)) == NULL)
		return NULL;
	if (bt_tracker_session_init(&s, &to, &e) < 0) {
		bt_seed_logf(a->o, "announce: %s", e.msg);
		free(started);
		return NULL;
	}
	for (;;) {
		int64_t wait = -1;
		struct timespec ts;

		for (i = 0; i < n; i++) {
			int64_t iv;

			pthread_mutex_lock(&a->mu);
			stop = a->stop;
			pthread_mutex_unlock(&a->mu);
			if (stop)
				break;
			iv = announce_one(a, &s, a->o->trackers[i],
			    started[i] ? BT_EVENT_NONE : event);
			if (iv < 0)
				continue;
			started[i] = 1;
			if (iv < BT_SEED_ANNOUNCE_MIN)
				iv = BT_SEED_ANNOUNCE_MIN;
			if (wait < 0 || iv < wait)
				wait = iv;
		}
		if (wait < 0 || wait > BT_SEED_ANNOUNCE_MAX)
			wait = wait < 0 ? BT_SEED_ANNOUNCE_RETRY :
			    BT_SEED_ANNOUNCE_MAX;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)wait;
		pthread_mutex_lock(&a->mu);
		while (!a->stop)
			if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) ==
			    ETIMEDOUT)
				break;
		stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
	}
	/* BEP 3: "stopped" when the client ends, to whoever knew us. */
	s.opt.timeout = BT_SEED_STOP_TIMEOUT;
	s.opt.retries = 0;
	for (i = 0; i < n; i++)
		if (started[i])
			announce_one(a, &s, a->o->trackers[i],
			    BT_EVENT_STOPPED);
	bt_tracker_session_free(&s);
	free(started);
	return NULL;
}

int
bt_sann_start(struct bt_sann *a, const struct bt_torrent *t,
    const struct bt_seed_opts *o, const uint8_t peer_id[20], uint16_t port,
    int64_t left, struct bt_err *e)
{
	sigset_t all, old;
	int r;

	memset(&a->found, 0, sizeof(a->found));
	a->running = 0;
	a->stop = 0;
	a->t = t;
	a->o = o;
	memcpy(a->peer_id, peer_id, 20);
	a->port = port;
	a->uploaded = 0;
	a->left = left;
	a->ok = a->failed = 0;
	if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "eventfd: %s",
		    strerror(errno));
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (o->ntrackers == 0)
		return 0;
	/* Signals go to the event loop, never to this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->tid, NULL, announcer, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "announce thread: %s",
		    strerror(r));
	a->running = 1;
	return 0;
}

void
bt_sann_update(struct bt_sann *a, int64_t uploaded, int64_t left)
{
	pthread_mutex_lock(&a->mu);
	a->uploaded = uploaded;
	a->left = left;
	pthread_mutex_unlock(&a->mu);
}

void
bt_sann_take(struct bt_sann *a, struct bt_peerlist *l)
{
	struct bt_peerlist empty = { 0 };

	bt_peerlist_free(l);
	pthread_mutex_lock(&a->mu);
	*l = a->found;
	a->found = empty;
	pthread_mutex_unlock(&a->mu);
}

void
bt_sann_stop(struct bt_sann *a)
{
	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->tid, NULL);
		a->running = 0;
	}
	bt_peerlist_free(&a->found);
	if (a->efd >= 0)
		close(a->efd);
	a->efd = -1;
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
}
