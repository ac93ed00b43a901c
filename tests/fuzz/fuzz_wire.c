/*
 * The peer wire reader of the download engine (lib/swarm.c's readable(),
 * parse() and message handling, over lib/wire.c's checks), reached the
 * only way the engine offers: bt_swarm_run connected to a peer. The peer
 * is a thread of this process on 127.0.0.1 that sends a good handshake
 * for the fuzz torrent, then the input as the peer's messages (pausing
 * at each MARK for the engine's requests), then closes its sending side
 * and reads until the engine hangs up.
 *
 * Input byte 0: bit 0 asks for sequential order, bit 1 sends the input
 * as the handshake too (no good one first), bit 2 wants only pieces 1
 * and 3, bit 3 runs the engine in its seeding role instead (bt_seed_run
 * on a folder of the data, each piece checked at its first read), which
 * dials the peer and serves it. The torrent has 4 pieces of zeros (the
 * last one short), so a peer that sends zero blocks completes pieces
 * that pass SHA-1, and every block a seeder sends is zeros.
 *
 * Checks: every piece handed over is wanted, handed over once, in order
 * when sequential, of the right size and its SHA-1 right; a run without
 * error delivered every wanted piece; a run that received every wanted
 * block, none of them bad, succeeds; a failed run says no usable peer
 * was left (never a timeout: the peer always hangs up). Seeding: the run
 * stops cleanly once the peer is done, and every block sent is the
 * torrent's (zeros).
 *
 * FUZZ_VERBOSE=1 in the environment prints each run's outcome and the
 * engine's log (build/fuzz/bin/fuzz_wire FILE replays one input).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bencode.h"
#include "fuzz.h"
#include "metainfo.h"
#include "peerlist.h"
#include "seed.h"
#include "swarm.h"
#include "wire.h"

#define PLEN	32768
#define NPIECE	4
#define TOTAL	(3 * PLEN + 20000)

static struct bt_torrent tor;
static int lfd = -1;
static struct bt_peer_addr peer;
static uint8_t hs[BT_WIRE_HANDSHAKE_LEN];
static sem_t go, done;

/*
 * In the input, MARK makes the peer pause: it reads what the engine has
 * sent and waits up to MARK_WAIT_MS for a new request message (what the
 * engine sends after an unchoke) before it goes on, so that blocks can
 * answer requests. A length prefix of 0xffffffff is over BT_WIRE_MAX_MSG
 * anyway, so no message is lost to it.
 */
#define MARK		"\xff\xff\xff\xff"
#define MARKLEN		4
#define MARK_WAIT_MS	25
/* Pauses honoured per run (later marks are sent as they are): fast runs. */
#define MARK_MAX	2

struct serve {
	const uint8_t *p;
	size_t n;
	int raw;
	int seed;		/* the engine seeds: stop it when done */
	unsigned badblocks;	/* blocks it sent that are not zeros */
};

static volatile sig_atomic_t seed_stop;
static char seed_dir[64];

static struct serve job;

struct got {
	int sequential;
	const uint8_t *want;
	int seen[NPIECE];
	int last;
};

static void
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* What the engine has sent us, parsed far enough to count requests. */
struct engine_out {
	size_t hs_left;		/* bytes of its handshake still to come */
	uint8_t hdr[5];		/* length prefix and id */
	size_t hlen;
	uint32_t body_left;	/* payload bytes to skip */
	uint32_t block_skip;	/* of a piece message: index and begin */
	int in_block;
	unsigned nreq;		/* request messages seen */
	unsigned nonzero;	/* piece messages with a byte not zero */
	int eof;
};

static void
engine_feed(struct engine_out *o, const uint8_t *p, size_t n)
{
	for (; n > 0; p++, n--) {
		if (o->hs_left > 0) {
			o->hs_left--;
			continue;
		}
		if (o->body_left > 0) {
			o->body_left--;
			if (o->block_skip > 0)
				o->block_skip--;
			else if (o->in_block && *p != 0) {
				o->nonzero++;
				o->in_block = 0;
			}
			continue;
		}
		o->hdr[o->hlen++] = *p;
		if (o->hlen == 4 && bt_get32(o->hdr) == 0)
			o->hlen = 0;		/* keep-alive */
		else if (o->hlen == 5) {
			if (o->hdr[4] == BT_MSG_REQUEST)
				o->nreq++;
			o->body_left = bt_get32(o->hdr) - 1;
			o->in_block = o->hdr[4] == BT_MSG_PIECE;
			o->block_skip = o->in_block ? 8 : 0;
			o->hlen = 0;
		}
	}
}

/*
 * Read what the engine sent; with ms > 0, wait up to ms for a request
 * message newer than those seen so far (or the engine's hang-up).
 */
