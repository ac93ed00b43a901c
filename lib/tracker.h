/*
 * Trackers: announce and scrape over HTTP(S) (BEP 3, BEP 23 compact
 * peers, BEP 7 IPv6, BEP 48 scrape) and UDP (BEP 15), and the tracker
 * answer stream of bt(7) that bt-announce writes and bt-peers reads:
 * one bencoded dict per answer, the tracker's own dict re-encoded with
 * its keys sorted, plus context keys no tracker uses:
 *
 *	x-bt-info-hash	20 raw bytes
 *	x-bt-torrent	the torrent's path as given ("-" for stdin); left
 *			out for a magnet link (torrent NULL below)
 *	x-bt-tracker	the announce URL that answered
 *
 * A UDP answer becomes the dict an HTTP tracker would have sent:
 * interval, complete, incomplete, and peers (or peers6) in compact form.
 * A scrape answer is the flat dict complete, downloaded, incomplete
 * plus the same context keys.
 *
 * bt_tracker_ask asks several trackers at once: the HTTP(S) ones as
 * transfers of one libcurl multi handle, the UDP ones through their
 * sockets, all in one poll loop, and hands each answer (or failure) to
 * a callback the moment it comes.
 *
 * Only lib/tracker_http.c includes libcurl.
 */
#ifndef BT_TRACKER_H
#define BT_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

#include "bencode.h"
#include "btlimits.h"
#include "err.h"
#include "peerlist.h"
#include "sha1.h"

#define BT_CTX_INFO_HASH	"x-bt-info-hash"
#define BT_CTX_TORRENT		"x-bt-torrent"
#define BT_CTX_TRACKER		"x-bt-tracker"
#define BT_CTX_PREFIX		"x-bt-"

/* The event of an announce, numbered as BEP 15 numbers them. */
enum bt_event {
	BT_EVENT_NONE = 0,
	BT_EVENT_COMPLETED = 1,
	BT_EVENT_STARTED = 2,
	BT_EVENT_STOPPED = 3,
};

/* What an announce tells the tracker. */
struct bt_announce {
	uint8_t info_hash[BT_SHA1_LEN];
	uint8_t peer_id[BT_SHA1_LEN];
	uint16_t port;
	int64_t uploaded, downloaded, left;
	int event;		/* enum bt_event */
	int32_t numwant;
	uint32_t key;
};

struct bt_tracker_opts {
	/*
	 * Seconds: the first UDP wait (doubled at each retransmission,
	 * BEP 15), and the HTTP connect limit; a whole HTTP request may
	 * take BT_HTTP_TOTAL_FACTOR times this.
	 */
	double timeout;
	int retries;		/* UDP retransmissions after the first send */
};

/*
 * A UDP connection id, kept for its minute (BEP 15) within one run. While
 * one request connects (busy), others to the same address wait for its
 * id instead of connecting too.
 */
struct bt_udp_conn {
	struct sockaddr_storage sa;
	socklen_t salen;
	uint64_t id;
	double when;		/* monotonic seconds when it was given */
	int busy;		/* a connect to this address is under way */
};

struct bt_tracker_session {
	struct bt_tracker_opts opt;
	struct bt_udp_conn *conn;
	size_t nconn, capconn;
	int curl_ready;
};

/*
 * Text from a tracker (failure reason, warning, UDP error) made printable
 * (bt_escape) and bounded: past BT_TRACKER_MAX_TEXT bytes it is cut and
 * "... (cut at 200 bytes, limit BT_TRACKER_MAX_TEXT)" says so. out should
 * hold BT_TRACKER_TEXT_BUF bytes. Returns out.
 */
#define BT_TRACKER_TEXT_BUF	(4 * BT_TRACKER_MAX_TEXT + 64)
char *bt_tracker_text(const char *p, size_t n, char *out, size_t outsz);

/* 1 for http(s)://, 2 for udp://, 0 for anything else. */
enum { BT_TRACKER_OTHER = 0, BT_TRACKER_HTTP = 1, BT_TRACKER_UDP = 2 };
int bt_tracker_kind(const char *url);

