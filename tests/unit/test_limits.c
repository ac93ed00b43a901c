/*
 * Limits of lib/btlimits.h hit where building the input through a
 * program is awkward: the UDP error text, the tracker text helper, the
 * sequence reader's message, the bencode depth and token limits at and
 * one over. tests/limits.bats hits the rest through the programs.
 */
#include <stdlib.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"
#include "tracker.h"
#include "util.h"
#include "t.h"

static void
test_text(void)
{
	uint8_t pkt[8 + 300];
	char want[600], text[BT_TRACKER_TEXT_BUF], small[80], in[300];
	struct bt_udp_reply r;
	struct bt_err e;
	const char *why = NULL;
	size_t n;

	/* The UDP error action: the text is the rest of the datagram. */
	bt_put32(pkt, BT_UDP_ERROR);
	bt_put32(pkt + 4, 7);
	memset(pkt + 8, 'E', 300);
	T_OK(bt_udp_reply_parse(pkt, 8 + BT_TRACKER_MAX_TEXT, BT_UDP_ANNOUNCE,
	    7, &r, &why, &e) == -1 && e.status == BT_EX_UNAVAILABLE,
	    "UDP: an error text of BT_TRACKER_MAX_TEXT bytes is status 69");
	n = (size_t)snprintf(want, sizeof(want), "tracker failure: %.*s",
	    BT_TRACKER_MAX_TEXT, (const char *)pkt + 8);
	T_STREQ(e.msg, want, "UDP: ... and shown whole, %zu bytes", n);
	T_OK(bt_udp_reply_parse(pkt, sizeof(pkt), BT_UDP_ANNOUNCE, 7, &r,
	    &why, &e) == -1 && e.status == BT_EX_UNAVAILABLE,
	    "UDP: an error text of 300 bytes is status 69");
	snprintf(want, sizeof(want), "tracker failure: %.*s... (cut at 200 "
	    "bytes, limit BT_TRACKER_MAX_TEXT)", BT_TRACKER_MAX_TEXT,
	    (const char *)pkt + 8);
	T_STREQ(e.msg, want, "UDP: ... cut at BT_TRACKER_MAX_TEXT, and says so");

	/* Escaped bytes take 4 each: the tail still fits the buffer. */
	memset(in, 0x01, sizeof(in));
	bt_tracker_text(in, sizeof(in), text, sizeof(text));
	T_OK(strlen(text) == 4 * BT_TRACKER_MAX_TEXT + strlen("... (cut at "
	    "200 bytes, limit BT_TRACKER_MAX_TEXT)") &&
	    strncmp(text, "\\x01\\x01", 8) == 0,
	    "text: 200 escaped bytes and the tail fill BT_TRACKER_TEXT_BUF");
	bt_tracker_text(in, sizeof(in), small, sizeof(small));
	n = strlen(small);
	T_OK(n < sizeof(small) && n > 20 && strcmp(small + n - 20,
	    "BT_TRACKER_MAX_TEXT)") == 0,
	    "text: a small buffer loses text, never the tail: '%s'", small);
}

/* A file holding p[0..n), opened for reading at its start. */
static int
file_of(const char *p, size_t n)
{
	char path[] = "/tmp/test_limits.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, p, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_seq(void)
{
	static const char v[] = "10:0123456789";	/* 13 bytes */
	struct bt_bseq q;
	struct bt_err e;
	int fd;

	fd = file_of(v, sizeof(v) - 1);
	bt_bseq_init(&q, fd, 13);
	q.limit = "BT_TEST_LIMIT";
	T_OK(bt_bseq_next(&q, &e) == 1, "bseq: a value of exactly max bytes");
	bt_bseq_free(&q);
	lseek(fd, 0, SEEK_SET);
	bt_bseq_init(&q, fd, 12);
	q.limit = "BT_TEST_LIMIT";
	T_OK(bt_bseq_next(&q, &e) == -1 && e.status == BT_EX_DATAERR,
	    "bseq: one byte over max is status 65");
	T_STREQ(e.msg, "value larger than 12 bytes (limit BT_TEST_LIMIT)",
	    "bseq: ... naming the limit");
	bt_bseq_free(&q);
	lseek(fd, 0, SEEK_SET);
	bt_bseq_init(&q, fd, 12);
	T_OK(bt_bseq_next(&q, &e) == -1, "bseq: no name given");
	T_STREQ(e.msg, "value larger than 12 bytes", "bseq: ... no name said");
	bt_bseq_free(&q);
	close(fd);
}

static void
test_bencode(void)
{
	size_t n = 1 + 3 * (BT_BENCODE_MAX_TOKENS - 1) + 1, i;
	char *b = malloc(n + 3), depth[2 * (BT_BENCODE_MAX_DEPTH + 1)];
	struct bt_bdoc d;
	struct bt_err e;

	if (b == NULL)
		abort();
	/* A list and BT_BENCODE_MAX_TOKENS - 1 integers: at the limit. */
	b[0] = 'l';
	for (i = 0; i < BT_BENCODE_MAX_TOKENS - 1; i++)
		memcpy(b + 1 + 3 * i, "i7e", 3);
	b[n - 1] = 'e';
	T_OK(bt_bdecode(&d, b, n, 0, &e) == (long long)n &&
	    d.nnode == BT_BENCODE_MAX_TOKENS,
	    "bencode: exactly BT_BENCODE_MAX_TOKENS values decode");
	bt_bdoc_free(&d);
	memcpy(b + n - 1, "i7ee", 4);
	T_OK(bt_bdecode(&d, b, n + 3, 0, &e) == -1 &&
	    e.status == BT_EX_DATAERR && e.off == (long long)n - 1,
	    "bencode: one more value is status 65 at its offset");
	T_STREQ(e.msg, "more than 4000000 values (limit "
	    "BT_BENCODE_MAX_TOKENS)", "bencode: ... naming the limit");
	T_OK(d.cap <= BT_BENCODE_MAX_TOKENS,
	    "bencode: the node table never grows past the limit");
	bt_bdoc_free(&d);
	free(b);

	memset(depth, 'l', BT_BENCODE_MAX_DEPTH);
	memset(depth + BT_BENCODE_MAX_DEPTH, 'e', BT_BENCODE_MAX_DEPTH);
	T_OK(bt_bdecode(&d, depth, 2 * BT_BENCODE_MAX_DEPTH, 0, &e) ==
	    2 * BT_BENCODE_MAX_DEPTH,
	    "bencode: BT_BENCODE_MAX_DEPTH nested lists decode");
	bt_bdoc_free(&d);
	memset(depth, 'l', BT_BENCODE_MAX_DEPTH + 1);
	memset(depth + BT_BENCODE_MAX_DEPTH + 1, 'e', BT_BENCODE_MAX_DEPTH + 1);
	T_OK(bt_bdecode(&d, depth, sizeof(depth), 0, &e) == -1 &&
	    e.off == BT_BENCODE_MAX_DEPTH,
	    "bencode: one more is status 65 at its byte");
	T_STREQ(e.msg, "nesting deeper than 100 (limit BT_BENCODE_MAX_DEPTH)",
	    "bencode: ... naming the limit");
	bt_bdoc_free(&d);
}

int
main(void)
{
	test_text();
	test_seq();
	test_bencode();
	return t_done();
}