static void
take(int fd, struct engine_out *o, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	struct timespec t0, t;
	unsigned had = o->nreq;
	uint8_t buf[4096];
	ssize_t r;
	int left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!o->eof) {
		if (poll(&pf, 1, left) != 1)
			return;
		if ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0) {
			o->eof = r == 0 || (errno != EAGAIN && errno != EINTR);
			if (!o->eof)
				continue;
			return;
		}
		engine_feed(o, buf, (size_t)r);
		if (ms > 0 && o->nreq > had)
			ms = 0;
		if (ms == 0)
			left = 0;
		else {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				return;
		}
	}
}

/* One connection: the handshake, then the input, paced at each MARK. */
static void
serve_one(const struct serve *sv)
{
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 5 };
	struct engine_out o = { .hs_left = BT_WIRE_HANDSHAKE_LEN };
	const uint8_t *p = sv->p, *end = sv->p + sv->n, *m;
	char buf[4096];
	int fd, nmark = 0, one = 1;

	if (poll(&pf, 1, 5000) != 1)
		return;
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Small writes go out at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!sv->raw)
		send_all(fd, hs, sizeof(hs));
	while (nmark++ < MARK_MAX &&
	    (m = memmem(p, (size_t)(end - p), MARK, MARKLEN)) != NULL) {
		send_all(fd, p, (size_t)(m - p));
		take(fd, &o, 0);
		take(fd, &o, MARK_WAIT_MS);
		p = m + MARKLEN;
	}
	send_all(fd, p, (size_t)(end - p));
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		engine_feed(&o, (const uint8_t *)buf, (size_t)r);
	}
	close(fd);
	job.badblocks = o.nonzero;
}

/* The peer thread lives as long as the process: one connection a run. */
static void *
serve(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&go);
		serve_one(&job);
		if (job.seed)
			seed_stop = 1;
		sem_post(&done);
	}
	return NULL;
}

static void
on_log(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "wire: log %d: %s\n", level, msg);
}

static int
on_piece(void *arg, uint32_t index, const uint8_t *data, size_t len,
    struct bt_err *e)
{
	struct got *g = arg;
	uint8_t h[BT_SHA1_LEN];

	(void)e;
	FUZZ_ASSERT(index < NPIECE, "index %u", index);
	FUZZ_ASSERT(g->want == NULL || bt_bit_get(g->want, index),
	    "piece %u not wanted", index);
	FUZZ_ASSERT(!g->seen[index], "piece %u handed over twice", index);
	FUZZ_ASSERT(!g->sequential || (int)index > g->last,
	    "piece %u after %d in sequential mode", index, g->last);
	FUZZ_ASSERT((int64_t)len == bt_piece_size(&tor, index),
	    "piece %u of %zu bytes", index, len);
	bt_sha1(data, len, h);
	FUZZ_ASSERT(memcmp(h, bt_piece_hash(&tor, index), BT_SHA1_LEN) == 0,
	    "piece %u handed over with a wrong SHA-1", index);
	g->seen[index] = 1;
	g->last = (int)index;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t zero[PLEN];
	struct bt_buf b = { 0 };
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct bt_err e;
	char line[64], *copy;
	uint8_t h[BT_SHA1_LEN];
	pthread_t th;
	int i;

	(void)argc;
	(void)argv;
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "info");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "length");
	bt_benc_int(&b, TOTAL);
	bt_benc_cstr(&b, "name");
	bt_benc_cstr(&b, "fuzz");
	bt_benc_cstr(&b, "piece length");
	bt_benc_int(&b, PLEN);
	bt_benc_cstr(&b, "pieces");
	bt_buf_add(&b, "80:", 3);
	for (i = 0; i < NPIECE; i++) {
		bt_sha1(zero, i < NPIECE - 1 ? PLEN : TOTAL - 3 * PLEN, h);
		bt_buf_add(&b, h, BT_SHA1_LEN);
	}
	bt_benc_end(&b);
	bt_benc_end(&b);
	if (b.oom || (copy = malloc(b.len)) == NULL)
		abort();
	memcpy(copy, b.p, b.len);
	if (bt_torrent_parse(&tor, copy, b.len, &e) < 0) {
		fprintf(stderr, "fuzz torrent: %s\n", e.msg);
		abort();
	}
	bt_buf_free(&b);
	bt_wire_handshake(hs, tor.info_hash,
	    (const uint8_t *)"-FZ0001-000000000000");

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		abort();
	snprintf(line, sizeof(line), "127.0.0.1 %u", ntohs(sa.sin_port));
	if (bt_peer_parse(line, &peer, &e) < 0)
		abort();
	/* The seeding role's folder: the data, all zeros. */
	snprintf(seed_dir, sizeof(seed_dir), "/tmp/fuzz-wire-seed.%d",
	    (int)getpid());
	if (mkdir(seed_dir, 0700) < 0 && errno != EEXIST)
		abort();
	snprintf(line, sizeof(line), "%s/fuzz", seed_dir);
	{
		FILE *f = fopen(line, "w");

		if (f == NULL || fseek(f, TOTAL - 1, SEEK_SET) != 0 ||
		    fputc(0, f) == EOF || fclose(f) != 0)
			abort();
	}
	if (sem_init(&go, 0, 0) < 0 || sem_init(&done, 0, 0) < 0 ||
	    pthread_create(&th, NULL, serve, NULL) != 0)
		abort();
	return 0;
}

