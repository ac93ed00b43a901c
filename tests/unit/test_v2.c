/*
 * lib/metainfo, BEP 52: v2-only and hybrid torrents built here with the
 * encoder and lib/merkle (real roots and piece layers of generated
 * data), the layout with its pads, both info hashes, every refusal with
 * its message, and bt_piece_check_v2 on good and bad pieces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "btlimits.h"
#include "merkle.h"
#include "metainfo.h"
#include "util.h"
#include "t.h"

#define PL	16384
#define H	BT_SHA256_LEN

/* Mutations of the built torrent, for the refusals. */
enum {
	M_NO_LAYERS = 1,	/* no "piece layers" at all */
	M_LAYER_SHORT = 2,	/* a's layer one hash short */
	M_LAYER_FLIP = 4,	/* a byte of a's layer changed */
	M_V1_NO_PAD = 8,	/* hybrid: the first pad left out of v1 */
	M_V1_LENGTH = 16,	/* hybrid: v1 says b is 301 bytes, its pad
				   one less */
	M_V1_NAME = 32,		/* hybrid: v1 calls b "B" */
};

static struct bt_buf b;

/* The torrent's data in the v2 layout (files and pads), as it grows. */
static uint8_t *content;
static size_t clen, ccap;

/* Roots and layers of the files written so far, for "piece layers". */
struct lay {
	uint8_t root[H];
	uint8_t *layer;
	size_t n;		/* hashes */
};
static struct lay lays[16];
static size_t nlays;

static void
key(const char *k)
{
	bt_benc_cstr(&b, k);
}

static void
raw(const char *s)
{
	bt_buf_add(&b, s, strlen(s));
}

static void
grow(size_t n)
{
	if (clen + n > ccap) {
		ccap = (clen + n) * 2;
		content = realloc(content, ccap);
	}
}

/* Byte i of the data of the file made from seed. */
static uint8_t
byte(int seed, size_t i)
{
	return (uint8_t)((i * 2654435761u >> 11) + (unsigned)seed * 77);
}

/*
 * The "" entry of a file of len bytes: its data goes into content, then
 * the pad to the next piece, as BEP 52 aligns files.
 */
static void
file(int64_t len, int seed)
{
	struct bt_merkle_file m;
	struct lay *y = &lays[nlays];
	size_t i, at = clen;

	grow((size_t)len + PL);
	for (i = 0; i < (size_t)len; i++)
		content[clen++] = byte(seed, i);
	bt_benc_dict(&b);
	key("");
	bt_benc_dict(&b);
	key("length");
	bt_benc_int(&b, len);
	if (len > 0) {
		bt_merkle_file_init(&m, len, PL, NULL);
		bt_merkle_file_feed(&m, content + at, (size_t)len);
		bt_merkle_file_root(&m, y->root);
		if (len > PL) {
			y->n = m.npieces;
			y->layer = malloc(y->n * H);
			memcpy(y->layer, m.layer, y->n * H);
			nlays++;
		}
		bt_merkle_file_free(&m);
		key("pieces root");
		bt_benc_str(&b, y->root, H);
	}
	bt_benc_end(&b);
	bt_benc_end(&b);
	if (len > 0 && clen % PL != 0) {
		size_t pad = PL - clen % PL;

		memset(content + clen, 0, pad);
		clen += pad;
	}
}

static int
laycmp(const void *x, const void *y)
{
	return memcmp(((const struct lay *)x)->root,
	    ((const struct lay *)y)->root, H);
}

static void
start(void)
{
	size_t i;

	for (i = 0; i < nlays; i++)
		free(lays[i].layer);
	nlays = 0;
	clen = 0;
	bt_buf_free(&b);
	memset(&b, 0, sizeof(b));
	bt_benc_dict(&b);
	key("info");
	bt_benc_dict(&b);
	key("file tree");
	bt_benc_dict(&b);
}