int bt_tracker_session_init(struct bt_tracker_session *s,
    const struct bt_tracker_opts *o, struct bt_err *e);
void bt_tracker_session_free(struct bt_tracker_session *s);

/*
 * Announce to one tracker. On success out holds the answer of the
 * stream (context keys added) and, when warn is not NULL, warn holds the
 * tracker's "warning message" made printable, or "". Errors: a failure
 * reason or no answer is BT_EX_UNAVAILABLE with the tracker's text; a
 * malformed answer is BT_EX_DATAERR.
 */
int bt_tracker_announce(struct bt_tracker_session *s, const char *url,
    const struct bt_announce *a, const char *torrent, struct bt_buf *out,
    char *warn, size_t warnsz, struct bt_err *e);
/* Scrape one torrent (BEP 48); out as above, the flat scrape dict. */
int bt_tracker_scrape(struct bt_tracker_session *s, const char *url,
    const uint8_t info_hash[BT_SHA1_LEN], const char *torrent,
    struct bt_buf *out, struct bt_err *e);

/*
 * What bt_tracker_ask hands on for tracker url[i]: its answer (as
 * bt_tracker_announce or bt_tracker_scrape make it) and warning (or ""),
 * or, when answer is NULL, the error e.
 */
struct bt_tracker_result {
	size_t i;
	const char *url;
	const struct bt_buf *answer;
	const char *warn;
	const struct bt_err *e;
};

/*
 * Announce to (or, with scrape, scrape) the n trackers of url[] at once,
 * in one loop: each HTTP(S) one a transfer of one libcurl multi handle,
 * each UDP one its own socket with BEP 15's retransmissions. Names are
 * resolved first, one after another. on_result gets every tracker's
 * result as it comes (a URL refused before asking first, in order); a
 * non-zero return stops the asking at once, and is returned. Returns 0
 * once every tracker has answered or failed, -1 with e on an internal
 * error (out of memory, poll).
 */
int bt_tracker_ask(struct bt_tracker_session *s, const char *const *url,
    size_t n, int scrape, const struct bt_announce *a, const char *torrent,
    int (*on_result)(void *, const struct bt_tracker_result *), void *arg,
    struct bt_err *e);

/*
 * A tracker answer read back from the stream (or straight from a
 * tracker), checked: peers from compact IPv4 (BEP 23), peers6 (BEP 7)
 * and the dictionary model (BEP 3). Pointers go into the document.
 */
struct bt_tracker_answer {
	int64_t interval, min_interval, complete, incomplete;	/* or -1 */
	const char *warning;	/* "warning message", or NULL */
	size_t warning_len;
	int has_info_hash;
	uint8_t info_hash[BT_SHA1_LEN];
	const char *torrent, *tracker;	/* context, or NULL */
	size_t torrent_len, tracker_len;
	struct bt_peerlist peers;	/* deduplicated, at most maxpeers */
	size_t dropped;		/* peers past maxpeers */
	size_t named;		/* dictionary peers given by a DNS name,
				   skipped: a parser does not resolve */
};
/*
 * Check the dict at the root of d. A "failure reason" is an error
 * (BT_EX_UNAVAILABLE, its text quoted); anything not an announce answer
 * (not a dict, a scrape answer, no peers) and every malformed peer
 * (a compact string not a multiple of 6 or 18, port 0, a bad address)
 * is BT_EX_DATAERR naming the problem. Free with bt_tracker_answer_free
 * whatever the result.
 */
int bt_tracker_answer_parse(const struct bt_bdoc *d,
    struct bt_tracker_answer *a, size_t maxpeers, struct bt_err *e);
void bt_tracker_answer_free(struct bt_tracker_answer *a);

/*
 * Re-encode the dict at the root of d with every dict's keys sorted
 * (repeated keys kept once, the first), the tracker's own keys starting
 * with "x-bt-" dropped, and the three context keys added.
 */
int bt_answer_encode(const struct bt_bdoc *d,
    const uint8_t info_hash[BT_SHA1_LEN], const char *torrent,
    const char *tracker, struct bt_buf *out, struct bt_err *e);

