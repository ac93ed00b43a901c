/*
 * Magnet links (BEP 9): the query of a magnet: URI split on '&', each
 * value percent-decoded, the info hash (xt=urn:btih:) checked, trackers,
 * web seeds and peer addresses kept once each, up to their limits.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "btlimits.h"
#include "magnet.h"
#include "util.h"

#define E(...)	bt_errf(e, BT_EX_DATAERR, -1, __VA_ARGS__)
#define OOM()	bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory")

/* Longest value quoted in a message, before it is cut with "...". */
#define QUOTE_MAX	60

int
bt_magnet_is(const char *s)
{
	return s != NULL && strncasecmp(s, "magnet:", 7) == 0;
}

/* p[0..n) escaped for a message, cut after QUOTE_MAX bytes. */
static char *
quote(const char *p, size_t n, char *out, size_t outsz)
{
	size_t k = n > QUOTE_MAX ? QUOTE_MAX : n;

	bt_escape(p, k, out, outsz);
	if (k < n && strlen(out) + 4 <= outsz)
		strcat(out, "...");
	return out;
}

/* RFC 4648 base32: A-Z then 2-7, either case. */
static int
b32val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* Character i of s as a message shows it: 'g', or the byte's \xNN. */
static const char *
showchar(const char *s, size_t i, char buf[8])
{
	unsigned char c = (unsigned char)s[i];

	if (c > 0x20 && c < 0x7f && c != '\\' && c != '\'')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

int
bt_info_hash_parse(const char *s, size_t n, uint8_t out[BT_SHA1_LEN],
    struct bt_err *e)
{
	char c[8];
	size_t i;

	if (n == 2 * BT_SHA1_LEN) {
		for (i = 0; i < n; i++)
			if (bt_hexval((unsigned char)s[i]) < 0)
				return E("info hash of 40 characters is not "
				    "hex: %s at character %zu",
				    showchar(s, i, c), i + 1);
		for (i = 0; i < BT_SHA1_LEN; i++)
			out[i] = (uint8_t)(bt_hexval((unsigned char)s[2 * i]) <<
			    4 | bt_hexval((unsigned char)s[2 * i + 1]));
		return 0;
	}
	if (n == 32) {
		/* 32 characters of 5 bits are the 160 bits exactly. */
		uint64_t acc = 0;
		int bits = 0;
		size_t o = 0;

		for (i = 0; i < n; i++) {
			int v = b32val((unsigned char)s[i]);

			if (v < 0)
				return E("info hash of 32 characters is not "
				    "base32: %s at character %zu",
				    showchar(s, i, c), i + 1);
			acc = acc << 5 | (uint64_t)v;
			bits += 5;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (uint8_t)(acc >> bits);
				acc &= ((uint64_t)1 << bits) - 1;
			}
		}
		return 0;
	}
	return E("info hash of %zu characters: want 40 hex digits or 32 "
	    "base32 characters", n);
}

/*
 * Percent-decode p[0..n) into a new string; '+' is a space when plus is
 * set. A '%' not followed by two hex digits, and %00 (a C string would
 * end there), are refused naming key.
 */
static int
decode(const char *key, const char *p, size_t n, int plus, char **out,
    struct bt_err *e)
{
	char q[4 * QUOTE_MAX + 8], *s;
	size_t i, o = 0;

