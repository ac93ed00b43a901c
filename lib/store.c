#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btlimits.h"
#include "sha1.h"
#include "phash.h"
#include "store.h"
#include "stream.h"
#include "util.h"
#include "wire.h"

/* What open_parent and open_data return when the data is not there. */
#define MISSING	(-2)

static const char *
esc(const char *p, char *buf, size_t n)
{
	return bt_escape(p, strlen(p), buf, n);
}

static int
ioerr(struct bt_err *e, const char *path, const char *what, int err)
{
	char b[512];

	return bt_errf(e, BT_EX_IOERR, -1, "%s: %s%s%s", esc(path, b,
	    sizeof(b)), what ? what : "", what ? ": " : "", strerror(err));
}

/*
 * A file longer than the torrent says is not the torrent's file, or not
 * only: its extra bytes may be someone's data, so it is never truncated,
 * never written into and never given its real name; the user decides.
 */
static int
too_long(struct bt_err *e, const struct bt_file *f, int temp, int64_t size)
{
	char b[512];

	return bt_errf(e, BT_EX_IOERR, -1, "%s%s: longer than the torrent "
	    "says (%lld bytes, not %lld)", esc(f->path, b, sizeof(b)),
	    temp ? BT_STORE_PART : "", (long long)size,
	    (long long)f->length);
}

/*
 * The folder holding path, walked from root one component at a time,
 * never through a symbolic link; folders are made when create is set.
 * Returns a new descriptor with *base at the last component, MISSING when
 * a folder is absent (and create is not set), or -1.
 */
static int
open_parent(int root, const char *path, int create, const char **base,
    struct bt_err *e)
{
	char comp[BT_MAX_NAME_BYTES + 1], b1[512], b2[512];
	const char *p = path, *slash;
	int fd;

