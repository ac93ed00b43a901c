/*
 * bt-peers: read tracker answers (the stream of bt-announce, or saved
 * files) and write the peer list of bt(7): one "ADDRESS PORT" a line,
 * each peer once, after the context lines "# info-hash" and "# torrent".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btlimits.h"
#include "cli.h"
#include "json.h"
#include "tracker.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bt-peers [-j] [file ...]\n");
	exit(BT_EX_USAGE);
}

/* The set of peers already written: open addressing on the address. */
struct key {
	uint8_t fam;		/* 4 or 6 */
	uint8_t ip[16];
	uint8_t port[2];
};

static struct key *set;
static unsigned char *used;
static size_t setcap, setn;

static void
key_of(const struct bt_peer_addr *a, struct key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&a->sa;

		k->fam = 6;
		memcpy(k->ip, &s6->sin6_addr, 16);
		memcpy(k->port, &s6->sin6_port, 2);
	} else {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&a->sa;

		k->fam = 4;
		memcpy(k->ip, &s4->sin_addr, 4);
		memcpy(k->port, &s4->sin_port, 2);
	}
}

static size_t
hash(const struct key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)h;
}

static int
set_insert(const struct key *k)
{
	size_t i;

	if (2 * (setn + 1) > setcap) {
		struct key *old = set;
		unsigned char *oldu = used;
		size_t oldcap = setcap, j;

		setcap = setcap ? 2 * setcap : 1024;
		set = calloc(setcap, sizeof(*set));
		used = calloc(setcap, 1);
		if (set == NULL || used == NULL)
			bt_die(BT_EX_SOFTWARE, "out of memory");
		for (j = 0; j < oldcap; j++) {
			if (!oldu[j])
				continue;
			for (i = hash(&old[j]) & (setcap - 1); used[i];
			    i = (i + 1) & (setcap - 1))
				;
			set[i] = old[j];
			used[i] = 1;
		}
		free(old);
		free(oldu);
	}
	for (i = hash(k) & (setcap - 1); used[i]; i = (i + 1) & (setcap - 1))
		if (memcmp(&set[i], k, sizeof(*k)) == 0)
			return 0;
	set[i] = *k;
	used[i] = 1;
	setn++;
	return 1;
}

struct state {
	int json;
	struct bt_buf js;	/* the JSON peers array, built as we go */
	size_t npeer, dropped;
	int has_ih, said_torrent;
	uint8_t ih[BT_SHA1_LEN];
	char *torrent;
	int status;		/* the worst so far */
};

static void
worse(struct state *st, int status)
{
	if (st->status == 0 || (st->status == BT_EX_UNAVAILABLE &&
	    status != BT_EX_UNAVAILABLE))
		st->status = status;
}

/* One answer: its context, then its new peers. */
static void
answer(struct state *st, const struct bt_tracker_answer *a, const char *ctx)
{
	char hex[2 * BT_SHA1_LEN + 1], line[80];
	size_t i;

	if (a->has_info_hash && st->has_ih &&
	    memcmp(a->info_hash, st->ih, BT_SHA1_LEN) != 0) {
		bt_hex(a->info_hash, BT_SHA1_LEN, hex);
		bt_warnx("%s: answer for another torrent (info hash %s), "
		    "skipped", ctx, hex);
		worse(st, BT_EX_DATAERR);
		return;
	}
	if (a->has_info_hash && !st->has_ih) {
		st->has_ih = 1;
		memcpy(st->ih, a->info_hash, BT_SHA1_LEN);
		bt_hex(st->ih, BT_SHA1_LEN, hex);
		if (!st->json)
			printf("# info-hash %s\n", hex);
	}
	if (a->torrent != NULL && !st->said_torrent) {
		st->said_torrent = 1;
		if ((st->torrent = strndup(a->torrent, a->torrent_len)) ==
		    NULL)
			bt_die(BT_EX_SOFTWARE, "out of memory");
		/* A line of the peer list cannot hold a newline or a NUL. */
		if (strlen(st->torrent) != a->torrent_len ||
		    strchr(st->torrent, '\n') != NULL) {
			bt_warnx("%s: torrent path has a newline or NUL: "
			    "left out", ctx);
			free(st->torrent);
			st->torrent = NULL;
		} else if (!st->json)
			printf("# torrent %s\n", st->torrent);
	}
	if (a->dropped > 0)
		bt_warnx("%s: %zu peers past %d dropped (limit "
		    "BT_TRACKER_MAX_PEERS)", ctx, a->dropped,
		    BT_TRACKER_MAX_PEERS);
	if (a->named > 0)
		bt_warnx("%s: %zu peers given by a host name skipped", ctx,
		    a->named);
	for (i = 0; i < a->peers.n; i++) {
		const struct bt_peer_addr *p = &a->peers.peer[i];
		struct key k;
		char *sp;

		key_of(p, &k);
		if (setn >= BT_PEERS_MAX_TOTAL) {
			st->dropped++;
			continue;
		}
		if (!set_insert(&k))
			continue;
		bt_peer_format(p, line, sizeof(line));
		if (!st->json) {
			printf("%s\n", line);
			continue;
		}
		sp = strchr(line, ' ');
		*sp = '\0';
		if (st->npeer > 0)
			bt_buf_add(&st->js, ",", 1);
		bt_buf_add(&st->js, "{\"ip\":", 6);
		bt_json_cstr(&st->js, line);
		bt_buf_add(&st->js, ",\"port\":", 8);
		bt_buf_add(&st->js, sp + 1, strlen(sp + 1));
		bt_buf_add(&st->js, "}", 1);
		if (st->js.oom)
			bt_die(BT_EX_SOFTWARE, "out of memory");
		st->npeer++;
	}
}

