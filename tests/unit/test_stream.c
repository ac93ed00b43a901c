/*
 * lib/stream: a metainfo and pieces written with bt_stream_write_* and
 * read back with bt_pstream_*; the checks on index, length and a second
 * torrent; concatenated streams of one torrent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bencode.h"
#include "stream.h"
#include "t.h"

/* Piece length 16, 40 bytes: pieces of 16, 16 and 8 bytes. */
static char tor[512];
static size_t torlen;
static char other[512];
static size_t otherlen;
static char data[40];

static size_t
mk(char *out, const char *name)
{
	struct bt_buf b = { 0 };
	char pieces[60];
	size_t n;

	memset(pieces, 'h', sizeof(pieces));
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "info");
	bt_benc_dict(&b);
	bt_benc_cstr(&b, "length");
	bt_benc_int(&b, 40);
	bt_benc_cstr(&b, "name");
	bt_benc_cstr(&b, name);
	bt_benc_cstr(&b, "piece length");
	bt_benc_int(&b, 16);
	bt_benc_cstr(&b, "pieces");
	bt_benc_str(&b, pieces, sizeof(pieces));
	bt_benc_end(&b);
	bt_benc_end(&b);
	memcpy(out, b.p, b.len);
	n = b.len;
	bt_buf_free(&b);
	return n;
}

static int
memfd(void)
{
	int fd = memfd_create("bt-test-stream", 0);

	if (fd < 0)
		abort();
	return fd;
}

static void
rewind_fd(int fd)
{
	lseek(fd, 0, SEEK_SET);
}

static void
test_header(void)
{
	char h[BT_STREAM_HDR_MAX];
	size_t n = bt_stream_header(h, 7, 16384);

	T_OK(n == 24 && memcmp(h, "d5:indexi7e5:piece16384:", 24) == 0,
	    "header: exact bytes");
	n = bt_stream_header(h, UINT32_MAX, SIZE_MAX);
	T_OK(n < BT_STREAM_HDR_MAX, "header: the longest fits (%zu)", n);
}

static void
test_roundtrip(void)
{
	struct bt_pstream s;
	struct bt_err e;
	uint32_t idx[4];
	const uint8_t *p;
	size_t len[4], i;
	int fd = memfd(), r[5], same = 1;
	static const uint32_t order[3] = { 2, 0, 1 };

	T_OK(bt_stream_write_all(fd, tor, torlen, &e) == 0,
	    "write the metainfo");
	for (i = 0; i < 3; i++)
		bt_stream_write_piece(fd, order[i], data + 16 * order[i],
		    order[i] == 2 ? 8 : 16, &e);
	rewind_fd(fd);
	T_OK(bt_pstream_open(&s, fd, &e) == 0 && s.t.npieces == 3 &&
	    strcmp(s.t.name, "t") == 0, "open: reads the torrent");
	for (i = 0; i < 3; i++) {
		r[i] = bt_pstream_next(&s, &idx[i], &p, &len[i], &e);
		if (r[i] != 1 || idx[i] != order[i] || memcmp(p, data + 16 *
		    order[i], len[i]) != 0)
			same = 0;
	}
	T_OK(same && len[0] == 8 && len[1] == 16 && len[2] == 16,
	    "next: three pieces back, in the order written, with their "
	    "bytes");
	T_OK(bt_pstream_next(&s, &idx[3], &p, &len[3], &e) == 0 &&
	    s.npiece == 3, "next: 0 at the end, 3 pieces counted");
	bt_pstream_close(&s);
	close(fd);

	/* A .torrent file alone is an empty piece stream. */
	fd = memfd();
	bt_stream_write_all(fd, tor, torlen, &e);
	rewind_fd(fd);
	T_OK(bt_pstream_open(&s, fd, &e) == 0 &&
	    bt_pstream_next(&s, &idx[0], &p, &len[0], &e) == 0,
	    "a .torrent alone is an empty piece stream");
	bt_pstream_close(&s);
	close(fd);

	/* Two streams of one torrent, one after the other. */
	fd = memfd();
	bt_stream_write_all(fd, tor, torlen, &e);
	bt_stream_write_piece(fd, 0, data, 16, &e);
	bt_stream_write_all(fd, tor, torlen, &e);
	bt_stream_write_piece(fd, 1, data + 16, 16, &e);
	rewind_fd(fd);
	r[0] = bt_pstream_open(&s, fd, &e);
	r[1] = bt_pstream_next(&s, &idx[0], &p, &len[0], &e);
	r[2] = bt_pstream_next(&s, &idx[1], &p, &len[1], &e);
	r[3] = bt_pstream_next(&s, &idx[2], &p, &len[2], &e);
	T_OK(r[0] == 0 && r[1] == 1 && r[2] == 1 && r[3] == 0 &&
	    idx[0] == 0 && idx[1] == 1,
	    "concatenated streams of one torrent: the repeat is skipped");
	bt_pstream_close(&s);
	close(fd);
}

