/*
 * lib/create: the piece length rule, sizes, the order of files, hashing
 * across file boundaries and pieces larger than the read buffer, the
 * encoding, and files that change between the walk and the hashing;
 * the v2 and hybrid layout (libtorrent's order and pads) and their
 * hashes against lib/merkle's incremental trees.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btlimits.h"
#include "create.h"
#include "merkle.h"
#include "sha1.h"
#include "t.h"

static char dir[64];

static void
put(const char *rel, const uint8_t *p, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void
mk(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	mkdir(path, 0755);
}

static void
test_piece_length(void)
{
	static const struct {
		int64_t total, want;
	} v[] = {
		{ 1, 16384 },
		{ 16384, 16384 },
		{ 32LL << 20, 16384 },
		{ (32LL << 20) + 1, 32768 },
		{ 1LL << 30, 512 * 1024 },
		{ (1LL << 30) + 1, 1024 * 1024 },
		{ 32LL << 30, 16LL << 20 },
		{ (32LL << 30) + 1, 16LL << 20 },
		{ 1LL << 40, 16LL << 20 },
	};
	struct bt_err e;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_OK(bt_create_auto_piece_length(v[i].total) == v[i].want,
		    "auto piece length of %lld is %lld (got %lld)",
		    (long long)v[i].total, (long long)v[i].want,
		    (long long)bt_create_auto_piece_length(v[i].total));
	T_OK(bt_create_check_piece_length(16384, &e) == 0, "16K accepted");
	T_OK(bt_create_check_piece_length(64LL << 20, &e) == 0,
	    "64M accepted");
	T_OK(bt_create_check_piece_length(8192, &e) < 0 &&
	    e.status == BT_EX_USAGE, "8K refused");
	T_OK(bt_create_check_piece_length(3 * 16384, &e) < 0, "48K refused");
	T_OK(bt_create_check_piece_length(128LL << 20, &e) < 0,
	    "128M refused");
	T_STREQ(e.msg, "piece length 134217728: not a power of two from "
	    "16K to 64M", "names the rule");
}

static void
test_size(void)
{
	static const struct {
		const char *s;
		int64_t want;	/* -1: refused */
	} v[] = {
		{ "16384", 16384 }, { "16K", 16384 }, { "16k", 16384 },
		{ "4M", 4 << 20 }, { "1m", 1 << 20 }, { "0", 0 },
		{ "", -1 }, { "K", -1 }, { "1G", -1 }, { "-1", -1 },
		{ "-1K", -1 }, { " 1", -1 }, { "1K ", -1 }, { "0x10", -1 },
		{ "9223372036854775807K", -1 }, { "99999999999999999999", -1 },
	};
	struct bt_err e;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t got = -1;
		int r = bt_create_parse_size(v[i].s, &got, &e);

		if (v[i].want < 0)
			T_OK(r < 0 && e.status == BT_EX_USAGE,
			    "size '%s' refused", v[i].s);
		else
			T_OK(r == 0 && got == v[i].want, "size '%s' is %lld",
			    v[i].s, (long long)v[i].want);
	}
}

static void
test_order(void)
{
	static const char *want[] = {
		".h", "B", "a!/z", "a-b", "a.txt", "a/x", "a/y/z", "b", "é"
	};
	struct bt_create c;
	struct bt_err e;
	size_t i;
	int ok;

	mk("o");
	mk("o/a");
	mk("o/a/y");
	mk("o/a!");
	mk("o/empty");
	put("o/é", (const uint8_t *)"1", 1);
	put("o/b", (const uint8_t *)"2", 1);
	put("o/a/y/z", (const uint8_t *)"3", 1);
	put("o/a/x", (const uint8_t *)"4", 1);
	put("o/a.txt", (const uint8_t *)"5", 1);
	put("o/a-b", (const uint8_t *)"6", 1);
	put("o/a!/z", (const uint8_t *)"7", 1);
	put("o/B", (const uint8_t *)"8", 1);
	put("o/.h", (const uint8_t *)"", 0);
	{
		char root[128];

		snprintf(root, sizeof(root), "%s/o", dir);
		ok = bt_create_scan(&c, root, NULL, &e) == 0;
	}
	T_OK(ok, "scans a folder (%s)", ok ? "" : e.msg);
	T_OK(c.multi && c.nfiles == sizeof(want) / sizeof(want[0]),
	    "finds %zu files (got %zu)", sizeof(want) / sizeof(want[0]),
	    c.nfiles);
	for (i = 0; ok && i < c.nfiles && i < sizeof(want) / sizeof(want[0]);
	    i++)
		T_STREQ(c.files[i].path, want[i], "file %zu is %s", i,
		    want[i]);
	T_STREQ(c.name, "o", "named after the folder");
	T_OK(c.total == 8 && c.files[0].offset == 0 &&
	    c.files[1].offset == 0 && c.files[8].offset == 7,
	    "offsets count the empty file as nothing");
	bt_create_free(&c);
}

