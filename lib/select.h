/*
 * File selection (bt(7) FILE SELECTION): which files of a torrent a
 * download is about, given as file indices ("--files 0-9,42", 0-based, in
 * the torrent's file order) or as globs on the file's path ("--only
 * '*.txt'", fnmatch(3), several allowed). The result is a bitmap of the
 * chosen files and one of the pieces that hold their bytes. BEP 47 pad
 * files are never chosen.
 */
#ifndef BT_SELECT_H
#define BT_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"

enum { BT_SELECT_FILES = 1, BT_SELECT_ONLY = 2 };

struct bt_select {
	const char **arg;	/* as given (not owned) */
	int *kind;		/* BT_SELECT_FILES or BT_SELECT_ONLY */
	size_t narg;
	uint8_t *file;		/* bit per file: chosen (bt_bit_get order) */
	uint8_t *piece;		/* bit per piece: holds a chosen file's byte */
	size_t nchosen;		/* files chosen */
	uint32_t npieces;	/* pieces in piece */
};

void bt_select_init(struct bt_select *s);
/* Remember one --files LIST or --only GLOB (arg is kept, not copied). */
int bt_select_add(struct bt_select *s, int kind, const char *arg,
    struct bt_err *e);
/* 1 when something was added: a selection is in force. */
int bt_select_given(const struct bt_select *s);
/*
 * Turn what was added into the bitmaps for t. Errors, BT_EX_USAGE: an
 * index past the last file or a malformed LIST, a GLOB that matches no
 * file, a selection of no file but pad files.
 */
int bt_select_resolve(struct bt_select *s, const struct bt_torrent *t,
    struct bt_err *e);
void bt_select_free(struct bt_select *s);

#endif
