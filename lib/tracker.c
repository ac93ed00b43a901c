/*
 * Trackers, the parts that do not depend on the transport: URLs, the
 * answer stream's encoding, and the checks of an answer.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "tracker.h"
#include "util.h"

int
bt_tracker_kind(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0)
		return BT_TRACKER_HTTP;
	if (strncasecmp(url, "udp://", 6) == 0)
		return BT_TRACKER_UDP;
	return BT_TRACKER_OTHER;
}

int
bt_tracker_session_init(struct bt_tracker_session *s,
    const struct bt_tracker_opts *o, struct bt_err *e)
{
	memset(s, 0, sizeof(*s));
	s->opt = *o;
	if (bt_http_global_init(e) < 0)
		return -1;
	s->curl_ready = 1;
	return 0;
}

void
bt_tracker_session_free(struct bt_tracker_session *s)
{
	if (s->curl_ready)
		bt_http_global_free();
	free(s->conn);
	memset(s, 0, sizeof(*s));
}

char *
bt_tracker_text(const char *p, size_t n, char *out, size_t outsz)
{
	char tail[64];
	int k;

	if (n <= BT_TRACKER_MAX_TEXT)
		return bt_escape(p, n, out, outsz);
	k = snprintf(tail, sizeof(tail), "... (cut at %d bytes, limit "
	    "BT_TRACKER_MAX_TEXT)", BT_TRACKER_MAX_TEXT);
	if (outsz <= (size_t)k + 1)
		return bt_escape(p, BT_TRACKER_MAX_TEXT, out, outsz);
	/* Room is kept for the tail, so the cut is always said. */
	bt_escape(p, BT_TRACKER_MAX_TEXT, out, outsz - (size_t)k);
	memcpy(out + strlen(out), tail, (size_t)k + 1);
	return out;
}

/* URLs. */