/* Write the torrent then raw bytes; open and read to the first error. */
static void
bad_stream(const void *tail, size_t n, const char *msg, long long off,
    const char *what)
{
	struct bt_pstream s;
	struct bt_err e;
	uint32_t idx;
	const uint8_t *p;
	size_t len;
	int fd = memfd(), r;

	bt_stream_write_all(fd, tor, torlen, &e);
	bt_stream_write_all(fd, tail, n, &e);
	rewind_fd(fd);
	bt_err_clear(&e);
	r = bt_pstream_open(&s, fd, &e);
	while (r == 0 && (r = bt_pstream_next(&s, &idx, &p, &len, &e)) == 1)
		r = 0;
	T_OK(r == -1 && e.status == BT_EX_DATAERR && e.off == off,
	    "refuses %s at byte %lld (got %lld)", what, off, e.off);
	T_STREQ(e.msg, msg, "names the reason for %s", what);
	bt_pstream_close(&s);
	close(fd);
}

static void
test_refusals(void)
{
	long long t = (long long)torlen;
	int fd;

	bad_stream("d5:indexi3e5:piece8:12345678e", 29,
	    "piece index 3 out of range 0-2", t, "an index past the end");
	bad_stream("d5:indexi-1e5:piece8:12345678e", 30,
	    "piece index -1 out of range 0-2", t, "a negative index");
	bad_stream("d5:indexi0e5:piece8:12345678e", 29,
	    "piece 0 has 8 bytes, expected 16", t, "a short piece");
	bad_stream("d5:indexi2e5:piece9:123456789e", 30,
	    "piece 2 has 9 bytes, expected 8", t, "a long last piece");
	bad_stream("d5:indexi0e5:piece8:12345678ed5:indexi2e5:piece16:"
	    "1234567812345678e", 29 + 39,
	    "piece 0 has 8 bytes, expected 16", t,
	    "the first bad piece, not later ones");
	bad_stream("d5:indexi2e5:piece8:12345678ed5:indexi9e5:piece8:"
	    "12345678e", 58, "piece index 9 out of range 0-2", t + 29,
	    "a bad piece after a good one, at its own offset");
	bad_stream("i1e", 3, "piece stream value is not a dictionary", t,
	    "a value that is no dict");
	bad_stream("d1:xi1ee", 8, "piece value without 'index' and 'piece'",
	    t, "a dict without index and piece");
	bad_stream("d5:indexi0e5:piecei1ee", 22,
	    "piece value without 'index' and 'piece'", t,
	    "a piece that is no string");
	bad_stream("d5:indexi2e5:piece8:1234", 24,
	    "stream ends inside a value", t + 24, "a truncated piece");
	bad_stream(other, otherlen, "stream holds a second, different "
	    "torrent", t, "a second, different torrent");

	{
		struct bt_pstream s;
		struct bt_err e;

		fd = memfd();
		bt_err_clear(&e);
		T_OK(bt_pstream_open(&s, fd, &e) == -1 &&
		    e.status == BT_EX_DATAERR && strcmp(e.msg,
		    "empty piece stream: no torrent at its start") == 0,
		    "refuses an empty stream");
		bt_pstream_close(&s);
		close(fd);

		fd = memfd();
		bt_stream_write_all(fd, "d5:indexi0e5:piece1:xe", 22, &e);
		rewind_fd(fd);
		T_OK(bt_pstream_open(&s, fd, &e) == -1 &&
		    strcmp(e.msg, "not a piece stream: it does not start "
		    "with a torrent") == 0,
		    "refuses a stream that starts with a piece");
		bt_pstream_close(&s);
		close(fd);

		fd = memfd();
		bt_stream_write_all(fd, "d4:infod4:name1:xee", 19, &e);
		rewind_fd(fd);
		T_OK(bt_pstream_open(&s, fd, &e) == -1 &&
		    strcmp(e.msg, "torrent at the start of the stream: "
		    "missing or invalid 'piece length'") == 0,
		    "refuses a stream that starts with a bad torrent (%s)",
		    e.msg);
		bt_pstream_close(&s);
		close(fd);
	}
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 1);
	torlen = mk(tor, "t");
	otherlen = mk(other, "u");
	test_header();
	test_roundtrip();
	test_refusals();
	return t_done();
}
