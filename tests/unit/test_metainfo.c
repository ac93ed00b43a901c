/*
 * lib/metainfo: torrents built here with the encoder, the info hash over
 * the exact info bytes, every refusal with its message, the safe-path
 * policy, trackers, optional keys, BEP 47 pads and piece sizes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "bencode.h"
#include "btlimits.h"
#include "metainfo.h"
#include "util.h"
#include "t.h"

/* What varies between the torrents of these tests. */
struct spec {
	int no_info, info_int, no_name, name_int, no_pl, pl_str, no_pieces;
	const char *name;
	int64_t pl;
	long long npieces;	/* -1: computed from the length */
	long long pieces_bytes;	/* >= 0: this many bytes instead */
	int64_t length;
	int no_length, length_str;
	const char *files;	/* raw bencoded list, or NULL */
	int meta_v2, file_tree;
	const char *extra_root;	/* raw key/values, written as given */
	const char *extra_info;
};

static struct bt_buf b;

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

/* Build the torrent for s into b (keys in order, as BEP 3 asks). */
static void
build(const struct spec *s)
{
	int64_t pl = s->pl ? s->pl : 16384;

	bt_buf_free(&b);
	memset(&b, 0, sizeof(b));
	bt_benc_dict(&b);
	key("announce");
	bt_benc_cstr(&b, "http://127.0.0.1:6969/announce");
	if (s->extra_root)
		raw(s->extra_root);
	if (!s->no_info) {
		key("info");
		if (s->info_int) {
			bt_benc_int(&b, 1);
		} else {
			long long np, i;

			bt_benc_dict(&b);
			if (s->file_tree) {
				key("file tree");
				raw("d1:ad0:d6:lengthi1eeee");
			}
			if (s->files) {
				key("files");
				raw(s->files);
			}
			if (!s->no_length && !s->files) {
				key("length");
				if (s->length_str)
					bt_benc_cstr(&b, "1");
				else
					bt_benc_int(&b, s->length);
			}
			if (s->meta_v2) {
				key("meta version");
				bt_benc_int(&b, 2);
			}
			if (!s->no_name) {
				key("name");
				if (s->name_int)
					bt_benc_int(&b, 5);
				else
					bt_benc_cstr(&b, s->name ? s->name :
					    "n");
			}
			if (!s->no_pl) {
				key("piece length");
				if (s->pl_str)
					bt_benc_cstr(&b, "16384");
				else
					bt_benc_int(&b, pl);
			}
			if (!s->no_pieces) {
				size_t nb;
				char *p;

				np = s->npieces;
				if (np < 0)
					np = s->length > 0 ?
					    (s->length - 1) / pl + 1 : 0;
				nb = s->pieces_bytes >= 0 ?
				    (size_t)s->pieces_bytes : (size_t)np * 20;
				p = malloc(nb + 1);
				for (i = 0; i < (long long)nb; i++)
					p[i] = (char)('A' + i / 20 % 26);
				key("pieces");
				bt_benc_str(&b, p, nb);
				free(p);
			}
			if (s->extra_info)
				raw(s->extra_info);
			bt_benc_end(&b);
		}
	}
	bt_benc_end(&b);
}

static struct spec
base(void)
{
	struct spec s;

	memset(&s, 0, sizeof(s));
	s.npieces = -1;
	s.pieces_bytes = -1;
	s.length = 100000;
	return s;
}

/* Parse b into t (b's buffer is handed over). */
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
refuse(const struct spec *s, const char *msg, const char *what)
{
	struct bt_torrent t;
	struct bt_err e;
	int r;

	build(s);
	r = parse(&t, &e);
	T_OK(r == -1 && e.status == BT_EX_DATAERR && e.off == -1,
	    "refuses %s (status %d)", what, e.status);
	T_STREQ(e.msg, msg, "names the reason for %s", what);
	bt_torrent_free(&t);
}

static int
accepts(const struct spec *s, struct bt_torrent *t)
{
	struct bt_err e;
	int r;

	build(s);
	r = parse(t, &e);
	if (r < 0)
		printf("# refused: %s\n", e.msg);
	return r == 0;
}

/* A multi-file torrent of these files (raw list); total length given. */
static void
refuse_files(const char *files, int64_t total, const char *msg,
    const char *what)
{
	struct spec s = base();

	s.files = files;
	s.length = total;
	refuse(&s, msg, what);
}