/* Expected hashes: SHA-1 of every plen slice of data[0..n). */
static int
hashes_match(const uint8_t *data, size_t n, int64_t plen,
    const uint8_t *got)
{
	uint8_t h[BT_SHA1_LEN];
	size_t i, k = 0;

	for (i = 0; i < n; i += (size_t)plen, k++) {
		size_t len = n - i < (size_t)plen ? n - i : (size_t)plen;

		bt_sha1(data + i, len, h);
		if (memcmp(h, got + k * BT_SHA1_LEN, BT_SHA1_LEN) != 0)
			return 0;
	}
	return 1;
}

static void
test_hash(void)
{
	static const size_t sz[] = { 10000, 0, 30000, 16384, 1, 50000 };
	static const char *nm[] = { "a", "b", "c", "d", "e", "f" };
	size_t total = 0, i, big1 = 5 << 20, big2 = (4 << 20) + 3;
	struct bt_create c;
	struct bt_err e;
	uint8_t *data, *out;
	char root[128];
	uint32_t np;
	int th;

	for (i = 0; i < 6; i++)
		total += sz[i];
	data = malloc(big1 + big2);
	out = malloc(64 * BT_SHA1_LEN);
	for (i = 0; i < big1 + big2; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	mk("h");
	for (i = 0, total = 0; i < 6; i++) {
		char rel[16];

		snprintf(rel, sizeof(rel), "h/%s", nm[i]);
		put(rel, data + total, sz[i]);
		total += sz[i];
	}
	snprintf(root, sizeof(root), "%s/h", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) == 0, "scans the folder");
	T_OK(bt_create_npieces(&c, 16384, &np, &e) == 0 && np == 7,
	    "106385 bytes make 7 pieces of 16K");
	for (th = 1; th <= 3; th++) {
		memset(out, 0, 64 * BT_SHA1_LEN);
		T_OK(bt_create_hash(&c, 16384, th, out, &e) == 0 &&
		    hashes_match(data, total, 16384, out),
		    "pieces across file boundaries, %d thread(s)", th);
	}
	T_OK(bt_create_hash(&c, 32768, 2, out, &e) == 0 &&
	    hashes_match(data, total, 32768, out), "32K pieces");

	/* A file that shrank after the walk. */
	put("h/c", data, 100);
	T_OK(bt_create_hash(&c, 16384, 2, out, &e) < 0 &&
	    e.status == BT_EX_IOERR && strstr(e.msg, "/h/c: changed while "
	    "being read") != NULL, "a file changed meanwhile: %s", e.msg);
	bt_create_free(&c);

	/* Pieces larger than the read buffer, one spanning two files. */
	mk("g");
	put("g/1", data, big1);
	put("g/2", data + big1, big2);
	snprintf(root, sizeof(root), "%s/g", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) == 0, "scans big files");
	for (th = 1; th <= 2; th++) {
		memset(out, 0, 64 * BT_SHA1_LEN);
		T_OK(bt_create_hash(&c, 8 << 20, th, out, &e) == 0 &&
		    hashes_match(data, big1 + big2, 8 << 20, out),
		    "8M pieces (over BT_CREATE_BUF), %d thread(s)", th);
	}
	bt_create_free(&c);
	free(data);
	free(out);
}

