#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "merkle.h"
#include "metainfo.h"
#include "util.h"

#define E(...) bt_errf(e, BT_EX_DATAERR, -1, __VA_ARGS__)
#define OOM() bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory")

/*
 * Room for a path in a message: two of them and the words around still
 * fit a struct bt_err; a longer one is cut (bt_escape stops early).
 */
#define ESC_MAX	200

static char *
dupstr(const struct bt_bdoc *d, const struct bt_bnode *n)
{
	char *s = malloc((size_t)n->v.s.len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, bt_bstr(d, n), n->v.s.len);
	s[n->v.s.len] = '\0';
	return s;
}

const char *
bt_path_component_problem(const char *p, size_t n)
{
	if (n == 0)
		return "empty path component";
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return n == 1 ? "path component '.'" :
		    "path component '..'";
	if (memchr(p, '/', n) != NULL)
		return "'/' inside a path component";
	if (memchr(p, '\0', n) != NULL)
		return "NUL inside a path component";
	if (n > BT_MAX_NAME_BYTES)
		return "path component longer than 255 bytes "
		    "(limit BT_MAX_NAME_BYTES)";
	return NULL;
}

/*
 * Order paths as if '/' were the lowest byte after the end of the string:
 * then "a/..." sorts right after "a" (before "a.txt"), so a file that is
 * also a folder shows as two neighbours.
 */
static int
pathcmp(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)
	    (*(const struct bt_file *const *)a)->path;
	const unsigned char *q = (const unsigned char *)
	    (*(const struct bt_file *const *)b)->path;

	for (; *p && *p == *q; p++, q++)
		;
	return (*p == '\0' ? 0 : *p == '/' ? 1 : *p + 1) -
	    (*q == '\0' ? 0 : *q == '/' ? 1 : *q + 1);
}