	*out = NULL;
	if ((s = malloc(n + 1)) == NULL)
		return OOM();
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (p[i] == '+' && plus) {
			s[o++] = ' ';
			continue;
		}
		if (p[i] != '%') {
			s[o++] = p[i];
			continue;
		}
		hi = i + 1 < n ? bt_hexval((unsigned char)p[i + 1]) : -1;
		lo = i + 2 < n ? bt_hexval((unsigned char)p[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			free(s);
			return E("%s: bad percent escape '%s'", key,
			    quote(p + i, n - i < 3 ? n - i : 3, q, sizeof(q)));
		}
		if (hi == 0 && lo == 0) {
			free(s);
			return E("%s: percent escape %%00 (a NUL byte)", key);
		}
		s[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

/*
 * A URL as far as we need: a scheme (a letter, then letters, digits,
 * '+', '-', '.'), "://", then at least one byte, and no space or
 * control byte anywhere (a tracker gets it as it is).
 */
static int
is_url(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' ||
	    s[i] == '.')
		i++;
	if (strncmp(s + i, "://", 3) != 0 || s[i + 3] == '\0')
		return 0;
	for (; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Add s (taken) to the list unless there already; past max it is
 * counted in *dropped and freed.
 */
static int
add_unique(char ***list, size_t *n, size_t max, size_t *dropped, char *s,
    struct bt_err *e)
{
	char **l;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0) {
			free(s);
			return 0;
		}
	if (*n >= max) {
		(*dropped)++;
		free(s);
		return 0;
	}
	/* Grow by powers of two: at most max entries. */
	if ((*n & (*n - 1)) == 0) {
		if ((l = realloc(*list, (*n ? 2 * *n : 1) * sizeof(*l))) ==
		    NULL) {
			free(s);
			return OOM();
		}
		*list = l;
	}
	(*list)[(*n)++] = s;
	return 0;
}

/*
 * x.pe: "1.2.3.4:6881", "[::1]:6881", or "host.name:6881" (counted in
 * pe_names, not resolved: a parser does not go to the network).
 */
static int
add_peer(struct bt_magnet *m, const char *v, struct bt_err *e)
{
	char q[4 * QUOTE_MAX + 8], host[256];
	struct bt_peer_addr a;
	const char *colon, *port, *h;
	uint8_t ip[16];
	size_t hl, i;
	long p = 0;
	int v6 = 0, name = 0;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		h = v + 1;
		hl = (size_t)(close - h);
		port = close + 2;
		v6 = 1;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			goto bad;
		h = v;
		hl = (size_t)(colon - v);
		port = colon + 1;
		if (memchr(h, ':', hl) != NULL)
			goto bad;	/* an IPv6 address wants brackets */
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		goto bad;
	for (i = 0; port[i] != '\0'; i++) {
		if (port[i] < '0' || port[i] > '9' || i >= 5)
			goto bad;
		p = p * 10 + (port[i] - '0');
	}
	if (p < 1 || p > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, host, ip) != 1)
			goto bad;
	} else if (inet_pton(AF_INET, host, ip) != 1) {
		/* A DNS name: letters, digits, '-' and '.', not all digits. */
		for (i = 0; i < hl; i++)
			if (!((host[i] >= 'a' && host[i] <= 'z') ||
			    (host[i] >= 'A' && host[i] <= 'Z') ||
			    (host[i] >= '0' && host[i] <= '9') ||
			    host[i] == '-' || host[i] == '.'))
				goto bad;
		if (strspn(host, "0123456789.") == hl)
			goto bad;
		name = 1;
	}
	if (name) {
		m->pe_names++;
		return 0;
	}
	bt_peer_from_raw(&a, ip, v6 ? 16 : 4, (uint16_t)p);
	if (bt_peerlist_has(&m->peers, &a))
		return 0;
	if (m->peers.n >= BT_MAGNET_MAX_PEERS) {
		m->pe_dropped++;
		return 0;
	}
	if (bt_peerlist_add(&m->peers, &a) < 0)
		return OOM();
	return 0;
bad:
	return E("x.pe: '%s' is not ADDRESS:PORT or [IPv6]:PORT",
	    quote(v, strlen(v), q, sizeof(q)));
}

/* The key without a ".N" suffix: "tr.2" is "tr" (BEP 9 numbers them). */
static size_t
base_key(const char *k, size_t kl)
{
	size_t i = kl;

	while (i > 0 && k[i - 1] >= '0' && k[i - 1] <= '9')
		i--;
	if (i < kl && i > 1 && k[i - 1] == '.')
		return i - 1;
	return kl;
}

static int
key_is(const char *k, size_t kl, const char *name)
{
	return kl == strlen(name) && strncasecmp(k, name, kl) == 0;
}

/* One xt value: a btih is kept, a btmh noted, other kinds ignored. */
static int
take_xt(struct bt_magnet *m, const char *v, int *has_btih, int *has_btmh,
    struct bt_err *e)
{
	uint8_t h[BT_SHA1_LEN];