/* SHA-1 of each piece of content: the v1 "pieces" of a hybrid. */
static void
v1_pieces(void)
{
	size_t i, np = (clen + PL - 1) / PL;
	uint8_t *p = malloc(np * BT_SHA1_LEN);

	for (i = 0; i < np; i++)
		bt_sha1(content + i * PL, clen - i * PL < PL ? clen - i * PL :
		    PL, p + i * BT_SHA1_LEN);
	key("pieces");
	bt_benc_str(&b, p, np * BT_SHA1_LEN);
	free(p);
}

/* Close the tree and the torrent; v1files: a hybrid's raw "files". */
static void
finish(const char *name, const char *v1files, int mut)
{
	size_t i;

	bt_benc_end(&b);
	if (v1files != NULL) {
		key("files");
		raw(v1files);
	}
	key("meta version");
	bt_benc_int(&b, 2);
	key("name");
	bt_benc_cstr(&b, name);
	key("piece length");
	bt_benc_int(&b, PL);
	if (v1files != NULL)
		v1_pieces();
	bt_benc_end(&b);
	qsort(lays, nlays, sizeof(lays[0]), laycmp);
	if (nlays > 0 && !(mut & M_NO_LAYERS)) {
		key("piece layers");
		bt_benc_dict(&b);
		for (i = 0; i < nlays; i++) {
			size_t n = lays[i].n * H;

			if (mut & M_LAYER_SHORT)
				n -= H;
			if (mut & M_LAYER_FLIP)
				lays[i].layer[5] ^= 1;
			bt_benc_str(&b, lays[i].root, H);
			bt_benc_str(&b, lays[i].layer, n);
		}
		bt_benc_end(&b);
	}
	bt_benc_end(&b);
}

/*
 * The multi-file tree used throughout: a (100000 bytes, 7 pieces), e (0),
 * sub/b (300), sub/c (16384, exactly one piece). Layout: a 0, pad 14688,
 * e and sub/b 114688, pad 16084, sub/c 131072; 9 pieces.
 */
static void
tree(void)
{
	key("a");
	file(100000, 1);
	key("e");
	file(0, 2);
	key("sub");
	bt_benc_dict(&b);
	key("b");
	file(300, 3);
	key("c");
	file(PL, 4);
	bt_benc_end(&b);
}

static void
build(int mut)
{
	start();
	tree();
	finish("n", NULL, mut);
}

/* The v1 files list of the same data, with libtorrent's pads. */
static const char *
hybrid_files(int mut)
{
	static char s[512];

	snprintf(s, sizeof(s), "l"
	    "d6:lengthi100000e4:pathl1:aee"
	    "%s"
	    "d6:lengthi0e4:pathl1:eee"
	    "d6:lengthi%de4:pathl3:sub1:%see"
	    "d4:attr1:p6:lengthi%de4:pathl4:.pad5:16084ee"
	    "d6:lengthi16384e4:pathl3:sub1:cee"
	    "e",
	    mut & M_V1_NO_PAD ? "" :
	    "d4:attr1:p6:lengthi14688e4:pathl4:.pad5:14688ee",
	    mut & M_V1_LENGTH ? 301 : 300, mut & M_V1_NAME ? "B" : "b",
	    mut & M_V1_LENGTH ? 16083 : 16084);
	return s;
}

static void
build_hybrid(int mut)
{
	start();
	tree();
	finish("n", hybrid_files(mut), mut);
}

static int
parse(struct bt_torrent *t, struct bt_err *e)
{
	char *p = b.p;
	size_t n = b.len;

	memset(&b, 0, sizeof(b));
	bt_err_clear(e);
	return bt_torrent_parse(t, p, n, e);
}

static void
refuse_built(const char *msg, const char *what)
{
	struct bt_torrent t;
	struct bt_err e;
	int r = parse(&t, &e);

	T_OK(r == -1 && e.status == BT_EX_DATAERR, "refuses %s (status %d)",
	    what, e.status);
	T_STREQ(e.msg, msg, "names the reason for %s", what);
	bt_torrent_free(&t);
}

