#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "store.h"
#include "util.h"
#include "wire.h"

void
bt_select_init(struct bt_select *s)
{
	memset(s, 0, sizeof(*s));
}

int
bt_select_add(struct bt_select *s, int kind, const char *arg,
    struct bt_err *e)
{
	const char **a;
	int *k;

	a = realloc(s->arg, (s->narg + 1) * sizeof(*a));
	if (a == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	s->arg = a;
	k = realloc(s->kind, (s->narg + 1) * sizeof(*k));
	if (k == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	s->kind = k;
	s->arg[s->narg] = arg;
	s->kind[s->narg++] = kind;
	return 0;
}

int
bt_select_given(const struct bt_select *s)
{
	return s->narg > 0;
}

/* "0-9,42": file indices and ranges, each below t->nfiles. */
static int
add_list(struct bt_select *s, const struct bt_torrent *t, const char *arg,
    struct bt_err *e)
{
	char *str, *tok, *save = NULL, *dash;
	long long a, b, i;
	int n = 0;

	if ((str = strdup(arg)) == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (tok = strtok_r(str, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((dash = strchr(tok, '-')) != NULL)
			*dash = '\0';
		if (bt_strtonum(tok, 0, (long long)t->nfiles - 1, &a, e) < 0 ||
		    (dash != NULL && bt_strtonum(dash + 1, a,
		    (long long)t->nfiles - 1, &b, e) < 0)) {
			char why[sizeof(e->msg)];

			/* e->msg is both source and target otherwise. */
			snprintf(why, sizeof(why), "%s", e->msg);
			bt_errf(e, BT_EX_USAGE, -1, "--files %s: %s (the "
			    "torrent has %zu files)", arg, why, t->nfiles);
			free(str);
			return -1;
		}
		if (dash == NULL)
			b = a;
		for (i = a; i <= b; i++)
			if (!t->files[i].pad)
				bt_bit_set(s->file, (uint32_t)i);
		n++;
	}
	free(str);
	if (n == 0)
		return bt_errf(e, BT_EX_USAGE, -1, "--files '%s': no file "
		    "index", arg);
	return 0;
}

/*
 * A glob matches the path as bt-decode -i lists it (with the torrent's
 * folder first in a multi-file torrent) or the path inside that folder;
 * '*' matches '/' too.
 */
static int
add_glob(struct bt_select *s, const struct bt_torrent *t, const char *glob,
    struct bt_err *e)
{
	size_t i, skip = t->multi ? strlen(t->name) + 1 : 0;
	int hit = 0;

	for (i = 0; i < t->nfiles; i++) {
		const char *p = t->files[i].path;

		if (t->files[i].pad)
			continue;
		if (fnmatch(glob, p, 0) == 0 || (skip > 0 &&
		    strlen(p) > skip && fnmatch(glob, p + skip, 0) == 0)) {
			bt_bit_set(s->file, (uint32_t)i);
			hit = 1;
		}
	}
	if (!hit)
		return bt_errf(e, BT_EX_USAGE, -1, "--only '%s': matches no "
		    "file of the torrent", glob);
	return 0;
}

int
bt_select_resolve(struct bt_select *s, const struct bt_torrent *t,
    struct bt_err *e)
{
	size_t i;
	uint32_t a, b, p;

	free(s->file);
	free(s->piece);
	s->file = calloc(1, t->nfiles / 8 + 1);
	s->piece = calloc(1, t->npieces / 8 + 1);
	s->nchosen = 0;
	s->npieces = 0;
	if (s->file == NULL || s->piece == NULL)
		return bt_errf(e, BT_EX_SOFTWARE, -1, "out of memory");
	for (i = 0; i < s->narg; i++) {
		int r = s->kind[i] == BT_SELECT_FILES ?
		    add_list(s, t, s->arg[i], e) :
		    add_glob(s, t, s->arg[i], e);

		if (r < 0)
			return -1;
	}
	for (i = 0; i < t->nfiles; i++) {
		if (!bt_bit_get(s->file, (uint32_t)i))
			continue;
		s->nchosen++;
		if (t->files[i].length == 0)
			continue;
		bt_file_pieces(t, i, &a, &b);
		for (p = a; p <= b; p++)
			if (!bt_bit_get(s->piece, p)) {
				bt_bit_set(s->piece, p);
				s->npieces++;
			}
	}
	if (s->nchosen == 0)
		return bt_errf(e, BT_EX_USAGE, -1, "the selection holds no "
		    "file (pad files are never chosen)");
	return 0;
}

void
bt_select_free(struct bt_select *s)
{
	free(s->arg);
	free(s->kind);
	free(s->file);
	free(s->piece);
	memset(s, 0, sizeof(*s));
}
