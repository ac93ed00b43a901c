/*
 * lib/select: --files lists and --only globs to chosen files and pieces
 * (pad files never chosen, globs with or without the torrent's folder,
 * errors as usage); lib/store with a selection: only chosen files are
 * written, a piece shared with an unchosen neighbour is kept whole in the
 * side file, and a later run choosing the neighbour completes it from
 * there.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bencode.h"
#include "metainfo.h"
#include "select.h"
#include "sha1.h"
#include "store.h"
#include "fixture.h"
#include "t.h"
#include "util.h"
#include "wire.h"

/*
 * Piece length 16. Files: t/a (5), t/.pad/11 (11, pad), t/b (20), t/e (0),
 * t/sub/c.txt (10): 46 bytes, pieces 0-15, 16-31, 32-45. b and c.txt
 * share piece 2.
 */
static uint8_t data[46];

static int
mk(struct bt_torrent *t)
{
	struct bt_buf b = { 0 };
	uint8_t pieces[3 * BT_SHA1_LEN];
	int i;

	for (i = 0; i < 46; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memset(data + 5, 0, 11);	/* the pad file's bytes */
	for (i = 0; i < 3; i++)
		bt_sha1(data + 16 * i, i < 2 ? 16 : 14,
		    pieces + BT_SHA1_LEN * i);
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "info");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "files");
	bt_benc_list(&b);
	fx_file(&b, NULL, "a", 5, 0);
	fx_file(&b, ".pad", "11", 11, 1);
	fx_file(&b, NULL, "b", 20, 0);
	fx_file(&b, NULL, "e", 0, 0);
	fx_file(&b, "sub", "c.txt", 10, 0);
	bt_benc_end(&b);
	bt_benc_cstr(&b, "name");
	bt_benc_cstr(&b, "t");
	bt_benc_cstr(&b, "piece length");
	bt_benc_int(&b, 16);
	bt_benc_cstr(&b, "pieces");
	bt_benc_str(&b, pieces, sizeof(pieces));
	bt_benc_end(&b);
	bt_benc_end(&b);
	return fx_parse(t, &b);
}

/* The set bits of bf[0..n) as "0,2" into out. */
static void
bits(char *out, size_t outsz, const uint8_t *bf, size_t n)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		if (bt_bit_get(bf, (uint32_t)i))
			len += (size_t)snprintf(out + len, outsz - len, "%s%zu",
			    len ? "," : "", i);
}

/* "f:0,2 p:0,1 2/2": chosen files, pieces, counts; or the error. */
static const char *
sel(const struct bt_torrent *t, const char *files, const char *glob,
    const char *glob2)
{
	static char out[600];
	char f[64], p[64];
	struct bt_select s;
	struct bt_err e;

	bt_select_init(&s);
	if (files != NULL)
		bt_select_add(&s, BT_SELECT_FILES, files, &e);
	if (glob != NULL)
		bt_select_add(&s, BT_SELECT_ONLY, glob, &e);
	if (glob2 != NULL)
		bt_select_add(&s, BT_SELECT_ONLY, glob2, &e);
	if (bt_select_resolve(&s, t, &e) < 0) {
		snprintf(out, sizeof(out), "%d %s", e.status, e.msg);
		bt_select_free(&s);
		return out;
	}
	bits(f, sizeof(f), s.file, t->nfiles);
	bits(p, sizeof(p), s.piece, t->npieces);
	snprintf(out, sizeof(out), "f:%s p:%s %zu/%u", f, p, s.nchosen,
	    s.npieces);
	bt_select_free(&s);
	return out;
}

static const char *
states(const struct bt_torrent *t, const char *dir)
{
	static char s[8];
	static struct bt_err e;
	uint8_t st[3];
	uint32_t i;

	if (bt_store_verify(t, dir, 1, st, &e) < 0 ||
	    bt_store_verify_side(t, dir, st, &e) < 0)
		return e.msg;
	for (i = 0; i < t->npieces; i++)
		s[i] = "mbg"[st[i]];
	s[i] = '\0';
	return s;
}