/* A v2-only torrent of the raw file tree ft, piece length pl. */
static void
refuse_tree(const char *ft, long pl, const char *msg, const char *what)
{
	bt_buf_free(&b);
	memset(&b, 0, sizeof(b));
	raw("d4:infod9:file tree");
	raw(ft);
	raw("12:meta versioni2e4:name1:n12:piece length");
	bt_benc_int(&b, pl);
	raw("ee");
	refuse_built(msg, what);
}

#define R32 "32:RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR"

static void
test_v2_only(void)
{
	struct bt_torrent t;
	struct bt_err e;
	uint8_t h[H];
	int r;

	build(0);
	r = parse(&t, &e);
	if (r < 0)
		printf("# refused: %s\n", e.msg);
	T_OK(r == 0 && t.v2 && t.v2only && !t.hybrid && t.pieces == NULL,
	    "accepts a v2-only torrent and flags it");
	if (r < 0)
		return;
	bt_sha256(t.raw + t.info_off, t.info_len, h);
	T_OK(memcmp(h, t.info_hash_v2, H) == 0,
	    "the v2 info hash is the SHA-256 of the info bytes");
	T_OK(memcmp(h, t.info_hash, BT_SHA1_LEN) == 0,
	    "the info hash of a v2-only torrent is its first 20 bytes");
	T_OK(t.multi && strcmp(t.name, "n") == 0, "a tree of folders is "
	    "multi-file under the name");
	T_OK(t.nfiles == 6, "4 files and 2 pads (%zu)", t.nfiles);
	T_OK(t.nfiles == 6 &&
	    strcmp(t.files[0].path, "n/a") == 0 && t.files[0].offset == 0 &&
	    t.files[1].pad && t.files[1].length == 14688 &&
	    t.files[1].offset == 100000 &&
	    strcmp(t.files[1].path, "n/.pad/14688") == 0 &&
	    strcmp(t.files[2].path, "n/e") == 0 && !t.files[2].pad &&
	    t.files[2].length == 0 && t.files[2].offset == 114688 &&
	    strcmp(t.files[3].path, "n/sub/b") == 0 &&
	    t.files[3].offset == 114688 &&
	    t.files[4].pad && t.files[4].length == 16084 &&
	    strcmp(t.files[5].path, "n/sub/c") == 0 &&
	    t.files[5].offset == 131072 && t.files[5].length == PL,
	    "files in tree order, a pad after each file not ending a piece");
	T_OK(t.total_length == 147456 && t.npieces == 9,
	    "total length and piece count over the padded layout");
	T_OK(t.files[0].root != NULL && t.files[1].root == NULL &&
	    t.files[2].root == NULL && t.files[3].root != NULL,
	    "pieces roots for files, none for pads and empty files");
	T_OK(t.v2hashes != NULL && t.v2file != NULL &&
	    memcmp(bt_piece_hash_v2(&t, 7), t.files[3].root, H) == 0 &&
	    memcmp(bt_piece_hash_v2(&t, 8), t.files[5].root, H) == 0 &&
	    t.v2file[0] == 0 && t.v2file[6] == 0 && t.v2file[7] == 3 &&
	    t.v2file[8] == 5, "per-piece v2 hashes and files");
	T_OK(bt_piece_size_v2(&t, 0) == PL &&
	    bt_piece_size_v2(&t, 6) == 100000 - 6 * PL &&
	    bt_piece_size_v2(&t, 7) == 300 && bt_piece_size_v2(&t, 8) == PL &&
	    bt_piece_size_v2(&t, 9) == 0 && bt_piece_size(&t, 6) == PL,
	    "v2 piece sizes leave out the pad; bt_piece_size counts it");
	T_OK(bt_piece_check_v2(&t, 0, content, PL) == 1,
	    "a good piece of a long file passes");
	T_OK(bt_piece_check_v2(&t, 6, content + 6 * PL, 100000 - 6 * PL) == 1,
	    "the short last piece of a long file passes");
	T_OK(bt_piece_check_v2(&t, 7, content + 7 * PL, 300) == 1,
	    "a file under one piece passes against its pieces root");
	T_OK(bt_piece_check_v2(&t, 8, content + 8 * PL, PL) == 1,
	    "a file of exactly one piece passes against its pieces root");
	T_OK(bt_piece_check_v2(&t, 6, content + 6 * PL, PL) == 0,
	    "the last piece with its pad is the wrong length");
	T_OK(bt_piece_check_v2(&t, 9, content, PL) == 0,
	    "a piece past the end fails");
	content[3 * PL + 100] ^= 0x40;
	T_OK(bt_piece_check_v2(&t, 3, content + 3 * PL, PL) == 0,
	    "a flipped byte in a long file's piece fails");
	content[3 * PL + 100] ^= 0x40;
	content[7 * PL + 299] ^= 1;
	T_OK(bt_piece_check_v2(&t, 7, content + 7 * PL, 300) == 0,
	    "a flipped byte in a one-piece file fails");
	content[7 * PL + 299] ^= 1;
	content[6 * PL] ^= 1;
	T_OK(bt_piece_check_v2(&t, 6, content + 6 * PL, 100000 - 6 * PL) ==
	    0, "a flipped byte in the short last piece fails");
	content[6 * PL] ^= 1;
	bt_torrent_free(&t);
}