/* The pure parts, exposed for the unit tests. */

/*
 * Percent-encode n bytes for a query (RFC 3986: unreserved bytes stay,
 * every other becomes %XX, upper case). out holds 3n+1 bytes.
 */
size_t bt_url_escape(const uint8_t *p, size_t n, char *out);
/* The full announce URL: base, then '?' or '&', then the query. */
int bt_http_announce_url(const char *base, const struct bt_announce *a,
    struct bt_buf *out, struct bt_err *e);
/* BEP 48: the scrape URL of an announce URL (".../announce..." only). */
int bt_http_scrape_url(const char *base,
    const uint8_t info_hash[BT_SHA1_LEN], struct bt_buf *out,
    struct bt_err *e);
/*
 * GET url with libcurl: redirects followed up to BT_TRACKER_MAX_REDIRECTS,
 * the body cut at BT_TRACKER_MAX_ANSWER. *status gets the HTTP status.
 */
int bt_http_get(const char *url, const struct bt_tracker_opts *o,
    struct bt_buf *body, long *status, struct bt_err *e);
/*
 * Web seeds (BEP 19, lib/webseed): GET bytes [from, from + len) of url
 * into buf with a Range header. 0 when exactly len bytes came with 206,
 * or with 200 for a range that is the whole resource; else -1 with e
 * (the HTTP status, a length that differs, more than max_redirects
 * redirects, no connection in connect_ms, no byte for idle_ms, or *stop
 * set by another thread, which ends the transfer within about a second).
 */
struct bt_http_range {
	int connect_ms, idle_ms, max_redirects;
	const int *stop;	/* read atomically; may be NULL */
};
int bt_http_get_range(const char *url, int64_t from, size_t len,
    uint8_t *buf, const struct bt_http_range *o, struct bt_err *e);
int bt_http_global_init(struct bt_err *e);
void bt_http_global_free(void);

/*
 * Between lib/tracker*.c: many GETs at once in one libcurl multi handle,
 * each with bt_http_get's options and limits. bt_http_multi_wait waits
 * (at most ms milliseconds) for the transfers and for the extra file
 * descriptors (their revents set), then moves the transfers on.
 * bt_http_multi_done hands one finished transfer: 1 with *tag, *status
 * and *result (0, or -1 with e), 0 when none is left to hand.
 */
struct bt_http_multi;
struct pollfd;
struct bt_http_multi *bt_http_multi_new(void);
void bt_http_multi_free(struct bt_http_multi *m);
int bt_http_multi_add(struct bt_http_multi *m, const char *url,
    const struct bt_tracker_opts *o, struct bt_buf *body, void *tag,
    struct bt_err *e);
int bt_http_multi_wait(struct bt_http_multi *m, struct pollfd *extra,
    size_t nextra, int ms, struct bt_err *e);
int bt_http_multi_done(struct bt_http_multi *m, void **tag, long *status,
    int *result, struct bt_err *e);

/* BEP 15 packets. */
#define BT_UDP_MAGIC		0x41727101980ULL
enum {
	BT_UDP_CONNECT = 0,
	BT_UDP_ANNOUNCE = 1,
	BT_UDP_SCRAPE = 2,
	BT_UDP_ERROR = 3,
};
#define BT_UDP_CONNECT_LEN	16
#define BT_UDP_ANNOUNCE_LEN	98
#define BT_UDP_SCRAPE_LEN	36
/*
 * BEP 41 options after an announce: URLData (type 2, a length byte, at
 * most 255 bytes of the URL's path and query), then EndOfOptions (0).
 */
enum { BT_UDP_OPT_END = 0, BT_UDP_OPT_NOP = 1, BT_UDP_OPT_URLDATA = 2 };
#define BT_UDP_URLDATA_CHUNK	255
#define BT_UDP_OPTIONS_MAX						\
	(BT_TRACKER_MAX_URL + 2 * ((BT_TRACKER_MAX_URL +		\
	BT_UDP_URLDATA_CHUNK - 1) / BT_UDP_URLDATA_CHUNK) + 1)