static int
accepts_files(const char *files, int64_t total, struct bt_torrent *t)
{
	struct spec s = base();

	s.files = files;
	s.length = total;
	return accepts(&s, t);
}

/* "d6:lengthi1e4:pathl" + components + "ee": one file in a list. */
static char *
file_list(const char *comp, size_t ncomp)
{
	struct bt_buf l = { 0 };
	size_t i;

	bt_benc_list(&l);
	bt_benc_dict(&l);
	bt_benc_cstr(&l, "length");
	bt_benc_int(&l, 1);
	bt_benc_cstr(&l, "path");
	bt_benc_list(&l);
	for (i = 0; i < ncomp; i++)
		bt_benc_cstr(&l, comp);
	bt_benc_end(&l);
	bt_benc_end(&l);
	bt_benc_end(&l);
	bt_buf_add(&l, "", 1);
	return l.p;
}

static void
test_single(void)
{
	static const char info[] = "d6:lengthi1e4:name1:a12:piece lengthi"
	    "16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAe";
	static const char uinfo[] = "d4:name1:a6:lengthi1e12:piece lengthi"
	    "16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAe";
	struct bt_torrent t;
	struct bt_spec_hash { const char *info, *hex, *what; } v[] = {
		{ info, "96a0c2b54d79fdf0f3a567ccae8edb15960951b0",
		    "a fixed info dict" },
		{ uinfo, "6aec7b7143ec9e920fb407401e3d9c8018de13f1",
		    "an info dict with unsorted keys (not re-encoded)" },
	};
	struct bt_err e;
	size_t i;

	for (i = 0; i < 2; i++) {
		uint8_t h[BT_SHA1_LEN];
		char hex[41];
		int r;

		memset(&b, 0, sizeof(b));
		raw("d8:announce4:http4:info");
		raw(v[i].info);
		raw("e");
		r = parse(&t, &e);
		bt_hex(t.info_hash, BT_SHA1_LEN, hex);
		T_STREQ(r == 0 ? hex : e.msg, v[i].hex,
		    "info hash of %s is the known SHA-1", v[i].what);
		bt_sha1(t.raw + t.info_off, t.info_len, h);
		T_OK(r == 0 && t.info_off == 23 && t.info_len ==
		    strlen(v[i].info) && memcmp(h, t.info_hash, 20) == 0,
		    "info hash is bt_sha1 of the raw info range (%s)",
		    v[i].what);
		T_OK(r == 0 && strcmp(t.name, "a") == 0 && !t.multi &&
		    t.nfiles == 1 && strcmp(t.files[0].path, "a") == 0 &&
		    t.files[0].length == 1 && t.files[0].offset == 0 &&
		    t.total_length == 1 && t.npieces == 1 &&
		    t.piece_length == 16384 && memcmp(t.pieces,
		    "AAAAAAAAAAAAAAAAAAAA", 20) == 0 && !t.hybrid,
		    "single-file fields (%s)", v[i].what);
		bt_torrent_free(&t);
	}
}

/* Two "info" keys, or two "length" keys: clients could disagree. */
static void
test_repeated_keys(void)
{
	static const char *v[][2] = {
		{ "d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e"
		    "6:pieces20:AAAAAAAAAAAAAAAAAAAAe4:infod6:lengthi2e"
		    "4:name1:a12:piece lengthi16384e6:pieces20:"
		    "AAAAAAAAAAAAAAAAAAAAee", "a repeated 'info' key" },
		{ "d4:infod6:lengthi1e6:lengthi9e4:name1:a12:piece lengthi"
		    "16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
		    "a repeated 'length' key inside info" },
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct bt_torrent t;
		struct bt_err e;
		int r;

		memset(&b, 0, sizeof(b));
		raw(v[i][0]);
		r = parse(&t, &e);
		T_OK(r == -1 && e.status == BT_EX_DATAERR && e.off > 0,
		    "refuses %s, with its offset", v[i][1]);
		T_STREQ(e.msg, "dictionary key repeated",
		    "names the repeated key for %s", v[i][1]);
		bt_torrent_free(&t);
	}
}