static void
test_single(void)
{
	struct bt_torrent t;
	struct bt_err e;
	int r;

	start();
	key("f.bin");
	file(70000, 9);
	finish("other", NULL, 0);
	r = parse(&t, &e);
	if (r < 0)
		printf("# refused: %s\n", e.msg);
	T_OK(r == 0 && !t.multi && strcmp(t.name, "f.bin") == 0 &&
	    t.nfiles == 2 && strcmp(t.files[0].path, "f.bin") == 0 &&
	    t.files[0].length == 70000 && t.files[1].pad &&
	    t.files[1].length == 5 * PL - 70000 &&
	    strcmp(t.files[1].path, "f.bin/.pad/11920") == 0,
	    "one file at the root: single-file, named by its key, padded "
	    "(as libtorrent)");
	T_OK(r == 0 && t.total_length == 5 * PL && t.npieces == 5 &&
	    bt_piece_check_v2(&t, 4, content + 4 * PL, 70000 - 4 * PL) == 1,
	    "its last piece passes");
	bt_torrent_free(&t);
}

static void
test_hybrid(void)
{
	struct bt_torrent t;
	struct bt_err e;
	uint8_t h[BT_SHA1_LEN];
	int r;

	build_hybrid(0);
	r = parse(&t, &e);
	if (r < 0)
		printf("# refused: %s\n", e.msg);
	T_OK(r == 0 && t.v2 && t.hybrid && !t.v2only && t.pieces != NULL,
	    "accepts a hybrid whose v1 and v2 parts agree");
	if (r < 0)
		return;
	bt_sha1(t.raw + t.info_off, t.info_len, h);
	T_OK(memcmp(h, t.info_hash, BT_SHA1_LEN) == 0,
	    "a hybrid's info hash is the SHA-1");
	T_OK(t.nfiles == 6 && t.files[1].pad && t.files[4].pad &&
	    strcmp(t.files[1].path, "n/.pad/14688") == 0,
	    "a hybrid keeps its v1 files list");
	T_OK(t.npieces == 9 && t.files[0].root != NULL &&
	    t.files[5].root != NULL && t.files[1].root == NULL &&
	    t.v2file[8] == 5 &&
	    bt_piece_check_v2(&t, 8, content + 8 * PL, PL) == 1 &&
	    bt_piece_check_v2(&t, 2, content + 2 * PL, PL) == 1,
	    "a hybrid's files carry their roots and its pieces check as v2");
	bt_torrent_free(&t);

	/* libtorrent's hybrid of a folder holding one file. */
	start();
	key("f.bin");
	file(20000, 5);
	finish("dir", "ld6:lengthi20000e4:pathl5:f.bineee", 0);
	r = parse(&t, &e);
	if (r < 0)
		printf("# refused: %s\n", e.msg);
	T_OK(r == 0 && t.hybrid && t.multi && t.nfiles == 1 &&
	    strcmp(t.files[0].path, "dir/f.bin") == 0 &&
	    t.files[0].root != NULL && t.npieces == 2 &&
	    bt_piece_check_v2(&t, 1, content + PL, 20000 - PL) == 1,
	    "a hybrid of one file in a folder: the tree's file is under the "
	    "name, as in v1");
	bt_torrent_free(&t);
	start();
	key("f.bin");
	file(20000, 5);
	key("g");
	file(0, 6);
	finish("dir", "ld6:lengthi20000e4:pathl5:f.bineee", 0);
	refuse_built("hybrid torrent: v1 and v2 file lists differ: 'dir/g' "
	    "is not in v1", "a hybrid whose tree has a file more");

	build_hybrid(M_V1_NO_PAD);
	refuse_built("hybrid torrent: v1 and v2 file lists differ: 'n/sub/b' "
	    "starts at byte 100000 in v1, at 114688 in v2 (pads missing or "
	    "wrong)", "a hybrid whose v1 part lacks a pad");
	build_hybrid(M_V1_LENGTH);
	refuse_built("hybrid torrent: v1 and v2 file lists differ: 'n/sub/b' "
	    "is 301 bytes in v1, 300 in the file tree",
	    "a hybrid whose v1 length differs");
	build_hybrid(M_V1_NAME);
	refuse_built("hybrid torrent: v1 and v2 file lists differ: v1 file 3 "
	    "is 'n/sub/B', the file tree's is 'n/sub/b'",
	    "a hybrid whose v1 path differs");
}

