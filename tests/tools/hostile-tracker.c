/*
 * hostile-tracker: a tracker for tests, HTTP and UDP on one port of
 * 127.0.0.1 (or ::1 with -6), that misbehaves as told. It prints its
 * port on stdout once it listens, logs each request it gets (-l FILE),
 * and exits by itself after -t seconds (default 60).
 *
 *	hostile-tracker [-6] [-b FILE] [-l LOG] [-t SECONDS] MODE
 *
 * MODE	HTTP answer			UDP answer (BEP 15)
 * ok	FILE's bytes (-b), or two	a correct exchange: connect, then
 *	compact peers			announce (two peers) or scrape
 * garbage	"<html>..." not bencode	an announce reply of 7 bytes
 * huge	a 100 MiB body			-
 * redirect	302 to itself, forever	-
 * silent	reads, never answers	never answers
 * txid	-				connect reply, another transaction id
 * action	-				connect reply, action 2 (scrape)
 * error	failure reason		error action, text with a NUL and an
 *					escape, no NUL at the end
 * truncated	peers of 13 bytes	announce reply with 13 peer bytes
 * gzip	FILE's bytes (-b) with		-
 *	"Content-Encoding: gzip"
 * many	-				an announce reply of 65,504 bytes,
 *					the most a datagram holds: 10,914
 *					peers 127.0.X.Y:6881
 *
 * Log lines: "GET <target> HTTP/1.1" for HTTP; for UDP
 * "udp connect", "udp announce conn=HEX info_hash=HEX peer_id=HEX
 * downloaded=N left=N uploaded=N event=N key=HEX numwant=N port=N",
 * "udp scrape conn=HEX info_hash=HEX". An announce that carries BEP 41
 * options adds "udp urldata=DATA chunks=N" and then " end" if the
 * options end with EndOfOptions, or " bad" if they are malformed: DATA
 * is the URLData options joined, bytes outside printable ASCII as \xHH.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define CONN_ID		0x1122334455667788ULL
#define HUGE_BYTES	(100L * 1024 * 1024)

static const char *mode;
static int logfd = -1;
static int v6;
static char *body;
static size_t bodylen;

static void
die(const char *what)
{
	fprintf(stderr, "hostile-tracker: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
logline(const char *fmt, ...)
{
	char buf[40000];	/* a whole URLData log line */
	va_list ap;
	int n;

	if (logfd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write with O_APPEND: lines of several processes stay whole. */
	if (write(logfd, buf, (size_t)n) < 0)
		return;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void
writeall(int fd, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0);	/* the client went away */
		q += w;
		n -= (size_t)w;
	}
}

static void
reply(int fd, const char *status, const char *extra, const void *p,
    size_t n)
{
	char h[1024];
	int k = snprintf(h, sizeof(h), "HTTP/1.1 %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n%s"
	    "\r\n", status, n, extra);

	writeall(fd, h, (size_t)k);
	writeall(fd, p, n);
}

/* One HTTP connection, in a child process. */
static void
http(int fd)
{
	static const char ok[] = "d8:intervali1800e5:peers12:"
	    "\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe2" "e";
	char req[8192];
	size_t len = 0;
	char *eol;

	while (len < sizeof(req) - 1) {
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);

		if (n <= 0)
			_exit(0);
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if ((eol = strstr(req, "\r\n")) != NULL)
		*eol = '\0';
	logline("%s", req);
	if (strcmp(mode, "ok") == 0) {
		if (body != NULL)
			reply(fd, "200 OK", "", body, bodylen);
		else
			reply(fd, "200 OK", "", ok, sizeof(ok) - 1);
	} else if (strcmp(mode, "gzip") == 0 && body != NULL) {
		reply(fd, "200 OK", "Content-Encoding: gzip\r\n", body,
		    bodylen);
	} else if (strcmp(mode, "garbage") == 0) {
		reply(fd, "200 OK", "", "<html>no tracker here</html>", 28);
	} else if (strcmp(mode, "huge") == 0) {
		static char chunk[65536];
		char h[256];
		long sent;
		int k = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %ld\r\n\r\n%ld:", HUGE_BYTES,
		    HUGE_BYTES - 10);

		memset(chunk, 'x', sizeof(chunk));
		writeall(fd, h, (size_t)k);
		for (sent = 0; sent < HUGE_BYTES; sent += sizeof(chunk))
			writeall(fd, chunk, sizeof(chunk));
	} else if (strcmp(mode, "redirect") == 0) {
		static unsigned n;
		char loc[128];

		snprintf(loc, sizeof(loc), "Location: /announce?hop=%u"
		    "&pid=%ld\r\n", n++, (long)getpid());
		reply(fd, "302 Found", loc, "", 0);
	} else if (strcmp(mode, "error") == 0) {
		static const char f[] = "d14:failure reason16:torrent not "
		    "heree";

		reply(fd, "200 OK", "", f, sizeof(f) - 1);
	} else if (strcmp(mode, "truncated") == 0) {
		static const char t[] = "d8:intervali1800e5:peers13:"
		    "\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe2\x7f" "e";

		reply(fd, "200 OK", "", t, sizeof(t) - 1);
	} else {
		/* silent, and the UDP-only modes: never answer. */
		pause();
	}
	_exit(0);
}

