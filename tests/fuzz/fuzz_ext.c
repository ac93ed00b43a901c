/*
 * lib/ext: the three parsers of extended messages on any bytes. The first
 * byte picks one (its value modulo 3: the extension handshake,
 * ut_metadata, ut_pex; for ut_pex the quotient is the most peers kept),
 * the rest is the payload. Beyond "no crash", it checks:
 *   - what a parser accepts is in range: ids, sizes, a printable client
 *     name that fits, data inside the input, no port 0, at most max peers
 *     with the rest counted;
 *   - what a parser accepts, our encoder writes again as a well-framed
 *     message that the parser reads back to the same values;
 *   - a refusal is BT_EX_DATAERR with a message, and leaves nothing
 *     allocated or pointing into the input.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "btlimits.h"
#include "ext.h"
#include "fuzz.h"
#include "util.h"

/* The payload of the one extended message in b, checking its frame. */
static const uint8_t *
payload(const struct bt_buf *b, uint8_t id, size_t *n)
{
	const uint8_t *p = (const uint8_t *)b->p;

	FUZZ_ASSERT(!b->oom, "out of memory");
	FUZZ_ASSERT(b->len >= 6 && bt_get32(p) == b->len - 4 &&
	    p[4] == 20 && p[5] == id, "bad framing of an encoded message");
	*n = b->len - 6;
	return p + 6;
}

static void
refused(int r, const struct bt_err *e)
{
	FUZZ_ASSERT(r == -1, "result %d", r);
	FUZZ_ASSERT(e->status == BT_EX_DATAERR, "status %d: %s", e->status,
	    e->msg);
	FUZZ_ASSERT(e->msg[0] != '\0', "no message");
}

static void
fuzz_hs(const uint8_t *p, size_t n)
{
	struct bt_ext_hs h, back;
	struct bt_ext_hs_conf c;
	struct bt_buf b = { 0 };
	struct bt_err e;
	const uint8_t *q;
	size_t qn, i, len;
	int r;

	if ((r = bt_ext_hs_parse(p, n, &h, &e)) != 0) {
		refused(r, &e);
		return;
	}
	FUZZ_ASSERT(h.metadata_size == -1 || (h.metadata_size >= 1 &&
	    h.metadata_size <= BT_METADATA_MAX_BYTES), "metadata_size %lld",
	    (long long)h.metadata_size);
	FUZZ_ASSERT(h.reqq == -1 || h.reqq > 0, "reqq %d", h.reqq);
	FUZZ_ASSERT(h.upload_only == 0 || h.upload_only == 1, "upload_only");
	len = strnlen(h.client, sizeof(h.client));
	FUZZ_ASSERT(len < sizeof(h.client), "client not terminated");
	for (i = 0; i < len; i++)
		FUZZ_ASSERT((unsigned char)h.client[i] >= 0x20 &&
		    h.client[i] != 0x7f, "control byte in client");
	FUZZ_ASSERT(bt_utf8_valid(h.client, len), "client not UTF-8");

	/* What we would say with what the peer said: read back the same. */
	memset(&c, 0, sizeof(c));
	c.metadata = h.ut_metadata != 0;
	c.metadata_size = h.metadata_size;
	c.pex = h.ut_pex != 0;
	c.port = h.port;
	c.reqq = h.reqq > 0 ? h.reqq : 0;
	c.upload_only = h.upload_only;
	FUZZ_ASSERT(bt_ext_hs_encode(&b, &c) == 0, "encode");
	q = payload(&b, BT_EXT_HANDSHAKE, &qn);
	FUZZ_ASSERT(bt_ext_hs_parse(q, qn, &back, &e) == 0, "our own "
	    "handshake refused: %s", e.msg);
	FUZZ_ASSERT(back.ut_metadata == (h.ut_metadata ? BT_EXT_UT_METADATA :
	    0) && back.ut_pex == (h.ut_pex ? BT_EXT_UT_PEX : 0), "ids");
	FUZZ_ASSERT(back.metadata_size == (h.ut_metadata ? h.metadata_size :
	    -1), "metadata_size %lld, was %lld",
	    (long long)back.metadata_size, (long long)h.metadata_size);
	FUZZ_ASSERT(back.reqq == h.reqq && back.port == h.port &&
	    back.upload_only == h.upload_only, "reqq, port, upload_only");
	FUZZ_ASSERT(strcmp(back.client, BT_USER_AGENT) == 0, "client");
	bt_buf_free(&b);
}

