/*
 * lib/metainfo: bt_torrent_parse on any bytes (it owns a malloc'd copy,
 * as bt_torrent_load gives it). An accepted torrent must keep every
 * promise later stages rely on: the info hash is the SHA-1 of the info
 * bytes, the piece table lies inside the input and matches the total
 * length, files follow each other without gaps, and every path is made
 * of safe components under the torrent's name.
 */
#include <string.h>

#include "btlimits.h"
#include "fuzz.h"
#include "metainfo.h"

static void
check_path(const struct bt_torrent *t, const struct bt_file *f)
{
	const char *p = f->path, *slash;
	size_t nlen = strlen(t->name);

	/* A v2-only single file is followed by its pad, NAME/.pad/N. */
	if (!t->multi && !(t->v2only && f->pad)) {
		FUZZ_ASSERT(strcmp(p, t->name) == 0, "single-file path");
		return;
	}
	if (!t->multi)
		return;
	FUZZ_ASSERT(strncmp(p, t->name, nlen) == 0 && p[nlen] == '/',
	    "path does not start with the name");
	FUZZ_ASSERT(strlen(p) <= BT_MAX_PATH_BYTES, "path too long");
	for (;;) {
		size_t n;

		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		FUZZ_ASSERT(bt_path_component_problem(p, n) == NULL,
		    "unsafe component in '%s'", f->path);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bt_torrent t;
	struct bt_err e;
	uint8_t h[BT_SHA1_LEN];
	int64_t off, sum;
	char *copy;
	size_t i, j;
	uint32_t k;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (bt_torrent_parse(&t, copy, size, &e) < 0) {
		FUZZ_ASSERT(e.status == BT_EX_DATAERR ||
		    e.status == BT_EX_SOFTWARE, "status %d", e.status);
		bt_torrent_free(&t);
		return 0;
	}
	FUZZ_ASSERT(t.raw == copy && t.rawlen == size, "raw");
	FUZZ_ASSERT(t.info_off + t.info_len <= size, "info past input");
	/* v2-only: the SHA-256, cut to 20 bytes (BEP 52). */
	if (t.v2only) {
		uint8_t h2[BT_SHA256_LEN];

		bt_sha256(t.raw + t.info_off, t.info_len, h2);
		FUZZ_ASSERT(memcmp(h2, t.info_hash, BT_SHA1_LEN) == 0 &&
		    memcmp(h2, t.info_hash_v2, BT_SHA256_LEN) == 0,
		    "v2 info hash");
	} else {
		bt_sha1(t.raw + t.info_off, t.info_len, h);
		FUZZ_ASSERT(memcmp(h, t.info_hash, BT_SHA1_LEN) == 0,
		    "info hash");
	}
	FUZZ_ASSERT(t.raw[t.info_off] == 'd' &&
	    t.raw[t.info_off + t.info_len - 1] == 'e', "info bytes");
	FUZZ_ASSERT(t.npieces > 0 && t.npieces <= BT_MAX_PIECES, "npieces");
	FUZZ_ASSERT(t.v2only ? t.pieces == NULL && t.v2hashes != NULL :
	    (const char *)t.pieces >= t.raw &&
	    (const char *)t.pieces + (size_t)t.npieces * BT_SHA1_LEN <=
	    t.raw + size, "pieces past input");
	FUZZ_ASSERT(t.piece_length > 0 &&
	    t.piece_length <= BT_MAX_PIECE_LENGTH, "piece length");
	FUZZ_ASSERT(t.total_length > 0, "total length");
	FUZZ_ASSERT((t.total_length - 1) / t.piece_length + 1 == t.npieces,
	    "piece count");
	FUZZ_ASSERT(bt_path_component_problem(t.name, strlen(t.name)) ==
	    NULL, "unsafe name");
	FUZZ_ASSERT(t.nfiles > 0 && (t.multi || t.nfiles == 1 ||
	    (t.v2only && t.nfiles == 2 && t.files[1].pad)), "nfiles");
	for (off = 0, i = 0; i < t.nfiles; i++) {
		FUZZ_ASSERT(t.files[i].offset == off &&
		    t.files[i].length >= 0, "file %zu offset", i);
		off += t.files[i].length;
		check_path(&t, &t.files[i]);
	}
	FUZZ_ASSERT(off == t.total_length, "files sum to %lld, total %lld",
	    (long long)off, (long long)t.total_length);
	for (sum = 0, k = 0; k < t.npieces; k++) {
		int64_t ps = bt_piece_size(&t, k);

		FUZZ_ASSERT(ps > 0 && ps <= t.piece_length, "piece %u size",
		    k);
		sum += ps;
	}
	FUZZ_ASSERT(sum == t.total_length, "pieces sum");
	for (i = 0; i < t.ntiers; i++) {
		FUZZ_ASSERT(t.tiers[i].n > 0, "empty tier");
		for (j = 0; j < t.tiers[i].n; j++)
			FUZZ_ASSERT(t.tiers[i].url[j] != NULL, "tier url");
	}
	for (i = 0; i < t.nurl; i++)
		FUZZ_ASSERT(t.url_list[i] != NULL, "url-list");
	bt_torrent_free(&t);
	return 0;
}
