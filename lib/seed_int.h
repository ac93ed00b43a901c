/*
 * Inside lib/seed: the data reader (seed_data.c) and the announce thread
 * (seed_announce.c) that the event loop (seed.c) uses. Not for cmd/.
 */
#ifndef BT_SEED_INT_H
#define BT_SEED_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "btlimits.h"
#include "err.h"
#include "metainfo.h"
#include "peerlist.h"
#include "seed.h"

/* What a read or a check of the data found. */
enum {
	BT_SDATA_OK = 0,
	BT_SDATA_BAD = 1,	/* read, SHA-1 differs */
	BT_SDATA_MISSING = 2,	/* a file absent or short */
	BT_SDATA_IOERR = 3,	/* the disk failed */
	BT_SDATA_AGAIN = 4,	/* out of descriptors: try later */
};

struct bt_sdata {
	const struct bt_torrent *t;
	int dirfd;
	int *fd;		/* per file: open descriptor or -1 */
	size_t *ring;		/* files with an open descriptor */
	size_t ncache, ringpos;
	uint8_t *buf;		/* BT_SEED_CHECK_BUF, for bt_sdata_check */
};

int bt_sdata_open(struct bt_sdata *d, const struct bt_torrent *t,
    const char *dir, int cache, struct bt_err *e);
void bt_sdata_close(struct bt_sdata *d);
/* len bytes of piece index from begin into out: BT_SDATA_*. */
int bt_sdata_read(struct bt_sdata *d, uint32_t index, uint32_t begin,
    size_t len, uint8_t *out);
/* Read piece index and compare its SHA-1: BT_SDATA_*. */
int bt_sdata_check(struct bt_sdata *d, uint32_t index);

/*
 * The announce thread: started, then at the tracker's interval, then
 * stopped when told to end. Peers the trackers give are queued for the
 * loop, which is woken through an eventfd.
 */
struct bt_sann {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, stop;
	const struct bt_torrent *t;
	const struct bt_seed_opts *o;
	uint8_t peer_id[20];
	uint16_t port;
	int64_t uploaded, left;	/* under mu */
	struct bt_peerlist found;	/* under mu; drained by the loop */
	int efd;		/* eventfd written when found grows */
	unsigned ok, failed;	/* under mu */
};

int bt_sann_start(struct bt_sann *a, const struct bt_torrent *t,
    const struct bt_seed_opts *o, const uint8_t peer_id[20], uint16_t port,
    int64_t left, struct bt_err *e);
void bt_sann_update(struct bt_sann *a, int64_t uploaded, int64_t left);
/* Take the peers found so far (l is emptied first). */
void bt_sann_take(struct bt_sann *a, struct bt_peerlist *l);
/* Announce stopped (bounded by BT_SEED_STOP_TIMEOUT) and join. */
void bt_sann_stop(struct bt_sann *a);

/* A line to o->log, formatted; safe from any thread. */
void bt_seed_logf(const struct bt_seed_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