static int
check_collisions(const struct bt_torrent *t, struct bt_err *e)
{
	const struct bt_file **v;
	size_t i, n = 0;
	int r = 0;

	if (t->nfiles < 2)
		return 0;
	if ((v = malloc(t->nfiles * sizeof(*v))) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	/*
	 * BEP 47 padding files are never written, and creators give pads of
	 * one size the same path (".pad/16384"): they cannot collide.
	 */
	for (i = 0; i < t->nfiles; i++)
		if (!t->files[i].pad)
			v[n++] = &t->files[i];
	qsort(v, n, sizeof(*v), pathcmp);
	for (i = 0; i + 1 < n && r == 0; i++) {
		const char *a = v[i]->path, *b = v[i + 1]->path;
		size_t la = strlen(a);
		char esc[512];

		if (strcmp(a, b) == 0)
			r = E("two files with the same path '%s'",
			    bt_escape(a, la, esc, sizeof(esc)));
		else if (strncmp(a, b, la) == 0 && b[la] == '/')
			r = E("'%s' is both a file and a folder",
			    bt_escape(a, la, esc, sizeof(esc)));
	}
	free(v);
	return r;
}

/* Join the name and a BEP 3 path list into f->path, checking each part. */
static int
make_path(const struct bt_torrent *t, const struct bt_bdoc *d,
    const struct bt_bnode *list, size_t idx, struct bt_file *f,
    struct bt_err *e)
{
	const struct bt_bnode *c;
	size_t total = strlen(t->name), o;
	uint32_t i;

	if (list->v.n == 0)
		return E("file %zu: empty 'path'", idx);
	if (list->v.n > BT_MAX_PATH_DEPTH)
		return E("file %zu: path deeper than %d (limit "
		    "BT_MAX_PATH_DEPTH)", idx, BT_MAX_PATH_DEPTH);
	for (c = list + 1, i = 0; i < list->v.n; i++, c = bt_bnext(c)) {
		const char *why;

		if (c->type != BT_BSTR)
			return E("file %zu: path component is not a string",
			    idx);
		if ((why = bt_path_component_problem(bt_bstr(d, c),
		    c->v.s.len)) != NULL)
			return E("file %zu: unsafe path: %s", idx, why);
		total += 1 + c->v.s.len;
	}
	if (total > BT_MAX_PATH_BYTES)
		return E("file %zu: path longer than %d bytes (limit "
		    "BT_MAX_PATH_BYTES)", idx, BT_MAX_PATH_BYTES);
	if ((f->path = malloc(total + 1)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	o = strlen(t->name);
	memcpy(f->path, t->name, o);
	for (c = list + 1, i = 0; i < list->v.n; i++, c = bt_bnext(c)) {
		f->path[o++] = '/';
		memcpy(f->path + o, bt_bstr(d, c), c->v.s.len);
		o += c->v.s.len;
	}
	f->path[o] = '\0';
	return 0;
}

static int
parse_files(struct bt_torrent *t, const struct bt_bnode *files,
    struct bt_err *e)
{
	const struct bt_bdoc *d = &t->doc;
	const struct bt_bnode *fn;
	int64_t off = 0;
	uint32_t i;

	if (files->v.n == 0)
		return E("'files' is empty");
	if (files->v.n > BT_MAX_FILES)
		return E("more than %d files (limit BT_MAX_FILES)",
		    BT_MAX_FILES);
	t->files = calloc(files->v.n, sizeof(*t->files));
	if (t->files == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (fn = files + 1, i = 0; i < files->v.n; i++, fn = bt_bnext(fn)) {
		const struct bt_bnode *len, *path, *attr;
		struct bt_file *f = &t->files[i];

		if (fn->type != BT_BDICT)
			return E("file %u is not a dictionary", i);
		len = bt_bdict_get_type(d, fn, "length", BT_BINT);
		if (len == NULL)
			return E("file %u: missing or invalid 'length'", i);
		if (len->v.i < 0)
			return E("file %u: negative length", i);
		path = bt_bdict_get_type(d, fn, "path", BT_BLIST);
		if (path == NULL)
			return E("file %u: missing or invalid 'path'", i);
		t->nfiles = i + 1;
		if (make_path(t, d, path, i, f, e) < 0)
			return -1;
		attr = bt_bdict_get_type(d, fn, "attr", BT_BSTR);
		f->pad = attr != NULL && memchr(bt_bstr(d, attr), 'p',
		    attr->v.s.len) != NULL;
		f->length = len->v.i;
		f->offset = off;
		if (len->v.i > INT64_MAX - off)
			return E("total length overflows 64 bits");
		off += len->v.i;
	}
	t->total_length = off;
	return check_collisions(t, e);
}

/* BEP 52 (v2): the file tree, the piece layers, the v2 layout. */

/* p[0..n) made printable for a message, in buf of ESC_MAX bytes. */
static const char *
esc_path(const char *p, size_t n, char *buf)
{
	return bt_escape(p, n, buf, ESC_MAX);
}

/* BEP 52: "piece length" is a power of two, at least one 16 KiB block. */
static int
v2_piece_length_ok(int64_t pl)
{
	return pl >= BT_MERKLE_BLOCK && (pl & (pl - 1)) == 0;
}

/* The v2 layout being built: files in tree order, with their pads. */
struct v2list {
	struct bt_file *f;
	const uint8_t **layer;	/* a file's piece layer, inside raw */
	size_t n, cap;
	size_t nreal;		/* files, pads not counted */
	int64_t off;		/* where the next file starts */
};

static void
v2list_free(struct v2list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->f[i].path);
	free(l->f);
	free(l->layer);
	memset(l, 0, sizeof(*l));
}

/* A zeroed entry at the end of l, or NULL out of memory. */
static struct bt_file *
v2list_add(struct v2list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct bt_file *f = realloc(l->f, cap * sizeof(*f));
		const uint8_t **y;

		if (f == NULL)
			return NULL;
		l->f = f;
		if ((y = realloc(l->layer, cap * sizeof(*y))) == NULL)
			return NULL;
		l->layer = y;
		l->cap = cap;
	}
	memset(&l->f[l->n], 0, sizeof(l->f[l->n]));
	l->layer[l->n] = NULL;
	return &l->f[l->n++];
}

/*
 * One file of the tree: path[0..plen) and its "" dict. As libtorrent
 * does, a pad follows every file of more than 0 bytes to the next piece
 * boundary, so that the next file starts a piece (BEP 52 hashes each
 * file on its own) and the last piece is whole.
 */
static int
v2_file(struct bt_torrent *t, struct v2list *l, const char *path,
    size_t plen, const struct bt_bnode *fe, struct bt_err *e)
{
	const struct bt_bdoc *d = &t->doc;
	const struct bt_bnode *len, *root;
	struct bt_file *f;
	char eb[ESC_MAX];
	int64_t rem;

	if (fe->type != BT_BDICT)
		return E("file tree: '%s': '' is not a dictionary",
		    esc_path(path, plen, eb));
	if ((len = bt_bdict_get_type(d, fe, "length", BT_BINT)) == NULL)
		return E("file tree: '%s': missing or invalid 'length'",
		    esc_path(path, plen, eb));
	if (len->v.i < 0)
		return E("file tree: '%s': negative length",
		    esc_path(path, plen, eb));
	if (l->nreal >= BT_MAX_FILES)
		return E("more than %d files (limit BT_MAX_FILES)",
		    BT_MAX_FILES);
	root = bt_bdict_get(d, fe, "pieces root");
	/* BEP 52: a file of 0 bytes has no root; libtorrent ignores one. */
	if (len->v.i > 0) {
		if (root == NULL)
			return E("file tree: '%s': no 'pieces root' for %lld "
			    "bytes", esc_path(path, plen, eb),
			    (long long)len->v.i);
		if (root->type != BT_BSTR)
			return E("file tree: '%s': 'pieces root' is not a "
			    "string", esc_path(path, plen, eb));
		if (root->v.s.len != BT_SHA256_LEN)
			return E("file tree: '%s': 'pieces root' of %u bytes, "
			    "not %d", esc_path(path, plen, eb), root->v.s.len,
			    BT_SHA256_LEN);
	}
	/* Room for this file and the pad after it. */
	if (len->v.i > INT64_MAX - t->piece_length - l->off)
		return E("total length overflows 64 bits");
	if ((f = v2list_add(l)) == NULL || (f->path = malloc(plen + 1)) ==
	    NULL)
		return OOM();
	memcpy(f->path, path, plen);
	f->path[plen] = '\0';
	f->length = len->v.i;
	f->offset = l->off;
	if (len->v.i > 0)
		f->root = (const uint8_t *)bt_bstr(d, root);
	l->nreal++;
	l->off += len->v.i;
	if (len->v.i == 0 || (rem = l->off % t->piece_length) == 0)
		return 0;
	if ((f = v2list_add(l)) == NULL)
		return OOM();
	f->pad = 1;
	f->length = t->piece_length - rem;
	f->offset = l->off;
	if ((f->path = malloc(strlen(t->name) + 32)) == NULL)
		return OOM();
	snprintf(f->path, strlen(t->name) + 32, "%s/.pad/%lld", t->name,
	    (long long)f->length);
	l->off += f->length;
	return 0;
}

/* A folder of the tree being walked: its next key, pairs left. */
struct v2frame {
	const struct bt_bnode *k;
	uint32_t left;
	size_t plen;		/* bytes of the path to this folder */
};

/*
 * Walk the file tree in document order (sorted, as bencode dicts are),
 * iteratively with a stack of BT_V2_MAX_DEPTH folders. A v2-only tree
 * of one file at its root is a single-file torrent, its key the name,
 * as libtorrent reads it. A hybrid's paths follow its v1 part: libtorrent
 * makes a folder of one file a tree of one file too, and a v1 list of
 * one file under the name.
 */
static int
v2_walk(struct bt_torrent *t, const struct bt_bnode *ft, struct v2list *l,
    struct bt_err *e)
{
	const struct bt_bdoc *d = &t->doc;
	struct v2frame st[BT_V2_MAX_DEPTH];
	char path[BT_MAX_PATH_BYTES + 1], eb[ESC_MAX];
	size_t sp = 0, plen = 0;
	int single;

	if (t->v2only)
		single = ft->v.n == 1 && bt_bnext(ft + 1)->type == BT_BDICT &&
		    bt_bdict_get(d, bt_bnext(ft + 1), "") != NULL;
	else
		single = !t->multi;
	if (single && t->v2only) {
		const char *why = bt_path_component_problem(bt_bstr(d, ft + 1),
		    ft[1].v.s.len);

		if (why != NULL)
			return E("file tree: unsafe path '%s': %s",
			    bt_escape(bt_bstr(d, ft + 1), ft[1].v.s.len, eb,
			    sizeof(eb)), why);
		free(t->name);
		if ((t->name = malloc(ft[1].v.s.len + 1)) == NULL)
			return OOM();
		memcpy(t->name, bt_bstr(d, ft + 1), ft[1].v.s.len);
		t->name[ft[1].v.s.len] = '\0';
	}
	if (t->v2only)
		t->multi = !single;
	if (!single) {
		plen = strlen(t->name);
		memcpy(path, t->name, plen);
	}
	st[sp].k = ft + 1;
	st[sp].left = ft->v.n;
	st[sp++].plen = plen;
	while (sp > 0) {
		struct v2frame *fr = &st[sp - 1];
		const struct bt_bnode *k, *v, *fe;
		const char *why;
		size_t o = fr->plen;

		if (fr->left == 0) {
			sp--;
			continue;
		}
		k = fr->k;
		v = bt_bnext(k);
		fr->k = bt_bnext(v);
		fr->left--;
		if (o + 1 + k->v.s.len > BT_MAX_PATH_BYTES)
			return E("file tree: path longer than %d bytes (limit "
			    "BT_MAX_PATH_BYTES)", BT_MAX_PATH_BYTES);
		if (o > 0)
			path[o++] = '/';
		memcpy(path + o, bt_bstr(d, k), k->v.s.len);
		o += k->v.s.len;
		if ((why = bt_path_component_problem(bt_bstr(d, k),
		    k->v.s.len)) != NULL)
			return E("file tree: unsafe path '%s': %s",
			    esc_path(path, o, eb), why);
		if (v->type != BT_BDICT)
			return E("file tree: '%s' is not a dictionary",
			    esc_path(path, o, eb));
		/* BEP 52: a file is a dict whose only key is "". */
		if ((fe = bt_bdict_get(d, v, "")) != NULL) {
			if (v->v.n != 1)
				return E("file tree: '%s' is both a file and "
				    "a folder", esc_path(path, o, eb));
			if (v2_file(t, l, path, o, fe, e) < 0)
				return -1;
			continue;
		}
		if (sp == BT_V2_MAX_DEPTH)
			return E("file tree: deeper than %d folders (limit "
			    "BT_V2_MAX_DEPTH)", BT_V2_MAX_DEPTH);
		st[sp].k = v + 1;
		st[sp].left = v->v.n;
		st[sp++].plen = o;
	}
	return 0;
}

/* An entry of "piece layers": a 32-byte pieces root and its value. */
struct v2layer {
	const uint8_t *key;
	const struct bt_bnode *val;
};

static int
layercmp(const void *a, const void *b)
{
	return memcmp(((const struct v2layer *)a)->key,
	    ((const struct v2layer *)b)->key, BT_SHA256_LEN);
}

/*
 * BEP 52: "piece layers", outside info, holds the piece layer of every
 * file longer than one piece, under its pieces root. Each must be there,
 * of the file's piece count, and hash up to the root (info is the only
 * part the info hash covers). Entries for no file are ignored.
 */
static int
v2_layers(struct bt_torrent *t, const struct bt_bnode *top,
    struct v2list *l, struct bt_err *e)
{
	const struct bt_bdoc *d = &t->doc;
	const struct bt_bnode *pl, *k;
	struct v2layer *v = NULL, want, *got;
	uint8_t h[BT_SHA256_LEN];
	char eb[ESC_MAX];
	size_t nv = 0, i;
	uint32_t j;
	int r = 0;

	pl = bt_bdict_get(d, top, "piece layers");
	if (pl != NULL && pl->type != BT_BDICT)
		return E("'piece layers' is not a dictionary");
	if (pl != NULL && pl->v.n > 0) {
		if ((v = calloc(pl->v.n, sizeof(*v))) == NULL)
			return OOM();
		for (k = pl + 1, j = 0; j < pl->v.n; j++) {
			if (k->v.s.len == BT_SHA256_LEN) {
				v[nv].key = (const uint8_t *)bt_bstr(d, k);
				v[nv++].val = bt_bnext(k);
			}
			k = bt_bnext(bt_bnext(k));
		}
		qsort(v, nv, sizeof(*v), layercmp);
	}
	for (i = 0; i < l->n && r == 0; i++) {
		const struct bt_file *f = &l->f[i];
		uint64_t np;

		if (f->pad || f->length <= t->piece_length)
			continue;
		np = ((uint64_t)f->length - 1) / (uint64_t)t->piece_length + 1;
		bt_escape(f->path, strlen(f->path), eb, sizeof(eb));
		want.key = f->root;
		got = nv > 0 ? bsearch(&want, v, nv, sizeof(*v), layercmp) :
		    NULL;
		if (got == NULL)
			r = E("no piece layer for '%s' (%lld bytes, %llu "
			    "pieces)", eb, (long long)f->length,
			    (unsigned long long)np);
		else if (got->val->type != BT_BSTR)
			r = E("piece layer of '%s' is not a string", eb);
		else if (got->val->v.s.len != np * BT_SHA256_LEN)
			r = E("piece layer of '%s' is %u bytes, expected %llu "
			    "(%llu pieces)", eb, got->val->v.s.len,
			    (unsigned long long)np * BT_SHA256_LEN,
			    (unsigned long long)np);
		else if (bt_merkle_root_from_layer((const uint8_t *)
		    bt_bstr(d, got->val), np, t->piece_length, h) < 0)
			r = OOM();
		else if (memcmp(h, f->root, BT_SHA256_LEN) != 0)
			r = E("piece layer of '%s' does not hash to its "
			    "pieces root", eb);
		else
			l->layer[i] = (const uint8_t *)bt_bstr(d, got->val);
	}
	free(v);
	return r;
}

/*
 * A hybrid: BEP 52 asks the v1 part to hold the same files as the tree,
 * in the same order, pads between them so that each starts a piece.
 * Each non-pad v1 file must be the next file of the v2 layout: same path,
 * same length, same offset; then both parts have the same pieces. map[j]
 * is the v1 index of v2 file j.
 */
static int
v2_match(struct bt_torrent *t, const struct v2list *l, size_t *map,
    struct bt_err *e)
{
	char ea[ESC_MAX], eb[ESC_MAX];
	size_t i = 0, j = 0;
	uint64_t np2 = (uint64_t)l->off / (uint64_t)t->piece_length;

#define DIFF(...) E("hybrid torrent: v1 and v2 file lists differ: "	\
	    __VA_ARGS__)
	for (;; i++, j++) {
		struct bt_file *a;
		const struct bt_file *b;

		while (i < t->nfiles && t->files[i].pad)
			i++;
		while (j < l->n && l->f[j].pad)
			j++;
		if (i == t->nfiles && j == l->n)
			break;
		if (j < l->n)
			bt_escape(l->f[j].path, strlen(l->f[j].path), eb,
			    sizeof(eb));
		if (i < t->nfiles)
			bt_escape(t->files[i].path, strlen(t->files[i].path),
			    ea, sizeof(ea));
		if (i == t->nfiles)
			return DIFF("'%s' is not in v1", eb);
		if (j == l->n)
			return DIFF("v1 file %zu '%s' is not in the file tree",
			    i, ea);
		a = &t->files[i];
		b = &l->f[j];
		if (strcmp(a->path, b->path) != 0)
			return DIFF("v1 file %zu is '%s', the file tree's is "
			    "'%s'", i, ea, eb);
		if (a->length != b->length)
			return DIFF("'%s' is %lld bytes in v1, %lld in the "
			    "file tree", ea, (long long)a->length,
			    (long long)b->length);
		if (a->length > 0 && a->offset != b->offset)
			return DIFF("'%s' starts at byte %lld in v1, at %lld "
			    "in v2 (pads missing or wrong)", ea,
			    (long long)a->offset, (long long)b->offset);
		a->root = b->root;
		map[j] = i;
	}
	if (np2 != t->npieces)
		return DIFF("%u pieces in v1, %llu in v2", t->npieces,
		    (unsigned long long)np2);
#undef DIFF
	return 0;
}

/* For each piece of the layout, its v2 hash and its file. */
static int
v2_pieces(struct bt_torrent *t, const struct v2list *l, const size_t *map,
    struct bt_err *e)
{
	size_t j;

	t->v2hashes = malloc((size_t)t->npieces * BT_SHA256_LEN);
	t->v2file = malloc((size_t)t->npieces * sizeof(*t->v2file));
	if (t->v2hashes == NULL || t->v2file == NULL)
		return OOM();
	for (j = 0; j < l->n; j++) {
		const struct bt_file *f = &l->f[j];
		uint64_t p0, np, k;

		if (f->pad || f->length == 0)
			continue;
		p0 = (uint64_t)f->offset / (uint64_t)t->piece_length;
		np = ((uint64_t)f->length - 1) / (uint64_t)t->piece_length + 1;
		if (f->length > t->piece_length)
			memcpy(t->v2hashes + p0 * BT_SHA256_LEN, l->layer[j],
			    np * BT_SHA256_LEN);
		else
			memcpy(t->v2hashes + p0 * BT_SHA256_LEN, f->root,
			    BT_SHA256_LEN);
		for (k = p0; k < p0 + np; k++)
			t->v2file[k] = (uint32_t)(map != NULL ? map[j] : j);
	}
	return 0;
}

/*
 * The v2 part of info (top is the whole torrent, for "piece layers").
 * For a v2-only torrent the layout becomes t->files; for a hybrid the v1
 * files, already parsed, must agree with it.
 */
static int
parse_v2(struct bt_torrent *t, const struct bt_bnode *top,
    const struct bt_bnode *info, struct bt_err *e)
{
	struct v2list l = { 0 };
	const struct bt_bnode *ft;
	size_t *map = NULL;
	int r = -1;

	ft = bt_bdict_get(&t->doc, info, "file tree");
	if (ft == NULL || ft->type != BT_BDICT)
		return E("v2 torrent: missing or invalid 'file tree'");
	if (v2_walk(t, ft, &l, e) < 0)
		goto out;
	if (t->v2only) {
		if (l.off == 0) {
			r = E("the torrent holds no data (total length 0)");
			goto out;
		}
		if (l.off / t->piece_length > BT_MAX_PIECES) {
			r = E("more than %ld pieces (limit BT_MAX_PIECES)",
			    (long)BT_MAX_PIECES);
			goto out;
		}
		t->total_length = l.off;
		t->npieces = (uint32_t)(l.off / t->piece_length);
	}
	if (v2_layers(t, top, &l, e) < 0)
		goto out;
	if (!t->v2only) {
		if (l.n > 0 && (map = calloc(l.n, sizeof(*map))) == NULL) {
			r = OOM();
			goto out;
		}
		if (v2_match(t, &l, map, e) < 0)
			goto out;
	}
	r = v2_pieces(t, &l, map, e);
	if (r == 0 && t->v2only) {
		/* The layout is the torrent's files now. */
		t->files = l.f;
		t->nfiles = l.n;
		l.f = NULL;
		l.n = 0;
	}
out:
	if (r < 0 && t->v2only && t->files == NULL) {
		/* bt_torrent_free frees the files of a failed parse. */
		t->files = l.f;
		t->nfiles = l.n;
		l.f = NULL;
		l.n = 0;
	}
	free(map);
	v2list_free(&l);
	return r;
}

int64_t
bt_piece_size_v2(const struct bt_torrent *t, uint32_t i)
{
	const struct bt_file *f;
	int64_t start = (int64_t)i * t->piece_length, end;

	if (!t->v2 || t->v2file == NULL || i >= t->npieces)
		return 0;
	f = &t->files[t->v2file[i]];
	end = f->offset + f->length;
	return end - start < t->piece_length ? end - start : t->piece_length;
}

uint64_t
bt_piece_width_v2(const struct bt_torrent *t, uint32_t i)
{
	/* A file of one piece or less: its root is over its own blocks. */
	if (t->files[t->v2file[i]].length > t->piece_length)
		return (uint64_t)t->piece_length / BT_MERKLE_BLOCK;
	return bt_merkle_width(bt_merkle_nblocks(bt_piece_size_v2(t, i)));
}

int
bt_piece_check_v2(const struct bt_torrent *t, uint32_t i,
    const uint8_t *data, size_t len)
{
	static const uint8_t zero[BT_SHA256_LEN];
	uint8_t h[BT_SHA256_LEN], *leaves;
	int64_t want = bt_piece_size_v2(t, i);
	uint64_t nb;
	int r;

	if (want <= 0 || len != (size_t)want)
		return 0;
	nb = bt_merkle_nblocks((int64_t)len);
	if ((leaves = malloc(nb * BT_SHA256_LEN)) == NULL)
		return -1;
	bt_merkle_leaves(data, len, leaves);
	r = bt_merkle_root(leaves, nb, bt_piece_width_v2(t, i), zero, h);
	free(leaves);
	if (r < 0)
		return -1;
	return memcmp(h, bt_piece_hash_v2(t, i), BT_SHA256_LEN) == 0;
}

static int
parse_trackers(struct bt_torrent *t, const struct bt_bnode *root)
{
	const struct bt_bdoc *d = &t->doc;
	const struct bt_bnode *n, *tier, *u;
	size_t count = 0;
	uint32_t i, j;

	if ((n = bt_bdict_get_type(d, root, "announce", BT_BSTR)) != NULL &&
	    (t->announce = dupstr(d, n)) == NULL)
		return -1;
	/* BEP 12; malformed entries are skipped, as mature clients do. */
	n = bt_bdict_get_type(d, root, "announce-list", BT_BLIST);
	if (n != NULL && n->v.n > 0) {
		t->tiers = calloc(n->v.n, sizeof(*t->tiers));
		if (t->tiers == NULL)
			return -1;
		for (tier = n + 1, i = 0; i < n->v.n;
		    i++, tier = bt_bnext(tier)) {
			struct bt_tier *tt = &t->tiers[t->ntiers];

			if (tier->type != BT_BLIST || tier->v.n == 0)
				continue;
			tt->url = calloc(tier->v.n, sizeof(char *));
			if (tt->url == NULL)
				return -1;
			for (u = tier + 1, j = 0; j < tier->v.n;
			    j++, u = bt_bnext(u)) {
				if (u->type != BT_BSTR || u->v.s.len == 0)
					continue;
				if (count >= BT_MAX_TRACKERS) {
					t->trackers_dropped++;
					continue;
				}
				if ((tt->url[tt->n] = dupstr(d, u)) == NULL)
					return -1;
				tt->n++;
				count++;
			}
			if (tt->n > 0)
				t->ntiers++;
			else
				free(tt->url);
		}
	}
	/* BEP 19: a string or a list of strings. */
	n = bt_bdict_get(d, root, "url-list");
	if (n != NULL && n->type == BT_BSTR && n->v.s.len > 0) {
		if ((t->url_list = calloc(1, sizeof(char *))) == NULL ||
		    (t->url_list[0] = dupstr(d, n)) == NULL)
			return -1;
		t->nurl = 1;
	} else if (n != NULL && n->type == BT_BLIST && n->v.n > 0) {
		if ((t->url_list = calloc(n->v.n, sizeof(char *))) == NULL)
			return -1;
		for (u = n + 1, j = 0; j < n->v.n; j++, u = bt_bnext(u))
			if (u->type == BT_BSTR && u->v.s.len > 0 &&
			    (t->url_list[t->nurl++] = dupstr(d, u)) == NULL)
				return -1;
	}
	return 0;
}

int
bt_torrent_parse(struct bt_torrent *t, char *buf, size_t len,
    struct bt_err *e)
{
	const struct bt_bnode *root, *info, *n, *pieces, *files, *length;
	struct bt_bdoc *d = &t->doc;
	const char *why;
	int64_t want;

	memset(t, 0, sizeof(*t));
	t->raw = buf;
	t->rawlen = len;
	if (len > (size_t)BT_TORRENT_MAX_BYTES)
		return E("torrent larger than %lld bytes (limit "
		    "BT_TORRENT_MAX_BYTES)", (long long)BT_TORRENT_MAX_BYTES);
	if (bt_bdecode(d, buf, len, 0, e) < 0)
		return -1;
	/*
	 * A repeated key lets two clients read two different torrents
	 * (which "info", which "length"?) under one info hash: refuse it.
	 * Keys out of order are harmless and accepted, as mature clients do.
	 */
	if (d->dup_off >= 0)
		return bt_errf(e, BT_EX_DATAERR, d->dup_off,
		    "dictionary key repeated");
	root = &d->node[0];
	if (root->type != BT_BDICT)
		return E("not a torrent: the top level is not a dictionary");
	info = bt_bdict_get(d, root, "info");
	if (info == NULL)
		return E("not a torrent: no 'info' dictionary");
	if (info->type != BT_BDICT)
		return E("'info' is not a dictionary");
	t->info_off = info->off;
	t->info_len = info->len;
	bt_sha1(buf + info->off, info->len, t->info_hash);

	n = bt_bdict_get_type(d, info, "meta version", BT_BINT);
	pieces = bt_bdict_get(d, info, "pieces");
	/* BEP 52: meta version 2; with v1 "pieces" too, a hybrid. */
	if (n != NULL && n->v.i == 2) {
		t->v2 = 1;
		t->v2only = pieces == NULL;
		t->hybrid = !t->v2only;
		bt_sha256(buf + info->off, info->len, t->info_hash_v2);
	}
	n = bt_bdict_get(d, info, "name");
	if (n == NULL || n->type != BT_BSTR)
		return E("missing or invalid 'name'");
	if ((why = bt_path_component_problem(bt_bstr(d, n), n->v.s.len)))
		return E("unsafe 'name': %s", why);
	if ((t->name = dupstr(d, n)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");

	n = bt_bdict_get(d, info, "piece length");
	if (n == NULL || n->type != BT_BINT)
		return E("missing or invalid 'piece length'");
	if (n->v.i <= 0)
		return E("'piece length' %lld is not positive",
		    (long long)n->v.i);
	if (n->v.i > BT_MAX_PIECE_LENGTH)
		return E("'piece length' %lld over %ld (limit "
		    "BT_MAX_PIECE_LENGTH)", (long long)n->v.i,
		    (long)BT_MAX_PIECE_LENGTH);
	t->piece_length = n->v.i;
	if (t->v2 && !v2_piece_length_ok(t->piece_length))
		return E("v2 torrent: 'piece length' %lld is not a power of "
		    "two of at least %d", (long long)t->piece_length,
		    BT_MERKLE_BLOCK);
	if (t->v2only) {
		if (parse_v2(t, root, info, e) < 0)
			return -1;
		/* BEP 52: the v2 hash cut to 20 bytes on the wire. */
		memcpy(t->info_hash, t->info_hash_v2, BT_SHA1_LEN);
		goto common;
	}

	if (pieces == NULL || pieces->type != BT_BSTR)
		return E("missing or invalid 'pieces'");
	if (pieces->v.s.len % BT_SHA1_LEN != 0)
		return E("'pieces' length %u is not a multiple of 20",
		    pieces->v.s.len);
	if (pieces->v.s.len / BT_SHA1_LEN > BT_MAX_PIECES)
		return E("more than %ld pieces (limit BT_MAX_PIECES)",
		    (long)BT_MAX_PIECES);
	t->npieces = pieces->v.s.len / BT_SHA1_LEN;
	t->pieces = (const uint8_t *)bt_bstr(d, pieces);

	length = bt_bdict_get(d, info, "length");
	files = bt_bdict_get(d, info, "files");
	if (length != NULL && files != NULL)
		return E("both 'length' and 'files' in 'info'");
	if (length == NULL && files == NULL)
		return E("neither 'length' nor 'files' in 'info'");
	if (length != NULL) {
		if (length->type != BT_BINT)
			return E("'length' is not an integer");
		if (length->v.i < 0)
			return E("negative 'length'");
		t->total_length = length->v.i;
		if ((t->files = calloc(1, sizeof(*t->files))) == NULL ||
		    (t->files[0].path = strdup(t->name)) == NULL)
			return bt_errf(e, BT_EX_SOFTWARE, -1,
			    "out of memory");
		t->files[0].length = length->v.i;
		t->nfiles = 1;
	} else {
		if (files->type != BT_BLIST)
			return E("'files' is not a list");
		t->multi = 1;
		if (parse_files(t, files, e) < 0)
			return -1;
	}
	if (t->total_length == 0)
		return E("the torrent holds no data (total length 0)");
	want = (t->total_length - 1) / t->piece_length + 1;
	if (want != (int64_t)t->npieces)
		return E("%u piece hashes for %lld bytes in pieces of %lld: "
		    "expected %lld", t->npieces, (long long)t->total_length,
		    (long long)t->piece_length, (long long)want);
	if (t->hybrid && parse_v2(t, root, info, e) < 0)
		return -1;

common:
	if ((n = bt_bdict_get_type(d, info, "private", BT_BINT)) != NULL)
		t->private = n->v.i == 1;
	if ((n = bt_bdict_get_type(d, root, "creation date", BT_BINT))) {
		t->has_date = 1;
		t->creation_date = n->v.i;
	}
	if (((n = bt_bdict_get_type(d, root, "comment", BT_BSTR)) &&
	    (t->comment = dupstr(d, n)) == NULL) ||
	    ((n = bt_bdict_get_type(d, root, "created by", BT_BSTR)) &&
	    (t->created_by = dupstr(d, n)) == NULL) ||
	    parse_trackers(t, root) < 0)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	return 0;
}

int
bt_torrent_load(struct bt_torrent *t, const char *path, struct bt_err *e)
{
	char *buf;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (bt_read_file(path, BT_TORRENT_MAX_BYTES,
	    "BT_TORRENT_MAX_BYTES", &buf, &len, e) < 0)
		return -1;
	return bt_torrent_parse(t, buf, len, e);
}

void
bt_torrent_free(struct bt_torrent *t)
{
	size_t i, j;

	for (i = 0; i < t->nfiles; i++)
		free(t->files[i].path);
	free(t->files);
	free(t->v2hashes);
	free(t->v2file);
	for (i = 0; i < t->ntiers; i++) {
		for (j = 0; j < t->tiers[i].n; j++)
			free(t->tiers[i].url[j]);
		free(t->tiers[i].url);
	}
	free(t->tiers);
	for (i = 0; i < t->nurl; i++)
		free(t->url_list[i]);
	free(t->url_list);
	free(t->announce);
	free(t->name);
	free(t->comment);
	free(t->created_by);
	bt_bdoc_free(&t->doc);
	free(t->raw);
	memset(t, 0, sizeof(*t));
}

int64_t
bt_piece_size(const struct bt_torrent *t, uint32_t i)
{
	int64_t off = (int64_t)i * t->piece_length;
	int64_t left = t->total_length - off;

	return left < t->piece_length ? left : t->piece_length;
}
