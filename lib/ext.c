/*
 * The extension protocol (BEP 10) and its ut_metadata (BEP 9) and ut_pex
 * (BEP 11) messages. The parsers read what a peer sent and trust none of
 * it: every payload is decoded by lib/bencode within its limits, every
 * value's type and range is checked before it is used, and bytes after a
 * dict are refused unless BEP 9 puts a piece there. Keys a parser does
 * not know are ignored: BEP 10 lets every client add its own.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "ext.h"
#include "util.h"
#include "wire.h"

#define E(off, ...) bt_errf(e, BT_EX_DATAERR, (long long)(off), __VA_ARGS__)

/* BEP 9's piece index, kept below 2^31 so that it fits any int. */
#define MD_MAX_PIECE	INT32_MAX

/*
 * Start a whole extended message in out: room for the length prefix,
 * id 20, the extended id. Returns where the message starts, for
 * msg_end to fill in the length.
 */
static size_t
msg_begin(struct bt_buf *out, uint8_t id)
{
	uint8_t hdr[BT_WIRE_PREFIX_LEN + 2] = { 0 };
	size_t start = out->len;

	hdr[BT_WIRE_PREFIX_LEN] = BT_MSG_EXTENDED;
	hdr[BT_WIRE_PREFIX_LEN + 1] = id;
	bt_buf_add(out, hdr, sizeof(hdr));
	return start;
}

/* Fill the length prefix; on a failed allocation drop the message. */
static int
msg_end(struct bt_buf *out, size_t start)
{
	size_t n;

	if (out->oom) {
		if (out->len > start)
			out->len = start;
		return -1;
	}
	n = out->len - start - BT_WIRE_PREFIX_LEN;
	if (n > UINT32_MAX) {
		out->len = start;
		return -1;
	}
	bt_put32((uint8_t *)out->p + start, (uint32_t)n);
	return 0;
}

/* Decode a payload, prefixing a bencode error with what was decoded. */
static long long
decode(struct bt_bdoc *d, const uint8_t *p, size_t n, int flags,
    const char *what, struct bt_err *e)
{
	long long r;

	r = bt_bdecode(d, (const char *)p, n, flags, e);
	if (r < 0) {
		bt_err_prefix(e, "%s", what);
		return -1;
	}
	if (d->node[0].type != BT_BDICT)
		return E(0, "%s: not a dict", what);
	return r;
}

/* An integer value under key, or NULL if absent or of another type. */
static const struct bt_bnode *
getint(const struct bt_bdoc *d, const struct bt_bnode *dict, const char *key)
{
	return bt_bdict_get_type(d, dict, key, BT_BINT);
}

/* BEP 10: an id is one byte; 0 says the extension is off. */
static uint8_t
ext_id(const struct bt_bdoc *d, const struct bt_bnode *m, const char *name)
{
	const struct bt_bnode *v = getint(d, m, name);

	if (v == NULL || v->v.i < 0 || v->v.i > 255)
		return 0;
	return (uint8_t)v->v.i;
}

int
bt_ext_hs_parse(const uint8_t *p, size_t n, struct bt_ext_hs *h,
    struct bt_err *e)
{
	struct bt_bdoc d;
	const struct bt_bnode *root, *m, *v;
	int r = -1;

	memset(h, 0, sizeof(*h));
	h->metadata_size = -1;
	h->reqq = -1;
	if (n > BT_EXT_MAX_HANDSHAKE)
		return E(-1, "extension handshake: %zu bytes, over %d "
		    "(limit BT_EXT_MAX_HANDSHAKE)", n, BT_EXT_MAX_HANDSHAKE);
	if (decode(&d, p, n, 0, "extension handshake", e) < 0)
		goto out;
	root = &d.node[0];

	m = bt_bdict_get_type(&d, root, "m", BT_BDICT);
	h->ut_metadata = ext_id(&d, m, "ut_metadata");
	h->ut_pex = ext_id(&d, m, "ut_pex");

	/* BEP 9: the size of the info dict the peer has. */
	if ((v = getint(&d, root, "metadata_size")) != NULL) {
		if (v->v.i < 1 || v->v.i > BT_METADATA_MAX_BYTES) {
			E(v->off, "extension handshake: metadata_size %lld "
			    "out of range 1..%ld (limit BT_METADATA_MAX_BYTES)",
			    (long long)v->v.i, (long)BT_METADATA_MAX_BYTES);
			goto out;
		}
		h->metadata_size = v->v.i;
	}
	if ((v = getint(&d, root, "reqq")) != NULL && v->v.i > 0 &&
	    v->v.i <= INT_MAX)
		h->reqq = (int)v->v.i;
	if ((v = getint(&d, root, "p")) != NULL && v->v.i > 0 &&
	    v->v.i <= 65535)
		h->port = (uint16_t)v->v.i;
	if ((v = getint(&d, root, "upload_only")) != NULL && v->v.i != 0)
		h->upload_only = 1;
	/* BEP 10: "v" is UTF-8 by the spec, anything in practice. */
	if ((v = bt_bdict_get_type(&d, root, "v", BT_BSTR)) != NULL)
		bt_escape(bt_bstr(&d, v), v->v.s.len, h->client,
		    sizeof(h->client));
	r = 0;
out:
	bt_bdoc_free(&d);
	return r;
}

