/*
 * UDP trackers (BEP 15): connect, then announce or scrape with the
 * connection id, which stays good for a minute. Every request is sent
 * again after 15 * 2^n seconds (the first wait is an option), and a
 * reply that is not ours (short, another transaction id) is ignored.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "tracker.h"
#include "util.h"

size_t
bt_udp_connect_req(uint8_t *out, uint32_t tx)
{
	bt_put64(out, BT_UDP_MAGIC);
	bt_put32(out + 8, BT_UDP_CONNECT);
	bt_put32(out + 12, tx);
	return BT_UDP_CONNECT_LEN;
}

size_t
bt_udp_announce_req(uint8_t *out, uint64_t conn, uint32_t tx,
    const struct bt_announce *a)
{
	bt_put64(out, conn);
	bt_put32(out + 8, BT_UDP_ANNOUNCE);
	bt_put32(out + 12, tx);
	memcpy(out + 16, a->info_hash, BT_SHA1_LEN);
	memcpy(out + 36, a->peer_id, BT_SHA1_LEN);
	bt_put64(out + 56, (uint64_t)a->downloaded);
	bt_put64(out + 64, (uint64_t)a->left);
	bt_put64(out + 72, (uint64_t)a->uploaded);
	bt_put32(out + 80, (uint32_t)a->event);
	bt_put32(out + 84, 0);		/* IP: the sender's */
	bt_put32(out + 88, a->key);
	bt_put32(out + 92, (uint32_t)a->numwant);
	out[96] = (uint8_t)(a->port >> 8);
	out[97] = (uint8_t)a->port;
	return BT_UDP_ANNOUNCE_LEN;
}

size_t
bt_udp_scrape_req(uint8_t *out, uint64_t conn, uint32_t tx,
    const uint8_t info_hash[BT_SHA1_LEN])
{
	bt_put64(out, conn);
	bt_put32(out + 8, BT_UDP_SCRAPE);
	bt_put32(out + 12, tx);
	memcpy(out + 16, info_hash, BT_SHA1_LEN);
	return BT_UDP_SCRAPE_LEN;
}

int
bt_udp_reply_parse(const uint8_t *p, size_t n, int action, uint32_t tx,
    struct bt_udp_reply *r, const char **why, struct bt_err *e)
{
	static const size_t need[] = { 16, 20, 20 };
	char text[BT_TRACKER_TEXT_BUF];
	uint32_t act;

	memset(r, 0, sizeof(*r));
	if (n < 8) {
		*why = "a reply shorter than 8 bytes";
		return 0;
	}
	if (bt_get32(p + 4) != tx) {
		*why = "a reply with another transaction id";
		return 0;
	}
	act = bt_get32(p);
	r->action = (int)act;
	if (act == BT_UDP_ERROR) {
		size_t l = n - 8;

		/* The text is the rest of the packet: no NUL is trusted. */
		bt_tracker_text((const char *)p + 8, l, text, sizeof(text));
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "tracker failure: "
		    "%s", text);
	}
	if (act != (uint32_t)action)
		return bt_errf(e, BT_EX_DATAERR, -1, "reply has action %lu, "
		    "expected %d", (unsigned long)act, action);
	if (n < need[action])
		return bt_errf(e, BT_EX_DATAERR, -1, "reply of %zu bytes, "
		    "expected at least %zu", n, need[action]);
	switch (action) {
	case BT_UDP_CONNECT:
		r->conn = bt_get64(p + 8);
		break;
	case BT_UDP_ANNOUNCE:
		r->interval = bt_get32(p + 8);
		r->leechers = bt_get32(p + 12);
		r->seeders = bt_get32(p + 16);
		r->peers = p + 20;
		r->peerslen = n - 20;
		break;
	case BT_UDP_SCRAPE:
		/* One torrent asked: the first triple is ours. */
		r->seeders = bt_get32(p + 8);
		r->completed = bt_get32(p + 12);
		r->leechers = bt_get32(p + 16);
		break;
	}
	return 1;
}

int
bt_udp_answer_dict(const struct bt_udp_reply *r, int v6, struct bt_buf *out)
{
	out->len = 0;
	bt_benc_dict(out);
	bt_benc_cstr(out, "complete");
	bt_benc_int(out, r->seeders);
	if (r->action == BT_UDP_SCRAPE) {
		bt_benc_cstr(out, "downloaded");
		bt_benc_int(out, r->completed);
	}
	bt_benc_cstr(out, "incomplete");
	bt_benc_int(out, r->leechers);
	if (r->action == BT_UDP_ANNOUNCE) {
		bt_benc_cstr(out, "interval");
		bt_benc_int(out, r->interval);
		bt_benc_cstr(out, v6 ? "peers6" : "peers");
		bt_benc_str(out, r->peers, r->peerslen);
	}
	bt_benc_end(out);
	return out->oom ? -1 : 0;
}

