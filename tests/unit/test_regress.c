/*
 * Regressions found by the fuzz targets (tests/fuzz/): each test replays
 * the smallest input that showed the bug, through the same library entry
 * point the target uses. A test here fails until its bug is fixed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bencode.h"
#include "btlimits.h"
#include "metainfo.h"
#include "peerlist.h"
#include "swarm.h"
#include "t.h"
#include "wire.h"

/*
 * fuzz_wire, input wire-crash-1ed5d122...: a peer that has the pieces
 * sends every block asked for, then hangs up at once. Every block came,
 * and every piece is good, yet bt_swarm_run failed with "2 of 2 pieces
 * missing: no usable peer left": since SHA-1 runs in a second thread,
 * the loop sees no connection left while the last pieces are still
 * being hashed, and gives up on them. A seeder that closes after its
 * last block (or a download's last peer going away) turns a complete
 * download into status 69.
 *
 * Reproduced here with one piece of 4 MiB (its SHA-1 takes a few ms,
 * far longer than noticing the hang-up): a child process is the peer.
 */
#define RACE_PLEN	(4 * 1024 * 1024)

static int
read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
write_full(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The peer: handshake, bitfield, unchoke, a block per request, close. */
static void
race_peer(int lfd, const uint8_t ih[BT_SHA1_LEN])
{
	static uint8_t zero[BT_BLOCK_LEN];
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], m[17], hdr[13];
	struct timeval tv = { .tv_sec = 10 };
	uint32_t len, sent = 0, nblocks = RACE_PLEN / BT_BLOCK_LEN;
	int fd;

	if ((fd = accept(lfd, NULL, NULL)) < 0)
		_exit(1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bt_wire_handshake(hs, ih, (const uint8_t *)"-XX0001-regressions!");
	if (write_full(fd, hs, sizeof(hs)) < 0 ||
	    write_full(fd, "\0\0\0\2\5\x80\0\0\0\1\1", 11) < 0 ||
	    read_full(fd, hs, sizeof(hs)) < 0)
		_exit(1);
	while (sent < nblocks) {
		if (read_full(fd, m, 4) < 0)
			_exit(1);
		if ((len = bt_get32(m)) == 0)
			continue;
		if (len > sizeof(m) - 4) {	/* not a request: skip it */
			uint8_t skip[256];

			while (len > 0) {
				uint32_t k = len < sizeof(skip) ? len :
				    (uint32_t)sizeof(skip);

				if (read_full(fd, skip, k) < 0)
					_exit(1);
				len -= k;
			}
			continue;
		}
		if (read_full(fd, m + 4, len) < 0)
			_exit(1);
		if (m[4] != BT_MSG_REQUEST || len != 13)
			continue;
		bt_wire_piece_hdr(hdr, bt_get32(m + 5), bt_get32(m + 9),
		    bt_get32(m + 13));
		if (bt_get32(m + 13) > sizeof(zero) ||
		    write_full(fd, hdr, sizeof(hdr)) < 0 ||
		    write_full(fd, zero, bt_get32(m + 13)) < 0)
			_exit(1);
		sent++;
	}
	/* Every block is out: hang up at once, as a finished seeder may. */
	close(fd);
	_exit(0);
}

struct race_got {
	int n;
};

static int
race_on_piece(void *arg, uint32_t index, const uint8_t *data, size_t len,
    struct bt_err *e)
{
	struct race_got *g = arg;

	(void)index;
	(void)data;
	(void)len;
	(void)e;
	g->n++;
	return 0;
}

static void
test_swarm_last_peer_hangs_up(void)
{
	static uint8_t zero[RACE_PLEN];
	struct bt_buf b = { 0 };
	struct bt_torrent t;
	struct bt_swarm_conf c;
	struct bt_swarm_stats st;
	struct bt_peer_addr pa;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct race_got g = { 0 };
	struct bt_err e;
	uint8_t h[BT_SHA1_LEN];
	char line[64], *copy;
	int lfd, rc, status = -1;
	pid_t pid;

	bt_sha1(zero, sizeof(zero), h);
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "info");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "length");
	bt_benc_int(&b, RACE_PLEN);
	bt_benc_cstr(&b, "name");
	bt_benc_cstr(&b, "race");
	bt_benc_cstr(&b, "piece length");
	bt_benc_int(&b, RACE_PLEN);
	bt_benc_cstr(&b, "pieces");
	bt_benc_str(&b, h, sizeof(h));
	bt_benc_end(&b);
	bt_benc_end(&b);
	copy = malloc(b.len);
	memcpy(copy, b.p, b.len);
	T_OK(bt_torrent_parse(&t, copy, b.len, &e) == 0,
	    "race torrent parses");
	bt_buf_free(&b);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
		T_OK(0, "listen on 127.0.0.1: %s", strerror(errno));
		return;
	}
	if ((pid = fork()) == 0)
		race_peer(lfd, t.info_hash);
	close(lfd);
	snprintf(line, sizeof(line), "127.0.0.1 %u", ntohs(sa.sin_port));
	bt_peer_parse(line, &pa, &e);

	memset(&c, 0, sizeof(c));
	c.t = &t;
	c.timeout_ms = 20000;
	c.on_piece = race_on_piece;
	c.arg = &g;
	memset(&st, 0, sizeof(st));
	rc = bt_swarm_run(&c, &pa, 1, &st, &e);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	T_OK(st.bytes == RACE_PLEN && st.hashfails == 0,
	    "the peer sent every block, all good (%llu bytes, %u bad)",
	    (unsigned long long)st.bytes, st.hashfails);
	T_OK(rc == 0 && g.n == 1,
	    "the piece is handed over though the peer hung up right after "
	    "its last block (run %d: %s)", rc, rc == 0 ? "ok" : e.msg);
	bt_torrent_free(&t);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_swarm_last_peer_hangs_up();
	return t_done();
}