/* BEP 41: the options after the 98 bytes of an announce, logged. */
static void
options(const uint8_t *p, size_t n)
{
	char data[4 * 8192 + 1];
	size_t i = 0, o = 0, k, len;
	int chunks = 0, end = 0, bad = 0;

	while (i < n && !end && !bad) {
		switch (p[i]) {
		case 0:		/* EndOfOptions */
			end = 1;
			break;
		case 1:		/* NOP */
			i++;
			break;
		case 2:		/* URLData: a length, then the bytes */
			if (i + 1 >= n || i + 2 + p[i + 1] > n) {
				bad = 1;
				break;
			}
			len = p[i + 1];
			for (k = 0; k < len; k++) {
				uint8_t c = p[i + 2 + k];

				if (c > ' ' && c < 127 && c != '\\')
					data[o++] = (char)c;
				else
					o += (size_t)sprintf(data + o, "\\x%02x",
					    c);
			}
			chunks++;
			i += 2 + len;
			break;
		default:
			bad = 1;
		}
	}
	data[o] = '\0';
	logline("udp urldata=%s chunks=%d%s", data, chunks,
	    end ? " end" : bad ? " bad" : "");
}

static void
udp(int fd)
{
	static uint8_t out[65536];
	uint8_t in[8192];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from,
	    &fl);
	uint32_t action, tx;
	size_t olen = 0;
	char ih[41], id[41];

	if (n < 16)
		return;
	action = bt_get32(in + 8);
	tx = bt_get32(in + 12);
	if (action == 0) {
		logline("udp connect");
		bt_put32(out, 0);
		bt_put32(out + 4, tx);
		bt_put32(out + 8, (uint32_t)(CONN_ID >> 32));
		bt_put32(out + 12, (uint32_t)CONN_ID);
		olen = 16;
		if (strcmp(mode, "txid") == 0)
			bt_put32(out + 4, tx + 1);
		else if (strcmp(mode, "action") == 0)
			bt_put32(out, 2);
	} else if (action == 1 && n >= 98) {
		hex(in + 16, 20, ih);
		hex(in + 36, 20, id);
		logline("udp announce conn=%016llx info_hash=%s peer_id=%s "
		    "downloaded=%llu left=%llu uploaded=%llu event=%u "
		    "key=%08x numwant=%d port=%u",
		    (unsigned long long)bt_get64(in), ih, id,
		    (unsigned long long)bt_get64(in + 56),
		    (unsigned long long)bt_get64(in + 64),
		    (unsigned long long)bt_get64(in + 72), bt_get32(in + 80),
		    bt_get32(in + 88), (int)bt_get32(in + 92),
		    (unsigned)(in[96] << 8 | in[97]));
		if (n > 98)
			options(in + 98, (size_t)n - 98);
		bt_put32(out, 1);
		bt_put32(out + 4, tx);
		bt_put32(out + 8, 1800);
		bt_put32(out + 12, 1);	/* leechers */
		bt_put32(out + 16, 2);	/* seeders */
		olen = 20;
		if (v6) {
			static const uint8_t p6[18] = {
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				1, 0x1a, 0xe1
			};

			memcpy(out + 20, p6, 18);
			olen += 18;
		} else {
			static const uint8_t p4[12] = {
				127, 0, 0, 1, 0x1a, 0xe1,
				127, 0, 0, 2, 0x1a, 0xe2
			};

			memcpy(out + 20, p4, 12);
			olen += 12;
		}
		if (bt_get64(in) != CONN_ID) {
			static const char m[] = "bad connection id";

			bt_put32(out, 3);
			memcpy(out + 8, m, sizeof(m) - 1);
			olen = 8 + sizeof(m) - 1;
		} else if (strcmp(mode, "truncated") == 0)
			olen = 20 + 13;
		else if (strcmp(mode, "many") == 0) {
			/* 65,507 bytes is the most UDP carries over IPv4. */
			size_t i, np = (65507 - 20) / 6;

			for (i = 0; i < np; i++) {
				uint8_t *q = out + 20 + 6 * i;

				q[0] = 127;
				q[1] = 0;
				q[2] = (uint8_t)(i >> 8);
				q[3] = (uint8_t)i;
				q[4] = 0x1a;
				q[5] = 0xe1;
			}
			olen = 20 + 6 * np;
		}
		else if (strcmp(mode, "garbage") == 0)
			olen = 7;
	} else if (action == 2 && n >= 36) {
		hex(in + 16, 20, ih);
		logline("udp scrape conn=%016llx info_hash=%s",
		    (unsigned long long)bt_get64(in), ih);
		bt_put32(out, 2);
		bt_put32(out + 4, tx);
		bt_put32(out + 8, 2);	/* seeders */
		bt_put32(out + 12, 7);	/* completed */
		bt_put32(out + 16, 1);	/* leechers */
		olen = 20;
	} else
		return;
	if (strcmp(mode, "error") == 0) {
		static const char m[] = "no\0such \x1b[31mtorrent";

		bt_put32(out, 3);
		memcpy(out + 8, m, sizeof(m) - 1);
		olen = 8 + sizeof(m) - 1;
	}
	if (strcmp(mode, "silent") == 0)
		return;
	sendto(fd, out, olen, 0, (struct sockaddr *)&from, fl);
}

