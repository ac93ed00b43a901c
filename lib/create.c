#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btlimits.h"
#include "create.h"
#include "merkle.h"
#include "metainfo.h"
#include "sha1.h"
#include "util.h"

#define E(...)	bt_errf(e, BT_EX_DATAERR, -1, __VA_ARGS__)
#define OOM()	bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory")
/*
 * Names from the disk are printed escaped (bt(7), FILE NAMES): a file
 * named with ESC or U+202E must not reach the terminal raw. Messages are
 * at most 512 bytes, so the escaped text is cut to fit.
 */
#define ESCBUF	400
#define ESC(p, buf)	bt_escape((p), strlen(p), (buf), sizeof(buf))

/*
 * Walking. mktorrent walks with nftw(3) following links, keeps regular
 * files only and sorts them with strcmp(3) on their relative paths; so do
 * we, with a stack of the folders being walked to catch link loops.
 */
struct walk {
	struct bt_create *c;
	char *path;		/* root, then "/rel" as the walk goes */
	size_t rootlen, cap;
	size_t namelen;		/* of the torrent's name */
	struct {
		uint64_t dev, ino;
	} anc[BT_MAX_PATH_DEPTH + 1];
	struct bt_err *e;
};

/*
 * libtorrent's add_files marks a file executable from lstat(2) of its
 * path: a symbolic link (mode 0777) counts as executable whatever it
 * points to. Done here so that v2 and hybrid torrents carry the same
 * "attr"; v1 torrents ignore it, as mktorrent does.
 */
static int
is_exec(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && (st.st_mode & S_IXUSR) != 0;
}

static int
add_file(struct walk *w, const char *rel, const struct stat *st, int exec)
{
	struct bt_create *c = w->c;
	struct bt_err *e = w->e;
	struct bt_cfile *f;

	if (c->nfiles >= BT_MAX_FILES)
		return E("more than %d files (limit BT_MAX_FILES)",
		    BT_MAX_FILES);
	if (c->nfiles == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct bt_cfile *p = realloc(c->files, ncap * sizeof(*p));

		if (p == NULL)
			return OOM();
		c->files = p;
		c->cap = ncap;
	}
	f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	if ((f->path = strdup(rel)) == NULL)
		return OOM();
	f->length = st->st_size;
	f->exec = exec;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	c->nfiles++;
	return 0;
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/* Walk the folder w->path[0..len), depth components below the root. */
static int
walk_dir(struct walk *w, size_t len, int depth)
{
	char eb[ESCBUF];
	struct bt_err *e = w->e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int r = 0;

	w->path[len] = '\0';
	if ((d = opendir(w->path)) == NULL)
		return bt_errf(e, BT_EX_IOERR, -1, "%s: %s",
		    ESC(w->path, eb), strerror(errno));
	/* Names first, folder closed, then recursion: one descriptor. */
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **p = realloc(names, ncap * sizeof(*p));

			if (p == NULL) {
				r = OOM();
				break;
			}
			names = p;
			cap = ncap;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = OOM();
			break;
		}
		n++;
	}
	if (r == 0 && errno != 0)
		r = bt_errf(e, BT_EX_IOERR, -1, "%s: %s",
		    ESC(w->path, eb), strerror(errno));
	closedir(d);
	if (r < 0) {
		free_names(names, n);
		return -1;
	}
	/* Sorted only so that the first error met is always the same. */
	if (n > 1)
		qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n && r == 0; i++) {
		size_t nl = strlen(names[i]), rl;
		const char *why;
		struct stat st;
		int k;

		w->path[len] = '\0';
		if ((why = bt_path_component_problem(names[i], nl)) != NULL) {
			r = E("%s: a name in it: %s", ESC(w->path, eb), why);
			break;
		}
		if (depth + 1 > BT_MAX_PATH_DEPTH) {
			r = E("%s: deeper than %d folders (limit "
			    "BT_MAX_PATH_DEPTH)", ESC(w->path, eb),
			    BT_MAX_PATH_DEPTH);
			break;
		}
		/* The path in the torrent is "name/rel" (bt(7)). */
		rl = len - w->rootlen + nl;
		if (w->namelen + rl > BT_MAX_PATH_BYTES) {
			char eb2[ESCBUF];

			r = E("%s/%s: path longer than %d bytes (limit "
			    "BT_MAX_PATH_BYTES)", ESC(w->path, eb),
			    ESC(names[i], eb2), BT_MAX_PATH_BYTES);
			break;
		}
		w->path[len] = '/';
		memcpy(w->path + len + 1, names[i], nl + 1);
		if (stat(w->path, &st) < 0) {
			r = bt_errf(e, BT_EX_IOERR, -1, "%s: %s",
			    ESC(w->path, eb), strerror(errno));
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = add_file(w, w->path + w->rootlen + 1, &st,
			    is_exec(w->path));
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		for (k = 0; k <= depth; k++)
			if (w->anc[k].dev == (uint64_t)st.st_dev &&
			    w->anc[k].ino == (uint64_t)st.st_ino)
				break;
		if (k <= depth) {
			r = E("%s: symbolic link loop", ESC(w->path, eb));
			break;
		}
		w->anc[depth + 1].dev = st.st_dev;
		w->anc[depth + 1].ino = st.st_ino;
		r = walk_dir(w, len + 1 + nl, depth + 1);
	}
	free_names(names, n);
	return r;
}

static int
filecmp(const void *a, const void *b)
{
	return strcmp(((const struct bt_cfile *)a)->path,
	    ((const struct bt_cfile *)b)->path);
}

