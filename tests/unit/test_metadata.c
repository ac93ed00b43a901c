/*
 * lib/metadata: the assembly of metadata pieces (BEP 9) and its checks,
 * and the engine's answers when no peer can give anything.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "btlimits.h"
#include "metadata.h"
#include "t.h"

static struct bt_md_msg
data(uint32_t piece, int64_t total, const uint8_t *p, size_t len)
{
	struct bt_md_msg m;

	memset(&m, 0, sizeof(m));
	m.type = BT_MD_DATA;
	m.piece = piece;
	m.total_size = total;
	m.data = p;
	m.len = len;
	return m;
}

static void
test_init(void)
{
	struct bt_md_asm a;
	struct bt_err e;

	T_OK(bt_md_asm_init(&a, 0, &e) < 0 && e.status == BT_EX_DATAERR,
	    "metadata of 0 bytes is refused");
	T_OK(bt_md_asm_init(&a, BT_METADATA_MAX_BYTES + 1, &e) < 0 &&
	    strstr(e.msg, "(limit BT_METADATA_MAX_BYTES") != NULL,
	    "metadata over BT_METADATA_MAX_BYTES is refused, naming it");
	T_OK(bt_md_asm_init(&a, 1, &e) == 0 && a.npieces == 1,
	    "1 byte is one piece");
	bt_md_asm_free(&a);
	T_OK(bt_md_asm_init(&a, BT_METADATA_PIECE, &e) == 0 &&
	    a.npieces == 1, "exactly one piece's bytes are one piece");
	bt_md_asm_free(&a);
	T_OK(bt_md_asm_init(&a, BT_METADATA_MAX_BYTES, &e) == 0 &&
	    a.npieces == BT_METADATA_MAX_BYTES / BT_METADATA_PIECE,
	    "BT_METADATA_MAX_BYTES itself is taken");
	bt_md_asm_free(&a);
}

static void
test_add(void)
{
	enum { SIZE = 2 * BT_METADATA_PIECE + 100 };
	static uint8_t src[SIZE];
	struct bt_md_asm a;
	struct bt_md_msg m;
	struct bt_err e;
	size_t i;

	for (i = 0; i < SIZE; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	T_OK(bt_md_asm_init(&a, SIZE, &e) == 0 && a.npieces == 3,
	    "two pieces and 100 bytes are three pieces");

	m = data(2, SIZE, src + 2 * BT_METADATA_PIECE, 100);
	T_OK(bt_md_asm_add(&a, &m, &e) == 1, "the short last piece first");
	T_OK(!bt_md_asm_complete(&a), "not complete with one of three");
	T_OK(bt_md_asm_add(&a, &m, &e) == 0 && a.ndone == 1,
	    "a piece again is ignored");

	m = data(3, SIZE, src, 100);
	T_OK(bt_md_asm_add(&a, &m, &e) < 0 && e.status == BT_EX_DATAERR,
	    "a piece past the last is refused");
	T_STREQ(e.msg, "piece 3 out of range: 32868 bytes of metadata are "
	    "3 pieces of 16384 bytes", "and the reason says the count");

	m = data(0, SIZE, src, BT_METADATA_PIECE - 1);
	T_OK(bt_md_asm_add(&a, &m, &e) < 0, "a short piece is refused");
	T_STREQ(e.msg, "piece 0 of 16383 bytes, not 16384 (limit "
	    "BT_METADATA_PIECE)", "naming both lengths");

	m = data(2, SIZE, src, 101);
	T_OK(bt_md_asm_add(&a, &m, &e) < 0, "a long last piece is refused");

	m = data(0, SIZE + 1, src, BT_METADATA_PIECE);
	T_OK(bt_md_asm_add(&a, &m, &e) < 0, "another total_size is refused");
	T_STREQ(e.msg, "total_size 32869, not the metadata_size 32868 of "
	    "its extension handshake", "naming both sizes");
	T_OK(a.ndone == 1, "refused pieces are not stored");

	m = data(1, SIZE, src + BT_METADATA_PIECE, BT_METADATA_PIECE);
	T_OK(bt_md_asm_add(&a, &m, &e) == 1, "the middle piece");
	m = data(0, SIZE, src, BT_METADATA_PIECE);
	T_OK(bt_md_asm_add(&a, &m, &e) == 1, "the first piece");
	T_OK(bt_md_asm_complete(&a), "complete with three of three");
	T_OK(memcmp(a.buf, src, SIZE) == 0, "the bytes in their places");
	bt_md_asm_free(&a);
}

static void
test_check(void)
{
	static const char info[] = "d4:name1:x12:piece lengthi16384ee";
	static const char num[] = "i5e";
	static const char trail[] = "dex";
	uint8_t h[BT_SHA1_LEN];
	struct bt_err e;

	bt_sha1(info, sizeof(info) - 1, h);
	T_OK(bt_md_check((const uint8_t *)info, sizeof(info) - 1, h,
	    &e) == 0, "a dict whose SHA-1 is the info hash passes");
	h[0] ^= 1;
	T_OK(bt_md_check((const uint8_t *)info, sizeof(info) - 1, h,
	    &e) < 0 && e.status == BT_EX_DATAERR, "another hash fails");
	T_OK(strncmp(e.msg, "metadata of 33 bytes fails its SHA-1 (", 38) ==
	    0 && strstr(e.msg, ", not the info hash)") != NULL,
	    "saying it fails its SHA-1: %s", e.msg);

	bt_sha1(num, sizeof(num) - 1, h);
	T_OK(bt_md_check((const uint8_t *)num, sizeof(num) - 1, h, &e) < 0,
	    "an integer with the right hash fails");
	T_STREQ(e.msg, "metadata is not a bencoded dict", "not a dict");

	bt_sha1(trail, sizeof(trail) - 1, h);
	T_OK(bt_md_check((const uint8_t *)trail, sizeof(trail) - 1, h,
	    &e) < 0 && strncmp(e.msg, "metadata is not bencoded: ", 26) == 0,
	    "bytes after the dict fail: %s", e.msg);
}

static int nlog;

static void
on_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
	nlog++;
}

static void
test_engine(void)
{
	struct bt_metadata_conf c;
	struct bt_metadata_stats st;
	struct bt_peer_addr a;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.sa;
	socklen_t len = sizeof(*sin);
	struct bt_err e;
	uint8_t *info = (uint8_t *)"x";
	size_t n = 1;
	int fd;

	memset(&c, 0, sizeof(c));
	c.on_log = on_log;
	T_OK(bt_metadata_fetch(&c, NULL, 0, &info, &n, &st, &e) < 0 &&
	    e.status == BT_EX_UNAVAILABLE && info == NULL && n == 0,
	    "no peer: unavailable, nothing returned");
	T_STREQ(e.msg, "no peer gave the metadata: 0 peers tried, 0 banned",
	    "saying how many were tried");

	/* A port bound but not listening: the connect is refused. */
	memset(&a, 0, sizeof(a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	T_OK(fd >= 0 && bind(fd, (struct sockaddr *)sin, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)sin, &len) == 0,
	    "a port bound, not listening");
	a.salen = sizeof(*sin);
	T_OK(bt_metadata_fetch(&c, &a, 1, &info, &n, &st, &e) < 0 &&
	    e.status == BT_EX_UNAVAILABLE && st.tried == 1 &&
	    st.banned == 0 && nlog == 1,
	    "a refused connect: one peer tried, one line, unavailable");
	close(fd);
}

int
main(void)
{
	test_init();
	test_add();
	test_check();
	test_engine();
	return t_done();
}
