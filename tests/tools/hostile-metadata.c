/*
 * hostile-metadata: a peer that gives a torrent's metadata (BEP 9 over
 * BEP 10) well or badly, for tests.
 *
 *	hostile-metadata -m MODE -t TORRENT [-G FILE] [-L LOG] [-W FILE]
 *	    [-p PORT] [-l SECONDS]
 *
 * Listens on 127.0.0.1:PORT (0 or none: any free port), prints the port
 * on stdout, serves each connection in a child process, and exits after
 * SECONDS (default 60). Every connection first gets a bitfield and a
 * have (for the torrent's pieces) and an extended message under an id
 * nobody asked for, which a client must skip. With -L, what the client
 * sent is appended to LOG, one line a fact: "ext-bit 1" (the BEP 10 bit
 * of its handshake), "ut_metadata N" (the id its extension handshake
 * gives), "request N" (each metadata piece asked). With -G, FILE is
 * created once the client has closed a connection (it has acted on all
 * it was sent); with -W, the first answer to a request waits (at most
 * SECONDS) until FILE exists: so that a test can order two peers, the
 * second answering only after the client gave the first up. Modes:
 *
 *	good		gives the metadata (the TORRENT's raw info dict)
 *	wronghash	gives metadata of the right size with one byte changed
 *	oversize	announces a metadata_size over BT_METADATA_MAX_BYTES
 *	range		answers each request with a piece past the last
 *	short		answers each request with the piece less its last byte
 *	total		answers with a total_size one more than announced
 *	reject		rejects every request
 *	unknown		sends a message of msg_type 7 before each answer,
 *			then answers as good does
 *	bigmsg		answers with a data message longer than a piece
 *	hugelen		after its handshakes, a length prefix of 256 MiB
 *	silent		says its handshakes, then never answers a request
 *	noext		a handshake without the BEP 10 bit
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "btlimits.h"
#include "metainfo.h"
#include "wire.h"

/* The id under which we receive ut_metadata (the client sends to it). */
#define OUR_MD_ID	3
/* An extended id we never announced: a client must skip the message. */
#define JUNK_ID		42
/* Longest message we read whole; longer ones are skipped. */
#define MSG_MAX		(BT_EXT_MAX_HANDSHAKE + 16)

static const char *mode, *gate_out, *gate_in;
static struct bt_torrent t;
static FILE *logfp;
static uint8_t *info;		/* the metadata we give */
static size_t infolen;

static void die(const char *) __attribute__((noreturn));
static void closed(void) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "hostile-metadata: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
is(const char *m)
{
	return strcmp(mode, m) == 0;
}

static void
put(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w <= 0)
			closed();
		c += w;
		n -= (size_t)w;
	}
}

/* The client closed the connection: say so through -G, then end. */
static void
closed(void)
{
	FILE *f;

	if (gate_out != NULL && (f = fopen(gate_out, "w")) != NULL)
		fclose(f);
	exit(0);
}

static void
get(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r <= 0)
			closed();
		c += r;
		n -= (size_t)r;
	}
}

static void
note(const char *fmt, long long v)
{
	if (logfp == NULL)
		return;
	fprintf(logfp, fmt, v);
	fputc('\n', logfp);
	fflush(logfp);
}

/* A message: id, then the payload (head and tail, either may be empty). */
static void
msg(int fd, uint8_t id, const void *head, size_t nh, const void *tail,
    size_t nt)
{
	uint8_t h[5];

	bt_put32(h, (uint32_t)(1 + nh + nt));
	h[4] = id;
	put(fd, h, 5);
	put(fd, head, nh);
	put(fd, tail, nt);
}

/* The integer after key in a bencoded text, or -1. */
static long long
int_after(const uint8_t *p, size_t n, const char *key)
{
	size_t k = strlen(key), i;

	for (i = 0; i + k < n; i++)
		if (memcmp(p + i, key, k) == 0 && p[i + k] == 'i')
			return strtoll((const char *)p + i + k + 1, NULL, 10);
	return -1;
}

static void
extended(int fd, uint8_t xid, const char *dict, const void *data, size_t n)
{
	char head[512];

	head[0] = (char)xid;
	snprintf(head + 1, sizeof(head) - 1, "%s", dict);
	msg(fd, BT_MSG_EXTENDED, head, 1 + strlen(dict), data, n);
}

static void
answer(int fd, uint8_t their_id, long long piece)
{
	char d[256];
	long long npieces = ((long long)infolen + BT_METADATA_PIECE - 1) /
	    BT_METADATA_PIECE;
	long long total = (long long)infolen, send_piece = piece;
	size_t off, len;

	if (is("silent"))
		return;
	/* -W: wait for the gate (the alarm ends a wait that lasts). */
	while (gate_in != NULL && access(gate_in, F_OK) != 0)
		usleep(20000);
	gate_in = NULL;
	/* BEP 9: a message of an unknown type is to be ignored. */
	if (is("unknown")) {
		snprintf(d, sizeof(d), "d8:msg_typei7e5:piecei%lldee", piece);
		extended(fd, their_id, d, NULL, 0);
	}
	if (is("reject") || piece < 0 || piece >= npieces) {
		snprintf(d, sizeof(d), "d8:msg_typei2e5:piecei%lldee", piece);
		extended(fd, their_id, d, NULL, 0);
		return;
	}
	off = (size_t)piece * BT_METADATA_PIECE;
	len = infolen - off < BT_METADATA_PIECE ? infolen - off :
	    BT_METADATA_PIECE;
	if (is("bigmsg")) {
		static uint8_t big[BT_METADATA_PIECE + 2000];

		snprintf(d, sizeof(d), "d8:msg_typei1e5:piecei%lld"
		    "e10:total_sizei%llde", piece, total);
		extended(fd, their_id, d, big, sizeof(big));
		return;
	}
	if (is("range"))
		send_piece = npieces + 3;
	if (is("short"))
		len--;
	if (is("total"))
		total++;
	snprintf(d, sizeof(d), "d8:msg_typei1e5:piecei%lld"
	    "e10:total_sizei%lldee", send_piece, total);
	extended(fd, their_id, d, info + off, len);
}