size_t
bt_url_escape(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static const char *const event_name[] = {
	[BT_EVENT_NONE] = NULL,
	[BT_EVENT_COMPLETED] = "completed",
	[BT_EVENT_STARTED] = "started",
	[BT_EVENT_STOPPED] = "stopped",
};

static int
check_base(const char *base, struct bt_err *e)
{
	size_t n = strlen(base);

	if (n > BT_TRACKER_MAX_URL)
		return bt_errf(e, BT_EX_DATAERR, -1, "URL longer than %d "
		    "bytes (limit BT_TRACKER_MAX_URL)", BT_TRACKER_MAX_URL);
	if (strchr(base, '#') != NULL)
		return bt_errf(e, BT_EX_DATAERR, -1,
		    "URL has a fragment ('#')");
	return 0;
}

int
bt_http_announce_url(const char *base, const struct bt_announce *a,
    struct bt_buf *out, struct bt_err *e)
{
	char ih[3 * BT_SHA1_LEN + 1], id[3 * BT_SHA1_LEN + 1], q[512];
	int n;

	if (check_base(base, e) < 0)
		return -1;
	bt_url_escape(a->info_hash, BT_SHA1_LEN, ih);
	bt_url_escape(a->peer_id, BT_SHA1_LEN, id);
	n = snprintf(q, sizeof(q), "%cinfo_hash=%s&peer_id=%s&port=%u"
	    "&uploaded=%lld&downloaded=%lld&left=%lld&compact=1%s%s"
	    "&numwant=%ld&key=%08x",
	    strchr(base, '?') != NULL ? '&' : '?', ih, id, a->port,
	    (long long)a->uploaded, (long long)a->downloaded,
	    (long long)a->left,
	    a->event != BT_EVENT_NONE ? "&event=" : "",
	    a->event != BT_EVENT_NONE ? event_name[a->event] : "",
	    (long)a->numwant, (unsigned)a->key);
	out->len = 0;
	if (bt_buf_add(out, base, strlen(base)) < 0 ||
	    bt_buf_add(out, q, (size_t)n + 1) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	out->len--;	/* the NUL is there, not counted */
	return 0;
}

int
bt_http_scrape_url(const char *base, const uint8_t info_hash[BT_SHA1_LEN],
    struct bt_buf *out, struct bt_err *e)
{
	char ih[3 * BT_SHA1_LEN + 1];
	const char *slash, *qm, *end;

	if (check_base(base, e) < 0)
		return -1;
	qm = strchr(base, '?');
	end = qm != NULL ? qm : base + strlen(base);
	/* BEP 48: only a last path component starting "announce" maps. */
	for (slash = end; slash > base && slash[-1] != '/'; slash--)
		;
	if (slash == base || (size_t)(end - slash) < 8 ||
	    strncmp(slash, "announce", 8) != 0)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "no scrape URL: "
		    "the path does not end in /announce (BEP 48)");
	bt_url_escape(info_hash, BT_SHA1_LEN, ih);
	out->len = 0;
	if (bt_buf_add(out, base, (size_t)(slash - base)) < 0 ||
	    bt_buf_add(out, "scrape", 6) < 0 ||
	    bt_buf_add(out, slash + 8, strlen(slash + 8)) < 0 ||
	    bt_buf_add(out, qm != NULL ? "&" : "?", 1) < 0 ||
	    bt_buf_add(out, "info_hash=", 10) < 0 ||
	    bt_buf_add(out, ih, strlen(ih) + 1) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	out->len--;
	return 0;
}

/* Re-encoding with sorted keys. */

struct pair {
	const char *k;
	size_t klen;
	const struct bt_bnode *v;	/* or NULL: raw below */
	const char *raw;
	size_t rawlen;
	size_t order;			/* position in the input */
};

static int
paircmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->k, y->k, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int encode_value(const struct bt_bdoc *, const struct bt_bnode *,
    struct bt_buf *, const struct pair *, size_t);

/*
 * A dict with its keys sorted; extra (the context keys, at the top
 * level only) are merged in, and the input's own "x-bt-" keys dropped.
 */
static int
encode_dict(const struct bt_bdoc *d, const struct bt_bnode *n,
    struct bt_buf *out, const struct pair *extra, size_t nextra)
{
	const struct bt_bnode *k;
	struct pair *p;
	size_t np = 0, i;
	uint32_t j;
	int r = -1;

	if ((p = calloc((size_t)n->v.n + nextra + 1, sizeof(*p))) == NULL)
		return -1;
	for (k = n + 1, j = 0; j < n->v.n; j++) {
		const struct bt_bnode *v = bt_bnext(k);

		p[np].k = bt_bstr(d, k);
		p[np].klen = k->v.s.len;
		p[np].v = v;
		p[np].order = j;
		if (extra == NULL || p[np].klen < strlen(BT_CTX_PREFIX) ||
		    memcmp(p[np].k, BT_CTX_PREFIX,
		    strlen(BT_CTX_PREFIX)) != 0)
			np++;
		k = bt_bnext(v);
	}
	for (i = 0; i < nextra; i++) {
		p[np] = extra[i];
		p[np++].order = (size_t)n->v.n + i;
	}
	qsort(p, np, sizeof(*p), paircmp);
	if (bt_benc_dict(out) < 0)
		goto done;
	for (i = 0; i < np; i++) {
		if (i > 0 && p[i].klen == p[i - 1].klen &&
		    memcmp(p[i].k, p[i - 1].k, p[i].klen) == 0)
			continue;	/* repeated key: the first stays */
		if (bt_benc_str(out, p[i].k, p[i].klen) < 0)
			goto done;
		if (p[i].v == NULL) {
			if (bt_buf_add(out, p[i].raw, p[i].rawlen) < 0)
				goto done;
		} else if (encode_value(d, p[i].v, out, NULL, 0) < 0)
			goto done;
	}
	r = bt_benc_end(out);
done:
	free(p);
	return r;
}

/* Recursion is bounded by the decoder's BT_BENCODE_MAX_DEPTH. */
static int
encode_value(const struct bt_bdoc *d, const struct bt_bnode *n,
    struct bt_buf *out, const struct pair *extra, size_t nextra)
{
	const struct bt_bnode *c;
	uint32_t j;

	switch (n->type) {
	case BT_BDICT:
		return encode_dict(d, n, out, extra, nextra);
	case BT_BLIST:
		if (bt_benc_list(out) < 0)
			return -1;
		for (c = n + 1, j = 0; j < n->v.n; j++, c = bt_bnext(c))
			if (encode_value(d, c, out, NULL, 0) < 0)
				return -1;
		return bt_benc_end(out);
	default:
		return bt_buf_add(out, bt_braw(d, n), n->len);
	}
}

int
bt_answer_encode(const struct bt_bdoc *d,
    const uint8_t info_hash[BT_SHA1_LEN], const char *torrent,
    const char *tracker, struct bt_buf *out, struct bt_err *e)
{
	struct bt_buf v = { 0 };
	struct pair extra[3];
	size_t o1, o2, nextra = 3;
	int r;

	if (d->nnode == 0 || d->node[0].type != BT_BDICT)
		return bt_errf(e, BT_EX_DATAERR, -1, "answer is not a dict");
	/* The context values, encoded one after another in v. */
	bt_benc_str(&v, info_hash, BT_SHA1_LEN);
	o1 = v.len;
	if (torrent != NULL)
		bt_benc_cstr(&v, torrent);
	o2 = v.len;
	bt_benc_cstr(&v, tracker);
	if (v.oom) {
		bt_buf_free(&v);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	memset(extra, 0, sizeof(extra));
	extra[0].k = BT_CTX_INFO_HASH;
	extra[0].raw = v.p;
	extra[0].rawlen = o1;
	extra[1].k = BT_CTX_TORRENT;
	extra[1].raw = v.p + o1;
	extra[1].rawlen = o2 - o1;
	extra[2].k = BT_CTX_TRACKER;
	extra[2].raw = v.p + o2;
	extra[2].rawlen = v.len - o2;
	extra[0].klen = strlen(extra[0].k);
	extra[1].klen = strlen(extra[1].k);
	extra[2].klen = strlen(extra[2].k);
	if (torrent == NULL) {
		/* A magnet link: no torrent file to name. */
		extra[1] = extra[2];
		nextra = 2;
	}
	out->len = 0;
	r = encode_value(d, &d->node[0], out, extra, nextra);
	bt_buf_free(&v);
	if (r < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	return 0;
}

/* Checking an answer. */

static int
add_peer(struct bt_tracker_answer *a, size_t maxpeers,
    const struct bt_peer_addr *pa, struct bt_err *e)
{
	int r;

	if (a->peers.n >= maxpeers) {
		/* A peer already kept is a duplicate, not a drop. */
		if (!bt_peerlist_has(&a->peers, pa))
			a->dropped++;
		return 0;
	}
	if ((r = bt_peerlist_add(&a->peers, pa)) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	return 0;
}

/* BEP 23 / BEP 7: 4 or 16 address bytes then the port, big-endian. */
static int
compact_peers(struct bt_tracker_answer *a, size_t maxpeers, const char *key,
    const uint8_t *p, size_t n, size_t iplen, struct bt_err *e)
{
	size_t each = iplen + 2, i;

	if (n % each != 0)
		return bt_errf(e, BT_EX_DATAERR, -1, "%s: compact list of "
		    "%zu bytes is not a multiple of %zu", key, n, each);
	for (i = 0; i < n / each; i++) {
		const uint8_t *q = p + i * each;
		uint16_t port = (uint16_t)(q[iplen] << 8 | q[iplen + 1]);
		struct bt_peer_addr pa;

		if (port == 0)
			return bt_errf(e, BT_EX_DATAERR, -1, "%s: peer %zu "
			    "has port 0", key, i + 1);
		bt_peer_from_raw(&pa, q, iplen, port);
		if (add_peer(a, maxpeers, &pa, e) < 0)
			return -1;
	}
	return 0;
}

/* BEP 3's dictionary model: a list of dicts with ip, port, peer id. */
static int
dict_peers(const struct bt_bdoc *d, struct bt_tracker_answer *a,
    size_t maxpeers, const struct bt_bnode *list, struct bt_err *e)
{
	const struct bt_bnode *it;
	uint32_t i;

	for (it = list + 1, i = 0; i < list->v.n; i++, it = bt_bnext(it)) {
		const struct bt_bnode *ip, *port;
		char host[BT_TRACKER_MAX_HOST + 1];
		uint8_t raw[16];
		struct bt_peer_addr pa;

		if (it->type != BT_BDICT)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers: entry "
			    "%u is not a dict", i + 1);
		ip = bt_bdict_get_type(d, it, "ip", BT_BSTR);
		port = bt_bdict_get_type(d, it, "port", BT_BINT);
		if (ip == NULL || port == NULL)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers: entry "
			    "%u lacks %s", i + 1, ip == NULL ? "ip" : "port");
		if (port->v.i < 1 || port->v.i > 65535)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers: entry "
			    "%u has port %lld", i + 1, (long long)port->v.i);
		if (ip->v.s.len > BT_TRACKER_MAX_HOST)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers: entry "
			    "%u has an ip longer than %d bytes (limit "
			    "BT_TRACKER_MAX_HOST)", i + 1, BT_TRACKER_MAX_HOST);
		if (ip->v.s.len == 0 ||
		    memchr(bt_bstr(d, ip), '\0', ip->v.s.len) != NULL)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers: entry "
			    "%u has an invalid ip", i + 1);
		memcpy(host, bt_bstr(d, ip), ip->v.s.len);
		host[ip->v.s.len] = '\0';
		if (inet_pton(AF_INET, host, raw) == 1)
			bt_peer_from_raw(&pa, raw, 4, (uint16_t)port->v.i);
		else if (inet_pton(AF_INET6, host, raw) == 1)
			bt_peer_from_raw(&pa, raw, 16, (uint16_t)port->v.i);
		else {
			a->named++;
			continue;
		}
		if (add_peer(a, maxpeers, &pa, e) < 0)
			return -1;
	}
	return 0;
}