static void
test_layers(void)
{
	build(M_NO_LAYERS);
	refuse_built("no piece layer for 'n/a' (100000 bytes, 7 pieces)",
	    "a torrent without piece layers");
	build(M_LAYER_SHORT);
	refuse_built("piece layer of 'n/a' is 192 bytes, expected 224 "
	    "(7 pieces)", "a piece layer of the wrong length");
	build(M_LAYER_FLIP);
	refuse_built("piece layer of 'n/a' does not hash to its pieces root",
	    "a piece layer that is not the file's");
}

static void
test_refusals(void)
{
	char *deep;
	size_t i, o = 0;

	refuse_tree("d1:ad0:d6:lengthi1e11:pieces root" R32 "eee", 16385,
	    "v2 torrent: 'piece length' 16385 is not a power of two of at "
	    "least 16384", "a piece length not a power of two");
	refuse_tree("d1:ad0:d6:lengthi1e11:pieces root" R32 "eee", 8192,
	    "v2 torrent: 'piece length' 8192 is not a power of two of at "
	    "least 16384", "a piece length under 16 KiB");
	refuse_tree("le", PL, "v2 torrent: missing or invalid 'file tree'",
	    "a file tree that is not a dictionary");
	refuse_tree("d0:d1:ad0:d6:lengthi1eeeee", PL,
	    "file tree: unsafe path 'n/': empty path component",
	    "an empty path component");
	refuse_tree("d1:ad2:..d0:d6:lengthi1eeeee", PL,
	    "file tree: unsafe path 'n/a/..': path component '..'",
	    "a '..' component");
	refuse_tree("d1:ai5ee", PL, "file tree: 'n/a' is not a dictionary",
	    "a tree entry that is not a dictionary");
	/* Below, one file at the root: named by its key alone, 'a'. */
	refuse_tree("d1:ad0:i1eee", PL,
	    "file tree: 'a': '' is not a dictionary",
	    "a '' entry that is not a dictionary");
	refuse_tree("d1:ad0:d11:pieces root" R32 "eee", PL,
	    "file tree: 'a': missing or invalid 'length'",
	    "a file without length");
	refuse_tree("d1:ad0:d6:lengthi-1eeee", PL,
	    "file tree: 'a': negative length", "a negative length");
	refuse_tree("d1:ad0:d6:lengthi1e11:pieces root31:"
	    "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRReee", PL,
	    "file tree: 'a': 'pieces root' of 31 bytes, not 32",
	    "a pieces root of 31 bytes");
	refuse_tree("d1:ad0:d6:lengthi5eeee", PL,
	    "file tree: 'a': no 'pieces root' for 5 bytes",
	    "a file without pieces root");
	refuse_tree("d1:ad0:d6:lengthi1e11:pieces root" R32 "e1:bdeee", PL,
	    "file tree: 'a' is both a file and a folder",
	    "a file that is also a folder");
	refuse_tree("d1:ad0:d6:lengthi0eee1:bdee", PL,
	    "the torrent holds no data (total length 0)",
	    "a tree of empty files");
	refuse_tree("d1:ad0:d6:lengthi4611686018427387904e11:pieces root" R32
	    "ee1:bd0:d6:lengthi4611686018427387904e11:pieces root" R32 "eee",
	    PL, "total length overflows 64 bits", "a total length over 64 "
	    "bits");

	/* One folder more than the limit, each named "a". */
	deep = malloc(8 * (BT_V2_MAX_DEPTH + 2) + 64);
	for (i = 0; i < BT_V2_MAX_DEPTH + 1; i++)
		o += (size_t)sprintf(deep + o, "d1:a");
	o += (size_t)sprintf(deep + o, "d0:d6:lengthi0eee");
	for (i = 0; i < BT_V2_MAX_DEPTH + 1; i++)
		deep[o++] = 'e';
	deep[o] = '\0';
	refuse_tree(deep, PL, "file tree: deeper than 64 folders (limit "
	    "BT_V2_MAX_DEPTH)", "a tree deeper than the limit");
	/* At the limit: accepted (no data, so refused for that only). */
	o = 0;
	for (i = 0; i < BT_V2_MAX_DEPTH; i++)
		o += (size_t)sprintf(deep + o, "d1:a");
	o += (size_t)sprintf(deep + o, "d0:d6:lengthi0eee");
	for (i = 0; i < BT_V2_MAX_DEPTH; i++)
		deep[o++] = 'e';
	deep[o] = '\0';
	refuse_tree(deep, PL, "the torrent holds no data (total length 0)",
	    "a tree at the depth limit (for its lack of data only)");
	free(deep);
}

