/*
 * UDP trackers (BEP 15): connect, then announce or scrape with the
 * connection id, which stays good for a minute. Every request is sent
 * again after 15 * 2^n seconds (the first wait is an option), and a
 * reply that is not ours (short, another transaction id) is ignored.
 * An announce carries the URL's path and query as BEP 41 options. Each
 * request is a state machine (struct bt_udp_job) that lib/tracker.c
 * drives from one poll loop with the HTTP transfers.
 */
#include <errno.h>
#include <netdb.h>
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

const char *
bt_udp_url_request(const char *url)
{
	const char *h = url + 6;

	if (bt_tracker_kind(url) != BT_TRACKER_UDP)
		return "";
	/* Past the host (an IPv6 one holds ':') and the port. */
	if (*h == '[' && (h = strchr(h, ']')) == NULL)
		return "";
	h += strcspn(h, "/?");
	return h;
}

size_t
bt_udp_urldata(uint8_t *out, const char *req, size_t n)
{
	size_t o = 0, k;

	if (n == 0)
		return 0;
	/* BEP 41: one URLData option per 255 bytes, concatenated. */
	while (n > 0) {
		k = n < BT_UDP_URLDATA_CHUNK ? n : BT_UDP_URLDATA_CHUNK;
		out[o++] = BT_UDP_OPT_URLDATA;
		out[o++] = (uint8_t)k;
		memcpy(out + o, req, k);
		o += k;
		req += k;
		n -= k;
	}
	out[o++] = BT_UDP_OPT_END;
	return o;
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

double
bt_udp_now(void)
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
		v = (uint32_t)(bt_udp_now() * 1e6) ^ (uint32_t)getpid();
	return v;
}

/* The states of a job, BEP 15's exchange as seen from the client. */
enum {
	J_CONNECT,	/* connect sent, this job owns the address's connect */
	J_WAITCONN,	/* another job connects to the same address */
	J_REQUEST,	/* announce or scrape sent with the connection id */
};

#define NEVER	1e300

static size_t
conn_find(struct bt_tracker_session *s, const struct sockaddr *sa,
    socklen_t salen)
{
	size_t i;

	for (i = 0; i < s->nconn; i++)
		if (s->conn[i].salen == salen &&
		    memcmp(&s->conn[i].sa, sa, salen) == 0)
			return i;
	return s->nconn;
}

/* The index of sa's entry, added if new; s->nconn when out of memory. */
static size_t
conn_add(struct bt_tracker_session *s, const struct sockaddr *sa,
    socklen_t salen)
{
	struct bt_udp_conn *c;
	size_t i;

	if ((i = conn_find(s, sa, salen)) < s->nconn)
		return i;
	if (s->nconn == s->capconn) {
		size_t cap = s->capconn ? 2 * s->capconn : 8;

		if ((c = realloc(s->conn, cap * sizeof(*c))) == NULL)
			return s->nconn;
		s->conn = c;
		s->capconn = cap;
	}
	c = &s->conn[s->nconn];
	memset(c, 0, sizeof(*c));
	memcpy(&c->sa, sa, salen);
	c->salen = salen;
	c->when = -1e9;
	return s->nconn++;
}

/* Errors that come at once, where the next address may do better. */
static int
fast_failure(int err)
{
	return err == ECONNREFUSED || err == ENETUNREACH ||
	    err == EHOSTUNREACH || err == EADDRNOTAVAIL || err == EAFNOSUPPORT;
}

