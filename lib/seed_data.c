/*
 * Reading a torrent's data for the seeder: files opened one component at
 * a time with O_NOFOLLOW from a descriptor of DIR (as lib/store does, so
 * nothing outside DIR is read), NAME or else NAME.part, a small cache of
 * open descriptors, pad files as zeros, and the SHA-1 check of a piece.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phash.h"
#include "seed_int.h"
#include "store.h"

int
bt_sdata_open(struct bt_sdata *d, const struct bt_torrent *t,
    const char *dir, int cache, struct bt_err *e)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->t = t;
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		return bt_errf(e, errno == ENOENT || errno == ENOTDIR ?
		    BT_EX_NOINPUT : BT_EX_IOERR, -1, "%s: %s", dir,
		    strerror(errno));
	d->ncache = cache < 1 ? 1 : (size_t)cache;
	d->fd = malloc(t->nfiles * sizeof(*d->fd));
	d->ring = calloc(d->ncache, sizeof(*d->ring));
	d->buf = malloc(BT_SEED_CHECK_BUF);
	if (d->fd == NULL || d->ring == NULL || d->buf == NULL) {
		bt_sdata_close(d);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	for (i = 0; i < t->nfiles; i++)
		d->fd[i] = -1;
	for (i = 0; i < d->ncache; i++)
		d->ring[i] = (size_t)-1;
	return 0;
}

void
bt_sdata_close(struct bt_sdata *d)
{
	size_t i;

	if (d->fd != NULL)
		for (i = 0; i < d->t->nfiles; i++)
			if (d->fd[i] >= 0)
				close(d->fd[i]);
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d->fd);
	free(d->ring);
	free(d->buf);
	memset(d, 0, sizeof(*d));
	d->dirfd = -1;
}

/* Open path under root, never following a link; NAME, else NAME.part. */
static int
open_under(int root, const char *path)
{
	char comp[BT_MAX_NAME_BYTES + sizeof(BT_STORE_PART)];
	const char *p = path, *slash;
	int cur = root, fd, err;
	struct stat sb;

	for (;;) {
		size_t n;

		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > BT_MAX_NAME_BYTES) {
			fd = -1;
			errno = ENOENT;
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (slash == NULL) {
			fd = openat(cur, comp, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
			if (fd < 0 && errno == ENOENT) {
				memcpy(comp + n, BT_STORE_PART,
				    sizeof(BT_STORE_PART));
				fd = openat(cur, comp, O_RDONLY | O_NOFOLLOW |
				    O_CLOEXEC);
			}
			if (fd >= 0 && (fstat(fd, &sb) < 0 ||
			    !S_ISREG(sb.st_mode))) {
				close(fd);
				fd = -1;
				errno = EINVAL;
			}
			break;
		}
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0)
			break;
		if (cur != root)
			close(cur);
		cur = fd;
		p = slash + 1;
	}
	err = errno;
	if (cur != root)
		close(cur);
	errno = err;
	return fd;
}

static int
file_fd(struct bt_sdata *d, size_t i)
{
	size_t old;
	int fd;

	if (d->fd[i] >= 0)
		return d->fd[i];
	if ((fd = open_under(d->dirfd, d->t->files[i].path)) < 0)
		return -1;
	/* The oldest opened descriptor makes room (a FIFO ring). */
	old = d->ring[d->ringpos];
	if (old != (size_t)-1 && d->fd[old] >= 0) {
		close(d->fd[old]);
		d->fd[old] = -1;
	}
	d->ring[d->ringpos] = i;
	d->ringpos = (d->ringpos + 1) % d->ncache;
	d->fd[i] = fd;
	return fd;
}

/* The file holding byte off of the data: files are in offset order. */
static size_t
file_at(const struct bt_torrent *t, int64_t off)
{
	size_t lo = 0, hi = t->nfiles;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->files[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int
bt_sdata_read(struct bt_sdata *d, uint32_t index, uint32_t begin,
    size_t len, uint8_t *out)
{
	const struct bt_torrent *t = d->t;
	int64_t off = (int64_t)index * t->piece_length + begin;
	size_t i = file_at(t, off);

	while (len > 0) {
		const struct bt_file *f;
		int64_t in, n;
		ssize_t r;
		int fd;

		if (i >= t->nfiles)
			return BT_SDATA_MISSING;
		f = &t->files[i];
		if (off >= f->offset + f->length) {
			i++;
			continue;
		}
		in = off - f->offset;
		n = f->offset + f->length - off;
		if ((size_t)n > len)
			n = (int64_t)len;
		if (f->pad) {
			memset(out, 0, (size_t)n);
		} else {
			if ((fd = file_fd(d, i)) < 0)
				return errno == EMFILE || errno == ENFILE ?
				    BT_SDATA_AGAIN : BT_SDATA_MISSING;
			r = pread(fd, out, (size_t)n, in);
			if (r < 0)
				return errno == EINTR || errno == EAGAIN ?
				    BT_SDATA_AGAIN : BT_SDATA_IOERR;
			if (r == 0)
				return BT_SDATA_MISSING;	/* short */
			n = r;
		}
		out += n;
		off += n;
		len -= (size_t)n;
	}
	return BT_SDATA_OK;
}

int
bt_sdata_check(struct bt_sdata *d, uint32_t index)
{
	int64_t size = bt_piece_size(d->t, index), done = 0;
	struct bt_phash h;
	int r;

	if (bt_phash_init(&h, d->t, index) < 0)
		return BT_SDATA_AGAIN;
	while (done < size) {
		size_t n = (size_t)(size - done);

		if (n > BT_SEED_CHECK_BUF)
			n = BT_SEED_CHECK_BUF;
		r = bt_sdata_read(d, index, (uint32_t)done, n, d->buf);
		if (r != BT_SDATA_OK) {
			bt_phash_final(&h);
			return r;
		}
		bt_phash_update(&h, d->buf, n);
		done += (int64_t)n;
	}
	r = bt_phash_final(&h);
	return r < 0 ? BT_SDATA_AGAIN : r ? BT_SDATA_OK : BT_SDATA_BAD;
}