static void
fuzz_md(const uint8_t *p, size_t n)
{
	struct bt_md_msg m, back;
	struct bt_buf b = { 0 };
	struct bt_err e;
	const uint8_t *q;
	size_t qn;
	int r;

	if ((r = bt_md_parse(p, n, &m, &e)) != 0) {
		refused(r, &e);
		FUZZ_ASSERT(m.data == NULL && m.len == 0, "data on failure");
		FUZZ_ASSERT(m.type == -1 || m.type == BT_MD_UNKNOWN,
		    "type %d on failure", m.type);
		return;
	}
	FUZZ_ASSERT(m.type >= BT_MD_REQUEST && m.type <= BT_MD_REJECT,
	    "type %d", m.type);
	FUZZ_ASSERT(m.piece <= INT32_MAX, "piece %u", m.piece);
	if (m.type == BT_MD_DATA) {
		FUZZ_ASSERT(m.total_size >= 1 &&
		    m.total_size <= BT_METADATA_MAX_BYTES, "total_size");
		FUZZ_ASSERT(m.len >= 1 && m.len <= BT_METADATA_PIECE,
		    "len %zu", m.len);
		FUZZ_ASSERT(m.data > p && m.data + m.len == p + n,
		    "data is not the tail of the input");
	} else
		FUZZ_ASSERT(m.total_size == -1 && m.data == NULL &&
		    m.len == 0, "request or reject with data");

	FUZZ_ASSERT(bt_md_encode(&b, 7, m.type, m.piece, m.total_size,
	    m.data, m.len) == 0, "encode");
	q = payload(&b, 7, &qn);
	FUZZ_ASSERT(bt_md_parse(q, qn, &back, &e) == 0, "our own message "
	    "refused: %s", e.msg);
	FUZZ_ASSERT(back.type == m.type && back.piece == m.piece &&
	    back.total_size == m.total_size && back.len == m.len &&
	    (m.len == 0 || memcmp(back.data, m.data, m.len) == 0),
	    "read back differently");
	bt_buf_free(&b);
}

static int
same(const struct bt_peer_addr *a, const struct bt_peer_addr *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

static uint16_t
port(const struct bt_peer_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

/* IPv4 peers come first, as added comes before added6. */
static void
check_order(const struct bt_peer_addr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(a[i].sa.ss_family == AF_INET ||
		    a[i].sa.ss_family == AF_INET6, "family");
		FUZZ_ASSERT(port(&a[i]) != 0, "port 0 kept");
		if (i > 0)
			FUZZ_ASSERT(a[i - 1].sa.ss_family == AF_INET ||
			    a[i].sa.ss_family == AF_INET6, "IPv4 after IPv6");
	}
}

static void
fuzz_pex(const uint8_t *p, size_t n, size_t max)
{
	struct bt_pex x, back;
	struct bt_buf b = { 0 };
	struct bt_err e;
	const uint8_t *q;
	size_t qn, i;
	int r;

	if ((r = bt_pex_parse(p, n, max, &x, &e)) != 0) {
		refused(r, &e);
		bt_pex_free(&x);
		return;
	}
	FUZZ_ASSERT(x.nadded <= max && x.ndropped <= max, "over max");
	FUZZ_ASSERT(x.over == 0 || x.nadded == max || x.ndropped == max,
	    "counted over before max");
	FUZZ_ASSERT(x.nadded == 0 || (x.added != NULL && x.flags != NULL),
	    "added without arrays");
	check_order(x.added, x.nadded);
	check_order(x.dropped, x.ndropped);

	FUZZ_ASSERT(bt_pex_encode(&b, 2, x.added, x.flags, x.nadded,
	    x.dropped, x.ndropped) == 0, "encode");
	q = payload(&b, 2, &qn);
	FUZZ_ASSERT(bt_pex_parse(q, qn, (size_t)-1, &back, &e) == 0,
	    "our own pex refused: %s", e.msg);
	FUZZ_ASSERT(back.nadded == x.nadded && back.ndropped == x.ndropped &&
	    back.over == 0, "counts %zu %zu, were %zu %zu", back.nadded,
	    back.ndropped, x.nadded, x.ndropped);
	for (i = 0; i < x.nadded; i++)
		FUZZ_ASSERT(same(&back.added[i], &x.added[i]) &&
		    back.flags[i] == x.flags[i], "added peer %zu", i);
	for (i = 0; i < x.ndropped; i++)
		FUZZ_ASSERT(same(&back.dropped[i], &x.dropped[i]),
		    "dropped peer %zu", i);
	bt_pex_free(&back);
	bt_pex_free(&x);
	bt_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_hs(data + 1, size - 1);
		break;
	case 1:
		fuzz_md(data + 1, size - 1);
		break;
	default:
		fuzz_pex(data + 1, size - 1, data[0] / 3);
		break;
	}
	return 0;
}