/* The default name: the last component of path, or of its real path. */
static char *
default_name(const char *path, struct bt_err *e)
{
	char eb[ESCBUF];
	char *p, *s, *real = NULL, *name;
	size_t n;

	if ((p = strdup(path)) == NULL) {
		OOM();
		return NULL;
	}
	for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	s = strrchr(p, '/');
	s = s ? s + 1 : p;
	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		if ((real = realpath(path, NULL)) == NULL) {
			bt_errf(e, BT_EX_NOINPUT, -1, "%s: %s", ESC(path, eb),
			    strerror(errno));
			free(p);
			return NULL;
		}
		s = strrchr(real, '/');
		s = s ? s + 1 : real;
	}
	if (*s == '\0') {
		E("%s: no name to give the torrent (use -n)", ESC(path, eb));
		name = NULL;
	} else if ((name = strdup(s)) == NULL)
		OOM();
	free(real);
	free(p);
	return name;
}

int
bt_create_scan(struct bt_create *c, const char *path, const char *name,
    struct bt_err *e)
{
	char eb[ESCBUF];
	struct walk w;
	struct stat st;
	const char *why;
	size_t i, rl;
	int64_t off;
	int r;

	memset(c, 0, sizeof(*c));
	if (stat(path, &st) < 0)
		return bt_errf(e, BT_EX_NOINPUT, -1, "%s: %s",
		    ESC(path, eb), strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return bt_errf(e, BT_EX_NOINPUT, -1,
		    "%s: not a regular file or a folder", ESC(path, eb));
	if ((c->root = strdup(path)) == NULL)
		return OOM();
	c->name = name ? strdup(name) : default_name(path, e);
	if (c->name == NULL)
		return name ? OOM() : -1;
	if ((why = bt_path_component_problem(c->name, strlen(c->name)))
	    != NULL)
		return E("name '%s': %s", ESC(c->name, eb), why);
	if (S_ISREG(st.st_mode)) {
		memset(&w, 0, sizeof(w));
		w.c = c;
		w.e = e;
		if (add_file(&w, "", &st, is_exec(path)) < 0)
			return -1;
	} else {
		c->multi = 1;
		memset(&w, 0, sizeof(w));
		w.c = c;
		w.e = e;
		w.namelen = strlen(c->name);
		rl = strlen(path);
		/* "dir/" and "dir" walk the same, "/" stays "/". */
		while (rl > 1 && path[rl - 1] == '/')
			rl--;
		w.rootlen = rl;
		w.cap = rl + BT_MAX_PATH_BYTES + BT_MAX_NAME_BYTES + 4;
		if ((w.path = malloc(w.cap)) == NULL)
			return OOM();
		memcpy(w.path, path, rl);
		w.anc[0].dev = st.st_dev;
		w.anc[0].ino = st.st_ino;
		r = walk_dir(&w, rl, 0);
		free(w.path);
		if (r < 0)
			return -1;
		if (c->nfiles > 1)
			qsort(c->files, c->nfiles, sizeof(*c->files),
			    filecmp);
	}
	for (off = 0, i = 0; i < c->nfiles; i++) {
		c->files[i].offset = off;
		if (c->files[i].length > INT64_MAX - off)
			return E("total size overflows 64 bits");
		off += c->files[i].length;
	}
	c->total = off;
	if (c->nfiles == 0)
		return E("%s: no files in it", ESC(path, eb));
	if (c->total == 0)
		return E("%s: no data (every file is empty)", ESC(path, eb));
	return 0;
}

void
bt_create_free(struct bt_create *c)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		free(c->files[i].path);
	free(c->files);
	free(c->root);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

int64_t
bt_create_auto_piece_length(int64_t total)
{
	int64_t p = BT_CREATE_MIN_PIECE;

	while (p < BT_CREATE_MAX_AUTO_PIECE &&
	    (total - 1) / p + 1 > BT_CREATE_TARGET_PIECES)
		p *= 2;
	return p;
}

int
bt_create_check_piece_length(int64_t p, struct bt_err *e)
{
	if (p < BT_CREATE_MIN_PIECE || p > BT_MAX_PIECE_LENGTH ||
	    (p & (p - 1)) != 0)
		return bt_errf(e, BT_EX_USAGE, -1, "piece length %lld: not "
		    "a power of two from %ldK to %ldM", (long long)p,
		    BT_CREATE_MIN_PIECE / 1024,
		    BT_MAX_PIECE_LENGTH / (1024 * 1024));
	return 0;
}

int
bt_create_parse_size(const char *s, int64_t *out, struct bt_err *e)
{
	char buf[32];
	size_t n = strlen(s);
	int64_t mul = 1;
	long long v;

	if (n > 0 && (s[n - 1] == 'K' || s[n - 1] == 'k'))
		mul = 1024;
	else if (n > 0 && (s[n - 1] == 'M' || s[n - 1] == 'm'))
		mul = 1024 * 1024;
	if (mul > 1)
		n--;
	if (n == 0 || n >= sizeof(buf) || s[0] == '-')
		return bt_errf(e, BT_EX_USAGE, -1, "size '%s': not a number "
		    "of bytes (with K or M)", s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (bt_strtonum(buf, 0, LLONG_MAX, &v, NULL) < 0 ||
	    v > INT64_MAX / mul)
		return bt_errf(e, BT_EX_USAGE, -1, "size '%s': not a number "
		    "of bytes (with K or M)", s);
	*out = (int64_t)v * mul;
	return 0;
}

int
bt_create_npieces(const struct bt_create *c, int64_t plen, uint32_t *n,
    struct bt_err *e)
{
	int64_t k = (c->total - 1) / plen + 1;

	if (k > BT_MAX_PIECES)
		return E("%lld pieces of %lld bytes: more than %ld (limit "
		    "BT_MAX_PIECES); choose a larger piece length",
		    (long long)k, (long long)plen, (long)BT_MAX_PIECES);
	*n = (uint32_t)k;
	return 0;
}

/*
 * libtorrent's order for v2 (file_storage::canonicalize): paths compared
 * component by component, each as bytes, a shorter one first; that is
 * strcmp(3) with '/' below every other byte. It is also the order of a
 * walk of the BEP 52 file tree, whose keys bencode sorts as bytes.
 */
static int
v2cmp(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)
	    ((const struct bt_cfile *)a)->path;
	const unsigned char *q = (const unsigned char *)
	    ((const struct bt_cfile *)b)->path;
	int x, y;

	while (*p != '\0' && *p == *q) {
		p++;
		q++;
	}
	x = *p == '\0' ? 0 : *p == '/' ? 1 : *p + 1;
	y = *q == '\0' ? 0 : *q == '/' ? 1 : *q + 1;
	return x - y;
}

int
bt_create_layout(struct bt_create *c, enum bt_create_version v,
    int64_t plen, struct bt_err *e)
{
	int64_t off = 0;
	size_t i;

	if (v == BT_CREATE_V1)
		return 0;
	if (bt_create_check_piece_length(plen, e) < 0)
		return -1;
	c->version = v;
	if (c->nfiles > 1)
		qsort(c->files, c->nfiles, sizeof(*c->files), v2cmp);
	for (i = 0; i < c->nfiles; i++) {
		struct bt_cfile *f = &c->files[i];

		f->offset = off;
		f->pad = 0;
		/* As libtorrent 2.0.8 pads: after every non-empty file,
		   the last one too, unless it is the only file. */
		if (c->nfiles > 1 && f->length % plen != 0)
			f->pad = plen - f->length % plen;
		if (f->length > INT64_MAX - off - f->pad)
			return E("total size overflows 64 bits");
		off += f->length + f->pad;
	}
	c->total = off;
	return 0;
}

/*
 * Hashing. The pieces are cut into chunks of whole pieces of about
 * BT_CREATE_BUF bytes (one piece when pieces are larger). Up to that
 * size one thread reads and the others hash (hash_pipeline); larger
 * pieces are taken in order by threads that each read their own with
 * pread(2) and hash as they read (hash_worker).
 */
struct hjob {
	const struct bt_create *c;
	int64_t plen;
	uint32_t npieces, per, nchunks;
	uint8_t *out;		/* SHA-1s, or NULL (v2 only) */
	uint8_t *layer;		/* BEP 52 piece hashes, or NULL (v1) */
	atomic_uint next;
	atomic_int stop;
	pthread_mutex_t mu;
	uint32_t errchunk;	/* chunk of the error kept; UINT32_MAX: none */
	struct bt_err err;
};

struct reader {
	const struct bt_create *c;
	size_t fi;		/* file open on fd */
	int fd;
	char *path;		/* buffer for the path opened */
};

static int
reader_open(struct reader *r, size_t fi, struct bt_err *e)
{
	char eb[ESCBUF];
	const struct bt_create *c = r->c;
	const struct bt_cfile *f = &c->files[fi];
	struct stat st;
	int fd;

	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (c->multi)
		snprintf(r->path, strlen(c->root) + BT_MAX_PATH_BYTES + 2,
		    "%s/%s", c->root, f->path);
	else
		snprintf(r->path, strlen(c->root) + BT_MAX_PATH_BYTES + 2,
		    "%s", c->root);
	if ((fd = open(r->path, O_RDONLY | O_CLOEXEC)) < 0)
		return bt_errf(e, BT_EX_IOERR, -1, "%s: %s",
		    ESC(r->path, eb), strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size != f->length ||
	    (uint64_t)st.st_ino != f->ino || (uint64_t)st.st_dev != f->dev) {
		close(fd);
		return bt_errf(e, BT_EX_IOERR, -1, "%s: changed while "
		    "being read", ESC(r->path, eb));
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r->fd = fd;
	r->fi = fi;
	return 0;
}

/* The file holding byte off of the data, or the pad after it (never an
   empty one). */
static size_t
file_at(const struct bt_create *c, int64_t off)
{
	size_t lo = 0, hi = c->nfiles;

	/* The last file that starts at or before off... */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->files[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	/* ...past the empty ones that start there too. */
	while (lo < c->nfiles && off >= c->files[lo].offset +
	    c->files[lo].length + c->files[lo].pad)
		lo++;
	return lo;
}

/* Read the data's bytes [off, off + len) into dst. */
static int
reader_read(struct reader *r, int64_t off, uint8_t *dst, size_t len,
    struct bt_err *e)
{
	char eb[ESCBUF];
	const struct bt_create *c = r->c;

	while (len > 0) {
		const struct bt_cfile *f;
		size_t fi, n;
		ssize_t got;

		f = r->fd >= 0 ? &c->files[r->fi] : NULL;
		if (f != NULL && off >= f->offset &&
		    off < f->offset + f->length + f->pad)
			fi = r->fi;
		else if ((fi = file_at(c, off)) >= c->nfiles)
			return bt_errf(e, BT_EX_SOFTWARE, -1,
			    "offset %lld past the data", (long long)off);
		f = &c->files[fi];
		if (off >= f->offset + f->length) {
			/* BEP 47: a pad file is zeros, on no disk. */
			n = len;
			if ((int64_t)n > f->offset + f->length + f->pad - off)
				n = (size_t)(f->offset + f->length + f->pad -
				    off);
			memset(dst, 0, n);
			dst += n;
			off += (int64_t)n;
			len -= n;
			continue;
		}
		if ((r->fd < 0 || r->fi != fi) && reader_open(r, fi, e) < 0)
			return -1;
		n = len;
		if ((int64_t)n > f->offset + f->length - off)
			n = (size_t)(f->offset + f->length - off);
		got = pread(r->fd, dst, n, off - f->offset);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return bt_errf(e, BT_EX_IOERR, -1, "%s: read: %s",
			    ESC(r->path, eb), strerror(errno));
		if (got == 0)
			return bt_errf(e, BT_EX_IOERR, -1, "%s: changed "
			    "while being read (shorter)", ESC(r->path, eb));
		dst += got;
		off += got;
		len -= (size_t)got;
	}
	return 0;
}

/* Pieces [*p0, *p1) and bytes [*start, *end) of chunk k. */
static void
chunk_range(const struct hjob *j, uint32_t k, uint32_t *p0, uint32_t *p1,
    int64_t *start, int64_t *end)
{
	*p0 = k * j->per;
	*p1 = *p0 + j->per;
	if (*p1 > j->npieces)
		*p1 = j->npieces;
	*start = (int64_t)*p0 * j->plen;
	*end = (int64_t)*p1 * j->plen;
	if (*end > j->c->total)
		*end = j->c->total;
}

/*
 * BEP 52 hashes. The layout puts every file at the start of a piece, so
 * a piece of a v2 torrent holds the bytes of one file (then its pad):
 * pieces hash independently, on any thread, in any order.
 */
_Static_assert(BT_CREATE_BUF % BT_MERKLE_BLOCK == 0,
    "slices of a large piece are whole merkle blocks");

/* Leaves of a piece of at most BT_CREATE_BUF bytes, on the stack. */
#define SMALL_LEAVES	(BT_CREATE_BUF / BT_MERKLE_BLOCK)

/*
 * The root over the n leaves of v (overwritten), padded with zero
 * leaves to width (a power of two, at least n). In place, with no
 * allocation, so that a hashing thread cannot fail.
 */
static void
tree_root(uint8_t *v, uint64_t n, uint64_t width, uint8_t out[BT_SHA256_LEN])
{
	uint8_t pad[BT_SHA256_LEN], b[2 * BT_SHA256_LEN];
	uint64_t i;

	memset(pad, 0, sizeof(pad));
	for (; width > 1; width >>= 1) {
		for (i = 0; i < n; i += 2) {
			memcpy(b, v + i * BT_SHA256_LEN, BT_SHA256_LEN);
			memcpy(b + BT_SHA256_LEN, i + 1 < n ?
			    v + (i + 1) * BT_SHA256_LEN : pad, BT_SHA256_LEN);
			bt_sha256(b, sizeof(b), v + (i / 2) * BT_SHA256_LEN);
		}
		n = (n + 1) / 2;
		memcpy(b, pad, BT_SHA256_LEN);
		memcpy(b + BT_SHA256_LEN, pad, BT_SHA256_LEN);
		bt_sha256(b, sizeof(b), pad);
	}
	memcpy(out, v, BT_SHA256_LEN);
}

/*
 * Piece i of a v2 layout: the bytes of its file in it (*fbytes, the
 * rest is pad) and the width of its tree in leaves. A file of one piece
 * or less has a tree as wide as its own blocks, whose root is its pieces
 * root (BEP 52); a piece of a longer file is as wide as a piece, the
 * missing leaves zeros.
 */
static void
v2_piece(const struct hjob *j, uint32_t i, int64_t *fbytes, uint64_t *width)
{
	int64_t start = (int64_t)i * j->plen;
	const struct bt_cfile *f = &j->c->files[file_at(j->c, start)];

	*fbytes = f->offset + f->length - start;
	if (*fbytes > j->plen)
		*fbytes = j->plen;
	*width = f->length <= j->plen ?
	    bt_merkle_width(bt_merkle_nblocks(f->length)) :
	    (uint64_t)(j->plen / BT_MERKLE_BLOCK);
}

/* Hash the whole pieces of chunk k, whose bytes are in buf. */
static void
hash_pieces(struct hjob *j, const uint8_t *buf, uint32_t k)
{
	uint8_t leaves[SMALL_LEAVES * BT_SHA256_LEN];
	uint32_t p0, p1, i;
	int64_t start, end, fbytes;
	uint64_t width, nl;

	chunk_range(j, k, &p0, &p1, &start, &end);
	for (i = p0; i < p1; i++) {
		int64_t o = (int64_t)(i - p0) * j->plen;
		int64_t n = end - start - o;

		if (n > j->plen)
			n = j->plen;
		if (j->out != NULL)
			bt_sha1(buf + o, (size_t)n,
			    j->out + (size_t)i * BT_SHA1_LEN);
		if (j->layer == NULL)
			continue;
		v2_piece(j, i, &fbytes, &width);
		nl = bt_merkle_leaves(buf + o, (size_t)fbytes, leaves);
		tree_root(leaves, nl, width,
		    j->layer + (size_t)i * BT_SHA256_LEN);
	}
}

/*
 * Hash chunk k, read with r into buf. leaves: room for the leaves of a
 * piece, when pieces are larger than BT_CREATE_BUF and v2 is hashed.
 */
static int
hash_chunk(struct hjob *j, struct reader *r, uint8_t *buf, uint8_t *leaves,
    uint32_t k, struct bt_err *e)
{
	uint8_t junk[BT_SHA1_LEN];
	uint32_t p0, p1;
	int64_t start, end, off, fbytes = 0;
	uint64_t width = 0, nl = 0;
	struct bt_sha1 s;
	int rc = 0;

	chunk_range(j, k, &p0, &p1, &start, &end);
	if (j->plen <= BT_CREATE_BUF) {
		if (reader_read(r, start, buf, (size_t)(end - start), e) < 0)
			return -1;
		hash_pieces(j, buf, k);
		return 0;
	}
	/* A piece larger than the buffer: hashed as it is read. */
	if (j->out != NULL && bt_sha1_init(&s) < 0)
		return OOM();
	if (j->layer != NULL)
		v2_piece(j, p0, &fbytes, &width);
	for (off = start; off < end; off += BT_CREATE_BUF) {
		size_t n = end - off < BT_CREATE_BUF ? (size_t)(end - off) :
		    (size_t)BT_CREATE_BUF;

		if (reader_read(r, off, buf, n, e) < 0) {
			rc = -1;
			break;
		}
		if (j->out != NULL)
			bt_sha1_update(&s, buf, n);
		/* Slices are whole blocks: only the file's bytes are
		   leaves, its pad is not. */
		if (j->layer != NULL && off - start < fbytes)
			nl += bt_merkle_leaves(buf, (size_t)(fbytes - (off -
			    start)) < n ? (size_t)(fbytes - (off - start)) :
			    n, leaves + nl * BT_SHA256_LEN);
	}
	if (j->out != NULL)
		bt_sha1_final(&s, rc == 0 ?
		    j->out + (size_t)p0 * BT_SHA1_LEN : junk);
	if (rc == 0 && j->layer != NULL)
		tree_root(leaves, nl, width,
		    j->layer + (size_t)p0 * BT_SHA256_LEN);
	return rc;
}

static void *
hash_worker(void *arg)
{
	struct hjob *j = arg;
	struct reader r;
	struct bt_err e;
	size_t bufsz = j->plen <= BT_CREATE_BUF ?
	    (size_t)j->plen * j->per : (size_t)BT_CREATE_BUF;
	uint8_t *buf = malloc(bufsz), *leaves = NULL;
	uint32_t k = 0;
	int failed = 0;

	memset(&r, 0, sizeof(r));
	r.c = j->c;
	r.fd = -1;
	r.path = malloc(strlen(j->c->root) + BT_MAX_PATH_BYTES + 2);
	bt_err_clear(&e);
	if (j->layer != NULL && j->plen > BT_CREATE_BUF &&
	    (leaves = malloc((size_t)(j->plen / BT_MERKLE_BLOCK) *
	    BT_SHA256_LEN)) == NULL)
		failed = 1;
	if (failed || buf == NULL || r.path == NULL) {
		bt_errf(&e, BT_EX_SOFTWARE, -1, "out of memory");
		failed = 1;
		k = 0;
	}
	while (!failed && !atomic_load(&j->stop)) {
		k = atomic_fetch_add(&j->next, 1);
		if (k >= j->nchunks)
			break;
		if (hash_chunk(j, &r, buf, leaves, k, &e) < 0)
			failed = 1;
	}
	if (failed) {
		/* Keep the error of the earliest chunk: the one a single
		   thread reading in order would have met. */
		pthread_mutex_lock(&j->mu);
		if (k < j->errchunk) {
			j->errchunk = k;
			j->err = e;
		}
		pthread_mutex_unlock(&j->mu);
		atomic_store(&j->stop, 1);
	}
	if (r.fd >= 0)
		close(r.fd);
	free(r.path);
	free(buf);
	free(leaves);
	return NULL;
}

/*
 * Pieces up to BT_CREATE_BUF (the usual case): mktorrent's shape. The
 * calling thread reads the chunks in order, one sequential stream, into
 * a few buffers; the hashing threads take them as they come. Reading
 * overlaps hashing, and a hasher that waits for data sleeps.
 */
struct pipe {
	struct hjob *j;
	pthread_mutex_t mu;
	pthread_cond_t filled, freed;
	int nbuf;
	uint8_t *buf[2 * BT_CREATE_MAX_THREADS + 2];
	uint32_t chunk[2 * BT_CREATE_MAX_THREADS + 2];
	int fifo[2 * BT_CREATE_MAX_THREADS + 2], head, nfilled;
	int freel[2 * BT_CREATE_MAX_THREADS + 2], nfree;
	int done;		/* nothing more will be filled */
};

static void *
pipe_hasher(void *arg)
{
	struct pipe *p = arg;
	int b;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->nfilled == 0 && !p->done)
			pthread_cond_wait(&p->filled, &p->mu);
		if (p->nfilled == 0) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		b = p->fifo[p->head];
		p->head = (p->head + 1) % p->nbuf;
		p->nfilled--;
		pthread_mutex_unlock(&p->mu);
		hash_pieces(p->j, p->buf[b], p->chunk[b]);
		pthread_mutex_lock(&p->mu);
		p->freel[p->nfree++] = b;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->mu);
	}
}