	if ((fd = fcntl(root, F_DUPFD_CLOEXEC, 0)) < 0)
		return ioerr(e, path, NULL, errno);
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);
		int next, again = create;

		if (n > BT_MAX_NAME_BYTES) {
			close(fd);
			return ioerr(e, path, NULL, ENAMETOOLONG);
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		for (;;) {
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0 || errno != ENOENT || !again)
				break;
			again = 0;
			if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
				int err = errno;

				close(fd);
				return ioerr(e, path, "cannot make a folder",
				    err);
			}
		}
		if (next < 0) {
			int err = errno;

			close(fd);
			if (err == ENOENT)
				return MISSING;
			if (err == ELOOP || err == ENOTDIR)
				return bt_errf(e, BT_EX_IOERR, -1, "%s: '%s' "
				    "is a symbolic link or not a folder: not "
				    "followed", esc(path, b1, sizeof(b1)),
				    esc(comp, b2, sizeof(b2)));
			return ioerr(e, path, NULL, err);
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

/*
 * The temporary name of a file whose last component is base: "base.part",
 * or, when that would pass the file system's NAME_MAX, the first 240
 * bytes of base, '~', 8 hex digits of base's SHA-1, and ".part": always
 * the same for the same name, and at most 254 bytes.
 */
#define PART_KEEP	240
static void
part_name(const char *base, char *out, size_t outsz)
{
	size_t n = strlen(base);
	uint8_t h[BT_SHA1_LEN];
	char hex[2 * BT_SHA1_LEN + 1];

	if (n + strlen(BT_STORE_PART) <= BT_MAX_NAME_BYTES) {
		snprintf(out, outsz, "%s%s", base, BT_STORE_PART);
		return;
	}
	bt_sha1(base, n, h);
	bt_hex(h, BT_SHA1_LEN, hex);
	snprintf(out, outsz, "%.*s~%.8s%s", PART_KEEP, base, hex,
	    BT_STORE_PART);
}

/*
 * Open file i's data: NAME if present, else NAME.part (created when create
 * is set). Sets *temp and *size. Returns the descriptor, MISSING, or -1.
 */
static int
open_data(int root, const struct bt_file *f, int create, int writable,
    int *temp, int64_t *size, struct bt_err *e)
{
	char part[BT_MAX_NAME_BYTES + sizeof(BT_STORE_PART)], b[512];
	const char *base;
	int pfd, fd, fl, err;
	struct stat st;

	pfd = open_parent(root, f->path, create, &base, e);
	if (pfd < 0)
		return pfd;
	fl = (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC;
	*temp = 0;
	fd = openat(pfd, base, fl);
	if (fd < 0 && errno == ENOENT) {
		*temp = 1;
		part_name(base, part, sizeof(part));
		fd = openat(pfd, part, fl | (create ? O_CREAT : 0), 0666);
	}
	err = errno;
	close(pfd);
	if (fd < 0) {
		errno = err;	/* for verify_range: a fault or not there */
		if (err == ENOENT)
			return MISSING;
		if (err == ELOOP)
			return bt_errf(e, BT_EX_IOERR, -1, "%s%s: is a "
			    "symbolic link: not followed", esc(f->path, b,
			    sizeof(b)), *temp ? BT_STORE_PART : "");
		return ioerr(e, f->path, NULL, err);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bt_errf(e, BT_EX_IOERR, -1, "%s%s: not a regular file",
		    esc(f->path, b, sizeof(b)), *temp ? BT_STORE_PART : "");
	}
	*size = st.st_size;
	return fd;
}

static ssize_t
pread_all(int fd, void *buf, size_t n, int64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got,
		    (off_t)(off + (int64_t)got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int
pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)buf + done, n - done,
		    (off_t)(off + (int64_t)done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* The first file holding the byte at off (zero-length files skipped). */
static size_t
file_at(const struct bt_torrent *t, int64_t off)
{
	size_t lo = 0, hi = t->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bt_file *f = &t->files[mid];

		if (f->offset + f->length <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
bt_file_pieces(const struct bt_torrent *t, size_t i, uint32_t *first,
    uint32_t *last)
{
	const struct bt_file *f = &t->files[i];

	*first = (uint32_t)(f->offset / t->piece_length);
	*last = f->length > 0 ?
	    (uint32_t)((f->offset + f->length - 1) / t->piece_length) :
	    *first;
}

static int
pathcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No file may be named as another's temporary name. */
static int
check_part_names(const struct bt_torrent *t, struct bt_err *e)
{
	char **v, key[BT_MAX_PATH_BYTES + sizeof(BT_STORE_PART)];
	char b1[512], b2[512];
	size_t i;
	int r = 0;

	if (t->nfiles < 2)
		return 0;
	if ((v = malloc(t->nfiles * sizeof(*v))) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (i = 0; i < t->nfiles; i++)
		v[i] = t->files[i].path;
	qsort(v, t->nfiles, sizeof(*v), pathcmp);
	for (i = 0; i < t->nfiles && r == 0; i++) {
		const char *slash = strrchr(v[i], '/');
		size_t dl = slash ? (size_t)(slash - v[i]) + 1 : 0;
		char *k = key, **hit;

		memcpy(key, v[i], dl);
		part_name(v[i] + dl, key + dl, sizeof(key) - dl);
		hit = bsearch(&k, v, t->nfiles, sizeof(*v), pathcmp);
		if (hit != NULL)
			r = bt_errf(e, BT_EX_DATAERR, -1, "file '%s' has the "
			    "temporary name of file '%s'", esc(*hit, b1,
			    sizeof(b1)), esc(v[i], b2, sizeof(b2)));
	}
	free(v);
	return r;
}

static int
open_dir(const char *dir, int create, struct bt_err *e)
{
	int fd;

	if (create && mkdir(dir, 0777) < 0 && errno != EEXIST)
		return ioerr(e, dir, "cannot make the folder", errno);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !create)
		return MISSING;
	if (fd < 0)
		return bt_errf(e, create ? BT_EX_IOERR : BT_EX_NOINPUT, -1,
		    "%s", strerror(errno));
	return fd;
}

/*
 * Data files kept open at once: BT_STORE_MAX_OPEN, or fewer under a low
 * RLIMIT_NOFILE, so that a small "ulimit -n" slows the work down (files
 * are closed and opened again) instead of failing it with EMFILE. Half
 * the descriptors left after a few for stdio, folders and threads.
 */
static size_t
ring_cap(void)
{
	struct rlimit rl;
	size_t cap = BT_STORE_MAX_OPEN;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		cap = rl.rlim_cur > 16 + 2 * cap ? cap :
		    rl.rlim_cur > 18 ? (size_t)(rl.rlim_cur - 16) / 2 : 1;
	return cap;
}

/* File i is one bt-assemble writes (the selection, or every file). */
static int
chosen(const struct bt_store *s, size_t i)
{
	return s->chosen == NULL || bt_bit_get(s->chosen, (uint32_t)i);
}

/*
 * The side file, DIR/.bt/<info hash>.parts, walked to without following
 * a symbolic link; .bt is made when create is set. Returns the descriptor
 * (read-write), MISSING, or -1.
 */
static int
side_open(int root, const struct bt_torrent *t, int create,
    struct bt_err *e)
{
	char path[sizeof(BT_STORE_SIDE_DIR) + 2 * BT_SHA1_LEN +
	    sizeof(BT_STORE_SIDE_EXT) + 1], hex[2 * BT_SHA1_LEN + 1];
	const char *base;
	int pfd, fd, err;

	bt_hex(t->info_hash, BT_SHA1_LEN, hex);
	snprintf(path, sizeof(path), "%s/%s%s", BT_STORE_SIDE_DIR, hex,
	    BT_STORE_SIDE_EXT);
	if ((pfd = open_parent(root, path, create, &base, e)) < 0)
		return pfd;
	fd = openat(pfd, base, (create ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_NOFOLLOW | O_CLOEXEC, 0666);
	err = errno;
	close(pfd);
	if (fd < 0 && err == ENOENT && !create)
		return MISSING;
	if (fd < 0)
		return ioerr(e, path, err == ELOOP ? "is a symbolic link: not "
		    "followed" : NULL, err);
	return fd;
}

/* The number at *p, up to the byte stop; -1 if none or too long. */
static long long
side_num(const char **p, const char *end, char stop)
{
	long long v = 0;
	int n = 0;

	while (*p < end && **p >= '0' && **p <= '9' && n < 18) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || *p >= end || **p != stop)
		return -1;
	(*p)++;
	return v;
}

/*
 * Read the side file's records (piece values of the piece stream, one
 * after another): off[index] is where a piece's bytes start. Reading stops
 * at the first record that is cut or malformed (a write cut by a crash);
 * *end is where the whole records end. The bytes are not checked here:
 * every use checks their SHA-1.
 */
static int
side_scan(int fd, const struct bt_torrent *t, int64_t *off, int64_t *end,
    struct bt_err *e)
{
	char hdr[BT_STREAM_HDR_MAX], c;
	int64_t pos = 0, size;
	struct stat st;
	uint32_t i;

	for (i = 0; i < t->npieces; i++)
		off[i] = -1;
	if (fstat(fd, &st) < 0)
		return ioerr(e, BT_STORE_SIDE_DIR, NULL, errno);
	size = st.st_size;
	for (;;) {
		const char *p = hdr, *he;
		long long idx, len;
		ssize_t r = pread_all(fd, hdr, sizeof(hdr), pos);

		if (r < 0)
			return ioerr(e, BT_STORE_SIDE_DIR, "read", errno);
		he = hdr + r;
		if (r < 9 || memcmp(hdr, "d5:indexi", 9) != 0)
			break;
		p += 9;
		if ((idx = side_num(&p, he, 'e')) < 0 || he - p < 7 ||
		    memcmp(p, "5:piece", 7) != 0)
			break;
		p += 7;
		if ((len = side_num(&p, he, ':')) < 0 ||
		    idx >= (long long)t->npieces ||
		    len != bt_piece_size(t, (uint32_t)idx))
			break;
		if (pos + (p - hdr) + len + 1 > size ||
		    pread_all(fd, &c, 1, pos + (p - hdr) + len) != 1 ||
		    c != 'e')
			break;
		off[idx] = pos + (p - hdr);
		pos += (p - hdr) + len + 1;
	}
	*end = pos;
	return 0;
}

/* Keep the whole of a verified piece in the side file. */
static int
side_add(struct bt_store *s, uint32_t index, const void *data, size_t len,
    struct bt_err *e)
{
	char hdr[BT_STREAM_HDR_MAX];
	struct stat st;

	if (s->sidefd < 0) {
		if ((s->sidefd = side_open(s->dirfd, s->t, 1, e)) < 0)
			return -1;
		/* A record cut by a crash is dropped, not built upon. */
		if (fstat(s->sidefd, &st) < 0 || (st.st_size > s->side_end &&
		    ftruncate(s->sidefd, (off_t)s->side_end) < 0))
			return ioerr(e, BT_STORE_SIDE_DIR, NULL, errno);
	}
	if (lseek(s->sidefd, (off_t)s->side_end, SEEK_SET) < 0)
		return ioerr(e, BT_STORE_SIDE_DIR, NULL, errno);
	if (bt_stream_write_piece(s->sidefd, index, data, len, e) < 0) {
		bt_err_prefix(e, "%s", BT_STORE_SIDE_DIR);
		return -1;
	}
	s->side[index] = s->side_end + (int64_t)bt_stream_header(hdr, index,
	    len);
	s->side_end = s->side[index] + (int64_t)len + 1;
	return 0;
}

int
bt_store_open(struct bt_store *s, const struct bt_torrent *t,
    const char *dir, struct bt_err *e)
{
	size_t i;

	int fd;

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->dirfd = -1;
	s->sidefd = -1;
	if (check_part_names(t, e) < 0)
		return -1;
	s->good = calloc(t->npieces, 1);
	s->side = calloc(t->npieces, sizeof(*s->side));
	s->f = calloc(t->nfiles, sizeof(*s->f));
	s->ringcap = ring_cap();
	s->ring = calloc(s->ringcap, sizeof(*s->ring));
	s->buf = malloc((size_t)t->piece_length);
	if (s->good == NULL || s->f == NULL || s->ring == NULL ||
	    s->buf == NULL || s->side == NULL) {
		bt_store_close(s);
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	}
	for (i = 0; i < t->nfiles; i++) {
		const struct bt_file *f = &t->files[i];
		uint32_t a, b;

		s->f[i].fd = -1;
		if (f->pad || f->length == 0)
			continue;
		bt_file_pieces(t, i, &a, &b);
		s->f[i].pending = b - a + 1;
	}
	if ((s->dirfd = open_dir(dir, 1, e)) < 0) {
		bt_store_close(s);
		return -1;
	}
	for (i = 0; i < t->npieces; i++)
		s->side[i] = -1;
	if ((fd = side_open(s->dirfd, t, 0, e)) == MISSING)
		return 0;
	if (fd < 0 || side_scan(fd, t, s->side, &s->side_end, e) < 0) {
		if (fd >= 0)
			close(fd);
		bt_store_close(s);
		return -1;
	}
	close(fd);
	return 0;
}

void
bt_store_select(struct bt_store *s, const uint8_t *sel)
{
	s->chosen = sel;
}

static void
close_fd(struct bt_store *s, size_t i)
{
	if (s->f[i].fd >= 0)
		close(s->f[i].fd);
	s->f[i].fd = -1;
}

/*
 * File i is about to be written but was found under its real name (an
 * earlier run's, or another client's, data): it takes its temporary name
 * until it is complete again, so that a crash in the middle of the write
 * never leaves a damaged file under the name of a complete one.
 */
static int
adopt(struct bt_store *s, size_t i, struct bt_err *e)
{
	const struct bt_file *f = &s->t->files[i];
	char part[BT_MAX_NAME_BYTES + sizeof(BT_STORE_PART)], b[512];
	const char *base;
	struct stat st;
	int pfd, r, err;

	if ((pfd = open_parent(s->dirfd, f->path, 0, &base, e)) < 0)
		return pfd == MISSING ? ioerr(e, f->path, NULL, ENOENT) : -1;
	part_name(base, part, sizeof(part));
	r = renameat2(pfd, base, pfd, part, RENAME_NOREPLACE);
	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* A file system without RENAME_NOREPLACE. */
		if (fstatat(pfd, part, &st, AT_SYMLINK_NOFOLLOW) == 0)
			errno = EEXIST;
		else
			r = renameat(pfd, base, pfd, part);
	}
	/* The new name reaches the disk before the first write does. */
	if (r == 0 && fsync(pfd) < 0)
		r = -1;
	err = errno;
	close(pfd);
	if (r == 0)
		return 0;
	if (err == EEXIST)
		return bt_errf(e, BT_EX_IOERR, -1, "%s: found under its real "
		    "name and its temporary name at once: remove one",
		    esc(f->path, b, sizeof(b)));
	return ioerr(e, f->path, "rename", err);
}

/* File i's descriptor, from the cache or opened; MISSING or -1. */
static int
get_fd(struct bt_store *s, size_t i, int create, struct bt_err *e)
{
	struct bt_store_file *sf = &s->f[i];
	const struct bt_file *f = &s->t->files[i];
	int64_t size;
	int fd, temp;

	if (sf->fd >= 0 && (sf->writable || !create))
		return sf->fd;
	if (sf->fd >= 0)
		close_fd(s, i);		/* reopen read-write */
	fd = open_data(s->dirfd, f, create, create, &temp, &size, e);
	if (fd < 0)
		return fd;
	if (size > f->length) {
		close(fd);
		return too_long(e, f, temp, size);
	}
	if (create && !temp) {
		if (adopt(s, i, e) < 0) {
			close(fd);
			return -1;
		}
		temp = 1;
	}
	if (s->nring == s->ringcap) {
		size_t old = s->ring[s->ringpos];

		if (old != i)
			close_fd(s, old);
		s->ring[s->ringpos] = i;
		s->ringpos = (s->ringpos + 1) % s->ringcap;
	} else
		s->ring[s->nring++] = i;
	sf->fd = fd;
	sf->writable = create;
	sf->temp = temp;
	return fd;
}

/* Every piece of file i is in and verified: give it its real name. */
static int
complete_file(struct bt_store *s, size_t i, struct bt_err *e)
{
	const struct bt_file *f = &s->t->files[i];
	char part[BT_MAX_NAME_BYTES + sizeof(BT_STORE_PART)];
	const char *base;
	int fd, pfd, r;

	if ((fd = get_fd(s, i, 0, e)) == MISSING)	/* removed meanwhile */
		return ioerr(e, f->path, NULL, ENOENT);
	if (fd < 0)
		return -1;
	if (!s->f[i].temp)
		return 0;
	/* The data reaches the disk before the name says it is complete. */
	if (fdatasync(fd) < 0)
		return ioerr(e, f->path, "fdatasync", errno);
	if ((pfd = open_parent(s->dirfd, f->path, 0, &base, e)) < 0)
		return pfd == MISSING ? ioerr(e, f->path, NULL, ENOENT) : -1;
	part_name(base, part, sizeof(part));
	r = renameat(pfd, part, pfd, base);
	if (r < 0) {
		int err = errno;

		close(pfd);
		return ioerr(e, f->path, "rename", err);
	}
	close(pfd);
	s->f[i].temp = 0;
	s->nrenamed++;
	return 0;
}

static int
mark_good(struct bt_store *s, uint32_t index, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	int64_t off = (int64_t)index * t->piece_length;
	int64_t end = off + bt_piece_size(t, index);
	size_t i;

	if (s->good[index])
		return 0;
	s->good[index] = 1;
	for (i = file_at(t, off); i < t->nfiles &&
	    t->files[i].offset < end; i++) {
		if (t->files[i].pad || t->files[i].length == 0)
			continue;
		if (--s->f[i].pending == 0 && chosen(s, i) &&
		    complete_file(s, i, e) < 0)
			return -1;
	}
	return 0;
}

int
bt_store_put(struct bt_store *s, uint32_t index, const void *data,
    size_t len, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	int64_t off = (int64_t)index * t->piece_length, end;
	size_t i;
	int mine = 0, other = 0;

	if (index >= t->npieces || (int64_t)len != bt_piece_size(t, index))
		return bt_errf(e, BT_EX_DATAERR, -1, "piece %u: wrong index "
		    "or length", index);
	if (bt_piece_ok(t, index, data, len) != 1) {
		s->nbad++;
		return 0;
	}
	end = off + (int64_t)len;
	for (i = file_at(t, off); i < t->nfiles &&
	    t->files[i].offset < end; i++) {
		const struct bt_file *f = &t->files[i];
		int64_t a = off > f->offset ? off : f->offset;
		int64_t b = end < f->offset + f->length ? end :
		    f->offset + f->length;
		int fd;

		if (f->pad || f->length == 0)
			continue;
		if (!chosen(s, i)) {
			other = 1;
			continue;
		}
		mine = 1;
		if ((fd = get_fd(s, i, 1, e)) < 0)
			return fd == MISSING ? ioerr(e, f->path, NULL,
			    ENOENT) : -1;
		if (pwrite_all(fd, (const char *)data + (a - off),
		    (size_t)(b - a), a - f->offset) < 0)
			return ioerr(e, f->path, "write", errno);
	}
	if (!mine && other) {
		s->nskipped++;
		return 1;
	}
	/* A neighbour's bytes are kept aside, not written into its file. */
	if (other && s->side[index] < 0 && side_add(s, index, data, len,
	    e) < 0)
		return -1;
	s->nwritten++;
	if (mark_good(s, index, e) < 0)
		return -1;
	return 1;
}

/* Read piece index from disk into s->buf: 1, or 0 when not all there. */
static int
read_piece(struct bt_store *s, uint32_t index, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	int64_t off = (int64_t)index * t->piece_length;
	int64_t end = off + bt_piece_size(t, index);
	size_t i;

	for (i = file_at(t, off); i < t->nfiles &&
	    t->files[i].offset < end; i++) {
		const struct bt_file *f = &t->files[i];
		int64_t a = off > f->offset ? off : f->offset;
		int64_t b = end < f->offset + f->length ? end :
		    f->offset + f->length;
		ssize_t r;
		int fd;

		if (f->length == 0)
			continue;
		if (f->pad) {
			memset(s->buf + (a - off), 0, (size_t)(b - a));
			continue;
		}
		if ((fd = get_fd(s, i, 0, e)) == MISSING)
			return 0;
		if (fd < 0)
			return -1;
		r = pread_all(fd, s->buf + (a - off), (size_t)(b - a),
		    a - f->offset);
		if (r < 0)
			return ioerr(e, f->path, "read", errno);
		if (r < b - a)
			return 0;
	}
	return 1;
}

/*
 * The pieces kept in the side file by earlier runs go into the chosen
 * files that lack them (not into a file already under its real name,
 * which is complete), once their SHA-1 is checked again.
 */
static int
side_apply(struct bt_store *s, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	uint32_t p;
	int fd = -1, r = 0;

	for (p = 0; p < t->npieces && r == 0; p++) {
		int64_t off = (int64_t)p * t->piece_length;
		int64_t end = off + bt_piece_size(t, p);
		size_t i, first = file_at(t, off);
		int need = 0;

		if (s->side[p] < 0 || s->good[p])
			continue;
		for (i = first; i < t->nfiles && t->files[i].offset < end;
		    i++)
			if (!t->files[i].pad && t->files[i].length > 0 &&
			    chosen(s, i) && !bt_store_file_done(s, i))
				need = 1;
		if (!need)
			continue;
		if (fd < 0 && (fd = side_open(s->dirfd, t, 0, e)) < 0) {
			/* Removed meanwhile: the pieces are fetched again. */
			if (fd == MISSING)
				return 0;
			return -1;
		}
		if (pread_all(fd, s->buf, (size_t)(end - off), s->side[p]) !=
		    end - off)
			continue;
		if (bt_piece_ok(t, p, s->buf, (size_t)(end - off)) != 1)
			continue;
		for (i = first; i < t->nfiles && t->files[i].offset < end &&
		    r == 0; i++) {
			const struct bt_file *f = &t->files[i];
			int64_t a = off > f->offset ? off : f->offset;
			int64_t b = end < f->offset + f->length ? end :
			    f->offset + f->length;
			int wfd;

			if (f->pad || f->length == 0 || !chosen(s, i) ||
			    bt_store_file_done(s, i))
				continue;
			if ((wfd = get_fd(s, i, 1, e)) < 0)
				r = wfd == MISSING ? ioerr(e, f->path, NULL,
				    ENOENT) : -1;
			else if (pwrite_all(wfd, s->buf + (a - off),
			    (size_t)(b - a), a - f->offset) < 0)
				r = ioerr(e, f->path, "write", errno);
		}
		if (r == 0)
			r = mark_good(s, p, e);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * The side file is removed once no record in it is needed: every file
 * each of its pieces touches is complete under its real name.
 */
static int
side_prune(struct bt_store *s, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	char path[sizeof(BT_STORE_SIDE_DIR) + 2 * BT_SHA1_LEN +
	    sizeof(BT_STORE_SIDE_EXT) + 1], hex[2 * BT_SHA1_LEN + 1];
	const char *base;
	uint32_t p;
	size_t i;
	int pfd, any = 0;

	for (p = 0; p < t->npieces; p++) {
		int64_t off = (int64_t)p * t->piece_length;
		int64_t end = off + bt_piece_size(t, p);

		if (s->side[p] < 0)
			continue;
		any = 1;
		for (i = file_at(t, off); i < t->nfiles &&
		    t->files[i].offset < end; i++)
			if (!t->files[i].pad && t->files[i].length > 0 &&
			    !bt_store_file_done(s, i))
				return 0;
	}
	if (!any)
		return 0;
	bt_hex(t->info_hash, BT_SHA1_LEN, hex);
	snprintf(path, sizeof(path), "%s/%s%s", BT_STORE_SIDE_DIR, hex,
	    BT_STORE_SIDE_EXT);
	if ((pfd = open_parent(s->dirfd, path, 0, &base, e)) < 0)
		return pfd == MISSING ? 0 : -1;
	if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT) {
		int err = errno;

		close(pfd);
		return ioerr(e, path, "remove", err);
	}
	/* .bt goes too when it is left empty (bt-get keeps torrents in it). */
	(void)unlinkat(s->dirfd, BT_STORE_SIDE_DIR, AT_REMOVEDIR);
	close(pfd);
	if (s->sidefd >= 0)
		close(s->sidefd);
	s->sidefd = -1;
	for (p = 0; p < t->npieces; p++)
		s->side[p] = -1;
	s->side_end = 0;
	return 0;
}

int
bt_store_finish(struct bt_store *s, struct bt_err *e)
{
	const struct bt_torrent *t = s->t;
	size_t i;

	if (side_apply(s, e) < 0)
		return -1;
	for (i = 0; i < t->nfiles; i++) {
		const struct bt_file *f = &t->files[i];
		uint32_t a, b, p;
		struct stat st;
		int fd;

		if (f->pad || f->length == 0 || s->f[i].pending == 0 ||
		    !chosen(s, i))
			continue;
		if ((fd = get_fd(s, i, 0, e)) == MISSING)
			continue;
		if (fd < 0)
			return -1;
		if (!s->f[i].temp)
			continue;
		if (fstat(fd, &st) < 0)
			return ioerr(e, f->path, NULL, errno);
		if (st.st_size < f->length)
			continue;
		bt_file_pieces(t, i, &a, &b);
		for (p = a; p <= b && s->f[i].pending > 0; p++) {
			int r;

			if (s->good[p])
				continue;
			if ((r = read_piece(s, p, e)) < 0)
				return -1;
			if (r == 0)
				break;
			if (bt_piece_ok(t, p, s->buf,
			    (size_t)bt_piece_size(t, p)) != 1)
				break;
			if (mark_good(s, p, e) < 0)
				return -1;
		}
	}
	/* Zero-length files hold no piece: they are complete at once. */
	for (i = 0; i < t->nfiles; i++) {
		const struct bt_file *f = &t->files[i];
		const char *base;
		struct stat st;
		char b[512];
		int pfd, fd;

		if (f->pad || f->length != 0 || !chosen(s, i))
			continue;
		if ((pfd = open_parent(s->dirfd, f->path, 1, &base, e)) < 0)
			return -1;
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, 0666);
		if (fd < 0) {
			int err = errno;

			close(pfd);
			if (err == ELOOP)
				return bt_errf(e, BT_EX_IOERR, -1, "%s: is a "
				    "symbolic link: not followed", esc(f->path,
				    b, sizeof(b)));
			return ioerr(e, f->path, NULL, err);
		}
		close(pfd);
		if (fstat(fd, &st) < 0) {
			int err = errno;

			close(fd);
			return ioerr(e, f->path, NULL, err);
		}
		close(fd);
		if (!S_ISREG(st.st_mode))
			return bt_errf(e, BT_EX_IOERR, -1, "%s: not a regular "
			    "file", esc(f->path, b, sizeof(b)));
		if (st.st_size > 0)
			return too_long(e, f, 0, st.st_size);
	}
	return side_prune(s, e);
}

int
bt_store_file_done(struct bt_store *s, size_t i)
{
	const struct bt_file *f = &s->t->files[i];
	const char *base;
	struct stat st;
	int pfd, r;

	if (f->pad)
		return 0;
	if (s->f[i].fd >= 0 && f->length > 0)
		return !s->f[i].temp;
	if ((pfd = open_parent(s->dirfd, f->path, 0, &base, NULL)) < 0)
		return 0;
	r = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
	close(pfd);
	return r;
}

void
bt_store_close(struct bt_store *s)
{
	size_t i;

	if (s->f != NULL)
		for (i = 0; i < s->t->nfiles; i++)
			close_fd(s, i);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->sidefd >= 0)
		close(s->sidefd);
	free(s->side);
	free(s->good);
	free(s->f);
	free(s->ring);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->sidefd = -1;
}

/* bt_store_verify: each thread checks pieces [first, end). */
struct vjob {
	const struct bt_torrent *t;
	int root;
	uint32_t first, end;
	uint8_t *state;
	int failed;
	struct bt_err err;
};

/*
 * Holes are found in file-system blocks, and pieces seldom start on a
 * block in a multi-file torrent: a piece whose part of a file is a hole
 * but for the blocks it shares with its neighbours was never written.
 */
#define HOLE_BLOCK	4096

/*
 * Mark missing the pieces whose part in [lo, hi) meets [a, b); with hole
 * set, only those whose part lies inside it (block-aligned from the file's
 * start fbase): a piece half written is bad, not missing.
 */
static void
mark_missing(const struct bt_torrent *t, uint8_t *state, int64_t lo,
    int64_t hi, int64_t a, int64_t b, int hole, int64_t fbase)
{
	int64_t pl = t->piece_length;
	uint32_t p;

	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	if (a >= b)
		return;
	for (p = (uint32_t)(a / pl); (int64_t)p * pl < b; p++) {
		int64_t ps = (int64_t)p * pl, pe = ps + pl, as, ae;

		if (ps < lo)
			ps = lo;
		if (pe > hi)
			pe = hi;
		as = fbase + ((ps - fbase + HOLE_BLOCK - 1) / HOLE_BLOCK) *
		    HOLE_BLOCK;
		ae = fbase + ((pe - fbase) / HOLE_BLOCK) * HOLE_BLOCK;
		if (as < ae) {
			ps = as;
			pe = ae;
		}
		if (!hole || (ps >= a && pe <= b))
			state[p] = BT_PIECE_MISSING;
	}
}

/* Mark the pieces of [lo, hi) (file bytes at rel) that lie in holes. */
static void
mark_holes(const struct bt_torrent *t, uint8_t *state, int fd, int64_t lo,
    int64_t hi, int64_t rel)
{
	int64_t cur = rel, stop = rel + (hi - lo), fbase = lo - rel;

	while (cur < stop) {
		off_t d = lseek(fd, (off_t)cur, SEEK_DATA), h;

		if (d < 0) {
			if (errno == ENXIO)
				mark_missing(t, state, lo, hi, lo + (cur - rel),
				    hi, 1, fbase);
			return;
		}
		if (d > cur)
			mark_missing(t, state, lo, hi, lo + (cur - rel),
			    lo + (d - rel), 1, fbase);
		if ((h = lseek(fd, d, SEEK_HOLE)) < 0 || h <= d)
			return;
		cur = h;
	}
}

static void *
verify_range(void *arg)
{
	struct vjob *j = arg;
	const struct bt_torrent *t = j->t;
	int64_t pl = t->piece_length, cursize = 0;
	size_t k = (size_t)(BT_VERIFY_BUF / pl), cur = (size_t)-1;
	uint8_t *buf, *longer;
	uint32_t p, q;
	int curfd = MISSING;

	if (k == 0)
		k = 1;
	buf = malloc(k * (size_t)pl);
	longer = malloc(k);	/* per piece: the end of a file too long */
	if (buf == NULL || longer == NULL) {
		free(buf);
		free(longer);
		j->failed = 1;
		bt_errf(&j->err, BT_EX_SOFTWARE, -1, "out of memory");
		return NULL;
	}
	for (p = j->first; p < j->end; p += (uint32_t)k) {
		uint32_t pe = j->end - p > k ? p + (uint32_t)k : j->end;
		int64_t off = (int64_t)p * pl, lim = (int64_t)pe * pl;
		int64_t pos = off;
		size_t i;

		if (lim > t->total_length)
			lim = t->total_length;
		memset(longer, 0, k);
		for (q = p; q < pe; q++)
			j->state[q] = BT_PIECE_BAD;	/* until hashed */
		for (i = file_at(t, off); pos < lim && i < t->nfiles; i++) {
			const struct bt_file *f = &t->files[i];
			int64_t se = f->offset + f->length, rel, avail;
			ssize_t r;
			int temp;

			if (f->length == 0)
				continue;
			if (se > lim)
				se = lim;
			rel = pos - f->offset;
			if (f->pad) {
				memset(buf + (pos - off), 0,
				    (size_t)(se - pos));
				pos = se;
				continue;
			}
			if (cur != i) {
				if (curfd >= 0)
					close(curfd);
				cur = i;
				curfd = open_data(j->root, f, 0, 0, &temp,
				    &cursize, NULL);
				if (curfd >= 0)
					posix_fadvise(curfd, 0, 0,
					    POSIX_FADV_SEQUENTIAL);
			}
			if (curfd == -1 && (errno == EMFILE ||
			    errno == ENFILE || errno == ENOMEM ||
			    errno == EIO)) {
				/* A fault, not a sign the data is absent. */
				j->failed = 1;
				ioerr(&j->err, f->path, NULL, errno);
				goto out;
			}
			if (curfd < 0) {
				/* Absent, a symbolic link, not a file. */
				mark_missing(t, j->state, pos, se, pos, se, 0,
				    0);
				pos = se;
				continue;
			}
			avail = cursize - rel;
			if (avail > se - pos)
				avail = se - pos;
			if (avail < 0)
				avail = 0;
			r = pread_all(curfd, buf + (pos - off), (size_t)avail,
			    rel);
			if (r < 0) {
				j->failed = 1;
				ioerr(&j->err, f->path, "read", errno);
				goto out;
			}
			if (r < se - pos)
				mark_missing(t, j->state, pos, se, pos + r, se,
				    0, 0);
			mark_holes(t, j->state, curfd, pos, pos + r, rel);
			/*
			 * Bytes past the file's end are not the torrent's:
			 * the piece holding its last byte is not good.
			 */
			if (cursize > f->length &&
			    se == f->offset + f->length)
				longer[(se - 1) / pl - p] = 1;
			pos = se;
		}
		for (q = p; q < pe; q++) {
			int64_t qo = (int64_t)(q - p) * pl;

			if (j->state[q] == BT_PIECE_MISSING)
				continue;
			if (bt_piece_ok(t, q, buf + qo,
			    (size_t)bt_piece_size(t, q)) == 1 && !longer[q - p])
				j->state[q] = BT_PIECE_GOOD;
		}
	}
out:
	if (curfd >= 0)
		close(curfd);
	free(buf);
	free(longer);
	return NULL;
}

int
bt_store_verify(const struct bt_torrent *t, const char *dir, int nthreads,
    uint8_t *state, struct bt_err *e)
{
	struct vjob job[BT_VERIFY_MAX_THREADS];
	pthread_t tid[BT_VERIFY_MAX_THREADS];
	int root, n, i, started = 0, r = 0;

	if (check_part_names(t, e) < 0)
		return -1;
	if ((root = open_dir(dir, 0, e)) == MISSING) {
		memset(state, BT_PIECE_MISSING, t->npieces);
		return 0;
	}
	if (root < 0)
		return -1;
	n = nthreads < 1 ? 1 : nthreads;
	if (n > BT_VERIFY_MAX_THREADS)
		n = BT_VERIFY_MAX_THREADS;
	if ((uint32_t)n > t->npieces)
		n = (int)t->npieces;
	for (i = 0; i < n; i++) {
		memset(&job[i], 0, sizeof(job[i]));
		job[i].t = t;
		job[i].root = root;
		job[i].state = state;
		job[i].first = (uint32_t)((uint64_t)t->npieces * i / n);
		job[i].end = (uint32_t)((uint64_t)t->npieces * (i + 1) / n);
	}
	/* Thread 0 is this one; if a thread cannot start, we do its part. */
	for (i = 1; i < n; i++) {
		if (pthread_create(&tid[i], NULL, verify_range, &job[i]) != 0)
			break;
		started = i;
	}
	verify_range(&job[0]);
	for (i = started + 1; i < n; i++)
		verify_range(&job[i]);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < n && r == 0; i++)
		if (job[i].failed) {
			if (e != NULL)
				*e = job[i].err;
			r = -1;
		}
	close(root);
	return r;
}

int
bt_store_verify_side(const struct bt_torrent *t, const char *dir,
    uint8_t *state, struct bt_err *e)
{
	int64_t *off = NULL, end;
	uint8_t *buf = NULL, *disk = NULL;
	uint32_t p;
	int root, fd, r = 0;

	if ((root = open_dir(dir, 0, e)) == MISSING)
		return 0;
	if (root < 0)
		return -1;
	if ((fd = side_open(root, t, 0, e)) < 0) {
		close(root);
		return fd == MISSING ? 0 : -1;
	}
	off = malloc(t->npieces * sizeof(*off));
	buf = malloc((size_t)t->piece_length);
	disk = malloc((size_t)t->piece_length);
	if (off == NULL || buf == NULL || disk == NULL)
		r = bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	else
		r = side_scan(fd, t, off, &end, e);
	for (p = 0; r == 0 && p < t->npieces; p++) {
		int64_t po = (int64_t)p * t->piece_length;
		int64_t pe = po + bt_piece_size(t, p);
		size_t i;
		int same = 1;

		if (off[p] < 0 || state[p] != BT_PIECE_MISSING)
			continue;
		if (pread_all(fd, buf, (size_t)(pe - po), off[p]) != pe - po)
			continue;
		if (bt_piece_ok(t, p, buf, (size_t)(pe - po)) != 1)
			continue;
		/* What is on disk of it must be those bytes too. */
		for (i = file_at(t, po); same && i < t->nfiles &&
		    t->files[i].offset < pe; i++) {
			const struct bt_file *f = &t->files[i];
			int64_t a = po > f->offset ? po : f->offset;
			int64_t b = pe < f->offset + f->length ? pe :
			    f->offset + f->length;
			int64_t size;
			ssize_t got;
			int dfd, temp;

			if (f->pad || f->length == 0)
				continue;
			dfd = open_data(root, f, 0, 0, &temp, &size, NULL);
			if (dfd < 0)
				continue;	/* absent: the copy stands in */
			if (size > f->length)
				same = 0;	/* not the torrent's file */
			got = pread_all(dfd, disk, (size_t)(b - a),
			    a - f->offset);
			close(dfd);
			if (got < 0 || memcmp(disk, buf + (a - po),
			    (size_t)got) != 0)
				same = 0;
		}
		if (same)
			state[p] = BT_PIECE_GOOD;
	}
	free(off);
	free(buf);
	free(disk);
	close(fd);
	close(root);
	return r;
}

int
bt_store_too_long(const struct bt_torrent *t, const char *dir,
    struct bt_err *e)
{
	size_t i;
	int root, fd, temp, r = 0;
	int64_t size;

	if ((root = open_dir(dir, 0, NULL)) < 0)
		return 0;
	for (i = 0; i < t->nfiles && r == 0; i++) {
		const struct bt_file *f = &t->files[i];

		if (f->pad)
			continue;
		fd = open_data(root, f, 0, 0, &temp, &size, NULL);
		if (fd < 0)
			continue;	/* absent, or not followed */
		close(fd);
		if (size > f->length)
			r = too_long(e, f, temp, size) < 0 ? 1 : 0;
	}
	close(root);
	return r;
}