static void
test_multi(void)
{
	struct spec s = base();
	struct bt_torrent t;

	s.name = "top";
	s.files = "ld6:lengthi5e4:pathl3:dir2:f1eed6:lengthi0e4:pathl2:f2ee"
	    "d6:lengthi16380e4:pathl2:f3eee";
	s.length = 16385;
	T_OK(accepts(&s, &t) && t.multi && t.nfiles == 3 &&
	    t.total_length == 16385 && t.npieces == 2,
	    "multi-file torrent: 3 files, 16385 bytes, 2 pieces");
	T_OK(t.nfiles == 3 && strcmp(t.files[0].path, "top/dir/f1") == 0 &&
	    strcmp(t.files[1].path, "top/f2") == 0 &&
	    strcmp(t.files[2].path, "top/f3") == 0,
	    "multi-file paths start with the torrent's name");
	T_OK(t.nfiles == 3 && t.files[0].offset == 0 &&
	    t.files[1].offset == 5 && t.files[2].offset == 5 &&
	    t.files[2].length == 16380, "file offsets in the data");
	T_OK(bt_piece_size(&t, 0) == 16384 && bt_piece_size(&t, 1) == 1,
	    "bt_piece_size: the last piece is short");
	bt_torrent_free(&t);

	s = base();
	s.length = 32768;
	T_OK(accepts(&s, &t) && t.npieces == 2 &&
	    bt_piece_size(&t, 1) == 16384,
	    "bt_piece_size: an exact multiple has a full last piece");
	bt_torrent_free(&t);

	s = base();
	s.name = "CON. \xff\xfe";
	s.length = 1;
	T_OK(accepts(&s, &t) && strcmp(t.name, "CON. \xff\xfe") == 0,
	    "names reserved elsewhere and invalid UTF-8 are kept as bytes");
	bt_torrent_free(&t);
}