static int
hash_pipeline(struct hjob *j, int nthreads, struct bt_err *e)
{
	pthread_t tid[BT_CREATE_MAX_THREADS];
	size_t bufsz = (size_t)j->plen * j->per;
	struct reader r;
	struct pipe p;
	uint32_t k;
	int i, b, started = 0, rc = 0;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.j = j;
	/*
	 * Two buffers a hasher, and two more for the reader: slack for
	 * when one of them is kept off the CPU for a while.
	 */
	p.nbuf = 2 * nthreads + 2;
	r.c = j->c;
	r.fd = -1;
	if ((r.path = malloc(strlen(j->c->root) + BT_MAX_PATH_BYTES + 2))
	    == NULL)
		return OOM();
	for (i = 0; i < p.nbuf; i++) {
		if ((p.buf[i] = malloc(bufsz)) == NULL) {
			rc = OOM();
			goto out;
		}
		p.freel[p.nfree++] = i;
	}
	if (pthread_mutex_init(&p.mu, NULL) != 0 ||
	    pthread_cond_init(&p.filled, NULL) != 0 ||
	    pthread_cond_init(&p.freed, NULL) != 0) {
		rc = bt_errf(e, BT_EX_SOFTWARE, -1, "pthread_mutex_init");
		goto out;
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&tid[i], NULL, pipe_hasher, &p) != 0)
			break;
		started++;
	}
	for (k = 0; k < j->nchunks && started > 0; k++) {
		uint32_t p0, p1;
		int64_t start, end;

		pthread_mutex_lock(&p.mu);
		while (p.nfree == 0)
			pthread_cond_wait(&p.freed, &p.mu);
		b = p.freel[--p.nfree];
		pthread_mutex_unlock(&p.mu);
		chunk_range(j, k, &p0, &p1, &start, &end);
		if (reader_read(&r, start, p.buf[b], (size_t)(end - start),
		    e) < 0) {
			rc = -1;
			break;
		}
		pthread_mutex_lock(&p.mu);
		p.chunk[b] = k;
		p.fifo[(p.head + p.nfilled) % p.nbuf] = b;
		p.nfilled++;
		pthread_cond_signal(&p.filled);
		pthread_mutex_unlock(&p.mu);
	}
	pthread_mutex_lock(&p.mu);
	p.done = 1;
	pthread_cond_broadcast(&p.filled);
	pthread_mutex_unlock(&p.mu);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (started == 0) {
		/* No thread at all: hash here, one chunk after another. */
		for (k = 0; k < j->nchunks && rc == 0; k++)
			rc = hash_chunk(j, &r, p.buf[0], NULL, k, e);
	}
	pthread_cond_destroy(&p.freed);
	pthread_cond_destroy(&p.filled);
	pthread_mutex_destroy(&p.mu);
