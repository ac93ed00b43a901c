/*
 * The piece stream (bt(7)): bencoded values one after another on a pipe.
 * First the torrent's metainfo dict itself, then one dict per piece,
 *
 *	d5:indexi<N>e5:piece<LEN>:<LEN bytes>e
 *
 * so a .torrent file is a valid, empty piece stream, and streams of the
 * same torrent may be concatenated (a repeated metainfo of the same info
 * hash is skipped; another torrent's is an error).
 */
#ifndef BT_STREAM_H
#define BT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "metainfo.h"

/* Longest header bt_stream_header writes. */
#define BT_STREAM_HDR_MAX	64

/*
 * The bytes that go before a piece's data; the single byte "e" goes
 * after it. Returns the header's length. Writers send header, data and
 * trailer with one writev(2) so the data is never copied.
 */
size_t bt_stream_header(char *buf, uint32_t index, size_t len);

/* Write the metainfo then nothing else: the start of a stream. */
int bt_stream_write_all(int fd, const void *p, size_t n, struct bt_err *e);
/* Write one piece value (header, data, trailer) to fd. */
int bt_stream_write_piece(int fd, uint32_t index, const void *data,
    size_t len, struct bt_err *e);

struct bt_pstream {
	struct bt_bseq seq;
	struct bt_torrent t;	/* from the stream's first value */
	uint64_t npiece;	/* pieces read so far */
};

/*
 * Start reading a piece stream from fd: reads and parses its metainfo.
 * Errors: BT_EX_DATAERR for a stream that does not start with a torrent.
 * Call bt_pstream_close afterwards whether or not it succeeded. Error
 * offsets (e->off) are bytes from the start of the stream.
 */
int bt_pstream_open(struct bt_pstream *s, int fd, struct bt_err *e);
/*
 * The next piece: 1 with *index, *data, *len set (valid until the next
 * call), 0 at the end, -1 on error. The index is checked against the
 * torrent and the length against that piece's size; the hash is NOT
 * checked here (that is bt-verify's job, and every consumer's choice).
 */
int bt_pstream_next(struct bt_pstream *s, uint32_t *index,
    const uint8_t **data, size_t *len, struct bt_err *e);
void bt_pstream_close(struct bt_pstream *s);

#endif