int
main(void)
{
	char dir[] = "/tmp/bt-test-select-XXXXXX", side[128], hex[41];
	struct bt_torrent t;
	struct bt_select s;
	struct bt_store st;
	struct bt_err e;

	T_OK(mk(&t) == 0, "the test torrent parses");
	T_STREQ(sel(&t, "0", NULL, NULL), "f:0 p:0 1/1", "--files 0");
	T_STREQ(sel(&t, "0-4", NULL, NULL), "f:0,2,3,4 p:0,1,2 4/3",
	    "--files 0-4 leaves the pad file out");
	T_STREQ(sel(&t, "3", NULL, NULL), "f:3 p: 1/0",
	    "a zero-length file covers no piece");
	T_STREQ(sel(&t, "1", NULL, NULL), "64 the selection holds no file "
	    "(pad files are never chosen)", "a pad file alone chooses nothing");
	T_STREQ(sel(&t, "5", NULL, NULL), "64 --files 5: '5': out of range 0 "
	    "to 4 (the torrent has 5 files)", "an index past the last file");
	T_STREQ(sel(&t, "3-1", NULL, NULL), "64 --files 3-1: '1': out of "
	    "range 3 to 4 (the torrent has 5 files)", "a backward range");
	T_STREQ(sel(&t, ",", NULL, NULL), "64 --files ',': no file index",
	    "an empty list");
	T_STREQ(sel(&t, NULL, "*.txt", NULL), "f:4 p:2 1/1",
	    "--only '*.txt': '*' matches '/'");
	T_STREQ(sel(&t, NULL, "b", NULL), "f:2 p:1,2 1/2",
	    "a glob matches the path inside the torrent's folder");
	T_STREQ(sel(&t, NULL, "t/b", NULL), "f:2 p:1,2 1/2",
	    "or with the folder, as bt-decode -i lists it");
	T_STREQ(sel(&t, NULL, "*11", NULL), "64 --only '*11': matches no "
	    "file of the torrent", "a glob never chooses a pad file");
	T_STREQ(sel(&t, NULL, "a", "sub/*"), "f:0,4 p:0,2 2/2",
	    "several globs add up");
	T_STREQ(sel(&t, "0", "sub/c.txt", NULL), "f:0,4 p:0,2 2/2",
	    "--files and --only add up");

	/* The store with a selection. */
	if (mkdtemp(dir) == NULL)
		return 1;
	bt_hex(t.info_hash, BT_SHA1_LEN, hex);
	snprintf(side, sizeof(side), ".bt/%s.parts", hex);
	bt_select_init(&s);
	bt_select_add(&s, BT_SELECT_ONLY, "b", &e);
	T_OK(bt_select_resolve(&s, &t, &e) == 0, "--only b");
	T_OK(bt_store_open(&st, &t, dir, &e) == 0, "opens the folder");
	bt_store_select(&st, s.file);
	T_OK(bt_store_put(&st, 0, data, 16, &e) == 1 && st.nskipped == 1,
	    "a piece of unchosen files only is skipped");
	T_OK(bt_store_put(&st, 1, data + 16, 16, &e) == 1 &&
	    bt_store_put(&st, 2, data + 32, 14, &e) == 1, "pieces 1, 2 in");
	T_OK(bt_store_finish(&st, &e) == 0, "finishes");
	T_OK(bt_store_file_done(&st, 2), "b is complete");
	bt_store_close(&st);
	T_OK(!fx_exists(dir, "t/a") && !fx_exists(dir, "t/a.part") &&
	    !fx_exists(dir, "t/e") && !fx_exists(dir, "t/sub"),
	    "unchosen files are not created, nor their folders");
	T_OK(fx_size(dir, side) == 21 + 14 + 1,
	    "the side file holds piece 2 alone, as a piece value");
	{
		char path[512], want[64];
		uint8_t got[64];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, side);
		fd = open(path, O_RDONLY);
		memcpy(want, "d5:indexi2e5:piece14:", 21);
		memcpy(want + 21, data + 32, 14);
		want[35] = 'e';
		T_OK(fd >= 0 && read(fd, got, sizeof(got)) == 36 &&
		    memcmp(got, want, 36) == 0,
		    "d5:indexi2e5:piece14:<piece 2>e");
		if (fd >= 0)
			close(fd);
	}
	T_STREQ(states(&t, dir), "mgg",
	    "piece 2 is good: b's bytes on disk, the rest in the side file");
	bt_select_free(&s);

	/* A later run chooses the neighbour: nothing to fetch for it. */
	bt_select_init(&s);
	bt_select_add(&s, BT_SELECT_ONLY, "*.txt", &e);
	T_OK(bt_select_resolve(&s, &t, &e) == 0, "--only '*.txt'");
	T_OK(bt_store_open(&st, &t, dir, &e) == 0, "reopens");
	bt_store_select(&st, s.file);
	T_OK(bt_store_finish(&st, &e) == 0 && bt_store_file_done(&st, 4),
	    "an empty stream completes c.txt from the side file");
	bt_store_close(&st);
	T_OK(fx_size(dir, "t/sub/c.txt") == 10, "t/sub/c.txt, 10 bytes");
	T_OK(!fx_exists(dir, side) && !fx_exists(dir, ".bt"), "the side file is "
	    "gone: both files of its piece are complete");
	bt_select_free(&s);

	/* The rest, without a selection. */
	T_OK(bt_store_open(&st, &t, dir, &e) == 0, "reopens for all");
	T_OK(bt_store_put(&st, 0, data, 16, &e) == 1, "piece 0 in");
	T_OK(bt_store_finish(&st, &e) == 0, "finishes");
	bt_store_close(&st);
	T_STREQ(states(&t, dir), "ggg", "every piece good");
	T_OK(fx_exists(dir, "t/e"), "the zero-length file is made");

	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		T_OK(system(cmd) == 0, "cleans up");
	}
	bt_torrent_free(&t);
	return t_done();
}