#define BT_UDP_ANNOUNCE_MAX	(BT_UDP_ANNOUNCE_LEN + BT_UDP_OPTIONS_MAX)

struct bt_udp_reply {
	int action;
	uint64_t conn;				/* connect */
	uint32_t interval, leechers, seeders;	/* announce, scrape */
	uint32_t completed;			/* scrape */
	const uint8_t *peers;			/* announce: compact */
	size_t peerslen;
};

size_t bt_udp_connect_req(uint8_t *out, uint32_t tx);
size_t bt_udp_announce_req(uint8_t *out, uint64_t conn, uint32_t tx,
    const struct bt_announce *a);
size_t bt_udp_scrape_req(uint8_t *out, uint64_t conn, uint32_t tx,
    const uint8_t info_hash[BT_SHA1_LEN]);
/*
 * BEP 41: the path and query of a udp:// URL ("/announce?pk=1"), or ""
 * when it has none; and the options that carry them, written to out
 * (BT_UDP_OPTIONS_MAX bytes for a URL within BT_TRACKER_MAX_URL): URLData
 * options of at most 255 bytes each, then EndOfOptions. Nothing for "".
 * Returns the bytes written.
 */
const char *bt_udp_url_request(const char *url);
size_t bt_udp_urldata(uint8_t *out, const char *req, size_t n);
/*
 * Parse a reply to a request of the given action and transaction id.
 * Returns 1 when it is the answer, 0 when it is not ours (shorter than
 * 8 bytes, or another transaction id: BEP 15 says to ignore it; *why
 * says which), -1 on an error: the tracker's error action
 * (BT_EX_UNAVAILABLE, its text made printable, NULs included), another
 * action or a malformed reply (BT_EX_DATAERR). The peers are left as
 * they are: bt_udp_answer_dict names them, bt_tracker_answer_parse
 * checks them.
 */
int bt_udp_reply_parse(const uint8_t *p, size_t n, int action, uint32_t tx,
    struct bt_udp_reply *r, const char **why, struct bt_err *e);
/*
 * The dict an HTTP tracker would have sent for r (announce), or the flat
 * scrape dict (scrape), keys sorted, no context yet.
 */
int bt_udp_answer_dict(const struct bt_udp_reply *r, int v6,
    struct bt_buf *out);
/* Split udp://HOST:PORT[/...] ; HOST may be [IPv6]. */
int bt_udp_url_parse(const char *url, char *host, size_t hostsz,
    char *port, size_t portsz, struct bt_err *e);

/*
 * Between lib/tracker*.c: one UDP announce (BT_UDP_ANNOUNCE) or scrape
 * (BT_UDP_SCRAPE, a->info_hash only) as a state machine for a poll loop.
 * bt_udp_job_start resolves the host and sends the first packet;
 * then, while j->done is 0, poll j->fd (when not -1) for reading and call
 * bt_udp_job_step when it is readable, when the instant
 * bt_udp_job_deadline has come, and after any other job's step (a job
 * waiting for another's connection id has no fd). done becomes 1 with
 * j->raw holding the dict of bt_udp_answer_dict, or -1 with j->e.
 */
struct bt_udp_job {
	struct bt_tracker_session *s;
	const char *url;
	int action, state;
	const struct bt_announce *a;
	struct addrinfo *res, *ai;
	int fd, v6;
	size_t conn;		/* index in s->conn */
	int nconn, nreq;	/* sends of the current connect, request */
	uint32_t tx;
	double t0, deadline;
	double asked;		/* when the connect was first sent */
	size_t ignored;
	const char *why;	/* of the last reply ignored */
	uint8_t *buf;		/* BT_UDP_MAX_PACKET bytes */
	struct bt_buf raw;
	int done;
	struct bt_err e;
};
void bt_udp_job_start(struct bt_udp_job *j, struct bt_tracker_session *s,
    const char *url, int action, const struct bt_announce *a);
void bt_udp_job_step(struct bt_udp_job *j, int readable);
double bt_udp_job_deadline(const struct bt_udp_job *j);
void bt_udp_job_free(struct bt_udp_job *j);
double bt_udp_now(void);

#endif