out:
	for (i = 0; i < p.nbuf; i++)
		free(p.buf[i]);
	if (r.fd >= 0)
		close(r.fd);
	free(r.path);
	return rc;
}

static int
hash_all(const struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, uint8_t *layer, struct bt_err *e)
{
	pthread_t tid[BT_CREATE_MAX_THREADS];
	struct hjob j;
	int i, started = 0;

	memset(&j, 0, sizeof(j));
	j.c = c;
	j.plen = plen;
	j.out = out;
	j.layer = layer;
	if (bt_create_npieces(c, plen, &j.npieces, e) < 0)
		return -1;
	j.per = plen <= BT_CREATE_BUF ? (uint32_t)(BT_CREATE_BUF / plen) : 1;
	j.nchunks = (j.npieces - 1) / j.per + 1;
	atomic_init(&j.next, 0);
	atomic_init(&j.stop, 0);
	j.errchunk = UINT32_MAX;
	if (pthread_mutex_init(&j.mu, NULL) != 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "pthread_mutex_init");
	if (nthreads > BT_CREATE_MAX_THREADS)
		nthreads = BT_CREATE_MAX_THREADS;
	if ((uint32_t)nthreads > j.nchunks)
		nthreads = (int)j.nchunks;
	if (nthreads < 1)
		nthreads = 1;
	if (plen <= BT_CREATE_BUF) {
		pthread_mutex_destroy(&j.mu);
		return hash_pipeline(&j, nthreads, e);
	}
	/* Pieces larger than the buffer: each thread reads its own. */
	for (i = 1; i < nthreads; i++) {
		if (pthread_create(&tid[i], NULL, hash_worker, &j) != 0)
			break;
		started++;
	}
	hash_worker(&j);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.errchunk != UINT32_MAX) {
		*e = j.err;
		return -1;
	}
	return 0;
}

