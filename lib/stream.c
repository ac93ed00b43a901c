#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "btlimits.h"
#include "stream.h"

size_t
bt_stream_header(char *buf, uint32_t index, size_t len)
{
	int n = snprintf(buf, BT_STREAM_HDR_MAX, "d5:indexi%ue5:piece%zu:",
	    index, len);

	return (size_t)n;
}

static int
writev_all(int fd, struct iovec *iov, int n, struct bt_err *e)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return bt_errf(e, BT_EX_IOERR, -1, "write: %s",
			    strerror(errno));
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int
bt_stream_write_all(int fd, const void *p, size_t n, struct bt_err *e)
{
	struct iovec v = { (void *)(uintptr_t)p, n };

	return writev_all(fd, &v, 1, e);
}

int
bt_stream_write_piece(int fd, uint32_t index, const void *data, size_t len,
    struct bt_err *e)
{
	char hdr[BT_STREAM_HDR_MAX];
	struct iovec v[3];

	v[0].iov_base = hdr;
	v[0].iov_len = bt_stream_header(hdr, index, len);
	v[1].iov_base = (void *)(uintptr_t)data;
	v[1].iov_len = len;
	v[2].iov_base = (void *)"e";
	v[2].iov_len = 1;
	return writev_all(fd, v, 3, e);
}

int
bt_pstream_open(struct bt_pstream *s, int fd, struct bt_err *e)
{
	const struct bt_bnode *root;
	char *copy;
	int r;

	memset(s, 0, sizeof(*s));
	bt_bseq_init(&s->seq, fd, BT_SEQ_MAX_VALUE);
	s->seq.limit = "BT_SEQ_MAX_VALUE";
	r = bt_bseq_next(&s->seq, e);
	if (r == 0)
		return bt_errf(e, BT_EX_DATAERR, 0,
		    "empty piece stream: no torrent at its start");
	if (r < 0)
		return -1;
	root = &s->seq.doc.node[0];
	if (root->type != BT_BDICT ||
	    bt_bdict_get(&s->seq.doc, root, "info") == NULL)
		return bt_errf(e, BT_EX_DATAERR, 0,
		    "not a piece stream: it does not start with a torrent");
	if ((copy = malloc(root->len + 1)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	memcpy(copy, s->seq.doc.buf, root->len);
	copy[root->len] = '\0';
	if (bt_torrent_parse(&s->t, copy, root->len, e) < 0) {
		bt_err_prefix(e, "torrent at the start of the stream");
		return -1;
	}
	/* From here on a value is one piece at most. */
	s->seq.max = (size_t)s->t.piece_length + BT_STREAM_HDR_MAX + 1;
	if (s->seq.max < (size_t)BT_SEQ_MAX_VALUE)
		s->seq.max = BT_SEQ_MAX_VALUE;
	return 0;
}

int
bt_pstream_next(struct bt_pstream *s, uint32_t *index, const uint8_t **data,
    size_t *len, struct bt_err *e)
{
	for (;;) {
		const struct bt_bdoc *d = &s->seq.doc;
		const struct bt_bnode *root, *in, *pc;
		long long at;
		int r = bt_bseq_next(&s->seq, e);

		if (r <= 0)
			return r;
		at = (long long)s->seq.consumed;
		root = &d->node[0];
		if (root->type != BT_BDICT)
			return bt_errf(e, BT_EX_DATAERR, at,
			    "piece stream value is not a dictionary");
		if (bt_bdict_get(d, root, "info") != NULL) {
			/* A concatenated stream: same torrent only. */
			const struct bt_bnode *info = bt_bdict_get(d, root,
			    "info");

			/* The same info bytes (v1 and v2 alike). */
			if (info->len != s->t.info_len ||
			    memcmp(bt_braw(d, info), s->t.raw + s->t.info_off,
			    info->len) != 0)
				return bt_errf(e, BT_EX_DATAERR, at,
				    "stream holds a second, different torrent");
			continue;
		}
		in = bt_bdict_get_type(d, root, "index", BT_BINT);
		pc = bt_bdict_get_type(d, root, "piece", BT_BSTR);
		if (in == NULL || pc == NULL)
			return bt_errf(e, BT_EX_DATAERR, at,
			    "piece value without 'index' and 'piece'");
		if (in->v.i < 0 || in->v.i >= (int64_t)s->t.npieces)
			return bt_errf(e, BT_EX_DATAERR, at,
			    "piece index %lld out of range 0-%u",
			    (long long)in->v.i, s->t.npieces - 1);
		if ((int64_t)pc->v.s.len != bt_piece_size(&s->t,
		    (uint32_t)in->v.i))
			return bt_errf(e, BT_EX_DATAERR, at,
			    "piece %lld has %u bytes, expected %lld",
			    (long long)in->v.i, pc->v.s.len,
			    (long long)bt_piece_size(&s->t,
			    (uint32_t)in->v.i));
		*index = (uint32_t)in->v.i;
		*data = (const uint8_t *)bt_bstr(d, pc);
		*len = pc->v.s.len;
		s->npiece++;
		return 1;
	}
}

void
bt_pstream_close(struct bt_pstream *s)
{
	bt_bseq_free(&s->seq);
	bt_torrent_free(&s->t);
}
