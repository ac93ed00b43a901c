/*
 * lib/store: pieces to files under temporary names, BEP 47 pad files
 * (never written, read as zeros), the verify states, and the refusal of a
 * torrent whose file is named as another's temporary name.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bencode.h"
#include "metainfo.h"
#include "sha1.h"
#include "store.h"
#include "fixture.h"
#include "t.h"

/*
 * Piece length 16. Files: t/a (5 bytes), t/.pad/11 (11 bytes, attr "p"),
 * t/b (20 bytes), t/e (0 bytes): 36 bytes, pieces of 16, 16 and 4.
 */
static uint8_t data[36];

/* The torrent; with clash, its file "b" is renamed "a.part". */
static int
mk(struct bt_torrent *t, int clash)
{
	struct bt_buf b = { 0 };
	uint8_t pieces[3 * BT_SHA1_LEN];
	int i;

	for (i = 0; i < 3; i++)
		bt_sha1(data + 16 * i, i < 2 ? 16 : 4,
		    pieces + BT_SHA1_LEN * i);
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "info");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "files");
	bt_benc_list(&b);
	fx_file(&b, NULL, "a", 5, 0);
	fx_file(&b, ".pad", "11", 11, 1);
	fx_file(&b, NULL, clash ? "a.part" : "b", 20, 0);
	fx_file(&b, NULL, "e", 0, 0);
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

static const char *
states(const struct bt_torrent *t, const char *dir)
{
	static char s[8];
	static struct bt_err e;
	uint8_t st[3];
	uint32_t i;

	if (bt_store_verify(t, dir, 2, st, &e) < 0)
		return e.msg;
	for (i = 0; i < t->npieces; i++)
		s[i] = "mbg"[st[i]];
	s[i] = '\0';
	return s;
}

int
main(void)
{
	char dir[] = "/tmp/bt-test-store-XXXXXX";
	uint8_t wrong[16];
	struct bt_torrent t, c;
	struct bt_store s;
	struct bt_err e;
	uint32_t a, b;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memset(data + 5, 0, 11);	/* the pad file's bytes */
	if (mkdtemp(dir) == NULL || mk(&t, 0) < 0)
		return 1;

	bt_file_pieces(&t, 0, &a, &b);
	T_OK(a == 0 && b == 0, "file a lies in piece 0");
	bt_file_pieces(&t, 2, &a, &b);
	T_OK(a == 1 && b == 2, "file b lies in pieces 1-2 (got %u-%u)", a, b);

	T_STREQ(states(&t, dir), "mmm", "an empty folder: every piece missing");
	T_OK(bt_store_open(&s, &t, dir, &e) == 0, "opens the folder");
	memcpy(wrong, data, 16);
	wrong[3] ^= 1;
	T_OK(bt_store_put(&s, 0, wrong, 16, &e) == 0 && s.nbad == 1,
	    "refuses a piece whose SHA-1 differs");
	T_OK(!fx_exists(dir, "t/a.part") && !fx_exists(dir, "t/a"),
	    "writes nothing of a refused piece");
	T_OK(bt_store_put(&s, 1, data + 16, 16, &e) == 1, "writes piece 1");
	T_OK(fx_exists(dir, "t/b.part") && !fx_exists(dir, "t/b"),
	    "a file partly written keeps its temporary name");
	T_STREQ(states(&t, dir), "mgm", "verify finds piece 1 in b.part");
	T_OK(bt_store_put(&s, 0, data, 16, &e) == 1, "writes piece 0");
	T_OK(fx_exists(dir, "t/a") && !fx_exists(dir, "t/a.part"),
	    "a file complete is renamed at once");
	T_OK(!fx_exists(dir, "t/.pad"), "never writes a pad file");
	T_OK(fx_size(dir, "t/a") == 5, "a holds its 5 bytes only");
	T_OK(bt_store_put(&s, 2, data + 32, 4, &e) == 1, "writes piece 2");
	T_OK(fx_exists(dir, "t/b") && fx_size(dir, "t/b") == 20,
	    "b complete under its real name");
	T_OK(!fx_exists(dir, "t/e"), "no zero-length file before the end");
	T_OK(bt_store_finish(&s, &e) == 0, "finishes");
	T_OK(fx_exists(dir, "t/e") && fx_size(dir, "t/e") == 0,
	    "zero-length file created at the end");
	T_OK(s.nwritten == 3 && s.nrenamed == 2, "counts 3 pieces, 2 renames");
	for (i = 0; i < t.nfiles; i++)
		T_OK(bt_store_file_done(&s, i) == !t.files[i].pad,
		    "file %zu done unless a pad", i);
	bt_store_close(&s);
	T_STREQ(states(&t, dir), "ggg", "verify: pad bytes read as zeros");

	/* Resume: b back to its temporary name, only piece 0 sent again. */
	{
		char p1[512], p2[512];

		snprintf(p1, sizeof(p1), "%s/t/b", dir);
		snprintf(p2, sizeof(p2), "%s/t/b.part", dir);
		rename(p1, p2);
	}
	T_OK(bt_store_open(&s, &t, dir, &e) == 0, "reopens");
	T_OK(bt_store_put(&s, 0, data, 16, &e) == 1, "rewrites piece 0");
	T_OK(bt_store_finish(&s, &e) == 0 && fx_exists(dir, "t/b") &&
	    !fx_exists(dir, "t/b.part"),
	    "finish renames a file whose pieces verify on disk");
	bt_store_close(&s);

	T_OK(mk(&c, 1) == 0, "parses a torrent with files a and a.part");
	T_OK(bt_store_open(&s, &c, dir, &e) < 0 &&
	    e.status == BT_EX_DATAERR, "refuses it: %s", e.msg);
	T_STREQ(e.msg, "file 't/a.part' has the temporary name of file 't/a'",
	    "names both files");
	bt_store_close(&s);
	bt_torrent_free(&c);
	bt_torrent_free(&t);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