int
bt_create_hash(const struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, struct bt_err *e)
{
	return hash_all(c, plen, nthreads, out, NULL, e);
}

int
bt_create_hash_v2(struct bt_create *c, int64_t plen, int nthreads,
    uint8_t *out, uint8_t *layer, struct bt_err *e)
{
	size_t i;

	if (c->version == BT_CREATE_V1)
		return bt_create_hash(c, plen, nthreads, out, e);
	if (hash_all(c, plen, nthreads, out, layer, e) < 0)
		return -1;
	for (i = 0; i < c->nfiles; i++) {
		struct bt_cfile *f = &c->files[i];
		uint64_t first = (uint64_t)(f->offset / plen);
		uint64_t np = (uint64_t)((f->length - 1) / plen + 1);

		if (f->length == 0)
			continue;
		if (np == 1)
			memcpy(f->root, layer + first * BT_SHA256_LEN,
			    BT_SHA256_LEN);
		else if (bt_merkle_root_from_layer(layer + first *
		    BT_SHA256_LEN, np, plen, f->root) < 0)
			return OOM();
	}
	return 0;
}

/* Call f on each URL of the comma-separated list s. */
static int
each_url(const char *s, int (*f)(void *, const char *, size_t), void *arg)
{
	const char *p = s, *q;

	for (;;) {
		q = strchr(p, ',');
		if (f(arg, p, q ? (size_t)(q - p) : strlen(p)) < 0)
			return -1;
		if (q == NULL)
			return 0;
		p = q + 1;
	}
}