static void
close_fd(struct bt_udp_job *j)
{
	if (j->state == J_CONNECT && j->conn < j->s->nconn)
		j->s->conn[j->conn].busy = 0;	/* a waiting job takes over */
	j->state = J_WAITCONN;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

/* j->e is set: the job ends. */
static void
fail(struct bt_udp_job *j)
{
	close_fd(j);
	j->done = -1;
}

static void begin(struct bt_udp_job *);
static void need_id(struct bt_udp_job *);

/* A socket error: the next address after a fast one, else the end. */
static void
io_error(struct bt_udp_job *j, int err)
{
	close_fd(j);
	if (fast_failure(err) && j->ai->ai_next != NULL) {
		j->ai = j->ai->ai_next;
		begin(j);
		return;
	}
	bt_errf(&j->e, BT_EX_UNAVAILABLE, -1, "%s", strerror(err));
	j->done = -1;
}

/*
 * Send the packet of the current state, its *n-th send, and wait
 * 15 * 2^n s (the first wait an option) for the answer. A connection id
 * that would be too old by the next send is renewed first.
 */
static void
send_pkt(struct bt_udp_job *j)
{
	uint8_t pkt[BT_UDP_ANNOUNCE_MAX];
	struct bt_udp_conn *c = &j->s->conn[j->conn];
	int n = j->state == J_CONNECT ? j->nconn : j->nreq;
	size_t len;
	const char *req;

	if (j->state == J_CONNECT)
		len = bt_udp_connect_req(pkt, j->tx);
	else if (bt_udp_now() >= c->when + BT_UDP_CONNID_LIFETIME) {
		need_id(j);
		return;
	} else if (j->action == BT_UDP_ANNOUNCE) {
		len = bt_udp_announce_req(pkt, c->id, j->tx, j->a);
		req = bt_udp_url_request(j->url);
		len += bt_udp_urldata(pkt + len, req, strlen(req));
	} else
		len = bt_udp_scrape_req(pkt, c->id, j->tx, j->a->info_hash);
	while (send(j->fd, pkt, len, 0) < 0) {
		if (errno != EINTR) {
			io_error(j, errno);
			return;
		}
	}
	j->deadline = bt_udp_now() + j->s->opt.timeout * (double)(1 << n);
}

static void
send_request(struct bt_udp_job *j)
{
	j->state = J_REQUEST;
	j->tx = random32();
	send_pkt(j);
}

/* A connection id for the address: kept, another job's, or asked. */
static void
need_id(struct bt_udp_job *j)
{
	struct bt_udp_conn *c = &j->s->conn[j->conn];

	if (bt_udp_now() - c->when < BT_UDP_CONNID_LIFETIME) {
		send_request(j);
		return;
	}
	if (c->busy) {
		j->state = J_WAITCONN;
		j->deadline = NEVER;
		return;
	}
	c->busy = 1;
	j->state = J_CONNECT;
	j->asked = bt_udp_now();
	j->tx = random32();
	send_pkt(j);
}

/* Start over on the address j->ai. */
static void
begin(struct bt_udp_job *j)
{
	const struct addrinfo *ai = j->ai;
	int err;

	j->nconn = j->nreq = 0;
	j->ignored = 0;
	j->why = NULL;
	j->t0 = bt_udp_now();
	j->state = J_WAITCONN;
	j->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Connected: only the tracker's replies, and ICMP errors, arrive. */
	if (j->fd < 0 || connect(j->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = errno;
		close_fd(j);
		if (ai->ai_next != NULL) {
			j->ai = ai->ai_next;
			begin(j);
			return;
		}
		bt_errf(&j->e, BT_EX_UNAVAILABLE, -1, "%s", strerror(err));
		j->done = -1;
		return;
	}
	j->v6 = ai->ai_family == AF_INET6;
	if ((j->conn = conn_add(j->s, ai->ai_addr, ai->ai_addrlen)) ==
	    j->s->nconn) {
		bt_errf(&j->e, BT_EX_SOFTWARE, -1, "out of memory");
		fail(j);
		return;
	}
	need_id(j);
}

void
bt_udp_job_start(struct bt_udp_job *j, struct bt_tracker_session *s,
    const char *url, int action, const struct bt_announce *a)
{
	char host[BT_TRACKER_MAX_HOST + 1], port[8];
	struct addrinfo hints;
	int g;

	memset(j, 0, sizeof(*j));
	j->s = s;
	j->url = url;
	j->action = action;
	j->a = a;
	j->fd = -1;
	j->state = J_WAITCONN;
	j->deadline = NEVER;
	if (bt_udp_url_parse(url, host, sizeof(host), port, sizeof(port),
	    &j->e) < 0) {
		j->done = -1;
		return;
	}
	if ((j->buf = malloc(BT_UDP_MAX_PACKET)) == NULL) {
		bt_errf(&j->e, BT_EX_SOFTWARE, -1, "out of memory");
		j->done = -1;
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((g = getaddrinfo(host, port, &hints, &j->res)) != 0) {
		j->res = NULL;
		bt_errf(&j->e, BT_EX_UNAVAILABLE, -1, "%s: %s", host,
		    gai_strerror(g));
		j->done = -1;
		return;
	}
	/*
	 * A name with several addresses ("localhost": ::1 and 127.0.0.1):
	 * the next is tried only after a refusal, which comes at once, not
	 * after a timeout, which would multiply the waits.
	 */
	j->ai = j->res;
	begin(j);
}

static void
on_readable(struct bt_udp_job *j)
{
	struct bt_udp_conn *c;
	struct bt_udp_reply r;
	ssize_t got;
	int k;

	while (j->done == 0 && j->fd >= 0 && j->state != J_WAITCONN) {
		int action = j->state == J_CONNECT ? BT_UDP_CONNECT :
		    j->action;

		got = recv(j->fd, j->buf, BT_UDP_MAX_PACKET, MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				io_error(j, errno);
			return;
		}
		k = bt_udp_reply_parse(j->buf, (size_t)got, action, j->tx,
		    &r, &j->why, &j->e);
		if (k == 0) {
			j->ignored++;
			continue;
		}
		if (k < 0) {
			fail(j);
			return;
		}
		if (j->state == J_CONNECT) {
			c = &j->s->conn[j->conn];
			c->id = r.conn;
			/* Its minute counts from when we asked. */
			c->when = j->asked;
			c->busy = 0;
			send_request(j);
			continue;
		}
		if (bt_udp_answer_dict(&r, j->v6, &j->raw) < 0) {
			bt_errf(&j->e, BT_EX_SOFTWARE, -1, "out of memory");
			fail(j);
			return;
		}
		close_fd(j);
		j->done = 1;
	}
}

static void
on_timer(struct bt_udp_job *j)
{
	static const char *const name[] = { "connect", "announce", "scrape" };
	int *n = j->state == J_CONNECT ? &j->nconn : &j->nreq;
	int action = j->state == J_CONNECT ? BT_UDP_CONNECT : j->action;

	if (++*n <= j->s->opt.retries) {
		send_pkt(j);
		return;
	}
	if (j->ignored > 0)
		bt_errf(&j->e, BT_EX_UNAVAILABLE, -1, "no answer to %s "
		    "after %d tries (%.1f s); %zu replies ignored, the last "
		    "%s", name[action], *n, bt_udp_now() - j->t0, j->ignored,
		    j->why);
	else
		bt_errf(&j->e, BT_EX_UNAVAILABLE, -1, "no answer to %s "
		    "after %d tries (%.1f s)", name[action], *n,
		    bt_udp_now() - j->t0);
	fail(j);
}

void
bt_udp_job_step(struct bt_udp_job *j, int readable)
{
	if (j->done == 0 && readable)
		on_readable(j);
	if (j->done != 0)
		return;
	if (j->state == J_WAITCONN)
		need_id(j);
	else if (bt_udp_now() >= j->deadline)
		on_timer(j);
}

double
bt_udp_job_deadline(const struct bt_udp_job *j)
{
	return j->done == 0 && j->state != J_WAITCONN ? j->deadline : NEVER;
}

void
bt_udp_job_free(struct bt_udp_job *j)
{
	if (j->fd >= 0)
		close_fd(j);
	if (j->res != NULL)
		freeaddrinfo(j->res);
	free(j->buf);
	bt_buf_free(&j->raw);
	j->res = NULL;
	j->buf = NULL;
}