static void
seed_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "wire: seed: %s\n", line);
}

/* The seeding role: it dials the peer, serves it, stops when told. */
static int
seed_one(const uint8_t *data, size_t size)
{
	struct bt_peerlist dial = { 0 };
	struct bt_seed_opts o;
	struct bt_seed_stats st;
	struct bt_err e;
	int rc;

	if (bt_peerlist_add(&dial, &peer) < 0)
		abort();
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.slots = 4;
	o.verify = 0;
	o.idle_ms = 8000;
	o.exit_after = 20;
	o.dial = &dial;
	o.peer_fd = -1;
	o.stop = &seed_stop;
	if (getenv("FUZZ_VERBOSE") != NULL)
		o.log = seed_log;
	seed_stop = 0;
	job.raw = (data[0] & 2) != 0;
	job.p = data + 1;
	job.n = size - 1;
	job.seed = 1;
	job.badblocks = 0;
	sem_post(&go);
	rc = bt_seed_run(&tor, seed_dir, &o, &st, &e);
	sem_wait(&done);
	job.seed = 0;
	bt_peerlist_free(&dial);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "wire: seed run %d (%s), %llu blocks\n", rc,
		    rc < 0 ? e.msg : "ok", (unsigned long long)st.blocks);
	FUZZ_ASSERT(rc == 0, "the seeder failed: %s", e.msg);
	FUZZ_ASSERT(job.badblocks == 0, "%u blocks sent that are not the "
	    "torrent's", job.badblocks);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t want13 = 0x50;	/* pieces 1 and 3 */
	struct bt_swarm_conf c;
	struct got g;
	struct bt_err e;
	struct timespec t0, t1;
	struct bt_swarm_stats st;
	uint64_t want_bytes;
	int rc, i;

	if (size < 1)
		return 0;
	if (data[0] & 8)
		return seed_one(data, size);
	memset(&g, 0, sizeof(g));
	g.last = -1;
	g.sequential = data[0] & 1;
	g.want = data[0] & 4 ? &want13 : NULL;
	job.raw = (data[0] & 2) != 0;
	job.p = data + 1;
	job.n = size - 1;

	memset(&c, 0, sizeof(c));
	c.t = &tor;
	c.want = g.want;
	c.sequential = g.sequential;
	c.timeout_ms = 8000;
	c.on_piece = on_piece;
	c.arg = &g;
	if (getenv("FUZZ_VERBOSE") != NULL)
		c.on_log = on_log;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sem_post(&go);
	rc = bt_swarm_run(&c, &peer, 1, &st, &e);
	sem_wait(&done);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "wire: %ld ms: run %d (%s), pieces "
		    "%d%d%d%d\n", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000), rc,
		    rc < 0 ? e.msg : "ok", g.seen[0], g.seen[1], g.seen[2],
		    g.seen[3]);
	want_bytes = g.want != NULL ? bt_piece_size(&tor, 1) +
	    bt_piece_size(&tor, 3) : TOTAL;
	/*
	 * Every block of every wanted piece received once (the engine counts
	 * only blocks it asked for, and only the first copy) and no piece
	 * failed its SHA-1: every wanted piece is good and must be handed
	 * over, however soon the peer hangs up after its last block.
	 */
	if (st.bytes == want_bytes && st.hashfails == 0)
		FUZZ_ASSERT(rc == 0, "all %llu bytes received, none bad, yet "
		    "the run failed: %s", (unsigned long long)want_bytes,
		    e.msg);
	if (rc == 0) {
		for (i = 0; i < NPIECE; i++)
			FUZZ_ASSERT(g.seen[i] || (g.want != NULL &&
			    !bt_bit_get(g.want, (uint32_t)i)),
			    "success without piece %d", i);
	} else
		FUZZ_ASSERT(e.status == BT_EX_UNAVAILABLE,
		    "status %d: %s", e.status, e.msg);
	return 0;
}