struct urlcheck {
	size_t n;
	const char *what;
	struct bt_err *e;
};

static int
check_url(void *arg, const char *p, size_t n)
{
	struct urlcheck *u = arg;

	(void)p;
	if (n == 0)
		return bt_errf(u->e, BT_EX_USAGE, -1, "empty %s URL",
		    u->what);
	if (n > BT_TRACKER_MAX_URL)
		return bt_errf(u->e, BT_EX_USAGE, -1, "%s URL longer than "
		    "%d bytes (limit BT_TRACKER_MAX_URL)", u->what,
		    BT_TRACKER_MAX_URL);
	u->n++;
	return 0;
}

int
bt_create_check_meta(const struct bt_create_meta *m, struct bt_err *e)
{
	struct urlcheck u;
	size_t i;

	u.n = 0;
	u.what = "tracker";
	u.e = e;
	for (i = 0; i < m->nannounce; i++)
		if (each_url(m->announce[i], check_url, &u) < 0)
			return -1;
	if (u.n > BT_MAX_TRACKERS)
		return bt_errf(e, BT_EX_USAGE, -1, "more than %d trackers "
		    "(limit BT_MAX_TRACKERS)", BT_MAX_TRACKERS);
	u.what = "web seed";
	for (i = 0; i < m->nweb; i++)
		if (each_url(m->web[i], check_url, &u) < 0)
			return -1;
	return 0;
}

