/*
 * hostile-leecher: a downloader that misbehaves on purpose, for the tests
 * of bt-seed. It connects to ADDR PORT, shakes hands for TORRENT's info
 * hash, acts as MODE says, and reports on stdout what the seeder did:
 *
 *	hostile-leecher [-t SECONDS] MODE TORRENT ADDR PORT
 *
 *	bitfield	prints "bitfield " and one 0 or 1 a piece, or
 *			"bitfield none" when the first message after the
 *			handshake is not a bitfield (or none comes in 2 s)
 *	range		interested; once unchoked, requests piece npieces
 *	oversize	interested; once unchoked, requests 32 KiB blocks
 *	beyond		once unchoked, a block past the piece's end
 *	flood		interested; once unchoked, requests 5000 blocks
 *			without reading the answers
 *	choked		never interested; 3000 requests while choked
 *	idle		says nothing after the handshake
 *	get		interested; downloads piece 0 and prints its SHA-1
 *			check ("piece 0 good" or "piece 0 bad")
 *
 * Lines: "handshake", "unchoked", then "closed by peer" when the seeder
 * ends the connection, or "still open after N s" (exit 1) when -t
 * SECONDS (default 20) pass first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "btlimits.h"
#include "metainfo.h"
#include "sha1.h"
#include "util.h"
#include "wire.h"

static int fd;
static double deadline;
static int limit = 20;
static struct bt_torrent t;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
closed(void)
{
	printf("closed by peer\n");
	exit(0);
}

static void
timed_out(void)
{
	printf("still open after %d s\n", limit);
	exit(1);
}

/* Read exactly n bytes; 0 on timeout (ms from now, or the deadline). */
static int
readn(void *buf, size_t n, int ms)
{
	uint8_t *p = buf;
	double until = ms >= 0 ? now() + ms / 1000.0 : deadline;

	while (n > 0) {
		struct pollfd pf = { fd, POLLIN, 0 };
		double left = until - now();
		ssize_t r;

		if (left <= 0)
			return 0;
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = read(fd, p, n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			closed();
		}
		p += r;
		n -= (size_t)r;
	}
	return 1;
}

static void
writen(const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			closed();
		}
		p += w;
		n -= (size_t)w;
	}
}

/* The next message: its id (-1 keep-alive), payload into buf (cut). */
static int
next_msg(uint8_t *buf, size_t cap, uint32_t *len, int ms)
{
	uint8_t hdr[4], skip[4096];
	uint32_t n, k;

	if (!readn(hdr, 4, ms))
		return -2;
	n = bt_get32(hdr);
	if (n == 0)
		return -1;
	if (!readn(hdr, 1, -1))
		timed_out();
	n--;
	*len = n;
	k = n < cap ? n : (uint32_t)cap;
	if (k > 0 && !readn(buf, k, -1))
		timed_out();
	for (n -= k; n > 0; n -= k) {
		k = n < sizeof(skip) ? n : (uint32_t)sizeof(skip);
		if (!readn(skip, k, -1))
			timed_out();
	}
	return hdr[0];
}

static void
wait_unchoke(void)
{
	static uint8_t buf[1 << 20];
	uint32_t len;
	int id;

	for (;;) {
		id = next_msg(buf, sizeof(buf), &len, -1);
		if (id == -2)
			timed_out();
		if (id == BT_MSG_UNCHOKE) {
			printf("unchoked\n");
			fflush(stdout);
			return;
		}
	}
}

static void
request(uint32_t index, uint32_t begin, uint32_t len)
{
	uint8_t m[17];

	writen(m, bt_wire_request(m, BT_MSG_REQUEST, index, begin, len));
}

/* Requests for the blocks of the torrent in turn, n of them. */
static void
many_requests(int n)
{
	uint32_t index = 0, begin = 0;
	int i;

	for (i = 0; i < n; i++) {
		int64_t size = bt_piece_size(&t, index);
		uint32_t len = size - begin < BT_BLOCK_LEN ?
		    (uint32_t)(size - begin) : BT_BLOCK_LEN;

		request(index, begin, len);
		begin += len;
		if (begin >= size) {
			begin = 0;
			index = (index + 1) % t.npieces;
		}
	}
}