static int64_t
int_or(const struct bt_bdoc *d, const struct bt_bnode *dict, const char *k)
{
	const struct bt_bnode *n = bt_bdict_get_type(d, dict, k, BT_BINT);

	return n != NULL ? n->v.i : -1;
}

int
bt_tracker_answer_parse(const struct bt_bdoc *d, struct bt_tracker_answer *a,
    size_t maxpeers, struct bt_err *e)
{
	const struct bt_bnode *root, *n, *p4, *p6;
	char text[BT_TRACKER_TEXT_BUF];

	memset(a, 0, sizeof(*a));
	a->interval = a->min_interval = a->complete = a->incomplete = -1;
	if (d->nnode == 0 || (root = &d->node[0])->type != BT_BDICT)
		return bt_errf(e, BT_EX_DATAERR, -1, "not a tracker answer: "
		    "not a dict");
	if ((n = bt_bdict_get(d, root, "failure reason")) != NULL) {
		if (n->type != BT_BSTR)
			return bt_errf(e, BT_EX_DATAERR, -1, "failure reason "
			    "is not a string");
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "tracker failure: "
		    "%s", bt_tracker_text(bt_bstr(d, n), n->v.s.len, text,
		    sizeof(text)));
	}
	if ((n = bt_bdict_get_type(d, root, "warning message", BT_BSTR))) {
		a->warning = bt_bstr(d, n);
		a->warning_len = n->v.s.len;
	}
	if ((n = bt_bdict_get(d, root, BT_CTX_INFO_HASH)) != NULL) {
		if (n->type != BT_BSTR || n->v.s.len != BT_SHA1_LEN)
			return bt_errf(e, BT_EX_DATAERR, -1, "%s is not 20 "
			    "bytes", BT_CTX_INFO_HASH);
		memcpy(a->info_hash, bt_bstr(d, n), BT_SHA1_LEN);
		a->has_info_hash = 1;
	}
	if ((n = bt_bdict_get_type(d, root, BT_CTX_TORRENT, BT_BSTR))) {
		a->torrent = bt_bstr(d, n);
		a->torrent_len = n->v.s.len;
	}
	if ((n = bt_bdict_get_type(d, root, BT_CTX_TRACKER, BT_BSTR))) {
		a->tracker = bt_bstr(d, n);
		a->tracker_len = n->v.s.len;
	}
	a->interval = int_or(d, root, "interval");
	a->min_interval = int_or(d, root, "min interval");
	a->complete = int_or(d, root, "complete");
	a->incomplete = int_or(d, root, "incomplete");
	p4 = bt_bdict_get(d, root, "peers");
	p6 = bt_bdict_get(d, root, "peers6");
	if (p4 == NULL && p6 == NULL) {
		if (bt_bdict_get(d, root, "files") != NULL ||
		    (bt_bdict_get(d, root, "downloaded") != NULL &&
		    a->interval < 0))
			return bt_errf(e, BT_EX_DATAERR, -1, "not a tracker "
			    "answer: a scrape answer has no peers");
		return bt_errf(e, BT_EX_DATAERR, -1, "not a tracker answer: "
		    "no peers or peers6");
	}
	if (p4 != NULL) {
		if (p4->type == BT_BSTR) {
			if (compact_peers(a, maxpeers, "peers",
			    (const uint8_t *)bt_bstr(d, p4), p4->v.s.len, 4,
			    e) < 0)
				return -1;
		} else if (p4->type == BT_BLIST) {
			if (dict_peers(d, a, maxpeers, p4, e) < 0)
				return -1;
		} else
			return bt_errf(e, BT_EX_DATAERR, -1, "peers is neither "
			    "a string nor a list");
	}
	if (p6 != NULL) {
		if (p6->type != BT_BSTR)
			return bt_errf(e, BT_EX_DATAERR, -1, "peers6 is not a "
			    "string");
		if (compact_peers(a, maxpeers, "peers6",
		    (const uint8_t *)bt_bstr(d, p6), p6->v.s.len, 16, e) < 0)
			return -1;
	}
	return 0;
}