static int
enc_url(void *arg, const char *p, size_t n)
{
	return bt_benc_str(arg, p, n);
}

static int
count_url(void *arg, const char *p, size_t n)
{
	(void)p;
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

static void
enc_path(struct bt_buf *b, const char *path)
{
	const char *p = path, *q;

	bt_benc_list(b);
	for (;;) {
		q = strchr(p, '/');
		bt_benc_str(b, p, q ? (size_t)(q - p) : strlen(p));
		if (q == NULL)
			break;
		p = q + 1;
	}
	bt_benc_end(b);
}

/* The "" dict of a file in the BEP 52 file tree. */
static void
enc_v2_file(struct bt_buf *b, const struct bt_cfile *f)
{
	bt_benc_cstr(b, "");
	bt_benc_dict(b);
	if (f->exec) {
		bt_benc_cstr(b, "attr");
		bt_benc_cstr(b, "x");
	}
	bt_benc_cstr(b, "length");
	bt_benc_int(b, f->length);
	/* BEP 52: an empty file has no pieces root. */
	if (f->length > 0) {
		bt_benc_cstr(b, "pieces root");
		bt_benc_str(b, f->root, BT_SHA256_LEN);
	}
	bt_benc_end(b);
}

/* Bytes of the folders of path: to its last '/', or 0. */
static size_t
dirlen(const char *path)
{
	const char *q = strrchr(path, '/');

	return q ? (size_t)(q - path) : 0;
}

/*
 * The folders a and b share, from the start: their count, and in *len
 * the bytes they take (up to the '/' after the last, or 0).
 */
static size_t
shared_dirs(const char *a, const char *b, size_t *len)
{
	size_t al = dirlen(a), bl = dirlen(b), j, n = 0;

	*len = 0;
	for (j = 0; j <= al && j <= bl && a[j] == b[j]; j++)
		if (a[j] == '/') {
			n++;
			*len = j;
		}
	return n;
}

/*
 * The file tree: nested dicts, a folder a key, a file a key holding
 * {"": {...}}. The files are in v2cmp order, the order of a walk of
 * the tree with its keys sorted, so each folder is opened once, when
 * its first file comes, and closed after its last.
 */
static void
enc_file_tree(struct bt_buf *b, const struct bt_create *c)
{
	const char *prev = "";
	size_t i, open = 0;

	bt_benc_cstr(b, "file tree");
	bt_benc_dict(b);
	if (!c->multi) {
		bt_benc_cstr(b, c->name);
		bt_benc_dict(b);
		enc_v2_file(b, &c->files[0]);
		bt_benc_end(b);
	}
	for (i = 0; c->multi && i < c->nfiles; i++) {
		const char *p = c->files[i].path, *q;
		size_t keep, shared = shared_dirs(prev, p, &keep);

		for (; open > shared; open--)
			bt_benc_end(b);
		/* The folders of p past the shared ones, then the file. */
		for (q = p + keep + (shared > 0);; q++) {
			const char *sl = strchr(q, '/');

			bt_benc_str(b, q, sl ? (size_t)(sl - q) : strlen(q));
			bt_benc_dict(b);
			if (sl == NULL)
				break;
			open++;
			q = sl;
		}
		enc_v2_file(b, &c->files[i]);
		bt_benc_end(b);
		prev = p;
	}
	for (; open > 0; open--)
		bt_benc_end(b);
	bt_benc_end(b);
}

static int
rootcmp(const void *a, const void *b)
{
	return memcmp((*(const struct bt_cfile *const *)a)->root,
	    (*(const struct bt_cfile *const *)b)->root, BT_SHA256_LEN);
}

/*
 * BEP 52 "piece layers": for each file longer than a piece, its pieces
 * root to its piece layer. Keys sorted; files of the same content share
 * one key, written once.
 */
static int
enc_piece_layers(struct bt_buf *b, const struct bt_create *c, int64_t plen,
    const uint8_t *layer, struct bt_err *e)
{
	const struct bt_cfile **v;
	size_t i, n = 0;

	if ((v = malloc((c->nfiles + 1) * sizeof(*v))) == NULL)
		return OOM();
	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].length > plen)
			v[n++] = &c->files[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), rootcmp);
	bt_benc_cstr(b, "piece layers");
	bt_benc_dict(b);
	for (i = 0; i < n; i++) {
		const struct bt_cfile *f = v[i];

		if (i > 0 && memcmp(v[i - 1]->root, f->root,
		    BT_SHA256_LEN) == 0)
			continue;
		bt_benc_str(b, f->root, BT_SHA256_LEN);
		bt_benc_str(b, layer + (size_t)(f->offset / plen) *
		    BT_SHA256_LEN, (size_t)((f->length - 1) / plen + 1) *
		    BT_SHA256_LEN);
	}
	bt_benc_end(b);
	free(v);
	return 0;
}

