/*
 * The extension protocol (BEP 10) and the extended messages bt speaks
 * over it: ut_metadata (BEP 9, metadata exchange) and ut_pex (BEP 11,
 * peer exchange). Pure encoding and checking, no I/O: the engines read
 * an extended message (peer wire id 20) whole, then hand its payload
 * (the bytes after the extended id byte) to these parsers.
 *
 * BEP 10: each side chooses the ids under which it receives each
 * extension and tells them in its handshake's "m" dict; a message is
 * sent under the id the receiver chose. 0 is the handshake itself.
 */
#ifndef BT_EXT_H
#define BT_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "err.h"
#include "peerlist.h"

/* The ids we receive under (what our handshake's "m" says). */
#define BT_EXT_HANDSHAKE	0
#define BT_EXT_UT_METADATA	1
#define BT_EXT_UT_PEX		2

/* What a peer's extension handshake told us. */
struct bt_ext_hs {
	uint8_t ut_metadata;	/* the peer's id for it; 0: not spoken */
	uint8_t ut_pex;
	int64_t metadata_size;	/* BEP 9; -1 when not given */
	int reqq;		/* requests it queues; -1 when not given */
	uint16_t port;		/* "p": where it listens; 0 when not given */
	int upload_only;	/* BEP 21 "upload_only" non-zero */
	char client[64];	/* "v", made printable; "" when not given */
};

/*
 * Parse the payload of an extension handshake (a bencoded dict, at most
 * BT_EXT_MAX_HANDSHAKE bytes). Unknown keys are ignored and ids over 255
 * or of the wrong type are taken as absent, as BEP 10 lets a client add
 * keys; a payload that is not a dict, or a metadata_size below 1 or over
 * BT_METADATA_MAX_BYTES, is BT_EX_DATAERR.
 */
int bt_ext_hs_parse(const uint8_t *p, size_t n, struct bt_ext_hs *h,
    struct bt_err *e);

/* What our handshake says. */
struct bt_ext_hs_conf {
	int metadata;		/* offer ut_metadata */
	int64_t metadata_size;	/* with this size; <= 0: not told (we do
				   not have it yet) */
	int pex;		/* offer ut_pex */
	uint16_t port;		/* "p"; 0: not told */
	int reqq;		/* "reqq"; 0: not told */
	int upload_only;	/* BEP 21 */
};

/*
 * Append a whole extension handshake message (length prefix, id 20,
 * extended id 0, dict) to out; "v" is "bt/" and our version.
 */
int bt_ext_hs_encode(struct bt_buf *out, const struct bt_ext_hs_conf *c);

/* BEP 9 message types. */
enum { BT_MD_REQUEST = 0, BT_MD_DATA = 1, BT_MD_REJECT = 2 };

struct bt_md_msg {
	int type;		/* BT_MD_* */
	uint32_t piece;
	int64_t total_size;	/* data: "total_size"; else -1 */
	const uint8_t *data;	/* data: the piece's bytes (after the dict) */
	size_t len;
};

/*
 * Parse the payload of a ut_metadata message: a dict (msg_type, piece,
 * and for data total_size), then for data the piece's bytes. Checks the
 * types and ranges (msg_type 0..2, piece 0 .. 2^31, total_size 1 ..
 * BT_METADATA_MAX_BYTES, data of at most BT_METADATA_PIECE bytes; no
 * bytes after the dict unless data). Whether a piece index fits the
 * metadata's size is the caller's to check (bt_md_piece_len).
 * An integer msg_type other than 0..2 is -1 with m->type set to
 * BT_MD_UNKNOWN: BEP 9 says such a message must be ignored, not
 * punished; after any other failure m->type is -1.
 */
#define BT_MD_UNKNOWN	(-2)
int bt_md_parse(const uint8_t *p, size_t n, struct bt_md_msg *m,
    struct bt_err *e);

/*
 * Append a whole ut_metadata message for a peer that receives it under
 * id: a request or reject (data NULL), or data with total_size and the
 * piece's len bytes.
 */
int bt_md_encode(struct bt_buf *out, uint8_t id, int type, uint32_t piece,
    int64_t total_size, const uint8_t *data, size_t len);

/*
 * Append the answer to a request for piece i of the metadata info (the
 * info dict's len bytes), for a peer that receives ut_metadata under id:
 * the data message of that piece, or a reject when i is past the last.
 */
int bt_md_answer(struct bt_buf *out, uint8_t id, const uint8_t *info,
    size_t len, uint32_t i);

/* Pieces of metadata of size bytes, and the length of piece i (0 if i is
   past the last). */
uint32_t bt_md_npieces(int64_t size);
size_t bt_md_piece_len(int64_t size, uint32_t i);

/* BEP 11 flags of an added peer. */
#define BT_PEX_ENCRYPT	0x01
#define BT_PEX_SEED	0x02
#define BT_PEX_UTP	0x04
#define BT_PEX_HOLEPUNCH 0x08
#define BT_PEX_REACHABLE 0x10

struct bt_pex {
	struct bt_peer_addr *added;	/* added and added6, in order */
	uint8_t *flags;			/* one per added peer (0 if none
					   were sent) */
	size_t nadded;
	struct bt_peer_addr *dropped;	/* dropped and dropped6 */
	size_t ndropped;
	size_t over;	/* peers past max, ignored */
};

/*
 * Parse the payload of a ut_pex message: compact "added" (6 bytes a
 * peer), "added.f" (a flag byte a peer), "added6" (18), "added6.f",
 * "dropped", "dropped6". At most max peers are kept of each of added
 * and dropped; a compact string not a multiple of its size, or port 0,
 * is BT_EX_DATAERR. Free with bt_pex_free whatever the result.
 */
int bt_pex_parse(const uint8_t *p, size_t n, size_t max, struct bt_pex *x,
    struct bt_err *e);
void bt_pex_free(struct bt_pex *x);

/* Append a whole ut_pex message for a peer that receives it under id. */
int bt_pex_encode(struct bt_buf *out, uint8_t id,
    const struct bt_peer_addr *added, const uint8_t *flags, size_t nadded,
    const struct bt_peer_addr *dropped, size_t ndropped);

#endif