void
bt_tracker_answer_free(struct bt_tracker_answer *a)
{
	bt_peerlist_free(&a->peers);
}

/* Asking. */

/* Decode what a tracker sent; an HTTP error status wins over garbage. */
static int
decode_answer(struct bt_bdoc *d, const struct bt_buf *raw, long status,
    struct bt_err *e)
{
	struct bt_err de;
	int ok = raw->len > 0 &&
	    bt_bdecode(d, raw->p, raw->len, 0, &de) >= 0;

	if (ok && d->node[0].type == BT_BDICT)
		return 0;
	if (status != 200)
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "HTTP status %ld",
		    status);
	if (raw->len == 0)
		return bt_errf(e, BT_EX_DATAERR, -1, "empty answer");
	if (ok)
		return bt_errf(e, BT_EX_DATAERR, -1, "answer is not a dict");
	return bt_errf(e, BT_EX_DATAERR, -1, "answer is not bencode: "
	    "byte %lld: %s", de.off, de.msg);
}

/* An announce's raw answer made the stream's record, in out. */
static int
finish_announce(const struct bt_buf *raw, long status, const char *url,
    const struct bt_announce *a, const char *torrent, struct bt_buf *out,
    char *warn, size_t warnsz, struct bt_err *e)
{
	struct bt_bdoc d;
	struct bt_tracker_answer ans;
	int r = -1;

	memset(&d, 0, sizeof(d));
	memset(&ans, 0, sizeof(ans));
	if (decode_answer(&d, raw, status, e) < 0)
		goto done;
	if (bt_tracker_answer_parse(&d, &ans, BT_TRACKER_MAX_PEERS, e) < 0)
		goto done;
	if (status != 200) {
		bt_errf(e, BT_EX_UNAVAILABLE, -1, "HTTP status %ld", status);
		goto done;
	}
	if (ans.warning != NULL)
		bt_tracker_text(ans.warning, ans.warning_len, warn, warnsz);
	r = bt_answer_encode(&d, a->info_hash, torrent, url, out, e);
done:
	bt_tracker_answer_free(&ans);
	bt_bdoc_free(&d);
	return r;
}

