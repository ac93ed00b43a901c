/*
 * The pieces of a torrent <-> its files under a folder DIR.
 *
 * Paths come from lib/metainfo (already checked against the safe-path
 * policy), and every open walks them one component at a time from a file
 * descriptor of DIR with O_NOFOLLOW (O_DIRECTORY for folders): a symbolic
 * link planted in DIR is never followed, so nothing outside DIR is read or
 * written.
 *
 * Temporary names: a file is written as "NAME.part" beside its real name
 * until every piece touching it has been written and verified; then it is
 * fdatasync'ed and renamed to NAME. A file found under its real name
 * (data from an earlier run, or another client's) is read as it is, and
 * takes its temporary name before a piece is written into it, until it is
 * complete again: a file under its real name is never in the middle of a
 * write. Readers (bt_store_verify) look for NAME, then NAME.part, so
 * resume works. BEP 47 pad files are never written; they read as zeros.
 *
 * Existing data is never truncated: a file longer than the torrent says
 * (under either name) is neither written into nor renamed (BT_EX_IOERR),
 * and bt_store_verify never calls good the piece holding its last byte.
 */
#ifndef BT_STORE_H
#define BT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "metainfo.h"

#define BT_STORE_PART	".part"
/* The side file, DIR/.bt/<info hash in hex>.parts (bt(7) FILE SELECTION). */
#define BT_STORE_SIDE_DIR	".bt"
#define BT_STORE_SIDE_EXT	".parts"

/* What bt_store_verify finds for one piece. */
enum { BT_PIECE_MISSING = 0, BT_PIECE_BAD = 1, BT_PIECE_GOOD = 2 };

struct bt_store_file {
	int fd;			/* cached descriptor, or -1 */
	int writable;		/* fd is open O_RDWR */
	int temp;		/* fd is NAME.part (not yet renamed) */
	uint32_t pending;	/* pieces touching it not yet known good */
};

/* A torrent's files opened for writing (bt-assemble). */
struct bt_store {
	const struct bt_torrent *t;	/* not owned */
	int dirfd;
	uint8_t *good;		/* per piece: verified in this run */
	struct bt_store_file *f;
	size_t *ring;		/* indices of files with an open fd */
	size_t nring, ringpos, ringcap;
	uint8_t *buf;		/* one piece, for bt_store_finish */
	uint32_t nwritten, nbad;	/* pieces written / refused */
	uint32_t nskipped;	/* good pieces holding no chosen byte */
	size_t nrenamed;	/* files given their real name */
	const uint8_t *chosen;	/* bit per file to write, or NULL: all */
	int64_t *side;		/* per piece: its data in the side file, or -1 */
	int sidefd;		/* the side file, open to append, or -1 */
	int64_t side_end;	/* end of its last whole record */
};

/*
 * Open DIR for writing t's files (DIR is created if missing; its parents
 * are not). Errors: BT_EX_IOERR (cannot create or open DIR), BT_EX_DATAERR
 * (a file's path is another's temporary name).
 */
int bt_store_open(struct bt_store *s, const struct bt_torrent *t,
    const char *dir, struct bt_err *e);
/*
 * Write only the files whose bit is set in chosen (bt_bit_get order, one
 * bit per file; not copied, kept until bt_store_close). Bytes of a piece
 * that fall in a file not chosen are not written; when the piece also
 * holds a chosen file's bytes, the whole piece is appended to the side
 * file instead (once). Unchosen files are never created nor renamed.
 */
void bt_store_select(struct bt_store *s, const uint8_t *chosen);
/*
 * Check piece index's SHA-1 and, if it matches, write it at its offsets,
 * renaming every file it completes. Returns 1 written, 0 SHA-1 mismatch
 * (nothing written), -1 on error (BT_EX_IOERR: disk full, read-only, a
 * symbolic link, a non-regular file or a file too long in the way).
 */
int bt_store_put(struct bt_store *s, uint32_t index, const void *data,
    size_t len, struct bt_err *e);
/*
 * End of a run: pieces kept in the side file are written into the chosen
 * files that need them (after their SHA-1 is checked again); files still
 * under their temporary name whose remaining pieces verify on disk (from
 * an earlier run) are renamed; zero-length files are created; the side
 * file is removed once every file its pieces touch is complete. Returns
 * 0 or -1.
 */
int bt_store_finish(struct bt_store *s, struct bt_err *e);
/* 1 if file i is present under its real name (after bt_store_finish). */
int bt_store_file_done(struct bt_store *s, size_t i);
void bt_store_close(struct bt_store *s);

/*
 * Recheck t's data under dir, on nthreads threads (disjoint piece ranges,
 * large sequential reads). state[npieces] receives BT_PIECE_*: missing when
 * a file is absent, shorter than needed, or the piece's part of it is a
 * hole (never written); bad when present but the SHA-1 differs. A missing
 * DIR means every piece is missing; so is a file behind a symbolic link.
 * The piece holding the last byte of a file longer than t says is bad.
 * Returns 0, or -1 on a read error (BT_EX_IOERR) or a DIR that is not a
 * folder (BT_EX_NOINPUT).
 */
int bt_store_verify(const struct bt_torrent *t, const char *dir,
    int nthreads, uint8_t *state, struct bt_err *e);

/*
 * After bt_store_verify: a piece found missing whose whole copy in the
 * side file has the right SHA-1, and whose bytes that are on disk equal
 * that copy's, is good (bt_store_finish puts it in place). Returns 0, or
 * -1 on a read error (BT_EX_IOERR).
 */
int bt_store_verify_side(const struct bt_torrent *t, const char *dir,
    uint8_t *state, struct bt_err *e);

/*
 * 1 with e naming it (BT_EX_IOERR) if a file of t under dir, under either
 * name, is longer than t says; else 0.
 */
int bt_store_too_long(const struct bt_torrent *t, const char *dir,
    struct bt_err *e);

/* The pieces first..last that hold bytes of file i (length > 0). */
void bt_file_pieces(const struct bt_torrent *t, size_t i, uint32_t *first,
    uint32_t *last);

#endif