int
bt_ext_hs_encode(struct bt_buf *out, const struct bt_ext_hs_conf *c)
{
	size_t start = msg_begin(out, BT_EXT_HANDSHAKE);

	/* Keys in raw byte order, as BEP 3 asks of every dict. */
	bt_benc_dict(out);
	bt_benc_cstr(out, "m");
	bt_benc_dict(out);
	if (c->metadata) {
		bt_benc_cstr(out, "ut_metadata");
		bt_benc_int(out, BT_EXT_UT_METADATA);
	}
	if (c->pex) {
		bt_benc_cstr(out, "ut_pex");
		bt_benc_int(out, BT_EXT_UT_PEX);
	}
	bt_benc_end(out);
	if (c->metadata && c->metadata_size > 0) {
		bt_benc_cstr(out, "metadata_size");
		bt_benc_int(out, c->metadata_size);
	}
	if (c->port != 0) {
		bt_benc_cstr(out, "p");
		bt_benc_int(out, c->port);
	}
	if (c->reqq > 0) {
		bt_benc_cstr(out, "reqq");
		bt_benc_int(out, c->reqq);
	}
	if (c->upload_only) {
		bt_benc_cstr(out, "upload_only");
		bt_benc_int(out, 1);
	}
	bt_benc_cstr(out, "v");
	bt_benc_cstr(out, BT_USER_AGENT);
	bt_benc_end(out);
	return msg_end(out, start);
}

int
bt_md_parse(const uint8_t *p, size_t n, struct bt_md_msg *m,
    struct bt_err *e)
{
	struct bt_bdoc d;
	const struct bt_bnode *root, *v;
	long long dlen;
	int r = -1;

	memset(m, 0, sizeof(*m));
	m->type = -1;
	m->total_size = -1;
	/* The piece's bytes follow the dict: decode the dict alone. */
	if ((dlen = decode(&d, p, n, BT_BDEC_PREFIX, "ut_metadata", e)) < 0)
		goto out;
	root = &d.node[0];

	if ((v = getint(&d, root, "msg_type")) == NULL) {
		E(0, "ut_metadata: no integer msg_type");
		goto out;
	}
	if (v->v.i < BT_MD_REQUEST || v->v.i > BT_MD_REJECT) {
		/* BEP 9: "an unrecognized message ID MUST be ignored";
		   the caller can tell this refusal by the type. */
		m->type = BT_MD_UNKNOWN;
		E(v->off, "ut_metadata: unknown msg_type %lld",
		    (long long)v->v.i);
		goto out;
	}
	m->type = (int)v->v.i;
	if ((v = getint(&d, root, "piece")) == NULL) {
		E(0, "ut_metadata: no integer piece");
		goto out;
	}
	if (v->v.i < 0 || v->v.i > MD_MAX_PIECE) {
		E(v->off, "ut_metadata: piece %lld out of range 0..%ld",
		    (long long)v->v.i, (long)MD_MAX_PIECE);
		goto out;
	}
	m->piece = (uint32_t)v->v.i;

	if (m->type != BT_MD_DATA) {
		if ((size_t)dlen != n) {
			E(dlen, "ut_metadata: %zu bytes after the dict of a "
			    "%s", n - (size_t)dlen, m->type == BT_MD_REQUEST ?
			    "request" : "reject");
			goto out;
		}
		r = 0;
		goto out;
	}
	if ((v = getint(&d, root, "total_size")) == NULL) {
		E(0, "ut_metadata: data without an integer total_size");
		goto out;
	}
	if (v->v.i < 1 || v->v.i > BT_METADATA_MAX_BYTES) {
		E(v->off, "ut_metadata: total_size %lld out of range 1..%ld "
		    "(limit BT_METADATA_MAX_BYTES)", (long long)v->v.i,
		    (long)BT_METADATA_MAX_BYTES);
		goto out;
	}
	m->total_size = v->v.i;
	m->data = p + dlen;
	m->len = n - (size_t)dlen;
	if (m->len == 0) {
		E(dlen, "ut_metadata: data message without data");
		goto out;
	}
	if (m->len > BT_METADATA_PIECE) {
		E(dlen, "ut_metadata: %zu bytes of data, over %d "
		    "(limit BT_METADATA_PIECE)", m->len, BT_METADATA_PIECE);
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		if (m->type != BT_MD_UNKNOWN)
			m->type = -1;
		m->data = NULL;
		m->len = 0;
	}
	bt_bdoc_free(&d);
	return r;
}