/* The numbers of an HTTP scrape answer (BEP 48) for our torrent. */
static int
scrape_numbers(const struct bt_bdoc *d, const uint8_t ih[BT_SHA1_LEN],
    int64_t num[3], struct bt_err *e)
{
	static const char *const key[3] = {
		"complete", "downloaded", "incomplete"
	};
	const struct bt_bnode *root = &d->node[0], *files, *k, *v;
	char text[BT_TRACKER_TEXT_BUF];
	uint32_t i;
	int j;

	if ((k = bt_bdict_get_type(d, root, "failure reason", BT_BSTR)))
		return bt_errf(e, BT_EX_UNAVAILABLE, -1, "tracker failure: "
		    "%s", bt_tracker_text(bt_bstr(d, k), k->v.s.len, text,
		    sizeof(text)));
	if ((files = bt_bdict_get(d, root, "files")) == NULL ||
	    files->type != BT_BDICT)
		return bt_errf(e, BT_EX_DATAERR, -1, "not a scrape answer: "
		    "no files dict");
	num[0] = num[1] = num[2] = 0;
	/* A torrent the tracker does not list has nobody: zeros. */
	for (k = files + 1, i = 0; i < files->v.n; i++, k = bt_bnext(v)) {
		v = bt_bnext(k);
		if (k->v.s.len != BT_SHA1_LEN ||
		    memcmp(bt_bstr(d, k), ih, BT_SHA1_LEN) != 0)
			continue;
		if (v->type != BT_BDICT)
			return bt_errf(e, BT_EX_DATAERR, -1, "scrape answer: "
			    "the torrent's entry is not a dict");
		for (j = 0; j < 3; j++) {
			const struct bt_bnode *x = bt_bdict_get(d, v, key[j]);

			if (x == NULL)
				continue;
			if (x->type != BT_BINT || x->v.i < 0)
				return bt_errf(e, BT_EX_DATAERR, -1, "scrape "
				    "answer: %s is not a count", key[j]);
			num[j] = x->v.i;
		}
		break;
	}
	return 0;
}