static void
test_refusals(void)
{
	struct spec s;
	struct bt_torrent t;
	struct bt_err e;

	memset(&b, 0, sizeof(b));
	raw("li1ee");
	T_OK(parse(&t, &e) == -1 && strcmp(e.msg, "not a torrent: the top "
	    "level is not a dictionary") == 0, "refuses a list at the top");
	bt_torrent_free(&t);
	memset(&b, 0, sizeof(b));
	raw("d4:infoi1e");
	T_OK(parse(&t, &e) == -1 && e.off == 10 &&
	    strcmp(e.msg, "unexpected end of input inside dictionary") == 0,
	    "bencode errors keep their offset");
	bt_torrent_free(&t);

	s = base(); s.no_info = 1;
	refuse(&s, "not a torrent: no 'info' dictionary", "a missing info");
	s = base(); s.info_int = 1;
	refuse(&s, "'info' is not a dictionary", "an info that is no dict");
	s = base(); s.no_name = 1;
	refuse(&s, "missing or invalid 'name'", "a missing name");
	s = base(); s.name_int = 1;
	refuse(&s, "missing or invalid 'name'", "a name that is no string");
	s = base(); s.name = "..";
	refuse(&s, "unsafe 'name': path component '..'", "name '..'");
	s = base(); s.name = "a/b";
	refuse(&s, "unsafe 'name': '/' inside a path component",
	    "a name with '/'");
	s = base(); s.name = "";
	refuse(&s, "unsafe 'name': empty path component", "an empty name");
	s = base(); s.no_pl = 1;
	refuse(&s, "missing or invalid 'piece length'",
	    "a missing piece length");
	s = base(); s.pl_str = 1;
	refuse(&s, "missing or invalid 'piece length'",
	    "a piece length that is a string");
	s = base(); s.pl = -16384; s.npieces = 7;
	refuse(&s, "'piece length' -16384 is not positive",
	    "a negative piece length");
	s = base(); s.pl = 0; s.no_pl = 0;
	{
		/* base() uses 16384 for 0: write the 0 by hand. */
		struct bt_torrent t0;

		memset(&b, 0, sizeof(b));
		raw("d4:infod6:lengthi1e4:name1:n12:piece lengthi0e"
		    "6:pieces20:AAAAAAAAAAAAAAAAAAAAee");
		T_OK(parse(&t0, &e) == -1 &&
		    strcmp(e.msg, "'piece length' 0 is not positive") == 0,
		    "refuses a piece length of 0");
		bt_torrent_free(&t0);
	}
	s = base(); s.pl = BT_MAX_PIECE_LENGTH + 1LL;
	refuse(&s, "'piece length' 67108865 over 67108864 (limit "
	    "BT_MAX_PIECE_LENGTH)", "a piece length over the limit");
	s = base(); s.pl = BT_MAX_PIECE_LENGTH; s.length = 1;
	T_OK(accepts(&s, &t), "accepts a piece length at the limit");
	bt_torrent_free(&t);
	s = base(); s.no_pieces = 1;
	refuse(&s, "missing or invalid 'pieces'", "missing pieces");
	s = base(); s.pieces_bytes = 141;
	refuse(&s, "'pieces' length 141 is not a multiple of 20",
	    "pieces not a multiple of 20");
	s = base(); s.npieces = 8;
	refuse(&s, "8 piece hashes for 100000 bytes in pieces of 16384: "
	    "expected 7", "too few piece hashes");
	s = base(); s.npieces = 9;
	refuse(&s, "9 piece hashes for 100000 bytes in pieces of 16384: "
	    "expected 7", "too many piece hashes");
	s = base(); s.length = -1; s.npieces = 1;
	refuse(&s, "negative 'length'", "a negative length");
	s = base(); s.length_str = 1; s.npieces = 1;
	refuse(&s, "'length' is not an integer", "a length that is a string");
	s = base(); s.length = 0; s.npieces = 0;
	refuse(&s, "the torrent holds no data (total length 0)",
	    "a total length of 0");
	s = base(); s.no_length = 1;
	refuse(&s, "neither 'length' nor 'files' in 'info'",
	    "neither length nor files");
	s = base(); s.extra_info = "5:filesle";
	refuse(&s, "both 'length' and 'files' in 'info'",
	    "both length and files");
	s = base(); s.files = "de"; s.length = 1;
	refuse(&s, "'files' is not a list", "files that is no list");
	refuse_files("le", 1, "'files' is empty", "an empty files list");
	refuse_files("li1ee", 1, "file 0 is not a dictionary",
	    "a file that is no dict");
	refuse_files("ld4:pathl1:aeee", 1,
	    "file 0: missing or invalid 'length'", "a file without length");
	refuse_files("ld6:lengthi-1e4:pathl1:aeee", 1,
	    "file 0: negative length", "a file of negative length");
	refuse_files("ld6:lengthi1eee", 1,
	    "file 0: missing or invalid 'path'", "a file without path");
	refuse_files("ld6:lengthi1e4:pathleee", 1, "file 0: empty 'path'",
	    "an empty path");
	refuse_files("ld6:lengthi1e4:pathli1eeee", 1,
	    "file 0: path component is not a string",
	    "a path component that is no string");
	refuse_files("ld6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:b0:eee", 2,
	    "file 1: unsafe path: empty path component",
	    "an empty path component (naming the file)");
	refuse_files("ld6:lengthi1e4:pathl1:.1:aeee", 1,
	    "file 0: unsafe path: path component '.'", "component '.'");
	refuse_files("ld6:lengthi1e4:pathl2:..6:passwdeee", 1,
	    "file 0: unsafe path: path component '..'", "component '..'");
	refuse_files("ld6:lengthi1e4:pathl4:/etceee", 1,
	    "file 0: unsafe path: '/' inside a path component",
	    "a component containing '/'");
	{
		/* refuse_files takes a C string: NUL needs the builder. */
		struct spec s2 = base();
		static const char f[] = "ld6:lengthi1e4:pathl3:a\0beee";
		struct bt_torrent t2;

		memset(&b, 0, sizeof(b));
		raw("d4:infod5:files");
		bt_buf_add(&b, f, sizeof(f) - 1);
		raw("4:name1:n12:piece lengthi16384e6:pieces20:"
		    "AAAAAAAAAAAAAAAAAAAAee");
		T_OK(parse(&t2, &e) == -1 && strcmp(e.msg, "file 0: unsafe "
		    "path: NUL inside a path component") == 0,
		    "refuses a component with a NUL byte inside");
		bt_torrent_free(&t2);
		(void)s2;
	}
	{
		char c255[256], c256[257];
		char *l;

		memset(c255, 'x', 255);
		c255[255] = '\0';
		memset(c256, 'x', 256);
		c256[256] = '\0';
		l = file_list(c255, 1);
		T_OK(accepts_files(l, 1, &t), "accepts a 255-byte component");
		bt_torrent_free(&t);
		free(l);
		l = file_list(c256, 1);
		refuse_files(l, 1, "file 0: unsafe path: path component "
		    "longer than 255 bytes (limit BT_MAX_NAME_BYTES)",
		    "a 256-byte component");
		free(l);
		l = file_list("d", BT_MAX_PATH_DEPTH);
		T_OK(accepts_files(l, 1, &t), "accepts a path %d deep",
		    BT_MAX_PATH_DEPTH);
		bt_torrent_free(&t);
		free(l);
		l = file_list("d", BT_MAX_PATH_DEPTH + 1);
		refuse_files(l, 1, "file 0: path deeper than 64 (limit "
		    "BT_MAX_PATH_DEPTH)", "a path one level too deep");
		free(l);
	}
	{
		/* "n" + 16 * "/" + 250 bytes = 4017; + "/" + 78 = 4096. */
		struct bt_buf l = { 0 };
		char c250[251], c78[80];
		int i, last;

		memset(c250, 'y', 250);
		c250[250] = '\0';
		for (last = 78; last <= 79; last++) {
			memset(c78, 'z', (size_t)last);
			c78[last] = '\0';
			memset(&l, 0, sizeof(l));
			bt_buf_add(&l, "ld6:lengthi1e4:pathl", 20);
			for (i = 0; i < 16; i++)
				bt_benc_cstr(&l, c250);
			bt_benc_cstr(&l, c78);
			bt_buf_add(&l, "eee", 4);
			if (last == 78) {
				T_OK(accepts_files(l.p, 1, &t) &&
				    strlen(t.files[0].path) == 4096,
				    "accepts a path of 4096 bytes");
				bt_torrent_free(&t);
			} else {
				refuse_files(l.p, 1, "file 0: path longer "
				    "than 4096 bytes (limit BT_MAX_PATH_BYTES)",
				    "a path of 4097 bytes");
			}
			bt_buf_free(&l);
		}
	}
	refuse_files("ld6:lengthi1e4:pathl1:a1:bee"
	    "d6:lengthi1e4:pathl1:cee"
	    "d6:lengthi1e4:pathl1:a1:beee", 3,
	    "two files with the same path 'n/a/b'", "two files, one path");
	refuse_files("ld6:lengthi1e4:pathl1:aee"
	    "d6:lengthi1e4:pathl5:a.txtee"
	    "d6:lengthi1e4:pathl1:a1:beee", 3,
	    "'n/a' is both a file and a folder",
	    "a file that is also a folder (another name sorts between)");
	refuse_files("ld6:lengthi1e4:pathl1:a1:b1:cee"
	    "d6:lengthi1e4:pathl1:a1:a1:aee"
	    "d6:lengthi1e4:pathl1:a1:beee", 3,
	    "'n/a/b' is both a file and a folder",
	    "a deeper file that is also a folder");
	T_OK(accepts_files("ld6:lengthi1e4:pathl1:aee"
	    "d6:lengthi1e4:pathl2:a.ee"
	    "d6:lengthi1e4:pathl2:ab1:aeee", 3, &t),
	    "accepts names that share a prefix but no folder");
	bt_torrent_free(&t);
	refuse_files("ld6:lengthi9223372036854775807e4:pathl1:aee"
	    "d6:lengthi1e4:pathl1:beee", 1,
	    "total length overflows 64 bits", "a total length over 64 bits");
	refuse_files("ld6:lengthi0e4:pathl1:aeee", 0,
	    "the torrent holds no data (total length 0)",
	    "files of total length 0");

	/* v2 and hybrid torrents with real hashes: tests/unit/test_v2.c.
	   Here, a hybrid whose file tree is not its v1 file is refused. */
	s = base(); s.meta_v2 = 1; s.file_tree = 1;
	refuse(&s, "file tree: 'a': no 'pieces root' for 1 bytes",
	    "a file tree whose file has no pieces root");
}