/* Read and drop everything until the seeder closes. */
static void
drain(void)
{
	uint8_t buf[65536];

	while (readn(buf, 1, -1))
		;
	timed_out();
}

int
main(int argc, char *argv[])
{
	static uint8_t buf[1 << 20];
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], id[20], m[5];
	struct sockaddr_storage ss;
	socklen_t sl;
	struct bt_err e;
	const char *mode;
	uint32_t len, i;
	int c, k;

	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c == 't')
			limit = atoi(optarg);
		else
			return 64;
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: hostile-leecher [-t seconds] mode "
		    "torrent addr port\n");
		return 64;
	}
	mode = argv[optind];
	if (bt_torrent_load(&t, argv[optind + 1], &e) < 0) {
		fprintf(stderr, "hostile-leecher: %s\n", e.msg);
		return 65;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind + 2],
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port =
		    htons((uint16_t)atoi(argv[optind + 3]));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind + 2],
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)atoi(argv[optind + 3]));
		sl = sizeof(struct sockaddr_in6);
	} else
		return 64;
	deadline = now() + limit;
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("hostile-leecher: connect");
		return 69;
	}
	memcpy(id, "-HL0001-abcdefghijkl", 20);
	bt_wire_handshake(hs, t.info_hash, id);
	writen(hs, sizeof(hs));
	if (!readn(hs, sizeof(hs), -1))
		timed_out();
	printf("handshake\n");
	fflush(stdout);

	if (strcmp(mode, "bitfield") == 0) {
		do
			k = next_msg(buf, sizeof(buf), &len, 2000);
		while (k == -1);
		if (k != BT_MSG_BITFIELD) {
			printf("bitfield none\n");
			return 0;
		}
		printf("bitfield ");
		for (i = 0; i < t.npieces && i / 8 < len; i++)
			putchar('0' + bt_bit_get(buf, i));
		putchar('\n');
		return 0;
	}
	if (strcmp(mode, "idle") == 0)
		drain();
	if (strcmp(mode, "choked") == 0) {
		many_requests(3000);
		drain();
	}
	writen(m, bt_wire_simple(m, BT_MSG_INTERESTED));
	wait_unchoke();
	if (strcmp(mode, "range") == 0) {
		for (i = 0; i < 10; i++)
			request(t.npieces, 0, BT_BLOCK_LEN);
	} else if (strcmp(mode, "oversize") == 0) {
		for (i = 0; i < 10; i++)
			request(0, 0, 2 * BT_BLOCK_LEN);
	} else if (strcmp(mode, "beyond") == 0) {
		for (i = 0; i < 10; i++)
			request(0, (uint32_t)bt_piece_size(&t, 0) - 1, 2);
	} else if (strcmp(mode, "flood") == 0) {
		many_requests(5000);
	} else if (strcmp(mode, "get") == 0) {
		int64_t size = bt_piece_size(&t, 0), got = 0;
		uint8_t md[BT_SHA1_LEN], *piece;

		if ((piece = malloc((size_t)size)) == NULL)
			return 70;
		for (got = 0; got < size; got += BT_BLOCK_LEN)
			request(0, (uint32_t)got, size - got < BT_BLOCK_LEN ?
			    (uint32_t)(size - got) : BT_BLOCK_LEN);
		for (got = 0; got < size;) {
			k = next_msg(buf, sizeof(buf), &len, -1);
			if (k == -2)
				timed_out();
			if (k != BT_MSG_PIECE || len < 8)
				continue;
			if (bt_get32(buf + 4) + (int64_t)len - 8 > size)
				return 65;
			memcpy(piece + bt_get32(buf + 4), buf + 8, len - 8);
			got += len - 8;
		}
		bt_sha1(piece, (size_t)size, md);
		printf("piece 0 %s\n", memcmp(md, bt_piece_hash(&t, 0),
		    BT_SHA1_LEN) == 0 ? "good" : "bad");
		free(piece);
		bt_torrent_free(&t);
		return 0;
	} else {
		fprintf(stderr, "hostile-leecher: unknown mode %s\n", mode);
		return 64;
	}
	drain();
	return 0;
}