static void
test_encode(void)
{
	static const char want[] = "d8:announce3:t/110:created by1:x"
	    "4:infod6:lengthi3e4:name1:s12:piece lengthi16384e"
	    "6:pieces20:";
	char root[128], *a[] = { "t/1" };
	struct bt_create_meta m;
	struct bt_create c;
	struct bt_buf b;
	struct bt_err e;
	uint8_t h[BT_SHA1_LEN];
	int ok;

	put("s", (const uint8_t *)"abc", 3);
	snprintf(root, sizeof(root), "%s/s", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) == 0 && !c.multi &&
	    c.nfiles == 1 && c.files[0].path[0] == '\0',
	    "a single file");
	T_OK(bt_create_hash(&c, 16384, 2, h, &e) == 0, "hashes it");
	memset(&m, 0, sizeof(m));
	memset(&b, 0, sizeof(b));
	m.piece_length = 16384;
	m.announce = a;
	m.nannounce = 1;
	m.created_by = "x";
	m.date = -1;
	ok = bt_create_encode(&c, &m, h, NULL, &b, &e) == 0 &&
	    b.len == sizeof(want) - 1 + 20 + 2 &&
	    memcmp(b.p, want, sizeof(want) - 1) == 0 &&
	    memcmp(b.p + sizeof(want) - 1, h, 20) == 0 &&
	    memcmp(b.p + b.len - 2, "ee", 2) == 0;
	T_OK(ok, "encodes the single-file metainfo exactly");
	bt_buf_free(&b);
	a[0] = "t/1,,t/2";
	T_OK(bt_create_encode(&c, &m, h, NULL, &b, &e) < 0 &&
	    e.status == BT_EX_USAGE, "an empty URL in a tier is refused");
	T_STREQ(e.msg, "empty tracker URL", "says so");
	bt_buf_free(&b);
	bt_create_free(&c);

	T_OK(bt_create_scan(&c, root, "../x", &e) < 0 &&
	    e.status == BT_EX_DATAERR, "an unsafe name is refused");
	bt_create_free(&c);
	snprintf(root, sizeof(root), "%s/none", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) < 0 &&
	    e.status == BT_EX_NOINPUT, "a missing path is NOINPUT");
	bt_create_free(&c);
}

static void
test_layout(void)
{
	static const char *want[] = { "a/x", "a!/z", "a.txt", "b" };
	static const int64_t pad[] = { 16383, 0, 0, 12768 };
	static const int64_t off[] = { 0, 16384, 32768, 32768 };
	struct bt_create c;
	struct bt_err e;
	char root[128];
	size_t i;
	uint8_t *d = calloc(1, 20000);

	mk("l");
	mk("l/a");
	mk("l/a!");
	put("l/a/x", d, 1);
	put("l/a!/z", d, 16384);
	put("l/a.txt", d, 0);
	put("l/b", d, 20000);
	snprintf(root, sizeof(root), "%s/l", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) == 0 &&
	    strcmp(c.files[0].path, "a!/z") == 0, "v1: mktorrent's order");
	T_OK(bt_create_layout(&c, BT_CREATE_HYBRID, 16384, &e) == 0 &&
	    c.version == BT_CREATE_HYBRID, "lays out a hybrid");
	for (i = 0; i < 4; i++)
		T_OK(strcmp(c.files[i].path, want[i]) == 0 &&
		    c.files[i].pad == pad[i] && c.files[i].offset == off[i],
		    "file %zu: %s at %lld, pad %lld", i, want[i],
		    (long long)off[i], (long long)pad[i]);
	T_OK(c.total == 65536, "the data with pads: 4 pieces");
	T_OK(bt_create_layout(&c, BT_CREATE_V2, 3 * 16384, &e) < 0 &&
	    e.status == BT_EX_USAGE, "v2 needs a power of two");
	bt_create_free(&c);

	/* One file in a folder: no pad, as libtorrent. */
	mk("l1");
	put("l1/f", d, 100);
	snprintf(root, sizeof(root), "%s/l1", dir);
	T_OK(bt_create_scan(&c, root, NULL, &e) == 0 &&
	    bt_create_layout(&c, BT_CREATE_HYBRID, 16384, &e) == 0 &&
	    c.files[0].pad == 0 && c.total == 100, "a lone file: no pad");
	bt_create_free(&c);
	free(d);
}