static void
test_optional(void)
{
	struct spec s = base();
	struct bt_torrent t;

	s.extra_root = "13:announce-listll3:u1a3:u1bei7el0:e"
	    "lell3:u3aei1e3:u3bee"
	    "7:comment5:hello10:created by4:me/1"
	    "13:creation datei1700000000e";
	s.extra_info = "7:privatei1e";
	T_OK(accepts(&s, &t) && strcmp(t.announce,
	    "http://127.0.0.1:6969/announce") == 0, "announce");
	T_OK(t.ntiers == 2 && t.tiers[0].n == 2 &&
	    strcmp(t.tiers[0].url[0], "u1a") == 0 &&
	    strcmp(t.tiers[0].url[1], "u1b") == 0 && t.tiers[1].n == 1 &&
	    strcmp(t.tiers[1].url[0], "u3b") == 0,
	    "announce-list tiers, malformed entries and tiers skipped");
	T_OK(t.private == 1, "private");
	T_OK(t.has_date && t.creation_date == 1700000000, "creation date");
	T_OK(t.comment && strcmp(t.comment, "hello") == 0, "comment");
	T_OK(t.created_by && strcmp(t.created_by, "me/1") == 0, "created by");
	T_OK(t.nurl == 0, "no url-list");
	bt_torrent_free(&t);

	s = base();
	T_OK(accepts(&s, &t) && t.ntiers == 0 && t.private == 0 &&
	    !t.has_date && t.comment == NULL && t.created_by == NULL,
	    "optional keys absent");
	bt_torrent_free(&t);

	s = base();
	s.extra_info = "7:privatei0e";
	T_OK(accepts(&s, &t) && t.private == 0, "private 0 is not private");
	bt_torrent_free(&t);

	s = base();
	s.extra_root = "8:url-list12:http://h/x/f";
	T_OK(accepts(&s, &t) && t.nurl == 1 &&
	    strcmp(t.url_list[0], "http://h/x/f") == 0,
	    "url-list as a string");
	bt_torrent_free(&t);
	s = base();
	s.extra_root = "8:url-listl2:w1i1e0:2:w2e";
	T_OK(accepts(&s, &t) && t.nurl == 2 &&
	    strcmp(t.url_list[0], "w1") == 0 &&
	    strcmp(t.url_list[1], "w2") == 0,
	    "url-list as a list, non-strings and empty ones skipped");
	bt_torrent_free(&t);

	s = base();
	s.files = "ld6:lengthi5e4:pathl1:aee"
	    "d4:attr1:p6:lengthi16379e4:pathl4:.pad5:16379ee"
	    "d6:lengthi5e4:pathl1:bee"
	    "d4:attr1:p6:lengthi16379e4:pathl4:.pad5:16379ee"
	    "d6:lengthi1e4:pathl1:cee"
	    "d4:attr2:xh6:lengthi1e4:pathl1:deee";
	s.length = 5 + 16379 + 5 + 16379 + 1 + 1;
	T_OK(accepts(&s, &t) && t.nfiles == 6 && !t.files[0].pad &&
	    t.files[1].pad && t.files[3].pad && !t.files[4].pad &&
	    !t.files[5].pad && t.files[2].offset == 16384 &&
	    t.files[4].offset == 32768,
	    "BEP 47 pad files flagged; pads of one size may share a path");
	bt_torrent_free(&t);
}