static void
serve(int fd)
{
	static uint8_t m[MSG_MAX];
	uint8_t hs[BT_WIRE_HANDSHAKE_LEN], h9[9], *bf;
	char d[256];
	size_t nbf = (t.npieces + 7) / 8;
	long long their_id = 0, v;
	uint32_t len;
	uint32_t i;

	get(fd, hs, sizeof(hs));
	note("ext-bit %lld", (bt_wire_reserved(hs) & BT_RSV_EXT) != 0);
	bt_wire_handshake_rsv(m, t.info_hash,
	    (const uint8_t *)"-HM0001-hostilemeta!", is("noext") ? 0 :
	    BT_RSV_EXT);
	put(fd, m, BT_WIRE_HANDSHAKE_LEN);

	/* What a seeder says first: a client must skip it. */
	if ((bf = calloc(1, nbf + 1)) == NULL)
		die("calloc");
	for (i = 0; i < t.npieces; i++)
		bt_bit_set(bf, i);
	msg(fd, BT_MSG_BITFIELD, bf, nbf, NULL, 0);
	free(bf);
	bt_wire_have(h9, 0);
	put(fd, h9, sizeof(h9));
	if (!is("noext")) {
		snprintf(d, sizeof(d), "d1:md11:ut_metadatai%de6:ut_pexi%de"
		    "e13:metadata_sizei%lde1:v16:hostile-metadatae",
		    OUR_MD_ID, JUNK_ID, is("oversize") ?
		    BT_METADATA_MAX_BYTES + 1 : (long)infolen);
		extended(fd, 0, d, NULL, 0);
		extended(fd, JUNK_ID, "d5:addedxxxx", "junk", 4);
	}
	if (is("hugelen")) {
		bt_put32(m, 256u << 20);
		m[4] = BT_MSG_BITFIELD;
		put(fd, m, 5);
	}
	for (;;) {
		get(fd, m, 4);
		len = bt_get32(m);
		if (len == 0)
			continue;
		if (len > sizeof(m)) {
			while (len > 0) {
				uint32_t k = len > sizeof(m) ? sizeof(m) : len;

				get(fd, m, k);
				len -= k;
			}
			continue;
		}
		get(fd, m, len);
		if (m[0] != BT_MSG_EXTENDED || len < 2)
			continue;
		if (m[1] == 0) {
			their_id = int_after(m + 2, len - 2,
			    "11:ut_metadata");
			note("ut_metadata %lld", their_id);
			continue;
		}
		if (m[1] != OUR_MD_ID || their_id <= 0 || their_id > 255)
			continue;
		if (int_after(m + 2, len - 2, "8:msg_type") != 0)
			continue;
		v = int_after(m + 2, len - 2, "5:piece");
		note("request %lld", v);
		answer(fd, (uint8_t)their_id, v);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	socklen_t slen;
	struct bt_err e;
	const char *tfile = NULL, *lfile = NULL;
	int ch, port = 0, life = 60, ls, fd, one = 1;

	while ((ch = getopt(argc, argv, "G:L:W:l:m:p:t:")) != -1) {
		switch (ch) {
		case 'G':
			gate_out = optarg;
			break;
		case 'L':
			lfile = optarg;
			break;
		case 'W':
			gate_in = optarg;
			break;
		case 'l':
			life = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			tfile = optarg;
			break;
		default:
			exit(64);
		}
	}
	if (mode == NULL || tfile == NULL) {
		fprintf(stderr, "usage: hostile-metadata -m MODE -t TORRENT "
		    "[-G FILE] [-L LOG] [-W FILE] [-p PORT] [-l SECONDS]\n");
		exit(64);
	}
	if (bt_torrent_load(&t, tfile, &e) < 0) {
		fprintf(stderr, "hostile-metadata: %s: %s\n", tfile, e.msg);
		exit(66);
	}
	infolen = t.info_len;
	if ((info = malloc(infolen)) == NULL)
		die("malloc");
	memcpy(info, t.raw + t.info_off, infolen);
	if (is("wronghash"))
		info[infolen / 2] ^= 0x20;
	if (lfile != NULL && (logfp = fopen(lfile, "a")) == NULL)
		die(lfile);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	if (listen(ls, 16) < 0)
		die("listen");
	slen = sizeof(sin);
	if (getsockname(ls, (struct sockaddr *)&sin, &slen) < 0)
		die("getsockname");
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	alarm((unsigned)life);
	for (;;) {
		fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			close(ls);
			alarm((unsigned)life);
			serve(fd);
			exit(0);
		default:
			close(fd);
		}
	}
}