/* A scrape's raw answer made the stream's flat record, in out. */
static int
finish_scrape(const struct bt_buf *raw, long status, const char *url,
    const uint8_t info_hash[BT_SHA1_LEN], const char *torrent,
    struct bt_buf *out, struct bt_err *e)
{
	struct bt_buf flat = { 0 };
	struct bt_bdoc d, fd;
	int64_t num[3];
	int r = -1;

	memset(&d, 0, sizeof(d));
	memset(&fd, 0, sizeof(fd));
	if (decode_answer(&d, raw, status, e) < 0)
		goto done;
	if (bt_tracker_kind(url) == BT_TRACKER_UDP) {
		/* Already the flat dict. */
		r = bt_answer_encode(&d, info_hash, torrent, url, out, e);
		goto done;
	}
	if (scrape_numbers(&d, info_hash, num, e) < 0)
		goto done;
	if (status != 200) {
		bt_errf(e, BT_EX_UNAVAILABLE, -1, "HTTP status %ld", status);
		goto done;
	}
	bt_benc_dict(&flat);
	bt_benc_cstr(&flat, "complete");
	bt_benc_int(&flat, num[0]);
	bt_benc_cstr(&flat, "downloaded");
	bt_benc_int(&flat, num[1]);
	bt_benc_cstr(&flat, "incomplete");
	bt_benc_int(&flat, num[2]);
	bt_benc_end(&flat);
	if (flat.oom) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
		goto done;
	}
	if (bt_bdecode(&fd, flat.p, flat.len, 0, e) < 0) {
		e->status = BT_EX_SOFTWARE;
		goto done;
	}
	r = bt_answer_encode(&fd, info_hash, torrent, url, out, e);
done:
	bt_bdoc_free(&fd);
	bt_bdoc_free(&d);
	bt_buf_free(&flat);
	return r;
}

/* What every tracker of one bt_tracker_ask shares. */
struct ask {
	int scrape;
	const struct bt_announce *a;
	const char *torrent;
	int (*on_result)(void *, const struct bt_tracker_result *);
	void *arg;
	struct bt_buf out;
};

/* One tracker of bt_tracker_ask. */
struct job {
	const char *url;
	int running, udp;
	struct bt_buf raw;		/* HTTP: the body */
	struct bt_udp_job u;
	short revents;
};