/* The v1 "files" list; in a hybrid, with its BEP 47 pad files. */
static void
enc_v1_files(struct bt_buf *b, const struct bt_create *c)
{
	char num[24];
	size_t i;

	bt_benc_cstr(b, "files");
	bt_benc_list(b);
	for (i = 0; i < c->nfiles; i++) {
		const struct bt_cfile *f = &c->files[i];

		bt_benc_dict(b);
		if (c->version == BT_CREATE_HYBRID && f->exec) {
			bt_benc_cstr(b, "attr");
			bt_benc_cstr(b, "x");
		}
		bt_benc_cstr(b, "length");
		bt_benc_int(b, f->length);
		bt_benc_cstr(b, "path");
		enc_path(b, f->path);
		bt_benc_end(b);
		if (f->pad == 0)
			continue;
		/* libtorrent's pad file: ".pad/N", N its length. */
		snprintf(num, sizeof(num), "%lld", (long long)f->pad);
		bt_benc_dict(b);
		bt_benc_cstr(b, "attr");
		bt_benc_cstr(b, "p");
		bt_benc_cstr(b, "length");
		bt_benc_int(b, f->pad);
		bt_benc_cstr(b, "path");
		bt_benc_list(b);
		bt_benc_cstr(b, ".pad");
		bt_benc_cstr(b, num);
		bt_benc_end(b);
		bt_benc_end(b);
	}
	bt_benc_end(b);
}

int
bt_create_encode(const struct bt_create *c, const struct bt_create_meta *m,
    const uint8_t *pieces, const uint8_t *layer, struct bt_buf *b,
    struct bt_err *e)
{
	int v1 = c->version != BT_CREATE_V2, v2 = c->version != BT_CREATE_V1;
	size_t i, nurl = 0;
	uint32_t np = 0;

	if (bt_create_check_meta(m, e) < 0 ||
	    bt_create_npieces(c, m->piece_length, &np, e) < 0)
		return -1;
	if ((v1 && pieces == NULL) || (v2 && layer == NULL))
		return bt_errf(e, BT_EX_SOFTWARE, -1, "no hashes to encode");
	for (i = 0; i < m->nannounce; i++)
		each_url(m->announce[i], count_url, &nurl);
	/* BEP 3: keys sorted as raw strings. */
	bt_benc_dict(b);
	if (m->nannounce > 0) {
		const char *u = m->announce[0], *q = strchr(u, ',');

		bt_benc_cstr(b, "announce");
		bt_benc_str(b, u, q ? (size_t)(q - u) : strlen(u));
	}
	/* BEP 12: one tier a -a, as mktorrent does, when more than one. */
	if (nurl > 1) {
		bt_benc_cstr(b, "announce-list");
		bt_benc_list(b);
		for (i = 0; i < m->nannounce; i++) {
			bt_benc_list(b);
			each_url(m->announce[i], enc_url, b);
			bt_benc_end(b);
		}
		bt_benc_end(b);
	}
	if (m->comment != NULL) {
		bt_benc_cstr(b, "comment");
		bt_benc_cstr(b, m->comment);
	}
	if (m->created_by != NULL && m->created_by[0] != '\0') {
		bt_benc_cstr(b, "created by");
		bt_benc_cstr(b, m->created_by);
	}
	if (m->date >= 0) {
		bt_benc_cstr(b, "creation date");
		bt_benc_int(b, m->date);
	}
	bt_benc_cstr(b, "info");
	bt_benc_dict(b);
	/* libtorrent: a hybrid single file's "attr" beside its "length". */
	if (c->version == BT_CREATE_HYBRID && !c->multi && c->files[0].exec) {
		bt_benc_cstr(b, "attr");
		bt_benc_cstr(b, "x");
	}
	if (v2)
		enc_file_tree(b, c);
	if (v1 && c->multi)
		enc_v1_files(b, c);
	else if (v1) {
		bt_benc_cstr(b, "length");
		bt_benc_int(b, c->files[0].length);
	}
	if (v2) {
		bt_benc_cstr(b, "meta version");
		bt_benc_int(b, 2);
	}
	bt_benc_cstr(b, "name");
	bt_benc_cstr(b, c->name);
	bt_benc_cstr(b, "piece length");
	bt_benc_int(b, m->piece_length);
	if (v1) {
		bt_benc_cstr(b, "pieces");
		bt_benc_str(b, pieces, (size_t)np * BT_SHA1_LEN);
	}
	if (m->private) {
		bt_benc_cstr(b, "private");
		bt_benc_int(b, 1);
	}
	bt_benc_end(b);
	if (v2 && enc_piece_layers(b, c, m->piece_length, layer, e) < 0)
		return -1;
	if (m->nweb > 0) {
		bt_benc_cstr(b, "url-list");
		bt_benc_list(b);
		for (i = 0; i < m->nweb; i++)
			each_url(m->web[i], enc_url, b);
		bt_benc_end(b);
	}
	bt_benc_end(b);
	if (b->oom)
		return OOM();
	return 0;
}