	if (strncasecmp(v, "urn:btmh:", 9) == 0) {
		*has_btmh = 1;
		return 0;
	}
	if (strncasecmp(v, "urn:btih:", 9) != 0)
		return 0;
	if (bt_info_hash_parse(v + 9, strlen(v + 9), h, e) < 0) {
		bt_err_prefix(e, "xt");
		return -1;
	}
	if (*has_btih && memcmp(h, m->info_hash, BT_SHA1_LEN) != 0)
		return E("xt: two different info hashes (urn:btih:)");
	memcpy(m->info_hash, h, BT_SHA1_LEN);
	*has_btih = 1;
	return 0;
}

int
bt_magnet_parse(struct bt_magnet *m, const char *uri, struct bt_err *e)
{
	const char *p, *end;
	size_t n;
	int has_btih = 0, has_btmh = 0;

	memset(m, 0, sizeof(*m));
	n = strnlen(uri, (size_t)BT_MAGNET_MAX_BYTES + 1);
	if (n > (size_t)BT_MAGNET_MAX_BYTES)
		return E("magnet link longer than %d bytes (limit "
		    "BT_MAGNET_MAX_BYTES)", BT_MAGNET_MAX_BYTES);
	if (!bt_magnet_is(uri))
		return E("not a magnet link (no magnet: at the start)");
	if (uri[7] != '?')
		return E("not a magnet link (no '?' after magnet:)");
	end = uri + n;
	for (p = uri + 8; p < end; ) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *q = amp ? amp : end, *eq;
		size_t kl, bk;
		char *v = NULL;
		int r = 0;

		eq = memchr(p, '=', (size_t)(q - p));
		if (eq == NULL) {
			p = q + (amp != NULL);
			continue;	/* "&&" or a bare word: nothing */
		}
		kl = (size_t)(eq - p);
		bk = base_key(p, kl);
		if (key_is(p, bk, "xt") || key_is(p, bk, "tr") ||
		    key_is(p, kl, "dn") || key_is(p, kl, "ws") ||
		    key_is(p, kl, "x.pe")) {
			char k[8];

			/* The key as the link spells it, for messages. */
			snprintf(k, sizeof(k), "%.*s", (int)(bk < 7 ? bk : 7),
			    p);
			if (decode(k, eq + 1, (size_t)(q - eq - 1),
			    key_is(p, kl, "dn"), &v, e) < 0)
				goto fail;
		}
		if (v != NULL && v[0] == '\0')
			;	/* "tr=": nothing given */
		else if (key_is(p, bk, "xt"))
			r = take_xt(m, v, &has_btih, &has_btmh, e);
		else if (key_is(p, kl, "dn")) {
			if (m->name == NULL) {
				m->name = v;
				v = NULL;
			}
		} else if (key_is(p, bk, "tr") || key_is(p, kl, "ws")) {
			int tr = key_is(p, bk, "tr");
			char qq[4 * QUOTE_MAX + 8];

			if (!is_url(v)) {
				r = E("%s: '%s' is not a URL", tr ? "tr" : "ws",
				    quote(v, strlen(v), qq, sizeof(qq)));
			} else {
				r = tr ? add_unique(&m->tr, &m->ntr,
				    BT_MAX_TRACKERS, &m->tr_dropped, v, e) :
				    add_unique(&m->ws, &m->nws,
				    BT_MAGNET_MAX_WEBSEEDS, &m->ws_dropped, v,
				    e);
				v = NULL;
			}
		} else if (key_is(p, kl, "x.pe"))
			r = add_peer(m, v, e);
		free(v);
		if (r < 0)
			goto fail;
		p = q + (amp != NULL);
	}
	if (!has_btih) {
		if (has_btmh)
			return E("v2 magnet links (urn:btmh) are not "
			    "supported");
		return E("no info hash (xt=urn:btih:)");
	}
	/* A hybrid link (btih and btmh): the v1 swarm is the one we join. */
	return 0;
fail:
	return -1;
}

void
bt_magnet_free(struct bt_magnet *m)
{
	size_t i;

	free(m->name);
	for (i = 0; i < m->ntr; i++)
		free(m->tr[i]);
	free(m->tr);
	for (i = 0; i < m->nws; i++)
		free(m->ws[i]);
	free(m->ws);
	bt_peerlist_free(&m->peers);
	memset(m, 0, sizeof(*m));
}

int
bt_magnet_or_hash(struct bt_magnet *m, const char *arg, struct bt_err *e)
{
	if (bt_magnet_is(arg))
		return bt_magnet_parse(m, arg, e);
	memset(m, 0, sizeof(*m));
	if (bt_info_hash_parse(arg, strlen(arg), m->info_hash, e) < 0) {
		bt_err_prefix(e, "not a magnet link");
		return -1;
	}
	return 0;
}

int
bt_magnet_torrent(const struct bt_magnet *m, const char *info,
    size_t infolen, struct bt_buf *out, struct bt_err *e)
{
	struct bt_bdoc d;
	uint8_t h[BT_SHA1_LEN];
	size_t i, start = out->len;
	int r;

	/* One dict, nothing after it: the bytes whose SHA-1 is the hash. */
	memset(&d, 0, sizeof(d));
	r = bt_bdecode(&d, info, infolen, 0, e) < 0 ? -1 :
	    d.node[0].type != BT_BDICT ? E("not a dict") : 0;
	bt_bdoc_free(&d);
	if (r < 0) {
		if (e != NULL && e->status == BT_EX_DATAERR)
			bt_err_prefix(e, "info");
		return -1;
	}
	bt_sha1(info, infolen, h);
	if (memcmp(h, m->info_hash, BT_SHA1_LEN) != 0)
		return E("info: SHA-1 is not the link's info hash");
	/* Keys sorted as raw strings (BEP 3). */
	bt_benc_dict(out);
	if (m->ntr > 0) {
		bt_benc_cstr(out, "announce");
		bt_benc_cstr(out, m->tr[0]);
		/* BEP 12: one tier each, tried in the link's order. */
		bt_benc_cstr(out, "announce-list");
		bt_benc_list(out);
		for (i = 0; i < m->ntr; i++) {
			bt_benc_list(out);
			bt_benc_cstr(out, m->tr[i]);
			bt_benc_end(out);
		}
		bt_benc_end(out);
	}
	bt_benc_cstr(out, "info");
	bt_buf_add(out, info, infolen);
	if (m->nws > 0) {
		bt_benc_cstr(out, "url-list");
		bt_benc_list(out);
		for (i = 0; i < m->nws; i++)
			bt_benc_cstr(out, m->ws[i]);
		bt_benc_end(out);
	}
	bt_benc_end(out);
	if (out->oom) {
		out->len = start;
		return OOM();
	}
	return 0;
}