/* Hand tracker i's answer (res 0) or failure (res -1, je) on. */
static int
deliver(struct ask *k, size_t i, const char *url, const struct bt_buf *raw,
    long status, int res, struct bt_err *je)
{
	struct bt_tracker_result r;
	char warn[BT_TRACKER_TEXT_BUF];

	warn[0] = '\0';
	if (res == 0 && !k->scrape)
		res = finish_announce(raw, status, url, k->a, k->torrent,
		    &k->out, warn, sizeof(warn), je);
	else if (res == 0)
		res = finish_scrape(raw, status, url, k->a->info_hash,
		    k->torrent, &k->out, je);
	memset(&r, 0, sizeof(r));
	r.i = i;
	r.url = url;
	r.warn = warn;
	if (res == 0)
		r.answer = &k->out;
	else
		r.e = je;
	return k->on_result(k->arg, &r);
}

/* Start tracker i: 1 when it runs, else what deliver returned. */
static int
start(struct bt_tracker_session *s, struct ask *k, struct bt_http_multi *m,
    struct job *j, size_t i)
{
	struct bt_buf u = { 0 };
	struct bt_err je;
	int r = 0;

	/* The URL goes into every answer: bound it for all schemes. */
	if (check_base(j->url, &je) < 0)
		return deliver(k, i, j->url, NULL, 0, -1, &je);
	switch (bt_tracker_kind(j->url)) {
	case BT_TRACKER_HTTP:
		if (k->scrape)
			r = bt_http_scrape_url(j->url, k->a->info_hash, &u,
			    &je);
		else
			r = bt_http_announce_url(j->url, k->a, &u, &je);
		if (r == 0)
			r = bt_http_multi_add(m, u.p, &s->opt, &j->raw, j, &je);
		bt_buf_free(&u);
		if (r < 0)
			return deliver(k, i, j->url, NULL, 0, -1, &je);
		j->running = 1;
		return 1;
	case BT_TRACKER_UDP:
		j->udp = 1;
		bt_udp_job_start(&j->u, s, j->url,
		    k->scrape ? BT_UDP_SCRAPE : BT_UDP_ANNOUNCE, k->a);
		if (j->u.done != 0)
			return deliver(k, i, j->url, &j->u.raw, 200,
			    j->u.done > 0 ? 0 : -1, &j->u.e);
		j->running = 1;
		return 1;
	default:
		bt_errf(&je, BT_EX_UNAVAILABLE, -1, "unsupported tracker URL "
		    "(only http, https and udp)");
		return deliver(k, i, j->url, NULL, 0, -1, &je);
	}
}

/* Step every running UDP job; deliver those that end. */
static int
step_udp(struct ask *k, struct job *j, size_t n, size_t *active)
{
	size_t i;
	int stop;

	for (i = 0; i < n; i++) {
		if (!j[i].running || !j[i].udp)
			continue;
		bt_udp_job_step(&j[i].u, j[i].revents & POLLIN);
		j[i].revents = 0;
		if (j[i].u.done == 0)
			continue;
		j[i].running = 0;
		(*active)--;
		stop = deliver(k, i, j[i].url, &j[i].u.raw, 200,
		    j[i].u.done > 0 ? 0 : -1, &j[i].u.e);
		if (stop != 0)
			return stop;
	}
	return 0;
}

int
bt_tracker_ask(struct bt_tracker_session *s, const char *const *url,
    size_t n, int scrape, const struct bt_announce *a, const char *torrent,
    int (*on_result)(void *, const struct bt_tracker_result *), void *arg,
    struct bt_err *e)
{
	struct ask k = { scrape, a, torrent, on_result, arg, { 0 } };
	struct bt_http_multi *m;
	struct pollfd *pf;
	struct job *j;
	size_t *pj, i, np, active = 0;
	int stop = 0, r = -1;