int
bt_md_encode(struct bt_buf *out, uint8_t id, int type, uint32_t piece,
    int64_t total_size, const uint8_t *data, size_t len)
{
	size_t start;

	if (type < BT_MD_REQUEST || type > BT_MD_REJECT ||
	    (type == BT_MD_DATA && data == NULL && len > 0))
		return -1;
	start = msg_begin(out, id);
	bt_benc_dict(out);
	bt_benc_cstr(out, "msg_type");
	bt_benc_int(out, type);
	bt_benc_cstr(out, "piece");
	bt_benc_int(out, piece);
	if (type == BT_MD_DATA) {
		bt_benc_cstr(out, "total_size");
		bt_benc_int(out, total_size);
	}
	bt_benc_end(out);
	if (type == BT_MD_DATA && len > 0)
		bt_buf_add(out, data, len);
	return msg_end(out, start);
}

uint32_t
bt_md_npieces(int64_t size)
{
	int64_t k;

	if (size <= 0)
		return 0;
	k = size / BT_METADATA_PIECE + (size % BT_METADATA_PIECE != 0);
	return k > UINT32_MAX ? UINT32_MAX : (uint32_t)k;
}

size_t
bt_md_piece_len(int64_t size, uint32_t i)
{
	int64_t off;

	if (i >= bt_md_npieces(size))
		return 0;
	off = (int64_t)i * BT_METADATA_PIECE;
	return size - off < BT_METADATA_PIECE ? (size_t)(size - off) :
	    BT_METADATA_PIECE;
}

/* BEP 11's compact lists: the key, the bytes a peer, its flags' key. */
static const struct pex_key {
	const char *key;
	size_t size;
	const char *fkey;
	int dropped;
} pex_keys[] = {
	{ "added", 6, "added.f", 0 },
	{ "added6", 18, "added6.f", 0 },
	{ "dropped", 6, NULL, 1 },
	{ "dropped6", 18, NULL, 1 },
};
#define NPEX_KEYS (sizeof(pex_keys) / sizeof(pex_keys[0]))

int
bt_pex_parse(const uint8_t *p, size_t n, size_t max, struct bt_pex *x,
    struct bt_err *e)
{
	struct bt_bdoc d;
	const struct bt_bnode *root, *s[NPEX_KEYS];
	size_t want[2] = { 0, 0 }, k, i;
	int r = -1;

	memset(x, 0, sizeof(*x));
	if (decode(&d, p, n, 0, "ut_pex", e) < 0)
		goto out;
	root = &d.node[0];

	/* Check every list whole before keeping any of it. */
	for (k = 0; k < NPEX_KEYS; k++) {
		const struct pex_key *pk = &pex_keys[k];
		const uint8_t *b;
		size_t len, j;

		s[k] = bt_bdict_get(&d, root, pk->key);
		if (s[k] == NULL)
			continue;
		if (s[k]->type != BT_BSTR) {
			E(s[k]->off, "ut_pex: %s is not a string", pk->key);
			goto out;
		}
		len = s[k]->v.s.len;
		if (len % pk->size != 0) {
			E(s[k]->off, "ut_pex: %s of %zu bytes, not a multiple "
			    "of %zu", pk->key, len, pk->size);
			goto out;
		}
		b = (const uint8_t *)bt_bstr(&d, s[k]);
		for (j = 0; j < len; j += pk->size)
			if (b[j + pk->size - 2] == 0 &&
			    b[j + pk->size - 1] == 0) {
				E(s[k]->v.s.off + j, "ut_pex: %s: peer %zu "
				    "has port 0", pk->key, j / pk->size + 1);
				goto out;
			}
		want[pk->dropped] += len / pk->size;
	}
	for (i = 0; i < 2; i++)
		if (want[i] > max) {
			x->over += want[i] - max;
			want[i] = max;
		}
	if (want[0] > 0 && ((x->added = calloc(want[0],
	    sizeof(*x->added))) == NULL || (x->flags = calloc(want[0], 1)) ==
	    NULL)) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "ut_pex: out of memory");
		goto out;
	}
	if (want[1] > 0 && (x->dropped = calloc(want[1],
	    sizeof(*x->dropped))) == NULL) {
		bt_errf(e, BT_EX_SOFTWARE, -1, "ut_pex: out of memory");
		goto out;
	}

	for (k = 0; k < NPEX_KEYS; k++) {
		const struct pex_key *pk = &pex_keys[k];
		const struct bt_bnode *f = NULL;
		const uint8_t *b;
		size_t cnt, j, iplen = pk->size - 2;

		if (s[k] == NULL)
			continue;
		b = (const uint8_t *)bt_bstr(&d, s[k]);
		cnt = s[k]->v.s.len / pk->size;
		/* BEP 11: a flag byte a peer; a list of another length is
		   ignored, as libtorrent does, since flags are only hints. */
		if (pk->fkey != NULL) {
			f = bt_bdict_get_type(&d, root, pk->fkey, BT_BSTR);
			if (f != NULL && f->v.s.len != cnt)
				f = NULL;
		}
		for (j = 0; j < cnt; j++) {
			const uint8_t *q = b + j * pk->size;
			uint16_t port = (uint16_t)(q[iplen] << 8 |
			    q[iplen + 1]);

			if (pk->dropped) {
				if (x->ndropped == want[1])
					break;
				bt_peer_from_raw(&x->dropped[x->ndropped++], q,
				    iplen, port);
			} else {
				if (x->nadded == want[0])
					break;
				if (f != NULL)
					x->flags[x->nadded] =
					    (uint8_t)bt_bstr(&d, f)[j];
				bt_peer_from_raw(&x->added[x->nadded++], q,
				    iplen, port);
			}
		}
	}
	r = 0;
