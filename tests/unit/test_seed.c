/*
 * lib/seed's data reader: blocks across file boundaries, BEP 47 pad files
 * as zeros, NAME.part when NAME is absent, symbolic links refused, a
 * descriptor cache of one, and the SHA-1 check of a piece.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bencode.h"
#include "held.h"
#include "metainfo.h"
#include "seed_int.h"
#include "sha1.h"
#include "fixture.h"
#include "t.h"

/*
 * Piece length 16. Files: t/a (5 bytes), t/.pad/11 (11 bytes, a pad),
 * t/b (20 bytes), t/e (0 bytes): pieces of 16, 16 and 4 bytes.
 */
static uint8_t data[36];

static int
mk(struct bt_torrent *t)
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
	fx_file(&b, NULL, "b", 20, 0);
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

static void
put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0)
		abort();
}

static void
rm(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

int
main(void)
{
	char dir[] = "/tmp/bt-test-seed-XXXXXX", sub[600], path[700];
	struct bt_torrent t;
	struct bt_sdata d;
	struct bt_held h;
	struct bt_err e;
	uint8_t buf[36], bad[20], mem[16];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memset(data + 5, 0, 11);	/* the pad file's bytes */
	if (mkdtemp(dir) == NULL || mk(&t) < 0)
		return 1;
	snprintf(sub, sizeof(sub), "%s/t", dir);
	mkdir(sub, 0755);
	put(sub, "a", data, 5);
	put(sub, "b", data + 16, 20);

	T_OK(bt_sdata_open(&d, &t, dir, 1, &e) == 0, "opens the folder");
	memset(buf, 0xff, sizeof(buf));
	T_OK(bt_sdata_read(&d, 0, 0, 16, buf) == BT_SDATA_OK &&
	    memcmp(buf, data, 16) == 0,
	    "reads a piece across a file and a pad file (as zeros)");
	T_OK(bt_sdata_read(&d, 1, 3, 13, buf) == BT_SDATA_OK &&
	    memcmp(buf, data + 19, 13) == 0, "reads a block inside a piece");
	T_OK(bt_sdata_read(&d, 0, 2, 5, buf) == BT_SDATA_OK &&
	    memcmp(buf, data + 2, 5) == 0 &&
	    bt_sdata_read(&d, 2, 0, 4, buf) == BT_SDATA_OK &&
	    memcmp(buf, data + 32, 4) == 0,
	    "a cache of one descriptor still reads every file");
	T_OK(bt_sdata_check(&d, 0) == BT_SDATA_OK &&
	    bt_sdata_check(&d, 1) == BT_SDATA_OK &&
	    bt_sdata_check(&d, 2) == BT_SDATA_OK, "every piece checks good");
	bt_sdata_close(&d);

	memcpy(bad, data + 16, 20);
	bad[17] ^= 1;
	put(sub, "b", bad, 20);
	T_OK(bt_sdata_open(&d, &t, dir, 4, &e) == 0 &&
	    bt_sdata_check(&d, 1) == BT_SDATA_OK &&
	    bt_sdata_check(&d, 2) == BT_SDATA_BAD,
	    "a changed byte fails only its piece");
	bt_sdata_close(&d);

	rm(sub, "b");
	put(sub, "b.part", data + 16, 20);
	T_OK(bt_sdata_open(&d, &t, dir, 4, &e) == 0 &&
	    bt_sdata_check(&d, 2) == BT_SDATA_OK,
	    "reads NAME.part when NAME is absent");
	bt_sdata_close(&d);

	rm(sub, "b.part");
	put(dir, "outside", data + 16, 20);
	snprintf(path, sizeof(path), "%s/t/b", dir);
	if (symlink("../outside", path) < 0)
		return 1;
	T_OK(bt_sdata_open(&d, &t, dir, 4, &e) == 0 &&
	    bt_sdata_read(&d, 2, 0, 4, buf) == BT_SDATA_MISSING,
	    "never follows a symbolic link");
	bt_sdata_close(&d);

	rm(sub, "b");
	put(sub, "b", data + 16, 16);
	T_OK(bt_sdata_open(&d, &t, dir, 4, &e) == 0 &&
	    bt_sdata_read(&d, 1, 0, 16, buf) == BT_SDATA_OK &&
	    bt_sdata_read(&d, 2, 0, 4, buf) == BT_SDATA_MISSING,
	    "a short file: the pieces past its end are missing");
	bt_sdata_close(&d);

	/* lib/held over the folder: checked at the first read. */
	rm(sub, "b");
	put(sub, "b", data + 16, 20);
	T_OK(bt_held_open(&h, &t, dir, 4, 32, &e) == 0 && h.n == 0 &&
	    h.ncache == 2, "held: nothing at the start, a cache of 2 pieces");
	T_OK(bt_held_read(&h, 1, 0, 4, buf) == BT_SDATA_MISSING,
	    "held: a piece not held is not read");
	bt_held_set(&h, 1, 0);
	bt_held_set(&h, 2, 0);
	T_OK(h.n == 2 && bt_held_has(&h, 1) && !bt_held_has(&h, 0) &&
	    !bt_held_has(&h, 3), "held: pieces set are held");
	put(sub, "b", bad, 20);
	T_OK(bt_held_read(&h, 2, 0, 4, buf) == BT_SDATA_BAD,
	    "held: an unchecked piece whose bytes changed reads as bad");
	put(sub, "b", data + 16, 20);
	T_OK(bt_held_read(&h, 2, 0, 4, buf) == BT_SDATA_OK &&
	    memcmp(buf, data + 32, 4) == 0, "held: checked, then read");
	put(sub, "b", bad, 20);
	T_OK(bt_held_read(&h, 2, 0, 4, buf) == BT_SDATA_OK,
	    "held: a checked piece is not checked again");
	memset(mem, 0xab, sizeof(mem));
	T_OK(bt_held_keep(&h, 0, mem, 16) == 1 && h.n == 3 &&
	    bt_held_keep(&h, 0, mem, 16) == 0,
	    "held: a piece verified in the run is held, once");
	T_OK(bt_held_read(&h, 0, 4, 8, buf) == BT_SDATA_OK &&
	    memcmp(buf, mem, 8) == 0, "held: ...and read from memory");
	bt_held_keep(&h, 1, mem, 16);
	bt_held_keep(&h, 2, mem, 4);
	T_OK(bt_held_read(&h, 0, 0, 16, buf) == BT_SDATA_OK &&
	    memcmp(buf, data, 16) == 0,
	    "held: evicted from the cache of 2, it is read from the folder");
	bt_held_drop(&h, 2);
	T_OK(h.n == 2 && !bt_held_has(&h, 2) &&
	    bt_held_read(&h, 2, 0, 4, buf) == BT_SDATA_MISSING,
	    "held: a dropped piece is not read, even from memory");
	bt_held_close(&h);
	T_OK(bt_held_open(&h, &t, NULL, 4, 0, &e) == 0, "held: no folder");
	bt_held_keep(&h, 0, mem, 16);
	T_OK(h.n == 1 && bt_held_read(&h, 0, 0, 4, buf) == BT_SDATA_MISSING,
	    "held: no cache and no folder: held but not readable");
	bt_held_close(&h);
	put(sub, "b", data + 16, 20);

	T_OK(bt_sdata_open(&d, &t, "/nonexistent/bt", 4, &e) < 0 &&
	    e.status == BT_EX_NOINPUT, "a missing folder is BT_EX_NOINPUT");

	rm(sub, "a");
	rm(sub, "b");
	rmdir(sub);
	rm(dir, "outside");
	rmdir(dir);
	bt_torrent_free(&t);
	return t_done();
}