static void
input(struct state *st, const char *name)
{
	struct bt_tracker_answer a;
	struct bt_bseq q;
	struct bt_err e;
	char ctx[300];
	size_t n = 0;
	int fd, r;

	if (strcmp(name, "-") == 0)
		fd = 0;
	else if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
		bt_warnx("%s: %s", name, strerror(errno));
		worse(st, BT_EX_NOINPUT);
		return;
	}
	bt_bseq_init(&q, fd, BT_TRACKER_MAX_RECORD);
	q.limit = "BT_TRACKER_MAX_RECORD";
	while ((r = bt_bseq_next(&q, &e)) == 1) {
		n++;
		snprintf(ctx, sizeof(ctx), "%s: answer %zu",
		    fd == 0 ? "stdin" : name, n);
		if (bt_tracker_answer_parse(&q.doc, &a, BT_TRACKER_MAX_PEERS,
		    &e) < 0) {
			/* A bad answer does not stop the others. */
			bt_warn_err(ctx, &e);
			worse(st, e.status);
		} else
			answer(st, &a, ctx);
		bt_tracker_answer_free(&a);
	}
	if (r < 0) {
		snprintf(ctx, sizeof(ctx), "%s", fd == 0 ? "stdin" : name);
		bt_warn_err(ctx, &e);
		worse(st, e.status);
	}
	bt_bseq_free(&q);
	if (fd != 0)
		close(fd);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct state st;
	int c, i;

	bt_cli_init(argv[0]);
	memset(&st, 0, sizeof(st));
	while ((c = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			st.json = 1;
			break;
		default:
			usage();
		}
	}
	if (optind == argc)
		input(&st, "-");
	for (i = optind; i < argc; i++)
		input(&st, argv[i]);
	if (st.dropped > 0) {
		bt_warnx("%zu peers past %d dropped (limit "
		    "BT_PEERS_MAX_TOTAL)", st.dropped, BT_PEERS_MAX_TOTAL);
	}
	if (st.json) {
		struct bt_buf b = { 0 };
		char hex[2 * BT_SHA1_LEN + 1];

		bt_buf_add(&b, "{", 1);
		if (st.has_ih) {
			bt_hex(st.ih, BT_SHA1_LEN, hex);
			bt_buf_add(&b, "\"info_hash\":\"", 13);
			bt_buf_add(&b, hex, strlen(hex));
			bt_buf_add(&b, "\",", 2);
		}
		if (st.torrent != NULL) {
			bt_buf_add(&b, "\"torrent\":", 10);
			bt_json_cstr(&b, st.torrent);
			bt_buf_add(&b, ",", 1);
		}
		bt_buf_add(&b, "\"peers\":[", 9);
		bt_buf_add(&b, st.js.p, st.js.len);
		bt_buf_add(&b, "]}\n", 3);
		if (b.oom)
			bt_die(BT_EX_SOFTWARE, "out of memory");
		fwrite(b.p, 1, b.len, stdout);
		bt_buf_free(&b);
	}
	bt_buf_free(&st.js);
	free(st.torrent);
	free(set);
	free(used);
	return bt_fshut_stdout(st.status);
}