out:
	bt_bdoc_free(&d);
	return r;
}

void
bt_pex_free(struct bt_pex *x)
{
	free(x->added);
	free(x->flags);
	free(x->dropped);
	memset(x, 0, sizeof(*x));
}

/* The compact form of one address: 4 or 16 bytes of IP, 2 of port. */
static size_t
compact(const struct bt_peer_addr *a, uint8_t out[18])
{
	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&a->sa;

		memcpy(out, &s6->sin6_addr, 16);
		memcpy(out + 16, &s6->sin6_port, 2);
		return 18;
	}
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&a->sa;

		memcpy(out, &s4->sin_addr, 4);
		memcpy(out + 4, &s4->sin_port, 2);
		return 6;
	}
	return 0;
}

/* One compact string of the peers of one family (size 6 or 18). */
static void
pex_list(struct bt_buf *out, const struct bt_peer_addr *a, size_t n,
    size_t size)
{
	uint8_t c[18];
	size_t i, cnt = 0;
	char len[32];

	for (i = 0; i < n; i++)
		if (compact(&a[i], c) == size)
			cnt++;
	snprintf(len, sizeof(len), "%zu:", cnt * size);
	bt_buf_add(out, len, strlen(len));
	for (i = 0; i < n; i++)
		if (compact(&a[i], c) == size)
			bt_buf_add(out, c, size);
}

/* Their flags, 0 for each when flags is NULL. */
static void
pex_flags(struct bt_buf *out, const struct bt_peer_addr *a,
    const uint8_t *flags, size_t n, size_t size)
{
	uint8_t c[18];
	size_t i, cnt = 0;
	char len[32];

	for (i = 0; i < n; i++)
		if (compact(&a[i], c) == size)
			cnt++;
	snprintf(len, sizeof(len), "%zu:", cnt);
	bt_buf_add(out, len, strlen(len));
	for (i = 0; i < n; i++)
		if (compact(&a[i], c) == size) {
			uint8_t f = flags != NULL ? flags[i] : 0;

			bt_buf_add(out, &f, 1);
		}
}

int
bt_pex_encode(struct bt_buf *out, uint8_t id,
    const struct bt_peer_addr *added, const uint8_t *flags, size_t nadded,
    const struct bt_peer_addr *dropped, size_t ndropped)
{
	size_t start = msg_begin(out, id);

	/* Every key, even empty, in byte order, as libtorrent sends them. */
	bt_benc_dict(out);
	bt_benc_cstr(out, "added");
	pex_list(out, added, nadded, 6);
	bt_benc_cstr(out, "added.f");
	pex_flags(out, added, flags, nadded, 6);
	bt_benc_cstr(out, "added6");
	pex_list(out, added, nadded, 18);
	bt_benc_cstr(out, "added6.f");
	pex_flags(out, added, flags, nadded, 18);
	bt_benc_cstr(out, "dropped");
	pex_list(out, dropped, ndropped, 6);
	bt_benc_cstr(out, "dropped6");
	pex_list(out, dropped, ndropped, 18);
	bt_benc_end(out);
	return msg_end(out, start);
}

int
bt_md_answer(struct bt_buf *out, uint8_t id, const uint8_t *info,
    size_t len, uint32_t i)
{
	int64_t size = (int64_t)len;

	if (i >= bt_md_npieces(size))
		return bt_md_encode(out, id, BT_MD_REJECT, i, -1, NULL, 0);
	return bt_md_encode(out, id, BT_MD_DATA, i, size,
	    info + (size_t)i * BT_METADATA_PIECE, bt_md_piece_len(size, i));
}