/* BT_MAX_FILES + 1 empty files and one byte: the file limit. */
static void
test_many(void)
{
	size_t i;

	bt_buf_free(&b);
	memset(&b, 0, sizeof(b));
	raw("d4:infod9:file treed");
	for (i = 0; i <= BT_MAX_FILES; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%07zu", i);
		bt_benc_cstr(&b, k);
		raw("d0:d6:lengthi0eee");
	}
	raw("e12:meta versioni2e4:name1:n12:piece lengthi16384eee");
	refuse_built("more than 500000 files (limit BT_MAX_FILES)",
	    "too many files");
}

static void
test_v1_unchanged(void)
{
	struct bt_torrent t;
	struct bt_err e;
	int r;

	bt_buf_free(&b);
	memset(&b, 0, sizeof(b));
	raw("d4:infod6:lengthi5e4:name1:x12:piece lengthi16e6:pieces20:"
	    "AAAAAAAAAAAAAAAAAAAAee");
	r = parse(&t, &e);
	T_OK(r == 0 && !t.v2 && !t.v2only && !t.hybrid && t.v2hashes ==
	    NULL && t.files[0].root == NULL && bt_piece_size_v2(&t, 0) == 0 &&
	    bt_piece_check_v2(&t, 0, (const uint8_t *)"abcde", 5) == 0,
	    "a v1 torrent has no v2 part (piece length 16 still accepted)");
	bt_torrent_free(&t);
}

int
main(void)
{
	size_t i;

	test_v2_only();
	test_single();
	test_hybrid();
	test_layers();
	test_refusals();
	test_many();
	test_v1_unchanged();
	for (i = 0; i < nlays; i++)
		free(lays[i].layer);
	free(content);
	bt_buf_free(&b);
	return t_done();
}
