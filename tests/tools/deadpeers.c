/*
 * deadpeers: many peers that never serve, for load tests, all on
 * 127.0.0.0/8.
 *
 *	deadpeers [-b N] [-c N] [-h N] [-r N] [-u N] [-l SECONDS]
 *
 * Prints one "ADDRESS PORT" line per dead peer, then "# ready", and keeps
 * them until SECONDS (default 120) have passed or it is killed. Each
 * listening peer has its own address 127.K.X.Y (K one per kind) and a
 * port the kernel chose. Kinds:
 *
 *	-r N	refused: nothing listens there (127.90.X.Y port 9)
 *	-b N	backlog full: a listener whose queue of one is filled by
 *		ourselves and never accepted, so SYNs are dropped and a
 *		connect hangs until its timeout
 *	-c N	silent: accepts, reads, never says a thing (handshake timeout)
 *	-h N	choking: answers the handshake (any info hash) and have all
 *		(BEP 6), then never unchokes
 *	-u N	stalling: as -h, and unchokes, then never sends a block
 *
 * The descriptor limit is raised to its hard maximum: each -b peer takes
 * two descriptors, each other listener one, each connection one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

enum { K_NONE, K_BACKLOG, K_SILENT, K_CHOKE, K_STALL, K_CONN };

struct slot {
	int kind;		/* of a listener, or K_CONN */
	int how;		/* of a connection: its listener's kind */
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN];
	size_t hslen;
	int answered;
};

static struct slot *slot;	/* by descriptor */
static size_t nslot;
static int ep;

static void die(const char *) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "deadpeers: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long
num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 60000) {
		fprintf(stderr, "deadpeers: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

static void
watch(int fd, int kind, int how)
{
	struct epoll_event ev;

	if ((size_t)fd >= nslot) {
		fprintf(stderr, "deadpeers: descriptor %d over %zu\n", fd,
		    nslot);
		exit(1);
	}
	memset(&slot[fd], 0, sizeof(slot[fd]));
	slot[fd].kind = kind;
	slot[fd].how = how;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

/* A listener on 127.k.X.Y (X.Y from i), port chosen by the kernel. */
static int
listener(int k, long i, int backlog, struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd, one = 1;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)k << 16 |
	    (uint32_t)(i / 250) << 8 | (uint32_t)(i % 250 + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0)
		die("bind");
	if (listen(fd, backlog) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)sa, &len) < 0)
		die("getsockname");
	return fd;
}

static void
print(const struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
	printf("%s %u\n", host, ntohs(sa->sin_port));
}

static void
make(int kind, long n)
{
	struct sockaddr_in sa;
	long i;
	int fd, c;

	for (i = 0; i < n; i++) {
		if (kind == K_BACKLOG) {
			/*
			 * Backlog 0 queues one connection: ours fills it,
			 * and no one accepts it.
			 */
			fd = listener(90 + kind, i, 0, &sa);
			c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (c < 0 || connect(c, (struct sockaddr *)&sa,
			    sizeof(sa)) < 0)
				die("connect to fill the queue");
		} else {
			fd = listener(90 + kind, i, 64, &sa);
			watch(fd, kind, 0);
		}
		print(&sa);
	}
}

static void
put(int fd, const uint8_t *b, size_t n)
{
	/* Small writes to an empty socket buffer: all or nothing matters. */
	if (send(fd, b, n, MSG_NOSIGNAL) != (ssize_t)n)
		return;
}

static void
conn_readable(int fd)
{
	struct slot *sl = &slot[fd];
	uint8_t buf[16384];
	ssize_t r;

	if (sl->how == K_SILENT || sl->hslen == sizeof(sl->hs))
		r = read(fd, buf, sizeof(buf));
	else
		r = read(fd, sl->hs + sl->hslen, sizeof(sl->hs) - sl->hslen);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		close(fd);	/* also leaves the epoll set */
		return;
	}
	if (r < 0 || sl->how == K_SILENT || sl->answered)
		return;
	sl->hslen += (size_t)r;
	if (sl->hslen == sizeof(sl->hs)) {
		uint8_t m[BT_WIRE_HANDSHAKE_LEN];
		uint8_t id[BT_WIRE_PEER_ID_LEN] = "-DP0001-deadpeer0000";
		uint8_t have_all[5] = { 0, 0, 0, 1, BT_MSG_HAVE_ALL };
		uint8_t unchoke[5] = { 0, 0, 0, 1, BT_MSG_UNCHOKE };

		/* Its own info hash back: a peer of any torrent; the
		   fast extension's bit, as it sends have all (BEP 6). */
		bt_wire_handshake_rsv(m, sl->hs + 28, id, BT_RSV_FAST);
		put(fd, m, sizeof(m));
		put(fd, have_all, sizeof(have_all));
		if (sl->how == K_STALL)
			put(fd, unchoke, sizeof(unchoke));
		sl->answered = 1;
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event ev[64];
	struct rlimit rl;
	long n[K_CONN] = { 0 }, secs = 120, refused = 0, i;
	time_t end;
	int ch, k, fd;

	while ((ch = getopt(argc, argv, "b:c:h:l:r:u:")) != -1) {
		switch (ch) {
		case 'b':
			n[K_BACKLOG] = num(optarg);
			break;
		case 'c':
			n[K_SILENT] = num(optarg);
			break;
		case 'h':
			n[K_CHOKE] = num(optarg);
			break;
		case 'l':
			secs = num(optarg);
			break;
		case 'r':
			refused = num(optarg);
			break;
		case 'u':
			n[K_STALL] = num(optarg);
			break;
		default:
			fprintf(stderr, "usage: deadpeers [-b N] [-c N] "
			    "[-h N] [-r N] [-u N] [-l SECONDS]\n");
			return 64;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	nslot = rl.rlim_cur > 1048576 ? 1048576 : (size_t)rl.rlim_cur;
	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		die("calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	for (i = 0; i < refused; i++)
		printf("127.90.%ld.%ld 9\n", i / 250, i % 250 + 1);
	for (k = K_BACKLOG; k < K_CONN; k++)
		make(k, n[k]);
	printf("# ready\n");
	if (fflush(stdout) != 0)
		die("stdout");
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		int got = epoll_wait(ep, ev, 64, 500);

		for (i = 0; i < got; i++) {
			fd = ev[i].data.fd;
			if (slot[fd].kind == K_CONN) {
				conn_readable(fd);
				continue;
			}
			while (1) {
				int c = accept4(fd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c < 0)
					break;
				watch(c, K_CONN, slot[fd].kind);
			}
		}
	}
	return 0;
}
