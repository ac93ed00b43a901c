#include <stdlib.h>
#include <string.h>

#include "btlimits.h"
#include "metainfo.h"
#include "util.h"

#define E(...) bt_errf(e, BT_EX_DATAERR, -1, __VA_ARGS__)

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
	if (n != NULL && n->v.i == 2) {
		if (pieces == NULL)
			return E("v2 torrent: not supported yet "
			    "(BEP 52 without v1 pieces)");
		t->hybrid = 1;
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