int
bt_udp_url_parse(const char *url, char *host, size_t hostsz, char *port,
    size_t portsz, struct bt_err *e)
{
	const char *h = url + 6, *he, *pe;
	long long pn;
	char num[8];

	if (bt_tracker_kind(url) != BT_TRACKER_UDP)
		return bt_errf(e, BT_EX_DATAERR, -1, "not a udp:// URL");
	if (*h == '[') {
		if ((he = strchr(++h, ']')) == NULL)
			return bt_errf(e, BT_EX_DATAERR, -1, "URL: no ']' "
			    "after an IPv6 address");
		pe = he + 1;
	} else {
		he = h + strcspn(h, ":/?");
		pe = he;
	}
	if (he == h)
		return bt_errf(e, BT_EX_DATAERR, -1, "URL: invalid host");
	if ((size_t)(he - h) >= hostsz)
		return bt_errf(e, BT_EX_DATAERR, -1, "URL: host longer than "
		    "%zu bytes (limit BT_TRACKER_MAX_HOST)", hostsz - 1);
	if (*pe != ':')
		return bt_errf(e, BT_EX_DATAERR, -1, "URL: no port");
	pe++;
	if (strcspn(pe, "/?") >= sizeof(num))
		return bt_errf(e, BT_EX_DATAERR, -1, "URL: invalid port");
	memcpy(num, pe, strcspn(pe, "/?"));
	num[strcspn(pe, "/?")] = '\0';
	if (bt_strtonum(num, 1, 65535, &pn, NULL) < 0)
		return bt_errf(e, BT_EX_DATAERR, -1, "URL: invalid port '%s'",
		    num);
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	snprintf(port, portsz, "%lld", pn);
	return 0;
}

/* The transport. */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)(now() * 1e6) ^ (uint32_t)getpid();
	return v;
}

struct xfer {
	int fd, v6;
	const struct bt_tracker_opts *o;
	uint8_t *buf;		/* BT_UDP_MAX_PACKET bytes */
	size_t ignored;
	const char *why;	/* of the last reply ignored */
	int err;		/* errno of a failed send or recv */
	double t0;
};

/*
 * Send pkt and wait for its answer, sending again after 15 * 2^n s.
 * *n counts the sends of this request. Returns 1 with r set, 2 when the
 * next send would come after the instant expire (a connection id too
 * old), -1 on error.
 */
static int
transact(struct xfer *x, const uint8_t *pkt, size_t len, int action,
    uint32_t tx, int *n, double expire, struct bt_udp_reply *r,
    struct bt_err *e)
{
	static const char *const name[] = { "connect", "announce", "scrape" };

	for (; *n <= x->o->retries; (*n)++) {
		double end;

		if (now() >= expire)
			return 2;
		if (send(x->fd, pkt, len, 0) < 0) {
			if (errno == EINTR)
				continue;
			x->err = errno;
			return bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s",
			    strerror(errno));
		}
		end = now() + x->o->timeout * (double)(1 << *n);
		for (;;) {
			struct pollfd pf = { x->fd, POLLIN, 0 };
			double left = end - now();
			ssize_t got;
			int k;

			if (left <= 0)
				break;
			k = poll(&pf, 1, (int)(left * 1000.0) + 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return bt_errf(e, BT_EX_SOFTWARE, -1,
				    "poll: %s", strerror(errno));
			if (k == 0)
				continue;
			got = recv(x->fd, x->buf, BT_UDP_MAX_PACKET, 0);
			if (got < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				x->err = errno;
				return bt_errf(e, BT_EX_UNAVAILABLE, -1,
				    "%s", strerror(errno));
			}
			k = bt_udp_reply_parse(x->buf, (size_t)got, action,
			    tx, r, &x->why, e);
			if (k != 0)
				return k;
			x->ignored++;
		}
	}
	if (x->ignored > 0)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "no answer to %s "
		    "after %d tries (%.1f s); %zu replies ignored, the last "
		    "%s", name[action], *n, now() - x->t0, x->ignored, x->why);
	return bt_errf(e, BT_EX_UNAVAILABLE, -1, "no answer to %s after %d "
	    "tries (%.1f s)", name[action], *n, now() - x->t0);
}