/*
 * v2 and hybrid hashes of a folder against bt_merkle_file (each file
 * fed whole) and SHA-1 of each file's pieces padded with zeros.
 */
static void
test_hash_v2(void)
{
	static const size_t sz[] = { 0, 1, 16384, 40000, 100000 };
	static const char *nm[] = { "a", "b", "c", "d", "e" };
	static const int64_t pl[] = { 16384, 32768, 2 << 20 };
	struct bt_create c;
	struct bt_err e;
	uint8_t *data, *out, *layer, r[BT_SHA256_LEN], h[BT_SHA1_LEN];
	char root[128], rel[16];
	size_t i, k, t, at = 0;
	uint32_t np;
	int th;

	data = malloc(200000);
	for (i = 0; i < 200000; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 11);
	mk("v");
	for (i = 0; i < 5; i++) {
		snprintf(rel, sizeof(rel), "v/%s", nm[i]);
		put(rel, data + at, sz[i]);
		at += sz[i];
	}
	snprintf(root, sizeof(root), "%s/v", dir);
	/* Each piece length with 1 thread, then 3. */
	for (t = 0; t < 2 * sizeof(pl) / sizeof(pl[0]); t++) {
		int ok = 1, ok1 = 1;

		k = t / 2;
		th = t % 2 ? 3 : 1;

		T_OK(bt_create_scan(&c, root, NULL, &e) == 0 &&
		    bt_create_layout(&c, BT_CREATE_HYBRID, pl[k], &e) == 0 &&
		    bt_create_npieces(&c, pl[k], &np, &e) == 0,
		    "lays out for %lld", (long long)pl[k]);
		out = malloc((size_t)np * BT_SHA1_LEN);
		layer = malloc((size_t)np * BT_SHA256_LEN);
		T_OK(bt_create_hash_v2(&c, pl[k], th, out, layer, &e) == 0,
		    "hashes v2 and v1, %lld, %d thread(s)", (long long)pl[k],
		    th);
		for (i = 0, at = 0; i < c.nfiles; at += sz[i], i++) {
			struct bt_merkle_file m;
			const struct bt_cfile *f = &c.files[i];
			uint64_t n = sz[i] == 0 ? 0 :
			    (sz[i] - 1) / (uint64_t)pl[k] + 1, p;

			if (sz[i] == 0)
				continue;
			bt_merkle_file_init(&m, (int64_t)sz[i], pl[k], NULL);
			bt_merkle_file_feed(&m, data + at, sz[i]);
			bt_merkle_file_root(&m, r);
			if (memcmp(r, f->root, BT_SHA256_LEN) != 0 ||
			    (n > 1 && memcmp(m.layer, layer + (size_t)(f->offset
			    / pl[k]) * BT_SHA256_LEN, n * BT_SHA256_LEN) != 0))
				ok = 0;
			bt_merkle_file_free(&m);
			for (p = 0; p < n; p++) {
				uint8_t *buf = calloc(1, (size_t)pl[k]);
				size_t o = (size_t)p * (size_t)pl[k];
				size_t len = sz[i] - o < (size_t)pl[k] ?
				    sz[i] - o : (size_t)pl[k];

				memcpy(buf, data + at + o, len);
				bt_sha1(buf, (size_t)pl[k], h);
				if (memcmp(h, out + (size_t)(f->offset / pl[k] +
				    p) * BT_SHA1_LEN, BT_SHA1_LEN) != 0)
					ok1 = 0;
				free(buf);
			}
		}
		T_OK(ok, "pieces roots and piece layers as lib/merkle's");
		T_OK(ok1, "v1 pieces of files padded with zeros");
		free(out);
		free(layer);
		bt_create_free(&c);
	}
	free(data);
}

int
main(void)
{
	char cmd[128];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/bt-test-create.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_piece_length();
	test_size();
	test_order();
	test_hash();
	test_encode();
	test_layout();
	test_hash_v2();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