	j = calloc(n + 1, sizeof(*j));
	pf = calloc(n + 1, sizeof(*pf));
	pj = calloc(n + 1, sizeof(*pj));
	m = bt_http_multi_new();
	if (j == NULL || pf == NULL || pj == NULL || m == NULL) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
		goto done;
	}
	for (i = 0; i < n && stop == 0; i++) {
		j[i].url = url[i];
		j[i].u.fd = -1;
		if ((stop = start(s, &k, m, &j[i], i)) == 1) {
			stop = 0;
			active++;
		}
	}
	while (active > 0 && stop == 0) {
		double next = 1e300, now;
		void *tag;
		long status;
		int ms, res;
		struct bt_err je;

		for (i = np = 0; i < n; i++) {
			if (!j[i].running || !j[i].udp)
				continue;
			if (bt_udp_job_deadline(&j[i].u) < next)
				next = bt_udp_job_deadline(&j[i].u);
			if (j[i].u.fd < 0)
				continue;
			pf[np].fd = j[i].u.fd;
			pf[np].events = POLLIN;
			pf[np].revents = 0;
			pj[np++] = i;
		}
		/* HTTP timeouts are libcurl's: it wakes the poll for them. */
		now = bt_udp_now();
		if (next >= 1e300)
			ms = 1000;
		else if (next <= now)
			ms = 0;
		else if (next - now > 1000)
			ms = 1000 * 1000;
		else
			ms = (int)((next - now) * 1000.0) + 1;
		if (bt_http_multi_wait(m, pf, np, ms, e) < 0)
			goto done;
		for (i = 0; i < np; i++)
			j[pj[i]].revents = pf[i].revents;
		while (stop == 0 &&
		    bt_http_multi_done(m, &tag, &status, &res, &je) == 1) {
			struct job *x = tag;

			x->running = 0;
			active--;
			stop = deliver(&k, (size_t)(x - j), x->url, &x->raw,
			    status, res, &je);
		}
		/* Twice: a job may wait for a connect that just ended. */
		if (stop == 0)
			stop = step_udp(&k, j, n, &active);
		if (stop == 0)
			stop = step_udp(&k, j, n, &active);
	}
	r = stop;
done:
	bt_http_multi_free(m);
	if (j != NULL)
		for (i = 0; i < n; i++) {
			if (j[i].udp)
				bt_udp_job_free(&j[i].u);
			bt_buf_free(&j[i].raw);
		}
	free(j);
	free(pf);
	free(pj);
	bt_buf_free(&k.out);
	return r;
}

/* One tracker asked through bt_tracker_ask. */
struct one {
	struct bt_buf *out;
	char *warn;
	size_t warnsz;
	struct bt_err *e;
	int ok;
};

static int
on_one(void *arg, const struct bt_tracker_result *r)
{
	struct one *o = arg;

	if (r->answer == NULL) {
		*o->e = *r->e;
		return 0;
	}
	o->out->len = 0;
	if (bt_buf_add(o->out, r->answer->p, r->answer->len) < 0) {
		bt_errf(o->e, BT_EX_SOFTWARE, -1, "out of memory");
		return 0;
	}
	if (o->warn != NULL && o->warnsz > 0)
		snprintf(o->warn, o->warnsz, "%s", r->warn);
	o->ok = 1;
	return 0;
}

int
bt_tracker_announce(struct bt_tracker_session *s, const char *url,
    const struct bt_announce *a, const char *torrent, struct bt_buf *out,
    char *warn, size_t warnsz, struct bt_err *e)
{
	struct one o = { out, warn, warnsz, e, 0 };

	if (warn != NULL && warnsz > 0)
		warn[0] = '\0';
	if (bt_tracker_ask(s, &url, 1, 0, a, torrent, on_one, &o, e) < 0)
		return -1;
	return o.ok ? 0 : -1;
}

int
bt_tracker_scrape(struct bt_tracker_session *s, const char *url,
    const uint8_t info_hash[BT_SHA1_LEN], const char *torrent,
    struct bt_buf *out, struct bt_err *e)
{
	struct one o = { out, NULL, 0, e, 0 };
	struct bt_announce a;

	memset(&a, 0, sizeof(a));
	memcpy(a.info_hash, info_hash, BT_SHA1_LEN);
	if (bt_tracker_ask(s, &url, 1, 1, &a, torrent, on_one, &o, e) < 0)
		return -1;
	return o.ok ? 0 : -1;
}