static struct bt_udp_conn *
conn_find(struct bt_tracker_session *s, const struct sockaddr *sa,
    socklen_t salen)
{
	size_t i;

	for (i = 0; i < s->nconn; i++)
		if (s->conn[i].salen == salen &&
		    memcmp(&s->conn[i].sa, sa, salen) == 0)
			return &s->conn[i];
	return NULL;
}

static struct bt_udp_conn *
conn_add(struct bt_tracker_session *s, const struct sockaddr *sa,
    socklen_t salen)
{
	struct bt_udp_conn *c;

	if ((c = conn_find(s, sa, salen)) != NULL)
		return c;
	if (s->nconn == s->capconn) {
		size_t cap = s->capconn ? 2 * s->capconn : 8;

		if ((c = realloc(s->conn, cap * sizeof(*c))) == NULL)
			return NULL;
		s->conn = c;
		s->capconn = cap;
	}
	c = &s->conn[s->nconn++];
	memset(c, 0, sizeof(*c));
	memcpy(&c->sa, sa, salen);
	c->salen = salen;
	c->when = -1e9;
	return c;
}

/* Errors that come at once, where the next address may do better. */
static int
fast_failure(int err)
{
	return err == ECONNREFUSED || err == ENETUNREACH ||
	    err == EHOSTUNREACH || err == EADDRNOTAVAIL || err == EAFNOSUPPORT;
}

/* One exchange with one address of the tracker. */
static int
ask(struct bt_tracker_session *s, const struct addrinfo *ai, int action,
    const struct bt_announce *a, struct bt_buf *raw, int *fast,
    struct bt_err *e)
{
	uint8_t pkt[BT_UDP_ANNOUNCE_LEN];
	struct bt_udp_conn *c;
	struct bt_udp_reply r;
	struct xfer x;
	int nconn = 0, nreq = 0, k = -1;
	uint32_t tx;
	size_t len;

	memset(&x, 0, sizeof(x));
	*fast = 0;
	x.fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Connected: only the tracker's replies, and ICMP errors, arrive. */
	if (x.fd < 0 || connect(x.fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int err = errno;

		if (x.fd >= 0)
			close(x.fd);
		*fast = 1;
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s",
		    strerror(err));
	}
	x.o = &s->opt;
	x.v6 = ai->ai_family == AF_INET6;
	x.t0 = now();
	if ((x.buf = malloc(BT_UDP_MAX_PACKET)) == NULL ||
	    (c = conn_add(s, ai->ai_addr, ai->ai_addrlen)) == NULL) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
		goto done;
	}
	for (;;) {
		if (now() - c->when >= BT_UDP_CONNID_LIFETIME) {
			double sent = now();

			tx = random32();
			len = bt_udp_connect_req(pkt, tx);
			k = transact(&x, pkt, len, BT_UDP_CONNECT, tx, &nconn,
			    1e300, &r, e);
			if (k < 0)
				goto done;
			/* Its minute counts from when we asked. */
			c->id = r.conn;
			c->when = sent;
		}
		tx = random32();
		if (action == BT_UDP_ANNOUNCE)
			len = bt_udp_announce_req(pkt, c->id, tx, a);
		else
			len = bt_udp_scrape_req(pkt, c->id, tx, a->info_hash);
		k = transact(&x, pkt, len, action, tx, &nreq,
		    c->when + BT_UDP_CONNID_LIFETIME, &r, e);
		if (k != 2)
			break;
	}
	if (k == 1 && bt_udp_answer_dict(&r, x.v6, raw) < 0) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
		k = -1;
	}
done:
	*fast = k < 0 && fast_failure(x.err);
	free(x.buf);
	close(x.fd);
	return k == 1 ? 0 : -1;
}

int
bt_udp_request(struct bt_tracker_session *s, const char *url, int action,
    const struct bt_announce *a, struct bt_buf *raw, struct bt_err *e)
{
	char host[BT_TRACKER_MAX_HOST + 1], port[8];
	struct addrinfo hints, *res, *ai;
	int g, r = -1, fast;

	if (bt_udp_url_parse(url, host, sizeof(host), port, sizeof(port),
	    e) < 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "%s: %s", host,
		    gai_strerror(g));
	/*
	 * A name with several addresses ("localhost": ::1 and 127.0.0.1):
	 * the next is tried only after a refusal, which comes at once, not
	 * after a timeout, which would multiply the waits.
	 */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		r = ask(s, ai, action, a, raw, &fast, e);
		if (r == 0 || !fast)
			break;
	}
	freeaddrinfo(res);
	return r;
}