/* The whole file, whatever its size: tests serve bodies over limits. */
static void
readbody(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, n;

	if (f == NULL)
		die(path);
	if ((body = malloc(cap)) == NULL)
		die("malloc");
	while ((n = fread(body + bodylen, 1, cap - bodylen, f)) > 0) {
		bodylen += n;
		if (bodylen == cap && (body = realloc(body, cap *= 2)) == NULL)
			die("realloc");
	}
	fclose(f);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hostile-tracker [-6] [-b file] [-l log] "
	    "[-t seconds] mode\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int c, lfd = -1, ufd = -1, tries, life = 60, one = 1;
	unsigned port = 0;

	while ((c = getopt(argc, argv, "6b:l:t:")) != -1) {
		switch (c) {
		case '6':
			v6 = 1;
			break;
		case 'b':
			readbody(optarg);
			break;
		case 'l':
			logfd = open(optarg, O_WRONLY | O_CREAT | O_APPEND,
			    0644);
			if (logfd < 0)
				die(optarg);
			break;
		case 't':
			life = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || life <= 0)
		usage();
	mode = argv[optind];
	signal(SIGCHLD, SIG_IGN);	/* children reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)life);

	/* One port number for both TCP and UDP. */
	for (tries = 0; tries < 100; tries++) {
		memset(&ss, 0, sizeof(ss));
		if (v6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_loopback;
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sl = sizeof(*s4);
		}
		lfd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (lfd < 0)
			die("socket");
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&ss, sl) < 0 ||
		    listen(lfd, 64) < 0)
			die("bind");
		if (getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0)
			die("getsockname");
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		ufd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (ufd < 0)
			die("socket");
		if (bind(ufd, (struct sockaddr *)&ss, sl) == 0)
			break;
		close(lfd);
		close(ufd);
		ufd = -1;
	}
	if (ufd < 0)
		die("no port free for both TCP and UDP");
	printf("%u\n", port);
	fflush(stdout);

	for (;;) {
		struct pollfd pf[2] = {
			{ lfd, POLLIN, 0 }, { ufd, POLLIN, 0 }
		};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pf[1].revents & POLLIN)
			udp(ufd);
		if (pf[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			pid_t pid;

			if (fd < 0)
				continue;
			if ((pid = fork()) == 0) {
				/* Dies with us, and never outlives the test. */
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				alarm((unsigned)life);
				close(lfd);
				close(ufd);
				http(fd);
			}
			close(fd);
		}
	}
}