static void
test_policy(void)
{
	static const struct {
		const char *p, *why;
	} v[] = {
		{ "", "empty path component" },
		{ ".", "path component '.'" },
		{ "..", "path component '..'" },
		{ "a/b", "'/' inside a path component" },
		{ "...", NULL },
		{ ".hidden", NULL },
		{ "CON", NULL },
		{ "a\\b", NULL },
		{ "trailing.", NULL },
		{ "\xff\xfe", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why = bt_path_component_problem(v[i].p,
		    strlen(v[i].p));

		if (v[i].why == NULL)
			T_OK(why == NULL, "component '%s' is safe", v[i].p);
		else
			T_STREQ(why, v[i].why, "component '%s' refused",
			    v[i].p);
	}
	T_STREQ(bt_path_component_problem("a\0b", 3),
	    "NUL inside a path component", "a component with NUL refused");
}

static void
test_load(void)
{
	struct bt_torrent t;
	struct bt_err e;

	T_OK(bt_torrent_load(&t, "/nonexistent/x.torrent", &e) == -1 &&
	    e.status == BT_EX_NOINPUT,
	    "loading a missing torrent is status 66");
	T_STREQ(e.msg, "No such file or directory", "names the reason");
	bt_torrent_free(&t);
}

int
main(void)
{
	test_single();
	test_repeated_keys();
	test_multi();
	test_refusals();
	test_optional();
	test_policy();
	test_load();
	bt_buf_free(&b);
	return t_done();
}
