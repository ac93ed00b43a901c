/*
 * Small torrents built in memory for the unit tests of lib/ that read
 * and write data (store, seed_data, held, select), and the checks of a
 * folder they share.
 */
#ifndef BT_FIXTURE_H
#define BT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bencode.h"
#include "metainfo.h"

/* One entry of "files": DIR/NAME (DIR may be NULL), a pad file if pad. */
static inline void
fx_file(struct bt_buf *b, const char *dir, const char *name, int64_t len,
    int pad)
{
	bt_benc_dict(b);
	if (pad) {
		bt_benc_cstr(b, "attr");
		bt_benc_cstr(b, "p");
	}
	bt_benc_cstr(b, "length");
	bt_benc_int(b, len);
	bt_benc_cstr(b, "path");
	bt_benc_list(b);
	if (dir != NULL)
		bt_benc_cstr(b, dir);
	bt_benc_cstr(b, name);
	bt_benc_end(b);
	bt_benc_end(b);
}

/* The bencoded torrent in b parsed into t (b is freed); as parse. */
static inline int
fx_parse(struct bt_torrent *t, struct bt_buf *b)
{
	struct bt_err e;
	char *raw;
	int r;

	if (b->oom || (raw = malloc(b->len)) == NULL)
		abort();
	memcpy(raw, b->p, b->len);
	if ((r = bt_torrent_parse(t, raw, b->len, &e)) < 0)
		printf("# parse: %s\n", e.msg);
	bt_buf_free(b);
	return r;
}

static inline int
fx_exists(const char *dir, const char *p)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, p);
	return lstat(path, &st) == 0;
}

/* Size of DIR/P, or -1 when absent. */
static inline long long
fx_size(const char *dir, const char *p)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, p);
	return lstat(path, &st) == 0 ? (long long)st.st_size : -1;
}

#endif
